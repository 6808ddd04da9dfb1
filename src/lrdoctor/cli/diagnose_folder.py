"""``lrdoctor diagnose DIR`` on a folder of several runs: one row per run.

The runs are found by :func:`lrdoctor.io.folders.find_runs` (a bounded walk); each is read
and diagnosed exactly as ``lrdoctor diagnose RUN`` would, and a run that cannot be read is a
row with its one-line reason, never a traceback. Text output is one compact table (run,
worst severity, kinds found, the first finding's summary); ``--format json`` is a JSON list
with one object per run: ``{"source": NAME, "report": {...}}`` (the object ``lrdoctor
diagnose RUN --format json`` prints) or ``{"source": NAME, "error": "one-line reason"}``.

The runs are independent tasks on :mod:`lrdoctor.backends`, run in this process
(``SerialBackend``): measured on 2 cores (bench/folder_diagnose.py, docs/benchmarks.md), the
local process pool was 5-50x slower, its workers' start (spawn, lrdoctor's imports and the
pool initializer's ``import torch``) costing ~4.5 s against ~12-250 ms per run.

Exit code: 2 when no run could be read; otherwise 1 when a readable run has a finding that
reaches ``--fail-on`` and 0 when none does. An unreadable run among readable ones is listed
but does not turn the code into 2: the code answers "did any run fail the check".
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from lrdoctor.errors import InputError, printable

__all__ = ["NAME_CHARS", "SUMMARY_CHARS", "RunRow", "RunTask", "diagnose_folder",
           "diagnose_run", "folder_exit_code"]

#: Widest first-finding summary shown in a table row (characters); the full text is in the
#: one-run report (``lrdoctor diagnose RUN``) and in ``--format json``.
SUMMARY_CHARS = 90
#: Widest run name shown (characters); longer names keep their end, which tells runs apart.
NAME_CHARS = 48


@dataclass(frozen=True)
class RunTask:
    """What one worker needs to diagnose one run (plain values: it crosses processes)."""

    path: str
    name: str
    log_format: str | None
    config: str | None
    roles: tuple[tuple[str, str], ...]
    limit_mb: float
    fail_on: str
    #: ``--set`` config values, merged over each run's config
    sets: tuple[tuple[str, Any], ...] = ()


@dataclass
class RunRow:
    """One run of the folder: its report's row and JSON, or the reason it could not be read."""

    name: str
    #: the run's JSON report (``Report.to_dict()``); None when it could not be read
    report: dict[str, Any] | None = None
    worst: str = "unreadable"
    kinds: list[str] = field(default_factory=list)
    first: str = "-"
    fails: bool = False
    #: the one-line reason (file: problem) when the run could not be read
    error: str | None = None
    #: the problem alone, for the table, whose row already names the run
    problem: str | None = None


def diagnose_run(task: RunTask) -> RunRow:
    """Read and diagnose one run as ``lrdoctor diagnose RUN`` does; a backend task (importable,
    never raises for bad input: an :class:`InputError` is the row's reason)."""
    from lrdoctor.cli.diagnose import _check_memory, _diagnose_named, _printable_run
    from lrdoctor.diagnosis import diagnose
    from lrdoctor.io import read

    path = Path(task.path)
    try:
        _check_memory(path, task.log_format, task.limit_mb)
        run = read(path, format=task.log_format, config=task.config)
        run.config.update(dict(task.sets))
        _printable_run(run)
        report = _diagnose_named(diagnose, run, dict(task.roles))
    except InputError as err:
        where = f"line {err.line}: " if err.line is not None else ""
        return RunRow(task.name, error=str(err), problem=where + err.problem)
    fs = report.findings
    return RunRow(task.name, report=report.to_dict(),
                  worst=report.worst.value if report.worst is not None else "ok",
                  kinds=list(dict.fromkeys(f.kind for f in fs)), first=fs[0].summary if fs else "-",
                  fails=report.fails(task.fail_on))


def folder_exit_code(rows: list[RunRow]) -> int:
    """2 when no run was readable, else 1 when one fails ``--fail-on``, else 0."""
    readable = [r for r in rows if r.error is None]
    if not readable:
        return 2
    return 1 if any(r.fails for r in readable) else 0


def _clip(text: str, width: int, keep_end: bool = False) -> str:
    if len(text) <= width:
        return text
    return "..." + text[-(width - 3):] if keep_end else text[: width - 3] + "..."


def _table(folder: Path, rows: list[RunRow], truncated: str | None) -> str:
    head = ("run", "worst", "kinds", "first finding")
    body = []
    for r in rows:
        first = (r.problem or r.error or "") if r.error is not None else r.first
        kinds = ", ".join(r.kinds) or "-"
        body.append((_clip(r.name, NAME_CHARS, keep_end=True), r.worst, kinds, _clip(printable(first), SUMMARY_CHARS)))
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head[:3])]
    unreadable = sum(r.error is not None for r in rows)
    lines = [f"{printable(folder)}: {len(rows)} runs" + (f" ({unreadable} unreadable)" if unreadable else "")]
    for cells in (head, *body):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells[:3], widths)) + "  " + cells[3])
    if truncated:
        lines.append(f"note: {truncated}")
    return "\n".join(lines)


def _run_all(tasks: list[RunTask]) -> list[RunRow]:
    from lrdoctor.backends import SerialBackend

    backend = SerialBackend()
    rows: list[RunRow | None] = [None] * len(tasks)
    try:
        for out in backend.run(diagnose_run, tasks):
            # a task that raised anyway (a bug, a worker killed) is still a row, never a traceback
            rows[out.index] = out.value if out.ok else RunRow(tasks[out.index].name, error=out.error, problem=out.error)
    finally:
        backend.close()
    return [r for r in rows if r is not None]


def diagnose_folder(folder: Path, *, config: Path | None, json_out: bool, fail_on: str,
                    log_format: str | None, metric: list[str], max_memory_mb: float | None,
                    sets: list[str] = ()) -> int | Path | None:
    """Diagnose every run of ``folder`` and print the table (or JSON list); the exit code.

    A folder holding one run gives that run's path instead (its log file, its run folder),
    which the caller diagnoses as one run: ``lrdoctor diagnose DIR`` on a folder with one
    ``train.log`` prints that log's full report, its memory budget checked on the file.
    None when the folder holds no run: the caller's reader says so in one line."""
    from lrdoctor.cli.diagnose import parse_metric_options, parse_set_options
    from lrdoctor.io.budget import memory_limit_mb
    from lrdoctor.io.folders import find_runs

    scan = find_runs(folder)
    if len(scan.runs) <= 1:
        return scan.runs[0].path if scan.runs else None
    try:
        roles = parse_metric_options(metric)
        config_values = parse_set_options(list(sets))
        limit = memory_limit_mb(max_memory_mb)
    except InputError as err:
        typer.echo(f"lrdoctor: {err}", err=True)
        return 2
    tasks = [RunTask(str(loc.path), loc.name, log_format, str(config) if config is not None else None,
                     tuple(roles.items()), limit, fail_on, tuple(config_values.items())) for loc in scan.runs]
    rows = _run_all(tasks)
    if json_out:
        from lrdoctor.jsonsafe import dumps_safe

        items = [{"source": r.name, "error": r.error} if r.error is not None
                 else {"source": r.name, "report": r.report} for r in rows]
        sys.stdout.write(dumps_safe(items, indent=2) + "\n")
    else:
        typer.echo(_table(folder, rows, scan.truncated))
    return folder_exit_code(rows)
