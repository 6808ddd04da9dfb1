"""Fix tables for the RL and iterative fine-tuning findings, in the DQN post-mortem's shape.

A prescription may change several knobs at once (LR, tau, n-step, accumulation, target
clamping, replay ratio), names signs of recovery and of continued trouble with thresholds,
and says when to look again. Old values come from the run's config: stable-baselines3 /
rl-zoo hyperparameter YAML (nested under the env id) and CleanRL-style argument dumps are
both searched by :func:`lrdoctor.io.config.lookup`.
"""

from __future__ import annotations

from typing import Any, Callable

from lrdoctor.fmt import fmt
from lrdoctor.detect._grad import CLIP_KEYS
from lrdoctor.detect.rl.kl import TARGET_KL_KEYS
from lrdoctor.finding import Finding, Fix, Watch
from lrdoctor.config import lookup
from lrdoctor.prescribe.calc import nstep, soft_update, tau_for_share
from lrdoctor.run import Run

__all__ = ["RL_RULES", "TAU_KEYS", "NSTEP_KEYS", "GAMMA_KEYS"]

LR_KEYS = ("learning_rate", "lr", "learning-rate", "q_lr", "policy_lr", "actor_lr", "critic_lr")
TAU_KEYS = ("tau", "polyak", "target_tau", "soft_update_tau")
HARD_UPDATE_KEYS = ("target_update_interval", "target_network_frequency", "target_update_freq", "target_update")
NSTEP_KEYS = ("n_step", "multi_step", "n_step_return", "nstep", "n_steps_return")
GAMMA_KEYS = ("gamma", "discount", "discount_factor")
ACCUM_KEYS = ("gradient_accumulation_steps", "grad_accum", "accumulation_steps", "gradient_accumulation")
GRAD_STEPS_KEYS = ("gradient_steps", "updates_per_step", "replay_ratio", "utd_ratio")
TRAIN_FREQ_KEYS = ("train_freq", "train_frequency", "update_every")
ENT_KEYS = ("ent_coef", "entropy_coef", "entropy_coeff", "ent_coeff")
EPOCH_KEYS = ("n_epochs", "update_epochs", "ppo_epochs", "num_epochs")
VF_KEYS = ("vf_coef", "value_coef", "value_loss_coef")

#: LR cut for Q divergence and KL blow-ups: 3x (post-mortem #5: 0.003 -> 0.001).
RL_LR_CUT = 1 / 3
#: Share of the target a soft update may replace in 100 steps after a Q divergence:
#: post-mortem #5 moved tau 0.012 (70%) -> 0.005 (40%).
TARGET_SHARE_100 = 0.4
#: Longest n-step return after a Q divergence: post-mortem #5 cut 8 -> 5 (gamma^5 = 0.975 at 0.995).
MAX_NSTEP = 5
#: When to look again after an RL fix when the run counts frames: post-mortem #5's 2M frames.
RECHECK_FRAMES = 2_000_000
#: Cross-cycle LR decay after cycle degradation: post-mortem #3's exponential 0.85 per cycle.
CYCLE_DECAY = 0.85


def _num(run: Run, keys: tuple[str, ...]) -> tuple[float | None, str]:
    hit = lookup(run.config, keys)
    if hit is None:
        return None, ""
    try:
        return float(hit[1]), hit[0]
    except (TypeError, ValueError):
        return None, hit[0]


def _lr(run: Run, factor: float, reason: str) -> Fix:
    old, key = _num(run, LR_KEYS)
    param = key if old is not None else "learning_rate"  # the config's own name (and YAML path)
    if old is None:
        s = run.series("lr")
        if s is not None and s.finite().values.size:
            old, key = float(s.finite().values.max()), "peak logged lr"
    new: Any = float(f"{old * factor:.3g}") if old is not None else f"{factor:.2g} x current lr"
    return Fix(param, old, new, f"{reason} (old value: {key or 'unknown'})")


def _lr_shape(run: Run) -> str | None:
    """'constant' when the logged LR never moved, None when unknown."""
    s = run.series("lr")
    if s is None or s.finite().values.size < 2:
        return None
    v = s.finite().values
    return "constant" if v.max() <= v.min() * 1.001 else "varies (see lr curve)"


def _recheck(run: Run, f: Finding) -> str:
    if run.meta.step_unit == "timestep":
        return f"after {RECHECK_FRAMES / 1e6:g}M more frames: compare the Q range and the return slope with the table above"
    span = float(run.steps[-1] - run.steps[0]) if run.n_steps else 0.0
    return f"after {fmt(max(span / 4, 1.0))} more {run.meta.step_unit}s (a quarter of this run's length)"


