"""Text rendering of a sweep: the table, the recommendation, the seed sensitivity."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from lrdoctor.experiments.sweep import SweepResult

__all__ = ["render_sweep", "format_table", "fmt"]

#: failure examples shown per LR in the table (all are in ``to_dataframe``)
MAX_FAILURE_EXAMPLES = 3


def fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    if isinstance(x, float) and math.isinf(x):
        return "diverged" if x > 0 else "-inf"
    return f"{x:.4g}"


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def render_sweep(result: "SweepResult") -> str:
    rows = result.rows()
    loss_steps = list(rows[0].loss_at) if rows else []
    header = ["lr", "success"] + [f"loss@{s}" for s in loss_steps] + \
             ["final", "min (step)", f"steps to {fmt(result.threshold)}", "findings (seeds)", "failures: seed first->last"]
    body = []
    for r in rows:
        fails = ", ".join(f"{f.seed}: errored" if f.finding == "errored" else
                          f"{f.seed}: {fmt(f.first)}->{fmt(f.last)}" + (f" {f.finding}" if f.finding else "")
                          for f in r.failures[:MAX_FAILURE_EXAMPLES])
        if len(r.failures) > MAX_FAILURE_EXAMPLES:
            fails += f" (+{len(r.failures) - MAX_FAILURE_EXAMPLES})"
        if r.errors:
            fails += f" [{len(r.errors)} errored: {r.errors[0]}]"
        body.append([f"{r.lr:g}", f"{r.n_success}/{r.n} ({r.success_rate:.0%})"]
                    + [fmt(r.loss_at[s]) for s in loss_steps]
                    + [fmt(r.final), f"{fmt(r.min_loss)} ({r.min_step if r.min_step is not None else '-'})",
                       fmt(r.steps_to_threshold) if math.isfinite(r.steps_to_threshold) else "never",
                       ", ".join(f"{k} {v}" for k, v in r.findings.items()) or "-", fails or "-"])
    p = result.plan
    out = [f"sweep {p.task}: {len(p.lrs)} LRs x {len(p.seeds)} seeds, {p.steps} steps "
           f"(losses: median over seeds; a diverged seed counts as +inf)", format_table(header, body)]
    rec = result.recommendation
    if rec is None:
        out.append("\nno recommended lr: no LR succeeded on any seed (try smaller LRs, more steps, or check the task)")
    else:
        out.append(f"\nrecommended lr: {rec.lr:g} -- {rec.reason}")
        s = result.seed_sensitivity(rec.lr)
        if s is not None:
            lo, hi = s.success_interval
            out.append(f"seed sensitivity at {s.lr:g}: success {s.success_rate:.0%} of {s.n} (95% CI {lo:.0%}-{hi:.0%}); "
                       f"final loss median {fmt(s.final_median)}, range {fmt(s.final_min)}-{fmt(s.final_max)}, "
                       f"cv {s.final_cv:.2f}; best seed {s.best_seed}, worst seed {s.worst_seed}")
    out.append(f"cells and Monitor logs: {result.out_dir}")
    return "\n".join(out)
