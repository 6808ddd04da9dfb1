"""slow_progress: a word error rate whose scale is inferred from the state of the art.

An error rate printed between 0.9 and 1.4 reads two ways: a fraction, 90% to 140% errors, a model
that recognises nothing; or a percentage, an excellent 0.9-1.4%. Before stop 77 a fraction needed
a proof in its prints (exactly 1.0 twice, or a value above 1 beside an evaluation loss that
halved, ``fraction_band_max``) and WERs such as XLS-R 1b on Arabic's 0.9974 -> 0.9696 over 11
evaluations went unread. **A word error rate whose every evaluation printed a value below
``best_published_wer`` (1.4, the best published WER on LibriSpeech test-clean, Zhang et al. 2020)
and never below ``error_floor`` (0.9) is now read as a fraction**: as a percentage every
evaluation, the first included, would match the state of the art on the cleanest public
benchmark. The scale is inferred, not printed, so the finding is a warning; only a word error rate
is read so (a CER's state of the art lies far lower), and a rate that printed one single value is
left to the pinned rule, and a run whose training loss fell by more than half while its
evaluation loss did not (a model near 1% errors that keeps fitting its training set, stop 42's
picture) keeps both readings and is not judged. Another rate that learned (CER below 50%) or a
score that learned still clears the run, as before.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect._common import is_word_error_rate
from lrdoctor.detect._progress.chance import INFERRED_FRACTION_RULE, _better_than_published_as_percent
from lrdoctor.detect.progress import DEFAULTS
from lrdoctor.finding import Severity

_LUGANDA = "fresh458/cahya-wav2vec2-luganda/training_results.md"
_ARABIC = "fresh1305/andrewmcdowell-wav2vec2-xls-r-1b-arabic-433d77c/training_results.md"
_CZECH_HEALTHY = "fresh907/badrex-xlsr-czech/training_results.md"
_VIETNAMESE = "fresh222/hfcard-phucdyale-whisper-small-vi/training_results.txt"


def _slow(report):
    return [f for f in report.findings if f.kind == "slow_progress"]


def _card(tmp_path: Path, rates: list[float], column: str = "Wer") -> str:
    """An HF card's results table whose losses barely move (a CTC run at its blank stage) beside
    the error rates ``rates``."""
    lines = [f"Training Loss | Epoch | Step | Validation Loss | {column} |", "---|---|---|---|---|"]
    for i, r in enumerate(rates, start=1):
        lines.append(f"{3.2 - 0.01 * i:.4f} | {0.5 * i:.2f} | {100 * i} | {3.1 - 0.01 * i:.4f} | {r:.4f} |")
    return write_lines(tmp_path / "README.md", lines)


def test_the_band_is_below_the_best_published_wer():
    """0.9-1.4 as a percentage beats LibriSpeech test-clean's best published 1.4%; 1.5 does not."""
    assert DEFAULTS.best_published_wer == 1.4
    assert _better_than_published_as_percent(np.array([0.9974, 0.9696, 1.05]), DEFAULTS)
    assert not _better_than_published_as_percent(np.array([0.9978, 1.496, 1.2]), DEFAULTS)
    assert is_word_error_rate("eval_wer") and is_word_error_rate("eval/WER_score") and is_word_error_rate("Wer")
    assert not is_word_error_rate("eval_cer") and not is_word_error_rate("answer")


def test_a_wer_between_097_and_105_is_a_warning(tmp_path):
    """WER 0.9912, 1.0203, 0.9785, 1.0461, 0.9730 over five evaluations beside flat losses: a
    fraction by inference, a warning that names the rule."""
    [f] = _slow(lrdoctor.diagnose(_card(tmp_path, [0.9912, 1.0203, 0.9785, 1.0461, 0.9730])))
    assert f.severity is Severity.WARNING and f.evidence["rule"] == INFERRED_FRACTION_RULE
    assert f.evidence["value"] == 0.973 and f.evidence["points"] == 5


def test_a_cer_in_the_same_band_is_silent(tmp_path):
    """The same prints as a CER: a character error rate near 1% is within reach of a good model,
    so nothing proves the fraction."""
    assert _slow(lrdoctor.diagnose(_card(tmp_path, [0.9912, 1.0203, 0.9785, 1.0461, 0.9730], "Cer"))) == []


def test_a_wer_that_reaches_above_the_band_is_silent(tmp_path):
    """WER 1.496 at the first evaluation: 1.5% is no better than the state of the art, so the
    scale stays unknown."""
    assert _slow(lrdoctor.diagnose(_card(tmp_path, [1.4960, 1.1065, 0.9978, 1.0534, 1.1817]))) == []


def test_the_luganda_card_is_a_warning():
    """wav2vec2 on Luganda read in place: WER 1.0123-1.0128 at all 13 evaluations while the
    validation loss sat at 8.86-8.85."""
    [f] = _slow(lrdoctor.diagnose(real_log(_LUGANDA)))
    assert f.severity is Severity.WARNING and f.evidence["rule"] == INFERRED_FRACTION_RULE
    assert f.evidence["points"] == 13


def test_the_arabic_card_is_a_warning():
    """XLS-R 1b on Arabic read in place: WER 0.9974 -> 0.9696 over 11 evaluations."""
    [f] = _slow(lrdoctor.diagnose(real_log(_ARABIC)))
    assert f.severity is Severity.WARNING and f.evidence["rule"] == INFERRED_FRACTION_RULE
    assert f.evidence["points"] == 11


def test_the_healthy_czech_card_in_the_band_stays_silent():
    """XLS-R 300m on Czech read in place (healthy): WER 1.0, 1.0, 1.0, 0.9288 lies in the band, but
    its CER fell 1.0 -> 0.31: the model recognises characters, the run is at the ordinary end of
    its CTC blank stage."""
    assert _slow(lrdoctor.diagnose(real_log(_CZECH_HEALTHY))) == []


def test_a_wer_in_the_band_while_only_the_training_loss_fell_is_silent():
    """whisper-small on Vietnamese read in place (labelled overfitting, not slow_progress): WER
    1.3689, 1.2094, 1.2515, 1.2655 in the band, but the training loss fell 0.0204 -> 0.0002 while
    the validation loss rose 0.54 -> 0.66: a model that keeps fitting its training set, in which
    the WER may be the percentage it reads as, so the inferred scale is not the only reading."""
    assert _slow(lrdoctor.diagnose(real_log(_VIETNAMESE))) == []
