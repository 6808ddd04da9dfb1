"""Hugging Face ``trainer_state.json``: the Trainer's ``log_history``.

Training entries carry ``loss``, ``grad_norm`` and ``learning_rate``; evaluation entries
``eval_*``; the last entry is a run summary (``train_runtime``, ``train_loss`` averaged
over the whole run) that must not be read as a loss at the last step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lrdoctor.errors import LogFormatError
from lrdoctor.io._json import load_json
from lrdoctor.io.records import records_to_run
from lrdoctor.run import Run, RunMeta

__all__ = ["read_trainer_state", "is_trainer_state"]

_CONFIG_KEYS = ("train_batch_size", "num_train_epochs", "max_steps", "logging_steps", "eval_steps", "save_steps")


def is_trainer_state(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("log_history"), list)


def read_trainer_state(path: Path, obj: Any | None = None) -> Run:
    obj = load_json(path) if obj is None else obj
    if not is_trainer_state(obj):
        raise LogFormatError(path, "no 'log_history' list: not a trainer_state.json")
    history = [e for e in obj["log_history"] if isinstance(e, dict) and "train_runtime" not in e]
    if not history:
        raise LogFormatError(path, "'log_history' is empty")
    config = {k: obj[k] for k in _CONFIG_KEYS if k in obj}
    meta = RunMeta(source=str(path), format="hf-trainer-state")
    return records_to_run(history, meta, config=config, step_keys=[("step", "step")])
