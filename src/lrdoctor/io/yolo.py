"""Ultralytics YOLO ``results.csv`` (v5 and v8+): space-padded headers, one row per epoch.

YOLO logs its loss in components (box, obj/cls, dfl). The canonical ``loss`` and
``eval_loss`` are their sums, which is the total YOLO itself optimises and prints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lrdoctor.io._table import read_table, table_meta
from lrdoctor.run import Run, build_run

__all__ = ["read_yolo", "is_yolo_header", "add_totals"]


def is_yolo_header(header: list[str]) -> bool:
    low = [h.strip().lower() for h in header]
    return any(h.startswith("train/") and h.endswith("_loss") for h in low) and any(
        h.startswith("metrics/") for h in low
    )


def add_totals(cols: dict, masks: dict, meta) -> None:
    """Add ``loss`` and ``eval_loss``, the sums of YOLO's ``train/*_loss`` and ``val/*_loss``
    components, in place, where the table has no such column already (the CSV, or the same
    columns pasted as a markdown table)."""
    for prefix, canon in (("train/", "loss"), ("val/", "eval_loss")):
        parts = [c for c in cols if str(c).lower().startswith(prefix) and str(c).lower().endswith("_loss")]
        if parts and canon not in cols:
            total = np.sum([cols[c] for c in parts], axis=0)
            logged = np.logical_and.reduce([masks[c] for c in parts])
            cols[canon], masks[canon] = total, logged
            meta.aliases[canon] = " + ".join(str(c) for c in parts)


def read_yolo(path: Path) -> Run:
    table = read_table(path)
    meta = table_meta(table, path, "yolo-results", step_unit="epoch")
    cols, masks = table.cols, table.masks
    add_totals(cols, masks, meta)
    if "epoch" not in cols:
        steps = np.arange(table.n_rows, dtype=float)
    else:
        steps = cols["epoch"]
    return build_run(steps, cols, masks, meta=meta)
