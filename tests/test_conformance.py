"""Conformance of every registered finding kind, in the spirit of scikit-learn's check_estimator.

Walks the registry, so a new kind module is checked without editing this file:
kinds = detectors = fix rules = documented kinds; every threshold cites its source and is
validated; detectors are pure and deterministic; empty and 3-point runs do not crash;
findings carry their own kind, evidence and a fix rule that runs; the generated reference
page matches the registry.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pytest

import lrdoctor
from lrdoctor.detect import DETECTORS, FIX_RULES, SPECS, CannotJudge, Thresholds
from lrdoctor.detect.reference import field_docs, render
from lrdoctor.finding import KINDS, all_kinds
from lrdoctor.prescribe import prescribe

ROOT = Path(__file__).resolve().parents[1]
TUNING = sorted(p for p in (ROOT / "bench" / "detection_logs" / "tuning").rglob("*") if p.is_file())
KIND_LIST = sorted(SPECS)


def test_kinds_equal_detectors_equal_fix_rules_equal_docs():
    assert set(KINDS) <= set(all_kinds())  # the first release's vocabulary is never shrunk
    assert set(all_kinds()) == set(SPECS) == set(DETECTORS) == set(FIX_RULES)
    narrative = (ROOT / "docs" / "findings.md").read_text() + (ROOT / "docs" / "reference" / "kinds.md").read_text()
    missing = [k for k in all_kinds() if f"`{k}`" not in narrative and f"## {k}" not in narrative and f"### {k}" not in narrative]
    assert not missing, f"kinds not described in the docs: {missing}"


def test_generated_reference_is_current():
    page = (ROOT / "docs" / "reference" / "kinds.md").read_text()
    assert page == render(), "docs/reference/kinds.md is stale: python -m lrdoctor.detect.reference > docs/reference/kinds.md"


@pytest.mark.parametrize("kind", KIND_LIST)
def test_every_threshold_is_documented_with_a_reason(kind):
    th = SPECS[kind].defaults
    assert isinstance(th, Thresholds)
    docs = field_docs(type(th))
    for f in dataclasses.fields(th):
        assert len(docs.get(f.name, "")) >= 20, f"{type(th).__name__}.{f.name} has no docstring saying why"


@pytest.mark.parametrize("kind", KIND_LIST)
def test_thresholds_are_validated_in_scikit_learn_voice(kind):
    th = SPECS[kind].defaults
    numeric = [f for f in dataclasses.fields(th) if type(getattr(th, f.name)) in (int, float)]
    assert numeric, "a detector without a numeric threshold"
    f = numeric[0]
    with pytest.raises(ValueError, match=rf"The '{f.name}' parameter of {type(th).__name__} must be"):
        dataclasses.replace(th, **{f.name: -1})
    with pytest.raises(ValueError, match="Got 'x' instead"):
        dataclasses.replace(th, **{f.name: "x"})


def test_unknown_kind_or_wrong_type_in_overrides_is_an_error(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("step,loss\n" + "".join(f"{i},{1 / (i + 1)}\n" for i in range(20)))
    with pytest.raises(ValueError, match="unknown kind 'divergnce'"):
        lrdoctor.diagnose(p, thresholds={"divergnce": SPECS["divergence"].defaults})
    with pytest.raises(TypeError, match="must be a DivergenceThresholds"):
        lrdoctor.diagnose(p, thresholds={"divergence": SPECS["plateau"].defaults})


def _snapshot(run):
    return (run.steps.copy(), {k: v.copy() for k, v in run.metrics.items()},
            {k: v.copy() for k, v in run.logged.items()}, copy.deepcopy(run.config))


def _same(a, b):
    return (np.array_equal(a[0], b[0], equal_nan=True) and a[1].keys() == b[1].keys()
            and all(np.array_equal(a[1][k], b[1][k], equal_nan=True) for k in a[1])
            and all(np.array_equal(a[2][k], b[2][k]) for k in a[2]) and a[3] == b[3])


@pytest.fixture(scope="module")
def real_runs():
    runs = []
    for p in TUNING:
        try:
            runs.append(lrdoctor.read(p))
        except lrdoctor.InputError:
            continue
    assert len(runs) >= 20
    return runs


@pytest.mark.parametrize("kind", KIND_LIST)
def test_detector_is_pure_deterministic_and_findings_are_its_own(kind, real_runs):
    spec = SPECS[kind]
    for run in real_runs:
        if spec.requirement(run) is not None:
            continue
        before = _snapshot(run)
        first, second = _judged(spec, run), _judged(spec, run)
        assert _same(before, _snapshot(run)), f"{kind} changed the run {run.meta.source}"
        if isinstance(first, str):  # it could not judge: the same reason both times, one that says why
            assert first == second and first.strip(), f"{kind} on {run.meta.source}: {first!r} then {second!r}"
            continue
        assert [f.to_dict() for f in first] == [f.to_dict() for f in second]
        for f in first:
            assert f.kind == kind and f.evidence, f"{kind}: finding without its kind or evidence on {run.meta.source}"
            assert type(f.evidence) is spec.evidence and spec.evidence.schema, f"{kind}: no declared evidence schema"
            assert not f.evidence.problems, f.evidence.problems
            assert set(f.to_dict()["evidence"]) == set(f.evidence)  # the JSON keeps every key
            filled = prescribe(run, f)
            assert filled is not f and not f.fixes and (filled.fixes or filled.watch)


@pytest.mark.parametrize("kind", KIND_LIST)
@pytest.mark.parametrize("n", [0, 1, 3])
def test_tiny_runs_do_not_crash(kind, n, tmp_path):
    spec = SPECS[kind]
    cols = "step,loss,eval_loss,lr,grad_norm,approx_kl,entropy,explained_variance,q_values,ep_return,update_ratio,cycle\n"
    rows = "".join(f"{i},{2.0 - i * 0.1},{2.1},{1e-3},{1.0 + i},{0.01},{0.5},{0.3},{1.0},{float(i)},{1e-3},{i}\n" for i in range(n))
    p = tmp_path / "tiny.csv"
    p.write_text(cols + rows)
    try:
        run = lrdoctor.read(p, config={"num_classes": 10, "label_smoothing": 0.1, "model": "gru", "max_grad_norm": 1.0})
    except lrdoctor.InputError:
        assert n == 0
        return
    got = _judged(spec, run)
    for f in [] if isinstance(got, str) else got:
        assert f.kind == kind


def _judged(spec, run):
    """The detector's findings, or the reason it gave for not judging (:class:`CannotJudge`)."""
    try:
        return spec.detect(run, spec.defaults)
    except CannotJudge as why:
        return str(why)
