"""``slow_progress`` and ``plateau``: the loss is not going down fast enough.

slow_progress: over the first half of the run, where a healthy run learns fastest, the
trend drops less than ``min_drop_per_100`` per 100 steps while the LR is not ~0 (LR too
low: improved-diffusion at lr 1e-7). plateau: the run did learn, then made no new best for
the last ``patience_fraction`` of the run while the LR stayed high (it needs decay).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.detect._common import fmt
from lrdoctor.detect._stats import run_curve
from lrdoctor.detect._trend import objective_trend
from lrdoctor.finding import Finding, Severity
from lrdoctor.run import Run

__all__ = ["ProgressThresholds", "detect_slow_progress", "detect_plateau"]


@dataclass(frozen=True)
class ProgressThresholds:
    min_drop_per_100: float = 0.01
    """Relative loss drop per 100 steps below which progress is slow (post-mortem #1, yellow flag: < 1% per 100 steps)."""
    max_total_drop: float = 0.5
    """A run whose loss fell by more than half overall is learning, whatever its late rate."""
    min_steps: int = 500
    """Steps the first half must span before a rate per 100 steps means anything."""
    max_front_share: float = 0.4
    """Share of the total drop made in the first quarter of the run below which the curve
    is still a straight line. A run at a workable LR front-loads its progress (power-law
    loss curves: 0.57-0.86 on the healthy reference logs); improved-diffusion at lr 1e-7 made 0.20."""
    lr_zero: float = 0.01
    """LR below this share of its peak counts as ~0 (a finished decay explains no progress)."""
    patience_fraction: float = 0.3
    """Plateau: share of the run at the end without a new best. Like ReduceLROnPlateau's
    ``patience`` (torch default 10 epochs), as a share so it fits any length."""
    new_best: float = 0.01
    """Plateau: improvement (share of the total progress) that counts as a new best
    (ReduceLROnPlateau ``threshold`` is 1e-4 relative; we ask 1% of progress to beat noise)."""
    min_plateau_lr: float = 0.3
    """Plateau is only reported while the LR is still at least this share of its peak."""


DEFAULTS = ProgressThresholds()


def _lr_share(run: Run, a: float, b: float) -> float | None:
    c = run_curve(run, "lr")  # bin medians: an LR share needs no per-step precision
    if c is None or c.hi.max() <= 0:
        return None
    m = (c.step >= a) & (c.first <= b)
    vals = c.mid[m] if m.any() else c.mid
    return float(np.median(vals) / c.hi.max())


def detect_slow_progress(run: Run, th: ProgressThresholds = DEFAULTS) -> list[Finding]:
    if run.meta.step_unit not in ("step", "timestep"):
        return []
    t = objective_trend(run)
    if t is None:
        return []
    steps, sm = t.c.step, t.smooth
    span = steps[-1] - steps[0]
    half = int(np.searchsorted(steps, steps[0] + span / 2))
    if half < 3 or steps[half] - steps[0] < th.min_steps:
        return []
    head = max(1, t.n // 50)
    start = float(np.median(t.c.mid[:head]))
    mid = float(sm[half])
    end = float(np.median(t.c.mid[-head:]))
    if start == 0:
        return []
    rate = (start - mid) / abs(start) / (steps[half] - steps[0]) * 100
    total = (start - end) / abs(start)
    share = _lr_share(run, steps[0], steps[half])
    quarter = int(np.searchsorted(steps, steps[0] + span / 4))
    front = (start - float(sm[quarter])) / (start - end) if start > end else 0.0
    if (rate >= th.min_drop_per_100 or total >= th.max_total_drop or front >= th.max_front_share
            or (share is not None and share < th.lr_zero)):
        return []
    ev = {"loss_start": start, "loss_mid": mid, "loss_end": end, "drop_per_100_steps": rate,
          "total_drop": total, "first_quarter_share_of_drop": front, "steps": float(span)}
    if share is not None:
        ev["lr_median_share_of_peak"] = share
    summary = (f"loss fell only {rate:.2%} per 100 steps over the first half (from {fmt(start)} to "
               f"{fmt(mid)}), {total:.0%} over the whole run")
    cause = ("The learning rate is too low for this model (or the model barely trains: frozen "
             "parameters, data or labels wrong). Fine-tuning a pretrained model can also start near its floor.")
    return [Finding("slow_progress", Severity.WARNING, float(steps[0]), float(steps[-1]), summary, ev, cause)]


def detect_plateau(run: Run, th: ProgressThresholds = DEFAULTS) -> list[Finding]:
    t = objective_trend(run)
    if t is None or t.n < 20:
        return []
    sm, steps = t.smooth, t.c.step
    total = sm.max() - sm.min()
    if total <= 0 or (sm[0] - sm.min()) < 0.1 * abs(sm[0]):
        return []
    target = np.minimum.accumulate(sm)
    improved = np.r_[True, target[1:] < target[:-1] - th.new_best * total]
    last = int(np.flatnonzero(improved)[-1])
    flat = t.n - 1 - last
    if flat < th.patience_fraction * t.n:
        return []
    share = _lr_share(run, steps[last], steps[-1])
    if share is None or share < th.min_plateau_lr:
        return []
    ev = {"last_improvement_step": float(steps[last]), "best_loss": float(target[-1]),
          "plateau_steps": float(steps[-1] - steps[last]), "lr_share_of_peak": share}
    summary = (f"no new best loss since step {fmt(steps[last])} ({flat / t.n:.0%} of the run) "
               f"while the LR stayed at {share:.0%} of its peak")
    cause = "The LR is too high to settle into a lower loss; a decay (cosine, step, or on plateau) would let it."
    return [Finding("plateau", Severity.INFO, float(steps[last]), float(steps[-1]), summary, ev, cause)]
