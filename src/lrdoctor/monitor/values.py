"""Validate one metric value where it arrives (``Monitor.step(loss, **metrics)``), so a bad
value costs its own column and nothing else.

Before this check, one per-sample loss tensor (a forgotten ``.mean()``) made the batched
read-back fail at every flush: no row reached the log, and the Guard never saw a loss
(issue 10). Now each value is turned into a 0-d tensor (kept on its device: no sync) or a
Python float, or refused, at the step where it arrives; the first problem with a column is
logged once, naming the column and what was done.
"""

from __future__ import annotations

import logging
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = ["MetricValidator"]

log = logging.getLogger("lrdoctor")


@dataclass
class MetricValidator:
    """``coerce(name, value)`` -> a 0-d tensor, a float, or None (refused).

    * 0-d tensors and Python/numpy numbers pass (numpy scalars such as ``np.float32`` become
      floats: JSON cannot write them);
    * a numeric tensor or array with several elements is reduced to its mean, with one warning
      per column (a per-sample loss: the mean is what a training loop optimises);
    * anything else (strings, objects, empty or complex tensors) is refused, with one warning.
    """

    warned: set[str] = field(default_factory=set)

    def _warn(self, name: str, what: str) -> None:
        if name not in self.warned:
            self.warned.add(name)
            log.warning("lrdoctor Monitor: metric %r %s; the other metrics are logged and training continues", name, what)

    def coerce(self, name: str, value: Any) -> torch.Tensor | float | None:
        if value is None:
            return None
        if isinstance(value, torch.Tensor):
            if value.dim() == 0 and value.is_floating_point():  # the common case (a loss): no more checks
                return value.detach()
            return self._tensor(name, value.detach())
        if isinstance(value, (bool, np.bool_)):
            return float(value)
        if isinstance(value, numbers.Real):  # int, float, np.float32, np.int64, ...
            try:
                return float(value)
            except (TypeError, ValueError, OverflowError):
                pass
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biuf" and value.size > 0:
                if value.size > 1:
                    self._warn(name, f"is an array of shape {value.shape}, not a scalar: logging its mean")
                return float(np.asarray(value, dtype=np.float64).mean())
        self._warn(name, f"is a {type(value).__name__}, not a number: not logged")
        return None

    def _tensor(self, name: str, t: torch.Tensor) -> torch.Tensor | None:
        if t.numel() == 0 or t.is_complex():
            self._warn(name, f"is a tensor of shape {tuple(t.shape)} and dtype {t.dtype}: not logged")
            return None
        if t.dtype == torch.bool or not t.is_floating_point():
            t = t.to(torch.float32)
        if t.dim() == 0:
            return t
        if t.numel() == 1:
            return t.reshape(())
        self._warn(name, f"is a tensor of shape {tuple(t.shape)}, not a scalar: logging its mean "
                         f"(pass {name}.mean() to silence this)")
        return t.float().mean()
