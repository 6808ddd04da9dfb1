"""Presets: named schedules that are compositions of the family, never new formulas.

Each preset validates its arguments, cuts the run into stretches and joins family members
(:func:`~lrdoctor.schedules.family.linear`, :func:`~lrdoctor.schedules.family.cosine_anneal`,
:func:`~lrdoctor.schedules.family.sqrt_anneal`, :func:`~lrdoctor.schedules.family.constant`)
with :func:`~lrdoctor.schedules.join`, as optax builds ``warmup_cosine_decay_schedule`` from
``linear_schedule`` and ``cosine_decay_schedule``. Its docstring gives the resulting formula;
tests/test_schedule_properties.py checks each against the formula it had before it became a
composition (a regression snapshot and a reference implementation).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from lrdoctor.schedules._core import Phase, Schedule, Steps, as_steps, join
from lrdoctor.schedules.family import _number, _one_of, _total, constant, cosine_anneal, linear, sqrt_anneal

__all__ = ["three_phase", "wsd", "one_cycle", "RAMPS"]

#: A ramp ``(init, end, steps) -> Schedule`` for each shape name that HF's
#: ``get_wsd_schedule`` accepts (``warmup_type`` / ``decay_type``).
RAMPS: dict[str, Callable[[float, float, float], Schedule]] = {
    "linear": linear, "cosine": cosine_anneal, "1-sqrt": sqrt_anneal,
}
#: OneCycleLR's ``anneal_strategy`` names.
_ANNEALS: dict[str, Callable[[float, float, float], Schedule]] = {"cos": cosine_anneal, "linear": linear}


def three_phase(total_steps: int, final_ratio: float = 0.01, start: float = 0.01, mid: float = 0.1,
                phase1: float = 0.025, phase2: float = 0.25) -> Schedule:
    """The GRU PPO post-mortem's schedule (#2): ``start`` -> ``mid`` over the first ``phase1`` of
    the run, ``mid`` -> 1 until ``phase2``, then linear decay to ``final_ratio``.

    With ``a = phase1 * T`` and ``b = phase2 * T``::

        join([linear(start, mid, a), linear(mid, 1, b - a), linear(1, final_ratio, T - b)], [a, b])

        m(t) = start + (mid - start) * t / a              for t < a
             = mid + (1 - mid) * (t - a) / (b - a)        for a <= t < b
             = 1 + (final_ratio - 1) * min(1, (t - b) / (T - b))   after

    The post-mortem says both "then linear decay to 0.01x" and "1e-4 -> 1e-5 for base 1e-4"
    (0.1x); ``final_ratio`` is a parameter for that reason, 0.01 by default.

    >>> s = three_phase(1000); s(0), round(s(25), 6), s(250), s(1000)
    (0.01, 0.1, 1.0, 0.01)
    """
    T = _total("three_phase", total_steps)
    fn = "three_phase"
    s0, m = _number(fn, "start", start, 0.0, 1.0), _number(fn, "mid", mid, 0.0, 1.0)
    fin = _number(fn, "final_ratio", final_ratio, 0.0, 1.0)
    p1, p2 = _number(fn, "phase1", phase1, 0.0, 1.0), _number(fn, "phase2", phase2, 0.0, 1.0)
    if not p1 < p2:
        raise ValueError(f"The 'phase1' parameter of three_phase must be below phase2 ({p2:g}). Got {p1!r} instead.")
    a, b = p1 * T, p2 * T
    s = join([linear(s0, m, a), linear(m, 1.0, b - a), linear(1.0, fin, T - b)], [a, b])
    first = "0.01x->0.1x" if (s0, m) == (0.01, 0.1) else "ramp 1"
    return s.relabel(f"three_phase({T:g}, final_ratio={fin:g})",
                     [Phase(first, 0, a), Phase("ramp 2", a, b), Phase("decay", b, T)], T)


def wsd(total_steps: int, warmup: Steps = 0.0, decay: Steps = 0.2, final: float = 0.0, decay_shape: str = "linear",
        warmup_shape: str = "linear") -> Schedule:
    """Warmup-stable-decay (MiniCPM, Hu et al. 2024): warm up over ``warmup``, hold 1, decay over
    the last ``decay`` steps to ``final``. Shapes as HF's ``get_wsd_schedule`` (linear, cosine,
    1-sqrt: :data:`RAMPS`), the warmup from ``final`` to 1, the decay from 1 to ``final``::

        join([RAMPS[warmup_shape](final, 1, w), constant(1), RAMPS[decay_shape](1, final, d)], [w, T - d])

    e.g. with linear shapes ``m(t) = final + (1 - final) * t / w`` for ``t < w``, 1 until
    ``T - d``, then ``1 + (final - 1) * min(1, (t - T + d) / d)``.

    >>> s = wsd(100, warmup=10, decay=20, final=0.0); s(5), s(50), s(90), s(100)
    (0.5, 1.0, 0.5, 0.0)
    """
    T = _total("wsd", total_steps)
    w, d, fin = as_steps(warmup, T, "warmup"), as_steps(decay, T, "decay"), _number("wsd", "final", final, 0.0, 1.0)
    if w + d > T:
        raise ValueError(f"The 'warmup' and 'decay' parameters of wsd must fit in the run: warmup ({w:g}) + "
                         f"decay ({d:g}) steps exceed total_steps ({T:g}).")
    up, down = RAMPS[_one_of("wsd", "warmup_shape", warmup_shape, list(RAMPS))], \
        RAMPS[_one_of("wsd", "decay_shape", decay_shape, list(RAMPS))]
    d0 = T - d
    # the decay lasts T - d0 (not d): equal in exact arithmetic, and it makes p(T) exactly 1
    s = join([up(fin, 1.0, w), constant(1.0), down(1.0, fin, T - d0)], [w, d0])
    return s.relabel(f"wsd({T:g}, warmup={w:g}, decay={d:g})",
                     [Phase("warmup", 0, w), Phase("stable", w, d0), Phase("decay", d0, T)], T)


def one_cycle(total_steps: int, pct_start: float = 0.3, div_factor: float = 25.0, final_div_factor: float = 1e4,
              anneal: str = "cos", three_phase: bool = False) -> Schedule:
    """Smith & Topin's 1cycle, as torch's OneCycleLR, relative to ``max_lr`` (the base LR):
    from ``1/div_factor`` up to 1 over ``pct_start`` of the run, then down to
    ``1/(div_factor * final_div_factor)``; ``three_phase`` goes back to ``1/div_factor`` first.
    Phase ends follow torch exactly (``e1 = pct_start * T - 1``, ``T - 1``; three phases:
    ``e1``, ``e2 = 2 * pct_start * T - 2``, ``T - 1``), inclusive as torch's: the joins' boundaries
    sit just after each end (``e1+`` below). With ``A`` = :func:`cosine_anneal`
    (``anneal="cos"``) or :func:`linear`, ``init = 1/div_factor``, ``low = init/final_div_factor``::

        join([A(init, 1, e1), A(1, low, T - 1 - e1)], [e1+])
        join([A(init, 1, e1), A(1, init, e2 - e1), A(init, low, T - 1 - e2)], [e1+, e2+])   # three_phase

    >>> s = one_cycle(100); round(s(0), 6), round(s(29), 6), round(s(99), 8)
    (0.04, 1.0, 4e-06)
    """
    T = _total("one_cycle", total_steps)
    pct = _number("one_cycle", "pct_start", pct_start, 0.0, 1.0)
    A = _ANNEALS[_one_of("one_cycle", "anneal", anneal, list(_ANNEALS))]
    for name, v in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"The {name!r} parameter of one_cycle must be a finite number > 0. Got {v!r} instead.")
    init, low = 1.0 / div_factor, 1.0 / (div_factor * final_div_factor)
    if three_phase:
        if pct * T < 1:  # the phase ends would decrease (torch divides by zero or goes backwards here)
            raise ValueError(f"The 'pct_start' parameter of one_cycle with three_phase=True must give the warmup at "
                             f"least one step (pct_start * total_steps >= 1). Got {pct_start!r} instead.")
        ends = [pct * T - 1, 2 * pct * T - 2, T - 1.0]
        levels = [(init, 1.0), (1.0, init), (init, low)]
        names = ["up", "down", "anneal"]
    else:
        ends = [pct * T - 1, T - 1.0]
        levels = [(init, 1.0), (1.0, low)]
        names = ["up", "anneal"]
    starts = [0.0] + ends[:-1]
    # torch's phase ends are inclusive (step e belongs to the phase that ends at e): each next
    # part starts just after e, so a zero-length phase never shows and the value at e is the
    # ending phase's own end value, as in torch
    after = [math.nextafter(e, math.inf) for e in ends[:-1]]
    parts = [A(a, b, max(e - s, 0.0)) for (a, b), s, e in zip(levels, [0.0] + after, ends)]
    return join(parts, after).relabel(f"one_cycle({T:g}, pct_start={pct:g})",
                                          [Phase(n, a, e) for n, a, e in zip(names, starts, ends)], T)
