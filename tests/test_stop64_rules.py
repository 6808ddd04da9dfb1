"""Rules from the stop-64 study (issue 9), on real logs read in place.

``overfitting`` on evaluations alone (HF's results table prints "No log" for the training loss of
a run shorter than its logging interval) read an accuracy that held through the UP rule only: a
validation loss 75% above its minimum whose last evaluations dipped once was silent, though
Prechelt's GL rule judges the same evaluations when no accuracy is logged. It now applies the GL
rule there too, with its scatter guard.

An ``overfitting`` judged from evaluations alone, beside an error that the evaluated predictions
never changed (an accuracy printing one value at every evaluation), is dropped, as one beside a
training loss at chance is: with no training loss to show it fitted anything, a model whose answers
did not move fitted nothing (with one, it memorised: tests/test_stop35_rules.py keeps that).

LightGBM's ``cv()`` output names its held-out metric ``cv_agg's l1``: not recognised, the log was
refused.
"""

from __future__ import annotations

import pytest

from bench_logs import real_log

import lrdoctor

# a RuBERT classifier's Trainer table, "No log" for the training loss until epoch 5
# (labelled unhealthy, overfitting from epoch 3)
RUBERT = "fresh936/logiczmaksimka-rubert-base-training-results/training_results.md"
# a DeBERTa-v3 regression head with evaluations only, its loss 6.7% above its minimum at the end
# within the evaluations' scatter (labelled healthy)
DEBERTA = "fresh564/rawmean-debertav3-small-pearson"
# a classifier whose accuracy is 0.8333 at all ten evaluations (labelled slow_progress)
STUCK = "fresh410/smm-classifier-1-acc-stuck/training_results.md"


def _kinds(report, at_least: int = 1) -> set[str]:
    return {f.kind for f in report.findings if f.severity.rank >= at_least}


def test_evaluations_only_with_an_accuracy_that_held_are_judged_by_the_gl_rule():
    run = lrdoctor.read(real_log(RUBERT))
    assert "loss" not in run.meta.roles or len(set(run.series("loss").finite().values)) < 2
    ev = run.series("eval_loss").values
    assert ev.min() == 0.7773 and ev[-1] == 1.3571 and ev[-2] < ev[-3]  # 75% above, a step down before the end
    acc = run.series("eval_accuracy").values
    assert acc[-1] == acc.max()  # the accuracy held (ends at its best)
    f = next(f for f in lrdoctor.diagnose(run).findings if f.kind == "overfitting")
    assert f.start_step == 200 and abs(f.evidence["generalization_loss"] - (1.3571 / 0.7773 - 1)) < 1e-9


def test_the_healthy_twin_within_its_scatter_stays_silent():
    path = next(real_log(DEBERTA).glob("*.md"))
    run = lrdoctor.read(path)
    assert "loss" not in run.meta.roles and "eval_accuracy" in run.meta.roles
    ev = run.series("eval_loss").values
    assert ev[-1] > 1.05 * ev.min() and (ev[ev.argmin() + 1:] > ev.min()).all()  # GL_5, every later one above
    assert _kinds(lrdoctor.diagnose(run)) == set()


def test_overfitting_of_a_model_whose_predictions_never_changed_is_dropped():
    report = lrdoctor.diagnose(real_log(STUCK))
    errors = [f for f in report.findings if f.kind == "slow_progress" and f.severity.rank == 2]
    assert errors and errors[0].evidence["value"] == 0.8333
    assert "overfitting" not in _kinds(report)
    # the twin: the RuBERT run's accuracy moved, and its overfitting stays
    assert "overfitting" in _kinds(lrdoctor.diagnose(real_log(RUBERT)))


# LightGBM's cv() output pasted in an issue: "[1620]	cv_agg's l1: 0.598669" (labelled healthy)
LGB_CV = "fresh927/lightgbm-issue-1026-cv-l1/paste.log"


