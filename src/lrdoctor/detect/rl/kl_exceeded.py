"""``kl_exceeded``: PPO's approximate KL above its target for a stretch, or a blow-up.

Three shapes, three severities:

* a sustained stretch where the rolling median KL is above 1.5x the target (stable-baselines3
  stops a PPO epoch early at exactly that multiple) -- warning, the GRU post-mortem (#2:
  KL 0.0334 against 0.02 before the policy collapsed);
* one update far above the target (``spike_factor`` x) followed by a collapse -- the return
  drops far below its level before, or the policy freezes (KL falls 10x and stays there
  while the LR did not decay) -- error: the PreyPredator log's KL of 89 at episode 2100;
* an isolated spike with no such consequence -- info: sb3 Acrobot's single 1.07 (its
  return kept improving). A single KL spike is not a blow-up.

A log of a few updates (fewer than ``min_updates``: one stable-baselines3 table pasted into an
issue) is read by two few-point rules: a KL at ``spike_factor`` x the target to the end (error),
or every update past the early-stop level with its clip fraction past the healthy band (warning:
two witnesses of one overshoot, so a single table can be judged).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.detect._common import lr_at
from lrdoctor.fmt import fmt
from lrdoctor.detect._stats import robust_sigma, rolling_median, run_curve, runs_of
from lrdoctor.detect.rl._common import task_curve
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import value_and_key, RL_LR_CUT, lr_fix, recheck_after
from lrdoctor.detect.rl._common import EPOCH_KEYS
from lrdoctor.detect._grad import CLIP_KEYS
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.config import lookup
from lrdoctor.run import Run

__all__ = ["KLThresholds", "detect", "TARGET_KL_KEYS"]

#: Config names of the KL target (SB3 ``target_kl``, CleanRL ``--target-kl``, RLlib ``kl_target``).
TARGET_KL_KEYS = ("target_kl", "kl_target", "desired_kl")


@dataclass(frozen=True)
class KLThresholds(Thresholds):
    target: float = 0.02
    """KL target when the config names none: the GRU post-mortem's (#2) target, in the
    0.01-0.03 range rl-zoo tunes PPO's ``target_kl`` to."""
    few_min_updates: int = 2
    """The few-point rule's minimum: a KL past the target that stays there, read over two updates at
    least (one high update followed by nothing says nothing about staying). One update is judged
    only with a clip fraction beside it (``clip_share``)."""
    clip_share: float = 0.3
    """A clip fraction above 0.3 is past the healthy band (the fix's watch list: 0.05-0.3, "active
    but not saturated"), and it is what a KL at the target implies: SB3's approx_kl, mean((r - 1) -
    log r), is about var(r)/2, so a KL of 0.02 puts the ratio's spread at 0.2 and, were it normal,
    clips 2 Phi(-0.2 / 0.2) = 32% of samples at PPO's default clip range 0.2 (Schulman et al. 2017;
    SB3, CleanRL). A KL past the early-stop level *and* a clip fraction past this share are two
    witnesses of one overshoot; a large KL that few samples carry (a clip fraction inside the band,
    openai/baselines#456) is not one."""
    early_stop_factor: float = 1.5
    """A stretch counts as above target at this multiple: stable-baselines3 PPO stops an
    epoch early when ``approx_kl > 1.5 * target_kl``."""
    window: int = 9
    """Rolling-median window, in logged updates, that makes a stretch "sustained"."""
    min_updates: int = 10
    """Shortest sustained stretch, in logged updates."""
    spike_factor: float = 10.0
    """One update at 10x the target is a spike (typical PPO KL is 1e-4..2e-2)."""
    collapse_sigma: float = 3.0
    """Return drop after a spike, in robust sigmas of the return before it, that counts as a crash."""
    freeze_ratio: float = 0.1
    """Median KL after the spike below this share of before, with the LR not decayed: the policy froze."""
    after_points: int = 10
    """Logged points after the spike in which a return crash is looked for."""
    freeze_min_before: int = 5
    """Fewest updates before a spike to judge a freeze (a median of fewer is one update's noise)."""
    freeze_min_after: int = 10
    """Fewest updates after the spike whose median KL is compared with before: ``min_updates``,
    the shortest stretch any KL rule reads as sustained (SB3 PPO CartPole at lr 0.03: KL 9.2,
    then exactly 0 on all 22 later updates; the policy had stopped moving)."""


DEFAULTS = KLThresholds()


def _target(run: Run, th: KLThresholds) -> tuple[float, str]:
    hit = lookup(run.config, TARGET_KL_KEYS)
    if hit is not None:
        try:
            v = float(hit[1])
            if v > 0:
                return v, f"config {hit[0]}"
        except (TypeError, ValueError):
            pass
    return th.target, "default"


