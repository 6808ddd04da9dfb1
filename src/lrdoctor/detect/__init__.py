"""Detectors: pure functions ``Run -> list[Finding]``, one per finding kind.

The same functions serve offline diagnosis and the live Monitor. Each has a frozen
dataclass of named thresholds whose defaults cite their source; pass your own through
``detect_all(run, thresholds={"divergence": DivergenceThresholds(...)})``.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from lrdoctor.detect import (
    clipping_saturated, divergence, grad_explosion, grad_norm_unstable, grad_vanishing,
    initial_loss, label_smoothing, loss_spike, lr_response, nonfinite, oscillation, overfitting,
    progress, schedule_overridden, update_ratio, warmup_missing,
)
from lrdoctor.detect.rl import cycles, entropy, kl, q_values, returns, value
from lrdoctor.finding import Finding
from lrdoctor.run import Run

__all__ = ["DETECTORS", "THRESHOLDS", "detect_all"]

#: kind -> (detector, its default thresholds)
DETECTORS: dict[str, tuple[Callable[..., list[Finding]], Any]] = {
    "nonfinite": (nonfinite.detect, nonfinite.DEFAULTS),
    "divergence": (divergence.detect, divergence.DEFAULTS),
    "lr_beyond_stability": (lr_response.detect, lr_response.DEFAULTS),
    "loss_spike": (loss_spike.detect, loss_spike.DEFAULTS),
    "oscillation": (oscillation.detect, oscillation.DEFAULTS),
    "slow_progress": (progress.detect_slow_progress, progress.DEFAULTS),
    "plateau": (progress.detect_plateau, progress.DEFAULTS),
    "grad_explosion": (grad_explosion.detect, grad_explosion.DEFAULTS),
    "grad_vanishing": (grad_vanishing.detect, grad_vanishing.DEFAULTS),
    "clipping_saturated": (clipping_saturated.detect, clipping_saturated.DEFAULTS),
    "grad_norm_unstable": (grad_norm_unstable.detect, grad_norm_unstable.DEFAULTS),
    "overfitting": (overfitting.detect, overfitting.DEFAULTS),
    "initial_loss_anomaly": (initial_loss.detect, initial_loss.DEFAULTS),
    "label_smoothing_floor": (label_smoothing.detect, label_smoothing.DEFAULTS),
    "schedule_overridden": (schedule_overridden.detect, schedule_overridden.DEFAULTS),
    "warmup_missing": (warmup_missing.detect, warmup_missing.DEFAULTS),
    "update_ratio_high": (update_ratio.detect, update_ratio.DEFAULTS),
    # reinforcement learning and iterative fine-tuning (detect/rl/)
    "q_divergence": (q_values.detect, q_values.DEFAULTS),
    "kl_exceeded": (kl.detect, kl.DEFAULTS),
    "entropy_collapse": (entropy.detect, entropy.DEFAULTS),
    "value_collapse": (value.detect, value.DEFAULTS),
    "objective_mismatch": (returns.detect_mismatch, returns.DEFAULTS),
    "performance_reversal": (returns.detect_reversal, returns.DEFAULTS),
    "reward_instability": (returns.detect_instability, returns.DEFAULTS),
    "cycle_degradation": (cycles.detect, cycles.DEFAULTS),
}

THRESHOLDS = {k: v[1] for k, v in DETECTORS.items()}


def detect_all(run: Run, thresholds: Mapping[str, Any] | None = None) -> list[Finding]:
    """Run every detector; a finished blow-up (persistent nonfinite) silences the
    curve-shape detectors after its onset would otherwise repeat it."""
    thresholds = thresholds or {}
    out: list[Finding] = []
    for kind, (fn, default) in DETECTORS.items():
        out.extend(fn(run, thresholds.get(kind, default)))
    return out
