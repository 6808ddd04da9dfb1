"""``grad_explosion``: the gradient norm's trend climbs an order of magnitude above its
best level and stays there."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.detect._common import fmt
from lrdoctor.detect._grad import grad_curve, max_grad_norm, top_layers
from lrdoctor.detect._stats import runs_of
from lrdoctor.finding import Finding, Severity
from lrdoctor.run import Run

__all__ = ["GradExplosionThresholds", "detect"]


@dataclass(frozen=True)
class GradExplosionThresholds:
    factor: float = 10.0
    """Trend above this multiple of its running minimum. Source: post-mortem #1 red flag
    "grad norm > 10 despite clipping" (with clip 1.0, i.e. 10x the clipped norm)."""
    min_fraction: float = 0.05
    """Shortest sustained stretch, as a share of the logged points."""


DEFAULTS = GradExplosionThresholds()


def detect(run: Run, th: GradExplosionThresholds = DEFAULTS) -> list[Finding]:
    got = grad_curve(run)
    if got is None:
        return []
    c, sm = got
    floor = np.minimum.accumulate(sm)
    hot = sm - floor > np.log10(th.factor)
    need = max(3, int(th.min_fraction * len(c)))
    runs = [(a, b) for a, b in runs_of(hot) if b - a >= need]
    if not runs:
        return []
    a, b = runs[0]
    ib = int(np.argmin(sm[:a])) if a else 0
    ev = {"baseline_grad_norm": float(10 ** sm[ib]), "baseline_step": float(c.step[ib]),
          "peak_grad_norm": float(10 ** c.hi[a:b].max()), "onset_step": float(c.first[a]),
          "ratio": float(10 ** (sm[a:b].max() - sm[ib]))}
    clip = max_grad_norm(run)
    if clip:
        ev["max_grad_norm"] = clip[1]
    layers = top_layers(run, ev["onset_step"])
    if layers:
        ev["largest_layers"] = layers
    sev = Severity.ERROR if b == len(c) else Severity.WARNING
    summary = (f"gradient norm rose {ev['ratio']:.0f}x above its level of {fmt(ev['baseline_grad_norm'])} "
               f"from step {fmt(ev['onset_step'])} (peak {fmt(ev['peak_grad_norm'])})")
    if layers:
        summary += f"; largest gradient in layer {layers[0]['layer']} ({fmt(layers[0]['grad_norm'])})"
    cause = "Updates are feeding on themselves: the LR is too high for the curvature the model has reached, or clipping is missing."
    return [Finding("grad_explosion", sev, ev["onset_step"], float(c.step[b - 1]), summary, ev, cause)]
