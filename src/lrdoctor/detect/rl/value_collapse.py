"""``value_collapse``: the critic explains none of the returns for a long stretch.

Explained variance 1 - Var(returns - values) / Var(returns) near or below 0 means the value
predictions are no better than a constant (post-mortem #1's red flag: "constant value
predictions"). A NaN explained variance is stable-baselines3's answer when the returns have
zero variance, not a blow-up: it is ignored, and so is a run whose task metric never
varies (then no critic can explain anything and the real problem is elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect._stats import rolling_median, run_curve, runs_of
from lrdoctor.detect.rl._common import task_curve
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import value_and_key, RL_LR_CUT, lr_fix
from lrdoctor.detect.rl._common import VF_KEYS
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.run import Run

__all__ = ["ValueThresholds", "detect"]


@dataclass(frozen=True)
class ValueThresholds(Thresholds):
    ev_floor: float = 0.05
    """Rolling-median explained variance at or below this explains nothing. SB3's own docs
    read EV <= 0 as "worse than predicting nothing"; 0.05 tolerates float jitter around 0."""
    min_share: float = 0.5
    """The stretch must cover at least half of the logged points: critics start near 0
    and need some updates (sb3 Acrobot: EV ~0 for its first 20%, then 0.7-0.8)."""
    window: int = 9
    """Rolling-median window, in logged points."""
    min_points: int = 20
    """Fewer finite EV points than this get only the few-point rule below."""
    few_min_points: int = 5
    """The few-point rule needs at least this many updates (a median of fewer is one update's noise)."""
    few_median: float = field(default=-0.5, metadata={"range": (None, 0.0)})
    """Few-point rule: every logged EV below 0 and their median at or below this. EV =
    1 - Var(returns - values) / Var(returns): an untrained critic that predicts a constant
    scores 0, so a slow start sits near 0; a median of -0.5 means the predictions add noise
    worth half the returns' variance on every update (baselines PPO1 self-play: -0.07 to
    -4.52 over all 18 iterations)."""


DEFAULTS = ValueThresholds()


class ValueCollapseEvidence(Evidence):
    """What a ``value_collapse`` finding proves itself with (keys absent when not measured)."""

    median_explained_variance: float
    share_of_run: float
    ev_floor: float
    value_loss_peak: float | None
    points: int
    worst_explained_variance: float
    rule: str


def _needs(run: Run, th: ValueThresholds) -> str | None:
    """An explained variance of ``few_min_points`` reports: the few-point rule's median."""
    return needs.column_points("explained_variance", th.few_min_points, "explained-variance",
                               "the few-point rule's median")(run)


@detector("value_collapse", thresholds=DEFAULTS, evidence=ValueCollapseEvidence, needs=_needs)
def detect(run: Run, th: ValueThresholds = DEFAULTS) -> list[Finding]:
    c = run_curve(run, "explained_variance")
    if c is None:
        return []
    t = task_curve(run)
    if t is not None and np.ptp(t.c.mid) == 0:
        return []  # constant returns: EV is undefined, the critic is not to blame
    if len(c) < th.min_points:
        return _few_points(c, th)
    ev = rolling_median(c.mid, th.window)
    runs = [(a, b) for a, b in runs_of(ev <= th.ev_floor) if (b - a) / len(c) >= th.min_share]
    if not runs:
        return []
    a, b = runs[0]
    med = float(np.median(c.mid[a:b]))
    share = (b - a) / len(c)
    vl = run_curve(run, "value_loss")
    evidence = {"median_explained_variance": med, "share_of_run": share, "ev_floor": th.ev_floor,
                "value_loss_peak": None if vl is None else float(vl.hi.max())}
    return [Finding(
        "value_collapse", Severity.WARNING, float(c.first[a]), float(c.step[b - 1]),
        f"explained variance stayed at {fmt(med)} (<= {th.ev_floor:g}) for {share:.0%} of the run: "
        "the value function predicts nothing about the returns", evidence,
        "The critic is not learning: value LR too high (value loss swings) or too low, value loss "
        "coefficient too small, unnormalised returns of a large scale, or a critic that shares a "
        "collapsed trunk with the policy.",
    )]


def _few_points(c, th: ValueThresholds) -> list[Finding]:
    x = c.mid
    if len(x) < th.few_min_points or not (x < 0).all() or float(np.median(x)) > th.few_median:
        return []
    med = float(np.median(x))
    evidence = {"median_explained_variance": med, "share_of_run": 1.0, "ev_floor": 0.0, "points": int(len(x)),
                "worst_explained_variance": float(x.min()),
                "rule": f"few-point: every update below 0, median <= {th.few_median:g}"}
    return [Finding(
        "value_collapse", Severity.WARNING, float(c.first[0]), float(c.step[-1]),
        f"explained variance was negative on all {len(x)} updates (median {fmt(med)}, worst {fmt(float(x.min()))}): "
        "the value predictions are worse than a constant", evidence,
        "The critic is not learning: value LR too high (value loss swings) or too low, value loss "
        "coefficient too small, unnormalised returns of a large scale, or a critic that shares a "
        "collapsed trunk with the policy.",
    )]


@fix_rule("value_collapse")
def fix_value_collapse(run: Run, f: Finding) -> Prescription:
    vf, vf_key = value_and_key(run, VF_KEYS)
    return Prescription([Fix(vf_key or "vf_coef", vf, float(f"{vf * 2:.2g}") if vf else 0.5, "weight the value loss enough to train the critic (SB3 default 0.5)"),
             Fix("normalize_advantage / reward scaling", None, None, "returns of a large scale make the value regression ill-conditioned",
                 note="on (VecNormalize(norm_reward=True) in SB3)"),
             lr_fix(run, f, RL_LR_CUT, "a value loss that swings by orders of magnitude means the critic's steps overshoot")], [Watch("explained_variance", "above 0.3 after the first 20% of the run", "the critic tracks returns",
                   trouble="at or below 0 for most updates")])
