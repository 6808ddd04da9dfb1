"""``overfitting``: the training loss keeps falling while the evaluation loss rises from
its minimum. Reports the evaluation minimum's step: where early stopping would have stopped."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect._stats import diff_sigma, value_at
from lrdoctor.detect import needs
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.config import config_value
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.run import Run

__all__ = ["OverfittingThresholds", "detect"]


@dataclass(frozen=True)
class OverfittingThresholds(Thresholds):
    generalization_loss: float = 0.05
    """Eval loss above its minimum by this share at the end: Prechelt's GL_5 criterion
    ("Early Stopping — But When?", 1998)."""
    min_after: int = 3
    """Evaluation points after the minimum, all above it (a single bad eval is noise)."""
    noise_k: float = 3.0
    """And the rise exceeds 3 robust sigmas of eval-to-eval noise."""


DEFAULTS = OverfittingThresholds()


class OverfittingEvidence(Evidence):
    """What a ``overfitting`` finding proves itself with (keys absent when not measured)."""

    eval_min_step: float
    eval_min: float
    eval_last: float
    generalization_loss: float
    train_at_eval_min: float
    train_last: float


@detector("overfitting", thresholds=DEFAULTS, evidence=OverfittingEvidence, needs=needs.eval_and_train_loss)
def detect(run: Run, th: OverfittingThresholds = DEFAULTS) -> list[Finding]:
    ev_s, tr = run.series("eval_loss"), run.series("loss")
    if ev_s is None or tr is None or run.is_rl:
        return []
    e = ev_s.finite()
    if e.values.size < th.min_after + 2:
        return []
    i = int(np.argmin(e.values))
    after = e.values[i + 1:]
    if after.size < th.min_after:
        return []
    # Prechelt's GL(t) = E_va(t) / E_opt(t) - 1 at the current (last) evaluation; noise is
    # guarded by every point after the minimum being above it and by ``noise_k``
    emin, elast = float(e.values[i]), float(e.values[-1])
    gl = (elast - emin) / abs(emin) if emin else np.inf
    if gl < th.generalization_loss or (after <= emin).any():
        return []
    noise = diff_sigma(e.values)
    if elast - emin < th.noise_k * noise:
        return []
    t_at_min, t_end = value_at(tr, float(e.steps[i])), value_at(tr, float(e.steps[-1]))
    if t_at_min is None or t_end is None:
        return []
    tv = tr.finite()
    since = tv.values[tv.steps >= float(e.steps[i])]
    t_noise = diff_sigma(since) if since.size >= 4 else 0.0
    if t_end - t_at_min > max(th.noise_k * t_noise, th.generalization_loss * abs(t_at_min)):
        return []  # the training loss rose too: that is divergence, not overfitting
    # (a training loss that fell, or sits at its floor within its noise, is memorising:
    # a Keras MLP at 0.004-0.012 while val_loss doubles 0.113 -> 0.226)
    ev = {"eval_min_step": float(e.steps[i]), "eval_min": emin, "eval_last": elast,
          "generalization_loss": gl, "train_at_eval_min": t_at_min, "train_last": t_end}
    trend = "fell" if t_end < t_at_min else "stayed near its floor,"
    summary = (f"eval loss rose {gl:.0%} above its minimum {fmt(emin)} (step {fmt(ev['eval_min_step'])}) "
               f"while training loss {trend} {fmt(t_at_min)} -> {fmt(t_end)}")
    cause = "The model memorises the training data after the eval minimum: too many steps for the data, too little regularisation, or an LR that stays high."
    return [Finding("overfitting", Severity.WARNING, float(e.steps[i]), float(e.steps[-1]), summary, ev, cause)]


@fix_rule("overfitting")
def fix_overfitting(run: Run, f: Finding) -> Prescription:
    ev = f.evidence
    return Prescription([Fix("max_steps", None, None, "the eval minimum",
                             note=f"stop at step {fmt(ev['eval_min_step'])} (early stopping, patience 3 evals)"),
             Fix("weight_decay", config_value(run.config, ("weight_decay", "wd")), None, "regularise instead of memorising",
                 note="0.01-0.1 (AdamW)")], [Watch("eval_loss", f"stays within 5% of its minimum {fmt(ev['eval_min'])}", "a rise while train falls is overfitting")])
