"""Dopamine's published Atari baselines (``baselines/data/<game>.json``): a JSON array of
``{"Iteration": i, "Value": v, "Agent": "DQN"}`` records, where ``Value`` is the average return
of the training episodes of iteration ``i`` (250k frames), one record per run, several runs (5
seeds) and several agents per file. The runs of one agent are one experiment: each iteration
becomes the mean over the runs that report it, as the plots of Dopamine's own colab show it.
The first agent of the file is read (the others are other experiments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lrdoctor.io._json import number
from lrdoctor.io.records import records_to_run
from lrdoctor.run import Run, RunMeta

__all__ = ["is_dopamine_records", "read_dopamine"]

_KEYS = {"Iteration", "Value", "Agent"}


def is_dopamine_records(obj: Any) -> bool:
    """A non-empty list of records whose keys are exactly Iteration, Value and Agent."""
    return (isinstance(obj, list) and bool(obj) and all(isinstance(r, dict) and set(r) == _KEYS for r in obj)
            and isinstance(obj[0]["Agent"], str))


def read_dopamine(path: Path, obj: list[dict]) -> Run:
    agent = obj[0]["Agent"]
    runs: dict[float, list[float]] = {}
    for r in obj:
        it, v = number(r["Iteration"]), number(r["Value"])
        if r["Agent"] != agent or it is None or v is None:
            continue
        runs.setdefault(it, []).append(v)
    records = [{"iteration": it, "train_episode_returns": sum(vs) / len(vs)} for it, vs in sorted(runs.items())]
    meta = RunMeta(source=str(path), format="dopamine")
    return records_to_run(records, meta)
