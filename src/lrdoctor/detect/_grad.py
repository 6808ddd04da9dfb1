"""The gradient-norm series the gradient detectors share (AMP-skipped steps removed)."""

from __future__ import annotations

import numpy as np

from lrdoctor.detect._stats import Curve, curve, rolling_median
from lrdoctor.io.config import lookup
from lrdoctor.run import Run, Series

__all__ = ["grad_curve", "max_grad_norm", "CLIP_KEYS"]

#: Config names of the gradient-clipping threshold in HF, Lightning, argparse scripts.
CLIP_KEYS = ("max_grad_norm", "gradient_clip_val", "clip_grad_norm", "grad_clip", "clip", "max_norm", "clip_grad")


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
    if ok.sum() < 10:
        return None
    pos = f if ok.all() else Series(f.name, f.steps[ok], f.values[ok])
    c = curve(Series("grad_norm", pos.steps, np.log10(pos.values)))
    w = max(5, len(c) // 25) | 1
    return c, rolling_median(c.mid, w)


def max_grad_norm(run: Run) -> tuple[str, float] | None:
    hit = lookup(run.config, CLIP_KEYS)
    if hit is None:
        return None
    try:
        v = float(hit[1])
    except (TypeError, ValueError):
        return None
    return (hit[0], v) if v > 0 else None
