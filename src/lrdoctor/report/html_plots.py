"""The curves of the HTML report: which metrics to plot, which findings shade which plot,
and each plot drawn as an inline SVG string by matplotlib.

Kept apart from :mod:`lrdoctor.report.html` (the page) so the decisions (what to plot, where
a finding's span goes, when the y-axis is logarithmic, how a long series is thinned) are
plain functions a test can call, and the drawing is one function. matplotlib is imported
inside :func:`svg_plot` only: ``import lrdoctor`` and the text report never pay for it.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lrdoctor.names import ROLES

if TYPE_CHECKING:
    from lrdoctor.finding import Finding
    from lrdoctor.run import Run, Series

__all__ = [
    "Plot", "Span", "plan_plots", "spans_for", "use_log_scale", "thin", "svg_plot",
    "FIRST_ROLES", "KIND_METRICS", "MAX_PLOTS", "MAX_PLOT_POINTS", "MAX_NONFINITE_MARKERS", "LOG_SCALE_MIN_RATIO", "MARKER_MAX_POINTS",
]

#: Roles plotted first, in this order (the curves a practitioner looks at first: the
#: supervised basics, then the task metric); the other roles follow in :data:`ROLES` order.
FIRST_ROLES: tuple[str, ...] = ("loss", "eval_loss", "lr", "grad_norm", "task_metric")

#: Roles never plotted: they are axes or counters, not curves of the run's health.
AXIS_ROLES: frozenset[str] = frozenset({"step", "epoch", "cycle"})

#: Most plots in one report (roles first, then other logged columns). Source: a 1-2 screen
#: page; wide logs (YOLO's 15 columns, RL's 30) list the rest by name instead of drawing them,
#: which keeps a report of any log under ~1 MB.
MAX_PLOTS = 16

#: Most points drawn per curve. Longer series are thinned to the minimum and maximum of
#: MAX_PLOT_POINTS/2 equal bins, so a one-step spike survives (a plain stride would drop
#: it). Source: 1000 bins is more than the ~700 px a plot is wide, and keeps a 100k-step
#: log's page small and its rendering well under a second per curve (bench/report_speed.py).
MAX_PLOT_POINTS = 2000

#: A y-axis is logarithmic when every finite value is positive and the largest is at least
#: this many times the smallest: "the values span decades". Source: two decades is where a
#: linear axis flattens the late part of a loss curve (a 2.3 -> 0.02 loss is a flat line
#: after the first tenth of the plot on a linear axis).
LOG_SCALE_MIN_RATIO = 100.0

#: Most non-finite markers drawn per curve; more are subsampled evenly (first and last kept)
#: and the legend gives the true count. Source: a run NaN for its last 20% of 100k steps
#: would otherwise draw 20,000 markers (2 MB of SVG, ~1 s); 200 crosses already read as a band.
MAX_NONFINITE_MARKERS = 200

#: Series with at most this many points are drawn with a marker at each point, so a run of
#: 1-3 points (epoch logs, pasted excerpts) shows its points rather than an empty line.
MARKER_MAX_POINTS = 60

#: Finding kind -> the metrics (roles) whose plots its step span is shaded on, used when the
#: finding's own evidence (``metric``, ``column``, ``accuracy_metric``, ``also_nonfinite``)
#: names no drawn column. Source: the metric each kind's detector reads (detect/<kind>.py);
#: a kind missing here (added later) is shaded on the loss.
KIND_METRICS: dict[str, tuple[str, ...]] = {
    "divergence": ("loss",), "oscillation": ("loss",), "slow_progress": ("loss",), "plateau": ("loss",),
    "nonfinite": ("loss",), "loss_spike": ("loss",), "grad_explosion": ("grad_norm",),
    "grad_vanishing": ("grad_norm",), "clipping_saturated": ("grad_norm", "grad_clip_fraction", "clip_coef"),
    "grad_norm_unstable": ("grad_norm",), "update_ratio_high": ("update_ratio",),
    "overfitting": ("loss", "eval_loss"), "initial_loss_anomaly": ("loss",), "label_smoothing_floor": ("loss",),
    "schedule_overridden": ("lr", "scheduled_lr"), "warmup_missing": ("lr", "loss"),
    "lr_beyond_stability": ("lr", "loss"), "q_divergence": ("q_max", "q_range", "q_values", "q_min"),
    "kl_exceeded": ("approx_kl",), "entropy_collapse": ("entropy",),
    "value_collapse": ("explained_variance", "value_loss"), "objective_mismatch": ("loss", "task_metric", "ep_return"),
    "performance_reversal": ("ep_return", "eval_return", "task_metric", "eval_accuracy", "success_rate"),
    "reward_instability": ("ep_return", "eval_return"), "cycle_degradation": ("task_metric", "eval_loss", "loss"),
}

#: Evidence keys whose value names the column a finding measured.
_EVIDENCE_METRIC_KEYS = ("metric", "column", "accuracy_metric", "also_nonfinite")


@dataclass(frozen=True)
class Span:
    """One finding's step span on one plot (``start == end``: a single step, drawn as a line)."""

    finding: int
    kind: str
    severity: str
    start: float
    end: float


