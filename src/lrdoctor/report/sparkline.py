"""Unicode sparklines of a series, resampled to a fixed width (bin medians)."""

from __future__ import annotations

import numpy as np

__all__ = ["sparkline"]

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: np.ndarray, width: int = 60, log: bool = False) -> str:
    """``'▇▅▃▂▁▁'``-style line; non-finite bins are shown as ``×``.

    >>> sparkline(np.array([3.0, 2.0, 1.0]), width=3)
    '█▄▁'
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return ""
    edges = np.linspace(0, v.size, min(width, v.size) + 1).astype(int)
    bins = []
    for a, b in zip(edges[:-1], edges[1:]):
        chunk = v[a:b]
        fin = chunk[np.isfinite(chunk)]
        bins.append(np.median(fin) if fin.size == chunk.size and fin.size else np.nan)
    x = np.array(bins)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(x > 0, np.log10(x), np.nan)
    fin = x[np.isfinite(x)]
    if fin.size == 0:
        return "×" * x.size
    lo, hi = fin.min(), fin.max()
    span = hi - lo if hi > lo else 1.0
    return "".join("×" if not np.isfinite(y) else _BARS[int(round((y - lo) / span * (len(_BARS) - 1)))] for y in x)
