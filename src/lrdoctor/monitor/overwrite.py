"""The live ``schedule_overridden`` check: the LR the optimizer applies against the one the
scheduler set, compared at every optimizer step, per param group.

Offline, ``lrdoctor diagnose`` sees only the logged columns (group 0); live, the Monitor sees
every group and the exact step where a scheduled decrease was undone, so it reports the
post-mortem #4 bug at its first overwritten step. Its finding carries the offline detector's
evidence keys (``first_step``, ``applied_lr``, ``scheduled_lr``, ``disagreeing_points``,
``compared_points``, ``last_applied_lr``, ``last_scheduled_lr``, and when a decay was undone
``first_decay_undone_step``, ``applied_lr_there``, ``scheduled_lr_there``) plus the live
ones (``param_group``, ``first_overwritten_step``, ``scheduled_lr_then``, ``applied_lr_then``).

Live, ``first_decay_undone_step`` is where the scheduler stepped *down* and something put the
LR back up; offline it is the first logged point where the applied LR sits above the
scheduled one. On the post-mortem's loop the two differ (the overwrite starts above a
recursive scheduler that had adopted the ramp's value); both are reported as error.
"""

from __future__ import annotations

from dataclasses import dataclass

from lrdoctor.finding import Finding, Severity

__all__ = ["Overwrite", "ScheduleOverwriteCheck"]

KIND = "schedule_overridden"


@dataclass(frozen=True)
class Overwrite:
    step: int
    group: int
    scheduled: float
    applied: float


class ScheduleOverwriteCheck:
    """Feed it ``observe(step, applied, scheduled)`` once per optimizer step; it answers True
    when its finding is new or got worse (first overwrite; first undone decay)."""

    def __init__(self, tolerance: float) -> None:
        self.tolerance = tolerance
        self.first: Overwrite | None = None
        self.undone: Overwrite | None = None
        self.compared = 0
        self.disagreeing = 0
        self.last: tuple[float, float] | None = None  # (applied, scheduled) of the latest disagreement
        self._warmup_open = True  # still inside a (possibly hand-written) LR warmup ramp
        self._last_applied: list[float] | None = None
        self._last_sched: list[float] | None = None

    def observe(self, step: int, applied: list[float], scheduled: list[float]) -> bool:
        tol = self.tolerance
        last, last_s = self._last_applied, self._last_sched
        news = False
        compared = disagree = False
        for i, (a, s) in enumerate(zip(applied, scheduled)):
            if self._warmup_open:
                # A hand-written warmup sets the LR below the scheduler's and raises it until it
                # meets it; that ramp is correct code, not an overwrite (the offline detector's
                # warmup window, detect.schedule_overridden.warmup_window).
                prev = None if last is None or i >= len(last) else last[i]
                climbing = prev is not None and a > prev * (1 + tol)
                below = a < s * (1 - tol) and (prev is None or a >= prev * (1 - tol))
                if climbing or below:
                    continue
                self._warmup_open = False
            compared = True
            if abs(a - s) > tol * max(abs(s), 1e-30):
                disagree = True
                o = Overwrite(step, i, s, a)
                if i == 0:
                    self.last = (a, s)
                if self.first is None:
                    self.first = o
                    news = True
                # The scheduler stepped to an LR below the one applied last step, and something put
                # it back up: the decay was undone. (Recursive schedulers such as StepLR adopt an
                # overwritten LR as their own, so "the scheduler's value fell" alone is not enough.)
                moved = last_s is not None and i < len(last_s) and s != last_s[i]
                if self.undone is None and moved and last is not None and i < len(last) \
                        and s < last[i] * (1 - tol) and a > s * (1 + tol):
                    self.undone = o
                    news = True
        self.compared += compared
        self.disagreeing += disagree
        self._last_applied, self._last_sched = list(applied), list(scheduled)
        return news

    def finding(self) -> Finding | None:
        o, u = self.first, self.undone
        if o is None:
            return None
        last_a, last_s = self.last if self.last is not None else (o.applied, o.scheduled)
        ev = {"first_step": float(o.step), "applied_lr": o.applied, "scheduled_lr": o.scheduled,
              "disagreeing_points": self.disagreeing, "compared_points": self.compared,
              "last_applied_lr": last_a, "last_scheduled_lr": last_s,
              "first_overwritten_step": o.step, "param_group": o.group}
        if u is not None:
            ev.update({"first_decay_undone_step": u.step, "applied_lr_there": u.applied, "scheduled_lr_there": u.scheduled,
                       "scheduled_lr_then": u.scheduled, "applied_lr_then": u.applied})
        sev = Severity.ERROR if u is not None else Severity.WARNING
        summary = (f"the LR applied to param group {o.group} ({o.applied:.4g}) differs from the scheduler's "
                   f"({o.scheduled:.4g}) from step {o.step}: something overwrites param_group['lr'] after scheduler.step()")
        if u is not None:
            summary += f"; at step {u.step} a scheduled decrease to {u.scheduled:.4g} was undone ({u.applied:.4g} applied)"
        return Finding(KIND, sev, float(o.step), float(u.step if u else o.step), summary, ev,
                       "A hand-written warmup (or LR assignment) writes param_group['lr'] every step, so the "
                       "scheduler's value is replaced: its decay never takes effect (post-mortem #4).")
