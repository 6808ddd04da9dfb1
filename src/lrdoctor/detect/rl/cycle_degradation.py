"""``cycle_degradation``: iterative fine-tuning (RAFT/RLVR cycles, self-play generations)
whose per-cycle metric peaks and then declines.

The LoRA post-mortem (#3): RAFT cycles at a constant 5e-5 peaked at cycle 6, then degraded.
A cycle is a row of a per-cycle log (step column ``cycle``/``generation``), or a group of
rows sharing a ``cycle`` column value (the last value logged in each cycle is its score).
The metric is the task metric (reward, accuracy, success rate: higher is better), or the
eval loss (lower is better) when no task metric is logged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect.rl._common import TASK_METRICS
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import value_and_key
from lrdoctor.config import LR_KEYS
from lrdoctor.detect.registry import CannotJudge, Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.run import Run

__all__ = ["CycleThresholds", "detect", "per_cycle"]


@dataclass(frozen=True)
class CycleThresholds(Thresholds):
    min_cycles: int = 4
    """Fewer cycles than this tell nothing about a trend."""
    min_after: int = 2
    """At least two cycles after the best, all below it: one bad cycle can be noise."""
    min_decline: float = 0.03
    """The last cycle is at least 3% (relative) worse than the best: about 4 binomial standard
    errors of an accuracy near 0.9 measured on 1,500 examples (sqrt(0.9*0.1/1500) = 0.8%), so
    cycle-to-cycle eval jitter (+-1-2% on clean-label digits) is not a decline."""


DEFAULTS = CycleThresholds()


def per_cycle(run: Run) -> tuple[str, bool, np.ndarray, np.ndarray] | None:
    """(metric, higher_is_better, cycle numbers, score per cycle), or None."""
    names = [(m, True) for m in TASK_METRICS] + [("eval_loss", False), ("loss", False)]
    for name, higher in names:
        s = run.series(name)
        if s is None:
            continue
        f = s.finite()
        if run.meta.step_unit == "cycle":
            return name, higher, f.steps.astype(float), f.values
        cyc = run.series("cycle")
        if cyc is None:
            return None
        idx = np.searchsorted(cyc.steps, f.steps, side="right") - 1
        ok = idx >= 0
        labels = cyc.values[idx[ok]]
        vals = f.values[ok]
        if vals.size == 0:
            return None
        # last value of each cycle
        last = np.r_[labels[1:] != labels[:-1], True]
        return name, higher, labels[last], vals[last]
    return None


class CycleDegradationEvidence(Evidence):
    """What a ``cycle_degradation`` finding proves itself with (keys absent when not measured)."""

    metric: str
    best_cycle: float
    best: float
    last_cycle: float
    last: float
    decline: float
    per_cycle: list


@detector("cycle_degradation", thresholds=DEFAULTS, evidence=CycleDegradationEvidence, needs=needs.cycles)
def detect(run: Run, th: CycleThresholds = DEFAULTS) -> list[Finding]:
    """A score or loss at ``min_cycles`` cycles at least: fewer tell nothing about a trend, and the
    check says it could not judge (:class:`CannotJudge`) rather than listing itself as run."""
    got = per_cycle(run)
    if got is None:
        raise CannotJudge("no task metric, evaluation loss or training loss logged per cycle")
    name, higher, cycles, score = got
    if cycles.size < th.min_cycles:
        raise CannotJudge(f"only {cycles.size} cycle(s); needs {th.min_cycles} (a trend over cycles)")
    good = score if higher else -score
    b = int(np.argmax(good))
    after = good[b + 1:]
    if after.size < th.min_after or (after >= good[b]).any():
        return []
    best, last = float(score[b]), float(score[-1])
    decline = abs(last - best) / abs(best) if best else np.inf
    if decline < th.min_decline:
        return []
    ev = {"metric": name, "best_cycle": float(cycles[b]), "best": best, "last_cycle": float(cycles[-1]),
          "last": last, "decline": decline,
          "per_cycle": [{"cycle": float(c), name: float(v)} for c, v in zip(cycles, score)]}
    sev = Severity.ERROR if after.size >= 3 and bool((np.diff(good[b:]) <= 0).all()) else Severity.WARNING
    return [Finding(
        "cycle_degradation", sev, float(cycles[b]), float(cycles[-1]),
        f"{name} peaked at cycle {fmt(float(cycles[b]))} ({fmt(best)}) and declined {decline:.1%} to "
        f"{fmt(last)} by cycle {fmt(float(cycles[-1]))}: stop at cycle {fmt(float(cycles[b]))}", ev,
        "Each cycle fine-tunes on data the previous model generated at the same LR: once the easy gains are "
        "taken, a constant LR over-fits each cycle's narrowing distribution (post-mortem #3: constant 5e-5, "
        "peak at cycle 6). Decay the LR across cycles.",
    )]


#: Cross-cycle LR decay after cycle degradation: post-mortem #3's exponential 0.85 per cycle.
CYCLE_DECAY = 0.85


@fix_rule("cycle_degradation")
def fix_cycle_degradation(run: Run, f: Finding) -> Prescription:
    ev = f.evidence
    best = int(ev["best_cycle"])
    old, key = value_and_key(run, LR_KEYS)
    sched = (", ".join(f"{old * CYCLE_DECAY ** (c - 1):.3g}" for c in range(1, 7)) if old else None)
    fixes = [Fix("cycles", int(ev["last_cycle"]), best, f"stop at the best cycle ({ev['metric']} {fmt(ev['best'])})"),
             Fix("cross-cycle lr", f"constant {fmt(old)}" if old else "constant", None,
                 "post-mortem #3: constant 5e-5 peaked at cycle 6; decaying across cycles keeps later cycles from over-fitting their own samples",
                 note=f"exponential decay 0.85^(cycle-1): {sched}" if sched else "lr x 0.85^(cycle-1)")]
    return Prescription(fixes, [Watch(ev["metric"], "each cycle at least as good as the best so far", "cycles still help",
                         trouble="two cycles in a row below the best")])
