"""``lrdoctor diagnose PATH``: read a log, diagnose it, print the report."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from lrdoctor.errors import InputError

__all__ = ["diagnose_cmd"]


class OutFormat(str, Enum):
    text = "text"
    json = "json"


class FailOn(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


def diagnose_cmd(
    path: Path = typer.Argument(..., help="Log file or TensorBoard directory."),
    config: Optional[Path] = typer.Option(None, "--config", help="Run config (YAML/JSON) for old values and context."),
    format: OutFormat = typer.Option(OutFormat.text, "--format", help="text or json."),
    fail_on: FailOn = typer.Option(FailOn.error, "--fail-on", help="Exit 1 when a finding reaches this severity."),
    log_format: Optional[str] = typer.Option(None, "--log-format", help="Force a reader (yolo, text, csv, hf, jsonl, keras, tensorboard, ...)."),
) -> None:
    """Diagnose a finished run from its log: findings, evidence, fixes, watch list."""
    from lrdoctor.diagnosis import diagnose
    from lrdoctor.io import read

    try:
        run = read(path, format=log_format, config=config)
        report = diagnose(run)
    except InputError as err:
        typer.echo(f"lrdoctor: {err}", err=True)
        raise typer.Exit(2)
    if format is OutFormat.json:
        sys.stdout.write(report.to_json() + "\n")
    else:
        from lrdoctor.report.text import print_report

        print_report(report)
    raise typer.Exit(1 if report.fails(fail_on.value) else 0)
