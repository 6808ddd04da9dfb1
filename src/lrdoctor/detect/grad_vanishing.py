"""``grad_vanishing``: the gradient norm collapses by orders of magnitude while the loss
is not improving (small gradients at a converged loss are normal and not reported)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.detect._common import objective, zero_is_exact
from lrdoctor.fmt import fmt
from lrdoctor.detect._grad import CURVE_MIN_POINTS, grad_curve
from lrdoctor.detect._stats import value_at
from lrdoctor.detect import needs
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.run import Run

__all__ = ["GradVanishingThresholds", "detect"]


@dataclass(frozen=True)
class GradVanishingThresholds(Thresholds):
    factor: float = 1e-3
    """Late trend below this share of the early level (three orders of magnitude: the
    attenuation Hochreiter 1991 / Bengio et al. 1994 describe for deep sigmoid/RNN stacks)."""
    absolute: float = 1e-7
    """Or below this absolute norm: float32 updates of that size no longer move weights ~1."""
    stalled: float = 0.05
    """The loss trend improved less than 5% over the vanishing stretch."""
    zero_decimals: int = 8
    """A text log's printed zero counts only with 8+ decimals: Megatron prints "grad norm:
    0.000" on every line when it does not compute the norm, and any norm below 5e-4 prints so."""
    zero_points: int = 2
    """A gradient norm printed as exactly 0 on at least 2 reports, and on at least half of
    them, with a non-zero LR: no gradient reaches the parameters at all (frozen or detached
    parameters, a loss not connected to the model) or the norm is not computed (a reporting
    artefact of some sharded setups). One zero proves nothing: a skipped step logs 0."""
    zero_but_learning: float = 0.1
    """...unless the training loss fell by more than 10% from the first zero report to the last:
    a model that receives no gradient cannot improve, so the logged norm is not the gradient's
    (TRL's ORPO with GaLore logs 'grad_norm': 0.0 on every line while its loss falls 1.54 ->
    1.23). 10%: twice the trend rule's ``stalled``, so a frozen model's batch-to-batch scatter
    over a few reports does not pass for learning."""


DEFAULTS = GradVanishingThresholds()


class GradVanishingEvidence(Evidence):
    """What a ``grad_vanishing`` finding proves itself with (keys absent when not measured)."""

    early_grad_norm: float
    late_grad_norm: float
    from_step: float
    loss_at_start: float
    loss_at_end: float
    zero_reports: int
    reports: int


def _needs(run: Run, th: GradVanishingThresholds) -> str | None:
    """Five gradient-norm points for the trend rule, or ``zero_points`` for the exactly-zero rule
    and the below-``absolute`` rule of a short log."""
    why = needs.grad(run)
    if why and needs.points(run, "grad_norm") >= th.zero_points:
        return None
    return why


def _zero_gradient(run: Run, th: GradVanishingThresholds) -> list[Finding]:
    g = run.series("grad_norm")
    if g is None:
        return []
    f = g.finite()
    zero = f.values == 0
    if int(zero.sum()) < th.zero_points or zero.mean() < 0.5:
        return []
    if not zero_is_exact(run, "grad_norm", th.zero_decimals):
        return []  # a coarse printed 0 may be any small norm, or one that was not computed
    if _lr_is_zero(run):
        return []  # at LR 0 a zero update is expected (the LR rule says why)
    i = int(np.flatnonzero(zero)[0])
    if _loss_fell(run, float(f.steps[i]), float(f.steps[-1]), th):
        return []  # the loss fell meanwhile: gradients reached the weights, the logged norm is not theirs
    ev = {"zero_reports": int(zero.sum()), "reports": int(zero.size), "from_step": float(f.steps[i])}
    summary = (f"the gradient norm is exactly 0 on {int(zero.sum())} of {zero.size} reports (from step "
               f"{fmt(float(f.steps[i]))}): no gradient reaches the parameters")
    cause = ("Nothing is being trained: the parameters are frozen or detached from the loss (requires_grad "
             "off, a no_grad block, a loss built from detached tensors, an adapter that is not attached), or "
             "the norm is not computed in this setup (some sharded/offloaded runs report 0).")
    return [Finding("grad_vanishing", Severity.WARNING, float(f.steps[i]), float(f.steps[-1]), summary, ev, cause)]


def _lr_is_zero(run: Run) -> bool:
    """True when every finite LR report is 0 or below: then a zero update is expected (the LR rule says why)."""
    lr = run.series("lr")
    return lr is not None and lr.finite().values.size > 0 and bool((lr.finite().values <= 0).all())


