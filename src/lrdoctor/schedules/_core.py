"""The schedule type and its combinators.

A schedule is a pure function of the step that returns the *multiplier* of each param
group's base LR. Each formula is written once against a tiny math namespace (``xp``) and
evaluated with :mod:`math` for a scalar step (fast enough for every training step) or with
numpy for an array of steps (a million steps in milliseconds).
"""

from __future__ import annotations

import bisect
import math
from typing import Callable, Sequence, Union

import numpy as np

__all__ = ["Schedule", "Phase", "product", "join", "scale", "repeat", "Steps", "as_steps"]

Number = Union[int, float]
Steps = Union[int, float]


class _MathNS:
    """The subset of numpy's API the formulas use, on Python floats (no numpy scalar overhead;
    builtins where they exist, since this path runs on every training step)."""

    pi = math.pi
    cos, exp, sqrt, log, floor = math.cos, math.exp, math.sqrt, math.log, math.floor
    minimum = staticmethod(min)
    maximum = staticmethod(max)
    power = staticmethod(pow)

    @staticmethod
    def where(c: bool, a: float, b: float) -> float:
        return a if c else b

    @staticmethod
    def clip(x: float, lo: float, hi: float) -> float:
        return lo if x < lo else (hi if x > hi else x)

    @staticmethod
    def searchsorted(edges: Sequence[float], x: float) -> int:
        return bisect.bisect_right(edges, x)


_NP = np
_MATH = _MathNS()

Formula = Callable[[object, object], object]  # (t, xp) -> multiplier


class Phase:
    """A named stretch of a schedule, for tables and plots: ``[start, end)`` in steps."""

    __slots__ = ("name", "start", "end")

    def __init__(self, name: str, start: float, end: float | None) -> None:
        self.name, self.start, self.end = name, float(start), None if end is None else float(end)

    def __repr__(self) -> str:
        return f"Phase({self.name!r}, {self.start:g}, {self.end})"

    def shifted(self, by: float) -> "Phase":
        return Phase(self.name, self.start + by, None if self.end is None else self.end + by)


class Schedule:
    """``s(step)`` -> LR multiplier; ``s(np.arange(n))`` -> array; ``s1 * s2`` -> product.

    Steps below 0 are treated as 0. ``phases`` names the stretches (warmup, stable, decay)
    so ``lrdoctor schedule`` can show the LR at each boundary.
    """

    __slots__ = ("_f", "name", "phases", "total_steps")

    def __init__(self, formula: Formula, name: str, phases: Sequence[Phase] = (), total_steps: int | None = None) -> None:
        self._f = formula
        self.name = name
        self.phases = tuple(phases)
        self.total_steps = total_steps

    def __call__(self, step):
        if type(step) is int or type(step) is float or isinstance(step, (np.integer, np.floating)):
            t = float(step)
            return self._f(t if t > 0 else 0.0, _MATH)  # math-only formulas return floats
        t = np.maximum(np.asarray(step, dtype=np.float64), 0.0)
        return np.asarray(self._f(t, _NP), dtype=np.float64) * np.ones_like(t)

    def __mul__(self, other: "Schedule | Number") -> "Schedule":
        if isinstance(other, Schedule):
            return product(self, other)
        if isinstance(other, (int, float)):
            return scale(self, float(other))
        return NotImplemented

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return f"<Schedule {self.name}>"


def product(*schedules: Schedule) -> Schedule:
    """The pointwise product: ``warmup(...) * cosine(...)``. This is how a warmup must combine
    with a decay (it multiplies, never overwrites: post-mortem #4)."""
    if not schedules:
        raise ValueError("product() needs at least one schedule")
    fs = [s._f for s in schedules]
    if len(fs) == 2:  # warmup x decay, the common case: no loop on the per-step path
        fa, fb = fs

        def f(t, xp):
            return fa(t, xp) * fb(t, xp)
    else:
        def f(t, xp):
            out = fs[0](t, xp)
            for g in fs[1:]:
                out = out * g(t, xp)
            return out

    totals = [s.total_steps for s in schedules if s.total_steps is not None]
    phases = sorted((p for s in schedules for p in s.phases), key=lambda p: p.start)
    return Schedule(f, " * ".join(s.name for s in schedules), phases, max(totals) if totals else None)


def scale(s: Schedule, factor: float) -> Schedule:
    """``factor * s``."""
    if not math.isfinite(factor) or factor < 0:
        raise ValueError(f"The 'factor' parameter of scale must be a finite number >= 0. Got {factor!r} instead.")
    f = s._f
    return Schedule(lambda t, xp: factor * f(t, xp), f"{factor:g} * {s.name}", s.phases, s.total_steps)


def join(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """optax's ``join_schedules``: run ``schedules[i]`` from ``boundaries[i-1]`` to
    ``boundaries[i]``, each on its own clock (it sees ``step - boundary``)."""
    if len(schedules) != len(boundaries) + 1:
        raise ValueError(f"join() needs one boundary fewer than schedules: got {len(schedules)} schedules and "
                         f"{len(boundaries)} boundaries")
    b = [float(x) for x in boundaries]
    if any(y <= x for x, y in zip(b, b[1:])) or any(x < 0 for x in b):
        raise ValueError(f"The 'boundaries' parameter of join must be increasing and >= 0. Got {list(boundaries)!r} instead.")
    fs = [s._f for s in schedules]
    starts = [0.0] + b

    def f(t, xp):
        if xp is _MATH:
            i = xp.searchsorted(b, t)
            return fs[i](t - starts[i], xp)
        i = np.searchsorted(np.asarray(b), t, side="right")
        out = np.empty_like(t)
        for k, g in enumerate(fs):
            m = i == k
            if m.any():
                out[m] = np.asarray(g(t[m] - starts[k], xp), dtype=np.float64) * np.ones(int(m.sum()))
        return out

    phases = [p.shifted(starts[k]) for k, s in enumerate(schedules) for p in s.phases]
    totals = schedules[-1].total_steps
    return Schedule(f, "join(" + ", ".join(s.name for s in schedules) + ")", phases,
                    None if totals is None else int(starts[-1] + totals))


def repeat(s: Schedule, period: int) -> Schedule:
    """``s(step mod period)``: restart the schedule every ``period`` steps."""
    if period < 1:
        raise ValueError(f"The 'period' parameter of repeat must be >= 1. Got {period!r} instead.")
    f = s._f
    return Schedule(lambda t, xp: f(t - period * xp.floor(t / period), xp), f"repeat({s.name}, {period})", s.phases, None)


def as_steps(length: Steps, total_steps: int | None, name: str) -> float:
    """A length given as steps (int >= 0, or float >= 1) or as a fraction of the run (float in [0, 1))."""
    if isinstance(length, bool) or not isinstance(length, (int, float)) or not math.isfinite(length) or length < 0:
        raise ValueError(f"The {name!r} parameter must be a number of steps or a fraction of the run. Got {length!r} instead.")
    if isinstance(length, float) and length < 1:
        if total_steps is None:
            raise ValueError(f"The {name!r} parameter is a fraction ({length!r}): give total_steps too.")
        return length * total_steps
    return float(length)
