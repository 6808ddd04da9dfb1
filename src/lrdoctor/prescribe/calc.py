"""Calculators behind the RL and fine-tuning prescriptions (also ``lrdoctor calc ...``).

Each returns a small dataclass with its inputs, results, the formula and the source of any
rule of thumb, so the CLI can print exactly what was computed.

>>> round(soft_update(0.012, 100).replaced, 4)
0.701
>>> round(nstep(0.995, 8).gamma_n, 3), round(nstep(0.995, 5).gamma_n, 3)
(0.961, 0.975)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "SoftUpdate", "soft_update", "tau_for_half_life", "tau_for_share",
    "NStep", "nstep", "EffectiveBatch", "effective_batch",
    "LoraLR", "lora_lr", "BatchScaling", "scale_lr", "RaftLR", "raft_lr",
]


def _positive(name: str, value: float, *, upper: float | None = None, inclusive_upper: bool = False) -> None:
    ok = value > 0 and (upper is None or value < upper or (inclusive_upper and value == upper))
    if not ok or not math.isfinite(value):
        rng = f"in (0, {upper}{']' if inclusive_upper else ')'}" if upper is not None else "> 0"
        raise ValueError(f"The {name!r} parameter must be {rng}. Got {value!r} instead.")


@dataclass(frozen=True)
class SoftUpdate:
    """Polyak (soft) target updates: target <- tau * online + (1 - tau) * target, every step."""

    tau: float
    steps: int
    replaced: float
    """Share of the target replaced by online weights after ``steps`` updates."""
    half_life_steps: float
    steps_per_sec: float | None = None
    formula: str = "replaced = 1 - (1 - tau)^N;  half-life = ln(0.5) / ln(1 - tau)"
    source: str = "Lillicrap et al. 2016 (DDPG) soft target updates; DQN post-mortem #5 (tau 0.012 at 48 steps/s)"

    @property
    def half_life_seconds(self) -> float | None:
        return None if not self.steps_per_sec else self.half_life_steps / self.steps_per_sec

    @property
    def seconds(self) -> float | None:
        return None if not self.steps_per_sec else self.steps / self.steps_per_sec


def soft_update(tau: float, steps: int, steps_per_sec: float | None = None) -> SoftUpdate:
    """How much of the target network a soft update with ``tau`` replaces in ``steps`` updates.

    >>> s = soft_update(0.005, 100); round(s.replaced, 3), round(s.half_life_steps, 1)
    (0.394, 138.3)
    """
    _positive("tau", tau, upper=1.0, inclusive_upper=True)
    if steps < 0:
        raise ValueError(f"The 'steps' parameter must be >= 0. Got {steps!r} instead.")
    if steps_per_sec is not None:
        _positive("steps_per_sec", steps_per_sec)
    half = math.inf if tau == 0 else (0.0 if tau == 1 else math.log(0.5) / math.log1p(-tau))
    return SoftUpdate(tau, steps, 1.0 - (1.0 - tau) ** steps, half, steps_per_sec)


def tau_for_half_life(half_life_steps: float) -> float:
    """The tau whose target keeps half of its old weights after ``half_life_steps`` updates:
    tau = 1 - 0.5^(1 / h).

    >>> round(tau_for_half_life(138.3), 4)
    0.005
    """
    _positive("half_life_steps", half_life_steps)
    return 1.0 - 0.5 ** (1.0 / half_life_steps)


def tau_for_share(share: float, steps: int) -> float:
    """The tau that replaces ``share`` of the target in ``steps`` updates: 1 - (1 - share)^(1/N).

    >>> round(tau_for_share(0.4, 100), 4)
    0.0051
    """
    _positive("share", share, upper=1.0)
    _positive("steps", steps)
    return 1.0 - (1.0 - share) ** (1.0 / steps)


@dataclass(frozen=True)
class NStep:
    """n-step bootstrapping: the target is r_t + ... + gamma^(n-1) r_(t+n-1) + gamma^n Q(s_(t+n))."""

    gamma: float
    n: int
    gamma_n: float
    """Weight of the bootstrapped value in the target."""
    horizon: float
    """Effective horizon 1 / (1 - gamma), in steps."""
    formula: str = "bootstrap weight = gamma^n;  horizon = 1 / (1 - gamma)"
    source: str = ("Sutton & Barto 2018, ch. 7; Hessel et al. 2018 (Rainbow uses n=3); "
                   "DQN post-mortem #5 (n 8 -> 5 at gamma 0.995)")

    @property
    def reward_terms(self) -> int:
        return self.n


def nstep(gamma: float, n: int) -> NStep:
    """γ^n and the horizon for an n-step return.

    >>> nstep(0.99, 3).horizon
    100.0
    """
    _positive("gamma", gamma, upper=1.0)
    if int(n) != n or n < 1:
        raise ValueError(f"The 'n' parameter must be an integer >= 1. Got {n!r} instead.")
    return NStep(gamma, int(n), gamma ** n, round(1.0 / (1.0 - gamma), 10))


@dataclass(frozen=True)
class EffectiveBatch:
    batch: int
    accumulation: int
    world_size: int
    effective: int
    samples: int | None = None
    formula: str = "effective batch = batch x accumulation x world size;  optimizer steps = samples / effective"
    source: str = "definition; LoRA post-mortem #3 (count optimizer steps per cycle before choosing warmup)"

    @property
    def optimizer_steps(self) -> int | None:
        return None if self.samples is None else math.ceil(self.samples / self.effective)


def effective_batch(batch: int, accumulation: int = 1, world_size: int = 1, samples: int | None = None) -> EffectiveBatch:
    """Samples per optimizer step, and optimizer steps for ``samples`` samples.

    >>> effective_batch(8, 4, 2, samples=1000).optimizer_steps
    16
    """
    for name, v in (("batch", batch), ("accumulation", accumulation), ("world_size", world_size)):
        if int(v) != v or v < 1:
            raise ValueError(f"The {name!r} parameter must be an integer >= 1. Got {v!r} instead.")
    return EffectiveBatch(batch, accumulation, world_size, batch * accumulation * world_size, samples)


@dataclass(frozen=True)
class LoraLR:
    lr: float
    alpha: float
    r: int
    rslora: bool
    scale: float
    """Multiplier LoRA applies to the adapter's output: alpha / r, or alpha / sqrt(r) (rsLoRA)."""
    formula: str = "scale = alpha / r (LoRA) or alpha / sqrt(r) (rsLoRA);  effective update ~ lr x scale"
    source: str = "Hu et al. 2021 (LoRA); Kalajdzievski 2023 (rsLoRA); PEFT LoraConfig(use_rslora=...)"

    @property
    def effective_lr(self) -> float:
        return self.lr * self.scale

    def lr_for_rank(self, r_new: int) -> float:
        """The LR that keeps lr x scale when the rank changes to ``r_new`` at the same alpha."""
        new_scale = self.alpha / (math.sqrt(r_new) if self.rslora else r_new)
        return self.effective_lr / new_scale


