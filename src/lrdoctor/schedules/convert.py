"""Build our schedule from the names people already use, so switching is safe.

* :func:`from_hf`: ``transformers.get_scheduler`` names and arguments.
* :func:`from_torch`: ``torch.optim.lr_scheduler`` class names and constructor arguments.

tests/test_schedules.py checks each step by step against the real library. Known quirks,
documented rather than copied: HF's cosine schedules rise again past ``num_training_steps``
(ours stay at the floor); torch's CosineAnnealingLR is periodic past ``T_max`` and computes
recursively (ours is closed-form, equal to ~1e-12); OneCycleLR overwrites the group LR with
``max_lr / div_factor`` (ours multiplies the group LR, which must be set to ``max_lr``).
"""

from __future__ import annotations

from typing import Any

from lrdoctor.schedules import family as F
from lrdoctor.schedules import presets
from lrdoctor.schedules._core import Schedule, join

__all__ = ["from_hf", "from_torch", "HF_NAMES", "TORCH_NAMES"]


def _hf_linear(w, T, **kw):
    return F.warmup(w) * F.linear_decay(T, start_step=w)


def _hf_cosine(w, T, num_cycles: float = 0.5, **kw):
    if num_cycles != 0.5:
        raise ValueError("from_hf('cosine') supports num_cycles=0.5 (half a cosine) only; "
                         "use schedules.cosine_restarts for more cycles")
    return F.warmup(w) * F.cosine(T, start_step=w)


def _hf_cosine_min(w, T, min_lr_rate: float | None = None, num_cycles: float = 0.5, **kw):
    if min_lr_rate is None:
        raise ValueError("from_hf('cosine_with_min_lr') needs min_lr_rate (min_lr is absolute: divide it by the LR)")
    return F.warmup(w) * F.cosine(T, min_ratio=min_lr_rate, start_step=w)


def _hf_hard_restarts(w, T, num_cycles: int = 1, **kw):
    period = (T - w) / num_cycles
    if period != int(period):
        raise ValueError(f"from_hf('cosine_with_restarts'): (num_training_steps - num_warmup_steps) / num_cycles "
                         f"must be a whole number of steps, got {period:g}")
    return F.warmup(w) * _delay(F.cosine_restarts(int(period)), w, T)


def _delay(s: Schedule, w: int, T: int) -> Schedule:
    return join([F.constant(1.0), s, F.constant(0.0)], [w, T]) if w > 0 else join([s, F.constant(0.0)], [T])


def _hf_polynomial(w, T, lr_end: float = 1e-7, power: float = 1.0, lr: float | None = None, **kw):
    if lr is None:
        raise ValueError("from_hf('polynomial') needs lr (HF's lr_end is absolute)")
    return F.warmup(w) * F.polynomial(T, power=power, final=lr_end / lr, start_step=w)


def _hf_constant(w, T, **kw):
    return F.constant(1.0)


def _hf_constant_warmup(w, T, **kw):
    return F.warmup(w)


def _hf_inverse_sqrt(w, T, timescale: int | None = None, **kw):
    return F.warmup(w) * F.inverse_sqrt(w, timescale)


def _hf_wsd(w, T, num_decay_steps: int | None = None, num_stable_steps: int | None = None, min_lr_ratio: float = 0.0,
            warmup_type: str = "linear", decay_type: str = "cosine", **kw):
    if num_decay_steps is None:
        raise ValueError("from_hf('warmup_stable_decay') needs num_decay_steps")
    total = T if num_stable_steps is None else w + num_stable_steps + num_decay_steps
    return presets.wsd(total, warmup=w, decay=num_decay_steps, final=min_lr_ratio, decay_shape=decay_type, warmup_shape=warmup_type)


HF_NAMES = {
    "linear": _hf_linear, "cosine": _hf_cosine, "cosine_with_min_lr": _hf_cosine_min,
    "cosine_with_restarts": _hf_hard_restarts, "polynomial": _hf_polynomial, "constant": _hf_constant,
    "constant_with_warmup": _hf_constant_warmup, "inverse_sqrt": _hf_inverse_sqrt, "warmup_stable_decay": _hf_wsd,
}


