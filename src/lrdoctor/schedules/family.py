"""The schedule family. Each factory validates its arguments once and returns a
:class:`~lrdoctor.schedules.Schedule`: the multiplier of the base (peak) LR at a step.

Decays take ``start_step`` (they stay at 1 before it), so ``warmup(w) * cosine(T, start_step=w)``
is exactly HF's ``get_cosine_schedule_with_warmup``: the warmup *multiplies* the decay.
Lengths are steps (int) or fractions of ``total_steps`` (float < 1).
"""

from __future__ import annotations

import math
from typing import Sequence

from lrdoctor.schedules._core import Phase, Schedule, Steps, as_steps

__all__ = [
    "constant", "warmup", "linear_decay", "cosine", "cosine_restarts", "step_decay", "multistep",
    "exponential", "polynomial", "inverse_sqrt", "one_cycle", "wsd", "three_phase",
]


def _ratio(name: str, v: float, lo: float = 0.0, hi: float = 1.0) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (lo <= v <= hi):
        raise ValueError(f"The {name!r} parameter must be a number in [{lo:g}, {hi:g}]. Got {v!r} instead.")
    return float(v)


def _total(total_steps: int) -> int:
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(f"The 'total_steps' parameter must be an integer >= 1. Got {total_steps!r} instead.")
    return total_steps


def constant(value: float = 1.0) -> Schedule:
    """``m(t) = value``.

    >>> constant(0.5)(1000)
    0.5
    """
    v = _ratio("value", value, 0.0, math.inf)
    return Schedule(lambda t, xp: v, f"constant({v:g})")


def warmup(steps: Steps, start: float = 0.0, shape: str = "linear", total_steps: int | None = None) -> Schedule:
    """Ramp from ``start`` to 1 over ``steps``, then 1. Multiply it with a decay.

    linear: ``m(t) = start + (1 - start) * min(1, t / steps)`` (HF's convention: 0 at step 0;
    hand-written loops often use ``(t + 1) / steps``, one step ahead).
    exponential: ``m(t) = start * (1 / start) ** min(1, t / steps)`` (needs start > 0).

    >>> w = warmup(100); w(0), w(50), w(100), w(5000)
    (0.0, 0.5, 1.0, 1.0)
    >>> round(warmup(100, start=0.01, shape="exponential")(50), 4)
    0.1
    """
    n = as_steps(steps, total_steps, "steps")
    s0 = _ratio("start", start)
    if shape not in ("linear", "exponential"):
        raise ValueError(f"The 'shape' parameter of warmup must be one of ['exponential', 'linear']. Got {shape!r} instead.")
    if shape == "exponential" and s0 <= 0:
        raise ValueError("The 'start' parameter of an exponential warmup must be > 0. Got 0 instead.")
    if n == 0:
        return Schedule(lambda t, xp: 1.0, "warmup(0)")
    if shape == "linear":
        f = lambda t, xp: s0 + (1.0 - s0) * xp.minimum(t / n, 1.0)  # noqa: E731
    else:
        f = lambda t, xp: s0 * xp.power(1.0 / s0, xp.minimum(t / n, 1.0))  # noqa: E731
    return Schedule(f, f"warmup({n:g}, {shape})", [Phase("warmup", 0, n)], total_steps)


def _progress(t, xp, a: float, b: float):
    """Share of [a, b] done at t, clipped to [0, 1] (min/max are builtins on the scalar path)."""
    return xp.minimum(xp.maximum((t - a) / (b - a), 0.0), 1.0) if b > a else xp.where(t >= a, 1.0, 0.0)


def linear_decay(total_steps: int, final: float = 0.0, start_step: Steps = 0) -> Schedule:
    """1 until ``start_step``, then linearly to ``final`` at ``total_steps``, then ``final``.

    ``warmup(w) * linear_decay(T, start_step=w)`` is HF's ``get_linear_schedule_with_warmup``.

    >>> d = linear_decay(100, final=0.1); d(0), d(50), d(100), d(200)
    (1.0, 0.55, 0.1, 0.1)
    """
    T = _total(total_steps)
    fin, a = _ratio("final", final), as_steps(start_step, T, "start_step")
    return Schedule(lambda t, xp: fin + (1.0 - fin) * (1.0 - _progress(t, xp, a, T)), f"linear_decay({T}, final={fin:g})",
                    [Phase("decay", a, T)], T)


