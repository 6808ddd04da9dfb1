"""Helpers detectors share: which series is the objective, the LR at a step."""

from __future__ import annotations

import numpy as np

from lrdoctor.run import Run, Series

__all__ = ["objective", "lr_at"]


def objective(run: Run) -> Series | None:
    """The training loss a supervised detector judges, or None.

    RL runs are left to the RL detectors: a TD or PPO loss can rise while the agent learns.
    """
    if run.is_rl:
        return None
    return run.series("loss")


def lr_at(run: Run, step: float) -> float | None:
    s = run.series("lr")
    if s is None:
        return None
    f = s.finite()
    if f.steps.size == 0:
        return None
    i = int(np.clip(np.searchsorted(f.steps, step, side="right") - 1, 0, f.steps.size - 1))
    return float(f.values[i])
