"""``lrdoctor diagnose DIR`` on a folder of several runs: one row per run.

The runs are found by :func:`lrdoctor.io.folders.find_runs` (a bounded walk); each is read
and diagnosed exactly as ``lrdoctor diagnose RUN`` would, and a run that cannot be read is a
row with its one-line reason, never a traceback. Text output is one compact table (run,
worst severity, kinds found, the first finding's summary); ``--format json`` is a JSON list
with one object per run: ``{"source": NAME, "report": {...}}`` (the object ``lrdoctor
diagnose RUN --format json`` prints) or ``{"source": NAME, "error": "one-line reason"}``.

Exit code: 2 when no run could be read; otherwise 1 when a readable run has a finding that
reaches ``--fail-on`` and 0 when none does. An unreadable run among readable ones is listed
but does not turn the code into 2: the code answers "did any run fail the check".
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from lrdoctor.errors import InputError, printable

__all__ = ["NAME_CHARS", "SUMMARY_CHARS", "RunRow", "diagnose_folder", "folder_exit_code"]

#: Widest first-finding summary shown in a table row (characters); the full text is in the
#: one-run report (``lrdoctor diagnose RUN``) and in ``--format json``.
SUMMARY_CHARS = 90
#: Widest run name shown (characters); longer names keep their end, which tells runs apart.
NAME_CHARS = 48


@dataclass
class RunRow:
    """One run of the folder: its report, or the reason it could not be read."""

    name: str
    report: Any = None  # lrdoctor.Report (imported lazily)
    #: the one-line reason (file: problem) when the run could not be read
    error: str | None = None
    #: the problem alone, for the table, whose row already names the run
    problem: str | None = None

    @property
    def worst(self) -> str:
        if self.error is not None:
            return "unreadable"
        w = self.report.worst
        return w.value if w is not None else "ok"


def _diagnose_one(path: Path, log_format: str | None, config: Path | None,
                  roles: Mapping[str, str], limit_mb: float) -> Any:
    from lrdoctor.cli.diagnose import _check_memory, _diagnose_named, _printable_run
    from lrdoctor.diagnosis import diagnose
    from lrdoctor.io import read

    _check_memory(path, log_format, limit_mb)
    run = read(path, format=log_format, config=config)
    _printable_run(run)
    return _diagnose_named(diagnose, run, roles)


def folder_exit_code(rows: list[RunRow], fail_on: str) -> int:
    """2 when no run was readable, else 1 when one fails ``fail_on``, else 0."""
    reports = [r.report for r in rows if r.error is None]
    if not reports:
        return 2
    return 1 if any(rep.fails(fail_on) for rep in reports) else 0


def _clip(text: str, width: int, keep_end: bool = False) -> str:
    if len(text) <= width:
        return text
    return "..." + text[-(width - 3):] if keep_end else text[: width - 3] + "..."


def _table(folder: Path, rows: list[RunRow], truncated: str | None) -> str:
    head = ("run", "worst", "kinds", "first finding")
    body = []
    for r in rows:
        if r.error is not None:
            kinds, first = "-", r.problem or r.error
        else:
            fs = r.report.findings
            kinds = ", ".join(dict.fromkeys(f.kind for f in fs)) or "-"
            first = fs[0].summary if fs else "-"
        body.append((_clip(r.name, NAME_CHARS, keep_end=True), r.worst, kinds, _clip(printable(first), SUMMARY_CHARS)))
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head[:3])]
    lines = []
    unreadable = sum(r.error is not None for r in rows)
    lines.append(f"{printable(folder)}: {len(rows)} runs" + (f" ({unreadable} unreadable)" if unreadable else ""))
    for cells in (head, *body):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells[:3], widths)) + "  " + cells[3])
    if truncated:
        lines.append(f"note: {truncated}")
    return "\n".join(lines)


def diagnose_folder(folder: Path, *, config: Path | None, json_out: bool, fail_on: str,
                    log_format: str | None, metric: list[str], max_memory_mb: float | None) -> int | Path | None:
    """Diagnose every run of ``folder`` and print the table (or JSON list); the exit code.

    A folder holding one run gives that run's path instead (its log file, its run folder),
    which the caller diagnoses as one run: ``lrdoctor diagnose DIR`` on a folder with one
    ``train.log`` prints that log's full report, its memory budget checked on the file.
    None when the folder holds no run: the caller's reader says so in one line."""
    from lrdoctor.cli.diagnose import parse_metric_options
    from lrdoctor.io.budget import memory_limit_mb
    from lrdoctor.io.folders import find_runs

    scan = find_runs(folder)
    if len(scan.runs) <= 1:
        return scan.runs[0].path if scan.runs else None
    try:
        roles = parse_metric_options(metric)
        limit = memory_limit_mb(max_memory_mb)
    except InputError as err:
        typer.echo(f"lrdoctor: {err}", err=True)
        return 2
    rows: list[RunRow] = []
    for loc in scan.runs:
        try:
            rows.append(RunRow(loc.name, report=_diagnose_one(loc.path, log_format, config, roles, limit)))
        except InputError as err:
            where = f"line {err.line}: " if err.line is not None else ""
            rows.append(RunRow(loc.name, error=str(err), problem=where + err.problem))
    if json_out:
        from lrdoctor.jsonsafe import dumps_safe

        items = [{"source": r.name, "error": r.error} if r.error is not None
                 else {"source": r.name, "report": r.report.to_dict()} for r in rows]
        sys.stdout.write(dumps_safe(items, indent=2) + "\n")
    else:
        typer.echo(_table(folder, rows, scan.truncated))
    return folder_exit_code(rows, fail_on)
