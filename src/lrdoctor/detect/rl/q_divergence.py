"""``q_divergence``: the Q-values' range (or magnitude) blows up while the return does not
follow, and often collapses afterwards.

The DQN post-mortem (#5): the Q-range went 324 -> 1999 -> 16 while the TD loss kept falling
and the return slope turned from +1.13 to -0.19 per million frames. Q-values grow on their
own while an agent learns (they track the return), so growth alone is not divergence: the
rule asks for growth the task metric does not justify. Evidence is the Q table by step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect._stats import curve, rolling_median
from lrdoctor.detect.rl._common import task_curve
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import value_and_key, RL_LR_CUT, lr_fix, recheck_after
from lrdoctor.detect.rl._common import TAU_KEYS, HARD_UPDATE_KEYS, NSTEP_KEYS, GAMMA_KEYS, ACCUM_KEYS, GRAD_STEPS_KEYS, TRAIN_FREQ_KEYS, TARGET_SHARE_100
from lrdoctor.detect._grad import CLIP_KEYS
from lrdoctor.prescribe.calc import tau_for_share, soft_update, nstep
from lrdoctor.detect.registry import CannotJudge, Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.run import Run, Series

__all__ = ["QThresholds", "detect", "q_magnitude"]


@dataclass(frozen=True)
class QThresholds(Thresholds):
    growth: float = 5.0
    """Growth of the Q level within ``window_share`` of the run that counts as an explosion.
    Post-mortem #5's Q-range grew 6.2x (324 -> 1999); 5x catches it with a margin, an order of
    magnitude (10x) is an error on its own."""
    error_growth: float = 10.0
    """Growth that is an error even without a collapse after it."""
    few_points: int = 20
    """Below this many reports the few-point rule judges the log: the windowed rule's level is a
    rolling median over 1/25 of the run (3 at least), and its windows need room for a lag."""
    few_min_points: int = 3
    """The few-point rule's minimum: a lowest point, a later one and the end it is compared with
    (the few-point rules' 3)."""
    window_share: float = 0.25
    """Growth is measured over at least this share of the run (from the lowest level seen
    before), so one noisy bin cannot make a 5x."""
    collapse: float = 0.1
    """After the peak, a level below 10% of it is the collapse (post-mortem #5: 1999 -> 16)."""
    skip_share: float = 0.05
    """The first 5% of the run is not a baseline: Q starts near its initialisation (~0)."""
    justified: float = 0.5
    """Growth is justified when the task metric rose by at least half as many times over the
    same window (returns up 4x explain Q up 8x); below that it is divergence."""


DEFAULTS = QThresholds()


def q_magnitude(run: Run) -> Series | None:
    """The Q statistic to judge: the logged range (post-mortem #5's statistic), else the
    largest magnitude max(|q_max|, |q_min|) (divergence is about size: on Baird's
    counterexample all values grow together and their spread says little), else |q_max|,
    else |mean|."""
    if "q_range" in run:
        r = run.series("q_range")
        return Series("Q range", r.steps, r.values)
    if "q_max" in run and "q_min" in run:
        both = run.logged["q_max"] & run.logged["q_min"]
        if both.any():
            mag = np.maximum(np.abs(run.metrics["q_max"][both]), np.abs(run.metrics["q_min"][both]))
            return Series("max|Q|", run.steps[both], mag)
    for name in ("q_max", "q_values"):
        s = run.series(name)
        if s is not None:
            return Series(f"|{name}|", s.steps, np.abs(s.values))
    return None


def _task_growth(run: Run, a: float, b: float) -> float | None:
    t = task_curve(run)
    if t is None:
        return None
    va = float(np.interp(a, t.c.step, t.smooth))
    vb = float(np.interp(b, t.c.step, t.smooth))
    if va <= 0 or vb <= 0:  # negative returns: a growth factor means nothing; use the sign
        return np.inf if vb - va > 3 * t.sigma else 1.0
    return vb / va


def _table(steps: np.ndarray, level: np.ndarray, rows: int = 8) -> list[dict]:
    idx = np.unique(np.r_[np.linspace(0, level.size - 1, rows).astype(int), np.argmax(level)])
    return [{"step": float(steps[i]), "q": float(level[i])} for i in idx]


def _few_points(run: Run, s: Series, th: QThresholds) -> list[Finding]:
    """Few-point rule (fewer than 20 reports): |Q| multiplies by ``growth`` from its lowest
    point to the end within the excerpt, and ends above the largest |episode return| logged
    (a Q estimate is an expected return: it cannot exceed every return the agent ever got).
    Without a logged return, the growth must reach ``error_growth``."""
    f = s.finite()
    v = np.abs(f.values)
    if v.min() <= 0:  # (``detect`` hands it ``few_min_points`` reports at least)
        return []
    i0 = int(np.argmin(v[:-1]))
    g = float(v[-1] / v[i0])
    if g < th.growth or v[-1] < v[i0:].max() * 0.5:
        return []
    ret = None
    for name in ("ep_return", "eval_return"):
        r = run.series(name)
        if r is not None and r.finite().values.size:
            ret = float(np.abs(r.finite().values).max())
            break
    if ret is None and g < th.error_growth:
        return []
    if ret is not None and v[-1] <= ret:
        return []  # still within the returns it estimates
    ev = {"statistic": s.name, "base": float(v[i0]), "base_step": float(f.steps[i0]), "peak": float(v[-1]),
          "peak_step": float(f.steps[-1]), "growth": g, "max_abs_return": ret,
          "table": [{"step": float(a), "q": float(b)} for a, b in zip(f.steps[i0:], v[i0:])][:10],
          "rule": "few-point: |Q| grew >= growth x and exceeds every logged |return|"}
    tail = f", above every |episode return| logged (max {fmt(ret)})" if ret is not None else ""
    return [Finding(
        "q_divergence", Severity.ERROR, ev["base_step"], ev["peak_step"],
        f"{s.name} grew {g:.1f}x in {v.size - i0} reports ({fmt(ev['base'])} at step {fmt(ev['base_step'])} -> "
        f"{fmt(ev['peak'])} at step {fmt(ev['peak_step'])}){tail}", ev,
        "Bootstrapped targets feed on their own overestimates: LR too high for the TD update, the target "
        "network follows the online one too fast, or a long n-step return adds variance.",
    )]


class QDivergenceEvidence(Evidence):
    """What a ``q_divergence`` finding proves itself with (keys absent when not measured)."""

    statistic: str
    base: float
    base_step: float
    peak: float
    peak_step: float
    growth: float
    max_abs_return: float
    table: list
    rule: str
    task_growth: float
    collapsed: bool
    after_min: float


_Q_COLUMN = needs.column("q_values", "q_max", "q_min", "q_range", what="Q-value (q_values, mean_q, max_q, ...)")


@detector("q_divergence", thresholds=DEFAULTS, evidence=QDivergenceEvidence, needs=_Q_COLUMN)
def detect(run: Run, th: QThresholds = DEFAULTS) -> list[Finding]:
    """The statistic it judges (:func:`q_magnitude`) needs ``few_min_points`` finite reports: on
    fewer no rule can see a growth, and the check says so (:class:`CannotJudge`)."""
    s = q_magnitude(run)
    f = s.finite() if s is not None else None
    if f is None or f.values.size < th.few_min_points:
        raise CannotJudge(f"only {0 if f is None else f.values.size} Q-value point(s); needs {th.few_min_points} "
                          "(a low point and a growth after it)")
    if f.values.size < th.few_points:
        return _few_points(run, s, th)
    c = curve(f)
    w = max(3, len(c) // 25) | 1
    level = np.maximum(rolling_median(c.mid, w), 0.0)
    n = level.size
    lag = max(1, int(n * th.window_share))
    start = max(1, int(n * th.skip_share))
    if n - start <= lag:
        return []
    # growth of each point over the lowest level seen at least one window earlier: catches a
    # fast blow-up within a window and a steady exponential one (Baird: 2.7x per quarter)
    base_min = np.minimum.accumulate(level[start: n - lag])
    now = level[start + lag:]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(base_min > 0, now / np.where(base_min > 0, base_min, 1.0), 0.0)
    j = int(np.argmax(ratio))
    g = float(ratio[j])
    if g < th.growth:
        return []
    p = start + lag + j  # where the growth was largest
    peak_i = p + int(np.argmax(level[p: p + lag + 1]))  # the top of that climb
    base_i = start + int(np.argmin(level[start: start + j + 1]))
    a_step, p_step = float(c.step[base_i]), float(c.step[peak_i])
    tg = _task_growth(run, a_step, p_step)
    if tg is not None and tg >= th.justified * g:
        return []  # the return grew along with Q: values are tracking real progress
    after = level[peak_i:]
    collapsed = bool(after.size > 1 and after.min() < th.collapse * level[peak_i])
    sev = Severity.ERROR if collapsed or g >= th.error_growth else Severity.WARNING
    ev = {"statistic": s.name, "base": float(level[base_i]), "base_step": a_step, "peak": float(level[peak_i]),
          "peak_step": p_step, "growth": g, "task_growth": tg, "collapsed": collapsed,
          "after_min": float(after.min()) if after.size else None, "table": _table(c.step, level)}
    tail = f", then collapsed to {fmt(float(after.min()))}" if collapsed else ""
    task = "" if tg is None else (" while the return did not follow" if not np.isfinite(tg) or tg < 1.5
                                   else f" while the return grew only {tg:.1f}x")
    return [Finding(
        "q_divergence", sev, a_step, float(c.step[-1]) if collapsed else p_step,
        f"{s.name} grew {g:.1f}x ({fmt(ev['base'])} at step {fmt(a_step)} -> {fmt(ev['peak'])} at step {fmt(p_step)})"
        f"{task}{tail}", ev,
        "Bootstrapped targets feed on their own overestimates: LR too high for the TD update, the target "
        "network follows the online one too fast (large soft-update tau or frequent hard updates), or a "
        "long n-step return adds variance (the deadly triad: function approximation + bootstrapping + off-policy).",
    )]


#: Longest n-step return after a Q divergence: post-mortem #5 cut 8 -> 5 (gamma^5 = 0.975 at 0.995).
MAX_NSTEP = 5


@fix_rule("q_divergence")
def fix_q_divergence(run: Run, f: Finding) -> Prescription:
    ev = f.evidence
    fixes = [lr_fix(run, f, RL_LR_CUT, "the TD update overshoots and bootstraps on its own error: cut the LR 3x")]
    tau, tau_key = value_and_key(run, TAU_KEYS)
    new_tau = float(f"{tau_for_share(TARGET_SHARE_100, 100):.2g}")
    if tau is not None and 0 < tau <= 1.0:
        if new_tau < tau:
            now = soft_update(tau, 100).replaced
            fixes.append(Fix(tau_key, tau, new_tau,
                             f"tau {fmt(tau)} replaces {now:.1%} of the target in 100 steps; {fmt(new_tau)} replaces "
                             f"{soft_update(new_tau, 100).replaced:.0%}: a slower target stops the feedback loop"))
    else:
        hard, hard_key = value_and_key(run, HARD_UPDATE_KEYS)
        fixes.append(Fix(hard_key or "target_update_interval", hard, 2 * hard if hard else None,
                         "update the target network half as often, or switch to soft updates with tau 0.005",
                         note="" if hard else "2x the current interval"))
    n, n_key = value_and_key(run, NSTEP_KEYS)
    gamma, _ = value_and_key(run, GAMMA_KEYS)
    if n is not None and n > MAX_NSTEP:
        why = "shorter bootstrapped returns carry less variance"
        if gamma is not None and 0 < gamma < 1:
            why += f" (gamma^{int(n)} = {nstep(gamma, int(n)).gamma_n:.3f} -> gamma^{MAX_NSTEP} = {nstep(gamma, MAX_NSTEP).gamma_n:.3f})"
        fixes.append(Fix(n_key, int(n), MAX_NSTEP, why))
    acc, acc_key = value_and_key(run, ACCUM_KEYS)
    fixes.append(Fix(acc_key or "gradient_accumulation_steps", int(acc) if acc else None, int(2 * acc) if acc else 2,
                     "average twice the samples per update: half the gradient noise at the same LR"))
    gsteps, g_key = value_and_key(run, GRAD_STEPS_KEYS)
    if gsteps is not None and gsteps > 1:
        freq, _ = value_and_key(run, TRAIN_FREQ_KEYS)
        ratio = f" ({fmt(gsteps)} updates per {fmt(freq)} env steps)" if freq else ""
        fixes.append(Fix(g_key, gsteps, max(1, int(gsteps // 2)), f"fewer training steps per sample{ratio}: less over-fitting of the replay buffer"))
    fixes.append(Fix("target clamp", None, None, "no true Q-value lies outside that range; clamping cuts the runaway at its source",
                     note="clamp TD targets to [r_min, r_max] / (1 - gamma)"))
    clip, clip_key = value_and_key(run, CLIP_KEYS)
    if clip is None:
        fixes.append(Fix("max_grad_norm", None, 10.0, "clip the TD gradient (stable-baselines3 DQN's default 10)"))
    base, peak = ev.get("base"), ev.get("peak")
    watch = [
        Watch(ev.get("statistic", "q"), f"stays within 2x of {fmt(base)} (its level before the explosion)",
              "the Q-values are bounded again", trouble=f"above {fmt(5 * base if base else None)} (5x), or above the last peak {fmt(peak)}"),
        Watch("return slope", "positive per 1M frames" if run.meta.step_unit == "timestep" else "positive",
              "the agent improves again", trouble="negative over the recheck window"),
        Watch("loss", "may rise at first (targets move back to true values)", "a falling TD loss alone proves nothing",
              trouble="falling while the return falls (objective_mismatch)"),
    ]
    return Prescription(fixes, watch, recheck_after(run))
