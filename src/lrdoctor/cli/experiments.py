"""``lrdoctor experiments TASK``: the first post-mortem's four experiments (success rate per LR,
losses at steps 0/20/100 and the best step, long runs on static data, seed sensitivity)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from lrdoctor.errors import InputError

__all__ = ["experiments_cmd"]

_NAMES = ("success", "losses", "long", "seeds")


def experiments_cmd(
    task: str = typer.Argument(..., help="The task factory: MODULE:FUNCTION or FILE.py:FUNCTION."),
    lrs: str = typer.Option("1e-4,3e-4,1e-3,3e-3,1e-2", "--lrs", help="1e-4,1e-3,1e-2 or log:LO:HI:N."),
    seeds: int = typer.Option(10, "--seeds", help="Seeds per LR for experiments 1 and 2."),
    steps: int = typer.Option(100, "--steps", help="Steps per run for experiments 1, 2 and 4."),
    long_steps: int = typer.Option(500, "--long-steps", help="Steps of the long static-data runs (experiment 3)."),
    long_seeds: int = typer.Option(2, "--long-seeds", help="Seeds per LR of the long runs."),
    sensitivity_seeds: int = typer.Option(20, "--sensitivity-seeds", help="Seeds at the chosen LR (experiment 4)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="LR of experiment 4 (default: the recommended one)."),
    only: list[str] = typer.Option([], "--only", help="Run only these: success, losses, long, seeds. Repeatable."),
    backend: str = typer.Option("local", "--backend", help="local (process pool), ray, or serial."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (auto, ray://host:10001)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Processes of the local pool."),
    out: Optional[Path] = typer.Option(None, "--out", help="Directory of the sweeps (rerun to resume)."),
    task_arg: list[str] = typer.Option([], "--task-arg", help="NAME=VALUE passed to the task factory. Repeatable."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the numbers as JSON here."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars (stderr)."),
) -> None:
    """Run the post-mortem's four experiments on a task and print their tables."""
    from lrdoctor.cli.sweep import default_out_dir, parse_lrs, parse_task_args
    from lrdoctor.experiments.postmortem import Experiment, ExperimentsPlan, render_experiments, run_experiments
    from lrdoctor.experiments.sweep import Placement

    try:
        bad = [o for o in only if o not in _NAMES]
        if bad:
            raise InputError("--only", f"must be one of {', '.join(_NAMES)}; got {', '.join(bad)}")
        for name, value in (("--seeds", seeds), ("--steps", steps), ("--long-steps", long_steps),
                            ("--long-seeds", long_seeds), ("--sensitivity-seeds", sensitivity_seeds)):
            if value < 1:
                raise InputError(name, f"must be >= 1, got {value}")
        plan = ExperimentsPlan(task=task, lrs=parse_lrs(lrs), seeds=seeds, steps=steps, long_steps=long_steps,
                               long_seeds=long_seeds, sensitivity_seeds=sensitivity_seeds, chosen_lr=lr,
                               task_kwargs=parse_task_args(task_arg),
                               only=tuple(Experiment(o) for o in only) or tuple(Experiment))
        res = run_experiments(plan, out or default_out_dir("experiments"),
                              Placement(backend, workers, address), progress=progress)
    except InputError as err:
        typer.echo(f"lrdoctor: {err}", err=True)
        raise typer.Exit(2)
    typer.echo(render_experiments(res))
    if json_out is not None:
        json_out.write_text(json.dumps(res.to_json(), indent=1, allow_nan=False))
