"""Writing the corpus runs' logs."""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ["write_csv"]


def write_csv(path: Path, rows: list[dict]) -> None:
    """One row per dict; the first row's keys are the header (later rows may leave cells empty)."""
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