def lora_lr(lr: float, alpha: float, r: int, rslora: bool = False) -> LoraLR:
    """LoRA's output scale and the update size it implies.

    >>> l = lora_lr(2e-4, alpha=16, r=8); l.scale, round(l.lr_for_rank(64), 7)
    (2.0, 0.0016)
    """
    _positive("lr", lr)
    _positive("alpha", alpha)
    if int(r) != r or r < 1:
        raise ValueError(f"The 'r' parameter must be an integer >= 1. Got {r!r} instead.")
    return LoraLR(lr, alpha, int(r), rslora, alpha / (math.sqrt(r) if rslora else r))


@dataclass(frozen=True)
class BatchScaling:
    lr: float
    old_batch: int
    new_batch: int
    rule: str
    new_lr: float
    formula: str = ""
    source: str = ""


_SCALING = {
    "linear": ("new_lr = lr x new_batch / old_batch",
               "Goyal et al. 2017 (SGD, with warmup); post-mortem #1's heuristic"),
    "sqrt": ("new_lr = lr x sqrt(new_batch / old_batch)",
             "Hoffer et al. 2017; Malladi et al. 2022 (square-root rule for Adam)"),
}


def scale_lr(lr: float, old_batch: int, new_batch: int, rule: str = "linear") -> BatchScaling:
    """Move an LR to another batch size by the linear or square-root rule.

    >>> scale_lr(1e-3, 256, 1024, "sqrt").new_lr
    0.002
    """
    _positive("lr", lr)
    _positive("old_batch", old_batch)
    _positive("new_batch", new_batch)
    if rule not in _SCALING:
        raise ValueError(f"The 'rule' parameter must be one of {sorted(_SCALING)}. Got {rule!r} instead.")
    k = new_batch / old_batch
    new = lr * (k if rule == "linear" else math.sqrt(k))
    formula, source = _SCALING[rule]
    return BatchScaling(lr, old_batch, new_batch, rule, new, formula, source)


@dataclass(frozen=True)
class RaftLR:
    sft_lr: float
    cycle_lr: float
    formula: str = "cycle-1 LR = SFT LR / 4"
    source: str = "LoRA RAFT/RLVR post-mortem #3 (rule of thumb from that run, not a published law)"


def raft_lr(sft_lr: float) -> RaftLR:
    """The first RAFT cycle's LR from the SFT LR.

    >>> raft_lr(2e-4).cycle_lr
    5e-05
    """
    _positive("sft_lr", sft_lr)
    return RaftLR(sft_lr, sft_lr / 4)