def _q_divergence(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    ev = f.evidence
    fixes = [_lr(run, RL_LR_CUT, "the TD update overshoots and bootstraps on its own error: cut the LR 3x")]
    tau, tau_key = _num(run, TAU_KEYS)
    new_tau = float(f"{tau_for_share(TARGET_SHARE_100, 100):.2g}")
    if tau is not None and 0 < tau <= 1.0:
        if new_tau < tau:
            now = soft_update(tau, 100).replaced
            fixes.append(Fix(tau_key, tau, new_tau,
                             f"tau {fmt(tau)} replaces {now:.1%} of the target in 100 steps; {fmt(new_tau)} replaces "
                             f"{soft_update(new_tau, 100).replaced:.0%}: a slower target stops the feedback loop"))
    else:
        hard, hard_key = _num(run, HARD_UPDATE_KEYS)
        fixes.append(Fix(hard_key or "target_update_interval", hard, 2 * hard if hard else "2x",
                         "update the target network half as often, or switch to soft updates with tau 0.005"))
    n, n_key = _num(run, NSTEP_KEYS)
    gamma, _ = _num(run, GAMMA_KEYS)
    if n is not None and n > MAX_NSTEP:
        why = "shorter bootstrapped returns carry less variance"
        if gamma is not None and 0 < gamma < 1:
            why += f" (gamma^{int(n)} = {nstep(gamma, int(n)).gamma_n:.3f} -> gamma^{MAX_NSTEP} = {nstep(gamma, MAX_NSTEP).gamma_n:.3f})"
        fixes.append(Fix(n_key, int(n), MAX_NSTEP, why))
    acc, acc_key = _num(run, ACCUM_KEYS)
    fixes.append(Fix(acc_key or "gradient_accumulation_steps", int(acc) if acc else None, int(2 * acc) if acc else 2,
                     "average twice the samples per update: half the gradient noise at the same LR"))
    gsteps, g_key = _num(run, GRAD_STEPS_KEYS)
    if gsteps is not None and gsteps > 1:
        freq, _ = _num(run, TRAIN_FREQ_KEYS)
        ratio = f" ({fmt(gsteps)} updates per {fmt(freq)} env steps)" if freq else ""
        fixes.append(Fix(g_key, gsteps, max(1, int(gsteps // 2)), f"fewer training steps per sample{ratio}: less over-fitting of the replay buffer"))
    fixes.append(Fix("target clamp", None, "clamp TD targets to [r_min, r_max] / (1 - gamma)",
                     "no true Q-value lies outside that range; clamping cuts the runaway at its source"))
    clip, clip_key = _num(run, CLIP_KEYS)
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
    f.recheck = _recheck(run, f)
    return fixes, watch


def _kl(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    ev = f.evidence
    target = ev.get("target", 0.02)
    if f.severity.value == "info":
        return [], [Watch("approx_kl", f"isolated spikes, median below {fmt(target)}", "harmless while isolated",
                          trouble=f"above {fmt(1.5 * target)} for 10+ updates in a row")]
    fixes = [_lr(run, RL_LR_CUT, f"approx_kl {ev.get('peak_over_target', ev.get('over_target', 0)):.1f}x the target: cut the LR 3x")]
    tkl, tkl_key = _num(run, TARGET_KL_KEYS)
    if tkl is None:
        fixes.append(Fix("target_kl", None, target, "stop the epoch early when KL > 1.5 x target_kl (stable-baselines3 PPO): a blow-up cannot run a whole epoch"))
    ep, ep_key = _num(run, EPOCH_KEYS)
    if ep is not None and ep > 4:
        fixes.append(Fix(ep_key, int(ep), max(3, int(ep // 2)), "fewer passes over each rollout keep the policy inside the trust region"))
    fixes.append(Fix("lr schedule", _lr_shape(run), "three-phase: 0.01x -> 0.1x over 2.5%, 0.1x -> 1x to 25%, then linear decay",
                     "post-mortem #2: the recurrent PPO agent collapsed at constant 3e-4; warmup and decay kept KL under target"))
    clip, _ = _num(run, CLIP_KEYS)
    if clip is None:
        fixes.append(Fix("max_grad_norm", None, 0.5, "stable-baselines3 PPO's default gradient clip"))
    watch = [Watch("approx_kl", f"median below {fmt(target)}", "updates stay in the trust region",
                   trouble=f"above {fmt(1.5 * target)} for 10+ updates, or any update above {fmt(10 * target)}"),
             Watch("clip_fraction", "0.05-0.3", "the clip is active but not saturated", trouble="above 0.3, or stuck at 0 (frozen policy)")]
    f.recheck = _recheck(run, f)
    return fixes, watch


def _entropy(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    ev = f.evidence
    ent, ent_key = _num(run, ENT_KEYS)
    if ev.get("direction") == "to_uniform":
        return ([_lr(run, 3.0, "the policy does not move: raise the LR 3x"),
                 Fix(ent_key or "ent_coef", ent, "10x smaller" if ent else 0.0, "an entropy bonus that dominates keeps the policy uniform")],
                [Watch("entropy", f"falls below {fmt(0.9 * ev['max_entropy'])} within 10% of the run", "the policy forms preferences",
                       trouble="stays at ln(K)")])
    new_ent = float(f"{ent * 10:.2g}") if ent else 0.01
    fixes = [Fix(ent_key or "ent_coef", ent, new_ent, "an entropy bonus keeps exploring (0.01 is the common PPO/A2C value, e.g. CleanRL)"),
             _lr(run, RL_LR_CUT, "large updates make the policy deterministic before it learns: cut the LR 3x")]
    if ev.get("task_flat"):
        fixes.append(Fix("environment", None, "check rewards and termination (a constant return since the start)",
                         "entropy collapsed while the return never moved: a reward or env-step bug makes one action always best"))
    ref = ev.get("reference", 0.0)
    watch = [Watch("entropy", f"above {fmt(0.1 * ref)} (10% of its start) until the return plateaus", "the policy still explores",
                   trouble=f"below {fmt(0.01 * ref)} (1% of its start)"),
             Watch("ep_return", "rising while entropy falls", "entropy is being spent on learning", trouble="flat while entropy falls")]
    f.recheck = _recheck(run, f)
    return fixes, watch


def _value(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    vf, vf_key = _num(run, VF_KEYS)
    return ([Fix(vf_key or "vf_coef", vf, float(f"{vf * 2:.2g}") if vf else 0.5, "weight the value loss enough to train the critic (SB3 default 0.5)"),
             Fix("normalize_advantage / reward scaling", None, "on (VecNormalize(norm_reward=True) in SB3)",
                 "returns of a large scale make the value regression ill-conditioned"),
             _lr(run, RL_LR_CUT, "a value loss that swings by orders of magnitude means the critic's steps overshoot")],
            [Watch("explained_variance", "above 0.3 after the first 20% of the run", "the critic tracks returns",
                   trouble="at or below 0 for most updates")])


def _mismatch(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    ev = f.evidence
    fixes = [Fix("checkpoint", None, f"keep the one before step {fmt(f.start_step)}", f"{ev['metric']} was higher there"),
             Fix("selection metric", "loss", ev["metric"], "select and early-stop on the task metric, not the training loss")]
    if run.is_rl:
        fixes.insert(0, _lr(run, RL_LR_CUT, "the loss falls toward drifting targets: cut the LR 3x"))
    return fixes, [Watch(ev["metric"], "rises or holds while the loss falls", "the loss measures the task",
                         trouble="falls while the loss falls")]


def _reversal(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    ev = f.evidence
    fixes = [Fix("checkpoint", None, f"keep step {fmt(ev['peak_step'])} (peak {fmt(ev['peak'])})", "the best policy of the run"),
             _lr(run, RL_LR_CUT, "learning turned into unlearning: decay the LR (linear to 0.1x) or cut it 3x from the peak on")]
    tau, tau_key = _num(run, TAU_KEYS)
    if tau is not None and tau < 1.0 and soft_update(tau, 100).replaced > TARGET_SHARE_100 + 0.05:
        fixes.append(Fix(tau_key, tau, float(f"{tau_for_share(TARGET_SHARE_100, 100):.2g}"), "a slower target network"))
    f.recheck = _recheck(run, f)
    return fixes, [Watch(f"{ev['metric']} slope", f"> 0 {ev['slope_unit']}", "learning",
                         trouble=f"< 0 {ev['slope_unit']} (it was {ev['slope_after']:+.3g})")]


def _instability(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    ev = f.evidence
    return ([_lr(run, RL_LR_CUT, "the return swings by half its range again and again: smaller updates"),
             Fix("n_envs x n_steps (rollout size)", None, "2x", "more samples per update average out the policy-gradient noise"),
             Fix("max_grad_norm", _num(run, CLIP_KEYS)[0], 0.5, "clip the updates (SB3 PPO/A2C default 0.5)")],
            [Watch(ev["metric"], f"smoothed swings below {fmt(0.25 * ev['range'])}", "the policy consolidates",
                   trouble=f"swings of {fmt(0.5 * ev['range'])} or more")])


def _cycles(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    ev = f.evidence
    best = int(ev["best_cycle"])
    old, key = _num(run, LR_KEYS)
    sched = (", ".join(f"{old * CYCLE_DECAY ** (c - 1):.3g}" for c in range(1, 7)) if old else None)
    fixes = [Fix("cycles", int(ev["last_cycle"]), best, f"stop at the best cycle ({ev['metric']} {fmt(ev['best'])})"),
             Fix("cross-cycle lr", f"constant {fmt(old)}" if old else "constant",
                 f"exponential decay 0.85^(cycle-1): {sched}" if sched else "lr x 0.85^(cycle-1)",
                 "post-mortem #3: constant 5e-5 peaked at cycle 6; decaying across cycles keeps later cycles from over-fitting their own samples")]
    return fixes, [Watch(ev["metric"], "each cycle at least as good as the best so far", "cycles still help",
                         trouble="two cycles in a row below the best")]


RL_RULES: dict[str, Callable[[Run, Finding], tuple[list[Fix], list[Watch]]]] = {
    "q_divergence": _q_divergence, "kl_exceeded": _kl, "entropy_collapse": _entropy,
    "value_collapse": _value, "objective_mismatch": _mismatch, "performance_reversal": _reversal,
    "reward_instability": _instability, "cycle_degradation": _cycles,
}
