"""Plot of a range test: loss against LR (log scale), each rule's suggestion marked.
Reads only the :class:`~lrdoctor.experiments.range_test.RangeTestResult` (matplotlib needed:
``pip install lrdoctor[plot]``)."""

from __future__ import annotations

__all__ = ["plot_range_test"]


def plot_range_test(result, path=None, ax=None):
    """Draw ``result`` on ``ax`` (a new figure if None); save to ``path`` if given. Returns the axes."""
    import matplotlib

    if ax is None and path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    ramps = result.ramp_losses
    if ramps is not None and len(ramps) > 1:  # each ramp faintly, their mean as the raw curve
        for k, curve in enumerate(ramps):
            ax.plot(result.lrs, curve, color="0.88", lw=0.6, label=f"{len(ramps)} ramps (raw)" if k == 0 else None)
    ax.plot(result.lrs, result.losses, color="0.75", lw=0.8,
            label="loss (raw)" if ramps is None or len(ramps) == 1 else "mean of the ramps (raw)")
    ax.plot(result.lrs, result.smoothed, color="k", lw=1.5, label="loss (debiased EMA 0.98)")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    markers = "o^vsDPX*"
    for (name, s), m in zip(result.suggestions.items(), markers):
        if s.lr is None:
            continue
        style = dict(lw=2.0, color="C3") if name == "lrdoctor" else dict(lw=0.8, ls="--", color="0.4")
        ax.axvline(s.lr, **style)
        at = s.marker_lr if s.marker_lr is not None else s.lr
        ax.plot([at], [s.marker_loss if s.marker_loss is not None else result.smoothed.min()], m, label=f"{name}: {s.lr:.2g}")
    finite = result.smoothed[result.smoothed == result.smoothed]
    if finite.size:
        lo, hi = float(finite.min()), float(finite[0])
        ax.set_ylim(lo - 0.1 * abs(hi - lo), hi + 0.6 * abs(hi - lo) + 1e-12)
    ax.legend(fontsize=7, loc="upper left")
    if path is not None:
        ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    return ax
