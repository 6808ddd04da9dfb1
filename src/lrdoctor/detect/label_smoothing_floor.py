"""``label_smoothing_floor``: the loss sits at the floor that label smoothing imposes.

With smoothing epsilon over K classes the target is q = (1-eps) one-hot + eps/K, and the
cross-entropy cannot go below H(q) = -(1-eps+eps/K) ln(1-eps+eps/K) - (K-1)(eps/K) ln(eps/K).
A loss near that floor is done improving *as a loss*; judge it by accuracy instead. A
loss below the floor means the logged loss is not the smoothed one (or the config is wrong).
Source: Szegedy et al. 2016 (label smoothing); the classifier post-mortem (#4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.detect._classes import label_smoothing, num_classes
from lrdoctor.detect._common import objective
from lrdoctor.fmt import fmt
from lrdoctor.detect import needs
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.run import Run

__all__ = ["LabelSmoothingThresholds", "detect", "smoothing_floor"]


@dataclass(frozen=True)
class LabelSmoothingThresholds(Thresholds):
    near: float = 0.15
    """Late loss within 15% of the floor (relative) counts as at the floor."""
    tail_fraction: float = 0.1
    """The late loss is the median of the last 10% of points."""
    min_points: int = 5
    """Loss reports the check reads. The late loss is the median of the last ``tail_fraction`` of
    them, at least one report, and on a handful of reports that one report is still on the way
    down, not at a floor: five is the smallest window the trend rules smooth a loss over (a rolling
    median of 5), the fewest that show where a curve settles."""


DEFAULTS = LabelSmoothingThresholds()


def smoothing_floor(eps: float, k: int) -> float:
    """Minimum cross-entropy against smoothed targets.

    >>> round(smoothing_floor(0.1, 10), 4)
    0.5003
    """
    hi = 1 - eps + eps / k
    lo = eps / k
    return float(-hi * np.log(hi) - (k - 1) * lo * np.log(lo))


class LabelSmoothingFloorEvidence(Evidence):
    """What a ``label_smoothing_floor`` finding proves itself with (keys absent when not measured)."""

    floor: float
    late_loss: float
    label_smoothing: float
    num_classes: float


def _needs(run: Run, th: LabelSmoothingThresholds) -> str | None:
    """Label smoothing and the class count in the config, and ``min_points`` loss reports: the late
    loss is a median of the last reports."""
    return needs.with_loss_points(needs.label_smoothing_and_loss, th.min_points,
                                  "the late loss is a median of the last reports")(run)


@detector("label_smoothing_floor", thresholds=DEFAULTS, evidence=LabelSmoothingFloorEvidence, needs=_needs)
def detect(run: Run, th: LabelSmoothingThresholds = DEFAULTS) -> list[Finding]:
    s, k, e = objective(run), num_classes(run), label_smoothing(run)
    if s is None or k is None or e is None:
        return []
    f = s.finite()
    if f.values.size < th.min_points:
        return []
    floor = smoothing_floor(e[1], k[1])
    tail = f.values[-max(1, int(th.tail_fraction * f.values.size)):]
    late = float(np.median(tail))
    ev = {"floor": floor, "late_loss": late, "label_smoothing": e[1], "num_classes": k[1]}
    if late < floor * (1 - th.near):
        summary = f"loss {fmt(late)} is below the label-smoothing floor {fmt(floor)} (eps={e[1]}, K={k[1]})"
        cause = "The logged loss cannot be cross-entropy against eps-smoothed targets: the config or the logged metric is not what it seems."
        return [Finding("label_smoothing_floor", Severity.WARNING, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)]
    if late <= floor * (1 + th.near):
        summary = (f"loss {fmt(late)} is at the floor {fmt(floor)} that label smoothing eps={e[1]} over "
                   f"{k[1]} classes allows: it cannot fall further")
        cause = "Not a stall: label smoothing puts a floor under the loss. Watch accuracy; if smoothing ran from step 0 it also slowed the start."
        return [Finding("label_smoothing_floor", Severity.INFO, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)]
    return []


@fix_rule("label_smoothing_floor")
def fix_label_smoothing_floor(run: Run, f: Finding) -> Prescription:
    ev = f.evidence
    fixes = [Fix("label_smoothing_start", None, None, "post-mortem #4: smoothing from step 0 slowed the start",
                 note="after warmup (epoch 1+)")]
    return Prescription(fixes, [Watch("accuracy", "still rising", f"the loss cannot show progress below its floor {fmt(ev['floor'])}")])