def cosine(total_steps: int, min_ratio: float = 0.0, start_step: Steps = 0) -> Schedule:
    """Half a cosine from 1 at ``start_step`` to ``min_ratio`` at ``total_steps`` (then flat).

    ``m(t) = min + (1 - min) * (1 + cos(pi * p)) / 2``, ``p`` the share of [start_step, total] done.
    torch's CosineAnnealingLR (eta_min = min * base) and HF's cosine schedules; HF's keeps going
    (rises again) past ``num_training_steps``, torch's is periodic: ours stays at the floor.

    >>> c = cosine(100, min_ratio=0.1); c(0), round(c(50), 6), c(100), c(150)
    (1.0, 0.55, 0.1, 0.1)
    """
    T = _total(total_steps)
    lo, a = _ratio("min_ratio", min_ratio), as_steps(start_step, T, "start_step")
    return Schedule(lambda t, xp: lo + (1.0 - lo) * 0.5 * (1.0 + xp.cos(xp.pi * _progress(t, xp, a, T))),
                    f"cosine({T}, min_ratio={lo:g})", [Phase("decay", a, T)], T)


def cosine_restarts(period: int, period_mult: int = 1, min_ratio: float = 0.0, decay: float = 1.0) -> Schedule:
    """Cosine from 1 to ``min_ratio`` over ``period`` steps, restarting; periods grow by
    ``period_mult`` and peaks shrink by ``decay`` per restart (SGDR, Loshchilov & Hutter 2017;
    torch's CosineAnnealingWarmRestarts when decay = 1).

    >>> s = cosine_restarts(10); s(0), s(10), round(s(5), 6)
    (1.0, 1.0, 0.5)
    """
    if not isinstance(period, int) or period < 1:
        raise ValueError(f"The 'period' parameter must be an integer >= 1. Got {period!r} instead.")
    if not isinstance(period_mult, int) or period_mult < 1:
        raise ValueError(f"The 'period_mult' parameter must be an integer >= 1. Got {period_mult!r} instead.")
    lo, dk = _ratio("min_ratio", min_ratio), _ratio("decay", decay)
    P, M = float(period), float(period_mult)

    def f(t, xp):
        if M == 1:
            n = xp.floor(t / P)
            cur, length = t - n * P, P
        else:
            n = xp.floor(xp.log(t / P * (M - 1.0) + 1.0) / math.log(M))
            start = P * (xp.power(M, n) - 1.0) / (M - 1.0)
            cur, length = t - start, P * xp.power(M, n)
        peak = xp.power(dk, n)
        return lo + (peak - lo) * 0.5 * (1.0 + xp.cos(xp.pi * cur / length))

    return Schedule(f, f"cosine_restarts({period}, x{period_mult})", [Phase("cycle 1", 0, period)])


def step_decay(step_size: int, gamma: float = 0.1) -> Schedule:
    """``m(t) = gamma ** floor(t / step_size)`` (torch StepLR).

    >>> s = step_decay(30); s(29), s(30), round(s(60), 10)
    (1.0, 0.1, 0.01)
    """
    if not isinstance(step_size, int) or step_size < 1:
        raise ValueError(f"The 'step_size' parameter must be an integer >= 1. Got {step_size!r} instead.")
    g = _ratio("gamma", gamma, 0.0, math.inf)
    return Schedule(lambda t, xp: xp.power(g, xp.floor(t / step_size)), f"step_decay({step_size}, {g:g})")


def multistep(milestones: Sequence[int], gamma: float = 0.1) -> Schedule:
    """``m(t) = gamma ** (number of milestones <= t)`` (torch MultiStepLR).

    >>> s = multistep([10, 20], 0.5); s(9), s(10), s(25)
    (1.0, 0.5, 0.25)
    """
    ms = sorted(float(m) for m in milestones)
    if not ms or any(m < 0 for m in ms):
        raise ValueError(f"The 'milestones' parameter must be a non-empty list of steps >= 0. Got {milestones!r} instead.")
    g = _ratio("gamma", gamma, 0.0, math.inf)

    def f(t, xp):
        if hasattr(t, "shape"):
            import numpy as np

            return np.power(g, np.searchsorted(np.asarray(ms), t, side="right"))
        return g ** xp.searchsorted(ms, t)

    return Schedule(f, f"multistep({[int(m) for m in ms]}, {g:g})", [Phase(f"x{g:g}", m, None) for m in ms])


