"""Stop 79 (perffp): no performance_reversal from the accuracy of a model that never learned.

A reversal needs a learned level to lose. When ``slow_progress`` finds the loss at ln K over the
whole log (stuck at chance: the model predicts near-uniformly) and the accuracy's best and last
reports both lie within ``noise_k`` (3) binomial standard errors of chance 1/K on its evaluation set
(n read from the printed values' lattice), its peak and its fall are the noise of a guess: ALBERT-
xlarge on WNLI's 71 dev pairs, its validation loss at ln 2 throughout, accuracy 0.5070, 0.5634,
0.5352, 0.4225, 0.3803, all inside 0.5 +- 0.178. The short-log rule already refused a model whose
loss never left ln K; the few-point and trend rules now ask the same, with the evaluation set's
noise as the proof. An accuracy that ends beyond that band below chance answers systematically
wrong, something learned, and stays a reversal (BERT on WNLI: 0.5634, then 0.3239, 0.2958, 0.2676).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_logs import real_findings, real_log

import lrdoctor
from lrdoctor.detect.rl.returns import DEFAULTS, _guessed_throughout

#: ALBERT-xlarge on WNLI: validation loss 0.6869-0.7011 (ln 2), accuracy 36, 40, 38, 30, 27 of 71
_ALBERT_WNLI = "fresh168/hfcard-anirudh21-albert-xlarge-wnli/training_results.md"
#: BERT on WNLI, labelled performance_reversal: accuracy 39, 40, then 23, 21, 19 of 71 at a loss at ln 2
_BERT_WNLI = "fresh443/jinghan-bert-wnli/training_results.md"
#: healthy twin: an HF card of the same table, a two-class task that learns (QNLI, accuracy 0.72 -> 0.80)
_HEALTHY_QNLI = "fresh869/tiny-mlm-wnli-target-qnli/training_results.md"

_LOSSES = (0.6906, 0.6869, 0.6905, 0.6960, 0.7011)


def _card(tmp_path: Path, correct: tuple[int, ...], n: int = 71) -> str:
    """An HF card of five epochs, its validation loss at ln 2, its accuracy ``correct`` of ``n``."""
    rows = ["| Training Loss | Epoch | Step | Validation Loss | Accuracy |", "|:---:|:---:|:---:|:---:|:---:|"]
    rows += [f"| No log | {e + 1}.0 | {40 * (e + 1)} | {loss:.4f} | {k / n:.4f} |"
             for e, (loss, k) in enumerate(zip(_LOSSES, correct))]
    path = tmp_path / "README.md"
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def _reversals(path: str) -> list:
    return [f for f in lrdoctor.diagnose(lrdoctor.read(path)).findings if f.kind == "performance_reversal"]


def _two_class(rel: str, kind: str) -> list:
    """The ``kind`` findings on the benchmark log ``rel`` read with its manifest's config (2 classes)."""
    run = lrdoctor.read(real_log(rel), config={"num_classes": 2})
    return [f for f in lrdoctor.diagnose(run).findings if f.kind == kind]


def test_band_is_three_binomial_errors_about_chance(tmp_path):
    run = lrdoctor.read(_card(tmp_path, (36, 40, 38, 30, 27)))
    v = run.series("eval_accuracy").finite().values
    band = 3 * np.sqrt(0.5 * 0.5 / 71)  # 0.178 on 71 pairs
    assert abs(band - 0.178) < 1e-3
    assert _guessed_throughout(run, "eval_accuracy", v, 40 / 71, 27 / 71, DEFAULTS)  # 0.120 below chance
    assert not _guessed_throughout(run, "eval_accuracy", v, 40 / 71, 22 / 71, DEFAULTS)  # 0.190 below: beyond
    assert not _guessed_throughout(run, "eval_accuracy", v, 49 / 71, 36 / 71, DEFAULTS)  # best 0.19 above: learned


def test_a_guess_that_wandered_within_the_band_is_no_reversal(tmp_path):
    assert _reversals(_card(tmp_path, (36, 40, 38, 30, 27))) == []


def test_a_fall_beyond_the_band_below_chance_stays_a_reversal(tmp_path):
    assert _reversals(_card(tmp_path, (39, 40, 23, 21, 19)))


def test_real_albert_on_wnli_keeps_its_stuck_error_and_no_reversal():
    for read in (real_findings, _two_class):  # the config's class count, or K read from the loss at ln 2
        assert read(_ALBERT_WNLI, "performance_reversal") == []
        stuck = read(_ALBERT_WNLI, "slow_progress")
        assert stuck and stuck[0].evidence.get("ln_k") is not None


