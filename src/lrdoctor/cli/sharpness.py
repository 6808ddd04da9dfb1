"""``lrdoctor sharpness TASK --lr LR``: the top Hessian eigenvalue of TASK's loss on one
batch, the largest stable LR for its optimizer, and the finding if ``--lr`` exceeds it."""

from __future__ import annotations

import json
from typing import Optional

import typer

from lrdoctor.errors import InputError

__all__ = ["sharpness_cmd"]


def sharpness_cmd(
    task: str = typer.Argument(..., help="The task factory: MODULE:FUNCTION or FILE.py:FUNCTION returning lrdoctor.experiments.Task."),
    lr: float = typer.Option(..., "--lr", help="The LR to check (the optimizer is built at it)."),
    train_steps: int = typer.Option(0, "--train-steps", help="Train this many steps at --lr before measuring."),
    seed: int = typer.Option(0, "--seed", help="Seed of the model's initialisation and the task's data."),
    tol: float = typer.Option(1e-6, "--tol", help="Relative tolerance of the top eigenvalue."),
    task_arg: list[str] = typer.Option([], "--task-arg", help="NAME=VALUE passed to the task factory. Repeatable."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """Measure sharpness (Lanczos on Hessian-vector products) and the stability bound."""
    from lrdoctor.cli.sweep import parse_task_args

    try:
        if not lr > 0:
            raise InputError("--lr", f"must be > 0, got {lr:g}")
        if fmt not in ("text", "json"):
            raise InputError("--format", f"must be text or json, got {fmt!r}")
        from lrdoctor.experiments.task import make_task

        t = make_task(task, parse_task_args(task_arg))  # a bad TASK fails here, before torch loads
        from lrdoctor.experiments.instrument_task import sharpness_task

        res = sharpness_task(t, lr=lr, seed=seed, train_steps=train_steps, tol=tol)
    except InputError as err:
        typer.echo(f"lrdoctor: {err}", err=True)
        raise typer.Exit(2)
    except FloatingPointError as err:
        typer.echo(f"lrdoctor: {task}: {err}", err=True)
        raise typer.Exit(2)
    finding = res.to_finding(step=train_steps)
    if fmt == "json":
        typer.echo(json.dumps({"lambda_max": res.lambda_max, "preconditioned_lambda_max": res.preconditioned_lambda_max,
                               "max_stable_lr": res.max_stable_lr, "lr": res.lr, "update_rule": res.rule.kind,
                               "hvps": res.hvps, "error_estimate": res.error_estimate, "loss": res.loss,
                               "findings": [finding.to_dict()] if finding else []}))
        return
    typer.echo(f"lambda_max (Hessian)       {res.lambda_max:.6g}   ({res.hvps} Hessian-vector products, "
               f"est. error {res.error_estimate:.1e})")
    if res.preconditioned_lambda_max is not None:
        typer.echo(f"lambda_max (P^-1 H, Adam)  {res.preconditioned_lambda_max:.6g}")
    bound = f"{res.max_stable_lr:.4g}" if res.max_stable_lr is not None else "none (update rule not modelled)"
    typer.echo(f"max stable lr ({res.rule.kind})   {bound}   lr {lr:g}")
    for note in res.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"{finding.severity.value}: {finding.summary}" if finding else "lr is within the stability bound")
