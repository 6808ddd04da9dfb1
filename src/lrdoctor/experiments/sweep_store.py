"""A sweep on disk: ``sweep.json`` (what was asked) and one JSON file per finished cell.

Each cell is written atomically (temp file + rename) the moment it finishes, so a sweep
killed at any point loses only the cells that were running; ``--resume DIR`` reads the
plan back and runs only the missing cells. JSON only: nothing here can execute code.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lrdoctor.errors import InputError
from lrdoctor.experiments.sweep_cell import CellResult, cell_name

__all__ = ["SweepPlan", "SweepStore", "PLAN_NAME"]

PLAN_NAME = "sweep.json"


@dataclass
class SweepPlan:
    """The sweep's question: task, grid, steps and how results are judged."""

    task: str
    lrs: list[float]
    seeds: list[int]
    steps: int
    task_kwargs: dict[str, Any] = field(default_factory=dict)
    #: steps whose loss the table shows (the post-mortem: 0, 20, 100)
    loss_steps: list[int] = field(default_factory=list)
    #: loss level for the "steps to threshold" column (None: half the initial loss)
    threshold: float | None = None
    #: success when final loss < this (None: final loss < initial loss)
    success_below: float | None = None
    #: cycle only the first N batches of a streaming task (post-mortem: "long runs on static data")
    static_batches: int | None = None

    def cells(self) -> list[tuple[float, int]]:
        return [(lr, s) for lr in self.lrs for s in self.seeds]


class SweepStore:
    """Reads and writes one sweep directory."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        self.cells_dir = self.dir / "cells"
        self.logs_dir = self.dir / "logs"

    def save_plan(self, plan: SweepPlan) -> None:
        self.cells_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.dir / PLAN_NAME, json.dumps(asdict(plan), indent=1))

    def load_plan(self) -> SweepPlan:
        path = self.dir / PLAN_NAME
        if not path.is_file():
            raise InputError(self.dir, f"not a sweep directory (no {PLAN_NAME})")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return SweepPlan(**raw)
        except (json.JSONDecodeError, TypeError) as err:
            raise InputError(path, f"unreadable sweep plan: {err}") from err

    def log_dir(self, lr: float, seed: int) -> Path:
        return self.logs_dir / cell_name(lr, seed)

    def save_cell(self, data: dict[str, Any]) -> None:
        _atomic_write(self.cells_dir / f"{cell_name(data['lr'], data['seed'])}.json", json.dumps(data, allow_nan=False))

    def load_cells(self) -> dict[str, CellResult]:
        """Finished cells by name; a file that is not a cell result is an input error."""
        out: dict[str, CellResult] = {}
        if not self.cells_dir.is_dir():
            return out
        for path in sorted(self.cells_dir.glob("*.json")):
            try:
                cell = CellResult.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (json.JSONDecodeError, TypeError, ValueError) as err:
                raise InputError(path, f"unreadable cell result: {err}") from err
            out[cell_name(cell.lr, cell.seed)] = cell
        return out


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
