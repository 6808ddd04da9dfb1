"""Coverage: which checks could run on a run, and what the others needed.

Silence must mean "checked and healthy". Each finding kind states what it needs
(:data:`REQUIREMENTS`); a kind whose need is unmet is *skipped* with the reason, and the
report says so instead of reading as "no findings". The reasons name the roles and how to
supply them (``--metric ROLE=COLUMN``, a config key, or the Monitor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from lrdoctor.detect._classes import label_smoothing, num_classes
from lrdoctor.config import lookup
from lrdoctor.run import Run

__all__ = ["Coverage", "REQUIREMENTS", "coverage", "MIN_LOSS_POINTS", "MIN_TASK_POINTS"]

#: The fewest finite loss points a loss-shape check judges: three points make one rise
#: after one fall; fewer cannot separate a trend from a single noisy report.
MIN_LOSS_POINTS = 3
#: The fewest task-metric points (returns, accuracy) the return-shape checks judge: they
#: compare a peak with what came before and after, each a few points long.
MIN_TASK_POINTS = 10
#: The fewest gradient-norm points the gradient checks judge (a median needs a few).
MIN_GRAD_POINTS = 5


@dataclass
class Coverage:
    """``ran``: kinds that were checked; ``skipped``: kind -> why it could not be."""

    ran: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"ran": list(self.ran), "skipped": dict(self.skipped)}


def _points(run: Run, name: str) -> int:
    s = run.series(name)
    return 0 if s is None else int(np.isfinite(s.values).sum())


def _loss(run: Run) -> str | None:
    if run.is_rl:
        return "RL run: its TD/PPO loss may rise while the agent learns, so the RL checks judge it"
    n = _points(run, "loss")
    if n == 0:
        return "no training-loss column (loss, train_loss, Loss/train, ...); name one with --metric loss=COLUMN"
    if n < MIN_LOSS_POINTS:
        return f"only {n} finite loss point(s); needs {MIN_LOSS_POINTS}"
    return None


def _nonfinite(run: Run) -> str | None:
    if not any(n in run for n in ("loss", "eval_loss", "grad_norm", "value_loss", "policy_loss", "q_values")):
        return "no loss or gradient-norm column"
    return None


def _grad(run: Run) -> str | None:
    n = _points(run, "grad_norm")
    if n == 0:
        return "no gradient-norm column (grad_norm, gnorm, ...); log it or use lrdoctor.Monitor"
    if n < MIN_GRAD_POINTS:
        return f"only {n} gradient-norm point(s); needs {MIN_GRAD_POINTS}"
    return None


def _clipping(run: Run) -> str | None:
    why = _grad(run)
    if why:
        return why
    from lrdoctor.detect._grad import clip_signal

    if clip_signal(run) is None:
        return "no clipping threshold (config max_grad_norm/clip, or a max_grad_norm, clip_coef or clip-fraction column)"
    return None


def _overfit(run: Run) -> str | None:
    if run.is_rl:
        return "RL run"
    if "eval_loss" not in run:
        return "no evaluation-loss column (val_loss, eval_loss, Loss/val, ...)"
    if "loss" not in run:
        return "no training-loss column to compare the evaluation loss with"
    if _points(run, "eval_loss") < 5:
        return f"only {_points(run, 'eval_loss')} evaluation point(s); needs 5"
    return None


def _needs_classes(run: Run) -> str | None:
    return _loss(run) or (None if num_classes(run) else "needs the number of classes in the config (num_classes, vocab_size, ...)")


def _needs_smoothing(run: Run) -> str | None:
    return _needs_classes(run) or (None if label_smoothing(run) else "no label_smoothing in the config")


def _lr(run: Run) -> str | None:
    return None if "lr" in run else "no learning-rate column (lr, learning_rate, ...)"


def _lr_and_loss(run: Run) -> str | None:
    return _loss(run) or _lr(run)


def _arch(run: Run) -> str | None:
    from lrdoctor.detect.warmup_missing import ARCH_KEYS

    return None if lookup(run.config, ARCH_KEYS) else "no architecture in the config (model, arch, model_type, ...)"


def _metric(*names: str, what: str) -> Callable[[Run], str | None]:
    def need(run: Run) -> str | None:
        return None if any(n in run for n in names) else f"no {what} column"
    return need


def _task(run: Run) -> str | None:
    from lrdoctor.detect.rl._common import TASK_METRICS

    n = max((_points(run, m) for m in TASK_METRICS), default=0)
    if n == 0:
        return "no task-metric column (return, reward, accuracy, success rate, ...); name one with --metric task_metric=COLUMN"
    if n < MIN_TASK_POINTS:
        return f"only {n} task-metric point(s); needs {MIN_TASK_POINTS}"
    return None


def _cycles(run: Run) -> str | None:
    return None if (run.meta.step_unit == "cycle" or "cycle" in run) else "no cycle/generation column"


#: kind -> what it needs: a function returning why it cannot run on ``run`` (None: it can).
REQUIREMENTS: dict[str, Callable[[Run], str | None]] = {
    "nonfinite": _nonfinite,
    "divergence": _loss,
    "lr_beyond_stability": _lr_and_loss,
    "loss_spike": _loss,
    "oscillation": _loss,
    "slow_progress": _loss,
    "plateau": _loss,
    "grad_explosion": _grad,
    "grad_vanishing": _grad,
    "clipping_saturated": _clipping,
    "grad_norm_unstable": _grad,
    "overfitting": _overfit,
    "initial_loss_anomaly": _needs_classes,
    "label_smoothing_floor": _needs_smoothing,
    "schedule_overridden": _lr,
    "warmup_missing": _arch,
    "update_ratio_high": _metric("update_ratio", what="update-ratio (||dw||/||w||; the Monitor measures it)"),
    "q_divergence": _metric("q_values", "q_max", "q_min", "q_range", what="Q-value (q_values, mean_q, max_q, ...)"),
    "kl_exceeded": _metric("approx_kl", what="approximate-KL (approx_kl, approxkl, ...)"),
    "entropy_collapse": _metric("entropy", what="policy-entropy"),
    "value_collapse": _metric("explained_variance", what="explained-variance"),
    "objective_mismatch": _task,
    "performance_reversal": _task,
    "reward_instability": _task,
    "cycle_degradation": _cycles,
}


def coverage(run: Run, kinds: list[str]) -> Coverage:
    """Which of ``kinds`` can run on ``run``, and why the others cannot."""
    cov = Coverage()
    for kind in kinds:
        need = REQUIREMENTS.get(kind)
        why = need(run) if need is not None else None
        if why is None:
            cov.ran.append(kind)
        else:
            cov.skipped[kind] = why
    return cov
