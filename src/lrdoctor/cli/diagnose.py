"""``lrdoctor diagnose PATH``: read a log, diagnose it, print the report."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer

from lrdoctor.errors import InputError

__all__ = ["diagnose_cmd"]


class OutFormat(str, Enum):
    text = "text"
    json = "json"
    html = "html"  # one self-contained page (report/html.py); needs matplotlib


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


def parse_set_options(items: list[str]) -> dict[str, Any]:
    """``["num_classes=4", "model=resnet50"]`` -> ``{"num_classes": 4, "model": "resnet50"}``: run
    config values given on the command line, merged over ``--config`` and the log's own config.
    What a check needs from the config (the class count for the chance level, the architecture for
    warmup) is often one number; a file for it is a detour. Each value is read as a YAML scalar
    (``yaml.safe_load``), so ``4`` is a number and ``resnet50`` a string; a well-known key whose
    value is not of its type (``num_classes=four``) is refused, as a config file's would be warned."""
    if not items:
        return {}
    import yaml

    from lrdoctor.io.config_types import config_type_warnings

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise InputError("--set", f"expected KEY=VALUE, got {item!r}")
        try:
            value = yaml.safe_load(raw.strip())
        except yaml.YAMLError:
            value = raw.strip()
        if isinstance(value, (dict, list)):
            raise InputError("--set", f"{key.strip()}: expected one value, got {raw.strip()!r}")
        out[key.strip()] = value
    bad = config_type_warnings(out, "--set")
    if bad:
        raise InputError("--set", bad[0].removeprefix("--set: ").split("; the checks")[0])
    return out


#: Most bytes read from standard input (``lrdoctor diagnose -``): 1 GiB, ten times the
#: largest log benchmarked in docs/benchmarks.md; a stream that goes on is refused there.
MAX_STDIN_BYTES = 1 << 30


