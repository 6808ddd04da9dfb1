"""``clipping_saturated``: the pre-clip gradient norm is at or above ``max_grad_norm`` on
most steps, so clipping rescales nearly every update and the LR is no longer the step size."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect._grad import clip_signal, max_grad_norm
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import SOFT_LR_CUT, lr_fix
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.run import Run

__all__ = ["ClippingThresholds", "detect"]


@dataclass(frozen=True)
class ClippingThresholds(Thresholds):
    share: float = 0.8
    """Share of steps clipped that counts as saturated. Source: the LoRA/RAFT post-mortem
    (#3) reads clipping frequency against max_grad_norm; clipping is meant for outliers, so
    clipping most steps means the threshold or the LR is wrong."""
    skip_fraction: float = 0.1
    """The first 10% of the run (large early gradients) are not counted."""


DEFAULTS = ClippingThresholds()


def _from_columns(run: Run, th: ClippingThresholds) -> list[Finding]:
    """Clipping logged per step: a clip coefficient (``min(1, max_norm/norm)``, < 1 when
    clipped), a share of clipped steps (fairseq's ``clip=100%``), or the threshold as a column."""
    sig = clip_signal(run)
    if sig is None or sig.kind == "threshold" and sig.value is not None:
        return []
    if sig.kind == "threshold":
        g, t = run.series("grad_norm"), run.series("max_grad_norm")
        if g is None or t is None:
            return []
        gs, ts = g.finite(), t.finite()
        thr = np.interp(gs.steps, ts.steps, ts.values) if ts.values.size else None
        if thr is None or gs.values.size < 5:
            return []
        clipped, steps = gs.values >= thr, gs.steps
    else:
        name = "clip_coef" if sig.kind == "coef" else "grad_clip_fraction"
        s = run.series(name).finite()
        if s.values.size < 3:
            return []
        if sig.kind == "coef":
            clipped = s.values < 1.0 - 1e-6
        else:
            frac = s.values / (100.0 if s.values.max() > 1.0 else 1.0)
            clipped = frac >= th.share
        steps = s.steps
    keep = steps >= steps[0] + th.skip_fraction * (steps[-1] - steps[0])
    share = float(clipped[keep].mean()) if keep.any() else float(clipped.mean())
    if share < th.share:
        return []
    ev = {"clip_signal": sig.kind, "column": sig.source, "clipped_share": share, "points": int(keep.sum())}
    summary = f"clipping acted on {share:.0%} of the logged steps (from column {sig.source!r})"
    cause = ("Clipping acts on almost every step: updates are normalised gradient steps of size lr x max_grad_norm, "
             "which hides how large the LR really is and slows learning.")
    return [Finding("clipping_saturated", Severity.WARNING, float(steps[0]), float(steps[-1]), summary, ev, cause)]


class ClippingSaturatedEvidence(Evidence):
    """What a ``clipping_saturated`` finding proves itself with (keys absent when not measured)."""

    clip_signal: str
    column: str
    clipped_share: float
    points: int
    max_grad_norm: float
    config_key: str
    median_pre_clip_norm: float
    steps_counted: int


@detector("clipping_saturated", thresholds=DEFAULTS, evidence=ClippingSaturatedEvidence, needs=needs.clipping)
def detect(run: Run, th: ClippingThresholds = DEFAULTS) -> list[Finding]:
    g, clip = run.series("grad_norm"), max_grad_norm(run)
    if clip is None:
        return _from_columns(run, th)
    if g is None:
        return []
    f = g.finite()
    if f.values.size < 10:
        return []
    f = f.at_or_after(f.steps[0] + th.skip_fraction * (f.steps[-1] - f.steps[0]))
    clipped = f.values >= clip[1]
    share = float(clipped.mean())
    if share < th.share:
        return []
    med = float(np.median(f.values))
    ev = {"max_grad_norm": clip[1], "config_key": clip[0], "clipped_share": share,
          "median_pre_clip_norm": med, "steps_counted": int(f.values.size)}
    summary = f"{share:.0%} of steps were clipped at max_grad_norm={fmt(clip[1])} (median pre-clip norm {fmt(med)})"
    cause = ("Clipping acts on almost every step: updates are normalised gradient steps of size lr x max_grad_norm, "
             "which hides how large the LR really is and slows learning.")
    return [Finding("clipping_saturated", Severity.WARNING, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)]


@fix_rule("clipping_saturated")
def fix_clipping_saturated(run: Run, f: Finding) -> Prescription:
    ev = f.evidence
    if "median_pre_clip_norm" in ev:
        clip = Fix("max_grad_norm", ev["max_grad_norm"], float(f"{ev['median_pre_clip_norm']:.2g}"),
                   "set the clip near the median pre-clip norm so it catches outliers only")
    else:  # clipping seen through a logged clip share or coefficient: no pre-clip norm to quote
        clip = Fix("max_grad_norm", None, None, "a clip that catches only outliers; the log shows clipping on nearly every step",
                   note="the median pre-clip grad norm (log it)")
    return Prescription([clip,
             lr_fix(run, f, SOFT_LR_CUT, "with the clip loosened, the raw LR sets the step: halve it to keep the same step size")], [Watch("clip share", "< 20% of steps clipped", "clipping most steps hides the effective LR")])
