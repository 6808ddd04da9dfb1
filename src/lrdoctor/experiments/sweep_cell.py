"""One cell of a sweep: a real training run at one (LR, seed), logged by the Monitor and
diagnosed from that log. Runs inside a worker; returns plain JSON-able data."""

from __future__ import annotations

import itertools
import logging
import math
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

__all__ = ["CellSpec", "CellResult", "run_cell", "seed_everything", "cell_name"]


@dataclass(frozen=True)
class CellSpec:
    """Everything a worker needs to run one cell (strings and numbers only: it travels)."""

    task: str
    lr: float
    seed: int
    steps: int
    log_dir: str
    task_kwargs: Mapping[str, Any] = field(default_factory=dict)
    #: stop a run at its first non-finite loss: every later step is NaN too, and costs time
    stop_on_nonfinite: bool = True
    #: cycle only the first N batches of the task's data (static data); None: the task's own data
    static_batches: int | None = None


@dataclass
class CellResult:
    """What one run produced: its loss per step, its evals and the findings on its log."""

    lr: float
    seed: int
    steps: int
    #: the training loss at steps 0 .. ``steps``: the loss before each update, then the loss
    #: after the last one (``steps + 1`` values; fewer when the run stopped at a NaN)
    losses: list[float]
    #: eval step -> {metric: value}, from ``Task.eval_fn``
    evals: dict[str, dict[str, float]] = field(default_factory=dict)
    #: lrdoctor.diagnose on the run's Monitor log: [{kind, severity, start_step, summary}]
    findings: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    log_dir: str = ""
    #: set when the run raised (after the backend's retry); the losses are then empty
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["losses"] = [_json_float(x) for x in self.losses]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "CellResult":
        d = dict(d)
        d["losses"] = [float(x) if x is not None else math.nan for x in d.get("losses", [])]
        return cls(**d)


def _json_float(x: float) -> float | str | None:
    # strict JSON has no NaN/inf: NaN -> null, inf -> "inf"/"-inf" (float() reads both back)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def cell_name(lr: float, seed: int) -> str:
    """A file-system-safe, unique name for a cell: ``lr=0.001_seed=3``."""
    return f"lr={lr:.6g}_seed={seed}"


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA) so that a cell is repeatable."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _evaluate(task: Any, model: Any) -> dict[str, float]:
    import torch

    was = model.training
    model.eval()
    with torch.no_grad():
        got = task.eval_fn(model)
    model.train(was)
    if isinstance(got, Mapping):
        return {f"eval_{k}" if not str(k).startswith("eval") else str(k): float(v) for k, v in got.items()}
    return {"eval_loss": float(got)}


def run_cell(spec: CellSpec) -> dict[str, Any]:
    """Train one run and diagnose its Monitor log. Returns :meth:`CellResult.to_json`."""
    quiet = logging.getLogger("lrdoctor")  # the findings go to the table, not to the terminal of
    level = quiet.level                    # every worker (they would garble the progress bar)
    quiet.setLevel(logging.ERROR)
    try:
        return _train_and_diagnose(spec)
    finally:
        quiet.setLevel(level)


def _split(out: Any) -> tuple[Any, Mapping[str, Any]]:
    """``loss`` or ``(loss, {name: value})`` -> (loss, metrics); tensors detached."""
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], Mapping):
        return out[0], {k: (v.detach() if hasattr(v, "detach") else v) for k, v in out[1].items()}
    return out, {}


def _to(batch: Any, device: str) -> Any:
    import torch

    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, Mapping):
        return {k: _to(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to(v, device) for v in batch)
    return batch


def _train_and_diagnose(spec: CellSpec) -> dict[str, Any]:
    import torch

    import lrdoctor
    from lrdoctor.experiments.task import make_task

    t0 = time.perf_counter()
    log_dir = Path(spec.log_dir)
    shutil.rmtree(log_dir, ignore_errors=True)  # a run killed mid-way left a partial log
    seed_everything(spec.seed)
    task = make_task(spec.task, spec.task_kwargs)
    model = task.model_fn()
    if task.device:
        model = model.to(task.device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = task.optimizer_fn(params, spec.lr)
    sched = task.scheduler_fn(opt, spec.steps) if task.scheduler_fn else None
    mon = lrdoctor.Monitor(opt, model=model, scheduler=sched, log_to=str(log_dir),
                           config={**task.config, "lr": spec.lr, "seed": spec.seed, "steps": spec.steps, "task": spec.task})
    losses: list[float] = []
    evals: dict[str, dict[str, float]] = {}
    data = iter(task.stream(spec.seed))
    if task.device:
        data = (_to(b, task.device) for b in data)
    if spec.static_batches:
        fixed = [next(data) for _ in range(spec.static_batches)]
        data = (fixed[i % len(fixed)] for i in itertools.count())
    try:
        for step in range(spec.steps):
            batch = next(data)
            opt.zero_grad(set_to_none=True)
            loss, extra = _split(task.loss_fn(model, batch))
            value = float(loss.detach())
            losses.append(value)
            if not math.isfinite(value):
                mon.step(loss)  # the Monitor sees the NaN (nonfinite); no update from it
                if spec.stop_on_nonfinite:
                    break
                continue
            loss.backward()
            if task.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(params, task.max_grad_norm)
            opt.step()
            if sched is not None:
                sched.step()
            metrics: dict[str, Any] = dict(extra)
            last = step == spec.steps - 1
            if task.eval_fn is not None and (last or (task.eval_every and (step + 1) % task.eval_every == 0)):
                evals[str(step)] = _evaluate(task, model)
                metrics.update(evals[str(step)])
            mon.step(loss, **metrics)
        else:
            # the loss after the last update ("loss at step 100" of a 100-step run): one more
            # forward pass on the next batch, no update, not a Monitor step
            with torch.no_grad():
                losses.append(float(_split(task.loss_fn(model, next(data)))[0]))
    finally:
        mon.close()
    findings: list[dict[str, Any]] = []
    try:
        report = lrdoctor.diagnose(lrdoctor.read(log_dir))
        findings = [{"kind": f.kind, "severity": f.severity.value, "start_step": None if f.start_step is None else int(f.start_step),
                     "summary": str(f.summary)} for f in report.findings]
    except lrdoctor.InputError as err:  # e.g. a run that stopped before its first flush
        findings = [{"kind": "unreadable_log", "severity": "info", "start_step": None, "summary": str(err)}]
    return CellResult(lr=spec.lr, seed=spec.seed, steps=spec.steps, losses=losses, evals=evals,
                      findings=findings, seconds=time.perf_counter() - t0, log_dir=str(log_dir)).to_json()
