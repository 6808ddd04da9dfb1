"""Stop 78, overfitting's false findings: a rule of the UP criteria, on synthetic series and real logs read in place.

**A rise no larger than one the curve already came back from is no UP rise.** Prechelt's UP rules
read the order of the last evaluations (3 or 4 values rising: p = 1/6 or 1/24 under exchangeable
noise) and bound their size only by the scatter of differences. A held-out loss that earlier rose
as far above its best so far, and then came back below it, has shown that a rise of that size is
one of its swings: the rise is compared with the curve's own record, as a ratio of the best (GL's
scale), factor for factor, with no new threshold (``overfitting._recovered_excursion``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect.overfitting import DEFAULTS, _recovered_excursion, _successive_rises
from lrdoctor.finding import Finding, Severity

# a rise no larger than one the curve came back from: healthy runs that lost their overfitting warning
_TEDLIUM = "fresh20/speechbrain-pr2191-tedlium/pr2191_train_log.txt"
_QNLI_TINY = "fresh869/tiny-mlm-wnli-target-qnli/training_results.md"
# labelled overfitting, with a smaller swing earlier: still found
_PENSCOLA = "fresh1043/penscola-tweet-sentiments-analysis-roberta-pr1/training_results.md"
_GLOVE_200 = "fresh122/dlwp1-6.1-glove-frozen-200samples/train.log"


def _findings(path: Path, **config) -> list[Finding]:
    return lrdoctor.diagnose(lrdoctor.read(path, config=config or None)).findings


def _overfitting(path: Path, **config) -> list[Finding]:
    return [f for f in _findings(path, **config) if f.kind == "overfitting"]


# --- a rise within the curve's recovered swings -------------------------------------------------

def test_recovered_excursion_is_the_largest_ratio_to_the_best_so_far():
    """0.80 -> 0.90 is the largest rise above the best so far (x1.125); 1.0 is the first value, and the
    rises after ``i`` are not counted."""
    v = np.array([1.0, 0.8, 0.9, 0.7, 0.75, 0.76, 2.0])
    assert abs(_recovered_excursion(v, 5) - 0.9 / 0.8) < 1e-12
    assert abs(_recovered_excursion(v, 3) - 0.9 / 0.8) < 1e-12
    assert _recovered_excursion(v, 1) == 1.0  # a curve that only fell so far
    assert _recovered_excursion(v, 0) == 1.0
    assert _recovered_excursion(-v, 5) == 1.0  # an accuracy read as -acc: no ratios


def test_an_up2_rise_within_a_recovered_swing_is_no_rise():
    """Five evaluations (too few for the scatter guard): 0.40, a swing to 0.46 (x1.15) that came back to
    0.38, then 0.40, 0.42, 10.5% above the best, GL_5 and two rises in a row: the UP_2 rule's picture, but
    no larger than the swing the curve already recovered from."""
    assert _successive_rises(np.array([0.40, 0.46, 0.38, 0.40, 0.42]), DEFAULTS) is None
    rise = _successive_rises(np.array([0.40, 0.46, 0.38, 0.42, 0.46]), DEFAULTS)  # x1.21 beyond the swing
    assert rise is not None and rise.strips == 2 and rise.best == 2


def test_a_card_whose_rise_stays_within_its_swings_is_not_overfitting(tmp_path):
    """The same curve in an HF results table, the training loss falling throughout."""
    lines = ["Training Loss | Epoch | Step | Validation Loss |", "---|---|---|---|"]
    train, evals = [0.60, 0.45, 0.35, 0.28, 0.22], [0.40, 0.46, 0.38, 0.40, 0.42]
    lines += [f"{t} | {k + 1}.0 | {100 * (k + 1)} | {e} |" for k, (t, e) in enumerate(zip(train, evals))]
    assert _overfitting(write_lines(tmp_path / "README.md", lines)) == []
    lines[-1] = "0.22 | 5.0 | 500 | 0.47 |"  # 24% above the best: beyond the swing
    [f] = _overfitting(write_lines(tmp_path / "README.md", lines))
    assert f.severity is Severity.WARNING and f.evidence["eval_min"] == 0.38


def test_labelled_overfitting_beyond_a_smaller_earlier_swing_is_still_found():
    """penscola's RoBERTa: validation loss 0.6933 -> 0.7132 (x1.03) and back to 0.6310, then 0.9048 and
    1.0245 (x1.62); the GloVe IMDB model of Deep Learning with Python on 200 samples: a swing of x1.17
    recovered, then a rise of x1.35 over the last two epochs."""
    for rel in (_PENSCOLA, _GLOVE_200):
        [f] = _overfitting(real_log(rel))
        assert f.severity is Severity.WARNING and "eval loss rose at each of the last" in f.summary, rel


def test_healthy_rises_within_recovered_swings_stay_silent():
    """SpeechBrain's TED-LIUM transformer: valid loss 26.08 -> 26.96 and back to 25.89, then 26.47,
    26.51, 26.68 (x1.030 against the x1.034 it came back from); a tiny BERT on QNLI: 0.5010 -> 0.5312
    and back to 0.4643, then 0.4685, 0.4734, 0.4737 (x1.020 against x1.060). Both labelled healthy."""
    for rel in (_TEDLIUM, _QNLI_TINY):
        assert _overfitting(real_log(rel)) == [], rel
