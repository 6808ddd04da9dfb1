"""The first post-mortem's four experiments, for any task:

1. success rate over seeds per LR;
2. loss at steps 0/20/100 and the best (minimum-loss) step per LR;
3. long runs on static data (does the LR keep fitting, or blow up late?);
4. seed sensitivity at the chosen LR (more seeds, with a confidence interval).

Experiments 1 and 2 read the same sweep; 3 and 4 are sweeps of their own. Every sweep lives
in its own subdirectory of ``out``, so rerunning the command resumes instead of retraining.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Mapping, Sequence

from lrdoctor.experiments.sweep import Placement, SweepResult, sweep
from lrdoctor.experiments.sweep_cell import cell_name
from lrdoctor.experiments.sweep_render import fmt, format_table
from lrdoctor.experiments.sweep_store import SweepStore
from lrdoctor.experiments.sweep_summary import SeedSensitivity

__all__ = ["Experiment", "ExperimentsPlan", "ExperimentsResult", "run_experiments", "render_experiments",
           "DEFAULT_LRS", "STATIC_BATCHES"]

DEFAULT_LRS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
"""Half-decades around Adam's 1e-3 up to the post-mortem's failing override 0.01."""

STATIC_BATCHES = 8
"""Batches a streaming task is cut to for the long static-data runs (a fixed training set
small enough to be memorised in 500 steps, as in the post-mortem's fixture data)."""


class Experiment(str, Enum):
    success = "success"
    losses = "losses"
    long = "long"
    seeds = "seeds"


@dataclass
class ExperimentsPlan:
    task: str
    lrs: Sequence[float] = DEFAULT_LRS
    seeds: int = 10
    steps: int = 100
    #: the post-mortem's long runs: 500 steps on static data
    long_steps: int = 500
    long_seeds: int = 2
    #: seeds of the sensitivity run at the chosen LR (its first ``seeds`` come from experiment 1)
    sensitivity_seeds: int = 20
    #: LR of experiment 4 (None: the one experiment 1 recommends)
    chosen_lr: float | None = None
    task_kwargs: Mapping[str, Any] = field(default_factory=dict)
    only: Sequence[Experiment] = tuple(Experiment)


@dataclass
class LongRun:
    lr: float
    final: float
    min_loss: float
    min_step: int | None
    #: first step whose loss is not finite (None: none)
    blew_up_at: int | None
    findings: dict[str, int]
    n: int


@dataclass
class ExperimentsResult:
    plan: ExperimentsPlan
    out_dir: Path
    grid: SweepResult | None = None
    long: SweepResult | None = None
    sensitivity: SeedSensitivity | None = None
    sensitivity_sweep: SweepResult | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def long_runs(self) -> list[LongRun]:
        if self.long is None:
            return []
        out = []
        for row in self.long.rows():
            cells = [c for c in self.long.cells if c.lr == row.lr]
            bad = [next((i for i, x in enumerate(c.losses) if not math.isfinite(x)), None) for c in cells]
            bad = [b for b in bad if b is not None]
            out.append(LongRun(row.lr, row.final, row.min_loss, row.min_step, min(bad) if bad else None,
                               row.findings, row.n))
        return out

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"task": self.plan.task, "out_dir": str(self.out_dir), "seconds": self.seconds}
        if self.grid is not None:
            d["success_rate"] = {f"{r.lr:g}": r.success_rate for r in self.grid.rows()}
            d["loss_at"] = {f"{r.lr:g}": {str(k): v for k, v in r.loss_at.items()} | {"min": r.min_loss, "min_step": r.min_step}
                            for r in self.grid.rows()}
            d["recommended_lr"] = self.grid.recommended_lr
        if self.long is not None:
            d["long_runs"] = {f"{x.lr:g}": {"final": x.final, "min": x.min_loss, "blew_up_at": x.blew_up_at}
                              for x in self.long_runs()}
        if self.sensitivity is not None:
            s = self.sensitivity
            d["seed_sensitivity"] = {"lr": s.lr, "n": s.n, "success_rate": s.success_rate,
                                     "interval": list(s.success_interval), "final_median": s.final_median,
                                     "final_min": s.final_min, "final_max": s.final_max, "cv": s.final_cv}
        return _strict(d)