def _stdin_to_file(folder: Path) -> Path:
    """Standard input copied to a file (readers sniff and may re-read), at most
    :data:`MAX_STDIN_BYTES`."""
    out = folder / "stdin"
    total = 0
    with open(out, "wb") as fh:
        while True:
            chunk = sys.stdin.buffer.read(1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_STDIN_BYTES:
                raise InputError("<stdin>", f"more than {MAX_STDIN_BYTES >> 20} MiB on standard input; save the log to a file")
            fh.write(chunk)
    return out


def _printable_run(run) -> None:  # type: ignore[no-untyped-def]
    """Make what the text report prints from the input safe for a terminal: the source, the
    reader's warnings and config strings (column names are made printable by the readers)."""
    from lrdoctor.errors import printable

    run.meta.source = printable(run.meta.source)
    run.meta.warnings[:] = [printable(w) for w in run.meta.warnings]

    def clean(v, depth=0):  # type: ignore[no-untyped-def]
        if isinstance(v, str):
            return printable(v)
        if isinstance(v, dict) and depth < 64:
            return {printable(k) if isinstance(k, str) else k: clean(x, depth + 1) for k, x in v.items()}
        if isinstance(v, list) and depth < 64:
            return [clean(x, depth + 1) for x in v]
        return v

    run.config = clean(run.config)


def _diagnose_named(diagnose, run, roles):  # type: ignore[no-untyped-def]
    """``diagnose(run)``, where a failure inside a check (a bug, not bad input) still gives
    one line naming the log instead of a bare "internal error" (LRDOCTOR_DEBUG=1 re-raises)."""
    import os

    try:
        return diagnose(run, roles=roles)
    except InputError:
        raise
    except Exception as err:
        if os.environ.get("LRDOCTOR_DEBUG"):
            raise
        detail = str(err).splitlines()[0] if str(err) else "no detail"
        raise InputError(run.meta.source, f"internal error while checking this log ({type(err).__name__}: "
                                          f"{detail}); please report it with the log") from None


#: How the refusal says to raise the limit ({mb}: a limit that lets the file through).
RAISE_LIMIT_HINT = "pass --max-memory-mb {mb} (or set LRDOCTOR_MAX_MEMORY_MB; 0 turns the check off)"


def _check_memory(path: Path, log_format: str | None, limit_mb: float) -> None:
    """Refuse, before reading, a log whose estimated peak memory is over the limit
    (issue 10: every input is read within 2 GB or refused in one line). Files that do
    not exist or cannot be sniffed are left to the reader, which names the problem."""
    import os

    from lrdoctor.io import FORMATS, detect_format
    from lrdoctor.io.budget import check_budget

    # only regular files and directories: sniffing a named pipe would block (the reader
    # refuses those in one line)
    if limit_mb <= 0 or not (os.path.isfile(path) or os.path.isdir(path)):
        return
    try:
        fmt = log_format or detect_format(path)
    except (InputError, OSError):
        return
    if fmt in FORMATS:
        check_budget(path, fmt, limit_mb, RAISE_LIMIT_HINT)


def diagnose_cmd(
    path: Path = typer.Argument(..., help="Log file, TensorBoard directory, MLflow/W&B run folder, folder of runs (one row each), mlflow://HOST:PORT/RUN_ID or wandb://ENTITY/PROJECT/RUN_ID ('-' reads standard input)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Run config (YAML/JSON) for old values and context."),
    format: OutFormat = typer.Option(OutFormat.text, "--format", help="text, json (non-finite numbers appear as the strings \"inf\", \"-inf\", \"nan\") or html (a self-contained page: lrdoctor diagnose LOG --format html > report.html)."),
    fail_on: FailOn = typer.Option(FailOn.error, "--fail-on", help="Exit 1 when a finding reaches this severity."),
    log_format: Optional[str] = typer.Option(None, "--log-format", help="Force a reader (yolo, text, csv, hf, jsonl, keras, tensorboard, ...)."),
    metric: list[str] = typer.Option([], "--metric", help="ROLE=COLUMN: which column plays a role (loss, eval_loss, lr, grad_norm, step, task_metric, approx_kl, q_values, ...). Repeatable."),
    set_: list[str] = typer.Option([], "--set", help="KEY=VALUE: a run config value (num_classes=4, model=resnet50) over --config and the log's own. Repeatable."),
    max_memory_mb: Optional[float] = typer.Option(None, "--max-memory-mb", help="Refuse a log whose estimated peak memory is over this many MB (default 2048, or LRDOCTOR_MAX_MEMORY_MB; 0: no limit)."),
) -> None:
    """Diagnose a finished run from its log: findings, evidence, fixes, watch list."""
    if str(path) != "-" and path.is_dir():  # several runs in a folder: one row each (cli/diagnose_folder.py)
        from lrdoctor.cli.diagnose_folder import diagnose_folder

        code = diagnose_folder(path, config=config, json_out=format is OutFormat.json, fail_on=fail_on.value,
                               log_format=log_format, metric=metric, max_memory_mb=max_memory_mb, sets=set_)
        if isinstance(code, int):
            raise typer.Exit(code)
        path = code or path  # the folder's one run (its log file, run folder) is read below
    import tempfile

    from lrdoctor.diagnosis import diagnose
    from lrdoctor.io import read
    from lrdoctor.io.budget import memory_limit_mb

    with tempfile.TemporaryDirectory(prefix="lrdoctor-") as tmp:
        try:
            roles = parse_metric_options(metric)
            sets = parse_set_options(set_)
            limit = memory_limit_mb(max_memory_mb)
            if str(path) == "-":
                src = _stdin_to_file(Path(tmp))
                try:
                    _check_memory(src, log_format, limit)
                    run = read(src, format=log_format, config=config)
                except InputError as err:
                    raise InputError("<stdin>", err.problem, err.line) from None
                run.meta.source = "<stdin>"
            else:
                _check_memory(path, log_format, limit)
                run = read(path, format=log_format, config=config)
            run.config.update(sets)
            _printable_run(run)
            report = _diagnose_named(diagnose, run, roles)
        except InputError as err:
            typer.echo(f"lrdoctor: {err}", err=True)
            raise typer.Exit(2)
    if format is OutFormat.json:
        sys.stdout.write(report.to_json() + "\n")
    elif format is OutFormat.html:  # UTF-8 bytes whatever the locale: the page declares charset utf-8
        try:
            page = report.to_html()
        except ImportError as err:  # matplotlib missing: one line, no traceback
            typer.echo(f"lrdoctor: {err}", err=True)
            raise typer.Exit(2)
        sys.stdout.flush()
        sys.stdout.buffer.write(page.encode("utf-8"))
        sys.stdout.buffer.flush()
    else:
        from lrdoctor.report.text import print_report

        print_report(report)
    raise typer.Exit(1 if report.fails(fail_on.value) else 0)
