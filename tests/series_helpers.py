"""Small builders the rule tests share: a run from equal-length columns, and one kind's findings.

Each stop's rule tests (tests/test_stopNN_*.py) used to carry their own copy of these two helpers."""

from __future__ import annotations

from functools import partial

import numpy as np

__all__ = ["columns_run", "findings_of", "divergence_findings"]


def columns_run(**cols: list[float]):
    """A run whose columns are the given equal-length lists, at steps 1..n (one row per report)."""
    from lrdoctor.run import build_run

    n = len(next(iter(cols.values())))
    return build_run(np.arange(1.0, n + 1), {k: np.asarray(v, float) for k, v in cols.items()})


def findings_of(report, kind: str) -> list:
    """The findings of one kind in a report, in the report's order."""
    return [f for f in report.findings if f.kind == kind]


divergence_findings = partial(findings_of, kind="divergence")
