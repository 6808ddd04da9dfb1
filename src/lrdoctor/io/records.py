"""Lists of per-step records (dicts) -> Run. Shared by HF, JSON Lines and text-log readers."""

from __future__ import annotations

from array import array
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
    norm: dict[Any, str] = {}
    # one pass: key statistics and, per numeric key, the rows and values it was logged at
    # typed arrays: 16 bytes per logged value instead of ~60 for Python ints and floats
    rows_of: dict[Any, array] = {}
    vals_of: dict[Any, array] = {}
    for i, r in enumerate(records):
        for k, v in r.items():
            nk = norm.get(k)
            if nk is None:
                nk = norm[k] = normalize(str(k))
            if nk in count:
                count[nk] += 1
            else:
                present[nk], first_at[nk], count[nk] = k, i, 1
            t = type(v)
            if t is float or t is int:
                x = float(v)
            else:
                x = number(v)
                if x is None:
                    continue
            rows = rows_of.get(k)
            if rows is None:
                rows_of[k], vals_of[k] = array("q", (i,)), array("d", (x,))
            else:
                rows.append(i)
                vals_of[k].append(x)
    # a step key must index the run: present from early on, or on most records (a test
    # phase's "Episode 1: reward ..." lines at the end of a log index nothing before them)
    n_rec = max(1, len(records))
    usable = [(present[normalize(k)], u) for k, u in keys if normalize(k) in present
              and (first_at[normalize(k)] <= 0.2 * n_rec or count[normalize(k)] >= 0.5 * n_rec)]
    step_key, unit = usable[0] if usable else (None, "record")
    meta.step_unit = unit
    meta.step_column = step_key
    n = len(records)
    cols: dict[Any, np.ndarray] = {}
    masks: dict[Any, np.ndarray] = {}
    for k, rows in rows_of.items():
        idx = np.frombuffer(rows, dtype=np.int64)
        col = np.full(n, np.nan)
        col[idx] = np.frombuffer(vals_of[k], dtype=np.float64)
        mk = np.zeros(n, dtype=bool)
        mk[idx] = True
        cols[k], masks[k] = col, mk
    if step_key is None:
        steps = np.arange(n, dtype=np.float64)
    elif step_key in cols:
        steps = cols[step_key].copy()
    else:
        steps = np.full(n, np.nan)
    if check_duplicates and step_key:
        dup = duplicate_steps(steps, cols, masks, skip=step_key)
        if dup is not None:
            row, repeats, step, col = dup
            where = f"{printable(meta.source.rsplit('/', 1)[-1])}:{lines[row]}" if lines else f"record {row + 1}"
            meta.warnings.append(f"{where}: step {step:g} is logged again with a different {col!r} "
                                 f"({repeats} such repeated step(s)); the last record at each step wins")
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