def _return_crash(run: Run, step: float, th: KLThresholds) -> dict | None:
    t = task_curve(run)
    if t is None:
        return None
    s = run.series(t.name).finite()  # raw points: a crash lasts a few updates, bins would blur it
    i = int(np.searchsorted(s.steps, step, side="left"))
    before, after = s.values[max(0, i - 5 * th.after_points): i], s.values[i: i + th.after_points]
    if before.size < th.after_points or after.size < 3:
        return None
    lvl_b, lvl_a = float(np.median(before)), float(np.median(after))
    sigma = robust_sigma(before - np.median(before))
    if sigma > 0 and lvl_b - lvl_a > th.collapse_sigma * sigma:
        return {"metric": t.name, "before": lvl_b, "after": lvl_a, "sigma_before": sigma,
                "worst_after": float(after.min())}
    return None


def _frozen(run: Run, kl_steps: np.ndarray, kl: np.ndarray, i: int, th: KLThresholds) -> dict | None:
    before, after = kl[:i], kl[i + 1:]
    if before.size < th.freeze_min_before or after.size < th.freeze_min_after:
        return None
    mb, ma = float(np.median(before)), float(np.median(after))
    if mb <= 0 or ma >= th.freeze_ratio * mb:
        return None
    lr_b, lr_a = lr_at(run, float(kl_steps[i - 1])), lr_at(run, float(kl_steps[-1]))
    if lr_b and lr_a is not None and lr_a < 0.5 * lr_b:
        return None  # a decaying LR shrinks the updates on purpose
    return {"kl_median_before": mb, "kl_median_after": ma}


def _exact_peak(run: Run, first: float, last: float) -> float:
    """The logged step of the largest KL within one bin (bins hide which step it was)."""
    s = run.series("approx_kl").finite()
    a, b = np.searchsorted(s.steps, [first, last], side="left")
    b = max(b + 1, a + 1)
    return float(s.steps[a + int(np.argmax(s.values[a:b]))])


def _few_updates(run: Run, th: KLThresholds) -> list[Finding]:
    """Few-point rule (fewer than ``min_updates`` logged updates, e.g. a pasted excerpt): the
    KL reaches ``spike_factor`` x the target and stays there to the end, over at least two
    updates. One high update followed by normal ones is left alone (Acrobot's 1.07)."""
    s = run.series("approx_kl")
    if s is None:
        return []
    f = s.finite()
    v = f.values
    if v.size < th.few_min_updates:
        return []
    target, src = _target(run, th)
    high = v >= th.spike_factor * target
    if not high[-1]:
        return []
    low = np.flatnonzero(~high)
    onset = int(low[-1]) + 1 if low.size else 0
    if v.size - onset < 2:
        return []
    ev = {"target": target, "target_source": src, "onset_step": float(f.steps[onset]), "kl_at_onset": float(v[onset]),
          "peak_kl": float(v[onset:].max()), "final_kl": float(v[-1]), "peak_over_target": float(v[onset:].max() / target),
          "updates_above": int(v.size - onset), "rule": f"few-point: KL >= {th.spike_factor:g}x target to the end"}
    if onset > 0:
        ev["kl_before"] = float(v[onset - 1])
    summary = (f"approx KL jumped to {fmt(ev['kl_at_onset'])} at step {fmt(ev['onset_step'])} "
               f"({ev['kl_at_onset'] / target:.0f}x the target {fmt(target)}) and stayed above "
               f"{th.spike_factor:g}x the target for all {ev['updates_above']} remaining updates (peak {fmt(ev['peak_kl'])})")
    cause = ("Each update moves the policy far more than the trust region allows: LR too high, too many "
             "epochs or minibatches per rollout, or no KL early stop; the policy is being destroyed.")
    return [Finding("kl_exceeded", Severity.ERROR, ev["onset_step"], float(f.steps[-1]), summary, ev, cause)]


