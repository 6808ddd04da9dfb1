"""Rules from the stop-66 study (issue 9), on a really trained classifier and on real logs read
in place.

* ``slow_progress`` read from a task metric (an accuracy printing one value, a score at its floor,
  an error rate at its maximum) on fewer than ``pinned_points`` evaluations, beside an evaluation
  loss that is still falling at its lowest, is a warning, not an error: the run may be leaving
  the floor (``ProgressThresholds.still_falling``). On more evaluations, or beside a flat loss,
  it stays an error.
"""

from __future__ import annotations

import pytest

from bench_logs import real_log
from trained_logistic import imbalanced_logistic_log

import lrdoctor
from lrdoctor.detect.progress import ProgressThresholds

torch = pytest.importorskip("torch")


def _slow(report):
    return [f for f in report.findings if f.kind == "slow_progress"]


def _prior_init_log(path, lr: float, epochs: int = 3) -> None:
    """A logistic regression whose bias starts at the log-prior of a 70.5/29.5 split (every prediction
    the majority class from the first step), trained at ``lr`` for ``epochs`` epochs of 20 batches."""
    imbalanced_logistic_log(path, lr, share=0.705, prior_bias=True, steps=20 * epochs, every=20, axis="epoch")


def test_a_pinned_accuracy_beside_a_falling_eval_loss_is_a_warning_and_the_run_leaves_the_floor(tmp_path):
    short, longer = tmp_path / "short.csv", tmp_path / "longer.csv"
    _prior_init_log(short, lr=0.01)
    _prior_init_log(longer, lr=0.01, epochs=6)
    acc = lrdoctor.read(short).series("eval_accuracy").values
    assert float(acc.min()) == float(acc.max()) == pytest.approx(0.705)  # the majority share, all three epochs
    found = _slow(lrdoctor.diagnose(short))
    assert len(found) == 1 and found[0].severity.rank == 1  # a warning
    assert found[0].evidence["loss_still_falling"] == "eval_loss"
    assert found[0].evidence["loss_falling_to"] < found[0].evidence["loss_falling_from"]
    # the same run trained on leaves the majority share: an error would have called it broken
    assert lrdoctor.read(longer).series("eval_accuracy").values[-1] > 0.75


def test_the_same_pinned_accuracy_beside_a_loss_that_barely_moves_stays_an_error(tmp_path):
    slow = tmp_path / "slow.csv"
    _prior_init_log(slow, lr=0.001)  # eval loss falls under 1% per epoch: no learning worth the name
    found = _slow(lrdoctor.diagnose(slow))
    assert len(found) == 1 and found[0].severity.rank == 2
    assert "loss_still_falling" not in found[0].evidence


def test_a_codet5_bleu_pinned_at_three_epochs_beside_a_falling_validation_loss_is_a_warning():
    """Labelled edge (leaning slow_progress): BLEU 0.0004 at all three epochs, validation loss
    0.0920 -> 0.0688 -> 0.0620."""
    found = _slow(lrdoctor.diagnose(real_log("fresh741/chathuranga-codet5-small-v8/training_results.md")))
    assert len(found) == 1 and found[0].severity.rank == 1
    assert found[0].evidence["loss_still_falling"] == "validation_loss"
    # the fixes are a longer run and a look at the metric, not the dead-training checks of an error
    assert [fx.parameter for fx in found[0].fixes] == ["training length", "metric computation"]


def test_a_wer_pinned_over_many_evaluations_stays_an_error_however_the_loss_falls():
    """XLS-R on Common Voice zh-CN (labelled unhealthy): WER at or above 1.0 at all 67
    evaluations while the validation loss fell from 64.8 to about 1.8."""
    found = _slow(lrdoctor.diagnose(real_log("fresh372/samitizerxu-xls-r-300m-zh-cn/training_results.md")))
    assert len(found) == 1 and found[0].severity.rank == 2
    assert found[0].evidence["points"] >= ProgressThresholds().pinned_points


