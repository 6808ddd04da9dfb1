"""Stop 79 (perfmiss): ``performance_reversal``'s error-rate collapse judged where the collapse to 100%
came before the last evaluation.

The collapse rule asked the *last* evaluation to be at or above 100% (worse than an empty output). An
evaluation is deterministic, so one at 100% is the collapse; when every evaluation after it stayed at
least ``error_rise_factor`` (2) times the best, the model did not get back what it lost, though the
last one no longer prints a full 100% (Whisper-large-v3 on Portuguese: WER 0.0997, then 1.0007 and
0.9999). No new threshold: 100% and the doubling are the rule's own.

Real logs of the benchmark are read in place; a healthy twin whose WER jumped past 100% once and
recovered stays silent."""

from __future__ import annotations

import numpy as np
from bench_logs import real_findings, real_log

import lrdoctor
from lrdoctor.detect.rl.returns import DEFAULTS, _collapse_at


# ---------------------------------------------------------------- the rule's arithmetic


def test_a_collapse_that_stays_doubled_is_found_before_the_last_evaluation():
    v = np.array([0.1124, 0.1052, 0.0997, 1.0007, 0.9999])
    assert v[-1] < 1.0  # the last evaluation alone is no collapse to 100%
    assert _collapse_at(v, 1.0, DEFAULTS) == (2, 3)


def test_the_last_evaluation_at_100_percent_is_still_the_collapse():
    v = np.array([40.0, 35.0, 120.0])
    assert _collapse_at(v, 100.0, DEFAULTS) == (1, 2)


def test_a_collapse_that_recovered_below_double_the_best_is_none():
    v = np.array([26.1, 900.4, 60.3, 20.2, 19.3])  # back below 2x its best of 26.1
    assert _collapse_at(v, 100.0, DEFAULTS) is None
    v = np.array([0.30, 1.02, 0.99, 0.55])  # the last evaluation is below 2 x 0.30
    assert _collapse_at(v, 1.0, DEFAULTS) is None


def test_a_best_of_zero_has_no_level_to_double():
    v = np.array([0.0, 1.2, 0.9, 0.8])  # a placeholder 0, not a learned best
    assert _collapse_at(v, 1.0, DEFAULTS) is None


def test_the_factor_is_the_doubling_rules_own():
    assert DEFAULTS.error_rise_factor == 2.0


# ---------------------------------------------------------------- real logs


def test_whisper_large_v3_wer_collapse_to_one_before_the_last_evaluation():
    # WER 0.1124, 0.1052, 0.0997, then 1.0007 at step 4000 and 0.9999 at step 5000, while the
    # validation loss kept falling: labelled performance_reversal (onset 4000)
    found = real_findings("fresh1433/fsicoli-whisper-large-v3-pt-cv16-cuda/training_results.md", "performance_reversal")
    assert found and found[0].evidence["peak"] == 0.0997 and found[0].end_step == 5000.0
    assert "every later evaluation (1) stayed at least 2x its best" in found[0].summary


def test_the_collapse_at_the_last_evaluation_is_still_found():
    # SpeechBrain CRDNN: CER 35.4 at the first evaluation, then above 100% to the end (labelled reversal)
    assert real_findings("fresh11/speechbrain-pr2216-crdnn-wer-jump/pr2216.log", "performance_reversal")


# ---------------------------------------------------------------- healthy twin


def test_a_wer_that_jumped_past_100_percent_once_and_recovered_stays_silent():
    # an edge Whisper-small card on Japanese, no kind labelled: WER 26.10, 900.40 at step 20 during
    # warmup, 60.32, then 17.7-20.5 for the rest
    rel = "fresh932/toshiouchiyama-whisper-small-ja/training_results.md"
    wer = lrdoctor.read(real_log(rel)).series("eval_wer").values
    assert wer.max() >= 100.0
    assert not real_findings(rel, "performance_reversal")
