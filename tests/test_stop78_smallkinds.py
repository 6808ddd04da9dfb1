"""Short-log gradient rules (stop 78, the small-kinds pool).

**A gradient norm that overflows to inf and stays non-finite has exploded** (``grad_explosion``,
``_overflow``). After at least one finite report the norm is +inf and every report after it is
non-finite: the norm left the float range, an explosion by definition, with no threshold to pick.
A NaN (0/0 says nothing of size) and a step the loss scaler skipped
(``nonfinite.amp_skipped_steps``) stay silent (SCNet under AMP: Grad=9164, 16170, inf).

**Every gradient-norm report of a short log below ``absolute`` has vanished** (``grad_vanishing``,
``_below_resolution``). A log with fewer than ``CURVE_MIN_POINTS`` reports has no trend for the
usual rule; the trend rule's absolute floor (1e-7: updates that no longer move float32 weights of
order 1) read on every report needs none. Guards of the exactly-zero rule: not at an LR of 0, not
while the loss falls by more than ``zero_but_learning`` (wav2vec 2.0 whose contrastive loss
collapsed: grad_norm 8.1e-19, 4.0e-19, 5.2e-19, the loss fixed at 0.09969).

**A logged LR exactly 0 beside a loss that halves is not the applied LR** (``schedule_overridden``,
``_zero_lr_while_learning``). slow_progress's LR-stays-zero rule stands down when the loss fell by
more than half (``max_total_drop``) over ``frozen_points``+ reports; an LR of exactly 0 cannot move a
weight, so another scheduler sets the optimizer's (t5-11b under DeepSpeed: 'learning_rate': 0.0 on
3 logs, the loss 6.07 -> 0.04). A warning; a coarse printed 0 and a loss that does not fall stay
silent.
"""

from __future__ import annotations

from pathlib import Path

from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect.grad_explosion import _overflow
from lrdoctor.detect.grad_vanishing import DEFAULTS as VANISH, _below_resolution
from lrdoctor.detect.schedule_overridden import _zero_lr_while_learning
from lrdoctor.finding import Severity

_SCNET_INF = "fresh63/scnet-issue11-amp-grad-inf/issue11.log"  # unhealthy: grad_explosion, Grad=inf at epoch 3
_W2V2_COLLAPSE = "fresh54/w2v2-14387-contrastive-collapse/train_output.txt"  # unhealthy: grad_vanishing, 3 norms ~1e-19
_XTUNER_NAN = "fresh2/text-xtuner-issue187-gradnan/issue187.log"  # edge: grad_norm NaN at the last reports (AMP skips)
_FAIRSEQ_CONVERGED = "fresh4/text-fairseq-issue506-bt-converged/issue506.log"  # healthy: 3 grad-norm reports
_T5_LR0 = "fresh17/hf-issue9996-t5-lr0/issue9996.log"  # edge: schedule_overridden, lr 0.0 while the loss falls 150x
_ALPACA_LR0 = "fresh88/alpaca-lora-288-13b-loss-zero-lr-zero/train.log"  # lr 0.0 on 5 logs, the loss not learning
_BLIP_LR0 = "fresh149/blip-19-official-pretrain-capfilt/log.txt"  # healthy: lr printed 0 (coarse) on every report


def _kinds(report, kind):
    return [f for f in report.findings if f.kind == kind]


def _csv(tmp_path: Path, grads: list[str], losses: list[float], lr: float = 1e-3) -> str:
    """A CSV log; the LR decays 1% a report (a scheduler that steps: no report reads as a skipped one)."""
    lines = ["step,loss,lr,grad_norm"]
    lines += [f"{10 * (i + 1)},{l},{lr * 0.99 ** i},{g}" for i, (g, l) in enumerate(zip(grads, losses))]
    return write_lines(tmp_path / "metrics.csv", lines)


def test_overflow_is_an_inf_tail_after_finite_reports(tmp_path):
    """inf after finite reports, non-finite to the end: found at the first inf; a NaN tail, an inf
    followed by a finite report, and a column that was never finite stay silent."""
    run = lrdoctor.read(_csv(tmp_path, ["2.0", "3.0", "inf", "nan"], [1.0, 0.9, 0.9, float("nan")]))
    [f] = _overflow(run)
    assert f.start_step == 30.0 and f.evidence["baseline_grad_norm"] == 3.0 and f.severity is Severity.ERROR
    assert _overflow(lrdoctor.read(_csv(tmp_path, ["2.0", "3.0", "nan", "nan"], [1.0, 0.9, 0.9, 0.8]))) == []
    assert _overflow(lrdoctor.read(_csv(tmp_path, ["2.0", "inf", "3.0", "2.5"], [1.0, 0.9, 0.9, 0.8]))) == []
    assert _overflow(lrdoctor.read(_csv(tmp_path, ["inf", "inf", "inf", "inf"], [1.0, 0.9, 0.9, 0.8]))) == []


