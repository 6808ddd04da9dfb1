"""``lrdoctor lint PATH...``: static checks of training scripts and configs (see docs/lint.md).

Exit codes: 0 when no finding reaches ``--fail-on``, 1 when one does, 2 when nothing could
be checked (a missing path, or no file that parses). A file that does not parse among
others that do is reported as a ``parse-error`` finding (severity error) and the others
are still checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

__all__ = ["lint_cmd"]

FAIL_ON = ("info", "warning", "error", "never")


def lint_cmd(
    paths: Optional[List[Path]] = typer.Argument(None, help="Python scripts, YAML/JSON configs or directories."),
    fmt: str = typer.Option("text", "--format", "-f", help="text, json or sarif."),
    fail_on: str = typer.Option("warning", "--fail-on", help="Exit 1 when a finding at or above this severity fires: info, warning, error, never."),
    select: Optional[List[str]] = typer.Option(None, "--select", help="Only these rule ids (repeatable)."),
    ignore: Optional[List[str]] = typer.Option(None, "--ignore", help="Skip these rule ids (repeatable)."),
    list_rules: bool = typer.Option(False, "--rules", help="List the rules (id, severity, summary, source) and exit."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Worker processes for large trees (default: CPU count)."),
) -> None:
    """Check training scripts (AST only, never executed) and configs for the known LR bugs."""
    from lrdoctor.lint import all_rules, lint_paths
    from lrdoctor.lint.output import render_json, render_sarif, render_text

    if list_rules:
        for r in all_rules():
            typer.echo(f"{r.id:28} {r.severity.value:8} {r.summary}\n{'':38}source: {r.source}")
        return
    if fmt not in ("text", "json", "sarif"):
        typer.echo(f"lrdoctor lint: --format must be one of text, json, sarif. Got {fmt!r} instead.", err=True)
        raise typer.Exit(2)
    if fail_on not in FAIL_ON:
        typer.echo(f"lrdoctor lint: --fail-on must be one of {', '.join(FAIL_ON)}. Got {fail_on!r} instead.", err=True)
        raise typer.Exit(2)
    if not paths:
        typer.echo("lrdoctor lint: give at least one PATH (a script, a config or a directory).", err=True)
        raise typer.Exit(2)
    known = {r.id for r in all_rules()}
    for rid in list(select or []) + list(ignore or []):
        if rid not in known:
            typer.echo(f"lrdoctor lint: unknown rule id {rid!r}; `lrdoctor lint --rules` lists them.", err=True)
            raise typer.Exit(2)
    try:
        result = lint_paths(paths, select=select or None, ignore=ignore or (), jobs=jobs)
    except FileNotFoundError as err:
        typer.echo(f"lrdoctor lint: {err}", err=True)
        raise typer.Exit(2) from None
    from lrdoctor import __version__

    if fmt == "json":
        typer.echo(render_json(result.findings))
    elif fmt == "sarif":
        typer.echo(render_sarif(result.findings, __version__))
    else:
        typer.echo(render_text(result.findings, result.files))
    for f in result.findings:
        if f.rule == "parse-error":
            typer.echo(f"{f.path}:{f.line}:{f.col}: {f.message}", err=True)
    if result.files == 0 and result.unparsed:
        raise typer.Exit(2)
    if result.files == 0 and not result.unparsed:
        typer.echo("lrdoctor lint: no Python or YAML/JSON file found under the given paths.", err=True)
        raise typer.Exit(2)
    if fail_on != "never":
        rank = {"info": 0, "warning": 1, "error": 2}[fail_on]
        if any(f.severity.rank >= rank for f in result.findings):
            raise typer.Exit(1)
