"""``lrdoctor calc ...``: the calculators of :mod:`lrdoctor.prescribe.calc`, each printing
its numbers, its formula and the source of any rule of thumb."""

from __future__ import annotations

from typing import Callable, Optional

import typer
from rich.console import Console

from lrdoctor.fmt import fmt
from lrdoctor.prescribe import calc as C

__all__ = ["app"]

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Calculators: soft target updates, n-step returns, effective batch, LoRA scaling, LR scaling.")


def _show(rows: list[tuple[str, str]], formula: str, source: str) -> None:
    con = Console(highlight=False)
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        con.print(f"{k:<{width}}  {v}")
    con.print(f"[dim]formula: {formula}[/dim]")
    con.print(f"[dim]source:  {source}[/dim]")


def _run(cmd: str, fn: Callable[[], None]) -> None:
    try:
        fn()
    except ValueError as err:
        typer.echo(f"lrdoctor calc {cmd}: {err}", err=True)
        raise typer.Exit(2) from None


@app.command("tau")
def tau_cmd(
    tau: Optional[float] = typer.Option(None, "--tau", help="Soft-update coefficient (target <- tau*online + (1-tau)*target)."),
    steps: int = typer.Option(100, "--steps", help="Updates to look at."),
    steps_per_sec: Optional[float] = typer.Option(None, "--steps-per-sec", help="Updates per second, for times."),
    half_life: Optional[float] = typer.Option(None, "--half-life", help="Instead of --tau: the wanted half-life in updates."),
    share: Optional[float] = typer.Option(None, "--share", help="Instead of --tau: the share to replace in --steps updates."),
) -> None:
    """Share of the target network replaced in N updates, half-life, and tau for a wanted half-life."""
    def go() -> None:
        t = tau
        derived = ""
        if t is None and half_life is not None:
            t, derived = C.tau_for_half_life(half_life), f"tau for a half-life of {fmt(half_life)} updates"
        elif t is None and share is not None:
            t, derived = C.tau_for_share(share, steps), f"tau replacing {share:.1%} in {steps} updates"
        if t is None:
            raise ValueError("give --tau, or --half-life, or --share")
        r = C.soft_update(t, steps, steps_per_sec)
        rows = [("tau", f"{t:.4g}" + (f"  ({derived})" if derived else "")),
                (f"replaced in {steps} updates", f"{r.replaced:.1%}"),
                ("half-life", f"{r.half_life_steps:.1f} updates")]
        if steps_per_sec:
            rows += [("half-life (time)", f"{r.half_life_seconds:.2f} s at {fmt(steps_per_sec)} updates/s"),
                     (f"{steps} updates take", f"{r.seconds:.2f} s")]
        _show(rows, r.formula, r.source)
    _run("tau", go)


@app.command("nstep")
def nstep_cmd(
    gamma: float = typer.Option(..., "--gamma", help="Discount factor."),
    n: list[int] = typer.Option(..., "--n", help="n of the n-step return (repeat to compare)."),
) -> None:
    """Weight of the bootstrapped value (gamma^n) and the horizon 1/(1-gamma)."""
    def go() -> None:
        res = [C.nstep(gamma, k) for k in n]
        rows = [(f"gamma^{r.n}", f"{r.gamma_n:.3f}") for r in res] + [("horizon 1/(1-gamma)", f"{res[0].horizon:.1f} steps")]
        _show(rows, res[0].formula, res[0].source)
    _run("nstep", go)


@app.command("batch")
def batch_cmd(
    batch: int = typer.Option(..., "--batch", help="Per-device micro-batch size."),
    accumulation: int = typer.Option(1, "--accumulation", help="Gradient accumulation steps."),
    world_size: int = typer.Option(1, "--world-size", help="Data-parallel processes."),
    samples: Optional[int] = typer.Option(None, "--samples", help="Samples in a cycle/epoch, for the optimizer step count."),
    warmup: Optional[int] = typer.Option(None, "--warmup", help="Warmup steps, to see their share of the cycle."),
) -> None:
    """Effective batch = batch x accumulation x world size, and optimizer steps per cycle."""
    def go() -> None:
        r = C.effective_batch(batch, accumulation, world_size, samples)
        rows = [("effective batch", str(r.effective))]
        if r.optimizer_steps is not None:
            rows.append(("optimizer steps", str(r.optimizer_steps)))
            if warmup is not None:
                share = warmup / r.optimizer_steps
                note = "  (warning: warmup is a large share of this short cycle)" if share > 0.1 else ""
                rows.append(("warmup share", f"{share:.0%}{note}"))
        _show(rows, r.formula, r.source)
    _run("batch", go)


@app.command("lora")
def lora_cmd(
    lr: float = typer.Option(..., "--lr", help="Learning rate."),
    alpha: float = typer.Option(..., "--alpha", help="LoRA alpha."),
    r: int = typer.Option(..., "--r", help="LoRA rank."),
    rslora: bool = typer.Option(False, "--rslora", help="rsLoRA scaling alpha/sqrt(r)."),
    new_r: Optional[int] = typer.Option(None, "--new-r", help="A rank to move to: the LR that keeps the same update size."),
) -> None:
    """LoRA scale (alpha/r or alpha/sqrt(r)) and the LR that keeps the update size at another rank."""
    def go() -> None:
        x = C.lora_lr(lr, alpha, r, rslora)
        rows = [("scale", f"{x.scale:.4g}  ({'alpha/sqrt(r)' if rslora else 'alpha/r'})"), ("lr x scale", f"{x.effective_lr:.3g}")]
        if new_r is not None:
            rows.append((f"lr at r={new_r}", f"{x.lr_for_rank(new_r):.3g}"))
        _show(rows, x.formula, x.source)
    _run("lora", go)


@app.command("scale")
def scale_cmd(
    lr: float = typer.Option(..., "--lr"),
    old_batch: int = typer.Option(..., "--old-batch"),
    new_batch: int = typer.Option(..., "--new-batch"),
    rule: str = typer.Option("linear", "--rule", help="linear (SGD) or sqrt (Adam)."),
) -> None:
    """Move an LR to another batch size (linear or square-root rule)."""
    def go() -> None:
        x = C.scale_lr(lr, old_batch, new_batch, rule)
        _show([("new lr", f"{x.new_lr:.3g}  ({rule}, batch {old_batch} -> {new_batch})")], x.formula, x.source)
    _run("scale", go)


@app.command("raft")
def raft_cmd(sft_lr: float = typer.Option(..., "--sft-lr", help="The supervised fine-tuning LR.")) -> None:
    """First RAFT cycle's LR from the SFT LR (SFT / 4)."""
    def go() -> None:
        x = C.raft_lr(sft_lr)
        _show([("cycle-1 lr", f"{x.cycle_lr:.3g}")], x.formula, x.source)
    _run("raft", go)
