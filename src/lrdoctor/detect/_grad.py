"""The gradient-norm series the gradient detectors share (AMP-skipped steps removed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.detect._stats import Curve, curve, rolling_median
from lrdoctor.config import get_float
from lrdoctor.run import Run, Series

__all__ = ["CURVE_MIN_POINTS", "curve_points", "grad_curve", "max_grad_norm", "CLIP_KEYS", "top_layers", "clip_signal", "ClipSignal"]

#: Config names of the gradient-clipping threshold in HF, Lightning, argparse scripts.
CLIP_KEYS = ("max_grad_norm", "gradient_clip_val", "clip_grad_norm", "grad_clip", "clip", "max_norm", "clip_grad")


#: Fewest positive gradient-norm reports the curve rules (``grad_curve``: unstable, vanishing, the
#: trend form of explosion) read: two windows of the rolling median's least width, 5
#: (:func:`smoothing_window`), so that a point can stand apart from a trend measured without it.
CURVE_MIN_POINTS = 10


def curve_points(run: Run) -> str | None:
    """The gradient-norm need of a check that reads only :func:`grad_curve`: ``CURVE_MIN_POINTS``
    positive reports (a norm of 0 has no logarithm and is the exactly-zero rule's)."""
    from lrdoctor.detect import needs

    why = needs.grad(run)
    if why is not None:
        return why
    g = run.series("grad_norm").finite()
    n = int((g.values > 0).sum())
    return None if n >= CURVE_MIN_POINTS else (
        f"only {n} positive gradient-norm point(s); needs {CURVE_MIN_POINTS} (a trend and points apart from it)")


def grad_curve(run: Run) -> tuple[Curve, np.ndarray] | None:
    """(curve of log10 grad norm, rolling median of it) or None; computed once per run."""
    if "grad_curve" not in run.derived:
        run.derived["grad_curve"] = _grad_curve(run)
    return run.derived["grad_curve"]


def _grad_curve(run: Run) -> tuple[Curve, np.ndarray] | None:
    g = run.series("grad_norm")
    if g is None:
        return None
    f = g.finite()
    ok = f.values > 0
    if ok.sum() < CURVE_MIN_POINTS:
        return None
    pos = f if ok.all() else Series(f.name, f.steps[ok], f.values[ok])
    c = curve(Series("grad_norm", pos.steps, np.log10(pos.values)))
    return c, rolling_median(c.mid, smoothing_window(len(c)))


def smoothing_window(n: int) -> int:
    """The rolling-median window of a grad-norm curve of ``n`` points: 1/25 of it, at least 5, odd."""
    return max(5, n // 25) | 1


def max_grad_norm(run: Run) -> tuple[str, float] | None:
    """``(key, threshold)`` of a finite, positive clipping threshold in the config."""
    hit = get_float(run.config, CLIP_KEYS, finite=True)
    return (hit.key, hit.value) if hit is not None and hit.value > 0 else None


@dataclass(frozen=True)
class ClipSignal:
    """How a run tells us clipping happened: a threshold (config key or logged column), a
    logged clip coefficient (``min(1, max_norm / norm)``, 1 = not clipped) or a logged
    share of clipped steps. ``source`` names the key or column."""

    kind: str  # "threshold" | "coef" | "fraction"
    source: str
    value: float | None = None  # the threshold, for kind == "threshold" from the config


def clip_signal(run: Run) -> ClipSignal | None:
    """The first clipping signal a run carries, or None."""
    hit = max_grad_norm(run)
    if hit is not None:
        return ClipSignal("threshold", hit[0], hit[1])
    for name, kind in (("max_grad_norm", "threshold"), ("clip_coef", "coef"), ("grad_clip_fraction", "fraction")):
        if name in run:
            return ClipSignal(kind, run.meta.roles.get(name, name))
    return None


def top_layers(run: Run, step: float, k: int = 3) -> list[dict] | None:
    """The layers with the largest gradient norm at the measurement nearest ``step`` at or after
    it (``grad_norm/<layer>`` columns, written by the Monitor), largest first."""
    cols = [n for n in run.names if n.startswith("grad_norm/") and n in run]
    if not cols:
        return None
    logged = np.zeros(run.n_steps, bool)
    for n in cols:
        logged |= run.logged[n]
    idx = np.flatnonzero(logged & (run.steps >= step))
    if idx.size == 0:
        idx = np.flatnonzero(logged)[-1:]
    i = int(idx[0])
    vals = [(n[len("grad_norm/"):], float(run.metrics[n][i])) for n in cols if run.logged[n][i]]
    vals.sort(key=lambda t: -t[1])
    return [{"layer": n, "grad_norm": v, "step": float(run.steps[i])} for n, v in vals[:k]]
