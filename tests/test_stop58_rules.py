"""Rules from the stop-58 study (issue 9), each on the real log that met it, read in place, with
real twins that the rule must leave alone:

- slow_progress's frozen-generations rule: a mean generated length printed as the same fractional
  value at the last three or more evaluations, while the generation score never rises above its
  value at the first of them, is a warning (the outputs stopped changing).
"""

from __future__ import annotations

from bench_logs import real_log
from trained_digits import warned

import lrdoctor
from lrdoctor.detect._progress.generation import FROZEN_GENERATION_RULE

# mT5-base on Lithuanian text simplification, lr 1e-4 (labelled unhealthy): Gen Len 39.0501 at seven
# evaluations while ROUGE-1 stayed at 0.001-0.02 and the training loss fell 16.4 -> 0.67
MT5_FROZEN = "fresh779/mt5-textsimp-lt-bs8-lr1e-4-default/training_results.md"
# the same recipe in another run (edge): Gen Len 38.0501 at five evaluations while ROUGE-1 rose 0.60 -> 0.70
MT5_LEARNING = "fresh779/mt5-textsimp-lt-bs8-lr1e-4/training_results.md"
# t5-small on BillSum (healthy): Gen Len 19.0 at all four evaluations, every summary cut at max_length
T5_CAPPED = "fresh601/baharak-billsum-t5-small/training_results.md"


def _frozen(path: str):
    f = warned(lrdoctor.diagnose(lrdoctor.read(real_log(path)))).get("slow_progress")
    return f if f is not None and f.evidence.get("rule") == FROZEN_GENERATION_RULE else None


def test_a_generated_length_frozen_to_its_last_digit_beside_a_score_that_never_rises_is_slow_progress():
    f = _frozen(MT5_FROZEN)
    assert f is not None
    assert f.evidence["value"] == 39.0501 and f.evidence["points"] == 7
    assert f.severity is lrdoctor.Severity.WARNING
    assert "39.0501" in f.summary and "stopped changing" in f.summary
    # its fixes are the decoded outputs and the trainable weights, not a larger LR
    assert [x.parameter for x in f.fixes] == ["decoded outputs", "trainable parameters"]


def test_a_frozen_length_beside_a_rising_score_is_left_alone():
    assert _frozen(MT5_LEARNING) is None


def test_a_whole_number_length_is_a_length_cap_and_left_alone():
    assert _frozen(T5_CAPPED) is None
