"""Cross-cycle LR schedules for iterative fine-tuning (RAFT/RLVR cycles, self-play
generations), and the within-cycle step plan.

The LoRA post-mortem (#3): cycles at a constant 5e-5 peaked at cycle 6 and degraded. A
cross-cycle schedule gives each cycle its own LR; cycles are counted from 1.

>>> [f"{exponential(5e-5, 0.85)(c):.2e}" for c in range(1, 7)]
['5.00e-05', '4.25e-05', '3.61e-05', '3.07e-05', '2.61e-05', '2.22e-05']
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping, Sequence

__all__ = ["manual", "exponential", "wsd", "PerformanceBased", "CyclePlan", "plan"]

CycleSchedule = Callable[[int], float]


def _cycle(c: int) -> int:
    if isinstance(c, bool) or int(c) != c or c < 1:
        raise ValueError(f"cycles are counted from 1. Got {c!r} instead.")
    return int(c)


def _lr(name: str, v: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"The {name!r} parameter must be a number > 0. Got {v!r} instead.")
    return float(v)


def manual(table: Sequence[float] | Mapping[int, float]) -> CycleSchedule:
    """LR per cycle from a table; cycles past its end keep the last LR.

    >>> s = manual([5e-5, 4e-5, 2e-5]); s(1), s(3), s(9)
    (5e-05, 2e-05, 2e-05)
    >>> manual({1: 1e-4, 4: 5e-5})(3)
    0.0001
    """
    if isinstance(table, Mapping):
        if not table:
            raise ValueError("The 'table' parameter must not be empty.")
        keys = sorted(_cycle(k) for k in table)
        vals = {k: _lr(f"table[{k}]", table[k]) for k in keys}

        def f(c: int) -> float:
            c = _cycle(c)
            last = keys[0]
            for k in keys:
                if k <= c:
                    last = k
            return vals[last]

        return f
    lrs = [_lr(f"table[{i}]", v) for i, v in enumerate(table)]
    if not lrs:
        raise ValueError("The 'table' parameter must not be empty.")
    return lambda c: lrs[min(_cycle(c), len(lrs)) - 1]


def exponential(base_lr: float, decay: float) -> CycleSchedule:
    """``lr(c) = base_lr * decay ** (c - 1)``."""
    b = _lr("base_lr", base_lr)
    if not 0 < decay <= 1:
        raise ValueError(f"The 'decay' parameter must be in (0, 1]. Got {decay!r} instead.")
    return lambda c: b * decay ** (_cycle(c) - 1)


def wsd(base_lr: float, cycles: int, warmup_cycles: int = 1, decay_cycles: int = 2, final_ratio: float = 0.1,
        start_ratio: float = 0.5) -> CycleSchedule:
    """Warmup-stable-decay across cycles: ``start_ratio`` -> 1 over the first ``warmup_cycles``,
    hold, then linear to ``final_ratio`` over the last ``decay_cycles``.

    >>> s = wsd(1e-4, cycles=8, warmup_cycles=1, decay_cycles=2); [round(s(c) / 1e-4, 3) for c in range(1, 9)]
    [0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.55, 0.1]
    """
    b = _lr("base_lr", base_lr)
    if cycles < 1 or warmup_cycles < 0 or decay_cycles < 0 or warmup_cycles + decay_cycles > cycles:
        raise ValueError(f"need warmup_cycles + decay_cycles <= cycles; got {warmup_cycles} + {decay_cycles} > {cycles}")

    def f(c: int) -> float:
        c = _cycle(c)
        if c <= warmup_cycles:
            return b * (start_ratio + (1 - start_ratio) * (c - 1) / max(1, warmup_cycles))
        first_decay = cycles - decay_cycles + 1
        if c < first_decay:
            return b
        k = min(c, cycles) - first_decay + 1
        return b * (1 - (1 - final_ratio) * k / decay_cycles)

    return f


@dataclass
class PerformanceBased:
    """Cut the LR by ``factor`` when a cycle improves the metric by less than ``threshold``
    (relative) over the best so far. The state is explicit and serialisable (``to_dict`` /
    ``from_dict``) so a multi-day loop can resume it.

    >>> s = PerformanceBased(lr=5e-5, factor=0.5, threshold=0.01)
    >>> [s.update(m) for m in (0.60, 0.65, 0.652, 0.70)]
    [5e-05, 5e-05, 2.5e-05, 2.5e-05]
    """

    lr: float
    factor: float = 0.5
    threshold: float = 0.01
    mode: str = "max"
    min_lr: float = 0.0
    best: float | None = None
    history: list = field(default_factory=list)

    def __post_init__(self) -> None:
        _lr("lr", self.lr)
        if not 0 < self.factor < 1:
            raise ValueError(f"The 'factor' parameter must be in (0, 1). Got {self.factor!r} instead.")
        if self.mode not in ("max", "min"):
            raise ValueError(f"The 'mode' parameter must be one of ['max', 'min']. Got {self.mode!r} instead.")

    def update(self, metric: float) -> float:
        """Record the cycle's metric; return the LR for the next cycle."""
        m = float(metric)
        if self.best is None:
            self.best = m
        else:
            gain = (m - self.best) if self.mode == "max" else (self.best - m)
            if gain < self.threshold * abs(self.best):
                self.lr = max(self.min_lr, self.lr * self.factor)
            if gain > 0:
                self.best = m
        self.history.append({"metric": m, "lr_next": self.lr})
        return self.lr

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> "PerformanceBased":
        return cls(**dict(d))


@dataclass(frozen=True)
class CyclePlan:
    """Optimizer steps in one cycle and what share of them a warmup takes."""

    samples: int
    effective_batch: int
    optimizer_steps: int
    warmup_steps: int
    warmup_share: float
    warnings: tuple[str, ...]


#: A warmup longer than this share of a cycle leaves little training at the peak LR
#: (post-mortem #3: 5 warmup steps of a 16-step cycle).
MAX_WARMUP_SHARE = 0.1


def plan(samples: int, batch: int, accumulation: int = 1, world_size: int = 1, warmup_steps: int = 0) -> CyclePlan:
    """effective optimizer steps = ceil(samples / (batch x accumulation x world size)).

    >>> p = plan(256, batch=4, accumulation=4, warmup_steps=5); p.optimizer_steps, round(p.warmup_share, 3)
    (16, 0.312)
    """
    for name, v in (("samples", samples), ("batch", batch), ("accumulation", accumulation), ("world_size", world_size)):
        if int(v) != v or v < 1:
            raise ValueError(f"The {name!r} parameter must be an integer >= 1. Got {v!r} instead.")
    eff = batch * accumulation * world_size
    steps = math.ceil(samples / eff)
    share = warmup_steps / steps
    warn = []
    if share > MAX_WARMUP_SHARE:
        warn.append(f"warmup is {warmup_steps} of {steps} optimizer steps ({share:.0%}) in this cycle: "
                    f"use at most {max(1, int(MAX_WARMUP_SHARE * steps))} or warm up across cycles")
    if steps < 20:
        warn.append(f"only {steps} optimizer steps per cycle: per-step schedules have little room; prefer a cross-cycle schedule")
    return CyclePlan(samples, eff, steps, warmup_steps, share, tuple(warn))
