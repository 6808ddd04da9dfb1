"""``divergence``: the loss rises above its best and stays there.

The seed rule of the classifier post-mortem (#4) was "loss > best + 0.5"; that only fits
cross-entropy in nats. Here the rise is measured against the progress the run had made
and against its own noise, so it works for a 1e13 PINN loss and a negative likelihood:

* trend = rolling median (1/25 of the run), best = running minimum of the trend;
* a point is *above* when ``trend - best > max(rise_fraction x progress, noise_k x sigma,
  relative_floor x |best|)``;
* divergence = an above-stretch that lasts at least ``min_fraction`` of the run and is
  still above at the end (error), or lasts that long and comes back (warning: recovered).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.detect._common import fmt, lr_at
from lrdoctor.detect._stats import runs_of
from lrdoctor.detect._trend import Trend, objective_trend
from lrdoctor.finding import Finding, Severity
from lrdoctor.run import Run

__all__ = ["DivergenceThresholds", "detect", "above_best"]


@dataclass(frozen=True)
class DivergenceThresholds:
    rise_fraction: float = 0.25
    """Rise above the best trend value, as a share of the progress made so far (start level
    minus best). Source: the GRU word-LM run at lr 20 (pytorch/examples) rose 0.33 of its
    progress and never recovered; the post-mortem's +0.5 nats on a 0.6 loss is far more."""
    noise_k: float = 5.0
    """The rise must also exceed this many robust sigmas of the loss noise around its trend,
    so minibatch noise alone never reads as divergence (5 sigma: < 1e-6 two-sided for
    Gaussian noise)."""
    relative_floor: float = 0.10
    """And at least 10% of |best|: a run that made no progress cannot diverge by noise."""
    min_fraction: float = 0.05
    """Shortest sustained rise, as a share of the run (shorter ones are loss spikes)."""
    min_points: int = 3
    """Shortest sustained rise in logged points."""


DEFAULTS = DivergenceThresholds()


def above_best(t: Trend, th: DivergenceThresholds = DEFAULTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(above mask, rise, threshold) per trend point; shared with ``loss_spike``."""
    sm = t.smooth
    best = np.minimum.accumulate(sm)
    start = np.maximum.accumulate(sm)
    progress = start - best
    rise = sm - best
    thr = np.maximum.reduce([
        th.rise_fraction * progress,
        np.full(sm.shape, th.noise_k * t.sigma),
        th.relative_floor * np.abs(best),
    ])
    return rise > thr, rise, thr


def detect(run: Run, th: DivergenceThresholds = DEFAULTS) -> list[Finding]:
    t = objective_trend(run)
    if t is None:
        return []
    above, rise, thr = above_best(t, th)
    need = max(th.min_points, int(np.ceil(th.min_fraction * t.n)))
    out = []
    for a, b in runs_of(above):
        if b - a < need:
            continue
        c = t.c
        ib = int(np.argmin(t.smooth[:a])) if a else 0
        to_end = b == t.n
        onset = float(c.first[a])
        ev = {
            "best_loss": float(t.smooth[ib]), "best_step": float(c.step[ib]),
            "onset_step": onset, "loss_at_onset": float(t.smooth[a]),
            "peak_loss": float(t.smooth[a:b].max()), "final_loss": float(t.smooth[b - 1]),
            "rise_over_best": float(rise[a:b].max()), "threshold": float(thr[a]),
            "noise_sigma": t.sigma, "sustained_points": b - a,
        }
        lr = lr_at(run, onset)
        if lr is not None:
            ev["lr_at_onset"] = lr
        if to_end:
            sev = Severity.ERROR
            summary = (f"loss diverged from step {fmt(onset)}: trend rose from best {fmt(ev['best_loss'])} "
                       f"(step {fmt(ev['best_step'])}) to {fmt(ev['peak_loss'])} and did not recover")
        else:
            sev = Severity.WARNING
            summary = (f"loss rose from best {fmt(ev['best_loss'])} to {fmt(ev['peak_loss'])} between steps "
                       f"{fmt(onset)} and {fmt(float(c.step[b - 1]))}, then recovered")
        cause = ("The learning rate is above what this model and batch size tolerate "
                 "(sustained rise, not a one-batch spike), or the LR schedule never decays.")
        out.append(Finding("divergence", sev, onset, float(c.step[b - 1]), summary, ev, cause))
    return out
