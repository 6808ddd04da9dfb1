"""nonfinite: two NaNs the text reader used to drop.

1. ESPnet's announcement of a non-finite gradient norm is a ``grad_norm`` report.

ESPnet checks the gradient norm before each update and, when it is not finite, prints the norm
and skips the update: ESPnet2's trainer "The grad norm is nan. Skipping updating the model."
(the norm ``clip_grad_norm_`` returned, so "inf" too), ESPnet1's updaters "grad norm is nan. Do
not update model.". These lines carry no ``key=value`` and were read as nothing, so a run whose
every update was skipped for a NaN gradient (ESPnet issue 3170: seven such lines in four seconds)
showed no gradient norm at all. **Each announcement is now a ``grad_norm`` report of the value it
prints** (``_FRAMEWORK_GRAD_NAN``), and the ``nonfinite`` detector weighs it like any other
gradient norm: a skipped step whose later reports are finite is a scaler's calibration and stays
silent (``amp_skipped_steps``); a non-finite norm that lasts ``persistent_points`` reports, or to
the end of the log, is a blow-up.

2. A per-class metric printed as a list with NaN entries is a ``nonfinite`` warning.

The reader reads a per-class list (nnU-Net's "Pseudo dice [0.0, nan, nan, 0.0]", an HF card's
"Per Category Accuracy" cell "[nan, 0.9943]") as the mean of its finite entries, so the NaN of a
class absent from the evaluated samples (0/0) showed nowhere. **The reader now counts the
non-finite entries beside the metric (``UNDEFINED_CLASSES_SUFFIX``), a column that plays no role,
and ``nonfinite`` reports the first report with one as a warning** (never an error: the model's
numbers may be finite; a blow-up shows in a loss or gradient norm), with the metric-side cause and
fix of a NaN metric beside finite losses. Only when no other ``nonfinite`` finding was made.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.finding import Severity
from lrdoctor.io.textlog.key_value import _framework_nan, _list_values
from lrdoctor.io.textlog.tables import _undefined_classes
from lrdoctor.names import UNDEFINED_CLASSES_SUFFIX, resolve_aliases

# ESPnet2 conformer ASR (labelled unhealthy, nonfinite): seven "The grad norm is nan. Skipping
# updating the model." warnings, the epoch-2 summary (loss=65.129, acc=0.065), then one more
_ESPNET2_NAN = "fresh119/espnet-3170-espnet2-gradnorm-nan/train.log"
# ESPnet1 (chainer) ASR (labelled unhealthy, nonfinite): losses of 2.5e8 "is not correct" around
# "grad norm is nan. Do not update model."
_ESPNET1_NAN = "fresh1214/espnet-issue186-exploding-gradients/log.txt"
# ESPnet2 ASR, its first batches (labelled healthy): the same trainer's INFO lines, no warning
_ESPNET2_HEALTHY = "fresh11/espnet-issue2183-espnet2-first-batches/issue2183.log"

_WARN2 = "[host] 2021-04-23 19:22:{s:02d},420 (trainer:581) WARNING: The grad norm is {v}. Skipping updating the model."
_INFO2 = ("[host] 2021-04-23 19:22:{s:02d},500 (trainer:636) INFO: 1epoch:train:{a}-{b}batch: iter_time=3.163e-04, "
          "loss={loss:.3f}, acc={acc:.3f}, optim0_lr0={lr:.3e}, train_time=0.624")


def _nonfinite(report):
    return [f for f in report.findings if f.kind == "nonfinite"]


def test_the_announcement_is_a_grad_norm_report():
    """The line's own value, under ``grad_norm``; a loss announcement stays the loss's event."""
    rec = _framework_nan(_WARN2.format(s=1, v="nan"), {})
    assert list(rec) == ["grad_norm"] and np.isnan(rec["grad_norm"])
    assert _framework_nan(_WARN2.format(s=1, v="inf"), {}) == {"grad_norm": float("inf")}
    rec = _framework_nan("2018-05-23 13:05:13,682 (asr_chainer:132) WARNING: grad norm is nan. Do not update model.", {})
    assert list(rec) == ["grad_norm"] and np.isnan(rec["grad_norm"])
    # a finite norm is not announced, and prose about a norm is no announcement
    assert _framework_nan("the grad norm is nan sometimes, see the FAQ", {}) is None


def _espnet2_log(tmp_path: Path, warnings_at: list[int], rows: int = 8) -> str:
    """An ESPnet2 trainer log of ``rows`` summaries with a NaN grad-norm warning before each
    summary index in ``warnings_at``; the loss falls and the learning rate warms up."""
    lines = []
    for i in range(rows):
        if i in warnings_at:
            lines.append(_WARN2.format(s=i, v="nan"))
        lines.append(_INFO2.format(s=i, a=100 * i + 1, b=100 * (i + 1), loss=120.0 - 8 * i, acc=0.05 + 0.02 * i, lr=1e-5 * (i + 1)))
    return write_lines(tmp_path / "train.log", lines)


def test_a_skipped_step_the_run_recovers_from_stays_silent(tmp_path):
    """One skipped update between finite, falling reports: the scaler's calibration, no finding."""
    report = lrdoctor.diagnose(_espnet2_log(tmp_path, [3]))
    assert "grad_norm" in report.run.meta.roles
    assert not [f for f in _nonfinite(report) if f.severity is not Severity.INFO]


