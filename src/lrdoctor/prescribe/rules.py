"""One rule per finding kind, in the style of the post-mortems' fix tables."""

from __future__ import annotations

from typing import Callable

from lrdoctor.detect._common import lr_at
from lrdoctor.fmt import fmt
from lrdoctor.detect._grad import max_grad_norm
from lrdoctor.detect.warmup_missing import WARMUP_KEYS
from lrdoctor.finding import Finding, Fix, Watch
from lrdoctor.config import config_value, lookup
from lrdoctor.prescribe.rl import RL_RULES
from lrdoctor.run import Run

__all__ = ["prescribe", "RULES", "LR_KEYS", "current_lr"]

LR_KEYS = ("lr", "learning_rate", "lr0", "base_lr", "max_lr", "peak_lr", "init_lr")

#: Factor an LR is cut by after divergence: the post-mortems' 3e-4 -> 1e-4 and 3e-3 -> 1e-3 (DQN, #5).
DIVERGENCE_LR_CUT = 1 / 3
#: After a NaN blow-up: one order of magnitude (post-mortem #1: 0.01 -> 1e-3 made 100% of seeds converge).
NONFINITE_LR_CUT = 1 / 10
#: For oscillation, spikes and unstable gradients: halve (the Guard's default cut too).
SOFT_LR_CUT = 1 / 2
#: For slow progress: try 3x more, then confirm with an LR range test.
SLOW_LR_RAISE = 3.0

WATCH_LOSS = Watch("loss", "trend falls, no rise above best for > 5% of the run", "a sustained rise means the LR is still too high")
WATCH_GRAD = Watch("grad_norm", "within 10x of its early level, no NaN", "a 10x jump precedes loss spikes and divergence")


def current_lr(run: Run, step: float | None = None) -> tuple[float | None, str]:
    hit = lookup(run.config, LR_KEYS)
    if hit is not None:
        try:
            return float(hit[1]), f"config {hit[0]}"
        except (TypeError, ValueError):
            pass
    if step is not None:
        v = lr_at(run, step)
        if v is not None:
            return v, f"logged lr at step {fmt(step)}"
    s = run.series("lr")
    if s is not None and s.finite().values.size:
        return float(s.finite().values.max()), "peak logged lr"
    return None, "unknown"


def _lr_fix(run: Run, f: Finding, factor: float, reason: str) -> Fix:
    old, src = current_lr(run, f.start_step)
    new = None if old is None else float(f"{old * factor:.3g}")
    new_txt = new if new is not None else f"{factor:g} x current lr"
    return Fix("lr", old, new_txt, f"{reason} (old value: {src})")


