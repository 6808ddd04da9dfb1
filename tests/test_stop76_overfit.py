"""overfitting's persisted-rise rule, on a really trained run, its twin and real logs read in place.

**A held-out loss that turned and stayed up is judged against the scatter of second differences.**
The GL rule (Prechelt's GL_5, every evaluation after the minimum above it) asks the rise to clear
3 sigmas of the eval-to-eval scatter, taken from first differences. On a V-shaped curve, the fall
into the minimum and the climb out of it are differences of opposite sign, so their spread is the
turn itself: a Keras LayoutLM card whose validation loss went 1.4851 -> 1.0104 and then 1.0807,
1.2077, 1.1902 (18% up while the training loss fell 0.9157 -> 0.5937) read as within 3 sigmas.
Second differences cancel a smooth bend (the UP_2 rule already takes its guard from them). They
now judge the rise when it persisted for a third of the run after the minimum
(``memorised_after_share``) and reached twice GL_5 (``up_ordered_gl``), with no new threshold."""

from __future__ import annotations

from pathlib import Path

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, noisy_label_fit, write_lines

import lrdoctor
from lrdoctor.finding import Severity

torch.set_num_threads(1)

_LAYOUTLM = "fresh249/hfcard-stevethecur-layoutlm-funsd-tf/training_results.md"
_HUBERT_WOBBLE = "fresh1112/nrshoudi-hubert-large-ls960-ft-v2/training_results.md"


def _sampled_eval_card(tmp_path: Path, noise: float, epochs: int = 28) -> str:
    """Fit the 64-256-10 digits MLP of :func:`noisy_label_fit` on 300 digits, a share ``noise`` of them
    with random labels, and write an HF card's table with a row per epoch: the epoch's mean training
    loss and the loss on a random 100 of the held-out digits (drawn afresh at each evaluation, as a
    loop that validates on a few random batches does; generator seed 2). With noisy labels the model
    learns the signal, then memorises the noise: the held-out loss turns up and stays up, wobbling by
    the sampling of its 100 digits. With clean labels (the twin) it settles at its floor."""
    x, y, _ = digits_mlp(0)
    g = torch.Generator().manual_seed(2)
    lines = ["Training Loss | Epoch | Step | Validation Loss |", "---|---|---|---|"]
    for epoch, train, model in noisy_label_fit(noise, epochs):
        idx = 1400 + torch.randperm(x.shape[0] - 1400, generator=g)[:100]
        with torch.no_grad():
            val = torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).item()
        lines.append(f"{train:.4f} | {epoch:.1f} | {6 * epoch} | {val:.4f} |")
    return write_lines(tmp_path / "README.md", lines)


def _overfitting(report):
    return [f for f in report.findings if f.kind == "overfitting"]


def test_a_held_out_loss_that_turned_and_stayed_up_is_overfitting(tmp_path):
    """30% noisy labels: the sampled held-out loss falls 2.08 -> 0.72 by epoch 12, then stays above it
    at all 16 later epochs, ending about 25% above it while the training loss keeps falling. No UP
    rule sees it (the last evaluations wobble), and the fall's first differences swamp the rise."""
    run = lrdoctor.read(_sampled_eval_card(tmp_path, noise=0.3))
    [f] = _overfitting(lrdoctor.diagnose(run))
    assert f.severity is Severity.WARNING and f.start_step == 72.0
    assert f.evidence["generalization_loss"] > 0.2 and f.evidence["train_last"] < f.evidence["train_at_eval_min"]
    assert "later evaluations" in f.summary and "sigmas of its eval-to-eval scatter" in f.summary


def test_a_held_out_loss_that_settles_at_its_floor_is_no_overfitting(tmp_path):
    """The twin on clean labels, evaluated the same way: the held-out loss wobbles at its floor and
    its lowest reading comes late in the run, so no rise persisted."""
    assert _overfitting(lrdoctor.diagnose(_sampled_eval_card(tmp_path, noise=0.0))) == []


def test_the_layoutlm_card_is_overfitting():
    """The card read in place: validation loss 1.0104 at epoch 4, then 1.0807, 1.2077, 1.1902 while
    the training loss fell 0.9157 -> 0.5937."""
    [f] = _overfitting(lrdoctor.diagnose(real_log(_LAYOUTLM)))
    assert f.severity is Severity.WARNING and f.start_step == 4.0
    assert f.evidence["eval_min"] == 1.0104 and f.evidence["eval_last"] == 1.1902
    assert f.evidence["train_last"] == 0.5937


def test_a_held_out_loss_wobbling_near_its_best_is_no_overfitting():
    """A HuBERT CTC card read in place, labelled healthy: validation loss 0.3056 at its best, then
    0.3266, 0.3608, 0.3399, 0.3549 (16% up at the end, within +-0.05 swings it made before its best)
    while the WER keeps improving. The rise persisted and is twice GL_5, but it is 1.2 sigmas of the
    curve's second-difference scatter, short of 3."""
    assert _overfitting(lrdoctor.diagnose(real_log(_HUBERT_WOBBLE))) == []