@dataclass
class Plot:
    """One curve to draw: its name in the run, the role it plays (None: another logged
    column), the raw column it came from, and the finding spans shaded on it."""

    name: str
    role: str | None
    column: str
    spans: list[Span] = field(default_factory=list)


def plan_plots(run: "Run") -> tuple[list[Plot], list[str]]:
    """The plots of ``run`` in report order, and the names of the curves left out
    (beyond :data:`MAX_PLOTS`). Every role first (:data:`FIRST_ROLES`, then :data:`ROLES`
    order), then the other logged columns in log order; a column already shown under its
    role, the step column and the axis roles are not drawn twice."""
    roles = dict(run.meta.roles)
    order = [r for r in FIRST_ROLES if r in roles] + [r for r in ROLES if r in roles and r not in FIRST_ROLES]
    plots: list[Plot] = []
    shown: set[str] = set()
    for role in order:
        if role in AXIS_ROLES:
            shown.add(roles[role])
            continue
        name = role if run.series(role) is not None else roles[role]
        if run.series(name) is None:
            continue
        plots.append(Plot(name, role, roles[role]))
        shown.update((role, roles[role]))
    hidden = {run.meta.step_column, "step", *run.meta.added, *AXIS_ROLES}
    for name in run.names:
        if name in shown or name in hidden or run.series(name) is None:
            continue
        plots.append(Plot(name, None, name))
        shown.add(name)
    return plots[:MAX_PLOTS], [p.column for p in plots[MAX_PLOTS:]]


def _evidence_columns(finding: "Finding", run: "Run") -> list[str]:
    """The columns ``finding``'s evidence names (``metric``, ``column``, ...), raw names
    mapped back to the role they play."""
    out: list[str] = []
    by_column = {col: role for role, col in run.meta.roles.items()}
    for key in _EVIDENCE_METRIC_KEYS:
        v = finding.evidence.get(key)
        for name in (v if isinstance(v, (list, tuple)) else [v]):
            if isinstance(name, str):
                out.append(by_column.get(name, name))
    return out


def spans_for(findings: list["Finding"], plots: list[Plot], run: "Run") -> dict[int, list[str]]:
    """Attach each finding's step span to the plots it concerns (``plot.spans``): the drawn
    columns its evidence names, else its kind's :data:`KIND_METRICS`; returns finding
    index -> the columns it was shaded on. A finding whose metrics are not plotted
    is shaded on the first plot (the loss when there is one) rather than nowhere; a finding
    without a step span is shaded nowhere."""
    where: dict[int, list[str]] = {}
    by_key = {}
    for p in plots:
        for key in (p.name, p.column, p.role):
            if key is not None:
                by_key.setdefault(key, p)
    for i, f in enumerate(findings):
        if f.start_step is None or not np.isfinite(float(f.start_step)):
            where[i] = []
            continue
        start = float(f.start_step)
        end = float(f.end_step) if f.end_step is not None and np.isfinite(float(f.end_step)) else start
        targets: list[Plot] = []
        # the columns the evidence names when they are drawn (a NaN finding on val_loss is
        # shaded on val_loss only), else the curves the kind reads
        for keys in (_evidence_columns(f, run), KIND_METRICS.get(f.kind, ("loss",))):
            for key in keys:
                p = by_key.get(key)
                if p is not None and p not in targets:
                    targets.append(p)
            if targets:
                break
        if not targets and plots:
            targets = [plots[0]]
        for p in targets:
            p.spans.append(Span(i, f.kind, f.severity.value, min(start, end), max(start, end)))
        where[i] = [p.column for p in targets]
    return where


def use_log_scale(values: np.ndarray) -> bool:
    """True when the finite values are all positive and span :data:`LOG_SCALE_MIN_RATIO`.

    >>> use_log_scale(np.array([2.3, 0.5, 0.01])), use_log_scale(np.array([2.3, 1.0, np.nan]))
    (True, False)
    """
    fin = values[np.isfinite(values)]
    return bool(fin.size >= 2 and fin.min() > 0 and fin.max() >= LOG_SCALE_MIN_RATIO * fin.min())