def test_skipped_steps_to_the_end_are_a_blow_up(tmp_path):
    """Non-finite gradient norms up to the end of the log: every update skipped, an error."""
    lines = Path(_espnet2_log(tmp_path, [])).read_text().splitlines()
    lines += [_WARN2.format(s=50 + k, v="nan") for k in range(4)]
    report = lrdoctor.diagnose(write_lines(tmp_path / "train2.log", lines))
    errors = [f for f in _nonfinite(report) if f.severity is Severity.ERROR]
    assert errors and errors[0].evidence["metric"] == "grad_norm"


def test_espnet2_skips_every_update_for_a_nan_gradient():
    found = _nonfinite(lrdoctor.diagnose(str(real_log(_ESPNET2_NAN))))
    assert [f.severity for f in found] == [Severity.ERROR]
    assert found[0].evidence["metric"] == "grad_norm"


def test_espnet1_nan_gradient_among_invalid_losses():
    found = _nonfinite(lrdoctor.diagnose(str(real_log(_ESPNET1_NAN))))
    assert found and found[0].evidence["metric"] == "grad_norm"


def test_healthy_espnet2_twin_stays_silent():
    report = lrdoctor.diagnose(str(real_log(_ESPNET2_HEALTHY)))
    assert not _nonfinite(report)
    assert "grad_norm" not in report.run.meta.roles


# nnU-Net v2, epoch 0 of a 24-label spine set (labelled edge, nonfinite): "Pseudo dice [0.0, nan,
# nan, nan, nan, 0.0, ...]" beside finite losses (train 0.2669, val 0.0517)
_NNUNET_SPINE = "fresh121/nnunet-1594-azure-spine-epoch0/train.log"
# nnU-Net v2, epoch 999 of ToothFairy (labelled edge, nonfinite): six of 48 classes nan
_NNUNET_TOOTH = "fresh139/nnunet-2324-toothfairy-epoch999/paste.txt"
# SegFormer-b0 card (labelled edge, nonfinite): "Per Category Accuracy" [nan, 0.994] on every row
_SEGFORMER_CARD = "fresh657/ydmeira-segformer-b0-finetuned-pokemon/training_results.md"
# nnU-Net v2 (labelled healthy): "Pseudo dice [0.7853, 0.6851]", every class finite
_NNUNET_HEALTHY = "fresh139/nnunet-1784-epoch29-io-crash/paste.txt"


