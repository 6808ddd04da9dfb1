"""LR suggestion rules of the range test: pure functions of ``(lrs, losses)``.

Every rule takes the *raw* per-step training losses and the LRs actually applied, and does
its own smoothing exactly as its source does, so that the rules are compared on the same
run (bench/finder_accuracy.py). Sources, reimplemented (fastai does not install beside
torch 2.13 here; Lightning's rule lives in a private class):

* torch-lr-finder 0.2.2, ``torch_lr_finder/lr_finder.py``: ``range_test`` smooths with
  ``loss = 0.05 * loss + 0.95 * previous`` (no bias correction); ``plot(suggest_lr=True)``
  drops 10 points at the start and 5 at the end and takes the argmin of
  ``np.gradient(losses)`` (per index, i.e. per log-LR step).
* fastai, ``fastai/callback/schedule.py`` at commit 0a049e8a90b86d70860f68072698245a1ee787ca:
  the recorder keeps ``smooth_loss`` (debiased EMA, beta 0.98, ``fastai/learner.py``
  ``AvgSmoothLoss``); ``lr_find`` keeps ``[num_it//10 : -5]`` up to the first NaN, then
  ``valley`` (the longest decreasing run, at ``start + int(len/3) + int(len/6)``,
  about half-way along it), ``slide`` (interval slide, ``lr_diff=15``,
  ``thresh=0.005``), ``minimum`` (argmin / 10) and ``steep`` (argmin of the slope in log-LR).
* Lightning 2.6.6, ``src/lightning/pytorch/tuner/lr_finder.py`` (Lightning-AI/pytorch-lightning
  at commit 001278272e8e91c85a74dd17449e4eafc489e25f): ``_LRCallback`` logs the EMA (beta
  0.98) debiased with its off-by-one power (:func:`ema_debiased`); ``_LRFinder.suggestion(
  skip_begin=10, skip_end=1)`` takes the argmin of ``torch.gradient(losses, spacing=[lrs])``
  (slope per unit LR, not per log-LR).
* ``min/10``: the LR at the smoothed minimum, divided by 10 (Smith 2017 / fastai's
  ``minimum``, here on the same debiased EMA).
* ``lrdoctor`` (ours): :func:`lrdoctor_rule`, documented there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Suggestion", "RULES", "OURS", "ema_debiased", "ema_torch_lr_finder", "steepest_torch_lr_finder",
           "fastai_valley", "fastai_slide", "fastai_minimum", "fastai_steep", "lightning_steepest", "min_over_10",
           "lrdoctor_rule", "suggest_all", "FASTAI_BETA", "TLRF_SMOOTH_F", "OURS_WINDOW_DECADES",
           "OURS_CONFIDENCE_Z", "OURS_ROBUST_ITERATIONS", "OURS_NOISE_K", "OURS_MARGIN_DECADES", "ValleyFloor"]


@dataclass(frozen=True)
class Suggestion:
    """One rule's answer: the LR (None when the curve does not allow one) and the point of
    the curve it marks on the plot (``marker_lr``, ``marker_loss``), with a note why."""

    rule: str
    lr: float | None
    marker_lr: float | None = None
    marker_loss: float | None = None
    note: str = ""


#: fastai's and Lightning's loss smoothing (debiased EMA), ``AvgSmoothLoss(beta=0.98)`` and
#: ``_LRCallback(beta=0.98)``.
FASTAI_BETA: float = 0.98
#: torch-lr-finder's ``range_test(smooth_f=0.05)`` default.
TLRF_SMOOTH_F: float = 0.05


def _clean(lrs, losses) -> tuple[np.ndarray, np.ndarray]:
    lrs = np.asarray(lrs, dtype=float).reshape(-1)
    losses = np.asarray(losses, dtype=float).reshape(-1)
    if lrs.shape != losses.shape:
        raise ValueError(f"lrs and losses must have the same length. Got {lrs.size} and {losses.size} instead.")
    return lrs, losses


def ema_debiased(losses, beta: float = FASTAI_BETA, first_power: int = 1) -> np.ndarray:
    """``avg = beta*avg + (1-beta)*x; out_i = avg / (1 - beta**(i + first_power))``.

    fastai's ``AvgSmoothLoss`` debiases with ``first_power=1`` (exact). Lightning's
    ``_LRCallback`` divides by ``1 - beta**(global_step + 1)`` with ``global_step`` already 1
    at the first logged loss, i.e. ``first_power=2`` (its first value is about half the loss)."""
    out = np.empty(len(losses))
    avg = 0.0
    for i, x in enumerate(np.asarray(losses, dtype=float)):
        avg = beta * avg + (1 - beta) * x
        out[i] = avg / (1 - beta ** (i + first_power))
    return out


def ema_torch_lr_finder(losses, smooth_f: float = TLRF_SMOOTH_F) -> np.ndarray:
    """torch-lr-finder's smoothing: the first loss raw, then ``f*x + (1-f)*previous``."""
    out = np.empty(len(losses))
    for i, x in enumerate(np.asarray(losses, dtype=float)):
        out[i] = x if i == 0 else smooth_f * x + (1 - smooth_f) * out[i - 1]
    return out


