"""Delimited logs: generic CSV/TSV, Lightning CSVLogger, stable-baselines3 ``progress.csv``.

They share one reader; the flavour only changes the format name and which column is the
step (SB3 counts environment timesteps, Lightning steps, CleanRL-like files episodes).
"""

from __future__ import annotations

from pathlib import Path

from lrdoctor.io._table import frame_to_run, read_frame
from lrdoctor.run import Run

__all__ = ["read_csv", "flavour"]


def flavour(header: list[str]) -> str:
    """Name the CSV flavour from its header."""
    low = {h.strip().lower() for h in header}
    if "time/total_timesteps" in low or any(h.startswith(("rollout/", "time/")) for h in low):
        return "sb3-progress"
    if {"epoch", "step"} <= low:
        return "lightning-csv"
    return "csv"


def read_csv(path: Path, sep: str | None = None) -> Run:
    df = read_frame(path, sep)
    fmt = flavour(list(df.columns))
    prefer = ("time/total_timesteps",) if fmt == "sb3-progress" else ()
    return frame_to_run(df, path, fmt if sep != "\t" else "tsv", prefer_step=prefer)
