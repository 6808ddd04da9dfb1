"""``lr_beyond_stability`` read from a log: the loss went nowhere at the initial LR and
dropped as soon as the LR was cut.

A healthy step-decay run also drops at a cut (ResNet's famous steps), but only after it
had already learned; here nothing was learned before the cut. Judged only on a log that starts
at the start of training: an excerpt from mid-run learned before its first line. Source: the RNN_TANH
word-LM run at lr 20 (loss ~18 for three epochs, 8.4 right after the cut to 5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.detect._common import objective
from lrdoctor.fmt import fmt
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import WATCH_LOSS, current_lr
from lrdoctor.config import config_value
from lrdoctor.detect.initial_loss_anomaly import starts_at_the_start
from lrdoctor.detect.warmup_missing import WARMUP_KEYS
from lrdoctor.detect.registry import CannotJudge, Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity
from lrdoctor.run import Run

__all__ = ["LrResponseThresholds", "detect"]


@dataclass(frozen=True)
class LrResponseThresholds(Thresholds):
    cut_factor: float = 2.0
    """An LR cut is a drop by at least this factor between logged values (step decay, annealing)."""
    no_progress: float = 0.05
    """Before the cut the loss trend stayed within 5% of its first value (nothing learned)."""
    drop_after: float = 0.2
    """After the cut the loss fell at least 20% below its pre-cut level."""
    min_before: int = 5
    """Loss reports before the cut: the first and last fifth of them give the two levels whose gap
    is the progress at the initial LR, so five is the fewest on which each fifth is a report."""
    min_after: int = 3
    """Loss reports from the cut on: the level after the cut is their median of three, which one
    noisy report cannot set."""
    min_points: int = 10
    """Loss reports the check reads at all: the two windows (``min_before`` + ``min_after``) and two
    to spare, so that a cut can fall anywhere in the middle of the log."""


DEFAULTS = LrResponseThresholds()


class LrBeyondStabilityEvidence(Evidence):
    """What a ``lr_beyond_stability`` finding proves itself with (keys absent when not measured)."""

    lr_before: float
    lr_after: float
    cut_step: float
    loss_first: float
    loss_before_cut: float
    loss_after_cut: float
    progress_before_cut: float
    drop_after_cut: float
    lambda_max: float
    preconditioned_lambda_max: float | None
    lr: float
    max_stable_lr: float
    lr_over_max_stable_lr: float
    stability_constant: float
    update_rule: str
    hvps: int
    relative_error_estimate: float
    loss: float


def _first_cut(lr: np.ndarray, th: LrResponseThresholds) -> int | None:
    """Index of the last logged LR before the first cut (a drop by ``cut_factor`` or more between
    two logged values), or None when the LR was never cut."""
    cuts = np.flatnonzero((lr[1:] > 0) & (lr[:-1] >= th.cut_factor * lr[1:]))
    return int(cuts[0]) if cuts.size else None


@detector("lr_beyond_stability", thresholds=DEFAULTS, evidence=LrBeyondStabilityEvidence, needs=needs.lr_and_loss)
def detect(run: Run, th: LrResponseThresholds = DEFAULTS) -> list[Finding]:
    """The rule reads the loss's answer to an LR cut, so a log too short for its windows
    (``min_points``, ``min_before`` before the cut, ``min_after`` from it), or one whose LR was never
    cut (a constant LR, a smooth cosine), cannot be judged: it says so (:class:`CannotJudge`)
    rather than reading as checked and silent."""
    s, lr = objective(run), run.series("lr")
    if s is None or lr is None:
        raise CannotJudge(needs.lr_and_loss(run) or "no training loss and learning rate to compare")
    f, l = s.finite(), lr.finite()
    if f.values.size < th.min_points:
        raise CannotJudge(f"only {f.values.size} loss point(s); needs {th.min_points} (a stretch before an LR cut and one after it)")
    i = _first_cut(l.values, th)
    if i is None:
        raise CannotJudge(f"the logged LR was never cut by {th.cut_factor:g}x between two reports: the check reads the "
                          "loss's answer to a cut")
    cut_step = float(l.steps[i + 1])
    before = f.values[f.steps < cut_step]
    after = f.values[f.steps >= cut_step]
    if before.size < th.min_before or after.size < th.min_after:
        raise CannotJudge(f"{before.size} loss report(s) before the LR cut at step {fmt(cut_step)} and {after.size} from "
                          f"it; needs {th.min_before} and {th.min_after}")
    q = max(1, before.size // 5)
    first, last_before = float(np.median(before[:q])), float(np.median(before[-q:]))
    first_after = float(np.median(after[: max(th.min_after, q)]))
    progress = (first - last_before) / abs(first) if first else 0.0
    drop = (last_before - first_after) / abs(last_before) if last_before else 0.0
    if progress > th.no_progress or drop < th.drop_after:
        return []
    if not starts_at_the_start(run):
        return []  # an excerpt from mid-run (epochs 112-131 of a step schedule) learned before it began:
        # a flat stretch before a scheduled cut is no "nothing learned at the initial LR"
    ev = {"lr_before": float(l.values[i]), "lr_after": float(l.values[i + 1]), "cut_step": cut_step,
          "loss_first": first, "loss_before_cut": last_before, "loss_after_cut": first_after,
          "progress_before_cut": progress, "drop_after_cut": drop}
    sev = Severity.ERROR if progress < 0 else Severity.WARNING
    summary = (f"no progress at lr {fmt(ev['lr_before'])} (loss {fmt(first)} -> {fmt(last_before)}), "
               f"then {drop:.0%} lower right after the cut to {fmt(ev['lr_after'])} at step {fmt(cut_step)}")
    cause = "The initial learning rate was beyond the stable range: the run only started learning once the LR came down."
    return [Finding("lr_beyond_stability", sev, float(f.steps[0]), cut_step, summary, ev, cause)]


@fix_rule("lr_beyond_stability")
def fix_lr_beyond_stability(run: Run, f: Finding) -> Prescription:
    after = f.evidence.get("lr_after")
    old, src = current_lr(run, f.start_step)
    return Prescription([Fix("lr", old, after, f"the run only learned once the LR was {fmt(after)}: start there (old value: {src})"),
             Fix("warmup_steps", config_value(run.config, WARMUP_KEYS), None, "ramp up instead of starting at the peak",
                 note="2-5% of the steps")], [WATCH_LOSS])