def _past_both(run: Run, th: KLThresholds) -> list[Finding]:
    """Few-point rule of two witnesses: in a log of fewer than ``min_updates`` updates, every update's
    KL at ``early_stop_factor`` x the target or more (SB3 would have stopped each epoch early) and
    its clip fraction above ``clip_share`` (the clipped objective saturated): the updates overshoot
    the trust region, read from one pasted table or a few (SB3 PPO at lr 3e-4 on a custom env:
    approx_kl 0.0725 with 60% of samples clipped)."""
    s, cf = run.series("approx_kl"), run.series("clip_fraction")
    if s is None or cf is None:
        return []
    f, c = s.finite(), cf.finite()
    if f.values.size == 0 or c.values.size == 0:
        return []
    clip = np.interp(f.steps, c.steps, c.values)  # the clip fraction at each KL report (SB3 logs both per update)
    target, src = _target(run, th)
    v = f.values
    if not ((v >= th.early_stop_factor * target).all() and (clip > th.clip_share).all()):
        return []
    ev = {"target": target, "target_source": src, "onset_step": float(f.steps[0]), "kl_at_onset": float(v[0]),
          "peak_kl": float(v.max()), "final_kl": float(v[-1]), "peak_over_target": float(v.max() / target),
          "updates_above": int(v.size), "clip_fraction_min": float(clip.min()),
          "rule": f"few-point: KL >= {th.early_stop_factor:g}x target and clip fraction > {th.clip_share:g} at every update"}
    if v.size == 1:
        what = f"approx_kl {fmt(float(v[0]))} with {fmt(float(clip[0]))} of samples clipped at the one logged update"
    else:
        what = (f"approx_kl {fmt(float(v.min()))}-{fmt(float(v.max()))} with at least {fmt(float(clip.min()))} of samples "
                f"clipped at all {v.size} logged updates")
    summary = (f"{what} ({float(v.max()) / target:.1f}x the target {fmt(target)}): past SB3's early-stop level "
               f"({th.early_stop_factor:g}x the target) and past the clip fraction's healthy band (0.05-{th.clip_share:g})")
    cause = ("Each update moves the policy further than PPO's trust region: the LR is too high for this policy, "
             "or there are too many epochs per rollout, and no KL early stop catches it.")
    return [Finding("kl_exceeded", Severity.WARNING, ev["onset_step"], float(f.steps[-1]), summary, ev, cause)]


class KlExceededEvidence(Evidence):
    """What a ``kl_exceeded`` finding proves itself with (keys absent when not measured)."""

    target: float
    target_source: str
    onset_step: float
    kl_at_onset: float
    peak_kl: float
    final_kl: float
    peak_over_target: float
    updates_above: int
    rule: str
    kl_before: float
    clip_fraction_min: float
    peak_step: float
    spikes: int
    spike_steps: list
    median_kl: float
    over_target: float
    share_of_run: float
    stretches: int
    return_crash: dict | None
    policy_frozen: dict | None


def _needs(run: Run, th: KLThresholds) -> str | None:
    """An approximate KL of ``few_min_updates`` updates (a KL past the target that stays there), or
    of one update with a clip fraction beside it (the two witnesses of :func:`_past_both`)."""
    fewest = 1 if needs.points(run, "clip_fraction") else th.few_min_updates
    return needs.column_points("approx_kl", fewest, "approximate-KL (approx_kl, approxkl, ...)",
                               "a KL past the target that stays there, or one beside a clip fraction")(run)


