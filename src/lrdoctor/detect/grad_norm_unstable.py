"""``grad_norm_unstable``: frequent gradient-norm spikes of 10x above the trend.

Gradient spikes precede loss spikes in Adam-trained models (Molybog et al. 2023, "A
Theory on Adam Instability in Large-Scale Machine Learning"); several of them mean the
run sits at the edge of stability even while the loss still looks fine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect._grad import curve_points, grad_curve
from lrdoctor.detect._stats import runs_of
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import SOFT_LR_CUT, WATCH_GRAD, lr_fix
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity
from lrdoctor.run import Run

__all__ = ["GradUnstableThresholds", "detect"]


@dataclass(frozen=True)
class GradUnstableThresholds(Thresholds):
    spike_factor: float = 10.0
    """A spike is a point 10x above the rolling median (one order of magnitude)."""
    min_spikes: int = 3
    """Fewer spikes than this are isolated events, not instability (cf. sb3-acrobot: one KL spike)."""
    min_share: float = 0.01
    """And spikes must hit at least 1% of the logged points."""


DEFAULTS = GradUnstableThresholds()


class GradNormUnstableEvidence(Evidence):
    """What a ``grad_norm_unstable`` finding proves itself with (keys absent when not measured)."""

    spikes: int
    spike_steps: list
    median_grad_norm: float
    max_grad_norm_seen: float


@detector("grad_norm_unstable", thresholds=DEFAULTS, evidence=GradNormUnstableEvidence, needs=curve_points)
def detect(run: Run, th: GradUnstableThresholds = DEFAULTS) -> list[Finding]:
    got = grad_curve(run)
    if got is None:
        return []
    c, sm = got
    spikes = runs_of(c.hi - sm > np.log10(th.spike_factor))
    if len(spikes) < th.min_spikes or len(spikes) < th.min_share * len(c):
        return []
    steps = [float(c.step[a + int(np.argmax(c.hi[a:b]))]) for a, b in spikes]
    ev = {"spikes": len(spikes), "spike_steps": steps[:20], "median_grad_norm": float(10 ** np.median(c.mid)),
          "max_grad_norm_seen": float(10 ** c.hi.max())}
    summary = (f"{len(spikes)} gradient-norm spikes of >{th.spike_factor:.0f}x the trend "
               f"(median {fmt(ev['median_grad_norm'])}, max {fmt(ev['max_grad_norm_seen'])})")
    cause = "The optimiser is at the edge of stability: rare large gradients (outlier batches, Adam with a small epsilon/beta2 lag) jolt the weights."
    return [Finding("grad_norm_unstable", Severity.WARNING, steps[0], steps[-1], summary, ev, cause)]


@fix_rule("grad_norm_unstable")
def fix_grad_norm_unstable(run: Run, f: Finding) -> Prescription:
    return Prescription([lr_fix(run, f, SOFT_LR_CUT, "frequent 10x gradient spikes: halve the LR"),
             Fix("adam_epsilon", None, 1e-6, "a larger epsilon damps updates of parameters with tiny second moments")], [WATCH_GRAD])
