"""Stop 79, slow_progress misses: an evaluated accuracy at chance over fewer reports than the chance rules read.

``_accuracy_at_chance`` calls a run stuck when its accuracy never rose above 1/K (the config's K) by
more than ``chance_acc_rel`` at ``chance_acc_points`` (3)+ reports: an error. A log with one or two
evaluations (a single validation after a whole epoch, a final test line) said nothing, though its
accuracy at 1/K is the same reading of the same K. ``_few_reports_at_chance`` makes it a warning: the
evidence of a single moment, not of a run. It reads the evaluated accuracy where there is one (a
training accuracy rises as a model memorises), and stays silent on an accuracy of exactly 0 (below
any guess: a broken evaluation), beside a non-finite loss, and when the loss fell by half.

``_accuracy_around_chance`` (an accuracy scattering around 1/K, median of all evaluations and of their
later half within ``chance_acc_rel``) needs ``chance_median_points`` (8) evaluations for its error.
``_few_evaluations_around_chance`` reads the same two medians over 3-7 evaluations as a warning: a
median of fewer may be one lucky evaluation, and no trend test reaches 5% over so few."""

from __future__ import annotations

from pathlib import Path

import torch
from bench_logs import real_log

import lrdoctor
from lrdoctor.detect._progress.chance import (
    FEW_EVALUATIONS_AROUND_CHANCE_RULE,
    FEW_REPORTS_AT_CHANCE_RULE,
    _few_evaluations_around_chance,
    _few_reports_at_chance,
)
from lrdoctor.detect.progress import DEFAULTS
from lrdoctor.finding import Severity

torch.set_num_threads(1)

#: BigDL on CIFAR-10: one validation after a whole epoch, top-1 0.0991 (991/10000)
_BIGDL = "fresh108/bigdl-464-cifar-one-epoch-chance/train.log"
#: FixMatch on a 10-class set: top-1 10.00 and top-5 50.00, best and mean top-1 10.00
_FIXMATCH = "fresh216/kekmodel-fixmatch-54-stuck-chance/paste.txt"
#: MONAI DenseNet3D, two classes: validation accuracy 0.4 at both evaluations
_MONAI = "fresh298/monai-densenet3d-ixi-torch-010686/densenet_training_array.stdout.log"
#: MXNet Inception on ImageNet: training accuracy 0.00086-0.00117 around 1/1000 at three reports
_MXNET_INCEPTION = "fresh18/mxnet-issue3072-inception-chance/issue3072.log"
#: Keras' learnable resizer on cats vs dogs: val_accuracy 0.4948, 0.5052, 0.5499, 0.5073, 0.6161
_RESIZER = "fresh56/kerasio-learnable-resizer-catsdogs/fit_output.txt"
#: healthy twin: HuBERT on a 4-class emotion set, accuracy 0.1985 at the first three of six evaluations
#: (whole median 0.257, at 1/4), then 0.3162, 0.5809, 0.5221: the later half's median leaves chance
_HUBERT_EMODB = "fresh900/bagus-hubert-large-emodb/training_results.md"
#: healthy twin: Keras ViT on CIFAR-100 for one epoch, val_accuracy 0.0862 (8.6 x 1/100)
_VIT_CIFAR100 = "fresh114/kerasio-vit-cifar100-1ep/train.log"
#: edge twin: PyTorch's quickstart on MPS printing "Accuracy: 0.0%", a broken evaluation, not chance
_MPS_ZERO = "fresh214/pytorch-tutorials-2497-quickstart-mps-acc-zero/paste.txt"


def _csv(tmp_path: Path, accuracy: list, loss: list[float] | None = None) -> lrdoctor.Run:
    """A per-epoch CSV of a 10-class run: training loss well off ln 10 (so the two-report ln K rule
    stays out), validation accuracy as given."""
    loss = loss or [1.9 - 0.05 * i for i in range(len(accuracy))]
    rows = ["epoch,loss,val_accuracy"] + [f"{i + 1},{l},{a}" for i, (l, a) in enumerate(zip(loss, accuracy))]
    path = tmp_path / "fit.csv"
    path.write_text("\n".join(rows) + "\n")
    return lrdoctor.read(path, config={"num_classes": 10})


def _slow(run: lrdoctor.Run):
    return [f for f in lrdoctor.diagnose(run).findings if f.kind == "slow_progress"]


def test_two_reports_within_the_chance_band_are_a_warning(tmp_path):
    # 0.105 is within 10% of 1/10; two reports are fewer than chance_acc_points
    run = _csv(tmp_path, [0.098, 0.105])
    f = _few_reports_at_chance(run, DEFAULTS)
    assert f is not None and f.severity == Severity.WARNING
    assert f.evidence["rule"] == FEW_REPORTS_AT_CHANCE_RULE and f.evidence["num_classes"] == 10
    assert abs(f.evidence["value"] - 0.105) < 1e-9 and f.evidence["points"] == 2
    assert [g.evidence.get("rule") for g in _slow(run)] == [FEW_REPORTS_AT_CHANCE_RULE]


