"""overfitting's fitted-apart rule, on synthetic cards, real logs read in place and a healthy twin.

**A persistent rise of twice GL_5 while the training set is fitted twice as far is overfitting.**
The GL rule (Prechelt's GL_5, every evaluation after the minimum above it) asks the rise to clear
3 sigmas of the eval-to-eval scatter; a noisy held-out loss that turned and stayed up falls short of
it, and the memorisation rule that drops the guard asks an order of magnitude between the two
losses. The fitted-apart rule drops the guard on the detector's own bars instead: the rise persisted
for a third of the run (``memorised_after_share``), ends twice GL_5 above the minimum
(``up_ordered_gl``), the training loss at least halved since the minimum (``memorised_fit``) and ends
at most half the held-out loss (``floor_gap``), and no held-out score logged beside it came back, at
any later evaluation, to what it was at the minimum (a score that recovered reads the rise as
over-confidence, as the score-confirmed and turned-minimum rules read it)."""

from __future__ import annotations

from pathlib import Path

from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect import overfitting
from lrdoctor.finding import Severity

_UDACITY = "fresh67/udacity-sentiment-rnn-solution/train.log"
_BART_MATH = "fresh587/anandnakat-bart-math-solver/training_results.md"
_HUBERT_GTZAN = "fresh350/hfcard-yuval6967-hubert-gtzan/training_results.md"

_EVAL = [1.60, 1.25, 1.42, 1.33, 1.32, 1.37, 1.40, 1.28, 1.31, 1.40]
_TRAIN = [1.27, 0.85, 0.70, 0.60, 0.52, 0.47, 0.43, 0.40, 0.38, 0.36]


def _card(tmp_path: Path, train: list[float] = _TRAIN, acc: list[float] | None = None) -> str:
    """An HF card's table: 10 epochs of 50 steps, the evaluation loss at its minimum 1.25 at the second
    epoch, then above it at all 8 later ones (12% at the end) with eval-to-eval swings of +-0.1, so the
    rise is within 3 sigmas of the scatter and no UP rule sees a run of rises."""
    head = "Training Loss | Epoch | Step | Validation Loss |" + (" Accuracy |" if acc else "")
    lines = [head, "---|---|---|---|" + ("---|" if acc else "")]
    for k, (t, e) in enumerate(zip(train, _EVAL)):
        lines.append(f"{t} | {k + 1}.0 | {50 * (k + 1)} | {e} |" + (f" {acc[k]} |" if acc else ""))
    return write_lines(tmp_path / "README.md", lines)


def _overfitting(path) -> list:
    return [f for f in lrdoctor.diagnose(lrdoctor.read(path)).findings if f.kind == "overfitting"]


def test_the_rule_reads_a_persistent_rise_beside_a_halved_training_loss(tmp_path):
    """The training loss fell 0.85 -> 0.36 since the minimum (under half) and ends 3.9x below the
    held-out 1.40, which sits 12% above its minimum 1.25 at the end: the fitted-apart rule's finding."""
    [f] = _overfitting(_card(tmp_path))
    assert f.severity is Severity.WARNING and f.start_step == 100.0 and f.end_step == 500.0
    assert f.evidence["eval_min"] == 1.25 and f.evidence["eval_last"] == 1.40
    assert f.evidence["train_at_eval_min"] == 0.85 and f.evidence["train_last"] == 0.36
    assert abs(f.evidence["generalization_loss"] - 0.12) < 1e-9
    assert "fitted apart" in f.summary


def test_the_rule_alone_on_the_series(tmp_path):
    """The rule's arithmetic, asked directly: it stands on these figures, and not with GL under twice
    GL_5, nor with the minimum in the last third of the run."""
    run = lrdoctor.read(_card(tmp_path))
    e, tr = run.series("eval_loss").finite(), run.series("loss")
    th = overfitting.DEFAULTS
    [f] = overfitting._fitted_apart(run, e, tr, 1, 0.12, th)
    assert f.start_step == 100.0
    assert overfitting._fitted_apart(run, e, tr, 1, 0.09, th) == []
    assert overfitting._fitted_apart(run, e, tr, 7, 0.12, th) == []


def test_a_training_loss_that_did_not_halve_is_no_overfitting(tmp_path):
    """The same held-out losses, the training loss 0.85 -> 0.60 (not halved): the scatter guard stands."""
    train = [1.27, 0.85, 0.80, 0.76, 0.72, 0.69, 0.66, 0.63, 0.61, 0.60]
    assert _overfitting(_card(tmp_path, train=train)) == []


def test_an_accuracy_that_ends_at_its_level_at_the_minimum_is_no_overfitting(tmp_path):
    """The same losses, an accuracy that was 0.61 at the loss minimum and ends at 0.63: the model still
    improved at the task, the loss's rise is over-confidence."""
    acc = [0.60, 0.61, 0.50, 0.56, 0.57, 0.55, 0.51, 0.56, 0.57, 0.63]
    assert _overfitting(_card(tmp_path, acc=acc)) == []


def test_an_accuracy_that_came_back_once_is_no_overfitting(tmp_path):
    """The same losses, an accuracy 0.61 at the loss minimum that reached 0.62 at the eighth epoch and
    ends at 0.54: the model improved at the task after the minimum, so the scatter guard stands."""
    acc = [0.60, 0.61, 0.50, 0.56, 0.57, 0.55, 0.51, 0.62, 0.57, 0.54]
    assert _overfitting(_card(tmp_path, acc=acc)) == []


def test_the_udacity_sentiment_rnn_is_overfitting():
    """Read in place, labelled overfitting: validation loss 0.4232 at step 800, above it at all 8
    later reports, 0.5059 at the end (20% up), while the batch training loss fell 0.4396 -> 0.1583."""
    [f] = _overfitting(real_log(_UDACITY))
    assert f.severity is Severity.WARNING and f.start_step == 800.0
    # (since stop 81 the trend rule reads the same climb first: MK p at 5% beside the training set fitted apart)
    assert f.evidence["eval_min"] == 0.423173 and ("fitted apart" in f.summary or "Mann-Kendall" in f.summary)


def test_the_bart_math_solver_is_overfitting():
    """Read in place, labelled overfitting: validation loss 0.4829 at epoch 2, then 0.49-1.23 at all 8
    later epochs, 0.7365 at the end (53% up), while the training loss fell 0.2857 -> 0.0935."""
    [f] = _overfitting(real_log(_BART_MATH))
    assert f.severity is Severity.WARNING and f.evidence["eval_min"] == 0.4829
    assert f.evidence["train_last"] == 0.0935 and "fitted apart" in f.summary


def test_an_edge_hubert_of_the_same_shape_stays_silent():
    """Read in place, labelled edge with oscillation only: validation loss 0.5399 at epoch 9, above it
    at all 6 later epochs (21% at the end) while the training loss fell 0.4166 -> 0.0913, 7x below
    it, but the accuracy rose 0.85 -> 0.86 after the minimum: the model still improved at the task."""
    assert _overfitting(real_log(_HUBERT_GTZAN)) == []
