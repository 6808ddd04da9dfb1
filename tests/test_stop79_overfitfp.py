"""Stop 79 (overfitting's false findings): a DeepXDE test loss that leaves terms uncomputed is no
evaluation loss.

DeepXDE prints, at each display step, the list of loss terms on the training points and the same
list on the test points. Its test points are drawn from the domain's interior unless asked
otherwise, so the boundary and initial-condition terms are never computed there and print as
exactly 0, row after row. The sum of such a test row is the PDE residual alone, while the training
loss sums the residual and the boundary terms: read as the evaluation loss beside that training
total, it showed a "gap" no model has (the residual at initialisation is near 0 while the boundary
terms make the training total 1e4) and the overfitting detector reported it on healthy PINN runs.
The reader now keeps such a sum as ``test_residual``, a column without the evaluation-loss role;
a test row that computed every term is the held-out objective and stays ``test_loss``."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_logs import real_findings, real_log

import lrdoctor
from lrdoctor.io.textlog.named import _unevaluated_on_test

_LOTKA_VOLTERRA = "fresh121/deepxde-85-lotka-volterra/train.log"  # healthy
_BATCHNORM = "fresh164/deepxde-69-batchnorm-two-stage/paste.txt"  # healthy
_BC_TEST_LOSS = "fresh121/deepxde-2073-bc-test-loss/train.log"  # edge, labelled overfitting
_JAX_TRANSFORM = "fresh801/deepxde-pr1705-jax-transform/paste.log"  # healthy, every term tested

_HEADER = "Step      Train loss                        Test loss                         Test metric\n"


def _write(path: Path, rows: list[tuple[int, list[float], list[float]]]) -> Path:
    def terms(xs: list[float]) -> str:
        return "[" + ", ".join(f"{x:.2e}" for x in xs) + "]"

    path.write_text(_HEADER + "".join(f"{s:<10d}{terms(a)}    {terms(b)}    []  \n" for s, a, b in rows))
    return path


def test_a_test_term_printed_zero_beside_a_positive_training_term_is_uncomputed():
    assert _unevaluated_on_test([3.75e-02, 1.59, 1.0e04, 2.25e02], [3.72e-02, 1.59, 0.0, 0.0])
    # every term computed on both sides, or a term that is 0 on both: a measurement
    assert not _unevaluated_on_test([1.2e-03, 2.2e-04], [1.3e-03, 7.5e-03])
    assert not _unevaluated_on_test([0.0, 2.77e02, 1.57e02], [0.0, 2.77e02, 1.57e02])
    # lists of different lengths are not term for term
    assert not _unevaluated_on_test([1.0, 2.0], [1.0])


def test_synthetic_pinn_whose_residual_rises_from_init_is_no_overfitting(tmp_path):
    # the residual term rises from a near-0 init on both sides alike while the boundary term, on the
    # training points only, falls by orders of magnitude: the training total falls, the test sum rises
    res = [0.04, 30.0, 20.0, 14.0, 11.0, 9.0, 8.0]
    bc = [1.0e04, 300.0, 50.0, 9.0, 2.0, 0.5, 0.1]
    rows = [(1000 * k, [r, b], [r * 1.01, 0.0]) for k, (r, b) in enumerate(zip(res, bc))]
    run = lrdoctor.read(_write(tmp_path / "pinn.log", rows))
    assert "eval_loss" not in run.meta.roles
    assert run.series("test_residual").values.tolist() == pytest.approx([r * 1.01 for r in res], rel=1e-2)
    assert run.series("loss").values[0] == pytest.approx(0.04 + 1.0e04, rel=1e-2)
    assert "overfitting" not in {f.kind for f in lrdoctor.diagnose(run).findings}
    # the same rows with the boundary term computed on the test points too: the held-out objective,
    # read as the evaluation loss
    full = lrdoctor.read(_write(tmp_path / "full.log", [(s, a, [a[0] * 1.01, a[1]]) for s, a, _ in rows]))
    assert full.meta.roles["eval_loss"] == "test_loss"


@pytest.mark.parametrize("rel", [_LOTKA_VOLTERRA, _BATCHNORM])
def test_real_healthy_pinns_read_without_an_evaluation_loss_and_no_overfitting(rel):
    run = lrdoctor.read(real_log(rel))
    assert "eval_loss" not in run.meta.roles and "test_residual" in run
    assert not real_findings(rel, "overfitting")


def test_real_lotka_volterra_test_residual_tracks_the_training_residual():
    # the test row's first term is the training row's first term on other points: 3.72e-02 beside
    # 3.75e-02 at init, 3.00e+02 beside 2.92e+02 at step 1000 (the model's one objective term)
    run = lrdoctor.read(real_log(_LOTKA_VOLTERRA))
    assert run.series("test_residual").values[:2].tolist() == pytest.approx([3.72e-02 + 1.59, 3.00e02 + 3.39e01])


def test_real_twins_whose_test_computed_every_term_keep_their_evaluation_loss():
    # a DeepXDE run whose test points hold the boundary terms too (issue 2073: every test term
    # non-zero) keeps its labelled overfitting; a healthy one (PR 1705) keeps its test loss and stays silent
    run = lrdoctor.read(real_log(_BC_TEST_LOSS))
    assert run.meta.roles["eval_loss"] == "test_loss"
    assert real_findings(_BC_TEST_LOSS, "overfitting")
    healthy = lrdoctor.read(real_log(_JAX_TRANSFORM))
    assert healthy.meta.roles["eval_loss"] == "test_loss"
    assert not real_findings(_JAX_TRANSFORM, "overfitting")