def test_lightgbm_cv_aggregate_is_a_validation_loss(tmp_path):
    """LightGBM's ``cv()`` prints the mean over the held-out folds as ``cv_agg's l1`` (4.x: ``cv_agg's
    valid l1``, with ``+ std``): it was no recognised metric, and the log was refused."""
    run = lrdoctor.read(real_log(LGB_CV))
    assert run.meta.roles["eval_loss"] == "cv_agg_l1"
    assert run.series("eval_loss").values.tolist() == [0.598669, 0.598657, 0.598639, 0.598635]
    assert _kinds(lrdoctor.diagnose(run)) == set()
    v4 = tmp_path / "cv4.log"
    v4.write_text("".join(f"[{i}]\tcv_agg's valid l2: {1 / i:.4f} + 0.01\n" for i in range(1, 6)))
    assert lrdoctor.read(v4).meta.roles["eval_loss"] == "cv_agg_valid_l2"
    # a bare norm beside another word is still no loss: an "agg l2" alone is refused
    bare = tmp_path / "agg.log"
    bare.write_text("".join(f"[{i}]\tagg's l2: {1 / i:.4f}\n" for i in range(1, 6)))
    with pytest.raises(lrdoctor.InputError):
        lrdoctor.read(bare)


# CatBoost's held-out Logloss, committed as catboost_info/test_error.tsv (labelled overfitting):
# it rises from iteration 8 and converges, printed with 10 digits, 1.350728625, .728119, .727825,
# .727825, .727248 at the last five iterations
CATBOOST = "fresh927/catboost-credit-risk-test-logloss/test_error.tsv"


def test_a_tail_creeping_below_the_frozen_tolerance_is_no_frozen_evaluation(tmp_path):
    """The frozen rules take values within ``frozen_rel_spread`` (1e-6) of the last as equal, so
    that a dead model's float jitter still reads as frozen; a tail that moves in one direction at
    most reports is a curve converging below that tolerance, and was an error."""
    report = lrdoctor.diagnose(real_log(CATBOOST))
    assert "overfitting" in _kinds(report)
    assert not [f for f in report.findings if f.kind == "slow_progress"]
    # the twin: a tail of exactly equal prints is still frozen, however it got there (a really
    # trained CatBoost fit on 80 examples stops changing once it fits them: Logloss 1.666859152
    # at its last iterations). Read as CatBoost's table it is a booster's converged fit (stop 65:
    # later trees add nothing, no weights are dead); the same values under a plain step axis are
    # a frozen evaluation, an error
    import numpy as np
    from catboost import CatBoostClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1080, 10))
    y = (x[:, 0] + 1.5 * rng.normal(size=1080) > 0).astype(int)
    CatBoostClassifier(iterations=500, thread_count=1, random_seed=0, train_dir=str(tmp_path), verbose=False,
                       learning_rate=0.5, depth=6, l2_leaf_reg=0.01).fit(x[:80], y[:80], eval_set=(x[80:], y[80:]))
    table = (tmp_path / "test_error.tsv").read_text().splitlines()
    assert len({line.split("\t")[1] for line in table[-4:]}) == 1
    assert not [f for f in lrdoctor.diagnose(tmp_path / "test_error.tsv").findings if f.kind == "slow_progress"]
    plain = tmp_path / "plain.tsv"
    plain.write_text("\n".join(["step\tval_loss"] + table[1:]) + "\n")
    frozen = [f for f in lrdoctor.diagnose(plain).findings if f.kind == "slow_progress"]
    assert frozen and frozen[0].severity.rank == 2 and frozen[0].evidence["rule"].startswith("frozen evaluation")


# Swin-tiny on food101 (labelled edge, plateau): validation loss 0.4401 and accuracy 0.9220 at the
# last five evaluations while the training loss prints 0.0007-0.0056
SWIN = "fresh745/neruoy-swin-food101/training_results.md"
# GPT-J SFT on ANLI (labelled plateau): validation loss 0.6203 at the last eight evaluations while
# the training loss moved 0.10-0.23, three to six times below it
GPTJ = "fresh923/tverous-sft-trl-no-claim/training_results.md"


def test_a_frozen_evaluation_of_a_memorised_training_set_is_convergence_not_death():
    report = lrdoctor.diagnose(real_log(SWIN))
    assert "overfitting" in _kinds(report)  # the memorisation is the finding
    assert not [f for f in report.findings if f.kind == "slow_progress"]
    # the twin: a training loss within an order of magnitude of the frozen evaluation still trains
    # a model whose evaluation does not move, and that stays a finding (since stop 71 a plateau
    # warning, not slow_progress's error: its validation loss learned 1.87 -> 0.62 before it froze)
    report = lrdoctor.diagnose(real_log(GPTJ))
    frozen = [f for f in report.findings if f.kind == "plateau"]
    assert frozen and frozen[0].severity.rank == 1 and frozen[0].evidence["value"] == 0.6203
    assert not [f for f in report.findings if f.kind == "slow_progress"]
