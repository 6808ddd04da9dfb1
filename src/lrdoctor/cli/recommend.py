"""``lrdoctor recommend``: a starting LR, a range to sweep, warmup and schedule, with reasons."""

from __future__ import annotations

import json
from typing import Optional

import typer

__all__ = ["recommend_cmd"]


def recommend_cmd(
    arch: Optional[str] = typer.Option(None, "--arch", help="mlp, cnn, transformer, gru, lstm, rnn, ssm."),
    params: Optional[str] = typer.Option(None, "--params", help="Parameter count: 4.9M, 125k, 1.3B."),
    layers: Optional[int] = typer.Option(None, "--layers", help="Depth (transformer blocks / recurrent layers)."),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="adam, adamw, sgd, ..."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Batch size you will train at."),
    regime: Optional[str] = typer.Option(None, "--regime", help="scratch, finetune, lora, sft, raft, ppo, dqn, alphazero."),
    ref_batch_size: Optional[int] = typer.Option(None, "--ref-batch-size", help="Batch size a reference LR was tuned at."),
    ref_lr: Optional[float] = typer.Option(None, "--ref-lr", help="The reference LR tuned at --ref-batch-size."),
    lora_r: Optional[int] = typer.Option(None, "--lora-r", help="LoRA rank r."),
    lora_alpha: Optional[float] = typer.Option(None, "--lora-alpha", help="LoRA alpha."),
    beta2: Optional[float] = typer.Option(None, "--beta2", help="Adam beta2 (sets the warmup length)."),
    sft_lr: Optional[float] = typer.Option(None, "--sft-lr", help="The SFT LR (RAFT/RLVR cycles start from it)."),
    total_steps: Optional[int] = typer.Option(None, "--total-steps", help="Optimizer steps in the run (caps warmup)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
) -> None:
    """Recommend a starting LR with its reasons and sources, and the sweep that would confirm it."""
    from lrdoctor.recommender import recommend

    if fmt not in ("text", "json"):
        typer.echo(f"lrdoctor recommend: --format must be text or json. Got {fmt!r} instead.", err=True)
        raise typer.Exit(2)
    try:
        rec = recommend(arch=arch, params=params, layers=layers, optimizer=optimizer, batch_size=batch_size,
                        regime=regime, ref_batch_size=ref_batch_size, ref_lr=ref_lr, lora_r=lora_r,
                        lora_alpha=lora_alpha, beta2=beta2, sft_lr=sft_lr, total_steps=total_steps)
    except ValueError as err:
        typer.echo(f"lrdoctor recommend: {err}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(rec.to_dict(), indent=2) if fmt == "json" else rec.text())