def exponential(gamma: float) -> Schedule:
    """``m(t) = gamma ** t`` (torch ExponentialLR).

    >>> round(exponential(0.99)(100), 4)
    0.366
    """
    g = _ratio("gamma", gamma, 0.0, math.inf)
    return Schedule(lambda t, xp: xp.power(g, t), f"exponential({g:g})")


def polynomial(total_steps: int, power: float = 1.0, final: float = 0.0, start_step: Steps = 0) -> Schedule:
    """``m(t) = final + (1 - final) * (1 - p) ** power``, ``p`` the share of [start_step, total] done
    (torch PolynomialLR with final = 0; HF's polynomial decay with ``lr_end = final * lr``).

    >>> p = polynomial(100, power=2.0); p(0), p(50), p(100)
    (1.0, 0.25, 0.0)
    """
    T = _total(total_steps)
    pw, fin, a = _ratio("power", power, 0.0, math.inf), _ratio("final", final), as_steps(start_step, T, "start_step")
    return Schedule(lambda t, xp: fin + (1.0 - fin) * xp.power(1.0 - _progress(t, xp, a, T), pw),
                    f"polynomial({T}, power={pw:g})", [Phase("decay", a, T)], T)


def inverse_sqrt(warmup_steps: int, timescale: int | None = None) -> Schedule:
    """1 until ``warmup_steps``, then ``sqrt(timescale / (t + timescale - warmup_steps))``.

    With ``timescale = warmup_steps`` (the default) and multiplied by ``warmup(warmup_steps)``
    this is the Transformer's "Noam" schedule normalised to peak 1 (Vaswani et al. 2017) and
    HF's ``get_inverse_sqrt_schedule``.

    >>> s = warmup(100) * inverse_sqrt(100); s(50), s(100), s(400)
    (0.5, 1.0, 0.5)
    """
    w = int(warmup_steps)
    if w < 0:
        raise ValueError(f"The 'warmup_steps' parameter must be >= 0. Got {warmup_steps!r} instead.")
    ts = float(timescale if timescale is not None else (w or 10_000))
    shift = ts - w
    return Schedule(lambda t, xp: xp.where(t < w, 1.0, xp.sqrt(ts / xp.maximum(t + shift, 1e-12))),
                    f"inverse_sqrt({w})", [Phase("decay", w, None)])


def one_cycle(total_steps: int, pct_start: float = 0.3, div_factor: float = 25.0, final_div_factor: float = 1e4,
              anneal: str = "cos", three_phase: bool = False) -> Schedule:
    """Smith & Topin's 1cycle, as torch's OneCycleLR, relative to ``max_lr`` (the base LR):
    from ``1/div_factor`` up to 1 over ``pct_start`` of the run, then down to
    ``1/(div_factor * final_div_factor)``; ``three_phase`` goes back to ``1/div_factor`` first.
    Phase ends follow torch exactly (``pct_start * total - 1``, ``total - 1``).

    >>> s = one_cycle(100); round(s(0), 6), round(s(29), 6), round(s(99), 8)
    (0.04, 1.0, 4e-06)
    """
    T = _total(total_steps)
    pct = _ratio("pct_start", pct_start)
    if anneal not in ("cos", "linear"):
        raise ValueError(f"The 'anneal' parameter must be one of ['cos', 'linear']. Got {anneal!r} instead.")
    if div_factor <= 0 or final_div_factor <= 0:
        raise ValueError("The 'div_factor' and 'final_div_factor' parameters must be > 0.")
    init, low = 1.0 / div_factor, 1.0 / (div_factor * final_div_factor)
    if three_phase:
        ends = [pct * T - 1, 2 * pct * T - 2, T - 1.0]
        levels = [(init, 1.0), (1.0, init), (init, low)]
    else:
        ends = [pct * T - 1, T - 1.0]
        levels = [(init, 1.0), (1.0, low)]
    starts = [0.0] + ends[:-1]
    cos_ = anneal == "cos"

    def seg(t, xp, k):
        a, b = starts[k], ends[k]
        p = xp.clip((t - a) / (b - a), 0.0, 1.0) if b > a else 1.0
        s, e = levels[k]
        return e + (s - e) / 2.0 * (xp.cos(xp.pi * p) + 1.0) if cos_ else (e - s) * p + s

    def f(t, xp):
        if hasattr(t, "shape"):
            import numpy as np

            out = seg(t, xp, len(ends) - 1)
            for k in range(len(ends) - 2, -1, -1):
                out = np.where(t <= ends[k], seg(t, xp, k), out)
            return out
        for k, e in enumerate(ends):
            if t <= e or k == len(ends) - 1:
                return seg(t, xp, k)

    names = ["up", "down", "anneal"] if three_phase else ["up", "anneal"]
    return Schedule(f, f"one_cycle({T}, pct_start={pct:g})", [Phase(n, a, e) for n, a, e in zip(names, starts, ends)], T)


