"""``entropy_collapse``: the policy's entropy goes to zero (deterministic too early), or
stays at its uniform maximum (the policy never learns a preference).

Both are red flags of the transformer post-mortem (#1: "policy entropy -> 0 or -> max").
Entropy is the canonical ``entropy`` (stable-baselines3's ``train/entropy_loss`` is minus the
entropy and is read with its sign flipped). A continuous (Gaussian) policy's differential
entropy may be negative and shrinks as its std anneals: only the uniform-maximum check
needs no sign, and the collapse check runs only when every logged value is >= 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect._stats import rolling_median, run_curve, runs_of
from lrdoctor.detect.rl._common import task_curve
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import value_and_key, RL_LR_CUT, lr_fix, recheck_after
from lrdoctor.detect.rl._common import ENT_KEYS
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.config import get_int
from lrdoctor.run import Run

__all__ = ["EntropyThresholds", "detect", "ACTION_KEYS"]

#: Config names of a discrete action space's size.
ACTION_KEYS = ("n_actions", "num_actions", "action_dim", "action_space_n", "n_action")


@dataclass(frozen=True)
class EntropyThresholds(Thresholds):
    collapse_ratio: float = 0.01
    """Entropy below 1% of its starting level (or of ln K) is collapsed: two orders of
    magnitude, far below the 5-10% a healthy converged discrete PPO policy keeps (sb3
    FlappyBird PPO: 0.04-0.07 nats of ln 2 = 0.69)."""
    min_share: float = 0.2
    """Collapsed for at least 20% of the run in all (stretches of >= ``window`` points): an
    entropy that keeps returning to ~0 is collapsed too (sb3 FlappyBird A2C: 44%)."""
    uniform_share: float = 0.98
    """At or above 98% of ln K for the whole second half: the policy is still uniform-random."""
    window: int = 5
    """Rolling-median window, in logged points, that ignores single low readings."""
    head_points: int = 3
    """Logged points whose median is the starting entropy."""


DEFAULTS = EntropyThresholds()


def _pct(x: float) -> str:
    return f"{x:.2%}" if x >= 1e-4 else "<0.01%"


def _n_actions(run: Run) -> tuple[int, str] | None:
    """``(K, key)``: the number of discrete actions from the config, when at least 2."""
    hit = get_int(run.config, ACTION_KEYS)
    return (hit.value, hit.key) if hit is not None and hit.value >= 2 else None


def _flat_task(run: Run) -> dict | None:
    t = task_curve(run)
    if t is None:
        return None
    head, tail = t.smooth[: max(1, t.n // 10)], t.smooth[-max(1, t.n // 10):]
    gain = float(np.median(tail) - np.median(head))
    if gain <= max(3 * t.sigma, 1e-12):
        return {"metric": t.name, "start": float(np.median(head)), "end": float(np.median(tail))}
    return None


class EntropyCollapseEvidence(Evidence):
    """What a ``entropy_collapse`` finding proves itself with (keys absent when not measured)."""

    direction: str
    reference: float
    reference_source: str
    collapsed_level: float
    ratio: float
    collapse_step: float
    share_of_run: float
    min_entropy: float
    task_flat: dict | None
    level: float
    max_entropy: float
    n_actions: float


def _needs(run: Run, th: EntropyThresholds) -> str | None:
    """A policy entropy of two ``window``-report windows: the rolling median's and a collapse as long."""
    return needs.column_points("entropy", 2 * th.window, "policy-entropy",
                               f"two {th.window}-report windows: the rolling median's and a collapse as long")(run)


