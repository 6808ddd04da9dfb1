"""``lrdoctor find-lr TASK``: the LR range test on a task factory (the sweep's Task
interface), every rule's suggestion, optionally the plot and the curve as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from lrdoctor.errors import InputError

__all__ = ["find_lr_cmd"]


def find_lr_cmd(
    task: str = typer.Argument(..., help="The task factory: MODULE:FUNCTION or FILE.py:FUNCTION returning lrdoctor.experiments.Task."),
    start_lr: float = typer.Option(1e-7, "--start-lr", help="First LR of the exponential ramp."),
    end_lr: float = typer.Option(10.0, "--end-lr", help="Last LR of the ramp."),
    steps: int = typer.Option(100, "--steps", help="Optimizer steps of the ramp."),
    seed: int = typer.Option(0, "--seed", help="Seed of the model's initialisation and the task's data."),
    task_arg: list[str] = typer.Option([], "--task-arg", help="NAME=VALUE passed to the task factory. Repeatable."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write the loss-vs-LR plot with the suggestions to this PNG."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the curve and suggestions to this JSON file."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar (stderr)."),
) -> None:
    """Run the range test on a copy of TASK's model and print each rule's suggested LR."""
    from lrdoctor.cli.sweep import parse_task_args

    try:
        if not (0 < start_lr < end_lr):
            raise InputError("--start-lr/--end-lr", f"need 0 < start < end, got {start_lr:g} and {end_lr:g}")
        if steps < 10:
            raise InputError("--steps", f"need at least 10 steps, got {steps}")
        from lrdoctor.experiments.task import make_task

        t = make_task(task, parse_task_args(task_arg))  # a bad TASK fails here, before torch loads
        from lrdoctor.experiments.instrument_task import find_lr_task

        res = find_lr_task(t, seed=seed, start_lr=start_lr, end_lr=end_lr, num_steps=steps, progress=progress)
    except InputError as err:
        typer.echo(f"lrdoctor: {err}", err=True)
        raise typer.Exit(2)
    typer.echo(f"range test: {len(res.lrs)} steps, {res.lrs[0]:.2e} -> {res.lrs[-1]:.2e} ({res.stopped})")
    for name, s in res.suggestions.items():
        val = f"{s.lr:.3g}" if s.lr is not None else "none"
        mark = "  <- suggestion" if name == "lrdoctor" else ""
        typer.echo(f"  {name:<16} {val:>10}{mark}" + (f"   ({s.note})" if s.note and name == "lrdoctor" else ""))
    for note in res.notes:
        typer.echo(f"note: {note}")
    if plot is not None:
        res.plot(plot)
        typer.echo(f"plot: {plot}")
    if json_out is not None:
        json_out.write_text(json.dumps(res.to_dict()))
        typer.echo(f"json: {json_out}")
