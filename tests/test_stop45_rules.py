"""Rules from the stop-45 study of the benchmark (issue 9), each on a real log read in place, with
real twins:

- slow_progress: a classification accuracy whose best is its first evaluation's value, printed
  identically at most of 4+ evaluations of a 50+ example set and never beaten, is the score of
  predictions that did not change: training never improved on them.
"""

from __future__ import annotations

from bench_logs import real_log
from trained_digits import warned, write_lines

import lrdoctor

_RULE = "never beat the first evaluation's repeated value"
_HUBERT = "fresh230/hf-hubert-gokuls-fsc-h-stuck/training_results.md"


def _never_beat(report) -> bool:
    f = warned(report, at_least=2).get("slow_progress")
    return f is not None and f.evidence.get("rule") == _RULE


def _hubert_rows() -> list[list[str]]:
    """The card's rows, read by hand: "No log", epoch, step, validation loss, accuracy."""
    return [line.split()[2:] for line in open(real_log(_HUBERT)).read().splitlines()[1:]]


def test_an_accuracy_that_never_beat_its_repeated_first_value_is_no_learning():
    # HuBERT on an intent set: accuracy 0.2557 at five of six evaluations, 0.2383 at the other,
    # the validation loss flat at 1.72 (1.7232 -> 1.7203)
    f = warned(lrdoctor.diagnose(real_log(_HUBERT)), at_least=2)["slow_progress"]
    assert f.evidence["rule"] == _RULE
    assert f.evidence["value"] == 0.2557 and f.evidence["points"] == 6
    # DeBERTa-XL on a three-way task: 0.405, 0.385, 0.405, 0.405
    assert _never_beat(lrdoctor.diagnose(real_log("fresh53/pancode-deberta-xl-mnli-task1/training_results.md")))


def test_an_accuracy_that_left_its_first_value_for_good_is_not_judged_so():
    # DistilBERT: 0.6267 at epochs 1-4 of 19, then 0.49-0.61 as the validation loss climbs 3.5x:
    # four of nineteen evaluations at the first value are no constant predictor's run
    report = lrdoctor.diagnose(real_log("fresh408/zjun028-results-distilbert/training_results.md"))
    assert not _never_beat(report)
    assert "overfitting" in warned(report)


def _csv(rows: list[list[str]]) -> list[str]:
    """The rows as a CSV evaluated every 120 steps from step 120 (a logger's first period: the start)."""
    return ["step,eval_loss,eval_accuracy"] + [f"{120 * (i + 1)},{r[2]},{r[3]}" for i, r in enumerate(rows)]


def test_the_same_rows_with_a_better_last_evaluation_learned(tmp_path):
    rows = _hubert_rows()
    assert _never_beat(lrdoctor.diagnose(write_lines(tmp_path / "log.csv", _csv(rows))))  # as logged
    rows[-1][-1] = "0.3125"  # the last evaluation beats the repeated first value
    assert not _never_beat(lrdoctor.diagnose(write_lines(tmp_path / "log.csv", _csv(rows))))


def test_the_same_rows_from_mid_run_are_not_judged(tmp_path):
    # the rows shifted to start at step 1205 of 120-step evaluations: an excerpt may begin after the model converged
    lines = ["step,eval_loss,eval_accuracy"] + [f"{1205 + 120 * i},{r[2]},{r[3]}" for i, r in enumerate(_hubert_rows())]
    assert not _never_beat(lrdoctor.diagnose(write_lines(tmp_path / "log.csv", lines)))
