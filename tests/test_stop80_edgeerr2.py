"""Stop 80, errors on healthy and edge runs (the edgeerr2 pool).

**An error rate above 100% at every evaluation that fell by a tenth beside a loss that fell by a
tenth is a warning** (``_progress.chance._fell_above_an_empty_output``, read by
``_learning_above_the_floor``). ``_error_rate_at_max`` says "the model recognises nothing" of a WER
above 100% at every evaluation. Since stop 80 a rate that falls with a downward Mann-Kendall trend
(``rate_trend_p``) beside a loss that fell by ``plateau_learned`` is a warning; on four evaluations
not all in order the test reaches no p below 1/6, so it cannot see a rate that fell by a fifth
(whisper-small on Danish at lr 1e-7: WER 197.5, 197.9, 156.7, 142.4 as the validation loss fell
1.22 -> 0.94). The rate's own fall by ``plateau_learned`` (the loss's bar for "the run did learn",
first report to the median of the last three) now stands for the trend, only while the rate stays
above 100%: a rate that came down to about 100% has reached what an empty or few-word output scores
(whisper-tiny on Bengali: WER 180 -> 95.9-101.7, labelled unhealthy), which keeps its error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_logs import real_findings
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect._progress.chance import _fell_above_an_empty_output, _learning_above_the_floor
from lrdoctor.detect._stats import trend_p_down
from lrdoctor.detect.progress import DEFAULTS, detect_slow_progress
from lrdoctor.finding import Severity
from series_helpers import wer_card_lines

# edge, labelled slow_progress: WER 197.5 -> 142.4 (4 evaluations), validation loss 1.2238 -> 0.9352
_WHISPER_DA_EDGE = "fresh1352/jstoone-whisper-small-da-cv11/training_results.md"
# edge, labelled performance_reversal: WER 237.3 -> 171.2, then 200.5; validation loss 0.3029 -> 0.2332
_WHISPER_HK_EDGE = "fresh1440/weitao06-whisper-small-zh-hk/training_results.md"
# twins that keep their error: rates that came down to about 100% (labelled unhealthy, slow_progress),
# and a rate above 100% beside a validation loss that fell by under a tenth (edge: 601.6 -> 225.2,
# validation loss 0.8019 -> 0.7471)
_WHISPER_BN_UNHEALTHY = "fresh1401/shhossain-whisper-tiny-bn/training_results.md"  # 180 -> 95.9-101.7
_WHISPER_LR3_UNHEALTHY = "fresh1294/therains-cv9-special-batch8-lr3-small/training_results.md"  # 126.4 -> 99.2-105.6
_WHISPER_GA_UNHEALTHY = "fresh533/ymoslem-whisper-medium-ga2en-v1-1/training_results.md"  # 1852 -> 96-114
_WHISPER_JA_EDGE = "fresh431/nikolajvestergaard-ja-whisper-tiny/training_results.md"


def _card(tmp_path: Path, evals: list[float], wer: list[float]) -> lrdoctor.Run:
    """An HF Trainer results table: one row per 1000 steps, a training loss, the validation loss and a WER."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    return lrdoctor.read(write_lines(tmp_path / "README.md", wer_card_lines(evals, wer)))


_FALLING_LOSS = [1.22, 1.04, 0.97, 0.94]  # median of the last three 0.97: 20% below the first
_WER_NO_TREND = [197.5, 197.9, 156.7, 142.4]  # one pair out of order: Mann-Kendall p = 4/24; fell 20.7%


def test_a_rate_above_100_that_fell_by_a_tenth_is_learning_without_the_trend(tmp_path):
    v = np.array(_WER_NO_TREND)
    assert abs(trend_p_down(v) - 4 / 24) < 1e-9 and trend_p_down(v) >= DEFAULTS.rate_trend_p
    assert 1 - 156.7 / 197.5 > DEFAULTS.plateau_learned  # first to the median of the last three
    assert _fell_above_an_empty_output(v, DEFAULTS)
    run = _card(tmp_path, _FALLING_LOSS, _WER_NO_TREND)
    assert _learning_above_the_floor(run, v, DEFAULTS) is not None
    [f] = detect_slow_progress(run)
    assert f.severity is Severity.WARNING and f.evidence["loss_fell"] == "validation_loss"
    assert "by more than a tenth" in f.summary


def test_a_fall_onto_an_empty_outputs_100_or_under_a_tenth_keeps_the_error(tmp_path):
    onto_100 = [180.0, 121.5, 128.9, 95.9, 101.7, 98.6, 101.2, 101.0]  # reached ~100%: no better than an empty output
    assert not _fell_above_an_empty_output(np.array(onto_100), DEFAULTS)
    run = _card(tmp_path / "a", [1.3, 1.0, 0.9, 0.8, 0.75, 0.7, 0.7, 0.7], onto_100)
    assert detect_slow_progress(run)[0].severity is Severity.ERROR
    small_fall = [150.0, 151.0, 140.0, 142.0]  # median of the last three 142: 5% under the first
    assert not _fell_above_an_empty_output(np.array(small_fall), DEFAULTS)
    run = _card(tmp_path / "b", _FALLING_LOSS, small_fall)
    assert detect_slow_progress(run)[0].severity is Severity.ERROR
    flat_loss = [1.22, 1.2, 1.19, 1.18]  # the rate fell by a fifth, the loss by under a tenth
    run = _card(tmp_path / "c", flat_loss, _WER_NO_TREND)
    assert _learning_above_the_floor(run, np.array(_WER_NO_TREND), DEFAULTS) is None
    assert detect_slow_progress(run)[0].severity is Severity.ERROR


def _slow(rel: str) -> list:
    return [f for f in real_findings(rel, "slow_progress") if f.severity is not Severity.INFO]


def test_edge_whisper_rates_above_100_that_fell_are_warnings():
    for rel in (_WHISPER_DA_EDGE, _WHISPER_HK_EDGE):
        [f] = _slow(rel)
        assert f.severity is Severity.WARNING, rel
        assert f.evidence["rate_trend_p"] >= DEFAULTS.rate_trend_p and f.evidence["loss_fell"] == "validation_loss", rel


def test_twins_that_reached_an_empty_outputs_score_keep_their_error():
    for rel in (_WHISPER_BN_UNHEALTHY, _WHISPER_LR3_UNHEALTHY, _WHISPER_GA_UNHEALTHY, _WHISPER_JA_EDGE):
        errors = [f for f in _slow(rel) if f.severity is Severity.ERROR]
        assert errors and all("rate_trend_p" not in f.evidence for f in errors), rel
