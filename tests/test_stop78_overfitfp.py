"""Stop 78, overfitting's false findings: two rules, on synthetic series and real logs read in place.

**A rise no larger than one the curve already came back from is no UP rise.** Prechelt's UP rules
read the order of the last evaluations (3 or 4 values rising: p = 1/6 or 1/24 under exchangeable
noise) and bound their size only by the scatter of differences. A held-out loss that earlier rose
as far above its best so far, and then came back below it, has shown that a rise of that size is
one of its swings: the rise is compared with the curve's own record, as a ratio of the best (GL's
scale), factor for factor, with no new threshold (``overfitting._recovered_excursion``).

**An overfitting judged from evaluations alone, whose held-out loss never left chance, is the
stuck-at-chance error's.** Beside slow_progress's stuck-at-chance error, an evaluation loss whose
minimum stayed within that error's band of ln K (``chance_flat``) had no generalisation to lose,
and with no training loss logged nothing shows that anything was fitted: the finding is dropped as
it already was beside an error that the predictions never changed (``detect._at_chance``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect import filter_findings
from lrdoctor.detect.overfitting import DEFAULTS, _recovered_excursion, _successive_rises
from lrdoctor.finding import Finding, Severity

# a rise no larger than one the curve came back from: healthy runs that lost their overfitting warning
_TEDLIUM = "fresh20/speechbrain-pr2191-tedlium/pr2191_train_log.txt"
_QNLI_TINY = "fresh869/tiny-mlm-wnli-target-qnli/training_results.md"
# labelled overfitting, with a smaller swing earlier: still found
_PENSCOLA = "fresh1043/penscola-tweet-sentiments-analysis-roberta-pr1/training_results.md"
_GLOVE_200 = "fresh122/dlwp1-6.1-glove-frozen-200samples/train.log"
# evaluations alone, at chance: labelled slow_progress only
_WNLI = "fresh168/hfcard-anirudh21-albert-large-wnli/training_results.md"
_SETFIT_SST2 = "fresh386/hfcard-setfit-deberta-v3-base-sst2-all-train/training_results.md"
# evaluations alone, an edge overfitting whose loss left chance: keeps its warning
_MRPC_2GPU = "fresh101/hfcard-sgugger-bert-mrpc-2gpu/training_results.md"


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


# --- evaluations alone, at chance ---------------------------------------------------------------

def _stuck(ln_k: float | None) -> Finding:
    ev = {"ln_k": ln_k} if ln_k is not None else {"rule": "some other rule"}
    return Finding("slow_progress", Severity.ERROR, 0.0, 10.0, "stuck at chance", ev, "")


def _rise(eval_min: float, train_last: float | None = None) -> Finding:
    ev = {"eval_min_step": 2.0, "eval_min": eval_min, "eval_last": eval_min * 1.06, "generalization_loss": 0.06}
    if train_last is not None:
        ev.update(train_at_eval_min=0.7, train_last=train_last)
    return Finding("overfitting", Severity.WARNING, 2.0, 10.0, "eval loss rose", ev, "")


def test_an_evaluations_only_rise_from_chance_is_dropped_beside_the_stuck_at_chance_error():
    """ln 2 = 0.693 and the band 10% below it (0.624): a minimum of 0.6919 is at chance, 0.50 is not;
    an error without ln K, or a training loss logged, leave the finding to the other tests."""
    ln2 = float(np.log(2))
    assert [f.kind for f in filter_findings([_rise(0.6919), _stuck(ln2)])] == ["slow_progress"]
    assert [f.kind for f in filter_findings([_rise(0.63), _stuck(ln2)])] == ["slow_progress"]
    assert [f.kind for f in filter_findings([_rise(0.50), _stuck(ln2)])] == ["overfitting", "slow_progress"]
    assert [f.kind for f in filter_findings([_rise(0.6919), _stuck(None)])] == ["overfitting", "slow_progress"]
    # a training loss logged that fell well below chance: memorised, judged by train_last as before
    assert [f.kind for f in filter_findings([_rise(0.6919, train_last=0.2), _stuck(ln2)])] == ["overfitting", "slow_progress"]


def test_evaluations_only_cards_at_chance_keep_their_slow_progress_alone():
    """ALBERT-large on WNLI (validation loss 0.6919 -> 0.7343, accuracy 0.44-0.54) and SetFit's DeBERTa on
    SST-2 (0.6964 -> 0.7054, accuracy 0.49 at every evaluation), no training loss logged, both labelled
    slow_progress: the stuck-at-chance error is found, the overfitting warning no longer."""
    for rel in (_WNLI, _SETFIT_SST2):
        kinds = {f.kind for f in _findings(real_log(rel), num_classes=2) if f.severity.rank >= 1}
        assert "slow_progress" in kinds and "overfitting" not in kinds, rel


def test_an_evaluations_only_overfitting_that_left_chance_keeps_its_warning():
    """bert-base-cased on MRPC (training loss logged once): validation loss 0.3668 -> 0.3751 -> 0.5152
    while accuracy rose 0.843 -> 0.860, far below ln 2: labelled edge overfitting, still warned."""
    [f] = _overfitting(real_log(_MRPC_2GPU))
    assert f.severity is Severity.WARNING and "train_last" not in f.evidence
