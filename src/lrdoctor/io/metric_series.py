"""Per-metric series objects in one JSON file, the shape Megatron-LM commits as the golden
values of its functional tests: ``{"lm loss": {"start_step": 1, "end_step": 50,
"step_interval": 5, "values": {"1": 10.43, "5": 10.43, ...}}, "num-zeros": {...}}``, where
``values`` is either a step -> value object or a list read at ``start_step + i *
step_interval``. A value may be the string "nan" (a step whose loss overflowed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lrdoctor.errors import LogFormatError
from lrdoctor.io._json import NumberArray, load_json, number
from lrdoctor.io.records import records_to_run
from lrdoctor.names import loss_term_kind
from lrdoctor.run import Run, RunMeta

__all__ = ["is_metric_series", "read_metric_series"]


def _series(spec: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, values) of one metric object, or None when it is not one."""
    if not isinstance(spec, dict) or "values" not in spec:
        return None
    vals = spec["values"]
    if isinstance(vals, dict):
        pairs = [(number(k), number(v)) for k, v in vals.items()]  # (number() reads "nan" strings too)
        pairs = [(s, v) for s, v in pairs if s is not None and v is not None]
        if not pairs:
            return None
        st, v = zip(*sorted(pairs))
        return np.asarray(st, dtype=np.float64), np.asarray(v, dtype=np.float64)
    if isinstance(vals, NumberArray):
        v = np.where(vals.present, vals.values, np.nan)
    elif isinstance(vals, list) and vals:
        v = np.asarray([np.nan if (n := number(x)) is None else n for x in vals], dtype=np.float64)
    else:
        return None
    start, every = number(spec.get("start_step", 0)) or 0.0, number(spec.get("step_interval", 1)) or 1.0
    return start + every * np.arange(v.size, dtype=np.float64), v


def is_metric_series(obj: Any) -> bool:
    """A dict whose values include at least one ``{"values": ...}`` metric object."""
    return isinstance(obj, dict) and any(_series(v) is not None for v in obj.values())


def read_metric_series(path: Path, obj: Any | None = None) -> Run:
    obj = load_json(path, compact=True) if obj is None else obj
    rows: dict[float, dict[str, float]] = {}
    for name, spec in obj.items() if isinstance(obj, dict) else ():
        got = _series(spec)
        if got is None:
            continue
        for s, v in zip(*got):
            rows.setdefault(float(s), {"step": float(s)})[str(name)] = float(v)
    if not rows:
        raise LogFormatError(path, "no metric object with a 'values' list or mapping")
    records = [rows[s] for s in sorted(rows) if not _never_ran(rows[s])]
    if not records:
        raise LogFormatError(path, "every metric is 'nan' at every step: no step of this file was run")
    return records_to_run(records, RunMeta(source=str(path), format="metric-series-json"))


def _never_ran(row: dict[str, float]) -> bool:
    """A step where every metric is NaN, its timer and memory readings too, was not run: a resumed
    test's golden values hold "nan" for the steps of the first half, which the resumed job never
    executed (Megatron's BERT checkpoint-resume test: "nan" in lm loss, iteration-time and
    mem-allocated-bytes for steps 1-50). A loss that overflowed leaves the timer its value. Only
    with at least one metric beside the losses, which a real step always measures."""
    vals = {k: v for k, v in row.items() if k != "step"}
    return (any(loss_term_kind(k) is None for k in vals) and len(vals) >= 2
            and all(np.isnan(v) for v in vals.values()))
