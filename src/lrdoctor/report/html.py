"""The HTML report: one self-contained page a practitioner opens after a run went wrong.

In order: the headline (worst severity, counts, the log's source and format), one card per
finding (severity, kind, steps, summary, cause, evidence table, fix table, watch list), the
coverage (checked / checked in part / not checked and why), the roles (which column played which role), and
the curves as inline SVG with each finding's step span shaded on the curves it concerns.

The page loads nothing: no script, no network, no external file (CSS inline, plots inline
SVG). Logs are untrusted input, so every string that comes from the input (column names,
config values, the file name, reader warnings, evidence) goes through :func:`html.escape`,
and the page has no event handler attribute anywhere. ``lrdoctor diagnose LOG --format html``
prints it; ``Report.to_html()`` and :func:`render` return it.
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.report.html_plots import Plot, plan_plots, spans_for, svg_plot, use_log_scale

if TYPE_CHECKING:
    from lrdoctor.finding import Finding
    from lrdoctor.report.model import Report

__all__ = ["render", "MAX_LIST_ITEMS", "MAX_CONFIG_CHARS"]

#: Most items of a list-valued evidence entry shown in a cell (``spike_steps`` may hold
#: hundreds); the rest are counted. Source: a table cell stays one or two lines.
MAX_LIST_ITEMS = 12

#: Most characters of the run's config shown (a config may embed a whole dataset spec).
#: Source: a page that stays readable; the JSON report carries the full config.
MAX_CONFIG_CHARS = 20_000

_CSS = """
:root { --error: #c62828; --warning: #ef8f00; --info: #1565c0; --ok: #2e7d32; --muted: #5f6b73; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2327;
       margin: 0 auto; max-width: 1100px; padding: 1.2rem; background: #f7f8fa; }
h1 { font-size: 1.5rem; margin: 0 0 .3rem; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; }
h3 { font-size: 1.05rem; margin: 0 0 .4rem; }
.headline { border-left: 8px solid var(--ok); background: #fff; padding: .8rem 1rem; border-radius: 6px; }
.headline.sev-error { border-color: var(--error); } .headline.sev-warning { border-color: var(--warning); }
.headline.sev-info { border-color: var(--info); }
.verdict { font-size: 1.15rem; font-weight: 600; margin: .2rem 0; }
.meta, .note, .muted { color: var(--muted); } .note { margin: .2rem 0; font-size: .92rem; }
.finding { background: #fff; border: 1px solid #dde1e5; border-left: 6px solid var(--info); border-radius: 6px;
           padding: .8rem 1rem; margin: .8rem 0; }
.finding.sev-error { border-left-color: var(--error); } .finding.sev-warning { border-left-color: var(--warning); }
.badge { display: inline-block; color: #fff; border-radius: 4px; padding: 0 .45rem; font-size: .8rem;
         font-weight: 700; letter-spacing: .04em; vertical-align: middle; background: var(--info); }
.badge.sev-error { background: var(--error); } .badge.sev-warning { background: var(--warning); }
.steps { color: var(--muted); font-weight: normal; font-size: .9rem; margin-left: .4rem; }
.kind { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
table { border-collapse: collapse; margin: .4rem 0 .6rem; width: 100%; font-size: .9rem; }
th, td { text-align: left; vertical-align: top; padding: .25rem .5rem; border-bottom: 1px solid #e6e9ec; }
th { background: #f0f2f4; font-weight: 600; }
table.evidence { width: auto; min-width: 40%; } table.evidence td:first-child { font-family: ui-monospace, monospace; }
td.num, td.code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; white-space: nowrap; }
.yes { color: var(--ok); font-weight: 600; } .no { color: var(--muted); }
ul.coverage { padding-left: 1.2rem; } ul.coverage li { margin: .2rem 0; }
figure.plot { background: #fff; border: 1px solid #dde1e5; border-radius: 6px; margin: .6rem 0; padding: .4rem .6rem; }
figure.plot figcaption { font-weight: 600; } figure.plot figcaption .muted { font-weight: normal; }
figure.plot svg { width: 100%; height: auto; display: block; }
details pre { white-space: pre-wrap; word-break: break-word; background: #fff; padding: .6rem; border: 1px solid #dde1e5; }
.legend span { margin-right: 1rem; } .swatch { display: inline-block; width: .9rem; height: .9rem; vertical-align: -2px;
         margin-right: .3rem; border-radius: 2px; opacity: .45; }
"""


def _e(x: Any) -> str:
    """Any value as escaped text (quotes too: the same helper serves attributes)."""
    return escape(str(x), quote=True)


def _num(x: Any) -> str:
    """A scalar as the terminal report prints it: floats (numpy's too) through :func:`fmt`,
    integers in full, booleans lowercase."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x)).lower()
    if isinstance(x, (float, np.floating)):
        return fmt(float(x))
    return str(x)


def _value(x: Any, depth: int = 0) -> str:
    """An evidence / fix value as plain text: numbers as the text report prints them,
    lists shortened to :data:`MAX_LIST_ITEMS`, dicts as ``key: value`` pairs."""
    if x is None:
        return "unknown"
    if isinstance(x, dict) and depth < 3:
        return "; ".join(f"{k}: {_value(v, depth + 1)}" for k, v in x.items())
    if isinstance(x, (list, tuple)) and depth < 3:
        items = [_value(v, depth + 1) for v in list(x)[:MAX_LIST_ITEMS]]
        more = f" … ({len(x) - MAX_LIST_ITEMS} more)" if len(x) > MAX_LIST_ITEMS else ""
        return "[" + ", ".join(items) + "]" + more
    return _num(x)


def _steps(f: "Finding") -> str:
    if f.start_step is None:
        return "whole run"
    if f.end_step is None or f.end_step == f.start_step:
        return f"step {fmt(float(f.start_step))}"
    return f"steps {fmt(float(f.start_step))}–{fmt(float(f.end_step))}"


def _counts(report: "Report") -> dict[str, int]:
    return {s: sum(f.severity.value == s for f in report.findings) for s in ("error", "warning", "info")}


def _headline(report: "Report") -> str:
    run = report.run
    n = _counts(report)
    worst = report.worst.value if report.worst is not None else "ok"
    if report.findings:
        verdict = f"{worst.upper()}: {n['error']} error(s), {n['warning']} warning(s), {n['info']} info"
    else:
        verdict = report.coverage.verdict_of_silence().capitalize()
    span = ""
    if run.n_steps:
        span = f", {fmt(float(run.steps[0]))}–{fmt(float(run.steps[-1]))}"
    out = [f'<header class="headline sev-{worst}" id="headline">', "<h1>lrdoctor report</h1>",
           f'<p class="verdict" data-worst="{worst}">{_e(verdict)}</p>',
           f'<p class="meta">source: <code>{_e(run.meta.source or "unknown")}</code> · format: '
           f"<code>{_e(run.meta.format)}</code> · {run.n_steps} {_e(run.meta.step_unit)}s{_e(span)}</p>"]
    out += [f'<p class="note">note: {_e(w)}</p>' for w in run.meta.warnings]
    out.append("</header>")
    return "\n".join(out)


def _table(cls: str, head: list[str], rows: list[list[str]]) -> str:
    """A table whose cells are already-escaped HTML fragments."""
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _td(x: Any, cls: str = "") -> str:
    return f'<td class="{cls}">{_e(x)}</td>' if cls else f"<td>{_e(x)}</td>"


def _card(i: int, f: "Finding", shaded_on: list[str]) -> str:
    sev = f.severity.value
    out = [f'<article class="finding sev-{sev}" id="finding-{i}" data-kind="{_e(f.kind)}" data-severity="{sev}">',
           f'<h3><span class="badge sev-{sev}">{sev.upper()}</span> <span class="kind">{_e(f.kind)}</span>'
           f'<span class="steps">{_e(_steps(f))}</span></h3>',
           f'<p class="summary">{_e(f.summary)}</p>']
    if f.cause:
        out.append(f'<p class="cause"><strong>Likely cause:</strong> {_e(f.cause)}</p>')
    if f.evidence:
        rows = [[_td(k, "code"), _td(_value(v))] for k, v in f.evidence.items()]
        out.append('<p><strong>Evidence</strong></p>' + _table("evidence", ["key", "value"], rows))
    if f.fixes:
        rows = []
        for x in f.fixes:
            yes = x.applicable
            rows.append([_td(x.parameter, "code"), _td(_value(x.old), "num"),
                         _td("—" if x.new is None else _value(x.new), "num"), _td(x.reason), _td(x.note),
                         f'<td class="{"yes" if yes else "no"}">{"yes" if yes else "no"}</td>'])
        out.append('<p><strong>Fixes</strong></p>'
                   + _table("fixes", ["parameter", "old", "new", "reason", "note", "applicable"], rows))
    if f.watch:
        rows = [[_td(w.metric, "code"), _td(w.healthy), _td(w.trouble or "—"), _td(w.meaning)] for w in f.watch]
        out.append('<p><strong>Watch in the next run</strong></p>'
                   + _table("watch", ["metric", "signs of recovery", "signs of continued trouble", "what it means"], rows))
    if f.recheck:
        out.append(f'<p class="recheck"><strong>Look again:</strong> {_e(f.recheck)}</p>')
    if shaded_on:
        out.append(f'<p class="muted shaded">Shaded on the curves of: {_e(", ".join(shaded_on))}</p>')
    out.append("</article>")
    return "\n".join(out)


def _coverage(report: "Report") -> str:
    cov = report.coverage
    out = ['<section id="coverage"><h2>Coverage</h2>', '<ul class="coverage">',
           f'<li class="checked"><strong>checked:</strong> {_e(", ".join(cov.fully_checked) or "nothing")}</li>']
    for cls, label, reasons in (("checked-in-part", "checked in part", cov.partial), ("not-checked", "not checked", cov.skipped)):
        for why, kinds in cov.by_reason(reasons).items():
            out.append(f'<li class="{cls}"><strong>{label}:</strong> {_e(", ".join(kinds))} '
                       f'<span class="muted">({_e(why)})</span></li>')
    out.append("</ul></section>")
    return "\n".join(out)


def _roles(report: "Report") -> str:
    meta = report.run.meta
    rows = [[_td("step", "code"), _td(meta.step_column or "row order")]]
    rows += [[_td(role, "code"), _td(col)] for role, col in meta.roles.items()]
    hint = ('<p class="muted">Override any role with <code>--metric ROLE=COLUMN</code> '
            '(<code>roles={...}</code> in Python).</p>')
    text = ""
    if meta.text_columns:
        text = f'<p class="muted">Columns without numbers (not read as metrics): {_e(", ".join(meta.text_columns))}</p>'
    return ('<section id="roles"><h2>Roles</h2>' + _table("roles", ["role", "column"], rows) + text + hint
            + "</section>")


def _config(report: "Report") -> str:
    if not report.run.config:
        return ""
    text = json.dumps(report.run.summary()["config"], indent=2, ensure_ascii=False, default=str)
    if len(text) > MAX_CONFIG_CHARS:
        text = text[:MAX_CONFIG_CHARS] + f"\n… ({len(text) - MAX_CONFIG_CHARS} more characters; see --format json)"
    return f'<section id="config"><details><summary>Run config</summary><pre>{_e(text)}</pre></details></section>'


def _plots(report: "Report", plots: list[Plot], left_out: list[str]) -> str:
    run = report.run
    out = ['<section id="plots"><h2>Curves</h2>']
    if not plots:
        out.append('<p class="muted">No metric with logged points to plot.</p>')
    legend = "".join(f'<span><i class="swatch" style="background: var(--{s})"></i>{s} span</span>'
                     for s in ("error", "warning", "info") if any(sp.severity == s for p in plots for sp in p.spans))
    if legend:
        out.append(f'<p class="legend muted">{legend}<span>✕ non-finite value (NaN/inf)</span></p>')
    for i, p in enumerate(plots):
        series = run.series(p.name)
        if series is None:  # pragma: no cover - plan_plots keeps only logged series
            continue
        what = p.role if p.role is not None else "logged"
        col = f' <span class="muted">(column: {_e(p.column)})</span>' if p.role is not None and p.column != p.role else ""
        kinds = sorted({sp.kind for sp in p.spans})
        shaded = f' <span class="muted">· shaded: {_e(", ".join(kinds))}</span>' if kinds else ""
        log = use_log_scale(series.values)
        scale = ' <span class="muted">· log scale</span>' if log else ""
        out.append(f'<figure class="plot" id="plot-{i}" data-metric="{_e(p.name)}" data-role="{_e(what)}" '
                   f'data-yscale="{"log" if log else "linear"}">'
                   f"<figcaption>{_e(p.name if p.role is None else p.role)}{col}{scale}{shaded}</figcaption>"
                   f"{_labelled(svg_plot(series, p, i, run.meta.step_unit, log=log), p)}</figure>")
    if left_out:
        out.append(f'<p class="muted">Not plotted (at most {len(plots)} curves): {_e(", ".join(left_out))}</p>')
    out.append("</section>")
    return "\n".join(out)


def _labelled(svg: str, plot: Plot) -> str:
    """The SVG announced as one image named after its curve (screen readers)."""
    label = f"{plot.role or 'logged'} curve of column {plot.column}"
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_e(label)}" ', 1)


def render(report: "Report") -> str:
    """The report as one self-contained HTML page (a string; write it as UTF-8).

    Raises ImportError with the install line when matplotlib (the ``html`` extra) is missing."""
    try:
        import matplotlib  # noqa: F401  (drawn in html_plots.svg_plot; checked first for one clear line)
    except ImportError:
        raise ImportError("the HTML report draws its curves with matplotlib, which is not installed: "
                          "pip install 'lrdoctor[html]'") from None
    plots, left_out = plan_plots(report.run)
    shaded = spans_for(report.findings, plots, report.run)
    cards = [_card(i, f, shaded.get(i, [])) for i, f in enumerate(report.findings)]
    findings = ('<section id="findings"><h2>Findings</h2>' + ("\n".join(cards) or
                '<p class="muted">No finding: every check that ran found the run healthy (see Coverage for '
                "what could not be checked).</p>") + "</section>")
    title = f"lrdoctor: {report.run.meta.source or 'report'}"
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # nothing may load: a log's strings are escaped, and this forbids any script or fetch besides
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">",
        f"<title>{_e(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        _headline(report), findings, _coverage(report), _roles(report), _plots(report, plots, left_out),
        _config(report),
        '<footer class="muted"><p>Generated by lrdoctor. Spans: each finding\'s steps, shaded on the curves it '
        "concerns; log y-axis where a curve's values span two decades or more.</p></footer>",
        "</body>", "</html>", ""])
