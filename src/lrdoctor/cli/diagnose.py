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


def parse_metric_options(items: list[str]) -> dict[str, str]:
    """``["loss=td_loss", "step=frames"]`` -> ``{"loss": "td_loss", "step": "frames"}``."""
    out: dict[str, str] = {}
    for item in items:
        role, sep, col = item.partition("=")
        if not sep or not role.strip() or not col.strip():
            raise InputError("--metric", f"expected ROLE=COLUMN, got {item!r}")
        out[role.strip()] = col.strip()
    return out


def diagnose_cmd(
    path: Path = typer.Argument(..., help="Log file or TensorBoard directory."),
    config: Optional[Path] = typer.Option(None, "--config", help="Run config (YAML/JSON) for old values and context."),
    format: OutFormat = typer.Option(OutFormat.text, "--format", help="text or json."),
    fail_on: FailOn = typer.Option(FailOn.error, "--fail-on", help="Exit 1 when a finding reaches this severity."),
    log_format: Optional[str] = typer.Option(None, "--log-format", help="Force a reader (yolo, text, csv, hf, jsonl, keras, tensorboard, ...)."),
    metric: list[str] = typer.Option([], "--metric", help="ROLE=COLUMN: which column plays a role (loss, eval_loss, lr, grad_norm, step, task_metric, approx_kl, q_values, ...). Repeatable."),
) -> None:
    """Diagnose a finished run from its log: findings, evidence, fixes, watch list."""
    from lrdoctor.diagnosis import diagnose
    from lrdoctor.io import read

    try:
        roles = parse_metric_options(metric)
        run = read(path, format=log_format, config=config)
        report = diagnose(run, roles=roles)
    except InputError as err:
        typer.echo(f"lrdoctor: {err}", err=True)
        raise typer.Exit(2)
    if format is OutFormat.json:
        sys.stdout.write(report.to_json() + "\n")
    else:
        from lrdoctor.report.text import print_report

        print_report(report)
    raise typer.Exit(1 if report.fails(fail_on.value) else 0)
