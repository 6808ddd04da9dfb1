"""Canonical metric names and the aliases real tools write for them.

Readers keep every column under its own name; :func:`canonical_name` decides which raw
column stands for a canonical metric. The table is ordered: when a log has several
candidates (Lightning's ``train_loss_step`` and ``train_loss_epoch``), the first listed
wins and the others stay available under their raw names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ALIASES", "Alias", "normalize", "resolve_aliases", "RL_MARKERS"]


@dataclass(frozen=True)
class Alias:
    """A raw metric name (normalised) and the factor that turns it into the canonical one.

    ``scale=-1`` is for stable-baselines3's ``train/entropy_loss``, which is minus the
    policy entropy.
    """

    raw: str
    scale: float = 1.0


def _a(*names: str) -> tuple[Alias, ...]:
    return tuple(Alias(n) for n in names)


#: canonical name -> aliases in order of preference (normalised spelling, see normalize()).
ALIASES: dict[str, tuple[Alias, ...]] = {
    "loss": _a(
        "loss", "train_loss", "train/loss", "training_loss", "train_loss_step", "train/loss_step",
        "loss_step", "train/loss_epoch", "train_loss_epoch", "total_loss", "train/total_loss",
        "mean_loss", "objective", "loss_end",
    ),
    "eval_loss": _a(
        "eval_loss", "val_loss", "eval/loss", "val/loss", "valid_loss", "validation_loss",
        "val_loss_epoch", "validation/loss",
    ),
    "lr": _a(
        "lr", "learning_rate", "train/learning_rate", "train/lr", "lr-adamw", "lr-adam", "lr-sgd",
        "lr/pg1", "x/lr1", "lr/pg0", "x/lr0", "optimizer/lr", "lr_0",
    ),
    "scheduled_lr": _a("scheduled_lr", "sched_lr", "scheduler_lr", "lr_scheduled"),
    "grad_norm": _a(
        "grad_norm", "train/grad_norm", "gradient_norm", "grad_norm_total", "total_norm",
        "avg_grad_norm", "grad_norm/total", "train/gradient_norm", "norm",
    ),
    "epoch": _a("epoch", "train/epoch", "epochs"),
    "update_ratio": _a("update_ratio", "update_to_weight", "update/weight", "train/update_ratio"),
    # Reinforcement learning (stable-baselines3, CleanRL and look-alikes).
    "approx_kl": _a("approx_kl", "train/approx_kl", "losses/approx_kl"),
    "clip_fraction": _a("clip_fraction", "train/clip_fraction", "losses/clipfrac", "clipfrac"),
    "entropy": (
        Alias("entropy"), Alias("losses/entropy"), Alias("train/entropy"),
        Alias("train/entropy_loss", -1.0), Alias("entropy_loss", -1.0),
    ),
    "value_loss": _a("value_loss", "train/value_loss", "losses/value_loss"),
    "policy_loss": _a("policy_loss", "train/policy_loss", "losses/policy_loss", "train/policy_gradient_loss"),
    "explained_variance": _a(
        "explained_variance", "train/explained_variance", "losses/explained_variance",
    ),
    "ep_return": _a(
        "rollout/ep_rew_mean", "charts/episodic_return", "episode_reward", "ep_rew_mean",
        "train_return", "episodic_return", "return", "reward",
    ),
    "eval_return": _a("eval/mean_reward", "test_return", "eval_return", "eval/episodic_return"),
    "q_values": _a("q_values", "losses/q_values", "train/q_values", "q_mean", "train/q_mean", "mean_q"),
    "q_max": _a("q_max", "train/q_max", "losses/q_max", "max_q", "qmax"),
    "q_min": _a("q_min", "train/q_min", "losses/q_min", "min_q", "qmin"),
    "q_range": _a("q_range", "train/q_range", "losses/q_range", "q_spread"),
    "success_rate": _a("success_rate", "rollout/success_rate", "eval/success_rate", "charts/success_rate"),
    "eval_accuracy": _a(
        "eval_accuracy", "val_acc", "val_accuracy", "eval/accuracy", "val/acc", "valid_acc",
        "test_acc", "test_accuracy", "eval_acc",
    ),
    "cycle": _a("cycle", "generation", "round", "raft_cycle", "iteration_cycle"),
}

#: Canonical names whose presence marks a reinforcement-learning run. Supervised loss
#: detectors do not judge an RL run's ``loss``: a TD or PPO loss may rise while the agent
#: improves (its targets move with the returns).
RL_MARKERS = ("ep_return", "eval_return", "approx_kl", "q_values", "q_max", "q_range", "explained_variance")

_SEP = re.compile(r"[\s\-]+")


def normalize(name: str) -> str:
    """Lower-case, trimmed, spaces and dashes as ``_`` (``'Approx_KL'`` -> ``'approx_kl'``)."""
    n = _SEP.sub("_", name.strip().lower())
    return n.replace("lr_adamw", "lr-adamw").replace("lr_adam", "lr-adam").replace("lr_sgd", "lr-sgd")


def resolve_aliases(raw_names: list[str]) -> dict[str, tuple[str, float]]:
    """Map canonical names to ``(raw column, scale)`` for the raw columns present.

    >>> resolve_aliases(["Step", "train/loss", "train/learning_rate"])["lr"]
    ('train/learning_rate', 1.0)
    """
    by_norm: dict[str, str] = {}
    for raw in raw_names:
        by_norm.setdefault(normalize(raw), raw)
    out: dict[str, tuple[str, float]] = {}
    for canon, aliases in ALIASES.items():
        for alias in aliases:
            raw = by_norm.get(alias.raw)
            if raw is not None:
                out[canon] = (raw, alias.scale)
                break
    return out
