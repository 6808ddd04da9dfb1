"""Stop 81 (overfitting's misses): the trend rule at the conventional 5% beside a fitted-apart training set.

The trend rule (``_rising_trend``) reads a held-out loss that stayed above its minimum at each of 5+
later evaluations (a third of the run or more), at least GL_1 above it at the end, while the training
loss fell and every held-out score logged ended worse than at the minimum, and asked the climb a
one-sided Mann-Kendall trend at 1% (``trend_p``). A climb with a few pairs out of order on
6-7 values misses 1% (T5: validation loss 1.2447 at step 920, then 1.2749, 1.2795, 1.2746, 1.2849,
1.2919, 1.2913, MK p = 0.015, while the training loss fell 0.0497 -> 0.0265). When the training set is fitted
apart from the held-out one (the training loss fell from the minimum and ends at most half the last
evaluation loss, ``floor_gap``), that gap is a second witness the climb's order does not enter, and
the trend is read at the conventional 5% (``trend_p_fitted``), as the highest-last rule stands at 5%
beside its own further witnesses. With no training loss, or no gap, 1% stays."""

from __future__ import annotations

import numpy as np
from bench_logs import real_findings, real_log

import lrdoctor
from lrdoctor.detect._stats import trend_p_up
from lrdoctor.detect.overfitting import DEFAULTS, _trend_level, detect
from series_helpers import columns_run as _run

# T5 fine-tune (unhealthy, overfitting labelled at step 920): validation loss 1.2447 at step 920, then
# above it at all 6 later evaluations, 1.2913 at the end (3.7%, MK p = 0.015), training loss 0.0497 -> 0.0265
_T5 = "fresh614/patcas-v3-my-awesome-t5/training_results.md"
# XLS-R 300m on Hindi (unhealthy, overfitting labelled at step 2400): validation loss 2.3974 at step
# 2000, then 2.443-2.475 at all 5 later evaluations (3.2%, MK p = 0.028), training loss 2.057 -> 1.229
_XLSR_HI = "fresh934/reichenbach-xlsr300m-hi/training_results.md"
# the twins (healthy): the same climb from a minimum (MK p between 1% and 5%) beside a training set
# fitted apart, but a held-out score that came back (DistilBERT text classifier: F1; XLS-R on Lithuanian: WER)
_DISTILBERT_TWIN = "fresh982/arjuntheprogrammer-distilbert-text-classification-v6/training_results.md"
_XLSR_LT_TWIN = "fresh274/sammy786-xlsr-lithuanian/training_results.md"
# stop 62's IndoBERT on TyDi QA (fresh518): validation loss 2.1436 at epoch 5, then a climb to 2.3210 while
# the training loss fell 1.0681 -> 0.6977
_INDOBERT = "fresh518/andreaschandra-indobert-tydiqa/training_results.txt"

_EVAL = [1.2882, 1.261, 1.2528, 1.2447, 1.2749, 1.2795, 1.2746, 1.2849, 1.2919, 1.2913]
_FITTED = [0.30, 0.12, 0.059, 0.0497, 0.045, 0.040, 0.0319, 0.030, 0.0265, 0.0265]


def _kinds(run) -> set[str]:
    return {f.kind for f in detect(run)}


def test_trend_level_is_5_percent_only_beside_a_fitted_apart_training_set():
    e = _run(eval_loss=_EVAL, loss=_FITTED).series("eval_loss")
    fitted = _run(eval_loss=_EVAL, loss=_FITTED).series("loss")
    close = _run(eval_loss=_EVAL, loss=[0.9, 0.85, 0.8, 0.75, 0.74, 0.73, 0.72, 0.71, 0.70, 0.70]).series("loss")
    flat = _run(eval_loss=_EVAL, loss=[0.1, 0.06, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05]).series("loss")
    assert _trend_level(e, fitted, 3, DEFAULTS) == DEFAULTS.trend_p_fitted == 0.05
    assert _trend_level(e, close, 3, DEFAULTS) == DEFAULTS.trend_p  # no gap: 0.70 x 2 > 1.291
    assert _trend_level(e, flat, 3, DEFAULTS) == DEFAULTS.trend_p  # no fall from the minimum
    assert _trend_level(e, None, 3, DEFAULTS) == DEFAULTS.trend_p  # no training loss logged


