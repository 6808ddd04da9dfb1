"""One change of stop 75, on really trained runs, their twins and real logs read in place.

**An evaluation loss that swings ±50% back and forth is an oscillation.** ``oscillation`` read only
the training loss, and only on 20+ reports: a card's table of 6-19 epochs, or a training loss logged
as an epoch mean that averages the swings away, went unchecked, however hard its validation loss
swung. An evaluation of a fixed set has no minibatch noise: the same weights give the same loss. So
when the training loss shows no oscillation, the evaluation loss is read for the same ±50% swings
(``swing``), each measured against the evaluations beside it, and two of them each way
(``eval_swings``) make the back-and-forth. A swing is measured against at least a fifth of the
series' range (``near_zero_share``), so an evaluation loss near 0 that moves by multiples of almost
nothing stays silent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, warned, write_lines

import lrdoctor
from lrdoctor.finding import Severity

torch.set_num_threads(1)

_CV_VAL_JUMPS = "fresh718/cv-478017-val-loss-jumps/paste.log"
_BOOLQ_LR_5E3 = "fresh696/onutoa-bert-large-boolq-1-5e-3-10-0-1/training_results.md"
_CVT_AT_THE_FLOOR = "fresh1016/b07611031-cvt-21-384-22k-finetuned/training_results.md"


def _momentum_card(tmp_path: Path, lr: float) -> str:
    """Train the 64-32-10 digits MLP (seed 1) with SGD, momentum 0.9, at ``lr`` for 15 epochs and write
    an HF card's table: each epoch's mean training loss, and the loss on 40 held-out digits (a small
    evaluation set, as many cards have)."""
    x, y, model = digits_mlp(1)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    lines = ["Training Loss | Epoch | Step | Validation Loss |", "---|---|---|---|"]
    for epoch in range(1, 16):
        train, _ = fit_epoch(model, opt, x, y)
        with torch.no_grad():
            val = torch.nn.functional.cross_entropy(model(x[1400:1440]), y[1400:1440]).item()
        lines.append(f"{train:.4f} | {epoch:.1f} | {28 * epoch} | {val:.4f} |")
    return write_lines(tmp_path / "README.md", lines)


def _oscillation(report):
    return [f for f in report.findings if f.kind == "oscillation"]


def test_an_evaluation_loss_that_swings_back_and_forth_is_an_oscillation(tmp_path):
    """SGD with momentum 0.9 at lr 0.2, ten times the twin's: the held-out loss jumps by more than
    half over the evaluations beside it, and falls by a third below them, at least twice each way; a
    warning naming the validation loss."""
    run = lrdoctor.read(_momentum_card(tmp_path, lr=0.2))
    assert run.series("loss").values.size < 20  # too few for the training-loss rule
    [f] = _oscillation(lrdoctor.diagnose(run))
    assert f.severity is Severity.WARNING and f.evidence["metric"] == "validation_loss"
    assert f.evidence["max_above_trend"] > 0.5 and f.evidence["max_below_trend"] < -1 / 3


def test_an_evaluation_loss_that_settles_is_no_oscillation(tmp_path):
    """The twin at lr 0.02: the held-out loss falls and settles, with no swing of ±50%."""
    report = lrdoctor.diagnose(_momentum_card(tmp_path, lr=0.02))
    assert _oscillation(report) == []


def test_the_cross_validated_val_loss_jumps_are_an_oscillation():
    """Read in place: val_loss 3.29, 0.92, 1.43, 1.85, 0.58, 2.30, 0.17, 1.52, 0.14, 2.81 while the
    training loss falls 2.27 -> 0.21; the swings start at the second epoch."""
    [f] = _oscillation(lrdoctor.diagnose(real_log(_CV_VAL_JUMPS)))
    assert f.severity is Severity.WARNING and f.start_step == 2.0
    assert f.evidence["metric"] == "val_loss"


def test_a_period_two_validation_loss_is_an_oscillation():
    """BERT-large on BoolQ at lr 5e-3: from epoch 7 the validation loss alternates 1.32, 0.82, 1.36,
    0.80, 1.38, 0.77 while the training loss falls slowly."""
    assert "oscillation" in warned(lrdoctor.diagnose(real_log(_BOOLQ_LR_5E3)))


def test_an_evaluation_loss_swinging_near_zero_is_no_oscillation():
    """A CvT fine-tune read in place: validation loss 0.1145 falling to 0.0001-0.0104, moving by
    multiples of almost nothing at the end (0.0004, 0.0088, 0.0104, 0.0001, 0.0098): every such swing
    is under a tenth of the range the loss fell through, so no oscillation."""
    run = lrdoctor.read(real_log(_CVT_AT_THE_FLOOR))
    assert np.max(run.series("eval_loss").values[-8:]) < 0.1 * run.series("eval_loss").values[0]
    assert _oscillation(lrdoctor.diagnose(run)) == []