def _divergence(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    fixes = [_lr_fix(run, f, DIVERGENCE_LR_CUT, "sustained rise above the best loss: cut the LR 3x")]
    clip = max_grad_norm(run)
    if clip is None:
        fixes.append(Fix("max_grad_norm", None, 1.0, "clip the global gradient norm (HF/Lightning default 1.0) so one bad step cannot push the run off"))
    fixes.append(Fix("checkpoint", None, f"keep the one at step {fmt(f.evidence.get('best_step'))}", "the best loss was reached there"))
    return fixes, [WATCH_LOSS, WATCH_GRAD]


def _nonfinite(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    if f.severity.value != "error":
        return [], [Watch(f.evidence["metric"], "finite", "repeated non-finite values mean a real blow-up")]
    fixes = [_lr_fix(run, f, NONFINITE_LR_CUT, "the run overflowed: cut the LR 10x, then raise it back in 2x steps")]
    clip = max_grad_norm(run)
    fixes.append(Fix("max_grad_norm", clip[1] if clip else None, 1.0 if not clip or clip[1] > 1.0 else clip[1],
                     "clip gradients before the step" if not clip else "keep clipping; the blow-up came through it, so the LR is the lever"))
    fixes.append(Fix("warmup_steps", _warmup(run), "2-5% of the steps", "ramp the LR from ~0 so the first large gradients do not overflow"))
    return fixes, [Watch(f.evidence["metric"], "finite on every step", "the first NaN marks the step to rewind to"), WATCH_GRAD]


def _warmup(run: Run):
    return config_value(run.config, WARMUP_KEYS)


def _lr_beyond(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    after = f.evidence.get("lr_after")
    old, src = current_lr(run, f.start_step)
    return ([Fix("lr", old, after, f"the run only learned once the LR was {fmt(after)}: start there (old value: {src})"),
             Fix("warmup_steps", _warmup(run), "2-5% of the steps", "ramp up instead of starting at the peak")],
            [WATCH_LOSS])


def _spike(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    if f.severity.value == "info":
        return [], [Watch("loss", "spikes rare and recovering within a few steps", "more frequent spikes mean the LR is at the stability edge")]
    fixes = [_lr_fix(run, f, SOFT_LR_CUT, "repeated spikes: halve the LR")]
    clip = max_grad_norm(run)
    fixes.append(Fix("max_grad_norm", clip[1] if clip else None, 1.0, "clip the outlier updates that cause spikes"))
    fixes.append(Fix("adam_beta2", None, 0.95, "a shorter second-moment memory reacts to sudden gradients (used for large-model runs, e.g. PaLM/LLaMA)"))
    return fixes, [WATCH_LOSS, WATCH_GRAD]


def _oscillation(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    return ([_lr_fix(run, f, SOFT_LR_CUT, "swings of ±50% around the trend: the step overshoots; halve the LR"),
             Fix("batch_size", config_value(run.config, ("batch_size", "per_device_train_batch_size", "train_batch_size")),
                 "2x", "or keep the LR and double the batch (less gradient noise per step)")],
            [Watch("loss", "within ±50% of its trend", "swings mean the step size is still at the edge")])


def _slow(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    return ([_lr_fix(run, f, SLOW_LR_RAISE, "< 1% loss drop per 100 steps: raise the LR 3x; confirm with an LR range test")],
            [Watch("loss", "> 1% drop per 100 steps early in the run", "still slower means the LR is not the limit: check data and frozen layers")])


def _plateau(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    return ([Fix("lr_scheduler", config_value(run.config, ("lr_scheduler_type", "scheduler", "lr_scheduler")),
                 "cosine to 1% of peak (or ReduceLROnPlateau factor 0.1)",
                 f"no new best since step {fmt(f.evidence.get('last_improvement_step'))} at a high LR: decay it")],
            [WATCH_LOSS])


def _grad_explosion(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    clip = max_grad_norm(run)
    return ([Fix("max_grad_norm", clip[1] if clip else None, 1.0, "clip the global norm (the post-mortems' red flag is grad norm > 10)"),
             _lr_fix(run, f, DIVERGENCE_LR_CUT, "the gradient grew 10x: cut the LR 3x")], [WATCH_GRAD])


def _grad_vanishing(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    return ([Fix("architecture", None, "residual connections + LayerNorm/BatchNorm", "let gradients reach early layers"),
             Fix("activation", None, "ReLU/GELU instead of sigmoid/tanh", "saturating activations attenuate gradients")],
            [Watch("grad_norm", "no drop of 1000x while the loss is flat", "a collapse means the signal no longer reaches the weights")])


def _clipping(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    ev = f.evidence
    if "median_pre_clip_norm" in ev:
        clip = Fix("max_grad_norm", ev["max_grad_norm"], float(f"{ev['median_pre_clip_norm']:.2g}"),
                   "set the clip near the median pre-clip norm so it catches outliers only")
    else:  # clipping seen through a logged clip share or coefficient: no pre-clip norm to quote
        clip = Fix("max_grad_norm", None, "the median pre-clip grad norm (log it)",
                   "a clip that catches only outliers; the log shows clipping on nearly every step")
    return ([clip,
             _lr_fix(run, f, SOFT_LR_CUT, "with the clip loosened, the raw LR sets the step: halve it to keep the same step size")],
            [Watch("clip share", "< 20% of steps clipped", "clipping most steps hides the effective LR")])


def _grad_unstable(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    return ([_lr_fix(run, f, SOFT_LR_CUT, "frequent 10x gradient spikes: halve the LR"),
             Fix("adam_epsilon", None, 1e-6, "a larger epsilon damps updates of parameters with tiny second moments")],
            [WATCH_GRAD])


def _overfitting(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    ev = f.evidence
    return ([Fix("max_steps", None, f"stop at step {fmt(ev['eval_min_step'])} (early stopping, patience 3 evals)", "the eval minimum"),
             Fix("weight_decay", config_value(run.config, ("weight_decay", "wd")),
                 "0.01-0.1 (AdamW)", "regularise instead of memorising")],
            [Watch("eval_loss", f"stays within 5% of its minimum {fmt(ev['eval_min'])}", "a rise while train falls is overfitting")])


def _initial(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    return ([Fix("final layer init", None, "zero or small (std 0.01) weights, zero bias", f"start at loss ln(K) = {fmt(f.evidence['expected_ln_k'])}"),
             Fix("loss reduction", None, "mean", "a summed loss scales with the batch and looks like a wrong start")],
            [Watch("loss at step 0", f"about {fmt(f.evidence['expected_ln_k'])}", "far off means the init or the loss is wrong")])


def _smoothing(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    ev = f.evidence
    fixes = [Fix("label_smoothing_start", None, "after warmup (epoch 1+)", "post-mortem #4: smoothing from step 0 slowed the start")]
    return fixes, [Watch("accuracy", "still rising", f"the loss cannot show progress below its floor {fmt(ev['floor'])}")]


def _overridden(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    return ([Fix("warmup", "assigns param_group['lr'] = base * warmup(step)",
                 "multiplies the scheduler's LR: LambdaLR(opt, lambda s: min(1, (s + 1) / warmup) * decay(s)) "
                 "or SequentialLR([LinearLR(...), scheduler])",
                 "a warmup must multiply the scheduled LR, never overwrite it; otherwise the decay never happens")],
            [Watch("lr", "logged lr == scheduler.get_last_lr() every step", "any difference means something else writes the LR")])


def _warmup_missing(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    return ([Fix("warmup_steps", f.evidence.get("warmup_config"), "2.5-5% of the steps (or the three-phase schedule: "
                 "0.01x->0.1x over 2.5%, 0.1x->1x to 25%, then linear decay)",
                 "post-mortem #2: the recurrent agent collapsed at a constant LR from step 0")],
            [Watch("loss", "no spike in the first 5% of steps", "early spikes mean the warmup is too short")])


def _update_ratio(run: Run, f: Finding) -> tuple[list[Fix], list[Watch]]:
    k = f.evidence["suggested_lr_factor"]
    return ([_lr_fix(run, f, k, f"bring the update-to-weight ratio from {fmt(f.evidence['median_ratio'])} toward 1e-3")],
            [Watch("update_ratio", "1e-4 .. 1e-2 (about 1e-3)", "above 1e-2 the step rewrites too much of the weights")])


RULES: dict[str, Callable[[Run, Finding], tuple[list[Fix], list[Watch]]]] = {
    "divergence": _divergence, "nonfinite": _nonfinite, "lr_beyond_stability": _lr_beyond,
    "loss_spike": _spike, "oscillation": _oscillation, "slow_progress": _slow, "plateau": _plateau,
    "grad_explosion": _grad_explosion, "grad_vanishing": _grad_vanishing, "clipping_saturated": _clipping,
    "grad_norm_unstable": _grad_unstable, "overfitting": _overfitting, "initial_loss_anomaly": _initial,
    "label_smoothing_floor": _smoothing, "schedule_overridden": _overridden, "warmup_missing": _warmup_missing,
    "update_ratio_high": _update_ratio,
    **RL_RULES,
}


def prescribe(run: Run, finding: Finding) -> Finding:
    """Fill ``finding.fixes`` and ``finding.watch`` (in place) and return it."""
    rule = RULES.get(finding.kind)
    if rule is not None and not finding.fixes:
        fixes, watch = rule(run, finding)
        finding.fixes, finding.watch = list(fixes), list(watch)
    return finding
