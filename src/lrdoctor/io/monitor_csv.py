"""Gym/stable-baselines3 ``Monitor`` files (``*.monitor.csv``): one row per finished episode.

The first line is a ``#{json}`` header (start time, env id); the columns are ``r`` (the
episode's return), ``l`` (its length) and ``t`` (seconds since start). The step axis is the
cumulative number of environment steps, so slopes read per frame as in SB3's own logs; the
per-episode return becomes ``ep_return`` (RL Zoo's committed training logs are these files).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lrdoctor.errors import LogFormatError, printable
from lrdoctor.io._table import read_table, table_to_run
from lrdoctor.io.guard import text_encoding
from lrdoctor.io.limits import MAX_HEADER_CHARS
from lrdoctor.run import Run, RunMeta, build_run

__all__ = ["read_monitor_csv", "EP_INFO_BUFFER"]

#: Episodes averaged into ``ep_rew_mean``: stable-baselines3's ``ep_info_buffer`` (maxlen 100).
EP_INFO_BUFFER = 100


def read_monitor_csv(path: Path) -> Run:
    meta = RunMeta(source=str(path), format="gym-monitor", step_unit="timestep")
    config: dict = {}
    encoding = text_encoding(path)
    with open(path, encoding=encoding, errors="replace") as fh:
        first = fh.readline(MAX_HEADER_CHARS + 1)
        second = fh.readline(MAX_HEADER_CHARS + 1)
    for i, line in enumerate((first, second), 1):
        if len(line) > MAX_HEADER_CHARS:
            raise LogFormatError(path, f"line {i} is longer than {MAX_HEADER_CHARS:,} characters: not a Monitor CSV header", line=i)
    skip = 0
    if first.startswith("#"):
        skip = 1
        try:
            head = json.loads(first[1:])
            if isinstance(head, dict) and "env_id" in head:
                config["env_id"] = head["env_id"]
        except (ValueError, RecursionError):  # invalid, too deep, or an over-long integer
            meta.warnings.append(f"{printable(path.name)}:1: header is not JSON; ignored")
    table = read_table(path, skiprows=skip)
    if not {"r", "l"} <= set(table.columns):
        return table_to_run(read_table(path), path, "csv")  # merely named *monitor.csv: a plain CSV
    if table.n_rows == 0:
        raise LogFormatError(path, "has a header but no rows")
    missing = [c for c in ("r", "l") if c not in table.cols]
    if missing:
        raise LogFormatError(path, f"column {missing[0]!r} holds no numbers: not a Monitor CSV", line=1 + skip)
    meta.warnings.extend(table.warnings)
    meta.text_columns.extend(table.text_columns)
    cols, masks = table.cols, table.masks
    steps = np.cumsum(np.nan_to_num(cols["l"]))
    cols = {"episode_return": cols["r"], "episode_length": cols["l"], **{k: v for k, v in cols.items() if k not in ("r", "l")}}
    masks = {"episode_return": masks["r"], "episode_length": masks["l"], **{k: v for k, v in masks.items() if k not in ("r", "l")}}
    # SB3 logs rollout/ep_rew_mean as the mean of the last 100 episodes (its ep_info_buffer);
    # the same view of these raw per-episode returns is what its detectors were built on
    import pandas as pd

    r = pd.Series(cols["episode_return"]).rolling(EP_INFO_BUFFER, min_periods=1).mean().to_numpy()
    cols["ep_rew_mean"], masks["ep_rew_mean"] = r, masks["episode_return"].copy()
    meta.step_column = "cumsum(l)"
    return build_run(steps, cols, masks, meta=meta, config=config)
