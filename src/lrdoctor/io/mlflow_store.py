"""MLflow runs: the local file store (``mlruns/``), read without importing mlflow.

A file-store run is a folder ``mlruns/<experiment_id>/<run_id>/`` holding ``meta.yaml``,
``metrics/<key>`` (one ``timestamp value step`` line per logged point; a key with ``/``
is a sub-folder) and ``params/<key>`` (the value as text). Metric keys keep their names
and are matched to roles through the alias table (:mod:`lrdoctor.names`); params become
the run's config, numbers parsed. :func:`points_to_run` is shared with the tracking-server
reader (:mod:`lrdoctor.io.mlflow_server`), so both give the same run for the same points.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lrdoctor.errors import LogFormatError, printable
from lrdoctor.run import Run, RunMeta, build_run

__all__ = [
    "MAX_METRIC_FILES",
    "MAX_METRIC_FILE_BYTES",
    "MetricPoints",
    "is_experiment_dir",
    "is_run_dir",
    "is_store",
    "parse_param",
    "points_to_run",
    "read_mlflow_run_dir",
    "run_dirs",
    "run_name",
]

#: Most metric files read from one run. Real runs log tens of keys; per-layer statistics of a
#: deep model a few hundred. 4096 matches :data:`lrdoctor.io.limits.MAX_COLUMNS`, the bound on
#: a table's columns, so an MLflow run is bounded like any other log.
MAX_METRIC_FILES = 4096

#: Largest metric file read (bytes). A point is ~35 bytes ("1796129639945 0.3333 2"), so
#: 256 MiB is ~7M points of one metric: 70x a 100k-step run logged every step. Larger files
#: are refused in one line rather than read for minutes.
MAX_METRIC_FILE_BYTES = 256 << 20


@dataclass
class MetricPoints:
    """One MLflow metric's history in logging order (``timestamps`` in ms since the epoch)."""

    steps: np.ndarray
    values: np.ndarray
    timestamps: np.ndarray


def parse_param(text: str) -> Any:
    """An MLflow param (always stored as text) as the value it was: ``"0.1"`` -> 0.1,
    ``"32"`` -> 32, ``"True"`` -> True, ``"None"`` -> None; anything else stays text."""
    s = text.strip()
    low = s.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        return text


def points_to_run(points: Mapping[str, MetricPoints], meta: RunMeta, config: Mapping[str, Any]) -> Run:
    """The run of MLflow metric histories: one step axis, the union of all metrics' steps.

    MLflow logs step 0 when the caller gives no step; a metric whose points (two or more)
    all share one step was logged that way, and its points are indexed by logging order
    instead (with a warning). At a repeated step the point logged last wins, as in every
    reader (:func:`lrdoctor.run.build_run`).
    """
    per_metric: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key, pts in points.items():
        if pts.values.size == 0:
            continue
        steps = pts.steps.astype(np.float64)
        if pts.values.size >= 2 and np.all(steps == steps[0]):
            order = np.argsort(pts.timestamps, kind="stable")
            steps = np.empty(order.size)
            steps[order] = np.arange(order.size, dtype=np.float64)
            meta.warnings.append(f"metric {printable(key)!r} was logged without steps (all at step "
                                 f"{pts.steps[0]:g}): its points are indexed in logging order")
        # the last point logged at each step: unique over the reversed history
        rev_steps, rev_vals = steps[::-1], pts.values[::-1]
        uniq, first = np.unique(rev_steps, return_index=True)
        per_metric[key] = (uniq, rev_vals[first].astype(np.float64))
    if not per_metric:
        why = f" ({meta.warnings[0]})" if meta.warnings else ""
        raise LogFormatError(meta.source, f"the MLflow run has no logged metric points{why}")
    axis = np.unique(np.concatenate([s for s, _ in per_metric.values()]))
    columns: dict[str, np.ndarray] = {}
    logged: dict[str, np.ndarray] = {}
    for key, (s, v) in per_metric.items():
        pos = np.searchsorted(axis, s)
        col = np.full(axis.size, np.nan)
        mask = np.zeros(axis.size, dtype=bool)
        col[pos], mask[pos] = v, True
        columns[key], logged[key] = col, mask
    return build_run(axis, columns, logged, meta=meta, config=config)


# --- the local file store --------------------------------------------------------------

def is_run_dir(path: Path) -> bool:
    """A file-store run folder: ``meta.yaml`` beside a ``metrics/`` folder."""
    return (path / "meta.yaml").is_file() and (path / "metrics").is_dir()


