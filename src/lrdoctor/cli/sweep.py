"""``lrdoctor sweep TASK --lrs ... --seeds N --steps N``: an LR x seed sweep, its table and the
recommended LR. ``--resume DIR`` continues a sweep that was stopped."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import typer

from lrdoctor.errors import InputError

__all__ = ["sweep_cmd", "parse_lrs", "parse_task_args", "default_out_dir"]


def parse_lrs(text: str) -> list[float]:
    """``"1e-4,1e-3"`` or ``"log:1e-5:1e-1:9"`` (9 log-spaced LRs from 1e-5 to 1e-1)."""
    text = text.strip()
    try:
        if text.startswith("log:"):
            parts = text.split(":")
            if len(parts) != 4:
                raise ValueError
            lo, hi, n = float(parts[1]), float(parts[2]), int(parts[3])
            if not (0 < lo < hi and n >= 2):
                raise InputError("--lrs", f"log:LO:HI:N needs 0 < LO < HI and N >= 2, got {text!r}")
            step = (math.log10(hi) - math.log10(lo)) / (n - 1)
            return [float(f"{10 ** (math.log10(lo) + i * step):.6g}") for i in range(n)]
        lrs = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError("--lrs", f"expected comma-separated numbers or log:LO:HI:N, got {text!r}") from None
    if not lrs or any(not (math.isfinite(x) and x > 0) for x in lrs):
        raise InputError("--lrs", f"learning rates must be positive numbers, got {text!r}")
    return lrs


def parse_task_args(items: list[str]) -> dict[str, Any]:
    """``["d_model=64", "layers=2"]`` -> ``{"d_model": 64, "layers": 2}`` (numbers, booleans, strings)."""
    import json

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise InputError("--task-arg", f"expected NAME=VALUE, got {item!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def default_out_dir(kind: str = "sweep") -> Path:
    """``runs/<kind>-DATE-TIME`` under the working directory."""
    import time

    return Path("runs") / time.strftime(f"{kind}-%Y%m%d-%H%M%S")


def sweep_cmd(
    task: Optional[str] = typer.Argument(None, help="The task factory: MODULE:FUNCTION or FILE.py:FUNCTION."),
    lrs: Optional[str] = typer.Option(None, "--lrs", help="1e-4,1e-3,1e-2 or log:LO:HI:N."),
    seeds: int = typer.Option(5, "--seeds", help="Seeds per LR (0 .. N-1)."),
    steps: int = typer.Option(100, "--steps", help="Training steps per run."),
    backend: str = typer.Option("local", "--backend", help="local (process pool), ray, or serial (this process)."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (auto, ray://host:10001)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Processes of the local pool (default: the cores)."),
    num_cpus: float = typer.Option(1, "--num-cpus", help="CPUs each Ray task asks for."),
    num_gpus: float = typer.Option(0, "--num-gpus", help="GPUs each Ray task asks for."),
    out: Optional[Path] = typer.Option(None, "--out", help="Sweep directory (default runs/sweep-DATE-TIME)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the sweep in this directory."),
    task_arg: list[str] = typer.Option([], "--task-arg", help="NAME=VALUE passed to the task factory. Repeatable."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Loss level of the steps-to-threshold column."),
    success_below: Optional[float] = typer.Option(None, "--success-below", help="Success = final loss below this (default: below the initial loss)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write loss curves and success rates to this PNG."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar (stderr)."),
) -> None:
    """Train every (LR, seed) cell, diagnose each run, print the table and the recommended LR."""
    from lrdoctor.experiments.sweep import resume_sweep, sweep

    try:
        if resume is not None:
            result = resume_sweep(resume, backend=backend, workers=workers, address=address,
                                  num_cpus=num_cpus, num_gpus=num_gpus, progress=progress)
        else:
            if task is None or lrs is None:
                raise InputError("lrdoctor sweep", "give TASK and --lrs (or --resume DIR)")
            result = sweep(task, parse_lrs(lrs), seeds, steps, backend=backend, out=out or default_out_dir(),
                           task_kwargs=parse_task_args(task_arg), threshold=threshold, success_below=success_below,
                           workers=workers, address=address, num_cpus=num_cpus, num_gpus=num_gpus,
                           progress=progress)
    except InputError as err:
        typer.echo(f"lrdoctor: {err}", err=True)
        raise typer.Exit(2)
    typer.echo(result.table())
    if plot is not None:
        result.plot(plot)
        typer.echo(f"plot: {plot}")
