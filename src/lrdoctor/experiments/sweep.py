"""``lrdoctor.sweep``: train every (LR, seed) cell, diagnose each run, and pick the LR.

    result = lrdoctor.sweep("mytask:make", lrs=[1e-4, 1e-3, 1e-2], seeds=10, steps=100)
    print(result.table()); result.recommended_lr; result.plot("sweep.png")

Cells run on a backend (:mod:`lrdoctor.backends`: a local process pool by default, Ray for a
cluster), are persisted one JSON file each as they finish (``out``), and a killed sweep is
picked up with :func:`resume_sweep` (``lrdoctor sweep --resume DIR``).
"""

from __future__ import annotations

import math
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence, Union

import numpy as np

from lrdoctor.errors import InputError
from lrdoctor.experiments.sweep_cell import CellResult, CellSpec, cell_name, run_cell
from lrdoctor.experiments.sweep_store import SweepPlan, SweepStore
from lrdoctor.experiments.sweep_summary import (Criterion, LrSummary, Recommendation, SeedSensitivity, final_below,
                                          final_below_initial, recommend, seed_sensitivity, summarize_lr)

__all__ = ["sweep", "resume_sweep", "SweepResult", "Placement", "DEFAULT_LOSS_STEPS", "THRESHOLD_FRACTION", "task_ref"]

DEFAULT_LOSS_STEPS = (0, 20, 100)
"""Steps whose loss the table shows: the ones post-mortem #1 compared across LRs."""

THRESHOLD_FRACTION = 0.5
"""Default "steps to threshold" level, as a fraction of the median initial loss of the sweep:
halving the loss is a milestone every healthy run of the post-mortem passed early. A
convention of this tool, not a number from the post-mortem; pass ``threshold=`` to set it."""

TaskLike = Union[str, Callable[..., Any]]


def task_ref(task: TaskLike) -> str:
    """A task factory as the ``module:function`` string workers import (a file path made
    absolute, so ``--resume`` works from any directory)."""
    if isinstance(task, str):
        from lrdoctor.experiments.task import parse_task_ref

        target, func = parse_task_ref(task)
        if target.endswith(".py") or "/" in target or "\\" in target:
            return f"{Path(target).resolve()}:{func}"
        return task
    name = getattr(task, "__qualname__", "")
    module = getattr(task, "__module__", "")
    if not name.isidentifier():
        raise InputError(repr(task), "a task factory must be a module-level function (workers import it by name)")
    if module == "__main__":
        main = getattr(sys.modules["__main__"], "__file__", None)
        if not main:
            raise InputError(name, "a task defined in an interactive session cannot be imported by workers; put it in a file")
        return f"{Path(main).resolve()}:{name}"
    return f"{module}:{name}"


