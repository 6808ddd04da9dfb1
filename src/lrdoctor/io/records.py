"""Lists of per-step records (dicts) -> Run. Shared by HF, JSON Lines and text-log readers."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from lrdoctor.errors import printable
from lrdoctor.io._json import number
from lrdoctor.io._table import duplicate_steps
from lrdoctor.names import STEP_NAMES, normalize
from lrdoctor.run import Run, RunMeta, build_run

__all__ = ["records_to_run"]

_STEP_KEYS: tuple[tuple[str, str], ...] = STEP_NAMES


def records_to_run(
    records: Sequence[Mapping[str, Any]],
    meta: RunMeta,
    *,
    config: Mapping[str, Any] | None = None,
    step_keys: Iterable[tuple[str, str]] = _STEP_KEYS,
    check_duplicates: bool = False,
    lines: Sequence[int] | None = None,
) -> Run:
    """Each record is one logging event; numeric fields become metrics, others are ignored.

    Field names are shown through :func:`~lrdoctor.errors.printable` (no escape codes reach a
    terminal). ``check_duplicates`` reports a record that repeats the previous record's
    step with a different value (JSON Lines loggers write one record per step; text logs
    carry steps forward and legitimately repeat them).
    """
    keys = list(step_keys)
    present: dict[str, str] = {}
    first_at: dict[str, int] = {}
    count: dict[str, int] = {}
    for i, r in enumerate(records):
        for k in r:
            n = normalize(str(k))
            present.setdefault(n, k)
            first_at.setdefault(n, i)
            count[n] = count.get(n, 0) + 1
    # a step key must index the run: present from early on, or on most records (a test
    # phase's "Episode 1: reward ..." lines at the end of a log index nothing before them)
    n_rec = max(1, len(records))
    usable = [(present[normalize(k)], u) for k, u in keys if normalize(k) in present
              and (first_at[normalize(k)] <= 0.2 * n_rec or count[normalize(k)] >= 0.5 * n_rec)]
    step_key, unit = usable[0] if usable else (None, "record")
    meta.step_unit = unit
    meta.step_column = step_key
    names: dict[str, None] = {}
    for r in records:
        for k, v in r.items():
            if k not in names and number(v) is not None:
                names[k] = None
    n = len(records)
    cols = {k: np.full(n, np.nan) for k in names}
    masks = {k: np.zeros(n, dtype=bool) for k in names}
    steps = np.full(n, np.nan)
    for i, r in enumerate(records):
        for k, v in r.items():
            x = number(v)
            if x is not None and k in cols:
                cols[k][i] = x
                masks[k][i] = True
        s = number(r.get(step_key)) if step_key else float(i)
        steps[i] = np.nan if s is None else s
    if check_duplicates and step_key:
        dup = duplicate_steps(steps, cols, masks, skip=step_key)
        if dup is not None:
            row, count, step, col = dup
            where = f"{printable(meta.source.rsplit('/', 1)[-1])}:{lines[row]}" if lines else f"record {row + 1}"
            meta.warnings.append(f"{where}: step {step:g} is logged again with a different {col!r} "
                                 f"({count} such repeated step(s)); the last record at each step wins")
    if step_key and np.isnan(steps).any():
        # carry the last known step forward (e.g. text lines without their own counter)
        idx = np.where(np.isnan(steps), 0, np.arange(n))
        np.maximum.accumulate(idx, out=idx)
        filled = steps[idx]
        lost = int(np.isnan(filled).sum())
        if lost:
            meta.warnings.append(f"{lost} record(s) before the first {step_key!r} were dropped")
        steps = filled
    shown = {k: printable(str(k)) for k in cols}
    if any(k != v for k, v in shown.items()):
        cols = {shown[k]: v for k, v in cols.items()}
        masks = {shown[k]: v for k, v in masks.items()}
    return build_run(steps, cols, masks, meta=meta, config=config)