def test_a_loss_coming_back_down_from_a_blow_up_does_not_soften_the_error(tmp_path):
    """A validation loss that fell in its second half but sits far above its best is a run
    recovering, not one learning (the shape of a 10-epoch card: 0.20, 0.36, 0.16, 0.91 ... 0.55
    beside an accuracy of 0.8333 at every epoch); the falling test asks for a loss at its lowest."""
    log = tmp_path / "recover.csv"
    rows = ["epoch,eval_loss,eval_accuracy"] + [f"{i + 1},{v},0.8333" for i, v in enumerate(
        [0.2044, 0.3574, 0.1551, 0.9122, 0.9043, 0.7262, 0.5977, 0.5567, 0.5484, 0.5506])]
    log.write_text("\n".join(rows) + "\n")
    from lrdoctor.detect.progress import _still_falling
    assert _still_falling(lrdoctor.read(log), ProgressThresholds()) is None


# ---------------------------------------------------------------- initial_loss_anomaly: sentence-transformers tables

def test_a_setfit_training_logs_table_is_read_as_sentence_transformers_and_not_judged_against_ln_k(tmp_path):
    """SetFit with a ModernBERT body on 4 intents (labelled healthy): CosineSimilarityLoss 0.1492 at
    step 1 is an MSE of cosines, not a cross-entropy over the 4 classes; the class count of the
    config says nothing of it, and the report says why the check did not run."""
    from lrdoctor.io.textlog.tables import SENTENCE_TRANSFORMERS_LAYOUT

    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("num_classes: 4\n")
    log = real_log("fresh979/kerjasama-whatsapp-intent-setfit-modernbert/training_results.md")
    assert lrdoctor.read(log).meta.layout == SENTENCE_TRANSFORMERS_LAYOUT
    report = lrdoctor.diagnose(log, config=cfg)
    assert "initial_loss_anomaly" not in {f.kind for f in report.findings}
    assert "pair or ranking objective" in report.coverage.skipped["initial_loss_anomaly"]


def test_a_trainer_table_with_a_class_count_is_still_judged_against_ln_k(tmp_path):
    """The Trainer's own card (Training Loss first) is no sentence-transformers table: a ResNet
    student whose first losses are 26.9 for 16 classes, 10x ln 16, is still an anomaly."""
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("num_classes: 16\n")
    log = real_log("fresh964/resnet101-rvlcdip-hint-rand/training_results.md")
    assert lrdoctor.read(log).meta.layout == ""
    found = [f for f in lrdoctor.diagnose(log, config=cfg).findings if f.kind == "initial_loss_anomaly"]
    assert found and found[0].evidence["ratio"] > 5


# ---------------------------------------------------------------- divergence: the stay rules give back

def test_a_training_loss_wobbling_near_zero_beside_overfitting_is_no_divergence():
    """distilbert on a 3-class task, fold 4 (labelled unhealthy: overfitting): the training loss
    fell 0.5547 -> 0.0012 and then printed 0.0044, 3.7x its best but 0.6% of what it learned, while
    the validation loss tripled. The stay rules (every later report >= 2x the best; a jump that
    stays; a decade) ask the loss to give back ``give_back`` of its fall, as the runaway rule does."""
    report = lrdoctor.diagnose(real_log("fresh1000/elopezlopez-distilbert-fold4-ternary/training_results.md"))
    kinds = {f.kind for f in report.findings if f.severity.rank >= 1}
    assert "divergence" not in kinds and "overfitting" in kinds


def test_a_fine_tune_that_gave_its_learning_back_still_diverges():
    """Mistral-7B on MetaMath (labelled divergence): 0.7559 at step 13, then 9.46 and every later
    report at least 6x the best: the loss gave back far more than it learned."""
    report = lrdoctor.diagnose(real_log("fresh398/hfcard-imdatta0-mistral-7b-v0.3-metamath-default/training_results.md"))
    div = [f for f in report.findings if f.kind == "divergence"]
    assert div and div[0].severity.rank == 2 and div[0].evidence["best_loss"] == pytest.approx(0.7559)