@dataclass
class SweepResult:
    """The cells of a sweep and what they say: table, recommended LR, seed sensitivity, plots."""

    plan: SweepPlan
    cells: list[CellResult]
    out_dir: Path
    criterion: Criterion = field(default=final_below_initial, repr=False)

    @property
    def threshold(self) -> float:
        if self.plan.threshold is not None:
            return self.plan.threshold
        firsts = [c.losses[0] for c in self.cells if c.losses and math.isfinite(c.losses[0])]
        return THRESHOLD_FRACTION * float(np.median(firsts)) if firsts else math.nan

    def rows(self) -> list[LrSummary]:
        """One summary per LR, in increasing LR."""
        loss_steps = self.plan.loss_steps or [s for s in DEFAULT_LOSS_STEPS if s <= self.plan.steps]
        return [summarize_lr(lr, [c for c in self.cells if c.lr == lr], self.plan.steps, self.criterion,
                             loss_steps, self.threshold) for lr in sorted(set(self.plan.lrs))]

    @property
    def recommendation(self) -> Recommendation | None:
        return recommend(self.rows())

    @property
    def recommended_lr(self) -> float | None:
        rec = self.recommendation
        return rec.lr if rec else None

    def seed_sensitivity(self, lr: float | None = None) -> SeedSensitivity | None:
        """Spread over seeds at ``lr`` (default: the recommended LR)."""
        lr = self.recommended_lr if lr is None else lr
        return None if lr is None else seed_sensitivity(lr, self.cells, self.plan.steps, self.criterion)

    def table(self) -> str:
        """The post-mortem's table as text, then the recommendation and the seed sensitivity."""
        from lrdoctor.experiments.sweep_render import render_sweep

        return render_sweep(self)

    def to_dataframe(self, per_cell: bool = False) -> Any:
        """A pandas DataFrame: one row per LR (the table), or per cell with ``per_cell=True``."""
        import pandas as pd

        if per_cell:
            from lrdoctor.experiments.sweep_summary import final_loss

            return pd.DataFrame([{
                "lr": c.lr, "seed": c.seed, "success": bool(not c.error and c.losses and self.criterion(c.losses)),
                "first_loss": c.losses[0] if c.losses else math.nan,
                "final_loss": final_loss(c.losses, self.plan.steps + 1),
                "min_loss": float(np.nanmin(c.losses)) if c.losses and np.isfinite(c.losses).any() else math.nan,
                "steps_run": len(c.losses), "findings": ",".join(f["kind"] for f in c.findings),
                "error": c.error, "seconds": c.seconds, "log_dir": c.log_dir,
            } for c in sorted(self.cells, key=lambda c: (c.lr, c.seed))])
        rows = []
        for r in self.rows():
            row: dict[str, Any] = {"lr": r.lr, "success_rate": r.success_rate, "n_seeds": r.n}
            row.update({f"loss@{s}": v for s, v in r.loss_at.items()})
            row.update({"final_loss": r.final, "min_loss": r.min_loss, "min_step": r.min_step,
                        "steps_to_threshold": r.steps_to_threshold,
                        "failures": "; ".join(f"seed {f.seed}: {f.first:.4g} -> {f.last:.4g}" for f in r.failures),
                        "findings": ", ".join(f"{k} {v}/{r.n}" for k, v in r.findings.items())})
            rows.append(row)
        return pd.DataFrame(rows)

    def plot(self, path: str | Path | None = None) -> Any:
        """Loss curves per LR (median over seeds, band from min to max) and success-rate bars.
        Returns the matplotlib Figure; saved to ``path`` when given."""
        from lrdoctor.experiments.sweep_plot import plot_sweep

        return plot_sweep(self, path)


def _seeds(seeds: int | Iterable[int]) -> list[int]:
    if isinstance(seeds, int):
        if seeds < 1:
            raise InputError("--seeds", f"The 'seeds' parameter must be >= 1. Got {seeds} instead.")
        return list(range(seeds))
    out = [int(s) for s in seeds]
    if not out:
        raise InputError("--seeds", "The 'seeds' parameter must name at least one seed.")
    return out


def _check_lrs(lrs: Iterable[float]) -> list[float]:
    out = [float(x) for x in lrs]
    if not out or any(not (math.isfinite(x) and x > 0) for x in out):
        raise InputError("--lrs", f"The 'lrs' parameter must be positive finite numbers. Got {out} instead.")
    return sorted(set(out))


def sweep(
    task: TaskLike,
    lrs: Iterable[float],
    seeds: int | Iterable[int],
    steps: int,
    backend: Any = "local",
    *,
    out: str | Path | None = None,
    task_kwargs: Mapping[str, Any] | None = None,
    loss_steps: Sequence[int] | None = None,
    threshold: float | None = None,
    success_below: float | None = None,
    success: Criterion | None = None,
    static_batches: int | None = None,
    workers: int | None = None,
    address: str | None = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
    progress: bool = True,
) -> SweepResult:
    """Train ``task`` at every LR in ``lrs`` with every seed (``seeds``: a count or a list), for
    ``steps`` steps each, on ``backend`` ("local" pool, "ray", or "serial" in this process; or a
    backend object from :func:`lrdoctor.backends.get_backend`, reused across sweeps and left open).

    ``out``: the sweep directory (plan, one JSON per cell, the Monitor logs); default a new
    temporary directory. ``success``: a criterion ``losses -> bool`` (default: final loss <
    initial loss; ``success_below=x``: final loss < x). ``task_kwargs`` go to the factory.
    """
    if steps < 1:
        raise InputError("--steps", f"The 'steps' parameter must be >= 1. Got {steps} instead.")
    plan = SweepPlan(task=task_ref(task), lrs=_check_lrs(lrs), seeds=_seeds(seeds), steps=int(steps),
                     task_kwargs=dict(task_kwargs or {}),
                     loss_steps=[int(s) for s in (loss_steps if loss_steps is not None else DEFAULT_LOSS_STEPS)
                                 if 0 <= int(s) <= steps],
                     threshold=threshold, success_below=success_below, static_batches=static_batches)
    from lrdoctor.experiments.task import check_task_kwargs, load_factory

    # fail here, once, with one line, rather than in every worker
    check_task_kwargs(load_factory(plan.task), plan.task_kwargs, plan.task)
    directory = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="lrdoctor-sweep-"))
    store = SweepStore(directory)
    if (directory / "sweep.json").exists():
        old = store.load_plan()
        if (old.task, old.steps, old.task_kwargs, old.static_batches) != \
                (plan.task, plan.steps, plan.task_kwargs, plan.static_batches):
            raise InputError(directory, "holds a different sweep (task, steps or task arguments differ); "
                                        "use --resume to continue it or choose another --out")
    store.save_plan(plan)
    return _execute(plan, store, Placement(backend, workers, address, num_cpus, num_gpus), success, progress)


