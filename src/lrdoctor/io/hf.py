"""Hugging Face ``trainer_state.json``: the Trainer's ``log_history``.

Training entries carry ``loss``, ``grad_norm`` and ``learning_rate``; evaluation entries
``eval_*``; the last entry is a run summary (``train_runtime``, ``train_loss`` averaged
over the whole run) that must not be read as a loss at the last step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from lrdoctor.errors import LogFormatError
from lrdoctor.io._json import STREAMED, load_json
from lrdoctor.io.records import RecordColumns, records_to_run
from lrdoctor.run import Run, RunMeta

__all__ = ["read_trainer_state", "is_trainer_state", "history_sink"]

_CONFIG_KEYS = ("train_batch_size", "num_train_epochs", "max_steps", "logging_steps", "eval_steps", "save_steps")


def is_trainer_state(obj: Any) -> bool:
    return isinstance(obj, dict) and (isinstance(obj.get("log_history"), list) or obj.get("log_history") is STREAMED)


def read_trainer_state(path: Path, obj: Any | None = None, history: RecordColumns | None = None) -> Run:
    """``obj``: the parsed document when the caller has it (with ``history``, the columns
    its streamed ``log_history`` went to); otherwise the file is parsed with
    ``log_history`` streamed into columns (see :func:`history_sink`)."""
    if obj is None:
        history = RecordColumns()
        obj = load_json(path, stream={"log_history": history_sink(history)})
    if not is_trainer_state(obj):
        raise LogFormatError(path, "no 'log_history' list: not a trainer_state.json")
    if obj["log_history"] is STREAMED:
        if history is None:
            raise ValueError("a streamed log_history needs the columns it was streamed into")
    else:
        history = RecordColumns()
        for e in obj["log_history"]:
            history_sink(history)(e)
    if not history:
        raise LogFormatError(path, "'log_history' is empty")
    config = {k: obj[k] for k in _CONFIG_KEYS if k in obj}
    meta = RunMeta(source=str(path), format="hf-trainer-state")
    return records_to_run(history, meta, config=config, step_keys=[("step", "step")])


def history_sink(history: RecordColumns) -> Callable[[Any], None]:
    """What keeps a ``log_history`` entry: dicts only, and not the run summary (its
    ``train_loss`` is a whole-run average, not a loss at the last step)."""

    def keep(e: Any) -> None:
        if isinstance(e, dict) and "train_runtime" not in e:
            history.append(e)

    return keep