@detector("kl_exceeded", thresholds=DEFAULTS, evidence=KlExceededEvidence, needs=_needs)
def detect(run: Run, th: KLThresholds = DEFAULTS) -> list[Finding]:
    c = run_curve(run, "approx_kl")
    if c is None:
        return []
    if len(c) < th.min_updates:
        return _few_updates(run, th) or _past_both(run, th)
    target, src = _target(run, th)
    kl_steps, kl_mid, kl_hi = c.step, c.mid, c.hi

    # Spikes (single updates far above the target), judged by what followed.
    spikes = np.flatnonzero(kl_hi >= th.spike_factor * target)
    spike_ev: dict = {}
    if spikes.size:
        i = int(spikes[np.argmax(kl_hi[spikes])])
        step, peak = _exact_peak(run, float(c.first[i]), float(kl_steps[i])), float(kl_hi[i])
        spike_ev = {"peak_kl": peak, "peak_step": step, "peak_over_target": peak / target, "spikes": int(spikes.size),
                    "spike_steps": [float(s) for s in kl_steps[spikes][:20]]}
        crash = _return_crash(run, step, th)
        frozen = _frozen(run, kl_steps, kl_mid, i, th)
        if crash or frozen:
            ev = {"target": target, "target_source": src, **spike_ev, "return_crash": crash, "policy_frozen": frozen}
            what = []
            if crash:
                what.append(f"{crash['metric']} fell {fmt(crash['before'])} -> {fmt(crash['after'])} (worst {fmt(crash['worst_after'])})")
            if frozen:
                what.append(f"the policy then stopped moving (median KL {fmt(frozen['kl_median_before'])} -> {fmt(frozen['kl_median_after'])})")
            return [Finding(
                "kl_exceeded", Severity.ERROR, step, float(kl_steps[-1]),
                f"KL blow-up: approx_kl {fmt(peak)} at step {fmt(step)} ({peak / target:.0f}x the target {fmt(target)}); "
                + "; ".join(what), ev,
                "One policy update moved far outside the trust region: the LR (or the number of epochs/minibatches "
                "per rollout) is too large for this policy, and nothing stopped the update early.",
            )]

    # Sustained stretches above the early-stop level.
    roll = rolling_median(kl_mid, th.window)
    runs = [(a, b) for a, b in runs_of(roll > th.early_stop_factor * target) if b - a >= th.min_updates]
    if runs:
        a, b = max(runs, key=lambda r: r[1] - r[0])
        share = float(sum(b_ - a_ for a_, b_ in runs) / len(c))
        med = float(np.median(kl_mid[a:b]))
        ev = {"target": target, "target_source": src, "median_kl": med, "over_target": med / target,
              "share_of_run": share, "stretches": len(runs), **spike_ev}
        return [Finding(
            "kl_exceeded", Severity.WARNING, float(kl_steps[a]), float(kl_steps[b - 1]),
            f"approx_kl stayed above {th.early_stop_factor:g}x the target {fmt(target)} for {b - a} logged updates "
            f"(median {fmt(med)}, {med / target:.1f}x; {share:.0%} of the run)", ev,
            "Policy updates are consistently too large: the LR is too high for this stage, or too many "
            "epochs per rollout; the GRU post-mortem's collapse started this way (KL 0.0334 vs 0.02).",
        )]
    if spike_ev:
        step, peak = spike_ev["peak_step"], spike_ev["peak_kl"]
        return [Finding(
            "kl_exceeded", Severity.INFO, step, step,
            f"{spikes.size} isolated approx_kl spike(s), largest {fmt(peak)} at step {fmt(step)} "
            f"({peak / target:.0f}x the target {fmt(target)}); the return did not crash afterwards",
            {"target": target, "target_source": src, **spike_ev},
            "An occasional large update (an unusual rollout); harmless while it stays isolated.",
        )]
    return []


def _lr_shape(run: Run) -> str | None:
    """'constant' when the logged LR never moved, None when unknown."""
    s = run.series("lr")
    if s is None or s.finite().values.size < 2:
        return None
    v = s.finite().values
    return "constant" if v.max() <= v.min() * 1.001 else "varies (see lr curve)"


@fix_rule("kl_exceeded")
def fix_kl_exceeded(run: Run, f: Finding) -> Prescription:
    ev = f.evidence
    target = ev.get("target", 0.02)
    if f.severity.value == "info":
        return Prescription([], [Watch("approx_kl", f"isolated spikes, median below {fmt(target)}", "harmless while isolated",
                          trouble=f"above {fmt(1.5 * target)} for 10+ updates in a row")])
    fixes = [lr_fix(run, f, RL_LR_CUT, f"approx_kl {ev.get('peak_over_target', ev.get('over_target', 0)):.1f}x the target: cut the LR 3x")]
    tkl, tkl_key = value_and_key(run, TARGET_KL_KEYS)
    if tkl is None:
        fixes.append(Fix("target_kl", None, target, "stop the epoch early when KL > 1.5 x target_kl (stable-baselines3 PPO): a blow-up cannot run a whole epoch"))
    ep, ep_key = value_and_key(run, EPOCH_KEYS)
    if ep is not None and ep > 4:
        fixes.append(Fix(ep_key, int(ep), max(3, int(ep // 2)), "fewer passes over each rollout keep the policy inside the trust region"))
    fixes.append(Fix("lr schedule", _lr_shape(run), None, "post-mortem #2: the recurrent PPO agent collapsed at constant 3e-4; warmup and decay kept KL under target",
                     note="three-phase: 0.01x -> 0.1x over 2.5%, 0.1x -> 1x to 25%, then linear decay"))
    clip, _ = value_and_key(run, CLIP_KEYS)
    if clip is None:
        fixes.append(Fix("max_grad_norm", None, 0.5, "stable-baselines3 PPO's default gradient clip"))
    watch = [Watch("approx_kl", f"median below {fmt(target)}", "updates stay in the trust region",
                   trouble=f"above {fmt(1.5 * target)} for 10+ updates, or any update above {fmt(10 * target)}"),
             Watch("clip_fraction", "0.05-0.3", "the clip is active but not saturated", trouble="above 0.3, or stuck at 0 (frozen policy)")]
    return Prescription(fixes, watch, recheck_after(run))