def _loss_fell(run: Run, start: float, end: float, th: GradVanishingThresholds) -> bool:
    """True when the training objective fell by more than ``zero_but_learning`` from ``start`` to
    ``end``: a model whose gradient does not reach it cannot improve, so the logged norm is not the
    gradient's."""
    loss = objective(run)
    a, b = value_at(loss, start), value_at(loss, end)
    return a is not None and b is not None and a > 0 and (a - b) / a > th.zero_but_learning


def _below_resolution(run: Run, th: GradVanishingThresholds) -> list[Finding]:
    """A log too short for the trend (fewer than ``CURVE_MIN_POINTS`` finite reports) whose every
    finite gradient-norm report, at least ``zero_points`` of them, is positive and below
    ``absolute``: the trend rule's absolute floor, read on every report instead of the late median.
    No early level is needed: a norm of 1e-7 or less moves float32 weights of order 1 by nothing,
    whatever it started from (wav2vec 2.0 pre-training whose contrastive loss collapsed to 0:
    grad_norm 8.1e-19, 4.0e-19, 5.2e-19 at an LR of 1.6e-3, the loss fixed at 0.09969). Same guards
    as the exactly-zero rule: not at an LR of 0, not while the loss falls."""
    g = run.series("grad_norm")
    if g is None:
        return []
    f = g.finite()
    v = f.values
    if v.size < th.zero_points or v.size >= CURVE_MIN_POINTS or not ((v > 0) & (v < th.absolute)).all():
        return []
    if _lr_is_zero(run) or _loss_fell(run, float(f.steps[0]), float(f.steps[-1]), th):
        return []
    ev = {"early_grad_norm": float(v[0]), "late_grad_norm": float(v[-1]), "from_step": float(f.steps[0]),
          "reports": int(v.size)}
    summary = (f"the gradient norm is below {fmt(th.absolute)} on all {v.size} reports (at most {fmt(float(v.max()))}): "
               f"updates that small do not move the weights")
    cause = ("The gradient no longer reaches the weights: the loss collapsed to a degenerate solution with no "
             "signal left (a contrastive or adversarial loss at its trivial minimum), saturated activations, "
             "or parameters detached from the loss.")
    return [Finding("grad_vanishing", Severity.WARNING, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)]


@detector("grad_vanishing", thresholds=DEFAULTS, evidence=GradVanishingEvidence, needs=_needs)
def detect(run: Run, th: GradVanishingThresholds = DEFAULTS) -> list[Finding]:
    zero = _zero_gradient(run, th)
    if zero:
        return zero
    got = grad_curve(run)
    if got is None:
        return _below_resolution(run, th)
    c, sm = got
    k = max(1, len(c) // 10)
    early, late = float(np.median(c.mid[:k])), float(np.median(c.mid[-k:]))
    if not (late - early < np.log10(th.factor) or late < np.log10(th.absolute)):
        return []
    i = int(np.flatnonzero(sm - early < np.log10(th.factor) / 2)[0]) if (sm - early < np.log10(th.factor) / 2).any() else len(c) - k
    start = float(c.first[i])
    loss = objective(run)
    a, b = value_at(loss, start), value_at(loss, float(c.step[-1]))
    if a is not None and b is not None and a != 0 and (a - b) / abs(a) > th.stalled:
        return []
    ev = {"early_grad_norm": 10 ** early, "late_grad_norm": 10 ** late, "from_step": start,
          "loss_at_start": a, "loss_at_end": b}
    summary = f"gradient norm fell from {fmt(10 ** early)} to {fmt(10 ** late)} while the loss stopped improving"
    cause = ("Gradients vanish before reaching the weights: saturating activations, a too-deep stack without "
             "residuals/normalisation, or an LR so high that the model fell into a dead region (dead ReLUs).")
    return [Finding("grad_vanishing", Severity.WARNING, start, float(c.step[-1]), summary, ev, cause)]


@fix_rule("grad_vanishing")
def fix_grad_vanishing(run: Run, f: Finding) -> Prescription:
    return Prescription([Fix("architecture", None, None, "let gradients reach early layers",
                             note="residual connections + LayerNorm/BatchNorm"),
             Fix("activation", None, None, "saturating activations attenuate gradients",
                 note="ReLU/GELU instead of sigmoid/tanh")], [Watch("grad_norm", "no drop of 1000x while the loss is flat", "a collapse means the signal no longer reaches the weights")])