def resume_sweep(directory: str | Path, backend: str = "local", *, success: Criterion | None = None,
                 workers: int | None = None, address: str | None = None, num_cpus: float = 1,
                 num_gpus: float = 0, progress: bool = True) -> SweepResult:
    """Continue the sweep saved in ``directory``: cells already finished are not run again."""
    store = SweepStore(directory)
    plan = store.load_plan()
    return _execute(plan, store, Placement(backend, workers, address, num_cpus, num_gpus), success, progress)


@dataclass(frozen=True)
class Placement:
    """Where cells run: the backend's name and its options (see :func:`lrdoctor.backends.get_backend`)."""

    #: "local", "ray", "serial", or a backend object (kept open: its owner closes it)
    backend: Any = "local"
    workers: int | None = None
    address: str | None = None
    num_cpus: float = 1
    num_gpus: float = 0


def _execute(plan: SweepPlan, store: SweepStore, where: Placement, success: Criterion | None,
             progress: bool) -> SweepResult:
    from lrdoctor.backends import get_backend
    from lrdoctor.experiments.sweep_progress import SweepProgress

    criterion = success or (final_below(plan.success_below) if plan.success_below is not None else final_below_initial)
    done = {k: c for k, c in store.load_cells().items() if not c.error}
    wanted = {cell_name(lr, s) for lr, s in plan.cells()}
    specs = [CellSpec(task=plan.task, lr=lr, seed=s, steps=plan.steps, log_dir=str(store.log_dir(lr, s).resolve()),
                      task_kwargs=plan.task_kwargs, static_batches=plan.static_batches)
             for lr, s in plan.cells() if cell_name(lr, s) not in done]
    owned = isinstance(where.backend, str)  # a backend object passed in stays open for its owner
    backend = get_backend(where.backend, workers=where.workers, address=where.address, num_cpus=where.num_cpus,
                          num_gpus=where.num_gpus) if owned else where.backend
    fresh: list[CellResult] = []
    try:
        with SweepProgress(total=len(wanted), done=len(wanted & set(done)), enabled=progress) as bar:
            _collect(backend.run(run_cell, specs), specs, store, criterion, bar, fresh)
    finally:
        if owned:
            backend.close()
    cells = [c for k, c in done.items() if k in wanted] + fresh
    return SweepResult(plan=plan, cells=cells, out_dir=store.dir, criterion=criterion)


def _collect(outcomes: Iterable[Any], specs: list[CellSpec], store: SweepStore, criterion: Criterion,
             bar: Any, fresh: list[CellResult]) -> None:
    """Persist each cell the moment it finishes and advance the bar."""
    for outcome in outcomes:
        spec = specs[outcome.index]
        if outcome.ok:
            data = outcome.value
        else:
            data = CellResult(lr=spec.lr, seed=spec.seed, steps=spec.steps, losses=[],
                              error=outcome.error, log_dir=spec.log_dir).to_json()
        store.save_cell(data)
        cell = CellResult.from_json(data)
        fresh.append(cell)
        bar.advance(failed=bool(cell.error) or not (cell.losses and criterion(cell.losses)))