def test_synthetic_climb_between_1_and_5_percent_beside_a_fitted_training_set_is_overfitting():
    assert DEFAULTS.trend_p < trend_p_up(np.array(_EVAL[3:])) < DEFAULTS.trend_p_fitted
    (f,) = detect(_run(eval_loss=_EVAL, loss=_FITTED))
    assert f.kind == "overfitting" and f.evidence["eval_min"] == 1.2447


def test_synthetic_twins_stay_silent():
    # the training loss ends within 2x of the held-out loss: no gap, the 1% level stays
    assert not _kinds(_run(eval_loss=_EVAL, loss=[0.9, 0.85, 0.8, 0.75, 0.74, 0.73, 0.72, 0.71, 0.70, 0.70]))
    # a held-out accuracy back at its value at the minimum: over-confidence
    acc = [0.70, 0.72, 0.73, 0.74, 0.73, 0.735, 0.74, 0.745, 0.75, 0.75]
    assert not _kinds(_run(eval_loss=_EVAL, loss=_FITTED, eval_accuracy=acc))
    # the climb out of order beyond 5% (MK p > 0.05)
    shuffled = [1.2882, 1.261, 1.2528, 1.2447, 1.2919, 1.2749, 1.2913, 1.2746, 1.2795, 1.2849]
    assert trend_p_up(np.array(shuffled[3:])) > DEFAULTS.trend_p_fitted
    assert not _kinds(_run(eval_loss=shuffled, loss=_FITTED))


def test_real_t5_climb_beside_a_fitted_training_set_is_overfitting():
    (f,) = real_findings(_T5, "overfitting")
    assert f.severity.rank >= 1 and f.evidence["eval_min"] == 1.2447 and f.start_step == 920


def test_real_xlsr_hindi_climb_is_overfitting():
    (f,) = real_findings(_XLSR_HI, "overfitting")
    assert f.evidence["eval_min"] == 2.3974 and 0.03 < f.evidence["generalization_loss"] < 0.05


def test_real_healthy_twins_stay_silent():
    for rel in (_DISTILBERT_TWIN, _XLSR_LT_TWIN):
        run = lrdoctor.read(real_log(rel))
        v = run.series("eval_loss").finite().values
        i = int(v.size - 1 - np.argmin(v[::-1]))
        assert DEFAULTS.trend_p < trend_p_up(v[i:]) <= DEFAULTS.trend_p_fitted  # the same shape
        assert not real_findings(rel, "overfitting")


def _indobert_swapped(tmp_path, lift: float = 0.0):
    """Stop 62's IndoBERT log (fresh518) with its 7th and 9th validation losses swapped (the same minimum
    2.1436, the same 8% at the end, two pairs out of order after it: exact MK p = 20/720 = 0.028), its
    training losses raised by ``lift``."""
    lines = real_log(_INDOBERT).read_text().splitlines()
    rows = [ln.split() for ln in lines[1:]]
    rows[6][3], rows[8][3] = rows[8][3], rows[6][3]
    for r in rows:
        r[0] = f"{float(r[0]) + lift:.4f}"
    path = tmp_path / "swapped.txt"
    path.write_text("\n".join([lines[0]] + [" ".join(r) for r in rows]) + "\n")
    return lrdoctor.read(path)



def test_stop62_swapped_climb_is_read_at_5_percent_beside_a_fitted_training_set(tmp_path):
    # training loss 1.0681 -> 0.6977 beside a held-out loss of 2.321: fitted apart, p = 0.028 < 5%
    assert {f.kind for f in detect(_indobert_swapped(tmp_path))} == {"overfitting"}
    # the same climb beside a training loss raised by 1.0 (1.6977 at the end, within 2x of 2.321): 1% stays
    assert not _kinds(_indobert_swapped(tmp_path, lift=1.0))
