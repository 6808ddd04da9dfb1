"""History: the Monitor's record of a live run, one row per optimizer step.

It owns what the probes measured and the user passed, in three stages:

* **pending** rows: values still on the device (0-d tensors) or Python floats;
* :meth:`History.flush`: the one host sync, every ``flush_every`` steps: all pending tensors
  are stacked and read back in a single transfer, so nothing syncs per step;
* **flushed** columns (Python floats; ``None`` where a column was not logged at a step),
  which :meth:`History.to_run` turns into the same :class:`~lrdoctor.Run` the offline readers
  build, and which the Guard reads (:meth:`recent`) and cuts back (:meth:`truncate`).

Rows are validated before they get here (:mod:`lrdoctor.monitor.values`): a History holds
only 0-d tensors and floats, so a flush cannot fail on one bad value.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

from lrdoctor.run import Run, RunMeta, build_run

__all__ = ["STEP", "History"]

log = logging.getLogger("lrdoctor")

#: The row key that holds the step (x-axis value) of a row.
STEP = "step"

class History:
    """Rows of ``{column: value}`` with a ``step``; see the module docstring."""

    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []
        self._steps: list[float] = []
        self._cols: dict[str, list[float | None]] = {}

    # ---- writing ----------------------------------------------------------------------------
    def append(self, row: Mapping[str, Any]) -> None:
        """Add one row (values: 0-d tensors or floats; ``row["step"]`` is required). A ``dict`` is
        taken over as it is (the Monitor hands over a fresh one each step), anything else copied."""
        self._pending.append(row if type(row) is dict else dict(row))

    def annotate(self, values: Mapping[str, Any]) -> None:
        """Add values to the newest row, pending or already flushed (a trainer's logged loss
        arrives after its step). Tensors of a flushed row are read back here (a rare call)."""
        if self._pending:
            self._pending[-1].update(values)
            return
        if not self._steps:
            return
        n = len(self._steps)
        for k, v in values.items():
            x = float(v.reshape(()).item()) if isinstance(v, torch.Tensor) else float(v)
            col = self._cols.setdefault(k, [])
            col.extend([None] * (n - len(col)))
            col[n - 1] = x

    @property
    def pending(self) -> int:
        """Rows not yet read back."""
        return len(self._pending)

    def flush(self) -> list[dict[str, float]]:
        """Read the pending rows back (one transfer for all their tensors), append them to the
        columns, and return them as plain ``{column: float}`` rows (for the log)."""
        rows, self._pending = self._pending, []
        if not rows:
            return []
        tensors = [(i, k, v) for i, r in enumerate(rows) for k, v in r.items() if isinstance(v, torch.Tensor)]
        if tensors:
            for (i, k, _), x in zip(tensors, _read_back([v for _, _, v in tensors])):
                rows[i][k] = x
        out: list[dict[str, float]] = []
        for r in rows:
            self._steps.append(float(r[STEP]))
            n = len(self._steps)
            clean: dict[str, float] = {STEP: r[STEP]}
            for k, v in r.items():
                if k == STEP or v is None:
                    continue
                col = self._cols.setdefault(k, [])
                if len(col) < n - 1:
                    col.extend([None] * (n - 1 - len(col)))  # None: not logged at that step
                col.append(float(v))
                clean[k] = float(v)
            out.append(clean)
        return out

    def discard_pending(self) -> None:
        """Forget the rows not yet read back (the Guard, after restoring an older state)."""
        self._pending.clear()

    def truncate(self, n: int) -> None:
        """Keep the first ``n`` flushed rows (the Guard, going back to a snapshot), drop the rest
        and every pending row."""
        del self._steps[n:]
        for col in self._cols.values():
            del col[n:]
        self._pending.clear()

    # ---- reading ----------------------------------------------------------------------------
    def __len__(self) -> int:
        """Flushed rows."""
        return len(self._steps)

    @property
    def columns(self) -> list[str]:
        return list(self._cols)

    def column(self, name: str) -> list[float | None]:
        """A copy of one flushed column, row-aligned (``None``: not logged at that row)."""
        col = self._cols.get(name, [])
        return col + [None] * (len(self._steps) - len(col))

    def recent(self, name: str, rows: int) -> list[float]:
        """The values of ``name`` logged in the last ``rows`` flushed rows (non-finite included)."""
        col = self._cols.get(name, [])
        start = max(0, len(self._steps) - rows)
        return [x for x in col[start:] if x is not None]

    def rows(self) -> Iterator[dict[str, float]]:
        """The flushed rows as ``{column: float}`` dicts (to rewrite a lost log file)."""
        for i, s in enumerate(self._steps):
            r: dict[str, float] = {STEP: _step_out(s)}
            for k, col in self._cols.items():
                if i < len(col) and col[i] is not None:
                    r[k] = col[i]
            yield r

    def to_run(self, *, step_unit: str = "step", config: Mapping[str, Any] | None = None) -> Run:
        """The flushed rows as a :class:`~lrdoctor.Run` (call :meth:`flush` first for the newest)."""
        n = len(self._steps)
        cols, masks = {}, {}
        for k, col in self._cols.items():
            logged = np.zeros(n, bool)
            logged[: len(col)] = [v is not None for v in col]
            arr = np.full(n, np.nan)
            arr[: len(col)] = [math.nan if v is None else v for v in col]
            cols[k], masks[k] = arr, logged  # a logged NaN stays logged: nonfinite looks for it
        # the steps are the loop's own counter (or ``at=``), never row numbers: say so, as the
        # JSONL reader does for the written log
        meta = RunMeta(source="lrdoctor.Monitor", format="monitor", step_unit=step_unit, step_column=STEP)
        return build_run(np.asarray(self._steps, float), cols, masks, meta=meta, config=dict(config or {}))


def _step_out(s: float) -> float | int:
    return int(s) if float(s).is_integer() else s


def _read_back(values: list[torch.Tensor]) -> list[float]:
    """All values in one device-to-host transfer; value by value if that fails (a tensor on a
    device that lost its context, say), NaN for any that cannot be read."""
    try:
        dev = values[0].device
        dtype = torch.float32 if dev.type == "mps" else torch.float64  # MPS has no float64
        return torch.stack([v.reshape(()).to(dev, dtype) for v in values]).tolist()  # the one sync
    except Exception as err:
        log.warning("lrdoctor Monitor: batched read-back failed (%s: %s); reading values one by one",
                    type(err).__name__, err)
        out = []
        for v in values:
            try:
                out.append(float(v.reshape(()).item()))
            except Exception:
                out.append(math.nan)
        return out
