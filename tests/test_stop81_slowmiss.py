"""slow_progress's constant-predictor F-score rule (stop 81, slowmiss): an F-score that is, at every
evaluation, the F-score of a model answering one class for every input at the accuracy printed
beside it (the weighted 2a^2 / (1 + a), whatever K; the macro 2a / ((1 + a) K), one K throughout)
names a constant predictor without the config naming K
(:func:`lrdoctor.detect._progress.chance._constant_predictor_f_score`). Real logs read in place:
BART-large-MNLI at the macro F1 of K = 6 at all ten epochs, DistilBERT on the six emotions at the
weighted F1 at both epochs of a two-epoch card (found); two healthy cards whose first evaluations
sat at the constant predictor's F1 and then learned (silent)."""

from __future__ import annotations

from bench_logs import real_findings, real_log

import numpy as np

import lrdoctor
from lrdoctor.detect._progress.chance import (CONSTANT_F_SCORE_RULE, _constant_predictor_f_score,
                                              _f_score_average_pinned, constant_f_scores)
from lrdoctor.detect.progress import DEFAULTS
from lrdoctor.finding import Severity

RES = (1e-4, 1e-4)  # an HF Trainer table's 4 decimals


def _macro(a: float, k: int) -> float:
    return 2 * a / ((1 + a) * k)


def _weighted(a: float) -> float:
    return 2 * a * a / (1 + a)


def test_constant_f_scores_are_the_one_class_f1_weighted_and_spread_over_k():
    got = {(avg, k): g for avg, k, g, _ in constant_f_scores(0.25, "eval_f1", 6)}
    assert np.isclose(got[("weighted", 0)], 2 * 0.25 ** 2 / 1.25)  # 0.1
    assert np.isclose(got[("macro", 4)], 0.4 / 4) and ("macro", 7) not in got
    assert [avg for avg, *_ in constant_f_scores(0.25, "eval_f1_weighted", 6)] == ["weighted"]
    assert {avg for avg, *_ in constant_f_scores(0.25, "f1_macro", 6)} == {"macro"}
    assert constant_f_scores(0.25, "eval_f1_micro", 6) == []  # micro-F1 is the accuracy itself


def test_one_average_and_one_k_at_every_evaluation_within_the_print():
    a = np.array([0.2469, 0.2346, 0.2557, 0.2469])  # the class answered changes, the accuracy with it
    macro6 = np.round([_macro(x, 6) for x in a], 4)
    assert _f_score_average_pinned(a, macro6, "eval_f1", RES, 100) == ("macro", 6)
    assert _f_score_average_pinned(a, np.round([_weighted(x) for x in a], 4), "eval_f1", RES, 100) == ("weighted", 0)
    off = macro6.copy()
    off[2] += 0.002  # one evaluation off the constant predictor: the model varied its answers there
    assert _f_score_average_pinned(a, off, "eval_f1", RES, 100) is None
    mixed = macro6.copy()
    mixed[1] = round(_macro(float(a[1]), 5), 4)  # K = 5 at one evaluation, 6 at the others: no one K
    assert _f_score_average_pinned(a, mixed, "eval_f1", RES, 100) is None
    assert _f_score_average_pinned(np.array([1.0, 1.0]), np.array([1.0, 1.0]), "eval_f1", RES, 100) is None


def _card(tmp_path, rows, epochs):
    path = tmp_path / "training_results.md"
    lines = ["- num_epochs: %d" % epochs, "", "| Training Loss | Epoch | Step | Validation Loss | Accuracy | F1 |",
             "|:---:|:---:|:---:|:---:|:---:|:---:|"]
    lines += [f"| No log | {e:.1f} | {10 * e} | {1.7:.4f} | {a:.4f} | {f:.4f} |" for e, (a, f) in enumerate(rows, start=1)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_two_evaluations_count_only_as_the_whole_run(tmp_path):
    """Two evaluations at the constant predictor's F1 are judged on a card (its last row is the
    run's end); three are needed otherwise (``chance_corrected_points``)."""
    rows = [(0.39, round(_weighted(0.39), 4))] * 2
    run = lrdoctor.read(_card(tmp_path, rows, 2))
    got = _constant_predictor_f_score(run, DEFAULTS)
    assert got is not None and got.severity is Severity.ERROR and got.evidence["rule"] == CONSTANT_F_SCORE_RULE


def test_bart_mnli_at_the_macro_f1_of_six_classes_is_found():
    f = real_findings("fresh1058/samaksh-khatri-crest-data-bart-large-mnli-17082023t105959/training_results.md",
                      "slow_progress")
    assert f and f[0].severity is Severity.ERROR
    assert f[0].evidence["rule"] == CONSTANT_F_SCORE_RULE and f[0].evidence["num_classes"] == 6


def test_distilbert_emotion_at_the_weighted_f1_at_both_epochs_is_found():
    f = real_findings("fresh101/hfcard-lewtun-distilbert-emotion-test01/training_results.md", "slow_progress")
    assert f and f[0].severity is Severity.ERROR
    assert f[0].evidence["rule"] == CONSTANT_F_SCORE_RULE and "num_classes" not in f[0].evidence


def test_healthy_cards_that_left_the_constant_predictor_stay_silent():
    """XLM-R (weighted F1 0.4258 = 2(0.58)^2/1.58 at epoch 1, then 0.78-0.80 at accuracy 0.84) and an
    Indic SBERT (macro F1 0.3894 of K = 2 at its first two epochs, then 0.63): both learned."""
    for rel in ("fresh1226/thuynt03-xlm-roberta-base-vietnam-train/training_results.md",
                "fresh640/callmesan-indic-sbert-hinglish-binary/training_results.md"):
        run = lrdoctor.read(real_log(rel))
        assert _constant_predictor_f_score(run, DEFAULTS) is None
        assert real_findings(rel, "slow_progress") == []
