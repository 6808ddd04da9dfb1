"""The schedule type, its one evaluation path, and the combinators.

A schedule is a pure function of the step that returns the *multiplier* of each param
group's base LR. Its body is a short closure written once with numpy operations on a float64
array of steps (optax's model: ``optax/schedules/_schedule.py``); a scalar step goes through
the same closure as a 0-d array. :func:`evaluate` is that single path: it turns the steps
into a float64 array clipped at 0, calls the closure, and gives back a float for a scalar
step and an array for an array of steps. There is no second (``math``) implementation to keep
in step with the first: the speed that one had for per-step use now comes from the torch
adapter, which evaluates aligned blocks of steps at once (bench/schedule_overhead.py).

Combinators (:func:`product`, :func:`scale`, :func:`join`, :func:`sequence`, :func:`repeat`)
build new closures from old ones; presets are compositions of them (``presets.py``).

>>> from lrdoctor.schedules.family import constant, linear
>>> s = join([constant(0.5), constant(1.0)], [10])
>>> s(9), s(10), s(np.array([0, 10])).tolist()
(0.5, 1.0, [0.5, 1.0])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import reduce
from itertools import accumulate
from typing import Union

import numpy as np

__all__ = [
    "Schedule", "Phase", "evaluate", "product", "join", "sequence", "scale", "repeat", "Steps", "as_steps",
    "ArrayFn",
]

Number = Union[int, float]
Steps = Union[int, float]
#: The body of a schedule: float64 steps (>= 0, any shape) -> multipliers (same shape, or a
#: number that broadcasts to it). Written with numpy operations only.
ArrayFn = Callable[[np.ndarray], "np.ndarray | float"]
Formula = ArrayFn  # the name before issue 11, when a formula also took a math namespace ``xp``


class Phase:
    """A named stretch of a schedule, for tables and plots: ``[start, end)`` in steps."""

    __slots__ = ("name", "start", "end")

    def __init__(self, name: str, start: float, end: float | None) -> None:
        self.name, self.start, self.end = name, float(start), None if end is None else float(end)

    def __repr__(self) -> str:
        return f"Phase({self.name!r}, {self.start:g}, {self.end})"

    def shifted(self, by: float) -> Phase:
        return Phase(self.name, self.start + by, None if self.end is None else self.end + by)


def evaluate(schedule: Schedule | Callable[[int], float], steps):
    """The multiplier(s) of ``schedule`` at ``steps``: a float for one step, a float64 array for many.

    The one evaluation path. For a :class:`Schedule`, steps become a float64 array clipped at
    0 (a step before the start is step 0) and go through the schedule's numpy closure once,
    scalar or not. Any other callable ``step -> multiplier`` (a hand-written lambda) is
    called once per step with an ``int`` step where the step is whole, as torch's LambdaLR does.

    >>> from lrdoctor.schedules.family import constant, linear
    >>> evaluate(constant(0.5), 3), evaluate(lambda t: 0.9 ** t, [0, 2]).round(2).tolist()
    (0.5, [1.0, 0.81])
    """
    if isinstance(schedule, Schedule):
        t = np.maximum(np.asarray(steps, dtype=np.float64), 0.0)
        out = np.asarray(schedule.fn(t), dtype=np.float64)
        if t.ndim == 0:
            return float(out)
        return out if out.shape == t.shape else np.broadcast_to(out, t.shape).copy()
    if not callable(schedule):
        raise TypeError(f"The 'schedule' parameter of evaluate must be a callable step -> multiplier. "
                        f"Got {schedule!r} instead.")
    if type(steps) is int:  # the torch adapter's per-step call of a plain callable: nothing to convert
        return float(schedule(steps))
    t = np.asarray(steps)
    as_step = (lambda k: int(k) if float(k).is_integer() else float(k))
    if t.ndim == 0:
        return float(schedule(as_step(t)))
    return np.array([float(schedule(as_step(k))) for k in t.ravel()], dtype=np.float64).reshape(t.shape)


_KEEP = object()  # relabel(): "keep the current value"


class Schedule:
    """``s(step)`` -> LR multiplier; ``s(np.arange(n))`` -> array; ``s1 * s2`` -> product.

    A thin, immutable wrapper of a numpy closure ``fn`` (see :data:`ArrayFn`) with what the
    CLI shows: a ``name``, named ``phases`` (warmup, stable, decay) and, where the schedule
    has an end, ``total_steps``. Steps below 0 are treated as 0. Factories in ``family.py``
    validate their arguments once and build one of these; nothing else does arithmetic.
    """

    __slots__ = ("fn", "name", "phases", "total_steps")

    def __init__(self, fn: ArrayFn, name: str = "schedule", phases: Sequence[Phase] = (),
                 total_steps: float | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"The 'fn' parameter of Schedule must be a callable on numpy arrays. Got {fn!r} instead.")
        self.fn = fn
        self.name = name
        self.phases = tuple(phases)
        self.total_steps = total_steps

    def __call__(self, step):
        return evaluate(self, step)

    def relabel(self, name: str | None = None, phases: Sequence[Phase] | None = None,
                total_steps: float | None | object = _KEEP) -> Schedule:
        """The same function under another name / phases / end (``total_steps=None``: no end);
        how factories and presets name what they composed."""
        return Schedule(self.fn, self.name if name is None else name, self.phases if phases is None else phases,
                        self.total_steps if total_steps is _KEEP else total_steps)

    def __mul__(self, other: Schedule | Number) -> Schedule:
        if isinstance(other, Schedule):
            return product(self, other)
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return scale(self, float(other))
        return NotImplemented

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return f"<Schedule {self.name}>"


def _schedules(name: str, schedules: Sequence[object]) -> list[Schedule]:
    bad = [s for s in schedules if not isinstance(s, Schedule)]
    if bad:
        raise TypeError(f"The 'schedules' parameter of {name} must be lrdoctor Schedules. Got {bad[0]!r} instead.")
    return list(schedules)


def product(*schedules: Schedule) -> Schedule:
    """The pointwise product ``m(t) = s1(t) * s2(t) * ...``: ``warmup(...) * cosine(...)``.

    This is how a warmup must combine with a decay (it multiplies, never overwrites:
    post-mortem #4).

    >>> from lrdoctor.schedules.family import constant, linear
    >>> product(constant(0.5), constant(0.5))(7)
    0.25
    """
    if not schedules:
        raise ValueError("The 'schedules' parameter of product must hold at least one schedule. Got none instead.")
    parts = _schedules("product", schedules)
    fns = [s.fn for s in parts]

    def fn(t):
        return reduce(lambda acc, g: acc * g(t), fns[1:], fns[0](t))

    totals = [s.total_steps for s in parts if s.total_steps is not None]
    phases = sorted((p for s in parts for p in s.phases), key=lambda p: p.start)
    return Schedule(fn, " * ".join(s.name for s in parts), phases, max(totals) if totals else None)


def scale(s: Schedule, factor: float) -> Schedule:
    """``m(t) = factor * s(t)``.

    >>> from lrdoctor.schedules.family import constant, linear
    >>> scale(constant(0.5), 0.2)(0)
    0.1
    """
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor) or factor < 0:
        raise ValueError(f"The 'factor' parameter of scale must be a finite number >= 0. Got {factor!r} instead.")
    f, k = _schedules("scale", [s])[0].fn, float(factor)
    return Schedule(lambda t: k * f(t), f"{k:g} * {s.name}", s.phases, s.total_steps)


def join(schedules: Sequence[Schedule], boundaries: Sequence[float]) -> Schedule:
    """optax's ``join_schedules``: ``schedules[i]`` runs from ``boundaries[i-1]`` to ``boundaries[i]``
    on its own clock: ``m(t) = schedules[i](t - boundaries[i-1])``.

    Boundaries are non-decreasing step numbers (a part between two equal boundaries never
    runs). torch's ``SequentialLR`` is a join; ``warmup * decay`` is a product, not a join.

    >>> from lrdoctor.schedules.family import constant, linear
    >>> s = join([constant(0.1), linear(1.0, 0.0, 10)], [5]); s(4), s(5), s(10), s(20)
    (0.1, 1.0, 0.5, 0.0)
    """
    parts = _schedules("join", schedules)
    if len(parts) != len(boundaries) + 1:
        raise ValueError(f"join() needs one boundary fewer than schedules: got {len(parts)} schedules and "
                         f"{len(boundaries)} boundaries")
    try:
        b = [float(x) for x in boundaries]
    except (TypeError, ValueError):
        b = [math.nan]
    if not all(math.isfinite(x) for x in b) or any(y < x for x, y in zip(b, b[1:])):
        raise ValueError(f"The 'boundaries' parameter of join must be non-decreasing finite steps. "
                         f"Got {list(boundaries)!r} instead.")
    first, rest = parts[0].fn, [(x, s.fn) for x, s in zip(b, parts[1:])]

    def fn(t):
        out = first(t)
        for x, g in rest:
            out = np.where(t < x, out, g(np.maximum(t - x, 0.0)))
        return out

    starts = [0.0] + b
    phases = [p.shifted(starts[k]) for k, s in enumerate(parts) for p in s.phases]
    last = parts[-1].total_steps
    return Schedule(fn, "join(" + ", ".join(s.name for s in parts) + ")", phases,
                    None if last is None else starts[-1] + last)


def sequence(*parts: tuple[Schedule, float]) -> Schedule:
    """:func:`join` by lengths: ``sequence((a, 100), (b, 900), (c, 0))`` runs ``a`` for 100 steps,
    then ``b`` for 900, then ``c`` (the last length only ends the run: ``total_steps``).

    >>> from lrdoctor.schedules.family import constant, linear
    >>> s = sequence((constant(0.1), 5), (linear(1.0, 0.0, 10), 10)); s(4), s(10), s.total_steps
    (0.1, 0.5, 15.0)
    """
    if not parts or any(not isinstance(p, tuple) or len(p) != 2 for p in parts):
        raise ValueError(f"The 'parts' parameter of sequence must be (schedule, length) pairs. Got {parts!r} instead.")
    lengths = [float(n) for _, n in parts]
    if any(not math.isfinite(n) or n < 0 for n in lengths):
        raise ValueError(f"The lengths in sequence must be finite numbers of steps >= 0. Got {lengths!r} instead.")
    edges = list(accumulate(lengths))
    s = join([p for p, _ in parts], edges[:-1])
    return s.relabel(total_steps=edges[-1])


def repeat(s: Schedule, period: int) -> Schedule:
    """``m(t) = s(t mod period)``: restart the schedule every ``period`` steps.

    >>> from lrdoctor.schedules.family import constant, linear
    >>> r = repeat(linear(1.0, 0.0, 10), 10); r(5), r(10), r(15)
    (0.5, 1.0, 0.5)
    """
    if isinstance(period, bool) or not isinstance(period, (int, float)) or not math.isfinite(period) or period < 1:
        raise ValueError(f"The 'period' parameter of repeat must be >= 1. Got {period!r} instead.")
    f, P = _schedules("repeat", [s])[0].fn, float(period)
    return Schedule(lambda t: f(t - P * np.floor(t / P)), f"repeat({s.name}, {period})", s.phases, None)


def as_steps(length: Steps, total_steps: float | None, name: str) -> float:
    """A length given as steps (int >= 0, or float >= 1) or as a fraction of the run (float in [0, 1))."""
    if isinstance(length, bool) or not isinstance(length, (int, float)) or not math.isfinite(length) or length < 0:
        raise ValueError(f"The {name!r} parameter must be a number of steps or a fraction of the run. Got {length!r} instead.")
    if isinstance(length, float) and length < 1:
        if total_steps is None:
            raise ValueError(f"The {name!r} parameter is a fraction ({length!r}): give total_steps too.")
        return length * total_steps
    return float(length)
