"""overfitting's score-confirmed rule, on small synthetic cards and real logs read in place.

**A persistent rise that the task score confirms needs no scatter guard.** The GL rule (Prechelt's
GL_5, every evaluation after the minimum above it) asks the rise to clear 3 sigmas of the
eval-to-eval scatter. A noisy held-out loss never clears it, yet when every held-out score logged
beside it (accuracy, F1, WER...) stays worse than it was at the loss minimum at every later
evaluation, two held-out witnesses agree, which neither noise around a floor nor over-confidence
(the loss rises while the score holds or improves) explains. The rule asks the rise to persist for
a third of the run (``memorised_after_share``), and the training loss to fall and end at most half
the held-out loss (``floor_gap``): no new threshold."""

from __future__ import annotations

from pathlib import Path

from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.finding import Severity

_KWS_200 = "fresh315/hfcard-jungwoo4021-w2v2-ks-padpt200/training_results.md"
_KWS_400 = "fresh315/hfcard-jungwoo4021-w2v2-ks-padpt400/training_results.md"
_DINOV2 = "fresh887/hoanbklucky-dinov2-small-noh-7e583e2/training_results.md"
_SENTIMENT_BERT = "fresh776/sentiment140-bert-5e/training_results.md"

_EVAL = [1.60, 1.25, 1.42, 1.33, 1.32, 1.37, 1.40, 1.28, 1.31, 1.36]
_ACC = [0.60, 0.61, 0.50, 0.56, 0.57, 0.55, 0.51, 0.56, 0.57, 0.54]
_TRAIN = [1.27, 0.85, 0.75, 0.70, 0.66, 0.64, 0.63, 0.63, 0.62, 0.60]


def _card(tmp_path: Path, acc: list[float] = _ACC, train: list[float] = _TRAIN) -> str:
    """An HF card's table: 10 epochs of 50 steps, the evaluation loss at its minimum 1.25 at the second
    epoch, then above it at all 8 later ones (8.8% at the end) with eval-to-eval swings of +-0.1, so the
    rise is within 3 sigmas of the scatter and no UP rule sees a run of rises."""
    lines = ["Training Loss | Epoch | Step | Validation Loss | Accuracy |", "---|---|---|---|---|"]
    lines += [f"{t} | {k + 1}.0 | {50 * (k + 1)} | {e} | {a} |" for k, (t, e, a) in enumerate(zip(train, _EVAL, acc))]
    return write_lines(tmp_path / "README.md", lines)


def _overfitting(path) -> list:
    return [f for f in lrdoctor.diagnose(lrdoctor.read(path)).findings if f.kind == "overfitting"]


def test_a_noisy_rise_that_the_accuracy_confirms_is_overfitting(tmp_path):
    """The accuracy was 0.61 at the loss minimum and at most 0.57 at every later evaluation, while the
    training loss fell 0.85 -> 0.60, under half the held-out 1.36."""
    [f] = _overfitting(_card(tmp_path))
    assert f.severity is Severity.WARNING and f.start_step == 100.0
    assert f.evidence["eval_min"] == 1.25 and f.evidence["eval_last"] == 1.36
    assert abs(f.evidence["generalization_loss"] - 0.088) < 1e-9
    assert "every held-out score logged stayed worse" in f.summary


def test_an_accuracy_that_comes_back_to_its_best_is_no_overfitting(tmp_path):
    """The same losses, the accuracy back at 0.62 at the eighth epoch (better than its 0.61 at the
    loss minimum): the model still improved at the task after the minimum, the rise is not confirmed."""
    acc = _ACC[:7] + [0.62] + _ACC[8:]
    assert _overfitting(_card(tmp_path, acc=acc)) == []


def test_a_training_loss_near_the_held_out_loss_is_no_overfitting(tmp_path):
    """The same held-out figures, the training loss ending at 0.75, over half the held-out 1.36: no
    fitted training set, a run whose losses drift together."""
    train = [1.27, 0.95, 0.90, 0.86, 0.83, 0.81, 0.79, 0.78, 0.77, 0.75]
    assert _overfitting(_card(tmp_path, train=train)) == []


def test_the_wav2vec2_keyword_spotters_are_overfitting():
    """Two cards read in place, labelled overfitting: validation loss 1.2559 at epoch 2 (accuracy
    0.6015), above it at all 8 later epochs, accuracy 0.5035-0.5666; and 1.2137 at epoch 5 (0.6324),
    above it at all 5 later ones, accuracy at most 0.5930."""
    [f] = _overfitting(real_log(_KWS_200))
    assert f.severity is Severity.WARNING and f.start_step == 100.0
    assert f.evidence["eval_min"] == 1.2559 and f.evidence["train_last"] == 0.6056
    [g] = _overfitting(real_log(_KWS_400))
    assert g.start_step == 250.0 and g.evidence["eval_min"] == 1.2137


def test_the_dinov2_card_is_overfitting():
    """Read in place: validation loss 0.3058 at epoch 3 (accuracy 0.8982), then 0.4148, 0.3520,
    0.4415, 0.5786 while accuracy stayed at 0.75-0.87 and the training loss fell 0.4368 -> 0.2809."""
    [f] = _overfitting(real_log(_DINOV2))
    assert f.start_step == 69.0 and f.evidence["eval_last"] == 0.5786


def test_a_healthy_sentiment_card_of_the_same_shape_stays_silent():
    """Labelled healthy: validation loss 0.3887 at its minimum, above it at all 7 later evaluations
    (6% at the end) while the training loss fell, but the accuracy reached 0.86 after it (0.8533 at
    the minimum) and the training loss ends at 0.34 beside 0.41."""
    assert _overfitting(real_log(_SENTIMENT_BERT)) == []
