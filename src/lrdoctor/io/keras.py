"""Keras ``History.history`` dumps: ``{"loss": [...], "val_loss": [...]}``, optionally
wrapped as ``{"epochs": [...], "metrics": {...}}``. One value per epoch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lrdoctor.errors import LogFormatError
from lrdoctor.io._json import NumberArray, load_json, number_array
from lrdoctor.names import loss_term_kind, tokens
from lrdoctor.run import Run, RunMeta, build_run

__all__ = ["read_keras_history", "is_keras_history"]


def _series_dict(obj: Any) -> dict[str, NumberArray] | None:
    """Each metric's per-epoch numbers (lists of numbers and nulls)."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("metrics"), dict):
        obj = obj["metrics"]
    arrays = {k: v if isinstance(v, NumberArray) else number_array(v) for k, v in obj.items()
              if isinstance(v, (list, NumberArray))}
    series = {k: v for k, v in arrays.items() if isinstance(v, NumberArray) and len(v)}
    return series or None


def is_keras_history(obj: Any) -> bool:
    """A dict of per-epoch lists, one of them a loss or an accuracy: Keras' own names ("loss",
    "val_accuracy"), or a hand-made history's ("train_loss" beside "test_acc")."""
    s = _series_dict(obj)
    if s is None:
        return False
    return any(k in s for k in ("loss", "val_loss", "accuracy", "acc")) or any(
        len(v) >= 2 and (loss_term_kind(str(k)) is not None or {"accuracy", "acc"} & set(tokens(str(k)))) for k, v in s.items())


def read_keras_history(path: Path, obj: Any | None = None) -> Run:
    obj = load_json(path, compact=True) if obj is None else obj
    series = _series_dict(obj)
    if series is None:
        raise LogFormatError(path, "no per-epoch metric lists found")
    n = max(len(v) for v in series.values())
    meta = RunMeta(source=str(path), format="keras-history", step_unit="epoch")
    epochs = obj.get("epochs") if isinstance(obj, dict) else None
    if isinstance(epochs, list):
        epochs = number_array(epochs)
    if isinstance(epochs, NumberArray) and len(epochs) == n and epochs.present.all():
        steps = epochs.values
    else:
        steps = np.arange(n, dtype=float)
    cols, masks = {}, {}
    for k, v in series.items():
        if len(v) != n:
            meta.warnings.append(f"metric {k!r} has {len(v)} values for {n} epochs; aligned to the first epochs")
        if len(v) == n:
            arr, m = v.values, v.present
        else:
            arr = np.full(n, np.nan)
            m = np.zeros(n, dtype=bool)
            arr[: len(v)], m[: len(v)] = v.values, v.present
        cols[k], masks[k] = arr, m
    return build_run(steps, cols, masks, meta=meta)
