"""``grad_explosion``: the gradient norm's trend climbs an order of magnitude above its
best level and stays there."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect._grad import grad_curve, max_grad_norm, smoothing_window, top_layers
from lrdoctor.detect._stats import fill_dips, runs_of
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import DIVERGENCE_LR_CUT, WATCH_GRAD, lr_fix
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity
from lrdoctor.run import Run

__all__ = ["GradExplosionThresholds", "detect"]


@dataclass(frozen=True)
class GradExplosionThresholds(Thresholds):
    factor: float = 10.0
    """Trend above this multiple of its running minimum. Source: post-mortem #1 red flag
    "grad norm > 10 despite clipping" (with clip 1.0, i.e. 10x the clipped norm)."""
    min_fraction: float = 0.05
    """Shortest sustained stretch, as a share of the logged points."""
    cliff_factor: float = 100.0
    """A single step at least this multiple of the running median gradient norm is a
    cliff (Pascanu et al. 2013, "On the difficulty of training RNNs", fig. 6: one step off a
    cliff in the loss surface), reported when the loss reacts."""
    cliff_window: int = 20
    """Logged points before the step whose median is the reference level."""
    loss_reaction: float = 0.1
    """The loss after the cliff (next 3 logged points) rises at least 10% above its level
    just before: the step did harm, it was not a harmless outlier batch. Read the other way for a
    sustained rise: a loss that fell by 10% over it, never 10% above its level at the onset, is
    learning through it (see ``_learning_through``)."""
    few_points: int = 50
    """With at most this many grad-norm points, a jump of ``factor`` x that stays to the end
    (at least 2 points) is reported even though it is shorter than 3 points of trend."""
    tiny_factor: float = 1000.0
    """With fewer grad-norm points than the other gradient checks need (2-4: a pasted pair of
    rows), only a report at least this multiple of every one before it, with the loss at that
    report at least ``2`` x its level before, counts: three decades, the bar of
    ``divergence.final_jump``, is beyond any noise (mmdet issue 11708: grad_norm 3.46 ->
    3.1e7 while the loss went 1.50 -> 63.1)."""


DEFAULTS = GradExplosionThresholds()

_CLIFF_CAUSE = ("One update stepped off a cliff of the loss surface (Pascanu et al. 2013): an outlier batch or "
                "a sharp region met an LR with no gradient clipping (or a clip threshold far above the usual norm).")


def _cliff(run: Run, th: GradExplosionThresholds) -> list[Finding]:
    g = run.series("grad_norm")
    if g is None:
        return []
    f = g.finite()
    v, st = f.values, f.steps
    if v.size < 4:
        return []
    # running median of the preceding points (strided so a 10M-step log stays cheap)
    idx = np.arange(1, v.size)
    if v.size > 20000:
        idx = np.unique(np.r_[idx[:: max(1, v.size // 20000)], np.argsort(v)[-50:]])
        idx = idx[idx > 0]
    loss = run.series("loss")
    for i in idx[np.argsort(-v[idx])][:50]:
        ref = float(np.median(v[max(0, i - th.cliff_window): i]))
        if ref <= 0 or v[i] < th.cliff_factor * ref:
            continue
        reaction = _loss_reaction(loss, float(st[i]), th)
        if reaction is None:
            continue
        ev = {"cliff_step": float(st[i]), "grad_norm": float(v[i]), "running_median": ref,
              "ratio": float(v[i] / ref), "loss_before": reaction[0], "loss_after": reaction[1],
              "rule": f"single step >= {th.cliff_factor:g}x the running median, loss reacted"}
        summary = (f"gradient norm jumped to {fmt(ev['grad_norm'])} at step {fmt(ev['cliff_step'])}, {ev['ratio']:.0f}x "
                   f"its running median {fmt(ref)}, and the loss rose {fmt(reaction[0])} -> {fmt(reaction[1])}")
        return [Finding("grad_explosion", Severity.ERROR, ev["cliff_step"], ev["cliff_step"], summary, ev, _CLIFF_CAUSE)]
    return []


def _loss_reaction(loss, step: float, th: GradExplosionThresholds) -> tuple[float, float] | None:
    if loss is None:
        return None
    lf = loss.finite()
    i = int(np.searchsorted(lf.steps, step, side="left"))
    before = lf.values[max(0, i - 5): i]
    after = loss.values[np.searchsorted(loss.steps, step, side="left"):][:4]
    if before.size == 0 or after.size == 0:
        return None
    b = float(np.median(before))
    if not np.isfinite(after).all():
        return b, float("nan")
    a = float(np.max(after))
    if a - b > th.loss_reaction * abs(b):
        return b, a
    return None


def _few_points(run: Run, th: GradExplosionThresholds) -> list[Finding]:
    from lrdoctor.detect.divergence import few_point_rise

    g = run.series("grad_norm")
    if g is None:
        return []
    f = g.finite()
    if f.values.size > th.few_points:
        return []
    got = few_point_rise(f.values, th.factor, 2)
    if got is None:
        return []
    ib, onset = got
    v, st = f.values, f.steps
    ev = {"baseline_grad_norm": float(v[ib]), "baseline_step": float(st[ib]), "onset_step": float(st[onset]),
          "peak_grad_norm": float(v[onset:].max()), "ratio": float(v[onset:].min() / v[ib]),
          "rule": f"few-point: every point from the onset on >= {th.factor:g}x the lowest before"}
    summary = (f"gradient norm jumped from {fmt(ev['baseline_grad_norm'])} to {fmt(float(v[onset]))} at step "
               f"{fmt(ev['onset_step'])} and stayed at least {ev['ratio']:.0f}x above it to the end")
    cause = "Updates are feeding on themselves: the LR is too high for the curvature the model has reached, or clipping is missing."
    return [Finding("grad_explosion", Severity.ERROR, ev["onset_step"], float(st[-1]), summary, ev, cause)]


class GradExplosionEvidence(Evidence):
    """What a ``grad_explosion`` finding proves itself with (keys absent when not measured)."""

    cliff_step: float
    grad_norm: float
    running_median: float
    ratio: float
    loss_before: float
    loss_after: float
    rule: str
    baseline_grad_norm: float
    baseline_step: float
    onset_step: float
    peak_grad_norm: float
    max_grad_norm: float
    largest_layers: list


def _needs(run: Run) -> str | None:
    """Two gradient-norm points (the tiny-log rule); the usual need otherwise."""
    n = needs.points(run, "grad_norm")
    return None if n >= 2 else needs.grad(run)


def _tiny(run: Run, th: GradExplosionThresholds) -> list[Finding]:
    g, loss = run.series("grad_norm"), run.series("loss")
    if g is None or loss is None:
        return []
    f = g.finite()
    v, st = f.values, f.steps
    if (v <= 0).any():
        return []
    i = int(np.argmax(v))
    if i == 0 or v[i] < th.tiny_factor * float(v[:i].max()):
        return []
    lf = loss.finite()
    before, at = lf.values[lf.steps < st[i]], lf.values[lf.steps == st[i]]
    if before.size == 0 or at.size == 0 or float(at[-1]) < 2.0 * float(before.max()):
        return []
    ev = {"cliff_step": float(st[i]), "grad_norm": float(v[i]), "running_median": float(np.median(v[:i])),
          "ratio": float(v[i] / np.median(v[:i])), "loss_before": float(before[-1]), "loss_after": float(at[-1]),
          "rule": f"few points: one report >= {th.tiny_factor:g}x every earlier grad norm, the loss at least doubled"}
    summary = (f"gradient norm jumped to {fmt(ev['grad_norm'])} at step {fmt(ev['cliff_step'])}, {ev['ratio']:.2g}x "
               f"the reports before it, and the loss rose {fmt(ev['loss_before'])} -> {fmt(ev['loss_after'])}")
    return [Finding("grad_explosion", Severity.ERROR, ev["cliff_step"], ev["cliff_step"], summary, ev, _CLIFF_CAUSE)]


def _overflow(run: Run) -> list[Finding]:
    """The gradient norm overflows: after at least one finite report it is +inf, and it stays
    non-finite on every report to the end. A norm of inf exceeds the float range (3.4e38 in float32;
    an fp16 gradient element past 65504): the gradient exploded by definition, with no threshold to
    choose. One non-finite report followed by finite ones is a mixed-precision step the loss scaler
    skipped (its next norm is finite again, or the loss after it is: ``nonfinite.amp_skipped_steps``),
    not this; nor is a NaN (0/0 says nothing of size).
    SCNet music separation under AMP: Grad=9164 at epoch 1, 16170 at epoch 2, inf at epoch 3 while
    the loss still fell (0.224 -> 0.186 -> 0.167)."""
    from lrdoctor.detect.nonfinite import amp_skipped_steps

    g = run.series("grad_norm")
    if g is None:
        return []
    v, st = g.values, g.steps
    fin = np.isfinite(v)
    if not fin.any() or fin[-1]:
        return []
    i = int(np.flatnonzero(fin)[-1]) + 1  # the first report of the non-finite tail
    if not np.isposinf(v[i]) or float(st[i]) in amp_skipped_steps(run):
        return []  # a NaN says nothing of size; a step the loss scaler skipped is not an explosion
    ev = {"baseline_grad_norm": float(v[i - 1]), "baseline_step": float(st[i - 1]), "onset_step": float(st[i]),
          "peak_grad_norm": float("inf"), "rule": "grad norm +inf after finite reports, non-finite to the end"}
    summary = (f"gradient norm overflowed to inf at step {fmt(float(st[i]))} (last finite report {fmt(float(v[i - 1]))}) "
               f"and stayed non-finite to the end")
    cause = "Updates are feeding on themselves until the gradient leaves the float range: the LR is too high, or clipping is missing."
    return [Finding("grad_explosion", Severity.ERROR, float(st[i]), float(st[-1]), summary, ev, cause)]


@detector("grad_explosion", thresholds=DEFAULTS, evidence=GradExplosionEvidence, needs=_needs)
def detect(run: Run, th: GradExplosionThresholds = DEFAULTS) -> list[Finding]:
    overflow = _overflow(run)
    if overflow:
        return overflow
    if needs.grad(run) is not None:  # 2-4 points: only the three-decade cliff
        return _tiny(run, th)
    for rule in (_trend, _few_points):  # a sustained rise, judged with the loss beside it
        out = [f for f in rule(run, th) if not _learning_through(run, f, th)]
        if out:
            return out
    return _cliff(run, th)


def _learning_through(run: Run, f: Finding, th: GradExplosionThresholds) -> bool:
    """True when the training loss kept falling over a sustained rise of the gradient norm: its
    last report in the rise is at least ``loss_reaction`` below its last report before the onset,
    and no report in the rise is ``loss_reaction`` above it. Updates that feed on themselves make
    the loss worse; a norm that grows while the loss keeps falling is the model leaving its
    initialisation, the gradient growth of early training (mmaction2 CSN on a 4-class video set:
    grad_norm 7.0 at iteration 20, 38-107 from iteration 60 on, at a constant LR of 1e-5, while the
    loss fell at every few reports, 3.61 -> 2.99 -> 2.49, and top-1 accuracy rose 0.23 -> 0.67).
    The same 10% bar that makes a cliff harmful (``loss_reaction``), read the other way. Not judged
    without a loss report before the onset."""
    loss = run.series("loss")
    if loss is None:
        return False
    lf = loss.finite()
    before = lf.values[lf.steps < f.start_step]
    during = lf.values[(lf.steps >= f.start_step) & (lf.steps <= f.end_step)]
    if before.size == 0 or during.size < 2:
        return False
    ref, margin = float(before[-1]), th.loss_reaction * abs(float(before[-1]))
    return float(during[-1]) <= ref - margin and float(during.max()) <= ref + margin


def _trend(run: Run, th: GradExplosionThresholds) -> list[Finding]:
    got = grad_curve(run)
    if got is None:
        return []
    c, sm = got
    # the level to rise from is one the smoothed norm held for a window: a dip of the rolling
    # median into a cluster of near-zero batches is filled (a Bayesian MLP's sampled-weight
    # gradients: 0.004-11.7 in one stretch, the median dipping to 0.2 between levels of 3-5)
    held = fill_dips(sm, smoothing_window(len(c)))
    floor = np.minimum.accumulate(held)
    hot = sm - floor > np.log10(th.factor)
    need = max(3, int(th.min_fraction * len(c)))
    runs = [(a, b) for a, b in runs_of(hot) if b - a >= need]
    if not runs:
        return []
    a, b = runs[0]
    ib = int(np.argmin(held[:a])) if a else 0
    ev = {"baseline_grad_norm": float(10 ** held[ib]), "baseline_step": float(c.step[ib]),
          "peak_grad_norm": float(10 ** c.hi[a:b].max()), "onset_step": float(c.first[a]),
          "ratio": float(10 ** (sm[a:b].max() - held[ib]))}
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


@fix_rule("grad_explosion")
def fix_grad_explosion(run: Run, f: Finding) -> Prescription:
    clip = max_grad_norm(run)
    return Prescription([Fix("max_grad_norm", clip[1] if clip else None, 1.0, "clip the global norm (the post-mortems' red flag is grad norm > 10)"),
             lr_fix(run, f, DIVERGENCE_LR_CUT, "the gradient grew 10x: cut the LR 3x")], [WATCH_GRAD])
