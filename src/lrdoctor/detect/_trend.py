"""The loss trend every loss-family detector starts from (computed once per series)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lrdoctor.detect._stats import Curve, curve, robust_sigma, rolling_median
from lrdoctor.run import Run, Series

__all__ = ["Trend", "trend", "objective_trend", "TREND_BINS_PER_WINDOW"]

#: The smoothing window is 1/25 of the run (at least 5 points): long enough to ignore
#: minibatch noise, short enough that a rise lasting 5% of the run shows.
TREND_BINS_PER_WINDOW = 25


@dataclass(frozen=True)
class Trend:
    c: Curve
    smooth: np.ndarray
    sigma: float
    window: int

    @property
    def n(self) -> int:
        return len(self.c)

    @property
    def level_se(self) -> float:
        """The standard error of one smoothed point: the median of ``window`` reports whose scatter
        about the trend is ``sigma`` varies by sqrt(pi/2) x sigma / sqrt(window) (the sample median's
        asymptotic variance, pi sigma^2 / (2 n) for normal data; Kenney and Keeping 1962). Two
        smoothed levels closer than this are the same level as far as the curve's own noise can tell."""
        return math.sqrt(math.pi / 2.0) * self.sigma / math.sqrt(self.window)


def trend(s: Series) -> Trend | None:
    c = curve(s)
    n = len(c)
    if n < 5:
        return None
    w = max(5, n // TREND_BINS_PER_WINDOW) | 1
    sm = rolling_median(c.mid, w)
    return Trend(c, sm, robust_sigma(c.mid - sm), w)


def objective_trend(run: Run) -> Trend | None:
    """The trend of the run's objective (see ``_common.objective``), computed once per run
    and shared by every loss-family detector."""
    if "objective_trend" not in run.derived:
        from lrdoctor.detect._common import objective

        s = objective(run)
        run.derived["objective_trend"] = None if s is None else trend(s)
    return run.derived["objective_trend"]