def test_a_list_keeps_its_finite_mean_and_counts_its_nans():
    rec: dict = {}
    _list_values("2023-08-04 13:30:11.205193: Pseudo dice [0.0, nan, nan, 0.5]", rec, {})
    assert rec["pseudo_dice"] == 0.25 and rec["pseudo_dice" + UNDEFINED_CLASSES_SUFFIX] == 2.0
    rec = {}
    _list_values("2023-08-04 13:30:11.205193: Pseudo dice [0.2, 0.5]", rec, {})
    assert rec == {"pseudo_dice": 0.35}  # no count where every class is finite
    rec = {}
    _list_values("Pseudo dice [nan, nan]", rec, {})
    assert rec == {"pseudo_dice" + UNDEFINED_CLASSES_SUFFIX: 2.0}
    head = ["training_loss", "per_category_iou", "per_category_accuracy"]
    assert _undefined_classes("| 0.0175 | [0.0, 0.99] | [nan, 0.99] |", head) == {"per_category_accuracy" + UNDEFINED_CLASSES_SUFFIX: 1.0}
    # the count is never a metric's role, whatever its words
    roles = resolve_aliases(["epoch", "train_loss", "pseudo_dice_nan_classes"])
    assert "pseudo_dice_nan_classes" not in {raw for raw, _ in roles.values()}


def _nnunet_log(tmp_path: Path, dice: list[str]) -> str:
    """An nnU-Net v2 log of one epoch per entry of ``dice`` (its printed list), losses falling."""
    lines = []
    for e, d in enumerate(dice):
        lines += [f"2023-08-04 13:{e:02d}:00.000000: Epoch {e}", f"2023-08-04 13:{e:02d}:00.100000: Current learning rate: 0.01",
                  f"2023-08-04 13:{e:02d}:01.000000: train_loss {-0.1 * e:.4f}", f"2023-08-04 13:{e:02d}:01.100000: val_loss {-0.08 * e:.4f}",
                  f"2023-08-04 13:{e:02d}:01.200000: Pseudo dice {d}", f"2023-08-04 13:{e:02d}:01.300000: Epoch time: 60.00 s"]
    return write_lines(tmp_path / "training_log.txt", lines)


def test_an_undefined_class_is_a_warning_from_its_first_report(tmp_path):
    report = lrdoctor.diagnose(_nnunet_log(tmp_path, ["[0.1, 0.2, 0.3]", "[0.2, nan, 0.4]", "[0.3, nan, 0.5]"]))
    found = _nonfinite(report)
    assert [f.severity for f in found] == [Severity.WARNING]
    assert found[0].start_step == 1 and found[0].evidence["undefined_classes"] == 1 and found[0].evidence["losses_finite"]
    assert report.run.meta.roles["eval_accuracy"] == "pseudo_dice"


def test_every_class_defined_stays_silent(tmp_path):
    report = lrdoctor.diagnose(_nnunet_log(tmp_path, ["[0.1, 0.2, 0.3]", "[0.2, 0.3, 0.4]", "[0.3, 0.4, 0.5]"]))
    assert not _nonfinite(report)


def test_nnunet_classes_absent_from_the_validation_patches():
    for rel, classes in ((_NNUNET_SPINE, 4), (_NNUNET_TOOTH, 6)):
        found = _nonfinite(lrdoctor.diagnose(str(real_log(rel))))
        assert [f.severity for f in found] == [Severity.WARNING], rel
        assert found[0].evidence["metric"] == "pseudo_dice" and found[0].evidence["undefined_classes"] == classes


def test_hf_card_per_category_accuracy_nan():
    found = _nonfinite(lrdoctor.diagnose(str(real_log(_SEGFORMER_CARD))))
    assert [f.severity for f in found] == [Severity.WARNING]
    assert found[0].evidence["metric"] == "eval_per_category_accuracy" and found[0].evidence["nonfinite_points"] == 4


def test_healthy_nnunet_twin_stays_silent():
    report = lrdoctor.diagnose(str(real_log(_NNUNET_HEALTHY)))
    assert not _nonfinite(report)
    assert report.run.meta.roles["eval_accuracy"] == "pseudo_dice"
