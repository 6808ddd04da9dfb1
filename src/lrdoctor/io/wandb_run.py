"""W&B run folders (``wandb/offline-run-*/``, ``wandb/run-*/``) read without a network.

The history (what ``wandb.log`` recorded) comes from ``files/wandb-history.jsonl`` where an
SDK wrote one (older SDKs did, for every run), otherwise from the run's transaction log
``run-<id>.wandb`` (all that an offline run of a current SDK keeps): its framing is read by
:mod:`lrdoctor.io.wandb_log`, its records parsed with the wandb SDK's own protobuf classes,
imported inside :func:`read_wandb_run` (``pip install lrdoctor[wandb]``).

The config is ``files/config.yaml`` where it exists (W&B nests each value as
``{key: {value: v, desc: ...}}``; only the values are kept), otherwise the config the
transaction log recorded. W&B's own bookkeeping (``_wandb`` in the config; ``_timestamp``,
``_runtime`` in the history) is dropped; ``_step``, W&B's step axis, indexes the run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lrdoctor.errors import ConfigError, LogFormatError, printable
from lrdoctor.io.guard import bounded_lines
from lrdoctor.io.limits import MAX_JSONL_LINE_CHARS
from lrdoctor.io.records import RecordColumns
from lrdoctor.names import STEP_NAMES
from lrdoctor.run import Run, RunMeta

__all__ = ["HISTORY_FILE", "RUN_DIR_NAME", "is_run_dir", "read_wandb_run", "transaction_log", "unwrap_config"]

#: The history file older SDKs (< 0.10, and synced runs of some later ones) wrote.
HISTORY_FILE = "files/wandb-history.jsonl"
#: How W&B names a run folder: ``run-20261201_125402-3bkfoy8m`` (``offline-`` when offline).
RUN_DIR_NAME = re.compile(r"^(offline-)?run-\d{8}_\d{6}-[A-Za-z0-9]+$")
#: History keys that are W&B's bookkeeping, not metrics (``_step`` is kept: it is the step).
_BOOKKEEPING = ("_timestamp", "_runtime")
_NESTED_BOOKKEEPING = tuple((k,) for k in _BOOKKEEPING)
_STEP_KEYS = (("_step", "step"),) + STEP_NAMES


def transaction_log(path: Path) -> Path | None:
    """The run's ``run-<id>.wandb`` file, or None."""
    try:
        logs = sorted(p for p in path.glob("*.wandb") if p.is_file())
    except OSError:
        return None
    return logs[-1] if logs else None


def is_run_dir(path: Path) -> bool:
    """A W&B run folder: a transaction log or a history file inside a folder named like one
    (or any folder holding a ``run-<id>.wandb``)."""
    if not path.is_dir():
        return False
    if (path / HISTORY_FILE).is_file() and RUN_DIR_NAME.match(path.name):
        return True
    return transaction_log(path) is not None


def unwrap_config(raw: Mapping[str, Any]) -> dict[str, Any]:
    """W&B's ``config.yaml`` (``{lr: {value: 0.1, desc: null}, _wandb: {...}}``) as ``{lr: 0.1}``."""
    out: dict[str, Any] = {}
    for key, item in raw.items():
        if str(key).startswith("_wandb") or key == "wandb_version":
            continue
        out[str(key)] = item["value"] if isinstance(item, Mapping) and "value" in item else item
    return out


def _history_jsonl(file: Path, acc: RecordColumns, warnings: list[str]) -> None:
    bad = 0
    with open(file, encoding="utf-8", errors="replace") as fh:
        for _, line in bounded_lines(fh, MAX_JSONL_LINE_CHARS):
            if line is None or not line.strip():
                bad += line is None
                continue
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):
                bad += 1
                continue
            if isinstance(obj, dict):
                acc.append({k: v for k, v in obj.items() if k not in _BOOKKEEPING})
    if bad:
        warnings.append(f"{HISTORY_FILE}: {bad} line(s) are not JSON records and were skipped")


def _value(item: Any, numeric: bool = False) -> tuple[str, Any]:
    """``(key, value)`` of a history/config item. ``numeric``: a history value, which only
    matters as a float: ``float()`` reads numbers (and W&B's NaN / Infinity) 3x faster than
    json; config values keep their JSON types (32 stays an int)."""
    key = item.key or ".".join(item.nested_key)
    text = item.value_json
    if numeric:
        try:
            return key, float(text)
        except ValueError:
            pass
    try:
        return key, json.loads(text)
    except (ValueError, RecursionError):
        return key, None


def _transaction_log(file: Path, acc: RecordColumns, config: dict[str, Any], warnings: list[str]) -> None:
    from lrdoctor.io.wandb_log import Scan, iter_records

    try:
        from wandb.proto import wandb_internal_pb2 as pb
    except ImportError:
        raise LogFormatError(file, "reading a W&B transaction log needs the wandb SDK's record "
                                   "format: pip install 'lrdoctor[wandb]'") from None
    scan = Scan()
    bad = 0
    for raw in iter_records(file, scan):
        rec = pb.Record()
        try:
            rec.ParseFromString(raw)
        except Exception:  # protobuf's DecodeError: a record of another SDK version
            bad += 1
            continue
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            row = dict(_value(i, numeric=True) for i in rec.history.item if i.key not in _BOOKKEEPING
                       and tuple(i.nested_key) not in _NESTED_BOOKKEEPING)
            if "_step" not in row and rec.history.HasField("step"):
                row["_step"] = rec.history.step.num
            acc.append(row)
        elif kind == "run":
            config.update(dict(_value(i) for i in rec.run.config.update))
        elif kind == "config":
            config.update(dict(_value(i) for i in rec.config.update))
            for i in rec.config.remove:
                config.pop(i.key or ".".join(i.nested_key), None)
    if scan.stopped:
        warnings.append(f"{printable(file.name)}: reading stopped early: {scan.stopped}; later history is missing")
    if bad:
        warnings.append(f"{printable(file.name)}: {bad} record(s) could not be parsed and were skipped")


def read_wandb_run(path: Path) -> Run:
    """One W&B run folder (or its ``.wandb`` file) as a :class:`Run`."""
    run_dir = path.parent if path.is_file() else path
    meta = RunMeta(source=str(run_dir), format="wandb")
    acc = RecordColumns()
    config: dict[str, Any] = {}
    history = run_dir / HISTORY_FILE
    log = path if path.is_file() else transaction_log(run_dir)
    if history.is_file() and history.stat().st_size > 0:
        _history_jsonl(history, acc, meta.warnings)
    elif log is not None:
        _transaction_log(log, acc, config, meta.warnings)
    else:
        raise LogFormatError(run_dir, f"W&B run folder holds neither {HISTORY_FILE} nor a run-<id>.wandb transaction log")
    cfg_file = run_dir / "files" / "config.yaml"
    if cfg_file.is_file():
        from lrdoctor.io.config import load_config

        try:
            config = load_config(cfg_file)
        except ConfigError as err:
            meta.warnings.append(f"{err}; the run was read without its config.yaml")
    config = unwrap_config(config)
    if not len(acc):
        raise LogFormatError(run_dir, "the W&B run logged no history (no wandb.log call was recorded)")
    return acc.to_run(meta, config=config, step_keys=_STEP_KEYS)
