"""``lrdoctor schedule SPEC --steps N``: the LR at phase boundaries and key fractions, a
terminal plot, and optionally a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from lrdoctor.fmt import fmt
from lrdoctor.schedules import Schedule, SpecError, from_spec, load_spec

__all__ = ["schedule_cmd", "key_steps", "terminal_plot"]

#: Fractions of the run always shown in the table.
KEY_FRACTIONS = (0.0, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
_BLOCKS = " ▁▂▃▄▅▆▇█"


def key_steps(s: Schedule, total: int) -> list[tuple[int, str]]:
    """(step, label) rows: phase boundaries (and the step before each) plus key fractions."""
    rows: dict[int, str] = {}
    for f in KEY_FRACTIONS:
        rows.setdefault(int(round(f * total)), f"{f:.1%} of run")
    for p in s.phases:
        for edge, what in ((p.start, "start"), (p.end, "end")):
            if edge is None or not 0 <= edge <= total:
                continue
            k = int(round(edge))
            rows[k] = f"{p.name} {what}"
    return sorted(rows.items())


def terminal_plot(values: np.ndarray, height: int = 8) -> list[str]:
    """Rows of a block plot of ``values`` (already one per column), top row first."""
    top = float(values.max()) or 1.0
    scaled = values / top * height
    lines = []
    for r in range(height - 1, -1, -1):
        cells = np.clip(scaled - r, 0.0, 1.0)
        lines.append("".join(_BLOCKS[int(round(c * 8))] for c in cells))
    return lines


def schedule_cmd(
    spec: str = typer.Argument(..., help="A schedule name, inline YAML/JSON ('{warmup: 0.02, base: cosine}'), or a YAML/JSON file."),
    steps: int = typer.Option(..., "--steps", help="Total training steps."),
    base_lr: Optional[float] = typer.Option(None, "--base-lr", help="Peak LR, to print LRs instead of multipliers."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write a PNG plot here (needs matplotlib)."),
    width: int = typer.Option(64, "--width", help="Columns of the terminal plot."),
) -> None:
    """Show an LR schedule: its values at the phase boundaries, a terminal plot, a PNG."""
    con = Console(highlight=False)
    try:
        if steps < 1:
            raise SpecError(f"--steps must be >= 1, got {steps}")
        s = from_spec(load_spec(spec), total_steps=steps)
    except SpecError as err:
        typer.echo(f"lrdoctor schedule: {err}", err=True)
        raise typer.Exit(2) from None
    scale = base_lr if base_lr is not None else 1.0
    what = "lr" if base_lr is not None else "multiplier"
    t = Table("step", "where", what, show_edge=False, header_style="bold")
    for k, label in key_steps(s, steps):
        t.add_row(str(k), label, fmt(scale * s(k)))
    con.print(f"[bold]{s.name}[/bold]  ({steps} steps{'' if base_lr is None else f', base lr {fmt(base_lr)}'})")
    con.print(t)
    grid = s(np.linspace(0, steps, max(8, width)))
    for line in terminal_plot(grid):
        con.print(f"│{line}")
    con.print("└" + "─" * grid.size)
    con.print(f" 0{' ' * (grid.size - len(str(steps)) - 1)}{steps}")
    if plot is not None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            typer.echo("lrdoctor schedule: --plot needs matplotlib (pip install matplotlib)", err=True)
            raise typer.Exit(2) from None
        x = np.arange(steps + 1)
        fig, ax = plt.subplots(figsize=(7, 3.2))
        ax.plot(x, scale * s(x), lw=1.5)
        for p in s.phases:
            ax.axvline(p.start, color="0.8", lw=0.8, zorder=0)
        ax.set_xlabel("step")
        ax.set_ylabel(what)
        ax.set_title(s.name, fontsize=9)
        fig.tight_layout()
        fig.savefig(plot, dpi=120)
        plt.close(fig)
        con.print(f"plot written to {plot}")
