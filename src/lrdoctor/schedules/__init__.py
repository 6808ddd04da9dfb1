"""LR schedules as pure functions of the step (optax's model), composed by small combinators.

A schedule ``s`` returns the *multiplier* of each param group's base LR: ``s(step)`` for one
step, ``s(np.arange(n))`` for many -- one numpy closure, one evaluation path
(:func:`evaluate`). Factories (``family.py``) validate their arguments once; presets
(``presets.py``) are compositions of them; ``s1 * s2`` is the product -- the way a warmup
combines with a decay (it multiplies, never overwrites: the bug of post-mortem #4).
:func:`to_torch` drives a torch optimizer from a schedule or any callable ``step -> multiplier``.

>>> from lrdoctor import schedules
>>> s = schedules.warmup(100) * schedules.cosine(1000, min_ratio=0.1, start_step=100)
>>> s(50), s(100), round(s(1000), 6)
(0.5, 1.0, 0.1)
"""

from lrdoctor.schedules import cycles
from lrdoctor.schedules._core import Phase, Schedule, evaluate, join, product, repeat, scale, sequence
from lrdoctor.schedules.convert import from_hf, from_torch
from lrdoctor.schedules.family import (
    constant, cosine, cosine_anneal, cosine_restarts, exponential, inverse_sqrt, linear, linear_decay, multistep,
    polynomial, sqrt_anneal, sqrt_decay, step_decay, warmup,
)
from lrdoctor.schedules.presets import one_cycle, three_phase, wsd
from lrdoctor.schedules.spec import SpecError, from_spec, load_spec

__all__ = [
    "Schedule", "Phase", "evaluate", "product", "join", "sequence", "scale", "repeat",
    "constant", "linear", "cosine_anneal", "sqrt_anneal",
    "warmup", "linear_decay", "cosine", "sqrt_decay", "cosine_restarts", "step_decay", "multistep", "exponential",
    "polynomial", "inverse_sqrt", "one_cycle", "wsd", "three_phase",
    "cycles", "to_torch", "ScheduleLR", "from_hf", "from_torch", "from_spec", "load_spec", "SpecError",
]


def __getattr__(name: str):
    # The torch adapter imports torch (seconds); `lrdoctor schedule` and `lrdoctor diagnose`
    # must not pay for it, so it loads on first use of ScheduleLR / to_torch.
    if name in ("ScheduleLR", "to_torch"):
        from lrdoctor.schedules import adapter

        return getattr(adapter, name)
    raise AttributeError(f"module 'lrdoctor.schedules' has no attribute {name!r}")
