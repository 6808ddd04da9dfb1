"""Stop 80, errors on healthy and edge runs (the edgeerr pool): readings whose evidence was weaker
than their error.

**An error rate held above the floor while it and the loss fall is a warning**
(``progress.ProgressThresholds.rate_trend_p``, ``_progress.chance._learning_above_the_floor``).
``_error_rate_at_max`` says "the model recognises nothing" of a WER or CER above 100% at every
evaluation, or never below ``error_floor`` (90%). When the rate falls with a downward Mann-Kendall
trend at the usual one-sided 5%, its best is below its first report, it never printed exactly 100%
(an empty transcript's score), and the loss beside it (the evaluation loss where logged) fell by
more than ``plateau_learned`` (a tenth) of its first report, two independent readings say the model
learns. The floor is then a run too slow or too short, or a metric the task cannot score: a word
error rate on text without spaces between words, where a sentence is one "word" (whisper-base on
Common Voice zh-CN, labelled healthy: WER 94.6 -> 90.1 over ten evaluations as the validation loss
fell 0.68 -> 0.54). A warning, which keeps the finding where slow_progress is labelled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_logs import real_findings
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect._progress.chance import _learning_above_the_floor
from lrdoctor.detect.progress import DEFAULTS, detect_slow_progress
from lrdoctor.finding import Severity
from series_helpers import wer_card_lines

# labelled healthy: whisper-base on Common Voice zh-CN, WER 94.64 -> 90.06 (ten evaluations, falling)
# beside a validation loss 0.6812 -> 0.5416
_WHISPER_ZH_HEALTHY = "fresh1429/arun100-whisper-base-cn-1/training_results.md"
# labelled slow_progress: WER above 100% (or at 90%+) falling with a downward trend, loss fell by a tenth+
_WHISPER_NAN_TW_EDGE = "fresh1461/kevin888835-whisper-small-nan-tw/training_results.md"  # 134.3 -> 116.1
_WHISPER_TAMIL = "fresh1347/dineshkumars-whisper-tiny-tamil-language/training_results.md"  # 186.3 -> 165.7
_WHISPER_THAI = "fresh431/napatswift-whisper-small-thai/training_results.md"  # 97.54 -> 90.98
# twins that keep their error: a loss that fell by under a tenth (whisper-tiny ja, edge: 601.6 -> 225.2
# beside a validation loss 0.8019 -> 0.7471), a WER pinned at an empty output's 100.0 (whisper-medium
# zh-CN, edge), and XLS-R in its CTC blank phase (WER 1.0 at twelve evaluations, then 0.999)
_WHISPER_JA_EDGE = "fresh431/nikolajvestergaard-ja-whisper-tiny/training_results.md"
_WHISPER_ZH_PINNED_EDGE = "fresh1403/xiongjya-whisper-medium-zh-cn-5d8c031/training_results.md"
_XLSR_KO_BLANK = "fresh1408/haseong8012-wav2vec2-large-xlsr-53-ko2/training_results.md"


def _card(tmp_path: Path, evals: list[float], wer: list[float]) -> lrdoctor.Run:
    """An HF Trainer results table: one row per 1000 steps, a training loss, the validation loss and a WER."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    return lrdoctor.read(write_lines(tmp_path / "README.md", wer_card_lines(evals, wer)))


_FALLING_LOSS = [0.85, 0.72, 0.67, 0.66]  # median of the last three 0.67: 21% below the first
_FALLING_WER = [134.28, 121.68, 116.57, 116.06]  # strictly falling: Mann-Kendall p = 1/24


def test_a_falling_rate_beside_a_falling_loss_is_learning_above_the_floor(tmp_path):
    run = _card(tmp_path, _FALLING_LOSS, _FALLING_WER)
    got = _learning_above_the_floor(run, np.array(_FALLING_WER), DEFAULTS)
    assert got is not None
    p, loss = got
    assert abs(p - 1 / 24) < 1e-9 and p < DEFAULTS.rate_trend_p
    assert loss == "validation_loss"
    [f] = detect_slow_progress(run)
    assert f.severity is Severity.WARNING and f.evidence["rate_trend_p"] == p and f.evidence["first"] == 134.28


def test_the_rate_alone_or_the_loss_alone_is_not_enough(tmp_path):
    flat_loss = [0.85, 0.84, 0.83, 0.83]  # fell 2%: under a tenth
    run = _card(tmp_path / "a", flat_loss, _FALLING_WER)
    assert _learning_above_the_floor(run, np.array(_FALLING_WER), DEFAULTS) is None
    assert detect_slow_progress(run)[0].severity is Severity.ERROR
    no_trend = [134.28, 121.68, 140.57, 116.06]  # one rise: p = 4/24
    run = _card(tmp_path / "b", _FALLING_LOSS, no_trend)
    assert _learning_above_the_floor(run, np.array(no_trend), DEFAULTS) is None
    assert detect_slow_progress(run)[0].severity is Severity.ERROR


def test_an_empty_outputs_exact_100_keeps_the_error(tmp_path):
    wer = [100.0, 97.5, 95.1, 93.0, 91.8]  # falls with a trend, but the first evaluation printed nothing right
    run = _card(tmp_path, [0.85, 0.75, 0.7, 0.66, 0.64], wer)
    assert _learning_above_the_floor(run, np.array(wer), DEFAULTS) is None
    assert detect_slow_progress(run)[0].severity is Severity.ERROR


def _slow(rel: str) -> list:
    return [f for f in real_findings(rel, "slow_progress") if f.severity is not Severity.INFO]


def test_labelled_slow_progress_of_a_falling_rate_is_kept_as_a_warning():
    for rel in (_WHISPER_NAN_TW_EDGE, _WHISPER_TAMIL, _WHISPER_THAI):
        [f] = _slow(rel)
        assert f.severity is Severity.WARNING, rel
        assert f.evidence["rate_trend_p"] < DEFAULTS.rate_trend_p and f.evidence["loss_fell"] == "validation_loss", rel


def test_healthy_unsegmented_chinese_wer_is_no_error():
    assert all(f.severity is not Severity.ERROR for f in _slow(_WHISPER_ZH_HEALTHY))


def test_twins_that_never_learned_by_both_readings_keep_their_error():
    for rel in (_WHISPER_JA_EDGE, _WHISPER_ZH_PINNED_EDGE, _XLSR_KO_BLANK):
        [f] = _slow(rel)
        assert f.severity is Severity.ERROR and "rate_trend_p" not in f.evidence, rel