def test_real_bert_on_wnli_still_reverses_beside_its_stuck_error():
    assert _two_class(_BERT_WNLI, "performance_reversal")
    assert _two_class(_BERT_WNLI, "slow_progress")


def test_healthy_twin_stays_silent():
    report = lrdoctor.diagnose(lrdoctor.read(real_log(_HEALTHY_QNLI)))
    assert [f for f in report.findings if f.severity.rank >= 1] == []


# -- the overfitting fold reads where the score began to fall ---------------------------------------
#
# A reversal is left to an overfitting of the same run when the score turned after the held-out loss
# did: until stop 79, a peak at or after the loss's minimum (the fall then begins after it). The
# peak the rule places is not always the last report of the top: the trend rule's rolling median
# ties over a top that the reports held or bettered (an IMDB dense net: val_acc 0.8870, 0.8897,
# 0.8899 at epochs 4-6, the smoothed top read as a peak at epoch 4), and one overfitting became two
# findings. The few-point and trend rules now report ``fall_step`` (the first report below every one
# from the peak up to it), and the fold asks that it come after the loss's minimum: the same
# ordering, read where the fall begins. No new threshold.

from lrdoctor.detect import filter_findings  # noqa: E402
from lrdoctor.detect.rl.returns import first_fall  # noqa: E402
from lrdoctor.finding import Finding, Severity  # noqa: E402

#: Keras IMDB 4-4-1 dense net: val_acc best 0.8899 at epoch 6 (validation loss's minimum 0.2772), then down to 0.8617
_IMDB_SMALL = "fresh52/dlwp1-imdb-dense4-smaller/fit.log"
#: the twin, labelled both: SetFit distilbert on hate_speech_offensive, accuracy 0.8 at epoch 7, 0.7 from epoch 8
#: (the validation loss's minimum) and 0.6 from epoch 11: the score fell before the loss rose, a reversal of its own
_SETFIT_HSO = "fresh263/setfit-hso-train-16-1/training_results.md"


def _fold(peak_step: float, fall_step: float | None, eval_min_step: float = 6.0) -> bool:
    """Whether filter_findings drops a reversal (accuracy 0.889 -> 0.862) beside an overfitting."""
    over = Finding("overfitting", Severity.WARNING, eval_min_step, 20.0, "", {"eval_min_step": eval_min_step})
    ev = {"metric": "val_acc", "peak_step": peak_step, "peak": 0.889, "start": 0.86, "end": 0.862}
    if fall_step is not None:
        ev["fall_step"] = fall_step
    rev = Finding("performance_reversal", Severity.WARNING, peak_step, 20.0, "", ev)
    return "performance_reversal" not in {f.kind for f in filter_findings([over, rev])}


def test_first_fall_skips_a_top_held_or_bettered():
    v = np.array([0.8616, 0.8776, 0.8860, 0.8870, 0.8897, 0.8899, 0.8863, 0.8850])
    assert first_fall(v, 3) == 6  # 0.8897 and 0.8899 are no fall from 0.8870; 0.8863 is
    assert first_fall(np.array([0.6267, 0.6267, 0.6267, 0.6267, 0.5733, 0.58]), 0) == 4
    assert first_fall(np.array([0.5, 0.7, 0.6]), 1) == 2


def test_fold_asks_the_fall_after_the_loss_minimum():
    assert _fold(4.0, 7.0)  # the rule's peak before the minimum, the fall after it: one turn
    assert not _fold(4.0, 6.0)  # fell at the minimum's evaluation, while the held-out loss still improved
    assert not _fold(4.0, 5.0)
    assert _fold(6.0, None) and not _fold(4.0, None)  # a rule with no fall_step: its peak, as before


def test_real_imdb_overfitting_keeps_one_finding():
    assert real_findings(_IMDB_SMALL, "overfitting")
    assert real_findings(_IMDB_SMALL, "performance_reversal") == []
    # (the trend rule still reads the reversal itself: it is the fold that leaves it to the overfitting)
    run = lrdoctor.read(real_log(_IMDB_SMALL))
    from lrdoctor.detect.rl.returns import detect_reversal

    (rev,) = detect_reversal(run)
    assert rev.evidence["peak_step"] < 6 < rev.evidence["fall_step"]


def test_real_twin_that_fell_before_the_loss_rose_keeps_its_reversal():
    assert real_findings(_SETFIT_HSO, "overfitting")
    (rev,) = real_findings(_SETFIT_HSO, "performance_reversal")
    assert rev.evidence["fall_step"] == 80
