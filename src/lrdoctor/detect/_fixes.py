"""Vocabulary the kinds' fix rules share: the current LR and where it came from, an LR fix
row, the standard cut factors and watch rows, and when to look again.

An old value is ``None`` ("unknown") when neither the config nor the log gives it; a fix
row's ``parameter`` is the config's own key path when the value came from the config, so a
CI can apply it.
"""

from __future__ import annotations

from lrdoctor.config import LR_KEYS, get_float
from lrdoctor.detect._common import lr_at
from lrdoctor.finding import Finding, Fix, Watch
from lrdoctor.fmt import fmt
from lrdoctor.run import Run

__all__ = ["DIVERGENCE_LR_CUT", "NONFINITE_LR_CUT", "SOFT_LR_CUT", "SLOW_LR_RAISE", "RL_LR_CUT", "RECHECK_FRAMES",
           "WATCH_LOSS", "WATCH_GRAD", "current_lr", "lr_fix", "value_and_key", "recheck_after"]

#: Factor an LR is cut by after divergence: the post-mortems' 3e-4 -> 1e-4 and 3e-3 -> 1e-3 (DQN, #5).
DIVERGENCE_LR_CUT = 1 / 3
#: After a NaN blow-up: one order of magnitude (post-mortem #1: 0.01 -> 1e-3 made 100% of seeds converge).
NONFINITE_LR_CUT = 1 / 10
#: For oscillation, spikes and unstable gradients: halve (the Guard's default cut too).
SOFT_LR_CUT = 1 / 2
#: For slow progress: try 3x more, then confirm with an LR range test.
SLOW_LR_RAISE = 3.0
#: LR cut for Q divergence and KL blow-ups: 3x (post-mortem #5: 0.003 -> 0.001).
RL_LR_CUT = 1 / 3
#: When to look again after an RL fix when the run counts frames: post-mortem #5's 2M frames.
RECHECK_FRAMES = 2_000_000

WATCH_LOSS = Watch("loss", "trend falls, no rise above best for > 5% of the run", "a sustained rise means the LR is still too high")
WATCH_GRAD = Watch("grad_norm", "within 10x of its early level, no NaN", "a 10x jump precedes loss spikes and divergence")


def current_lr(run: Run, step: float | None = None) -> tuple[float | None, str]:
    """The LR in force, and where it came from: the config, else the logged LR at ``step``,
    else the peak logged LR; ``(None, "unknown")`` when none says."""
    hit = get_float(run.config, LR_KEYS)
    if hit is not None:
        return hit.value, f"config {hit.key}"
    if step is not None:
        v = lr_at(run, step)
        if v is not None:
            return v, f"logged lr at step {fmt(step)}"
    s = run.series("lr")
    if s is not None and s.finite().values.size:
        return float(s.finite().values.max()), "peak logged lr"
    return None, "unknown"


def lr_fix(run: Run, f: Finding, factor: float, reason: str) -> Fix:
    """The LR row of a fix table: old x ``factor`` (3 significant digits). The parameter is
    the config's own key path (``CartPole-v1.learning_rate``) when the LR came from the config."""
    hit = get_float(run.config, LR_KEYS)
    old, src = current_lr(run, f.start_step)
    param = hit.key if hit is not None else "lr"
    if old is None:
        return Fix(param, None, None, f"{reason} (old value: unknown)", note=f"{factor:.3g} x the current LR")
    return Fix(param, old, float(f"{old * factor:.3g}"), f"{reason} (old value: {src})")


def recheck_after(run: Run) -> str:
    """When to look again: 2M frames for frame-counted RL runs, else a quarter of the run's length."""
    if run.meta.step_unit == "timestep":
        return f"after {RECHECK_FRAMES / 1e6:g}M more frames: compare the Q range and the return slope with the table above"
    span = float(run.steps[-1] - run.steps[0]) if run.n_steps else 0.0
    return f"after {fmt(max(span / 4, 1.0))} more {run.meta.step_unit}s (a quarter of this run's length)"


def value_and_key(run: Run, keys: tuple[str, ...]) -> tuple[float | None, str]:
    """``(value, key path)`` of the first numeric config value among ``keys``; ``(None, "")`` when absent.

    The key path is what a fix row names as its parameter, so a CI can set it.
    """
    hit = get_float(run.config, keys)
    return (None, "") if hit is None else (hit.value, hit.key)
