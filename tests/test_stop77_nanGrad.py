"""nonfinite: ESPnet's announcement of a non-finite gradient norm is a ``grad_norm`` report.

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
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.finding import Severity
from lrdoctor.io.textlog.key_value import _framework_nan

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