def from_hf(name: str, num_warmup_steps: int = 0, num_training_steps: int | None = None, **kwargs: Any) -> Schedule:
    """Our equivalent of ``transformers.get_scheduler(name, ...)`` (``scheduler_specific_kwargs`` as kwargs).

    >>> s = from_hf("linear", num_warmup_steps=10, num_training_steps=110); s(5), s(60)
    (0.5, 0.5)
    """
    if name not in HF_NAMES:
        raise ValueError(f"The 'name' parameter must be one of {sorted(HF_NAMES)}. Got {name!r} instead.")
    if num_training_steps is None and name not in ("constant", "constant_with_warmup", "inverse_sqrt"):
        raise ValueError(f"from_hf({name!r}) needs num_training_steps")
    return HF_NAMES[name](int(num_warmup_steps), num_training_steps, **kwargs)


def _t_step(step_size: int, gamma: float = 0.1, **kw):
    return F.step_decay(step_size, gamma)


def _t_multistep(milestones, gamma: float = 0.1, **kw):
    return F.multistep(milestones, gamma)


def _t_exponential(gamma: float, **kw):
    return F.exponential(gamma)


def _t_cosine(T_max: int, eta_min: float = 0.0, lr: float | None = None, **kw):
    if eta_min and lr is None:
        raise ValueError("from_torch('CosineAnnealingLR') with eta_min needs lr (eta_min is absolute)")
    return F.cosine(int(T_max), min_ratio=(eta_min / lr) if eta_min else 0.0)


def _t_restarts(T_0: int, T_mult: int = 1, eta_min: float = 0.0, lr: float | None = None, **kw):
    if eta_min and lr is None:
        raise ValueError("from_torch('CosineAnnealingWarmRestarts') with eta_min needs lr")
    return F.cosine_restarts(int(T_0), int(T_mult), (eta_min / lr) if eta_min else 0.0)


def _t_linear(start_factor: float = 1 / 3, end_factor: float = 1.0, total_iters: int = 5, **kw):
    s, e, n = float(start_factor), float(end_factor), int(total_iters)
    return F.linear(s, e, n).relabel(f"LinearLR({s:g}->{e:g}, {n})")


def _t_constant(factor: float = 1 / 3, total_iters: int = 5, **kw):
    k, n = float(factor), int(total_iters)
    return join([F.constant(k), F.constant(1.0)], [n]).relabel(f"ConstantLR({k:g}, {n})")


def _t_polynomial(total_iters: int = 5, power: float = 1.0, **kw):
    return F.polynomial(int(total_iters), power=power)


def _t_onecycle(total_steps: int | None = None, epochs: int | None = None, steps_per_epoch: int | None = None,
                pct_start: float = 0.3, anneal_strategy: str = "cos", div_factor: float = 25.0,
                final_div_factor: float = 1e4, three_phase: bool = False, **kw):
    T = total_steps if total_steps is not None else (epochs or 0) * (steps_per_epoch or 0)
    return presets.one_cycle(int(T), pct_start, div_factor, final_div_factor, anneal_strategy, three_phase)


TORCH_NAMES = {
    "StepLR": _t_step, "MultiStepLR": _t_multistep, "ExponentialLR": _t_exponential, "CosineAnnealingLR": _t_cosine,
    "CosineAnnealingWarmRestarts": _t_restarts, "LinearLR": _t_linear, "ConstantLR": _t_constant,
    "PolynomialLR": _t_polynomial, "OneCycleLR": _t_onecycle,
}


def from_torch(name: str, **kwargs: Any) -> Schedule:
    """Our equivalent of ``torch.optim.lr_scheduler.<name>(opt, **kwargs)``; ``lr`` (the base
    LR) is needed only where torch takes an absolute LR (``eta_min``).

    >>> from_torch("StepLR", step_size=30, gamma=0.1)(45)
    0.1
    """
    if name not in TORCH_NAMES:
        raise ValueError(f"The 'name' parameter must be one of {sorted(TORCH_NAMES)}. Got {name!r} instead.")
    return TORCH_NAMES[name](**kwargs)