def _fastai_window(lrs, losses, num_it: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """fastai ``lr_find``: smoothed losses, ``[num_it//10 : -5]``, cut at the first NaN.
    ``num_it`` is the ramp length asked for (fastai's, not the steps run before an early
    stop); it defaults to the length of the curve."""
    sm = ema_debiased(losses)
    n = len(sm)
    lo, hi = (n if num_it is None else num_it) // 10, n - 5
    l, s = lrs[lo:hi], sm[lo:hi]
    bad = np.flatnonzero(~np.isfinite(s))
    if bad.size:
        l, s = l[: bad[0]], s[: bad[0]]
    return l, s


def steepest_torch_lr_finder(lrs, losses) -> Suggestion:
    """torch-lr-finder 0.2.2 ``plot(suggest_lr=True)``: steepest descent per index."""
    lrs, losses = _clean(lrs, losses)
    sm = ema_torch_lr_finder(losses)
    l, s = lrs[10:-5], sm[10:-5]
    if l.size < 2:
        return Suggestion("steepest", None, note="fewer than 17 points")
    i = int(np.gradient(s).argmin())
    return Suggestion("steepest", float(l[i]), float(l[i]), float(s[i]))


def fastai_valley(lrs, losses, num_it: int | None = None) -> Suggestion:
    """fastai ``valley``: the longest strictly decreasing subsequence; a point 1/2 of the
    way along it (``start + int(len/3) + int(len/6)``)."""
    lrs, losses = _clean(lrs, losses)
    l, s = _fastai_window(lrs, losses, num_it)
    n = len(s)
    if n < 2:
        return Suggestion("fastai_valley", None, note="too few points")
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if s[i] < s[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return Suggestion("fastai_valley", float(l[idx]), float(l[idx]), float(s[idx]))


def fastai_slide(lrs, losses, num_it: int | None = None, lr_diff: int = 15, thresh: float = 0.005,
                 adjust_value: float = 1.0) -> Suggestion:
    """fastai ``slide``: walk left from the end until the slope difference over ``lr_diff``
    points is within ``thresh``."""
    lrs, losses = _clean(lrs, losses)
    l, s = _fastai_window(lrs, losses, num_it)
    if len(s) <= lr_diff:
        return Suggestion("fastai_slide", None, note=f"needs more than {lr_diff} points")
    g = np.gradient(s)
    r_idx = -1
    l_idx = r_idx - lr_diff
    local_min_lr = l[l_idx]
    while l_idx >= -len(s) and abs(g[r_idx] - g[l_idx]) > thresh:
        local_min_lr = l[l_idx]
        r_idx -= 1
        l_idx -= 1
    lr = float(local_min_lr) * adjust_value
    return Suggestion("fastai_slide", lr, lr, float(np.interp(np.log10(lr), np.log10(l), s)))


def fastai_minimum(lrs, losses, num_it: int | None = None) -> Suggestion:
    """fastai ``minimum``: the LR at the smoothed minimum, over 10 (fastai's window)."""
    lrs, losses = _clean(lrs, losses)
    l, s = _fastai_window(lrs, losses, num_it)
    if len(s) == 0:
        return Suggestion("fastai_minimum", None, note="too few points")
    i = int(np.argmin(s))
    return Suggestion("fastai_minimum", float(l[i]) / 10, float(l[i]), float(s[i]))


def fastai_steep(lrs, losses, num_it: int | None = None) -> Suggestion:
    """fastai ``steep``: the steepest slope per log-LR."""
    lrs, losses = _clean(lrs, losses)
    l, s = _fastai_window(lrs, losses, num_it)
    if len(s) < 2:
        return Suggestion("fastai_steep", None, note="too few points")
    grads = (s[1:] - s[:-1]) / (np.log(l[1:]) - np.log(l[:-1]))
    i = int(np.argmin(grads))
    return Suggestion("fastai_steep", float(l[i]), float(l[i]), float(s[i]))


def lightning_steepest(lrs, losses, skip_begin: int = 10, skip_end: int = 1) -> Suggestion:
    """Lightning ``_LRFinder.suggestion``: steepest slope per unit LR (linear spacing)."""
    lrs, losses = _clean(lrs, losses)
    sm = ema_debiased(losses, first_power=2)
    l, s = lrs[skip_begin:-skip_end], sm[skip_begin:-skip_end]
    ok = np.isfinite(s)
    l, s = l[ok], s[ok]
    if len(s) < 2:
        return Suggestion("lightning", None, note="fewer than 2 finite points")
    i = int(np.argmin(np.gradient(s, l)))
    return Suggestion("lightning", float(l[i]), float(l[i]), float(s[i]))


def min_over_10(lrs, losses) -> Suggestion:
    """The LR at the minimum of the debiased-EMA loss over the whole run, divided by 10."""
    lrs, losses = _clean(lrs, losses)
    s = ema_debiased(losses)
    ok = np.isfinite(s)
    if not ok.any():
        return Suggestion("min/10", None, note="no finite loss")
    i = int(np.nanargmin(np.where(ok, s, np.nan)))
    return Suggestion("min/10", float(lrs[i]) / 10, float(lrs[i]), float(s[i]))


# ---- ours ------------------------------------------------------------------------------

#: Half-width, in decades of LR, of the centred local-linear smoother of our rule. 0.6
#: decade = about 7 points either side on a 100-step ramp over 8 decades (tricube weights,
#: so the effective width is smaller): it averages batch noise, and a centred smoother has
#: no EMA lag to shift the curve right. Chosen among 0.1-0.6 on the first three design
#: tasks of bench/finder_accuracy.py (narrower windows let a noise dip become "the minimum").
OURS_WINDOW_DECADES: float = 0.6
#: z of the pointwise confidence bound ``fit +- z * se`` on the smoothed log-loss: the
#: valley floor is every LR whose lower bound reaches the best upper bound (not
#: significantly worse than the best point). 2 is the conventional two-sided ~95% normal
#: quantile; of 1, 1.64 and 2 it was the best on the design tasks.
OURS_CONFIDENCE_Z: float = 2.0
#: The first version's margin (in noise sds, without the smoother's standard error); kept
#: for callers of that version, no longer used by :func:`lrdoctor_rule`.
OURS_NOISE_K: float = 1.0
#: How far below the valley floor's right end the suggestion sits, in decades (chosen among
#: 0.5-1.1 on the first three design tasks, unchanged since): the grid optimum of a
#: few-hundred-step run sits about a decade below the largest LR at which the range test's
#: loss is still at its floor.
OURS_MARGIN_DECADES: float = 0.9


#: Robustness iterations of the smoother (Cleveland 1979, "Robust locally weighted regression
#: and smoothing scatterplots", JASA 74: bisquare weights on residuals over 6 MADs). 0: tried
#: with his recommended 2 on the design tasks, it read the steep rise at divergence as
#: outliers and flattened it, moving the floor's end (in-band 78% -> 67% on the first three
#: design tasks); a stray batch loss is handled by the confidence bound instead.
OURS_ROBUST_ITERATIONS: int = 0


def _local_linear(x: np.ndarray, y: np.ndarray, half_width: float,
                  robust_iterations: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Centred, tricube-weighted local-linear regression of ``y`` on ``x`` (LOWESS), with
    ``robust_iterations`` bisquare reweightings (Cleveland 1979).

    Returns the fit and, per point, the norm of its equivalent kernel ``||l(x0)||`` (the fit
    is ``l(x0) . y``), so that ``sigma * ||l(x0)||`` is its standard error under independent
    noise of sd ``sigma``. At the ends of the curve the kernel is one-sided and its norm is
    about twice the interior's: the fit there is the least certain (Fan & Gijbels 1996,
    "Local polynomial modelling and its applications", sec. 3.2)."""
    robust = np.ones_like(y)
    for it in range(robust_iterations + 1):
        fit = np.empty_like(y)
        norm = np.empty_like(y)
        for i, x0 in enumerate(x):
            d = np.abs(x - x0) / half_width
            w = np.where(d < 1, (1 - d ** 3) ** 3, 0.0) * robust
            if (w > 0).sum() < 3:
                fit[i], norm[i] = y[i], 1.0
                continue
            sw = w.sum()
            mx = (w * x).sum() / sw
            vx = (w * (x - mx) ** 2).sum()
            kernel = w / sw + ((x0 - mx) * w * (x - mx) / vx if vx > 0 else 0.0)
            fit[i] = kernel @ y
            norm[i] = float(np.sqrt((kernel ** 2).sum()))
        if it < robust_iterations:
            resid = y - fit
            scale = 6.0 * float(np.median(np.abs(resid)))
            if scale <= 0:
                break
            u = resid / scale
            robust = np.where(np.abs(u) < 1, (1 - u ** 2) ** 2, 0.0)
    return fit, norm


@dataclass(frozen=True)
class ValleyFloor:
    """What our rule read off the curve (log10 LR, log loss)."""

    edge_lr: float
    edge_loss: float
    #: robust sd of the per-step log-loss noise (1.4826 x MAD of the residuals)
    sigma: float
    #: index of the last point kept before the divergence cut
    end: int


def _valley_floor(lrs: np.ndarray, losses: np.ndarray, window_decades: float, z: float) -> ValleyFloor | None:
    """The right end of the valley floor, by pointwise confidence bounds; None if too short."""
    ok = np.isfinite(losses) & (lrs > 0)
    if not ok.all():
        first_bad = int(np.flatnonzero(~ok)[0])
        lrs, losses = lrs[:first_bad], losses[:first_bad]
    if lrs.size < 8:
        return None
    x = np.log10(lrs)
    y = np.log(np.maximum(losses, 1e-12))
    sm, norm = _local_linear(x, y, window_decades, OURS_ROBUST_ITERATIONS)
    resid = y - sm
    sigma = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
    se = sigma * norm
    lower, upper = sm - z * se, sm + z * se
    # the best point is sought where the smoother's window is full on the left: in the first
    # window the fit is one-sided, extrapolates the local slope, and is the least reliable
    # (a range test's first LRs are too small to train anyway)
    full = np.flatnonzero(x >= x[0] + window_decades)
    first_full = int(full[0]) if full.size else 0
    i_best = first_full + int(np.argmin(upper[first_full:]))
    # divergence: the curve is significantly above where it started. The start is the median
    # raw log-loss over the first window (robust to a stray first point, unlike the fit's end
    # point), with its own upper bound: the sd of a sample median is ~1.2533 sigma / sqrt(n).
    first = y[x <= x[0] + window_decades]
    start_upper = float(np.median(first)) + z * 1.2533 * sigma / np.sqrt(first.size)
    above = np.flatnonzero(lower[i_best:] > start_upper)
    end = i_best + int(above[0]) if above.size else len(sm)
    j = int(np.flatnonzero(lower[:end] <= upper[i_best])[-1])
    return ValleyFloor(float(10 ** x[j]), float(np.exp(sm[j])), sigma, end - 1)


def lrdoctor_rule(lrs, losses, *, window_decades: float = OURS_WINDOW_DECADES, z: float = OURS_CONFIDENCE_Z,
                  margin_decades: float = OURS_MARGIN_DECADES) -> Suggestion:
    """Our rule: the largest LR whose loss is not significantly above the best, less a margin.

    1. Smooth ``log(loss)`` against ``log10(lr)`` with a centred local-linear (LOWESS-type)
       smoother (:data:`OURS_WINDOW_DECADES`): unlike an EMA it has no lag, so the curve's
       features stay at the LR that caused them; the log makes everything scale-free.
    2. Estimate the per-step noise ``sigma`` as 1.4826 x the MAD of raw minus smoothed, and
       each smoothed point's standard error ``se = sigma * ||l(x)||`` from the smoother's
       equivalent kernel ``l``; bounds ``fit -+ z*se`` (:data:`OURS_CONFIDENCE_Z`).
    3. The best point is the one with the lowest *upper* bound, past the first window (where
       the fit is one-sided): a dip that is only noise cannot win. Cut the run
       where the lower bound climbs above the starting loss after it (divergence).
    4. The valley floor is every LR whose lower bound reaches the best upper bound: not
       significantly worse than the best. ``lr_edge`` is its largest LR: the largest LR
       that still reaches the best loss within the noise.
    5. Suggest ``lr_edge / 10**margin_decades`` (:data:`OURS_MARGIN_DECADES`).

    The first version (until this revision) took the plain argmin of the fit and a floor of
    ``min + 1 sigma``: on a flat, noisy curve (a range test too short to train the model)
    the fit's first point could be the minimum and the floor end there, 7 decades low.
    The constants were chosen on the design tasks of bench/finder_accuracy.py and are
    reported there separately from the held-out tasks.
    """
    lrs, losses = _clean(lrs, losses)
    found = _valley_floor(lrs, losses, window_decades, z)
    if found is None:
        return Suggestion("lrdoctor", None, note="fewer than 8 finite points before divergence")
    lr = found.edge_lr / 10 ** margin_decades
    return Suggestion("lrdoctor", lr, found.edge_lr, found.edge_loss,
                      note=f"valley floor ends at {found.edge_lr:.3g} (noise sd {found.sigma:.3g} in log-loss); "
                           f"{margin_decades:g} decade below")


#: rule name -> function. ``OURS`` is the one ``RangeTestResult.suggestion`` reports.
RULES: dict[str, Callable[..., Suggestion]] = {
    "lrdoctor": lrdoctor_rule,
    "steepest": steepest_torch_lr_finder,
    "fastai_valley": fastai_valley,
    "fastai_slide": fastai_slide,
    "fastai_minimum": fastai_minimum,
    "fastai_steep": fastai_steep,
    "lightning": lightning_steepest,
    "min/10": min_over_10,
}
OURS: str = "lrdoctor"


#: the rules whose window depends on the ramp length asked for (fastai's ``num_it``)
_TAKES_NUM_IT = {"fastai_valley", "fastai_slide", "fastai_minimum", "fastai_steep"}


def suggest_all(lrs, losses, num_steps: int | None = None) -> dict[str, Suggestion]:
    """Every rule of :data:`RULES` on the same curve; ``num_steps`` is the ramp length asked
    for (it differs from ``len(lrs)`` after an early stop)."""
    return {name: fn(lrs, losses, num_it=num_steps) if name in _TAKES_NUM_IT else fn(lrs, losses)
            for name, fn in RULES.items()}
