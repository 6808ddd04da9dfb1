"""Plots read the cell results only: loss curves per LR with seed bands, success-rate bars."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from lrdoctor.experiments.sweep import SweepResult

__all__ = ["plot_sweep"]


def plot_sweep(result: "SweepResult", path: str | Path | None = None) -> Any:
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rows = result.rows()
    fig, (ax_loss, ax_ok) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]})
    steps = result.plan.steps + 1  # losses at steps 0 .. steps
    for i, r in enumerate(rows):
        cells = [c for c in result.cells if c.lr == r.lr and c.losses]
        if not cells:
            continue
        m = np.full((len(cells), steps), np.nan)
        for j, c in enumerate(cells):
            x = np.asarray(c.losses[:steps], dtype=float)
            m[j, : x.size] = np.where(np.isfinite(x), x, np.nan)
        x = np.arange(steps)
        color = f"C{i % 10}"
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                ax_loss.plot(x, np.nanmedian(m, axis=0), color=color, label=f"lr {r.lr:g}")
                ax_loss.fill_between(x, np.nanmin(m, axis=0), np.nanmax(m, axis=0), color=color, alpha=0.2)
    positive = all(x > 0 for c in result.cells for x in c.losses if np.isfinite(x))
    ax_loss.set_yscale("log" if positive else "symlog")  # a loss may be negative (NLL of densities, RL)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss (median, band: min-max over seeds)")
    ax_loss.legend(fontsize="small")
    labels = [f"{r.lr:g}" for r in rows]
    ax_ok.bar(labels, [r.success_rate for r in rows], color=[f"C{i % 10}" for i in range(len(rows))])
    ax_ok.set_ylim(0, 1)
    ax_ok.set_xlabel("lr")
    ax_ok.set_ylabel("success rate over seeds")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig
