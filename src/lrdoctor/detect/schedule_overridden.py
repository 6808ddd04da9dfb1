"""``schedule_overridden``: something rewrites the LR the scheduler set.

The classifier post-mortem (#4): a per-step warmup wrote ``group['lr'] = base * min(1,
step/warmup)`` every step, overwriting the epoch scheduler's decay, so the decay never
happened. Two signatures in a log:

* a ``scheduled_lr`` column (what the scheduler asked for) that disagrees with ``lr``
  (what the optimizer used): certain, reported at the first disagreeing step;
* the logged LR dropping and snapping back to its previous value at the next point,
  again and again (a decay undone right away), each drop to the same or a lower value (a
  scheduler only decays). Warm restarts jump back only after a long decay, so they do not
  match; nor does a per-batch rescaling that dips by a different amount each time.

A third (since stop 78): the logged LR is exactly 0 on every report while the loss learns, so
the LR the log reports is not the one the optimizer applies (HF's Trainer logging 0.0 while a
DeepSpeed config owns the schedule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect import needs
from lrdoctor.detect.registry import CannotJudge, Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.run import Run

__all__ = ["ScheduleOverriddenThresholds", "detect", "warmup_window"]


@dataclass(frozen=True)
class ScheduleOverriddenThresholds(Thresholds):
    tolerance: float = 0.01
    """Relative LR difference that counts as a disagreement (float32 LR logging rounds ~1e-7)."""
    min_disagree: int = 2
    """Logged points where scheduled and applied LR disagree before it is reported."""
    min_snapbacks: int = 2
    """Drop-then-snap-back events in the logged LR before it is reported."""


DEFAULTS = ScheduleOverriddenThresholds()


def warmup_window(applied: np.ndarray, scheduled: np.ndarray, tol: float) -> int:
    """Points at the start that belong to an LR warmup: the applied LR rises step after step
    (a ramp may overshoot a schedule that already decays), or sits below the scheduler's
    value without falling. The window closes at the first point where neither holds. Every correct spelling of a
    hand-written warmup stays inside it: ``lr = base * step / W`` while ``step < W`` (then
    the scheduler alone), ``lr = sched.get_last_lr()[0] * min(1, step / W)`` with a
    closed-form scheduler (LambdaLR; a chainable one such as StepLR compounds that factor,
    which ``lrdoctor lint`` flags as ``warmup-compounds``), a LambdaLR-style factor. The post-mortem's overwrite leaves it: after the ramp the applied
    LR sits above the decaying scheduled one."""
    n = min(applied.size, scheduled.size)
    for i in range(n):
        a, b = applied[i], scheduled[i]
        if not (np.isfinite(a) and np.isfinite(b)):
            return i
        if i == 0:
            if a < b * (1 - tol):
                continue
            return 0
        climbing = a > applied[i - 1] * (1 + tol)
        below = a < b * (1 - tol) and a >= applied[i - 1] * (1 - tol)
        if not (climbing or below):
            return i
    return n


class ScheduleOverriddenEvidence(Evidence):
    """What a ``schedule_overridden`` finding proves itself with (keys absent when not measured)."""

    snapbacks: int
    first_step: float
    lr_before: float
    lr_dropped_to: float
    lr_after: float
    snapback_steps: list
    applied_lr: float
    scheduled_lr: float
    disagreeing_points: int
    compared_points: int
    last_applied_lr: float
    last_scheduled_lr: float
    first_overwritten_step: float
    param_group: int
    first_decay_undone_step: float
    applied_lr_there: float
    scheduled_lr_there: float
    scheduled_lr_then: float
    applied_lr_then: float
    zero_lr_points: int
    loss_first: float
    loss_last: float


def _zero_lr_while_learning(run: Run) -> list[Finding]:
    """The logged LR is exactly 0 on every one of at least ``frozen_points`` (3) reports, while the
    training loss fell by more than ``max_total_drop`` (half) of its first level: slow_progress's
    thresholds, the very case its LR-stays-zero rule leaves alone (``_lr_stays_zero``). An LR of
    exactly 0 cannot move a weight, and a loss that halves shows the weights moved, so the LR the
    log reports is not the one applied: another scheduler owns it (t5-11b under DeepSpeed ZeRO,
    transformers issue 9996: 'learning_rate': 0.0 on 3 logs while the loss fell 6.07 -> 0.19 ->
    0.04). A warning: the run learns; what is wrong is the record of its LR. A text log's 0 must be
    exact (printed with ``lr_zero_decimals`` decimals or read from a Python repr): a coarse "0.0000"
    may be a real 2e-5."""
    from lrdoctor.detect._common import objective, zero_is_exact
    from lrdoctor.detect._progress.common import _loss_learned
    from lrdoctor.detect.progress import DEFAULTS as PROGRESS

    lr = run.series("lr")
    if lr is None:
        return []
    f = lr.finite()
    if f.values.size < PROGRESS.frozen_points or (f.values != 0).any():
        return []
    if not zero_is_exact(run, "lr", PROGRESS.lr_zero_decimals) or not _loss_learned(run, PROGRESS):
        return []
    loss = objective(run).finite()
    ev = {"zero_lr_points": int(f.values.size), "first_step": float(f.steps[0]),
          "loss_first": float(loss.values[0]), "loss_last": float(loss.values[-1])}
    summary = (f"the logged LR is exactly 0 on all {f.values.size} reports, yet the loss fell "
               f"{fmt(ev['loss_first'])} -> {fmt(ev['loss_last'])}: the LR applied is not the one logged")
    cause = ("Another scheduler sets the optimizer's LR (a DeepSpeed config's scheduler or warmup under HF's "
             "Trainer, an engine that owns the optimizer) while the logger reads a scheduler that is not used.")
    return [Finding("schedule_overridden", Severity.WARNING, ev["first_step"], float(f.steps[-1]), summary, ev, cause)]


@detector("schedule_overridden", thresholds=DEFAULTS, evidence=ScheduleOverriddenEvidence, needs=needs.lr)
def detect(run: Run, th: ScheduleOverriddenThresholds = DEFAULTS) -> list[Finding]:
    """Two signatures: beside the scheduler's own LR (``scheduled_lr``), ``min_disagree`` points of
    both; alone, 2 x ``min_snapbacks`` + 1 LR points, the fewest on which it can drop and snap back
    ``min_snapbacks`` times (high, low, high, low, high). With neither, the check says it could not
    judge (:class:`CannotJudge`)."""
    lr = run.series("lr")
    n = needs.points(run, "lr")
    zero = _zero_lr_while_learning(run)
    if zero:
        return zero
    fewest = 2 * th.min_snapbacks + 1
    if min(n, needs.points(run, "scheduled_lr")) < th.min_disagree and n < fewest:
        raise CannotJudge(f"only {n} learning-rate point(s); needs {fewest} (the LR dropping and snapping back "
                          f"{th.min_snapbacks} times), or a scheduled_lr column beside it")
    sched = run.series("scheduled_lr")
    if sched is not None:
        both = np.intersect1d(lr.steps, sched.steps)
        a = lr.values[np.searchsorted(lr.steps, both)]
        b = sched.values[np.searchsorted(sched.steps, both)]
        ok = np.isfinite(a) & np.isfinite(b)
        w = warmup_window(a, b, th.tolerance)
        ok[:w] = False  # a warmup ramp below the schedule is correct code, not an overwrite
        off = ok & (np.abs(a - b) > th.tolerance * np.maximum(np.abs(b), 1e-30))
        if off.sum() >= th.min_disagree:
            i = int(np.flatnonzero(off)[0])
            j = int(np.flatnonzero(off)[-1])
            ev = {"first_step": float(both[i]), "applied_lr": float(a[i]), "scheduled_lr": float(b[i]),
                  "disagreeing_points": int(off.sum()), "compared_points": int(ok.sum()),
                  "last_applied_lr": float(a[j]), "last_scheduled_lr": float(b[j])}
            above = np.flatnonzero(off & (a > b))
            if above.size:  # the step where a decay was undone: the post-mortem's symptom
                k = int(above[0])
                ev.update(first_decay_undone_step=float(both[k]), applied_lr_there=float(a[k]), scheduled_lr_there=float(b[k]))
            summary = (f"from step {fmt(ev['first_step'])} the optimizer used lr {fmt(ev['applied_lr'])} while the "
                       f"scheduler set {fmt(ev['scheduled_lr'])} ({ev['disagreeing_points']} of {ev['compared_points']} points)")
            if "first_decay_undone_step" in ev:
                summary += (f"; the decay was undone from step {fmt(ev['first_decay_undone_step'])} "
                            f"(used {fmt(ev['applied_lr_there'])}, scheduled {fmt(ev['scheduled_lr_there'])})")
            cause = ("Code outside the scheduler writes param_group['lr'] (typically a manual per-step warmup), "
                     "overwriting the scheduler's value, so the planned decay never reaches the optimizer.")
            return [Finding("schedule_overridden", Severity.ERROR, ev["first_step"], float(both[j]), summary, ev, cause)]
    f = lr.finite()
    v = f.values
    if v.size < 3:
        return []
    dropped = v[1:-1] < v[:-2] * (1 - th.tolerance)
    back = np.abs(v[2:] - v[:-2]) <= th.tolerance * np.abs(v[:-2])
    idx = np.flatnonzero(dropped & back) + 1
    if idx.size < th.min_snapbacks:
        return []
    low = v[idx]
    if (low[1:] > low[:-1] * (1 + th.tolerance)).any():
        return []  # the values it dropped to are no schedule's: a scheduler's LR only goes down (or stays) from
        # one undone decay to the next, so the overwrite drops to the same or a lower value each time. LRs that
        # dip by a different amount each time and come back are a per-batch scaling the code means (AWD-LSTM
        # rescales the LR by each batch's BPTT length: 11.57, 29.57, 27.86, 28.71 at mid-epoch, 30 at every
        # epoch's end)
    ev = {"snapbacks": int(idx.size), "first_step": float(f.steps[idx[0]]), "lr_before": float(v[idx[0] - 1]),
          "lr_dropped_to": float(v[idx[0]]), "lr_after": float(v[idx[0] + 1]),
          "snapback_steps": f.steps[idx[:20]].tolist()}
    summary = (f"logged LR dropped to {fmt(ev['lr_dropped_to'])} and snapped back to {fmt(ev['lr_after'])} "
               f"{idx.size} times (first at step {fmt(ev['first_step'])})")
    cause = "A scheduler decays the LR and other code sets it back at the next step (e.g. a warmup that assigns instead of multiplying)."
    return [Finding("schedule_overridden", Severity.WARNING, ev["first_step"], float(f.steps[idx[-1]]), summary, ev, cause)]


@fix_rule("schedule_overridden")
def fix_schedule_overridden(run: Run, f: Finding) -> Prescription:
    if "zero_lr_points" in f.evidence:
        return Prescription([Fix("lr logging", "the logged LR is 0", None, "log the LR the optimizer applies",
                                 note="read optimizer.param_groups[0]['lr'] (or the DeepSpeed engine's get_lr()), "
                                      "and keep one scheduler: the Trainer's or the DeepSpeed config's")],
                            [Watch("lr", "the logged lr is the optimizer's", "a 0 LR beside a falling loss is a record of the wrong scheduler")])
    return Prescription([Fix("warmup", "assigns param_group['lr'] = base * warmup(step)", None, "a warmup must multiply the scheduled LR, never overwrite it; otherwise the decay never happens",
                             note="multiplies the scheduler's LR: LambdaLR(opt, lambda s: min(1, (s + 1) / warmup) * decay(s)) "
                 "or SequentialLR([LinearLR(...), scheduler])")], [Watch("lr", "logged lr == scheduler.get_last_lr() every step", "any difference means something else writes the LR")])
