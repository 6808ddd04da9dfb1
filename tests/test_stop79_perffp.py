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