def _strict(obj: Any) -> Any:
    """JSON-ready: non-finite floats become None (strict JSON has no NaN/Infinity)."""
    if isinstance(obj, dict):
        return {str(k): _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    return str(obj)


def run_experiments(plan: ExperimentsPlan, out: str | Path, where: Placement = Placement(),
                    progress: bool = True) -> ExperimentsResult:
    """Run the experiments of ``plan`` (all four by default) into ``out`` on ``where``."""
    from lrdoctor.backends import get_backend

    backend = get_backend(where.backend, workers=where.workers, address=where.address,
                          num_cpus=where.num_cpus, num_gpus=where.num_gpus)
    try:  # one backend for the three sweeps: a pool's workers (and their imports) start once
        return _run(plan, Path(out), backend, progress)
    finally:
        backend.close()


def _run(plan: ExperimentsPlan, out: Path, backend: Any, progress: bool) -> ExperimentsResult:
    import time

    res = ExperimentsResult(plan=plan, out_dir=out)
    common = dict(backend=backend, progress=progress, task_kwargs=plan.task_kwargs)
    only = set(plan.only)
    needs_grid = bool(only & {Experiment.success, Experiment.losses}) or \
        (Experiment.seeds in only and plan.chosen_lr is None)
    if needs_grid:
        t = time.perf_counter()
        res.grid = sweep(plan.task, plan.lrs, plan.seeds, plan.steps, out=out / "grid", **common)
        res.seconds["grid"] = time.perf_counter() - t
    if Experiment.long in only:
        t = time.perf_counter()
        res.long = sweep(plan.task, plan.lrs, plan.long_seeds, plan.long_steps, out=out / "long",
                         static_batches=STATIC_BATCHES, **common)
        res.seconds["long"] = time.perf_counter() - t
    if Experiment.seeds in only:
        lr = plan.chosen_lr if plan.chosen_lr is not None else (res.grid.recommended_lr if res.grid else None)
        if lr is not None:
            t = time.perf_counter()
            sens_dir = out / "seeds"
            if res.grid is not None:  # the grid's cells at this LR are the first seeds: reuse, do not retrain
                _copy_cells(res.grid, lr, SweepStore(sens_dir))
            res.sensitivity_sweep = sweep(plan.task, [lr], max(plan.sensitivity_seeds, 1), plan.steps,
                                          out=sens_dir, **common)
            res.sensitivity = res.sensitivity_sweep.seed_sensitivity(lr)
            res.seconds["seeds"] = time.perf_counter() - t
    return res


def _copy_cells(grid: SweepResult, lr: float, store: SweepStore) -> None:
    store.cells_dir.mkdir(parents=True, exist_ok=True)
    src = SweepStore(grid.out_dir)
    for c in grid.cells:
        if c.lr == lr and not c.error:
            path = src.cells_dir / f"{cell_name(c.lr, c.seed)}.json"
            if path.is_file():
                shutil.copyfile(path, store.cells_dir / path.name)


def render_experiments(res: ExperimentsResult) -> str:
    p = res.plan
    out: list[str] = [f"the post-mortem's four experiments on {p.task}"]
    if res.grid is not None:
        rows = res.grid.rows()
        if Experiment.success in p.only:
            out += [f"\n1. success rate over {p.seeds} seeds per LR ({p.steps} steps; success: final loss < initial loss)",
                    format_table(["lr", "success", "failures: seed first->last"],
                                 [[f"{r.lr:g}", f"{r.n_success}/{r.n} ({r.success_rate:.0%})",
                                   ", ".join(f"{f.seed}: {fmt(f.first)}->{fmt(f.last)}" for f in r.failures[:4]) or "-"]
                                  for r in rows])]
        if Experiment.losses in p.only:
            steps = list(rows[0].loss_at) if rows else []
            out += [f"\n2. loss at steps {'/'.join(map(str, steps))} and the best step (median over seeds)",
                    format_table(["lr"] + [f"loss@{s}" for s in steps] + ["min loss", "best step", "findings (seeds)"],
                                 [[f"{r.lr:g}"] + [fmt(r.loss_at[s]) for s in steps]
                                  + [fmt(r.min_loss), str(r.min_step if r.min_step is not None else "-"),
                                     ", ".join(f"{k} {v}" for k, v in r.findings.items()) or "-"] for r in rows])]
        rec = res.grid.recommendation
        out.append(f"\nrecommended lr: {rec.lr:g} -- {rec.reason}" if rec else "\nno LR succeeded on any seed")
    if res.long is not None:
        out += [f"\n3. long runs on static data ({p.long_steps} steps, {p.long_seeds} seeds, "
                f"at most {STATIC_BATCHES} fixed batches)",
                format_table(["lr", "final loss", "min loss (step)", "first non-finite step", "findings (seeds)"],
                             [[f"{x.lr:g}", fmt(x.final), f"{fmt(x.min_loss)} ({x.min_step if x.min_step is not None else '-'})",
                               str(x.blew_up_at) if x.blew_up_at is not None else "none",
                               ", ".join(f"{k} {v}" for k, v in x.findings.items()) or "-"] for x in res.long_runs()])]
    if res.sensitivity is not None:
        s = res.sensitivity
        lo, hi = s.success_interval
        out += [f"\n4. seed sensitivity at lr {s.lr:g} ({s.n} seeds, {p.steps} steps)",
                f"success {s.success_rate:.0%} (95% CI {lo:.0%}-{hi:.0%}); final loss median {fmt(s.final_median)}, "
                f"range {fmt(s.final_min)}-{fmt(s.final_max)}, cv {s.final_cv:.2f}; best seed {s.best_seed}, "
                f"worst seed {s.worst_seed}"]
    out.append(f"\nsweeps (cells, Monitor logs): {res.out_dir}; time: "
               + ", ".join(f"{k} {v:.0f} s" for k, v in res.seconds.items()))
    return "\n".join(out)