@detector("entropy_collapse", thresholds=DEFAULTS, evidence=EntropyCollapseEvidence, needs=_needs)
def detect(run: Run, th: EntropyThresholds = DEFAULTS) -> list[Finding]:
    c = run_curve(run, "entropy")
    if c is None or len(c) < 2 * th.window:
        return []
    ent = rolling_median(c.mid, th.window)
    k = _n_actions(run)
    out: list[Finding] = []
    if (c.lo >= 0).all():
        start = float(np.median(c.mid[: th.head_points]))
        ref, ref_src = start, "starting entropy"
        if k is not None and math.log(k[0]) > ref:
            ref, ref_src = math.log(k[0]), f"ln({k[0]}) from config {k[1]}"
        low = ent < th.collapse_ratio * ref
        share = float(low.mean())
        runs = [(a, b) for a, b in runs_of(low) if b - a >= th.window]
        if ref > 0 and runs and share >= th.min_share:
            a, b = runs[0][0], runs[-1][1]
            level = float(np.median(c.mid[low]))
            flat = _flat_task(run)
            sev = Severity.ERROR if flat and a < 0.1 * len(c) else Severity.WARNING
            ev = {"direction": "to_zero", "reference": ref, "reference_source": ref_src, "collapsed_level": level,
                  "ratio": level / ref, "collapse_step": float(c.step[a]), "share_of_run": share,
                  "min_entropy": float(c.lo.min()), "task_flat": flat}
            tail = f"; {flat['metric']} did not improve ({fmt(flat['start'])} -> {fmt(flat['end'])})" if flat else ""
            out.append(Finding(
                "entropy_collapse", sev, float(c.first[a]), float(c.step[b - 1]),
                f"policy entropy collapsed to {fmt(level)} ({_pct(level / ref)} of the {ref_src} {fmt(ref)}; "
                f"lowest {fmt(float(c.lo.min()))}) from step {fmt(float(c.step[a]))}, "
                f"for {share:.0%} of the run{tail}", ev,
                "The policy became deterministic before it found a good behaviour: updates too large "
                "(LR, epochs per rollout), no or too small an entropy bonus, or a reward/env bug that "
                "makes one action always best.",
            ))
    if k is not None:
        lnk = math.log(k[0])
        half = ent[len(ent) // 2:]
        if half.size and (half >= th.uniform_share * lnk).all():
            level = float(np.median(half))
            out.append(Finding(
                "entropy_collapse", Severity.WARNING, float(c.step[len(ent) // 2]), float(c.step[-1]),
                f"policy entropy stayed at its uniform maximum ({fmt(level)} of ln({k[0]}) = {fmt(lnk)}) "
                "for the second half of the run: the policy never learned a preference", 
                {"direction": "to_uniform", "level": level, "max_entropy": lnk, "n_actions": k[0]},
                "The policy gradient is too weak to move the policy: LR too low, an entropy bonus that "
                "dominates the objective, or rewards that do not depend on the actions.",
            ))
    return out


@fix_rule("entropy_collapse")
def fix_entropy_collapse(run: Run, f: Finding) -> Prescription:
    ev = f.evidence
    ent, ent_key = value_and_key(run, ENT_KEYS)
    if ev.get("direction") == "to_uniform":
        return Prescription([lr_fix(run, f, 3.0, "the policy does not move: raise the LR 3x"),
                 Fix(ent_key or "ent_coef", ent, float(f"{ent / 10:.2g}") if ent else 0.0, "an entropy bonus that dominates keeps the policy uniform: 10x smaller")], [Watch("entropy", f"falls below {fmt(0.9 * ev['max_entropy'])} within 10% of the run", "the policy forms preferences",
                       trouble="stays at ln(K)")])
    new_ent = float(f"{ent * 10:.2g}") if ent else 0.01
    fixes = [Fix(ent_key or "ent_coef", ent, new_ent, "an entropy bonus keeps exploring (0.01 is the common PPO/A2C value, e.g. CleanRL)"),
             lr_fix(run, f, RL_LR_CUT, "large updates make the policy deterministic before it learns: cut the LR 3x")]
    if ev.get("task_flat"):
        fixes.append(Fix("environment", None, None, "entropy collapsed while the return never moved: a reward or env-step bug makes one action always best",
                         note="check rewards and termination (a constant return since the start)"))
    ref = ev.get("reference", 0.0)
    watch = [Watch("entropy", f"above {fmt(0.1 * ref)} (10% of its start) until the return plateaus", "the policy still explores",
                   trouble=f"below {fmt(0.01 * ref)} (1% of its start)"),
             Watch("ep_return", "rising while entropy falls", "entropy is being spent on learning", trouble="flat while entropy falls")]
    return Prescription(fixes, watch, recheck_after(run))
