"""What the RL detectors share: the task metric, slope units, windows of a curve."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.detect._stats import Curve, robust_sigma, rolling_median, run_curve
from lrdoctor.run import Run

__all__ = ["TASK_METRICS", "TaskCurve", "task_curve", "slope_unit", "fit_slope"]

#: Higher-is-better metrics that say how well the task is done, in order of preference.
#: The training return comes first: SB3 and CleanRL average it over the last 100 episodes
#: and log it every update, while evaluation is a few deterministic episodes every N steps
#: (sb3 Acrobot: 100 eval points jumping between -7946 and -2700 on a healthy run).
TASK_METRICS = ("ep_return", "eval_return", "success_rate", "eval_accuracy")

#: The task curve is smoothed over 1/20 of the run (at least 5 points): RL returns are noisy
#: and a rolling median over 5% keeps only what lasts.
SMOOTH_SHARE = 0.05


@dataclass(frozen=True)
class TaskCurve:
    """A task metric reduced to bins, its rolling median and its noise (robust sigma)."""

    name: str
    c: Curve
    smooth: np.ndarray
    sigma: float

    @property
    def n(self) -> int:
        return len(self.c)


def task_curve(run: Run, min_points: int = 10) -> TaskCurve | None:
    """The smoothed task metric of ``run`` (computed once per run), or None."""
    key = "task_curve"
    if key not in run.derived:
        out = None
        for name in TASK_METRICS:
            c = run_curve(run, name)
            if c is not None and len(c) >= min_points:
                w = max(5, int(len(c) * SMOOTH_SHARE)) | 1
                sm = rolling_median(c.mid, w)
                out = TaskCurve(name, c, sm, robust_sigma(c.mid - sm))
                break
        run.derived[key] = out
    return run.derived[key]


def slope_unit(run: Run) -> tuple[float, str]:
    """(steps per unit, unit label) for reporting slopes the way practitioners read them:
    per million frames for environment steps (the DQN post-mortem's unit), per 1k updates
    or episodes otherwise."""
    unit = run.meta.step_unit
    if unit == "timestep":
        return 1e6, "per 1M frames"
    if unit in ("step", "update", "episode", "row"):
        return 1e3, f"per 1k {unit}s"
    return 1.0, f"per {unit}"


def fit_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of y on x (0 for fewer than 2 distinct x)."""
    if x.size < 2 or np.ptp(x) == 0:
        return 0.0
    return float(np.polyfit(x.astype(np.float64), y.astype(np.float64), 1)[0])
