"""The schedule family: every formula lrdoctor knows, each written once.

Each factory validates its arguments once (errors in scikit-learn's voice: "The 'x' parameter
of f must be ... Got ... instead.") and returns a :class:`~lrdoctor.schedules.Schedule` around
a short numpy closure of the step ``t``: the multiplier of the base (peak) LR.

Two kinds of member:

* building blocks with plain lengths in steps and free end values (optax's
  ``linear_schedule`` / ``cosine_decay_schedule``): :func:`linear`, :func:`cosine_anneal`,
  :func:`sqrt_anneal`, :func:`constant`;
* multipliers of the peak LR in the vocabulary of torch and HF: :func:`warmup` (start -> 1),
  the decays (1 -> floor), steps, restarts, inverse square root. A decay takes ``start_step``
  (it stays at 1 before it: a :func:`~lrdoctor.schedules.join` with ``constant(1)``), so
  ``warmup(w) * cosine(T, start_step=w)`` is exactly HF's ``get_cosine_schedule_with_warmup``:
  the warmup *multiplies* the decay.

Lengths of the multiplier members are steps (int) or fractions of ``total_steps`` (float < 1).
The presets (``three_phase``, ``wsd``, ``one_cycle``) are compositions of these, in
``presets.py``; they are importable from here too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from lrdoctor.schedules._core import Phase, Schedule, Steps, as_steps, join

__all__ = [  # the order of `lrdoctor schedule`'s "valid:" list: the original members first
    "constant", "warmup", "linear_decay", "cosine", "cosine_restarts", "step_decay", "multistep",
    "exponential", "polynomial", "inverse_sqrt", "one_cycle", "wsd", "three_phase",
    "linear", "cosine_anneal", "sqrt_anneal", "sqrt_decay",
]

_PRESETS = ("one_cycle", "wsd", "three_phase")


def __getattr__(name: str):
    # The presets live in presets.py (compositions of this module); they stay importable from
    # here, where they lived before, without an import cycle.
    if name in _PRESETS:
        from lrdoctor.schedules import presets

        return getattr(presets, name)
    raise AttributeError(f"module 'lrdoctor.schedules.family' has no attribute {name!r}")


# --- validation (one helper per kind of argument) -------------------------------------------

def _number(fn: str, name: str, v: object, lo: float = 0.0, hi: float = math.inf) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (lo <= v <= hi):
        what = f"a number in [{lo:g}, {hi:g}]" if math.isfinite(hi) else f"a finite number >= {lo:g}"
        raise ValueError(f"The {name!r} parameter of {fn} must be {what}. Got {v!r} instead.")
    if not math.isfinite(v):
        raise ValueError(f"The {name!r} parameter of {fn} must be a finite number. Got {v!r} instead.")
    return float(v)


def _length(fn: str, name: str, v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise ValueError(f"The {name!r} parameter of {fn} must be a number of steps >= 0. Got {v!r} instead.")
    return float(v)


def _total(fn: str, total_steps: object) -> float:
    if isinstance(total_steps, bool) or not isinstance(total_steps, (int, float)) or not math.isfinite(total_steps) \
            or total_steps <= 0:
        raise ValueError(f"The 'total_steps' parameter of {fn} must be a number of steps > 0. "
                         f"Got {total_steps!r} instead.")
    return total_steps


def _count(fn: str, name: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"The {name!r} parameter of {fn} must be an integer >= 1. Got {v!r} instead.")
    return v


def _one_of(fn: str, name: str, v: object, options: Sequence[str]) -> str:
    if v not in options:
        raise ValueError(f"The {name!r} parameter of {fn} must be one of {sorted(options)}. Got {v!r} instead.")
    return v  # type: ignore[return-value]


def _progress(n: float) -> Callable[[np.ndarray], np.ndarray]:
    """``p(t) = min(t / n, 1)``: the share of a ``n``-step stretch done (``n > 0``; written
    ``min(t, n) / n``, which cannot overflow for a tiny ``n``)."""
    return lambda t: np.minimum(t, n) / n


# --- building blocks: plain lengths, free end values ----------------------------------------

def constant(value: float = 1.0) -> Schedule:
    """``m(t) = value``.

    >>> constant(0.5)(1000)
    0.5
    """
    v = _number("constant", "value", value)
    return Schedule(lambda t: v, f"constant({v:g})")


def linear(init_value: float, end_value: float, steps: float) -> Schedule:
    """``m(t) = init * (1 - p) + end * p``, ``p = min(t / steps, 1)`` (optax's ``linear_schedule``,
    torch's ``LinearLR`` and OneCycleLR's linear anneal; written as a convex combination so
    both ends are exact). Over 0 steps it is ``end`` from the start.

    >>> s = linear(1.0, 0.5, 10); s(0), s(5), s(10), s(99)
    (1.0, 0.75, 0.5, 0.5)
    """
    a, b = _number("linear", "init_value", init_value), _number("linear", "end_value", end_value)
    n = _length("linear", "steps", steps)
    if n == 0:
        return Schedule(lambda t: b, f"linear({a:g}->{b:g}, 0)")
    p = _progress(n)
    def fn(t):
        q = p(t)
        return a * (1.0 - q) + b * q

    return Schedule(fn, f"linear({a:g}->{b:g}, {n:g})", [Phase("ramp", 0, n)], n)


def cosine_anneal(init_value: float, end_value: float, steps: float) -> Schedule:
    """Half a cosine from ``init`` to ``end`` over ``steps``, then ``end``:
    ``m(t) = end + (init - end) / 2 * (cos(pi * p) + 1)``, ``p = min(t / steps, 1)``
    (torch's ``_annealing_cos``, the shape of SGDR, HF's cosine schedules and OneCycleLR).

    >>> s = cosine_anneal(1.0, 0.0, 10); s(0), round(s(5), 12), s(10)
    (1.0, 0.5, 0.0)
    """
    a, b = _number("cosine_anneal", "init_value", init_value), _number("cosine_anneal", "end_value", end_value)
    n = _length("cosine_anneal", "steps", steps)
    if n == 0:
        return Schedule(lambda t: b, f"cosine_anneal({a:g}->{b:g}, 0)")
    p = _progress(n)
    return Schedule(lambda t: b + (a - b) / 2.0 * (np.cos(np.pi * p(t)) + 1.0), f"cosine_anneal({a:g}->{b:g}, {n:g})",
                    [Phase("anneal", 0, n)], n)


def sqrt_anneal(init_value: float, end_value: float, steps: float) -> Schedule:
    """The "1-sqrt" shape of HF's ``get_wsd_schedule`` (Hägele et al. 2024's cooldown): the LR
    moves fastest near the *lower* of the two values, over ``steps``, then stays at ``end``.

    Down (``end <= init``): ``m(t) = end + (init - end) * (1 - sqrt(p))``.
    Up (``end > init``): ``m(t) = init + (end - init) * (1 - sqrt(1 - p))``, ``p = min(t / steps, 1)``.

    >>> d = sqrt_anneal(1.0, 0.0, 100); d(0), d(25), d(100)
    (1.0, 0.5, 0.0)
    >>> u = sqrt_anneal(0.0, 1.0, 100); u(0), u(75), u(100)
    (0.0, 0.5, 1.0)
    """
    a, b = _number("sqrt_anneal", "init_value", init_value), _number("sqrt_anneal", "end_value", end_value)
    n = _length("sqrt_anneal", "steps", steps)
    if n == 0:
        return Schedule(lambda t: b, f"sqrt_anneal({a:g}->{b:g}, 0)")
    p = _progress(n)
    def down(t):
        return b + (a - b) * (1.0 - np.sqrt(p(t)))

    def up(t):
        return a + (b - a) * (1.0 - np.sqrt(1.0 - p(t)))

    fn = down if b <= a else up
    return Schedule(fn, f"sqrt_anneal({a:g}->{b:g}, {n:g})", [Phase("anneal", 0, n)], n)


# --- multipliers of the peak LR ------------------------------------------------------------

#: The warmup shapes: a ramp ``start -> 1`` over ``n`` steps for each name (HF's warmup_type
#: names, plus "exponential"). "exponential" is the one formula that is not a shared block.
_WARMUPS: dict[str, Callable[[float, float], Schedule]] = {
    "linear": lambda s0, n: linear(s0, 1.0, n),
    "cosine": lambda s0, n: cosine_anneal(s0, 1.0, n),
    "1-sqrt": lambda s0, n: sqrt_anneal(s0, 1.0, n),
}


def _exponential_ramp(s0: float, n: float) -> Schedule:
    p = _progress(n)
    return Schedule(lambda t: s0 * np.power(1.0 / s0, p(t)), f"exp_ramp({s0:g}, {n:g})")


def warmup(steps: Steps, start: float = 0.0, shape: str = "linear", total_steps: int | None = None) -> Schedule:
    """Ramp from ``start`` to 1 over ``steps``, then 1. Multiply it with a decay.

    linear: ``m(t) = start + (1 - start) * min(1, t / steps)`` (HF's convention: 0 at step 0;
    hand-written loops often use ``(t + 1) / steps``, one step ahead) -- :func:`linear`.
    cosine, 1-sqrt: :func:`cosine_anneal` / :func:`sqrt_anneal` from ``start`` to 1 (HF's WSD warmups).
    exponential: ``m(t) = start * (1 / start) ** min(1, t / steps)`` (needs start > 0).

    >>> w = warmup(100); w(0), w(50), w(100), w(5000)
    (0.0, 0.5, 1.0, 1.0)
    >>> round(warmup(100, start=0.01, shape="exponential")(50), 4)
    0.1
    """
    n = as_steps(steps, total_steps, "steps")
    s0 = _number("warmup", "start", start, 0.0, 1.0)
    _one_of("warmup", "shape", shape, ["exponential", *_WARMUPS])
    if shape == "exponential" and s0 <= 0:
        raise ValueError("The 'start' parameter of an exponential warmup must be > 0. Got 0 instead.")
    if n == 0:
        return constant(1.0).relabel(name="warmup(0)")
    ramp = _exponential_ramp(s0, n) if shape == "exponential" else _WARMUPS[shape](s0, n)
    return ramp.relabel(f"warmup({n:g}, {shape})", [Phase("warmup", 0, n)], total_steps)


def _decay(total_steps: float, start_step: Steps, make: Callable[[float], Schedule], end: float,
           name: str) -> Schedule:
    """1 until ``start_step``, then ``make(n)`` (a decay over the ``n`` steps left, on its own
    clock) down to ``end`` at ``total_steps``: the ``start_step`` of every decay is a join with
    ``constant(1)``, not a formula."""
    a = as_steps(start_step, total_steps, "start_step")
    n = total_steps - a
    decay = make(n) if n > 0 else constant(end)
    s = decay if a == 0 else join([constant(1.0), decay], [a])
    return s.relabel(name, [Phase("decay", a, total_steps)], total_steps)


def linear_decay(total_steps: int, final: float = 0.0, start_step: Steps = 0) -> Schedule:
    """1 until ``start_step``, then linearly to ``final`` at ``total_steps``, then ``final``
    (:func:`linear` from 1 to ``final`` after ``start_step``).

    ``warmup(w) * linear_decay(T, start_step=w)`` is HF's ``get_linear_schedule_with_warmup``.

    >>> d = linear_decay(100, final=0.1); d(0), d(50), d(100), d(200)
    (1.0, 0.55, 0.1, 0.1)
    """
    T = _total("linear_decay", total_steps)
    fin = _number("linear_decay", "final", final, 0.0, 1.0)
    return _decay(T, start_step, lambda n: linear(1.0, fin, n), fin,
                  f"linear_decay({T:g}, final={fin:g})")


def cosine(total_steps: int, min_ratio: float = 0.0, start_step: Steps = 0) -> Schedule:
    """Half a cosine from 1 at ``start_step`` to ``min_ratio`` at ``total_steps`` (then flat):
    :func:`cosine_anneal` from 1 to ``min_ratio`` after ``start_step``.

    ``m(t) = min + (1 - min) / 2 * (cos(pi * p) + 1)``, ``p`` the share of [start_step, total] done.
    torch's CosineAnnealingLR (eta_min = min * base) and HF's cosine schedules; HF's keeps going
    (rises again) past ``num_training_steps``, torch's is periodic: ours stays at the floor.

    >>> c = cosine(100, min_ratio=0.1); c(0), round(c(50), 6), c(100), c(150)
    (1.0, 0.55, 0.1, 0.1)
    """
    T = _total("cosine", total_steps)
    lo = _number("cosine", "min_ratio", min_ratio, 0.0, 1.0)
    return _decay(T, start_step, lambda n: cosine_anneal(1.0, lo, n), lo, f"cosine({T:g}, min_ratio={lo:g})")


def sqrt_decay(total_steps: int, final: float = 0.0, start_step: Steps = 0) -> Schedule:
    """1 until ``start_step``, then ``m(t) = final + (1 - final) * (1 - sqrt(p))`` to ``total_steps``:
    the "1-sqrt" cooldown (Hägele et al. 2024; HF's WSD ``decay_type="1-sqrt"``), :func:`sqrt_anneal`.

    >>> d = sqrt_decay(100); d(0), d(25), d(100)
    (1.0, 0.5, 0.0)
    """
    T = _total("sqrt_decay", total_steps)
    fin = _number("sqrt_decay", "final", final, 0.0, 1.0)
    return _decay(T, start_step, lambda n: sqrt_anneal(1.0, fin, n), fin,
                  f"sqrt_decay({T:g}, final={fin:g})")


def polynomial(total_steps: int, power: float = 1.0, final: float = 0.0, start_step: Steps = 0) -> Schedule:
    """``m(t) = final + (1 - final) * (1 - p) ** power``, ``p`` the share of [start_step, total] done
    (torch PolynomialLR with final = 0; HF's polynomial decay with ``lr_end = final * lr``).

    >>> p = polynomial(100, power=2.0); p(0), p(50), p(100)
    (1.0, 0.25, 0.0)
    """
    T = _total("polynomial", total_steps)
    pw = _number("polynomial", "power", power)
    fin = _number("polynomial", "final", final, 0.0, 1.0)

    def make(n: float) -> Schedule:
        p = _progress(n)
        return Schedule(lambda t: fin + (1.0 - fin) * np.power(1.0 - p(t), pw), "poly")

    return _decay(T, start_step, make, fin, f"polynomial({T:g}, power={pw:g})")


def cosine_restarts(period: int, period_mult: int = 1, min_ratio: float = 0.0, decay: float = 1.0) -> Schedule:
    """Cosine from 1 to ``min_ratio`` over ``period`` steps, restarting; periods grow by
    ``period_mult`` and peaks shrink by ``decay`` per restart (SGDR, Loshchilov & Hutter 2017;
    torch's CosineAnnealingWarmRestarts when decay = 1).

    Cycle ``n`` starts at ``P (M^n - 1) / (M - 1)`` (``n P`` when ``M = 1``) and lasts ``P M^n``;
    ``m(t) = min + (decay^n - min) / 2 * (1 + cos(pi * (t - start) / length))``.

    >>> s = cosine_restarts(10); s(0), s(10), round(s(5), 6)
    (1.0, 1.0, 0.5)
    """
    P = float(_count("cosine_restarts", "period", period))
    M = float(_count("cosine_restarts", "period_mult", period_mult))
    lo = _number("cosine_restarts", "min_ratio", min_ratio, 0.0, 1.0)
    dk = _number("cosine_restarts", "decay", decay, 0.0, 1.0)

    def fn(t):
        if M == 1:
            n = np.floor(t / P)
            cur, length = t - n * P, P
        else:
            n = np.floor(np.log(t / P * (M - 1.0) + 1.0) / math.log(M))
            cur, length = t - P * (np.power(M, n) - 1.0) / (M - 1.0), P * np.power(M, n)
        peak = np.power(dk, n)
        return lo + (peak - lo) * 0.5 * (1.0 + np.cos(np.pi * cur / length))

    return Schedule(fn, f"cosine_restarts({period}, x{period_mult})", [Phase("cycle 1", 0, period)])


def step_decay(step_size: int, gamma: float = 0.1) -> Schedule:
    """``m(t) = gamma ** floor(t / step_size)`` (torch StepLR).

    >>> s = step_decay(30); s(29), s(30), round(s(60), 10)
    (1.0, 0.1, 0.01)
    """
    n = _count("step_decay", "step_size", step_size)
    g = _number("step_decay", "gamma", gamma)
    return Schedule(lambda t: np.power(g, np.floor(t / n)), f"step_decay({n}, {g:g})")


def multistep(milestones: Sequence[int], gamma: float = 0.1) -> Schedule:
    """``m(t) = gamma ** (number of milestones <= t)`` (torch MultiStepLR).

    >>> s = multistep([10, 20], 0.5); s(9), s(10), s(25)
    (1.0, 0.5, 0.25)
    """
    try:
        ms = np.array(sorted(float(m) for m in milestones))
    except (TypeError, ValueError):
        ms = np.array([-1.0])
    if ms.size == 0 or (ms < 0).any() or not np.isfinite(ms).all():
        raise ValueError(f"The 'milestones' parameter of multistep must be a non-empty list of steps >= 0. "
                         f"Got {milestones!r} instead.")
    g = _number("multistep", "gamma", gamma)
    return Schedule(lambda t: np.power(g, np.searchsorted(ms, t, side="right")),
                    f"multistep({[int(m) for m in ms]}, {g:g})", [Phase(f"x{g:g}", m, None) for m in ms])


def exponential(gamma: float) -> Schedule:
    """``m(t) = gamma ** t`` (torch ExponentialLR).

    >>> round(exponential(0.99)(100), 4)
    0.366
    """
    g = _number("exponential", "gamma", gamma)
    return Schedule(lambda t: np.power(g, t), f"exponential({g:g})")


def inverse_sqrt(warmup_steps: int, timescale: int | None = None) -> Schedule:
    """1 until ``warmup_steps``, then ``sqrt(timescale / (t + timescale - warmup_steps))``.

    With ``timescale = warmup_steps`` (the default) and multiplied by ``warmup(warmup_steps)``
    this is the Transformer's "Noam" schedule normalised to peak 1 (Vaswani et al. 2017) and
    HF's ``get_inverse_sqrt_schedule``.

    >>> s = warmup(100) * inverse_sqrt(100); s(50), s(100), s(400)
    (0.5, 1.0, 0.5)
    """
    w = int(_length("inverse_sqrt", "warmup_steps", warmup_steps))
    if timescale is not None:
        _length("inverse_sqrt", "timescale", timescale)
    ts = float(timescale if timescale is not None else (w or 10_000))
    shift = ts - w
    return Schedule(lambda t: np.where(t < w, 1.0, np.sqrt(ts / np.maximum(t + shift, 1e-12))),
                    f"inverse_sqrt({w})", [Phase("decay", w, None)])
