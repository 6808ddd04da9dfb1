"""The benchmark's log files as tests may read them.

A lead engineer measuring a blind slice (issue 9) names it in ``LRDOCTOR_BENCH_BLIND`` (slice
names separated by spaces) so that no local test run reads it, and no failing assertion prints
one of its ids before the one measurement. CI leaves the variable unset and checks every slice.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["LOGS", "blind_slices", "is_blind", "real_log", "real_findings", "benchmark_files", "manifests"]

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"


def blind_slices() -> frozenset[str]:
    return frozenset(os.environ.get("LRDOCTOR_BENCH_BLIND", "").split())


def is_blind(path: Path) -> bool:
    """Whether ``path`` (a file under ``LOGS``) belongs to a slice still blind."""
    blind = blind_slices()
    if not blind:
        return False
    rel = path.resolve().relative_to(LOGS.resolve()).parts
    return rel[0] in blind or rel[0].removeprefix("manifest_").removesuffix(".yaml") in blind


def real_log(rel: str) -> Path:
    """``LOGS / rel`` for a test to read; the test is skipped while that slice is blind."""
    import pytest

    path = LOGS / rel
    if is_blind(path):
        pytest.skip(f"{rel.split('/')[0]} is being measured blind")
    return path


def real_findings(rel: str, kind: str) -> list:
    """The ``kind`` findings lrdoctor reports on the benchmark log ``rel`` (read in place)."""
    import lrdoctor

    return [f for f in lrdoctor.diagnose(lrdoctor.read(real_log(rel))).findings if f.kind == kind]


def benchmark_files(pattern: str = "*") -> list[Path]:
    """Files under the benchmark folder matching ``pattern``, blind slices left out."""
    return sorted(p for p in LOGS.rglob(pattern) if p.is_file() and not is_blind(p))


def manifests() -> list[Path]:
    return [m for m in benchmark_files("manifest_*.yaml") if m.parent == LOGS]
