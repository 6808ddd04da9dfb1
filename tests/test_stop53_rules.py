"""Rules from the stop-53 study of the benchmark (issue 9), each on a real log read in place, with
real twins:

- slow_progress: an accuracy that scatters *around* a uniform guess (median of all its evaluations
  and of their later half within ``chance_acc_rel`` of 1/K, no upward trend) is stuck at chance,
  though a small evaluation set lifts single evaluations above 1/K ("never above chance" misses it).
"""

from __future__ import annotations

from bench_logs import real_log
from trained_digits import warned

import lrdoctor

COPA_AT_CHANCE = "fresh690/dkqjrm-20230826083203/training_results.md"


def _around_chance(path, config=None):
    report = lrdoctor.diagnose(lrdoctor.read(real_log(path), config=config))
    f = warned(report, 2).get("slow_progress")
    return f if f is not None and f.evidence.get("rule") == "accuracy median at chance" else None


def test_an_accuracy_scattered_around_one_half_is_stuck_at_chance():
    # BERT-large on COPA (2 choices, 100 evaluation examples) at lr 0.05: accuracy 0.62, 0.40, 0.48,
    # 0.58, 0.39, 0.37, 0.61, 0.68 ... 0.44 over 21 epochs, median 0.49; "never above 0.55" is false
    # at seven evaluations, so only the median says what a reader sees
    f = _around_chance(COPA_AT_CHANCE, {"num_classes": 2})
    assert f is not None
    assert f.evidence["num_classes"] == 2 and abs(f.evidence["value"] - 0.49) < 0.011
    assert f.evidence["points"] == 21


def test_a_few_shot_model_pinned_at_one_half_after_one_lucky_evaluation():
    # SetFit-style distilbert on SUBJ, a 4-example evaluation split: 0.75 at epoch 1, then 0.5 at all
    # 21 later epochs while it memorises its 16 training examples
    assert _around_chance("fresh328/setfit-distilbert-subj-8-9/training_results.md", {"num_classes": 2}) is not None


def test_the_rule_needs_the_class_count():
    # the same COPA log without K: a median of 0.49 is chance only for two classes, and the log does
    # not say how many there are
    assert _around_chance(COPA_AT_CHANCE) is None


def test_a_model_that_learns_is_not_at_chance():
    # the twin, the same author's sweep on RTE (2 classes): accuracy 0.47 at epoch 1, rising to 0.74;
    # its median leaves 1/2 and the accuracy trends up
    report = lrdoctor.diagnose(lrdoctor.read(real_log("fresh690/dkqjrm-20230824002436/training_results.md"),
                                             config={"num_classes": 2}))
    assert "slow_progress" not in warned(report)