def wsd(total_steps: int, warmup: Steps = 0.0, decay: Steps = 0.2, final: float = 0.0, decay_shape: str = "linear",
        warmup_shape: str = "linear") -> Schedule:
    """Warmup-stable-decay (MiniCPM, Hu et al. 2024): warm up over ``warmup``, hold 1, decay over
    the last ``decay`` steps to ``final``. Shapes as HF's ``get_wsd_schedule``: warmup linear /
    cosine / 1-sqrt from ``final`` to 1, decay linear / cosine / 1-sqrt from 1 to ``final``.

    >>> s = wsd(100, warmup=10, decay=20, final=0.0); s(5), s(50), s(90), s(100)
    (0.5, 1.0, 0.5, 0.0)
    """
    T = _total(total_steps)
    w, d, fin = as_steps(warmup, T, "warmup"), as_steps(decay, T, "decay"), _ratio("final", final)
    if w + d > T:
        raise ValueError(f"warmup ({w:g}) + decay ({d:g}) steps exceed total_steps ({T}).")
    shapes = ("linear", "cosine", "1-sqrt")
    for name, v in (("decay_shape", decay_shape), ("warmup_shape", warmup_shape)):
        if v not in shapes:
            raise ValueError(f"The {name!r} parameter must be one of {list(shapes)}. Got {v!r} instead.")
    d0 = T - d

    def up(p, xp):
        if warmup_shape == "linear":
            return p
        if warmup_shape == "cosine":
            return 0.5 * (1.0 - xp.cos(xp.pi * p))
        return 1.0 - xp.sqrt(1.0 - p)

    def down(p, xp):
        if decay_shape == "linear":
            return 1.0 - p
        if decay_shape == "cosine":
            return 0.5 * (1.0 + xp.cos(xp.pi * p))
        return 1.0 - xp.sqrt(p)

    def f(t, xp):
        wu = fin + (1.0 - fin) * up(_progress(t, xp, 0.0, w), xp) if w > 0 else 1.0
        dn = fin + (1.0 - fin) * down(_progress(t, xp, d0, T), xp)
        return xp.where(t < w, wu, xp.where(t < d0, 1.0, dn))

    return Schedule(f, f"wsd({T}, warmup={w:g}, decay={d:g})",
                    [Phase("warmup", 0, w), Phase("stable", w, d0), Phase("decay", d0, T)], T)


def three_phase(total_steps: int, final_ratio: float = 0.01, start: float = 0.01, mid: float = 0.1,
                phase1: float = 0.025, phase2: float = 0.25) -> Schedule:
    """The GRU PPO post-mortem's schedule (#2): ``start`` -> ``mid`` over the first ``phase1`` of
    the run, ``mid`` -> 1 until ``phase2``, then linear decay to ``final_ratio``.

    The post-mortem says both "then linear decay to 0.01x" and "1e-4 -> 1e-5 for base 1e-4"
    (0.1x); ``final_ratio`` is a parameter for that reason, 0.01 by default.

    >>> s = three_phase(1000); s(0), round(s(25), 6), s(250), s(1000)
    (0.01, 0.1, 1.0, 0.01)
    """
    T = _total(total_steps)
    s0, m, fin = _ratio("start", start), _ratio("mid", mid), _ratio("final_ratio", final_ratio)
    p1, p2 = _ratio("phase1", phase1), _ratio("phase2", phase2)
    if not p1 < p2 <= 1:
        raise ValueError(f"phase1 ({p1:g}) must be below phase2 ({p2:g}) <= 1.")
    a, b = p1 * T, p2 * T

    def f(t, xp):
        r1 = s0 + (m - s0) * _progress(t, xp, 0.0, a)
        r2 = m + (1.0 - m) * _progress(t, xp, a, b)
        r3 = fin + (1.0 - fin) * (1.0 - _progress(t, xp, b, T))
        return xp.where(t < a, r1, xp.where(t < b, r2, r3))

    return Schedule(f, f"three_phase({T}, final_ratio={fin:g})",
                    [Phase("0.01x->0.1x" if (s0, m) == (0.01, 0.1) else "ramp 1", 0, a), Phase("ramp 2", a, b),
                     Phase("decay", b, T)], T)
