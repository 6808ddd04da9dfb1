"""The terminal report: a summary line, curves as sparklines, one block per finding with its fix table."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from lrdoctor.fmt import fmt
from lrdoctor.report.sparkline import sparkline

if TYPE_CHECKING:
    from lrdoctor.report.model import Report

__all__ = ["render_text", "print_report"]

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _val(x: Any) -> str:
    if x is None:
        return "unknown"
    if isinstance(x, float):
        return fmt(x)
    return str(x)


#: Curves shown under the summary, in order, at most six: the supervised basics, then RL.
_CURVES = (("loss", False), ("eval_loss", False), ("lr", False), ("grad_norm", True), ("ep_return", False),
           ("approx_kl", True), ("entropy", False), ("q_range", False), ("q_max", False))


def _curves(report: "Report") -> Table:
    t = Table.grid(padding=(0, 1))
    shown = 0
    for name, log in _CURVES:
        s = report.run.series(name)
        if s is None or len(s) < 2 or shown >= 6:
            continue
        shown += 1
        fin = s.finite().values
        rng = f"{fmt(float(fin[0]))} → {fmt(float(fin[-1]))}" if fin.size else "no finite values"
        t.add_row(Text(name, style="bold"), Text(sparkline(s.values, 50, log=log)), Text(rng, style="dim"))
    return t


def _finding_block(f) -> Panel:
    parts: list[Any] = [Text(f.summary)]
    if f.cause:
        parts.append(Text.assemble(("cause: ", "bold"), f.cause))
    ev = ", ".join(f"{k}={_val(v)}" for k, v in list(f.evidence.items())[:8] if not isinstance(v, (list, dict)))
    if ev:
        parts.append(Text.assemble(("evidence: ", "bold"), (ev, "dim")))
    if f.fixes:
        t = Table("parameter", "old", "new", "reason", show_edge=False, header_style="bold", expand=True)
        for x in f.fixes:
            new = _val(x.new) if x.new is not None or not x.note else x.note
            t.add_row(*(Text(v) for v in (x.parameter, _val(x.old), new, x.reason)))  # no markup: "[a, b]" is text
        parts.append(t)
    if any(w.trouble for w in f.watch):
        t = Table("watch", "signs of recovery", "signs of continued trouble", show_edge=False, header_style="bold", expand=True)
        for w in f.watch:
            t.add_row(Text(w.metric), Text(w.healthy), Text(w.trouble or w.meaning))
        parts.append(t)
    elif f.watch:
        parts.append(Text.assemble(("watch: ", "bold"), "; ".join(f"{w.metric}: {w.healthy}" for w in f.watch)))
    if f.recheck:
        parts.append(Text.assemble(("look again: ", "bold"), f.recheck))
    where = f"steps {fmt(f.start_step)}–{fmt(f.end_step)}" if f.start_step is not None else ""
    title = Text.assemble((f"{f.severity.value.upper()} ", _STYLE[f.severity.value]), (f.kind, "bold"), f"  {where}")
    return Panel(Group(*parts), title=title, title_align="left", border_style=_STYLE[f.severity.value])


def _renderables(report: "Report") -> list[Any]:
    run = report.run
    n = {s: sum(f.severity.value == s for f in report.findings) for s in ("error", "warning", "info")}
    head = Text.assemble(
        ("lrdoctor ", "bold"), f"{run.meta.source}  ", (f"[{run.meta.format}, {run.n_steps} {run.meta.step_unit}s]", "dim"),
    )
    verdict = (report.coverage.verdict_of_silence() if not report.findings else
               f"{n['error']} error(s), {n['warning']} warning(s), {n['info']} info")
    style = "bold red" if n["error"] else ("yellow" if n["warning"] else "green")
    out: list[Any] = [head, Text(verdict, style=style), _curves(report)]
    out.append(_roles_line(report))
    for w in run.meta.warnings:
        out.append(Text(f"note: {w}", style="dim"))
    out.extend(_finding_block(f) for f in report.findings)
    out.extend(_coverage_lines(report))
    return out


def _roles_line(report: "Report") -> Text:
    """Which column played which role (the user can override any with --metric ROLE=COLUMN)."""
    run = report.run
    parts = [f"step={run.meta.step_column or 'row order'}"]
    parts += [f"{role}={col}" for role, col in run.meta.roles.items()]
    return Text.assemble(("roles: ", "bold"), (", ".join(parts), "dim"))


def _coverage_lines(report: "Report") -> list[Text]:
    """What was checked, what was checked in part (the rules that could not run, and what they need),
    and what could not be checked and why, grouped by reason."""
    cov = report.coverage
    if not cov.ran and not cov.skipped:
        return []
    out = [Text.assemble(("checked: ", "bold"), (", ".join(cov.fully_checked) or "nothing", "dim"))]
    for label, reasons in (("checked in part: ", cov.partial), ("not checked: ", cov.skipped)):
        for why, kinds in cov.by_reason(reasons).items():
            out.append(Text.assemble((label, "bold"), f"{', '.join(kinds)}", (f" ({why})", "dim")))
    return out


def print_report(report: "Report", console: Console | None = None) -> None:
    console = console or Console()
    for r in _renderables(report):
        console.print(r)


def render_text(report: "Report", width: int = 110) -> str:
    buf = io.StringIO()
    print_report(report, Console(file=buf, width=width, force_terminal=False, color_system=None))
    return buf.getvalue()
