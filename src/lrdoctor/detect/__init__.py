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
from lrdoctor.detect.coverage import Coverage, coverage
from lrdoctor.finding import Finding, Severity
from lrdoctor.run import Run

__all__ = ["DETECTORS", "THRESHOLDS", "detect_all", "check", "Coverage", "EXPLAINED_BY_ERROR"]

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

#: Findings a confirmed blow-up explains: once the loss diverged or went non-finite,
#: "slow progress" or a plateau over the same run adds nothing.
EXPLAINED_BY_ERROR = frozenset({"slow_progress", "plateau"})
#: The error kinds that explain them.
BLOWUP_KINDS = frozenset({"divergence", "nonfinite", "lr_beyond_stability"})


def _check_thresholds(thresholds: Mapping[str, Any]) -> None:
    for kind, th in thresholds.items():
        if kind not in DETECTORS:
            raise ValueError(f"thresholds for unknown kind {kind!r}; kinds: {', '.join(DETECTORS)}")
        want = type(DETECTORS[kind][1])
        if not isinstance(th, want):
            raise TypeError(f"thresholds[{kind!r}] must be a {want.__name__}, got {type(th).__name__}")


def detect_all(run: Run, thresholds: Mapping[str, Any] | None = None) -> list[Finding]:
    """Run every detector whose needs the run meets (see :mod:`lrdoctor.detect.coverage`)."""
    return check(run, thresholds)[0]


def check(run: Run, thresholds: Mapping[str, Any] | None = None) -> tuple[list[Finding], Coverage]:
    """Findings and coverage: each kind runs when the run has what it needs, else it is
    listed as skipped with the reason. Findings a blow-up explains are dropped."""
    thresholds = thresholds or {}
    _check_thresholds(thresholds)
    cov = coverage(run, list(DETECTORS))
    out: list[Finding] = []
    for kind in cov.ran:
        fn, default = DETECTORS[kind]
        out.extend(fn(run, thresholds.get(kind, default)))
    if any(f.severity is Severity.ERROR and f.kind in BLOWUP_KINDS for f in out):
        out = [f for f in out if f.kind not in EXPLAINED_BY_ERROR]
    return out, cov
