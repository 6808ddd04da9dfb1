"""Stop 80 (slowfp): a guess's accuracy read on an HF card that prints no trailing zeros.

Stop 79 dropped a ``performance_reversal`` whose accuracy never left a guess's noise while
``slow_progress`` finds the loss at ln K (``_guessed_throughout``): the band is ``noise_k`` binomial
standard errors about chance 1/K on an evaluation set of n examples, n read from the lattice the
printed values lie on. The lattice needs the printed decimals, and a reader records them only where
a float forgets them (trailing zeros: "0.4600"). An HF card's table prints 0.125 and 0.075, so no
decimals were recorded, n was never read and the guard never spoke: the MiniLM head on 8 classes its
own docstring cites (loss at ln 8, accuracy 0.125 then 0.075 for ten epochs, 5 and 3 of 40) kept its
false reversal. The guard now reads n at the decimals the values show (``shown_decimals``): at most
as many as were printed, so the tolerance only widens and the n found is at most the true one (the
band at least the true noise). Only in that guard, where the loss at ln K already proves nothing
was learned: the sampling-noise guard of a learned level keeps the reader's decimals."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from bench_logs import real_log

import lrdoctor
from lrdoctor.detect._stats import evaluation_set_size, shown_decimals
from lrdoctor.detect.rl.returns import DEFAULTS, _accuracy_set_size, _guessed_throughout

#: MiniLM head on 8 classes, labelled slow_progress: validation loss 2.0791-2.0829 (ln 8 = 2.0794),
#: accuracy 0.125 at epoch 1, then 0.075 at ten epochs (5, then 3 of 40)
_MINILM_8 = "fresh670/antoined-minilm-classifier-only-fr/training_results.md"
#: BERT on WNLI, labelled slow_progress and performance_reversal: accuracy 39, 40, then 23, 21, 19
#: of 71 at a loss at ln 2, printed 0.5493 ... 0.2676 (no trailing zeros): ends beyond the band
_BERT_WNLI = "fresh443/jinghan-bert-wnli/training_results.md"
#: healthy twin: an HF card of the same table, a two-class task that learns (QNLI, accuracy 0.72 -> 0.80)
_HEALTHY_QNLI = "fresh869/tiny-mlm-wnli-target-qnli/training_results.md"

_LN8 = math.log(8.0)


def _card(tmp_path: Path, accuracies: tuple[str, ...]) -> str:
    """An HF card of len(accuracies) epochs, its validation loss at ln 8, its accuracy printed as given."""
    rows = ["Training Loss | Epoch | Step | Validation Loss | Accuracy |", "---|---|---|---|---|"]
    rows += [f"No log | {e + 1}.0 | {7 * (e + 1)} | {_LN8 + 0.0003 * e:.4f} | {a} |" for e, a in enumerate(accuracies)]
    path = tmp_path / "README.md"
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def _findings(path: str | Path, kind: str, config: dict | None = None) -> list:
    return [f for f in lrdoctor.diagnose(lrdoctor.read(path, config=config)).findings if f.kind == kind]


def test_shown_decimals_and_the_lattice_they_give():
    assert shown_decimals(np.array([0.125, 0.075, 0.075])) == 3
    assert shown_decimals(np.array([0.5, 1.0, np.nan])) == 1
    assert shown_decimals(np.array([1.0, 2.0])) == 0
    assert shown_decimals(np.array([1e-7])) is None  # an exponent: no decimals to read
    assert evaluation_set_size(np.array([0.125, 0.075]), 3, 2) == 40  # 5 and 3 of 40
    band = DEFAULTS.noise_k * math.sqrt((1 / 8) * (7 / 8) / 40)
    assert abs(band - 0.157) < 1e-3  # 1/8 +- 0.157: 0.125 and 0.075 both inside


def test_a_card_without_trailing_zeros_gives_its_set_size_to_the_guard_alone(tmp_path):
    run = lrdoctor.read(_card(tmp_path, ("0.125",) + ("0.075",) * 10))
    v = run.series("eval_accuracy").finite().values
    assert run.meta.printed_decimals.get(run.meta.roles.get("eval_accuracy", "eval_accuracy")) is None
    assert _accuracy_set_size(run, "eval_accuracy", v, DEFAULTS.short_lattice_values) is None
    assert _accuracy_set_size(run, "eval_accuracy", v, DEFAULTS.short_lattice_values, shown=True) == (40, 1.0)
    assert _guessed_throughout(run, "eval_accuracy", v, 0.125, 0.075, DEFAULTS)


def test_a_guess_on_a_card_without_trailing_zeros_is_no_reversal(tmp_path):
    assert _findings(_card(tmp_path, ("0.125",) + ("0.075",) * 10), "performance_reversal") == []


def test_real_minilm_on_8_classes_keeps_its_stuck_error_and_no_reversal():
    assert _findings(real_log(_MINILM_8), "performance_reversal") == []
    stuck = _findings(real_log(_MINILM_8), "slow_progress")
    assert stuck and stuck[0].severity.name == "ERROR" and stuck[0].evidence.get("ln_k") is not None


def test_real_bert_on_wnli_reads_71_pairs_and_keeps_its_reversal():
    # the twin of the same table and no trailing zeros: n = 71 is read, and the fall to 19 of 71
    # ends 0.23 below chance, beyond the band of 0.178: systematically wrong, still a reversal
    run = lrdoctor.read(real_log(_BERT_WNLI), config={"num_classes": 2})
    v = run.series("eval_accuracy").finite().values
    assert _accuracy_set_size(run, "eval_accuracy", v, DEFAULTS.short_lattice_values, shown=True) == (71, 1.0)
    assert _findings(real_log(_BERT_WNLI), "performance_reversal", {"num_classes": 2})


def test_healthy_twin_stays_silent():
    report = lrdoctor.diagnose(lrdoctor.read(real_log(_HEALTHY_QNLI)))
    assert [f for f in report.findings if f.severity.rank >= 1] == []