def test_below_resolution_arithmetic(tmp_path):
    """All reports positive and below ``absolute`` with a flat loss: found. One report above it, a
    falling loss (> ``zero_but_learning``), an LR of 0, or a single report: silent."""
    assert VANISH.absolute == 1e-7
    flat = [0.1, 0.1, 0.1]
    [f] = _below_resolution(lrdoctor.read(_csv(tmp_path, ["8e-19", "4e-19", "5e-19"], flat)), VANISH)
    assert f.evidence["reports"] == 3 and f.start_step == 10.0
    assert _below_resolution(lrdoctor.read(_csv(tmp_path, ["8e-19", "2e-7", "5e-19"], flat)), VANISH) == []
    assert _below_resolution(lrdoctor.read(_csv(tmp_path, ["8e-19", "4e-19", "5e-19"], [0.1, 0.08, 0.05])), VANISH) == []
    assert _below_resolution(lrdoctor.read(_csv(tmp_path, ["8e-19", "4e-19", "5e-19"], flat, lr=0.0)), VANISH) == []
    assert _below_resolution(lrdoctor.read(_csv(tmp_path, ["8e-19"], [0.1])), VANISH) == []


def test_scnet_grad_norm_overflow_is_grad_explosion():
    """SCNet under AMP: Grad=9164.28, 16170.32, then inf at epoch 3 (the loss still falling)."""
    [f] = _kinds(lrdoctor.diagnose(str(real_log(_SCNET_INF))), "grad_explosion")
    assert f.start_step == 3.0 and f.severity is Severity.ERROR


def test_w2v2_contrastive_collapse_is_grad_vanishing():
    """wav2vec 2.0 with its contrastive loss at 0: grad_norm ~1e-19 on all 3 reports, LR 1.6e-3."""
    [f] = _kinds(lrdoctor.diagnose(str(real_log(_W2V2_COLLAPSE))), "grad_vanishing")
    assert f.evidence["reports"] == 3 and f.evidence["late_grad_norm"] < 1e-18


def test_a_nan_gradient_tail_is_no_overflow():
    """The twin of SCNet: xtuner's grad_norm NaN at its last reports (loss-scaler skips, the loss
    finite between them) is no explosion."""
    assert _kinds(lrdoctor.diagnose(str(real_log(_XTUNER_NAN))), "grad_explosion") == []


def test_a_short_healthy_gradient_log_is_not_vanishing():
    """The twin of wav2vec 2.0: a converged fairseq run with 3 ordinary grad-norm reports."""
    assert _kinds(lrdoctor.diagnose(str(real_log(_FAIRSEQ_CONVERGED))), "grad_vanishing") == []


def _dicts(tmp_path: Path, losses: list[float], lr: str = "0.0") -> str:
    """HF Trainer log dicts (Python reprs: a 0.0 there is exactly 0)."""
    lines = [f"{{'loss': {l}, 'learning_rate': {lr}, 'epoch': {0.02 * (i + 1):.2f}}}" for i, l in enumerate(losses)]
    return write_lines(tmp_path / "trainer.log", lines)


def test_zero_lr_while_learning_arithmetic(tmp_path):
    """LR exactly 0 on 3 reports and the loss at the median of its last three under half its first:
    found (a warning). Two reports, a loss that fell by less than half, or an LR that is not 0: silent."""
    [f] = _zero_lr_while_learning(lrdoctor.read(_dicts(tmp_path, [6.0, 0.2, 0.04])))
    assert f.severity is Severity.WARNING and f.evidence["zero_lr_points"] == 3
    assert _zero_lr_while_learning(lrdoctor.read(_dicts(tmp_path, [6.0, 0.2]))) == []
    assert _zero_lr_while_learning(lrdoctor.read(_dicts(tmp_path, [6.0, 4.0, 3.5]))) == []
    assert _zero_lr_while_learning(lrdoctor.read(_dicts(tmp_path, [6.0, 0.2, 0.04], lr="1e-05"))) == []


def test_t5_lr_zero_under_deepspeed_is_schedule_overridden():
    """transformers issue 9996: 'learning_rate': 0.0 on 3 logs while the loss fell 6.07 -> 0.19 -> 0.04."""
    [f] = _kinds(lrdoctor.diagnose(str(real_log(_T5_LR0))), "schedule_overridden")
    assert f.severity is Severity.WARNING and f.evidence["loss_last"] < 0.05


def test_a_zero_lr_without_learning_is_not_overridden():
    """The twins: alpaca-lora's lr 0.0 on 5 logs with a loss that does not halve, and a healthy BLIP
    pre-training log whose LR prints as a coarse 0, are no overridden schedule."""
    assert _kinds(lrdoctor.diagnose(str(real_log(_ALPACA_LR0))), "schedule_overridden") == []
    assert _kinds(lrdoctor.diagnose(str(real_log(_BLIP_LR0))), "schedule_overridden") == []
