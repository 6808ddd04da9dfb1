"""Robust, vectorised statistics shared by detectors.

Long logs are first reduced to at most :data:`MAX_POINTS` bins (per-bin median, min and
max, in O(n) with numpy), so a 10M-step log costs a few passes over its arrays and every
later rule runs on a few thousand points. Nothing here compares single steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from lrdoctor.run import Run, Series

__all__ = ["MAX_POINTS", "Curve", "curve", "rolling_median", "robust_sigma", "run_curve", "runs_of", "tail_start", "value_at", "trend_p_down", "trend_p_up", "diff_sigma", "diff2_sigma", "evaluation_set_size", "LATTICE_MAX_N", "turning_point_z"]

#: Bins a long series is reduced to before the rules run. 4000 keeps any stretch longer than
#: 0.025% of the run visible while making every rule O(bins).
MAX_POINTS = 4000


@dataclass(frozen=True)
class Curve:
    """A finite series reduced to bins: ``step`` (last step of the bin), ``mid`` (median),
    ``lo``/``hi`` (min/max), ``first`` (first step of the bin)."""

    step: np.ndarray
    first: np.ndarray
    mid: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def __len__(self) -> int:
        return int(self.mid.size)


def curve(s: Series, max_points: int = MAX_POINTS) -> Curve:
    f = s.finite()
    x, t = f.values, f.steps.astype(np.float64)
    n = x.size
    if n <= max_points:
        return Curve(t, t, x, x, x)
    k = -(-n // max_points)
    m = n // k
    cut = m * k
    xb = x[:cut].reshape(m, k)
    tb = t[:cut].reshape(m, k)
    mid, lo, hi = np.median(xb, axis=1), xb.min(axis=1), xb.max(axis=1)
    step, first = tb[:, -1], tb[:, 0]
    if cut < n:  # the remainder forms a last, shorter bin
        r = x[cut:]
        mid, lo, hi = np.r_[mid, np.median(r)], np.r_[lo, r.min()], np.r_[hi, r.max()]
        step, first = np.r_[step, t[-1]], np.r_[first, t[cut]]
    return Curve(step, first, mid, lo, hi)


def rolling_median(x: np.ndarray, window: int) -> np.ndarray:
    """Centred rolling median; the edges use the nearest full window."""
    n = x.size
    w = max(1, min(window | 1, n if n % 2 else n - 1))
    if w <= 1 or n < 3:
        return x.copy()
    med = np.median(sliding_window_view(x, w), axis=1)
    h = w // 2
    return np.r_[np.full(h, med[0]), med, np.full(n - med.size - h, med[-1])]


def fill_dips(x: np.ndarray, window: int) -> np.ndarray:
    """Morphological closing of ``x``: a centred rolling max, then a rolling min, over ``window``
    points (edges padded with the end values). Valleys narrower than the window are filled to the
    level on either side; rises, falls and plateaus are kept. What survives is a level the curve
    held for at least a window, not a transient dip into a cluster of low values."""
    n = x.size
    w = max(1, min(window | 1, n if n % 2 else n - 1))
    if w <= 1 or n < 3:
        return x.copy()
    h = w // 2
    up = sliding_window_view(np.pad(x, h, mode="edge"), w).max(axis=1)
    return sliding_window_view(np.pad(up, h, mode="edge"), w).min(axis=1)


#: Above this many points :func:`robust_sigma` uses an evenly strided sample of this size:
#: the MAD of 10^6 points is already within ~0.1% of the full one, at a tenth of the cost on
#: a 10M-step log.
MAD_SAMPLE = 1_000_000


def robust_sigma(x: np.ndarray) -> float:
    """1.4826 x MAD: the standard deviation of Gaussian data, unmoved by outliers."""
    if x.size == 0:
        return 0.0
    if x.size > MAD_SAMPLE:
        x = x[:: -(-x.size // MAD_SAMPLE)]
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def diff_sigma(x: np.ndarray) -> float:
    """Noise sigma from successive differences: the robust sigma of ``diff(x)`` over sqrt(2)
    (each difference carries two points' noise). A slow trend barely moves it, and unlike
    residuals around a short rolling median it is not pulled to 0 where the median is the
    point itself."""
    return robust_sigma(np.diff(np.asarray(x, dtype=float))) / float(np.sqrt(2))


def diff2_sigma(x: np.ndarray) -> float:
    """Noise sigma from second differences: the robust sigma of ``diff(x, 2)`` over sqrt(6)
    (each carries 1 + 4 + 1 points' noise variance). A linear trend cancels and a smooth
    bend adds a near-constant that the MAD's median removes, so on a short curve that turns
    smoothly (an eval loss that falls, flattens and rises) it measures the scatter alone,
    where first differences would count the turn itself as noise."""
    return robust_sigma(np.diff(np.asarray(x, dtype=float), 2)) / float(np.sqrt(6))


def run_curve(run: Run, name: str) -> Curve | None:
    """The binned curve of metric ``name`` of ``run`` (None if never logged), computed once per run."""
    key = ("curve", name)
    if key not in run.derived:
        s = run.series(name)
        run.derived[key] = None if s is None or s.finite().values.size == 0 else curve(s)
    return run.derived[key]


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` index pairs of consecutive True stretches."""
    if mask.size == 0:
        return []
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def tail_start(mask: np.ndarray) -> int:
    """Index where the stretch of True that reaches the end of ``mask`` starts (``mask.size``
    when the last value is False): the first of the last reports that all hold a condition."""
    if mask.size == 0 or not mask[-1]:
        return int(mask.size)
    off = np.flatnonzero(~mask)
    return int(off[-1]) + 1 if off.size else 0


def value_at(s: Series | None, step: float) -> float | None:
    """The last logged finite value of ``s`` at or before ``step`` (None if none)."""
    if s is None:
        return None
    f = s.finite()
    i = int(np.searchsorted(f.steps, step, side="right")) - 1
    return float(f.values[i]) if i >= 0 else None


#: Rows of the Mann-Kendall pair matrix computed at a time (:func:`trend_p_down`): 256 x 20,000
#: points is 40 MB, where the whole matrix of a 20,000-bin curve would be 3.2 GB.
_MK_BLOCK = 256


#: Up to this many points, :func:`trend_p_down` takes the p-value from the exact null distribution
#: of the Mann-Kendall S (ties included) rather than its normal approximation. Kendall (1975, Rank
#: Correlation Methods, appendix table 1) tabulates the exact distribution to n = 10, and the usual
#: advice (Hipel & McLeod 1994, Time Series Modelling of Water Resources, ch. 23) is the normal
#: approximation only beyond it: below, the approximation is conservative by up to a factor of 3
#: (6 values in increasing order: exact 1/720 = 0.0014, approximated 0.0043), so a rule that asks
#: the 1% the docstrings reason with (``1/6!``) would not get it on the short logs it is made for.
#: The exact count takes a tenth of a millisecond at n = 10.
MK_EXACT_MAX = 10


def _inversion_counts(sizes: list[int]) -> list[int]:
    """How many of the distinct orderings of a multiset (``sizes``: how many copies of each value)
    have k inversions (pairs strictly out of order), k = 0, 1, ...: the coefficients of the
    q-multinomial [n; c1, ..., cm]_q = [n]_q! / ([c1]_q! ... [cm]_q!) (MacMahon 1916; Stanley,
    Enumerative Combinatorics I, 1.7). With no ties they are the Mahonian numbers. Under no trend
    every ordering is equally likely, so they are the exact null distribution of the Mann-Kendall
    S = (untied pairs) - 2k, ties included."""
    poly = [1]
    for j in range(2, sum(sizes) + 1):  # times [j]_q = 1 + q + ... + q^(j-1)
        poly = [sum(poly[max(0, k - j + 1):k + 1]) for k in range(len(poly) + j - 1)]
    for c in sizes:
        for j in range(2, c + 1):  # divided by [j]_q: times (1 - q), then over (1 - q^j)
            diff = [(poly[k] if k < len(poly) else 0) - (poly[k - 1] if k else 0)
                    for k in range(len(poly) + 1)]
            out = [0] * (len(diff) - j)
            for k in range(len(out)):
                out[k] = diff[k] + (out[k - j] if k >= j else 0)
            poly = out
    return poly


def _mk_exact_p_down(sizes: list[int], s: float) -> float:
    """P(S <= s) under no trend for values tied in groups of ``sizes``: the orderings with at least
    (untied pairs - s) / 2 inversions, over all orderings."""
    import math

    counts = _inversion_counts(sizes)
    n = sum(sizes)
    untied = n * (n - 1) // 2 - sum(c * (c - 1) // 2 for c in sizes)
    need = math.ceil((untied - s) / 2 - 1e-9)
    return float(sum(counts[max(need, 0):])) / float(sum(counts))


def trend_p_down(x: np.ndarray) -> float:
    """One-sided p-value that ``x`` has a downward monotone trend: the Mann-Kendall test
    (Mann 1945; Kendall 1975) with the tie-corrected variance and a continuity correction,
    as in ``pymannkendall.original_test``, or, on up to ``MK_EXACT_MAX`` values, the exact
    p-value from the null distribution of S over the orderings of those values (ties kept as
    tied). Rank-based, so it is scale-free and does not care about outliers; made for the few
    points of an epoch log (n >= 4)."""
    import math

    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 4:
        return 1.0
    s = 0.0
    for a in range(0, n, _MK_BLOCK):  # rows in blocks: memory ~ _MK_BLOCK x n, not n x n
        blk = np.sign(x[None, a:] - x[a:a + _MK_BLOCK, None])
        s += float(np.triu(blk, k=1).sum())  # pairs i < j only
    _, counts = np.unique(x, return_counts=True)
    if n <= MK_EXACT_MAX:
        return _mk_exact_p_down([int(c) for c in counts], s)
    var = (n * (n - 1) * (2 * n + 5) - float((counts * (counts - 1) * (2 * counts + 5)).sum())) / 18.0
    if var <= 0:
        return 1.0
    z = (s + 1) / math.sqrt(var) if s < 0 else (s - 1) / math.sqrt(var) if s > 0 else 0.0
    return 0.5 * math.erfc(-z / math.sqrt(2))  # P(Z <= z)


def trend_p_up(x: np.ndarray) -> float:
    """One-sided p-value that ``x`` has an upward monotone trend (:func:`trend_p_down` of ``-x``)."""
    return trend_p_down(-np.asarray(x, dtype=float))


def turning_point_z(x: np.ndarray) -> float:
    """z-score of the number of turning points of ``x`` (interior values above both neighbours
    or below both) against what an independent, identically distributed series of the same
    length gives: the turning-point test (Kendall and Stuart, *The Advanced Theory of
    Statistics* vol. 3; Brockwell and Davis, *Introduction to Time Series and Forecasting*
    1.6), mean 2(n-2)/3 and variance (16n-29)/90. A trend gives fewer turns (z < 0); a series
    that goes back and forth from one value to the next gives more (z > 0) than noise can.
    Rank-free of scale; ties (a zero difference) count as no turn. 0.0 below 3 finite values."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 3:
        return 0.0
    d = np.sign(np.diff(x))
    turns = float(np.sum(d[1:] * d[:-1] < 0))
    return (turns - 2.0 * (n - 2) / 3.0) / float(np.sqrt((16.0 * n - 29.0) / 90.0))


#: The lattice a share of right answers lives on is identified only while a value off it is
#: unlikely to land within the printing's rounding of it by chance: n up to this share of
#: 1/(2 x rounding) (n <= 1,000 at 4 decimals, where a value off the lattice lands within
#: rounding of a point of it with probability 2 x 5e-5 x n <= 0.1, so 4 distinct values all land
#: by chance with odds below 1e-4).
LATTICE_CHANCE = 0.1
#: ...and on at least this many distinct values (see ``LATTICE_CHANCE``).
LATTICE_VALUES = 4
#: The largest evaluation set searched for, whatever the printing: a million examples (above
#: ImageNet's 50,000 and the largest public held-out sets). Finer printing allows a larger n by
#: ``LATTICE_CHANCE`` (1e9 at 10 decimals), but a search that large is gigabytes of memory, and it
#: could change nothing: the binomial noise of a million answers, 3 x sqrt(0.25 / 1e6) = 0.0015,
#: is already below a share's 3% materiality.
LATTICE_MAX_N = 1_000_000
#: Lattice candidates tested at once (rows x distinct values), so the search's memory stays at a
#: few tens of megabytes however many values a log has.
_LATTICE_CHUNK = 1 << 22


def shown_decimals(values: np.ndarray) -> int | None:
    """The most decimals any finite value of ``values`` shows in its shortest round-trip
    representation (``repr``: 0.125 shows 3, 0.075 shows 3, 1.0 shows 0); None when there is none
    or one needs an exponent to print. A reader records a column's printed decimals only where
    the float forgets them (trailing zeros: "0.4600"); a column printed without them shows at
    least this many, so an evaluation set's size read at this precision
    (:func:`evaluation_set_size`, whose tolerance only widens) is at most the true one."""
    shown = []
    for x in np.asarray(values, dtype=float):
        if not np.isfinite(x):
            continue
        text = repr(float(x))
        if "e" in text or "E" in text:
            return None
        shown.append(len(text) - text.index(".") - 1 if text.split(".")[-1] != "0" else 0)
    return max(shown) if shown else None


def evaluation_set_size(shares: np.ndarray, decimals: int | None, min_values: int = LATTICE_VALUES) -> int | None:
    """The size n of the evaluation set behind an accuracy: the smallest n for which every
    report (a share in [0, 1]) is k/n to within the rounding of its ``decimals`` printed digits
    (0.7321, 0.7857, 0.7679 are 82/112, 88/112, 86/112 on PROTEINS' 112 test graphs). None when
    the values are too few (under ``min_values`` distinct ones) or too finely printed to tell
    (``LATTICE_CHANCE``)."""
    v = np.unique(np.asarray(shares, dtype=float))
    v = v[np.isfinite(v) & (v >= 0) & (v <= 1)]
    if v.size < min_values or decimals is None or decimals < 2:
        return None
    tol = 0.5 * 10.0 ** -decimals + 1e-12
    top = min(int(LATTICE_CHANCE / (2 * tol)), LATTICE_MAX_N)
    rows = max(1, _LATTICE_CHUNK // v.size)
    for lo in range(2, top + 1, rows):
        n = np.arange(lo, min(lo + rows, top + 1), dtype=float)[:, None]
        off = np.abs(v[None, :] * n - np.round(v[None, :] * n))
        fits = np.flatnonzero((off <= tol * n).all(axis=1))
        if fits.size:
            return int(n[fits[0], 0])
    return None