def test_above_the_band_zero_three_reports_or_a_halved_loss_are_not_this_rule(tmp_path):
    assert _few_reports_at_chance(_csv(tmp_path, [0.10, 0.111]), DEFAULTS) is None  # 0.111 > 1.1 x 0.1
    assert _few_reports_at_chance(_csv(tmp_path, [0.0, 0.0]), DEFAULTS) is None  # below any guess: broken
    assert _few_reports_at_chance(_csv(tmp_path, [0.1, 0.1, 0.1]), DEFAULTS) is None  # the 3-report error's
    # two evaluations at 1/10 beside a training loss that fell by more than half (three reports): it learned
    learned = _csv(tmp_path, ["", 0.1, 0.1], [2.0, 0.9, 0.8])
    assert learned.series("val_accuracy").finite().values.size == 2
    assert _few_reports_at_chance(learned, DEFAULTS) is None
    assert _few_reports_at_chance(_csv(tmp_path, ["", 0.1, 0.1], [2.0, 1.9, 1.8]), DEFAULTS) is not None


def test_no_accuracy_role_without_num_classes_is_silent(tmp_path):
    path = tmp_path / "fit.csv"
    path.write_text("epoch,loss,val_accuracy\n1,1.9,0.1\n2,1.85,0.1\n")
    assert _few_reports_at_chance(lrdoctor.read(path), DEFAULTS) is None


def test_real_logs_at_chance_at_one_or_two_reports():
    for rel, k in ((_BIGDL, 10), (_FIXMATCH, 10), (_MONAI, 2)):
        run = lrdoctor.read(real_log(rel), config={"num_classes": k})
        found = _slow(run)
        assert len(found) == 1, rel
        assert found[0].severity == Severity.WARNING and found[0].evidence["rule"] == FEW_REPORTS_AT_CHANCE_RULE, rel


def test_healthy_and_edge_twins_stay_silent():
    # one evaluation, far above 1/100
    assert _slow(lrdoctor.read(real_log(_VIT_CIFAR100), config={"num_classes": 100})) == []
    # one evaluation at exactly 0%: a broken evaluation, not a model at chance
    assert _slow(lrdoctor.read(real_log(_MPS_ZERO), config={"num_classes": 10})) == []


def test_few_evaluations_whose_medians_sit_at_chance_are_a_warning(tmp_path):
    run = _csv(tmp_path, [0.095, 0.104, 0.131, 0.098, 0.101])  # one lucky 0.131: "never above" misses it
    f = _few_evaluations_around_chance(run, DEFAULTS)
    assert f is not None and f.severity == Severity.WARNING
    assert f.evidence["rule"] == FEW_EVALUATIONS_AROUND_CHANCE_RULE and f.evidence["points"] == 5
    assert abs(f.evidence["value"] - 0.101) < 1e-9
    assert [g.evidence.get("rule") for g in _slow(run)] == [FEW_EVALUATIONS_AROUND_CHANCE_RULE]


def test_a_later_half_off_chance_or_eight_evaluations_are_not_this_rule(tmp_path):
    # whole median 0.104 at chance, later half's 0.16: it left chance
    assert _few_evaluations_around_chance(_csv(tmp_path, [0.095, 0.10, 0.104, 0.15, 0.17]), DEFAULTS) is None
    # two evaluations are the other rule's, eight the error rule's
    assert _few_evaluations_around_chance(_csv(tmp_path, [0.1, 0.1]), DEFAULTS) is None
    eight = _csv(tmp_path, [0.095, 0.104, 0.131, 0.098, 0.101, 0.1, 0.099, 0.102])
    assert _few_evaluations_around_chance(eight, DEFAULTS) is None
    assert [(g.severity, g.evidence.get("rule")) for g in _slow(eight)] == [(Severity.ERROR, "accuracy median at chance")]


def test_real_logs_around_chance_over_a_few_evaluations():
    for rel, k in ((_MXNET_INCEPTION, 1000), (_RESIZER, 2)):
        found = _slow(lrdoctor.read(real_log(rel), config={"num_classes": k}))
        assert len(found) == 1, rel
        assert found[0].severity == Severity.WARNING and found[0].evidence["rule"] == FEW_EVALUATIONS_AROUND_CHANCE_RULE, rel


def test_a_healthy_run_that_left_chance_in_its_later_half_stays_silent():
    run = lrdoctor.read(real_log(_HUBERT_EMODB), config={"num_classes": 4})
    assert _few_evaluations_around_chance(run, DEFAULTS) is None
    assert _slow(run) == []
