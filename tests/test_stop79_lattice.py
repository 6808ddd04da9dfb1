"""The evaluation-set lattice search stays bounded however finely a log prints its accuracy.

Before stop 79 the search tried every n up to LATTICE_CHANCE / (2 x rounding), one row per n at
once: 5e10 rows (hundreds of GiB) for float32 accuracies printed to 17 digits, as JAX and Equinox
notebooks print them. The reversal detector's noise guard calls it on any accuracy it judges."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import lrdoctor
from lrdoctor.detect._stats import LATTICE_MAX_N, evaluation_set_size

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"


def test_a_lattice_is_still_found_at_four_decimals():
    # 82/112, 88/112, 86/112 and 84/112 (PROTEINS' 112 test graphs) print as these four values
    assert evaluation_set_size(np.array([0.7321, 0.7857, 0.7679, 0.7500]), 4) == 56
    assert evaluation_set_size(np.array([82, 88, 86, 85]) / 112, 4) == 112


def test_finely_printed_values_search_at_most_a_million_examples():
    # 10 decimals would allow n up to 5e8 by LATTICE_CHANCE; the search stops at LATTICE_MAX_N
    shares = np.array([3, 7, 11, 13]) / 250_000
    assert evaluation_set_size(shares, 10) == 250_000
    beyond = np.array([3, 7, 11, 13]) / (LATTICE_MAX_N + 7)
    assert evaluation_set_size(beyond, 12) is None


def test_a_float32_accuracy_printed_to_17_digits_is_read_without_running_out_of_memory():
    path = LOGS / "fresh157" / "eqx-mnist-cnn-notebook" / "notebook_output.txt"
    run = lrdoctor.read(path)
    col = run.meta.roles["eval_accuracy"]
    assert run.meta.printed_decimals[col] == 17
    acc = run.series("eval_accuracy").finite().values
    # MNIST's 10,000 test images, but float32 rounding (1e-8) is far above 17-digit printing
    assert evaluation_set_size(acc, run.meta.printed_decimals[col]) is None