def thin(steps: np.ndarray, values: np.ndarray, max_points: int = MAX_PLOT_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points: each of ``max_points // 2`` equal bins gives its
    minimum and maximum at the bin's middle step, so spikes survive. Finite input only.

    >>> x, y = thin(np.arange(10.0), np.array([1, 1, 1, 9, 1, 1, 1, 1, 1, 1.0]), 4)
    >>> float(y.max()), len(x)
    (9.0, 4)
    """
    n = values.size
    if n <= max_points:
        return steps, values
    bins = max(1, max_points // 2)
    edges = np.linspace(0, n, bins + 1).astype(int)
    lo = np.minimum.reduceat(values, edges[:-1])
    hi = np.maximum.reduceat(values, edges[:-1])
    mid = steps[(edges[:-1] + edges[1:] - 1) // 2]
    return np.repeat(mid, 2), np.column_stack([lo, hi]).ravel()


#: span colours per severity (the page's badge colours)
SEVERITY_COLORS = {"error": "#c62828", "warning": "#ef8f00", "info": "#1565c0"}

_SVG_START = re.compile(r"<svg\b")
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def svg_plot(series: "Series", plot: Plot, index: int, step_unit: str, log: bool = False) -> str:
    """One curve as an inline ``<svg>`` element; see :func:`_svg_plot`. Warnings from the
    drawing (overflow at 1e300, a missing glyph of a CJK column name) are the log's, not
    the user's code's: they are silenced here."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return _svg_plot(series, plot, index, step_unit, log)


def _svg_plot(series: "Series", plot: Plot, index: int, step_unit: str, log: bool) -> str:
    """One curve as an inline ``<svg>`` element (no XML prolog, no metadata, nothing
    external): finite points as a line (markers for short series), non-finite points as
    red crosses along the top edge, a log y-axis when ``log`` (see :func:`use_log_scale`), each span shaded in its severity's colour with the SVG
    group id ``span-<finding>-<plot>``. Text stays text (``svg.fonttype: none``) and
    matplotlib escapes it; ``index`` salts the clip-path ids so several plots in one page
    never share an id."""
    from matplotlib.figure import Figure  # heavy: only when a page is drawn; no pyplot, no global backend

    import matplotlib

    steps = np.asarray(series.steps, dtype=float)
    values = np.asarray(series.values, dtype=float)
    ok = np.isfinite(values)
    fig = Figure(figsize=(7.2, 2.4), dpi=100)
    ax = fig.add_subplot()
    xs, ys = thin(steps[ok], values[ok])
    marker = "o" if ok.sum() <= MARKER_MAX_POINTS else None
    ax.plot(xs, ys, color="#263238", linewidth=1.2, marker=marker, markersize=3.5, gid=f"curve-{index}")
    if log and ok.any():
        from matplotlib.ticker import FuncFormatter

        ax.set_yscale("log")
        # plain "1e-05" labels: the default 10^x labels go through mathtext, ~10 ms each
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: ""))
    bad = steps[~ok]
    n_bad = int(bad.size)
    if n_bad > MAX_NONFINITE_MARKERS:
        bad = bad[np.linspace(0, n_bad - 1, MAX_NONFINITE_MARKERS).astype(int)]
    if n_bad:
        ax.plot(bad, np.full(bad.size, 0.97), linestyle="none", marker="x", color="#c62828", markersize=6,
                transform=ax.get_xaxis_transform(), gid=f"nonfinite-{index}", label=f"non-finite ({n_bad})", clip_on=False)
    for sp in plot.spans:
        color = SEVERITY_COLORS.get(sp.severity, "#555555")
        gid = f"span-{sp.finding}-{index}"
        if sp.end > sp.start:
            ax.axvspan(sp.start, sp.end, color=color, alpha=0.18, linewidth=0, gid=gid)
        else:
            ax.axvline(sp.start, color=color, alpha=0.7, linewidth=2, gid=gid)
    if steps.size:
        lo, hi = float(steps.min()), float(steps.max())
        for sp in plot.spans:
            lo, hi = min(lo, sp.start), max(hi, sp.end)
        pad = (hi - lo) * 0.02 or 0.5
        ax.set_xlim(lo - pad, hi + pad)
    if not ok.any():
        ax.set_yticks([])
    if n_bad:
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.set_xlabel(step_unit, fontsize=9, parse_math=False)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.25, linewidth=0.5)
    # fixed margins (room for 8-character tick labels) instead of tight_layout, which draws the figure twice
    fig.subplots_adjust(left=0.1, right=0.985, top=0.95, bottom=0.2)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"lrdoctor-{index}"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    m = _SVG_START.search(svg)
    return _METADATA.sub("", svg[m.start():] if m else svg, count=1)
