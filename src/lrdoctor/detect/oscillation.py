"""``oscillation``: the loss swings ±50% around its trend for a sustained stretch.

Single spikes are ``loss_spike``; here most points of a window are far off the trend,
in both directions. Source of ±50%: the transformer post-mortem's red flag (#1).

When the training loss shows no such stretch, the evaluation loss is read for the same ±50%
swings, each against the evaluations on either side of it (:func:`_eval_swings`): an evaluation
of a fixed set has no minibatch noise, so its back-and-forth is the weights themselves. Smaller
swings count when the evaluation loss turns from one evaluation to the next more often than
independent noise can (:func:`_eval_alternation`, the turning-point test) and the swings are not
small against the progress the evaluations made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from lrdoctor.detect._common import lr_at
from lrdoctor.fmt import fmt
from lrdoctor.detect._stats import rolling_median, runs_of, turning_point_z
from lrdoctor.detect._trend import objective_trend
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import SOFT_LR_CUT, lr_fix
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.config import config_value
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.run import Run, Series

__all__ = ["OscillationThresholds", "detect"]


@dataclass(frozen=True)
class OscillationThresholds(Thresholds):
    swing: float = 0.5
    """Relative distance from the trend that counts as a swing (post-mortem #1: ±50%)."""
    share: float = 0.3
    """Share of a window's points that must swing, each way at least ``share/3``."""
    window: int = 10
    """Window, in logged points, over which the share is counted."""
    min_fraction: float = 0.05
    """Shortest oscillating stretch as a share of the run."""
    near_zero_share: float = 0.2
    """Deviations are relative to max(|trend|, 20% of the trend's total range): a loss that has
    converged near 0 swings far beyond ±50% on minibatch noise alone (clean-label digits
    fine-tuning, lrdoctor.corpus.cycles: trend 0.015 after 2.18, batches 0.0025-0.15). With
    the ±50% swing this asks a swing to undo at least 10% of the progress the run made:
    smaller ones leave the run where it was (a memorising fine-tune bouncing 0.005-0.16 after
    falling from 1.5 is noise, not overshoot)."""
    progress_share: float = 0.25
    """The typical swing in the stretch (median |loss - trend|, in the loss's own units) must be
    at least this share of the progress the run had made (the median of its first window
    minus the trend there): the same bar ``divergence.rise_fraction`` sets for a sustained
    rise, since a swing is a rise that comes back. Smaller swings leave the run where it
    was, however wide they are in relative terms: a memorising fine-tune bouncing 0.005-0.16
    after falling from 0.75 (Whisper on CGN, per-interval averages that are log-normal) is
    noise, not overshoot. The post-mortem's (#1) +-50% swings around a loss of 1.5 that had
    fallen from ln(52) = 3.95 are about 30% of the progress."""
    structure: float = 0.4
    """|lag-1 autocorrelation| of the deviations in the stretch. Overshooting is structured
    (slow swings: > 0; period-2 bouncing: < 0); per-batch noise, however wide (diffusion
    losses span 10x), is not (improved-diffusion lr 1e-4: 0.25)."""
    eval_swings: int = 2
    """Evaluations, each way, that stand ``swing`` beyond *both* evaluations beside them (up by
    +50%, down by the same ratio, -33%) for the evaluation-loss rule (:func:`_eval_swings`):
    two full periods of a back-and-forth. One spike and its return make one of each at most,
    which is ``loss_spike``'s; a second swing each way is the repeat that makes it an
    oscillation. Judged on the evaluation loss only: a fixed held-out set evaluated twice
    gives the same loss for the same weights, so, unlike a logged minibatch loss, it has no
    sampling noise to swing on."""
    alternation_z: float = 2.326
    """z of the turning-point test (:func:`lrdoctor.detect._stats.turning_point_z`) above which
    the evaluation loss turns (up, down, up...) more often than independent noise around a level
    does, for :func:`_eval_alternation`: the one-sided 1% point of the standard normal (1%, not
    5%, because the test runs once on every run lrdoctor reads: at 5% one in twenty noise-only
    evaluation curves would be called an oscillation). Noise
    turns at 2 of 3 interior evaluations, a trend at fewer; only a back-and-forth of the weights
    turns at more, and at this level it takes about 11 evaluations that all turn (fewer cannot
    tell a back-and-forth from noise), so a short card's table is left to :func:`_eval_swings`."""


DEFAULTS = OscillationThresholds()


class OscillationEvidence(Evidence):
    """What a ``oscillation`` finding proves itself with (keys absent when not measured)."""

    from_step: float
    to_step: float
    swing_share: float
    max_above_trend: float
    max_below_trend: float
    stretches: int
    lag1_autocorrelation: float
    turning_point_z: float
    lr: float
    metric: str


def _needs(run: Run, th: OscillationThresholds) -> str | None:
    """A training loss of two ``window``-point windows: fewer cannot tell sustained swings from noise.
    Or, for :func:`_eval_swings`, an evaluation loss with room for ``eval_swings`` extremes each way
    between its first and last evaluation."""
    why = needs.loss_points(2 * th.window, f"two {th.window}-point windows to tell sustained swings from noise")(run)
    if why is not None and not run.is_rl and needs.points(run, "eval_loss") >= 2 * th.eval_swings + 2:
        return None
    return why


@detector("oscillation", thresholds=DEFAULTS, evidence=OscillationEvidence, needs=_needs)
def detect(run: Run, th: OscillationThresholds = DEFAULTS) -> list[Finding]:
    """Swings of the training loss around its trend (:func:`_training_swings`); when it shows none,
    of the evaluation loss around its neighbours (:func:`_eval_swings`), or an evaluation loss
    that turns back and forth more often than noise can (:func:`_eval_alternation`)."""
    return _training_swings(run, th) or _eval_swings(run, th) or _eval_alternation(run, th)


def _training_swings(run: Run, th: OscillationThresholds) -> list[Finding]:
    """A stretch of at least ``min_fraction`` of the run where ``share`` of each ``window`` of
    training-loss reports swing ``swing`` off the trend, both ways, with structure."""
    t = objective_trend(run)
    if t is None or t.n < 2 * th.window:
        return []
    base = rolling_median(t.c.mid, 3 * t.window)
    drop = float(np.max(t.smooth) - np.min(t.smooth))
    scale = np.maximum(np.abs(base), th.near_zero_share * drop)
    scale[scale == 0] = np.inf
    d = (t.c.mid - base) / scale
    # the first half-window has no centred trend (the rolling median extends its first full
    # window backwards), and it is where a run falls fastest: its deviations measure the
    # smoother's lag, not swings of the loss (a healthy digits MLP, 35 per-batch reports:
    # 0.94, 0.64 against a flat 0.23 "trend")
    d[: min(d.size, (3 * t.window) // 2)] = 0.0
    up = sliding_window_view(d > th.swing, th.window).mean(axis=1)
    down = sliding_window_view(d < -th.swing / (1 + th.swing), th.window).mean(axis=1)
    hot = ((up + down) >= th.share) & (up >= th.share / 3) & (down >= th.share / 3)
    stretches = [(a, b + th.window - 1) for a, b in runs_of(hot)]
    need = max(th.window, int(th.min_fraction * t.n))
    stretches = [(a, b) for a, b in stretches if b - a >= need]
    if not stretches:
        return []
    stretches = [(a, b) for a, b in stretches if abs(_acf1(d[a:b])) >= th.structure]
    head = float(np.median(t.c.mid[: th.window]))
    stretches = [(a, b) for a, b in stretches if _amplitude(t.c.mid[a:b], base[a:b]) >= th.progress_share * _progress(head, base[a:b])]
    if not stretches:
        return []
    a, b = max(stretches, key=lambda r: r[1] - r[0])
    seg = d[a:b]
    ev = {
        "from_step": float(t.c.first[a]), "to_step": float(t.c.step[b - 1]),
        "swing_share": float(np.mean(np.abs(seg) > th.swing / (1 + th.swing))),
        "max_above_trend": float(seg.max()), "max_below_trend": float(seg.min()),
        "stretches": len(stretches), "lag1_autocorrelation": _acf1(seg),
    }
    lr = lr_at(run, ev["from_step"])
    if lr is not None:
        ev["lr"] = lr
    summary = (f"loss oscillates ±{th.swing:.0%} around its trend from step {fmt(ev['from_step'])} "
               f"to {fmt(ev['to_step'])} ({ev['swing_share']:.0%} of points off the trend)")
    cause = "The step size is near the edge of stability: updates overshoot the minimum back and forth (LR too high, or batch too small for this LR)."
    return [Finding("oscillation", Severity.WARNING, ev["from_step"], ev["to_step"], summary, ev, cause)]


def _eval_swings(run: Run, th: OscillationThresholds) -> list[Finding]:
    """The evaluation loss swings back and forth: at least ``eval_swings`` evaluations stand
    ``swing`` above both evaluations beside them and as many stand the same ratio below both
    (:func:`_neighbour_extremes`). A fixed evaluation set has no minibatch noise, so the swings
    are the weights moving back and forth across the minimum (a binary image classifier asked
    about on Cross Validated: val_loss 3.29, 0.92, 1.43, 1.85, 0.58, 2.30, 0.17, 1.52, 0.14, 2.81
    and val_acc 0.49-0.88 with it, while the training loss falls 2.27 -> 0.21). Measured against
    the neighbours, not a rolling trend: on a card's 6-20 evaluations a trend window would hold
    most of the log."""
    f = _eval_curve(run, th)
    if f is None:
        return []
    x = f.values
    ext = _neighbour_extremes(x, th)
    up = [(i, d) for i, d in ext if d > 0]
    down = [(i, d) for i, d in ext if d < 0]
    if len(up) < th.eval_swings or len(down) < th.eval_swings:
        return []
    a, b = ext[0][0], ext[-1][0]
    ev = {"from_step": float(f.steps[a]), "to_step": float(f.steps[b]),
          "swing_share": len(ext) / float(x.size - 2),
          "max_above_trend": max(d for _, d in up), "max_below_trend": min(d for _, d in down),
          "metric": run.meta.roles.get("eval_loss", "eval_loss")}
    summary = (f"the evaluation loss swings ±{th.swing:.0%} against the evaluations beside it from step "
               f"{fmt(ev['from_step'])} to {fmt(ev['to_step'])}: {len(up)} up and {len(down)} down")
    return _eval_finding(run, ev, summary)


def _eval_curve(run: Run, th: OscillationThresholds) -> Series | None:
    """The finite evaluation loss both evaluation rules judge: not on an RL run, and with room for
    ``eval_swings`` swings each way between its ends; None otherwise."""
    e = run.series("eval_loss")
    if e is None or run.is_rl:
        return None
    f = e.finite()
    return f if f.values.size >= 2 * th.eval_swings + 2 else None


def _eval_finding(run: Run, ev: dict, summary: str) -> list[Finding]:
    """The warning both evaluation-loss rules give, with the LR at the swings' start when logged:
    a fixed evaluation set has no batch noise, so its swings are the weights'."""
    lr = lr_at(run, ev["from_step"])
    if lr is not None:
        ev["lr"] = lr
    cause = ("The weights move back and forth across the minimum from one evaluation to the next (a fixed "
             "evaluation set has no batch noise): the step size is near the edge of stability (LR too high, "
             "or batch too small for this LR).")
    return [Finding("oscillation", Severity.WARNING, ev["from_step"], ev["to_step"], summary, ev, cause)]


def _eval_alternation(run: Run, th: OscillationThresholds) -> list[Finding]:
    """The evaluation loss goes back and forth: it turns (above both neighbours, or below both)
    at more evaluations than independent noise would, by the turning-point test at
    ``alternation_z`` (:func:`lrdoctor.detect._stats.turning_point_z`), and its typical swing
    (the median distance between successive evaluations) is at least ``progress_share`` of the
    progress the evaluations made (:func:`_swing_matters`). Catches the swings below ±50% that
    :func:`_eval_swings` leaves: an MXNet model whose validation log-loss alternates 0.53, 0.39,
    0.53, 0.39... for 17 epochs (apache/mxnet#4314) swings by 35% and never settles. A loss
    that zigzags around a falling trend turns less often than that, or swings little against
    its fall: the trend, not the zigzag, is what the run does."""
    f = _eval_curve(run, th)
    if f is None:
        return []
    x = f.values
    z = turning_point_z(x)
    if z < th.alternation_z or not _swing_matters(x, th):
        return []
    turns = _turns(x)
    a, b = int(turns[0]), int(turns[-1])
    rel = np.diff(x) / np.maximum(np.abs(x[:-1]), np.finfo(float).tiny)
    ev = {"from_step": float(f.steps[a]), "to_step": float(f.steps[b]),
          "swing_share": turns.size / float(x.size - 2),
          "max_above_trend": float(rel.max()), "max_below_trend": float(rel.min()),
          "turning_point_z": z, "metric": run.meta.roles.get("eval_loss", "eval_loss")}
    summary = (f"the evaluation loss turns back and forth at {turns.size} of {x.size - 2} evaluations from step "
               f"{fmt(ev['from_step'])} to {fmt(ev['to_step'])}, more often than noise does (turning-point z {z:.1f})")
    return _eval_finding(run, ev, summary)


def _swing_matters(x: np.ndarray, th: OscillationThresholds) -> bool:
    """The median distance between successive values is more than ``progress_share`` of the
    progress the series made (its first value minus its median, :func:`_progress`): the bar the
    training rule sets its swings, so a zigzag on a loss that keeps falling is not a swing."""
    amp = float(np.median(np.abs(np.diff(x))))
    return amp > 0 and amp >= th.progress_share * _progress(float(x[0]), x)


def _turns(x: np.ndarray) -> np.ndarray:
    """Indices of the interior values above both neighbours or below both."""
    d = np.sign(np.diff(x))
    return np.flatnonzero(d[1:] * d[:-1] < 0) + 1


def _neighbour_extremes(x: np.ndarray, th: OscillationThresholds) -> list[tuple[int, float]]:
    """(index, relative deviation) of each interior point at least ``swing`` above the higher of
    its neighbours, or ``swing/(1+swing)`` below the lower (the same ratio down), the deviation
    relative to max(|neighbour|, ``near_zero_share`` of the series' range) as the training rule
    measures it: an evaluation loss near 0 swings by multiples on nothing."""
    floor = th.near_zero_share * float(np.max(x) - np.min(x))
    out = []
    for i in range(1, x.size - 1):
        hi, lo = float(max(x[i - 1], x[i + 1])), float(min(x[i - 1], x[i + 1]))
        if x[i] > hi and (x[i] - hi) > th.swing * max(abs(hi), floor):
            out.append((i, float(x[i] - hi) / max(abs(hi), floor)))
        elif x[i] < lo and (lo - x[i]) > th.swing / (1 + th.swing) * max(abs(lo), floor):
            out.append((i, float(x[i] - lo) / max(abs(lo), floor)))
    return out


def _amplitude(x: np.ndarray, base: np.ndarray) -> float:
    """Typical swing: the median absolute distance from the trend, in the loss's units."""
    return float(np.median(np.abs(x - base)))


def _progress(head: float, base: np.ndarray) -> float:
    """How far the trend in the stretch is below the run's first level (0 when it is not)."""
    return max(head - float(np.median(base)), 0.0)


def _acf1(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    if x.size < 4 or np.std(x) == 0:
        return 0.0
    x = x - x.mean()
    return float(np.dot(x[:-1], x[1:]) / np.dot(x, x))


@fix_rule("oscillation")
def fix_oscillation(run: Run, f: Finding) -> Prescription:
    return Prescription([lr_fix(run, f, SOFT_LR_CUT, "swings of ±50% around the trend: the step overshoots; halve the LR"),
             Fix("batch_size", config_value(run.config, ("batch_size", "per_device_train_batch_size", "train_batch_size")), None, "or keep the LR and double the batch (less gradient noise per step)",
                 note="2x")], [Watch("loss", "within ±50% of its trend", "swings mean the step size is still at the edge")])