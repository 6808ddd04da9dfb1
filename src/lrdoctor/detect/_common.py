"""Helpers detectors share: which series is the objective, the LR at a step."""

from __future__ import annotations

import numpy as np

from lrdoctor.run import Run, Series

__all__ = ["objective", "lr_at", "is_error_rate", "ERROR_RATES"]


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


#: word/character/unit/token error rates (speech, OCR) and a generic error rate: 1.0 (or 100%)
#: means nothing recognised, what an empty output scores
ERROR_RATES = ("wer", "cer", "uer", "ter", "errorrate", "error_rate")


def is_error_rate(name: str) -> bool:
    """``wer``, ``valid_wer``, ``eval/cer``, ``valid_ErrorRate``: an error-rate column (not
    ``power``, not ``answer``)."""
    low = name.lower().replace("-", "_").split("/")[-1]
    return any(low == r or low.endswith("_" + r) for r in ERROR_RATES)
