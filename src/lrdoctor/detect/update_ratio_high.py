"""``update_ratio_high``: each step changes the weights by too large a share of their size.

The update-to-weight ratio ||Δw|| / ||w|| (the Monitor measures it every 100 steps by default;
logs may carry it as ``update_ratio``) should sit near 1e-3: "if it is much higher the learning
rate is likely too high" (Karpathy, CS231n notes, "Ratio of weights:updates"). Measured here:
healthy Adam 1e-3 and SGD 0.05 MLPs run at 2e-4..6e-4; Adam 1e-1 on the same model at 2e-2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import lr_fix
from lrdoctor.detect.registry import CannotJudge, Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Severity, Watch
from lrdoctor.run import Run

__all__ = ["UpdateRatioThresholds", "detect"]


@dataclass(frozen=True)
class UpdateRatioThresholds(Thresholds):
    high: float = 1e-2
    """Ratio above 10x CS231n's ~1e-3 rule of thumb."""
    share: float = 0.5
    """At least half of the measurements after the first ``skip_share`` of the run are above ``high``."""
    min_points: int = 5
    """Fewer measurements than this after the first ``skip_share`` of the run: nothing is said, and
    the coverage says the check could not run (a share of four or fewer is one measurement's noise)."""
    skip_share: float = 0.1
    """The first 10% of the run's steps are left out: early updates of a fresh network are large by
    nature (the warm-up of the ratio itself)."""
    target: float = 1e-3
    """The ratio the suggested LR aims at."""


DEFAULTS = UpdateRatioThresholds()


class UpdateRatioHighEvidence(Evidence):
    """What a ``update_ratio_high`` finding proves itself with (keys absent when not measured)."""

    median_ratio: float
    share_above: float
    threshold: float
    points: int
    suggested_lr_factor: float


@detector("update_ratio_high", thresholds=DEFAULTS, evidence=UpdateRatioHighEvidence,
          needs=needs.column("update_ratio", what="update-ratio (||dw||/||w||; the Monitor measures it)"))
def detect(run: Run, th: UpdateRatioThresholds = DEFAULTS) -> list[Finding]:
    """Judges the ``min_points``+ measurements after the first ``skip_share`` of the run; on fewer
    it says it could not (:class:`CannotJudge`)."""
    f = run.series("update_ratio").finite()
    keep = f.steps >= f.steps[0] + th.skip_share * (f.steps[-1] - f.steps[0]) if f.values.size else np.zeros(0, bool)
    steps, r = f.steps[keep], f.values[keep]
    if r.size < th.min_points:
        raise CannotJudge(f"only {r.size} update-ratio point(s) after the first {th.skip_share:.0%} of the run; "
                          f"needs {th.min_points}")
    above = r > th.high
    if above.mean() < th.share:
        return []
    med = float(np.median(r))
    ev = {"median_ratio": med, "share_above": float(above.mean()), "threshold": th.high, "points": int(r.size),
          "suggested_lr_factor": float(np.clip(th.target / med, 0.1, 0.5))}
    return [Finding(
        "update_ratio_high", Severity.WARNING, float(steps[np.argmax(above)]), float(steps[-1]),
        f"updates change the weights by {fmt(med)} of their norm per step (median; {above.mean():.0%} of "
        f"measurements above {fmt(th.high)}, ~1e-3 is typical)", ev,
        "The learning rate is high for this model's weight scale: each step rewrites a large share of the "
        "weights, which shows as noisy or stalled loss before it shows as divergence.",
    )]


@fix_rule("update_ratio_high")
def fix_update_ratio_high(run: Run, f: Finding) -> Prescription:
    k = f.evidence["suggested_lr_factor"]
    return Prescription([lr_fix(run, f, k, f"bring the update-to-weight ratio from {fmt(f.evidence['median_ratio'])} toward 1e-3")], [Watch("update_ratio", "1e-4 .. 1e-2 (about 1e-3)", "above 1e-2 the step rewrites too much of the weights")])
