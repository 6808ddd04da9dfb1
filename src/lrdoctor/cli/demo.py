"""``lrdoctor demo``: train a small classifier twice (healthy, broken) and diagnose both."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["demo_cmd"]


def demo_cmd(
    out: Path = typer.Option(Path("lrdoctor-demo"), "--out", help="Folder for the two runs' logs."),
) -> None:
    """Train a real model badly and well on CPU (~10 s), then diagnose both runs."""
    from rich.console import Console

    from lrdoctor.demo import run_demo
    from lrdoctor.diagnosis import diagnose
    from lrdoctor.report.text import print_report

    con = Console()
    con.print("[bold]lrdoctor demo[/]: training a 2-layer MLP on a synthetic 10-class task, twice (CPU)…")
    con.print("  healthy: Adam lr 1e-3, warmup that multiplies a step decay")
    con.print("  broken:  Adam lr 3e-2, a hand-written per-step warmup that overwrites StepLR (post-mortem #4)")
    healthy, broken = run_demo(out)
    con.print(f"logs written to [bold]{out}/[/] (metrics.csv + config.yaml per run)\n")
    reports = {}
    for name, path in (("healthy", healthy), ("broken", broken)):
        con.rule(f"{name} run")
        reports[name] = diagnose(path, config=path.parent / "config.yaml")
        print_report(reports[name], con)
    con.rule("difference")
    h = {f.kind for f in reports["healthy"].findings}
    for f in reports["broken"].findings:
        if f.kind not in h:
            con.print(f"  only in the broken run: [bold]{f.kind}[/] ({f.severity.value}) — {f.summary}")
    con.print(f"\nRun it yourself: [bold]lrdoctor diagnose {broken} --config {broken.parent / 'config.yaml'}[/]")