def is_experiment_dir(path: Path) -> bool:
    """A file-store experiment folder: ``meta.yaml`` and run folders, no ``metrics/``."""
    return (path / "meta.yaml").is_file() and not (path / "metrics").is_dir() and any(
        is_run_dir(c) for c in _subdirs(path))


def is_store(path: Path) -> bool:
    """An ``mlruns/`` store root: experiment folders (``0/``, ``547839726897645755/``) below it."""
    return not (path / "meta.yaml").is_file() and any(is_experiment_dir(c) for c in _subdirs(path))


def _subdirs(path: Path) -> Iterable[Path]:
    try:
        return sorted(c for c in path.iterdir() if c.is_dir() and not c.is_symlink() and not c.name.startswith("."))
    except OSError:
        return []


def run_dirs(path: Path) -> list[Path]:
    """The run folders of a store root, an experiment folder or a run folder (sorted).

    ``.trash`` (deleted runs) is skipped, as the MLflow UI does."""
    if is_run_dir(path):
        return [path]
    if is_experiment_dir(path):
        return [c for c in _subdirs(path) if is_run_dir(c)]
    return [r for e in _subdirs(path) if is_experiment_dir(e) for r in run_dirs(e)]


def run_name(run_dir: Path) -> str | None:
    """The run's name from ``meta.yaml`` (``run_name``), or None."""
    from lrdoctor.safe_yaml import load_yaml

    try:
        meta = load_yaml((run_dir / "meta.yaml").read_text(encoding="utf-8", errors="replace"))
    except Exception:  # a torn meta.yaml costs only the name
        return None
    name = meta.get("run_name") if isinstance(meta, dict) else None
    return printable(name) if isinstance(name, str) and name else None


def _read_metric_file(file: Path, key: str, warnings: list[str]) -> MetricPoints:
    size = file.stat().st_size
    if size > MAX_METRIC_FILE_BYTES:
        raise LogFormatError(file, f"metric file is {size / 2**20:.0f} MiB; files over "
                                   f"{MAX_METRIC_FILE_BYTES >> 20} MiB are refused")
    ts: list[float] = []
    vals: list[float] = []
    steps: list[float] = []
    bad: list[int] = []
    fields = 0  # the file's line width, from its first line: a shorter line was torn
    with open(file, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            fields = fields or len(parts)
            if len(parts) < fields:
                bad.append(lineno)
                continue
            try:
                # "timestamp value step" (MLflow >= 1.0); "timestamp value" before it
                t, v = float(parts[0]), float(parts[1])
                s = float(parts[2]) if len(parts) > 2 else 0.0
            except (ValueError, IndexError):
                bad.append(lineno)
                continue
            ts.append(t)
            vals.append(v)
            steps.append(s)
    if bad:
        warnings.append(f"metrics/{printable(key)}:{bad[0]}: {len(bad)} line(s) are not "
                        "'timestamp value step' and were skipped")
    return MetricPoints(np.asarray(steps), np.asarray(vals, dtype=np.float64), np.asarray(ts))


def _key_files(folder: Path, limit: int) -> list[tuple[str, Path]]:
    """``(key, file)`` for every file under ``folder``; a key with ``/`` is a sub-folder."""
    out: list[tuple[str, Path]] = []
    for f in sorted(folder.rglob("*")):
        if f.is_file() and not f.is_symlink():
            out.append((f.relative_to(folder).as_posix(), f))
            if len(out) > limit:
                raise LogFormatError(folder, f"more than {limit} files; runs with more metrics are refused")
    return out


def read_mlflow_run_dir(path: Path) -> Run:
    """One file-store run (``path`` is the run folder, or a store/experiment holding one run)."""
    runs = run_dirs(path)
    if not runs:
        raise LogFormatError(path, "no MLflow run folder (meta.yaml beside metrics/) here")
    if len(runs) > 1:
        names = ", ".join(r.name for r in runs[:4]) + (", ..." if len(runs) > 4 else "")
        raise LogFormatError(path, f"holds {len(runs)} MLflow runs ({names}); pass one run folder, "
                                   "or run `lrdoctor diagnose` on the folder to diagnose each")
    run_dir = runs[0]
    meta = RunMeta(source=str(run_dir), format="mlflow")
    points = {key: _read_metric_file(f, key, meta.warnings)
              for key, f in _key_files(run_dir / "metrics", MAX_METRIC_FILES)}
    config: dict[str, Any] = {}
    if (run_dir / "params").is_dir():
        for key, f in _key_files(run_dir / "params", MAX_METRIC_FILES):
            config[key] = parse_param(f.read_text(encoding="utf-8", errors="replace"))
    return points_to_run(points, meta, config)
