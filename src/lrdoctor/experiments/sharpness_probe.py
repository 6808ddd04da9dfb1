"""A sharpness probe for the training loop: measure on a declared schedule, warm-started.

In a :class:`lrdoctor.Monitor` (the measurements go to its log, the finding to its report):

>>> probe = lrdoctor.SharpnessProbe(loss_fn, probe_batch, every=100)        # doctest: +SKIP
>>> mon = lrdoctor.Monitor(optimizer, model=model, probes=[probe])         # doctest: +SKIP

or standalone, called from any loop:

>>> for step in range(n_steps):                                             # doctest: +SKIP
...     train_step(...)
...     probe(model, optimizer, step)            # measures when the schedule says so

Cost (stated, and counted in :attr:`SharpnessProbe.total_hvps`): one Hessian-vector product
costs about two gradient evaluations on the probe batch. A cold measurement takes ~10-35
products (Lanczos to 1e-6 relative error; see docs/benchmarks.md); warm-started from the
previous eigenvector, 2-4 products while the top direction moves slowly (measured 2.2 per
measurement on the edge-of-stability net, every 100 steps). With Adam the preconditioned
sharpness doubles that (raw and preconditioned are both measured). The Monitor's overhead
is measured in bench/sharpness_monitor.py (docs/sharpness.md).

The probe only reads the model and optimizer: parameters, gradients, optimizer state and
BatchNorm statistics are untouched.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from lrdoctor.experiments.lanczos import DEFAULT_MAX_ITER
from lrdoctor.experiments.sharpness import SharpnessResult, sharpness
from lrdoctor.experiments.stability import preconditioner_settled
from lrdoctor.monitor.probes import Probe, StepContext

__all__ = ["COLUMNS", "PROBE_EVERY", "PROBE_TOL", "SharpnessProbe", "SharpnessRecord"]

log = logging.getLogger("lrdoctor")

#: Relative tolerance of probe measurements. 1e-4 is ample for a stability check (the
#: bound's inputs, the LR and the edge-of-stability band of 0.97-1.08, are far coarser) and
#: halves the warm-started cost compared to 1e-6 (measured on the edge-of-stability net).
PROBE_TOL: float = 1e-4
#: Default probe period in steps: the edge of stability develops over hundreds of steps
#: (Cohen et al. 2021 measure every 100 steps on their small nets), so every 100 steps
#: resolves it at ~2% overhead in HVPs on full-batch runs.
PROBE_EVERY: int = 100

#: The Monitor log's columns written on the probe's steps (record name -> column).
COLUMNS: dict[str, str] = {
    "lambda_max": "sharpness",
    "preconditioned_lambda_max": "sharpness_preconditioned",
    "max_stable_lr": "max_stable_lr",
    "lr_ratio": "lr_over_max_stable_lr",
    "hvps": "sharpness_hvps",
}


@dataclass(frozen=True)
class SharpnessRecord:
    """One measurement, as the probe logs it."""

    step: int
    lambda_max: float
    preconditioned_lambda_max: float | None
    lr: float | None
    max_stable_lr: float | None
    hvps: int
    loss: float

    @property
    def lr_ratio(self) -> float | None:
        """``lr / max_stable_lr`` (above 1: beyond the bound)."""
        if self.lr is None or not self.max_stable_lr:
            return None
        return self.lr / self.max_stable_lr


@dataclass
class SharpnessProbe(Probe):
    """Measures sharpness of ``loss_fn`` on a fixed ``batch`` every ``every`` steps (or when
    ``schedule(step)`` is true), warm-starting Lanczos from the previous eigenvector.

    As a Monitor probe (``Monitor(..., model=model, probes=[probe])``) it measures in
    ``Monitor.step``, after the optimizer step, at the weights and LR the next step uses; the
    Monitor's step counter is its ``step``. It writes :data:`COLUMNS` into the log and adds an
    ``lr_beyond_stability`` finding to the Monitor's report when the LR exceeded the bound.
    With Adam, measurements within its first ``1/(1 - beta1)`` steps are logged but never
    count as beyond the bound (:func:`~lrdoctor.experiments.stability.preconditioner_settled`).
    """

    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    batch: Sequence[torch.Tensor]
    every: int = PROBE_EVERY
    schedule: Callable[[int], bool] | None = None
    tol: float = PROBE_TOL
    max_iter: int = DEFAULT_MAX_ITER
    records: list[SharpnessRecord] = field(default_factory=list)
    last: SharpnessResult | None = None
    name: str = "sharpness"
    cost: str = ("one Lanczos run on the probe batch on its steps: 10-35 Hessian-vector products cold, "
                 "2-20 warm-started (twice that with Adam); one product ~ 2 gradient evaluations")
    _vec: torch.Tensor | None = field(default=None, repr=False)
    _pvec: torch.Tensor | None = field(default=None, repr=False)
    #: the measurement with the largest lr / max_stable_lr, and the steps beyond the bound
    _worst: tuple[SharpnessResult, int] | None = field(default=None, repr=False)
    _beyond: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.schedule is None and self.every < 1:
            raise ValueError(f"The 'every' parameter of SharpnessProbe must be >= 1. Got {self.every!r} instead.")

    def due(self, step: int | StepContext) -> bool:  # type: ignore[override]
        """Whether the declared schedule measures at ``step`` (a step number, or the Monitor's
        :class:`~lrdoctor.monitor.probes.StepContext`)."""
        if isinstance(step, StepContext):
            step = step.step
        return bool(self.schedule(step)) if self.schedule is not None else step % self.every == 0

    def __call__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None, step: int,
                 lr: float | None = None) -> SharpnessResult | None:
        """Measure if due at ``step``; returns the result, or None when not due."""
        if not self.due(step):
            return None
        res = sharpness(model, self.loss_fn, self.batch, optimizer, lr=lr, tol=self.tol, max_iter=self.max_iter,
                        init=self._vec, init_preconditioned=self._pvec)
        if not (math.isfinite(res.lambda_max) and math.isfinite(res.loss)):
            return res  # a run that already went non-finite: nothing to warm-start from, no bound
        self._vec, self._pvec = res.eigenvector, res.preconditioned_eigenvector
        self.last = res
        self.records.append(SharpnessRecord(step, res.lambda_max, res.preconditioned_lambda_max, res.lr,
                                            res.max_stable_lr, res.hvps, res.loss))
        ratio = res.lr_ratio
        if not preconditioner_settled(optimizer, res.rule):
            ratio = None  # Adam's first steps: the frozen-preconditioner bound does not apply yet
        if ratio is not None and ratio > 1.0:
            if not self._beyond:
                log.warning("lrdoctor: lr %.3g is %.2fx the stability bound %.3g at step %s (sharpness %.4g)",
                            res.lr, ratio, res.max_stable_lr, step, res.relevant_lambda)
            self._beyond.append(step)
            if self._worst is None or ratio > (self._worst[0].lr_ratio or 0.0):
                self._worst = (res, step)
        return res

    # ---- the Monitor's probe interface --------------------------------------------------------
    def record(self, ctx: StepContext, row: dict[str, Any]) -> None:
        """Measure at the Monitor's step and write :data:`COLUMNS` into its row."""
        if ctx.model is None:
            raise ValueError("the sharpness probe needs the model: pass Monitor(optimizer, model=model, ...)")
        res = self(ctx.model, ctx.optimizer, ctx.step)
        if res is None or not self.records or self.records[-1].step != ctx.step:
            return
        rec = self.records[-1]
        for attr, col in COLUMNS.items():
            v = getattr(rec, attr)
            if v is not None:
                row[col] = float(v)

    def findings(self) -> list:
        """``lr_beyond_stability`` when any measurement found the LR beyond its bound: the
        evidence of the worst one (largest ``lr / max_stable_lr``), spanning the first to the
        last step measured beyond it."""
        if self._worst is None:
            return []
        res, step = self._worst
        f = res.to_finding(step=step)
        if f is None:
            return []
        summary = (f"{f.summary}; beyond the bound at {len(self._beyond)} of {len(self.records)} measurements "
                   f"(steps {self._beyond[0]}-{self._beyond[-1]}), worst at step {step}")
        return [dataclasses.replace(f, start_step=float(self._beyond[0]), end_step=float(self._beyond[-1]),
                                    summary=summary)]

    @property
    def total_hvps(self) -> int:
        """Hessian-vector products spent so far (each ~2 gradient evaluations on the batch)."""
        return sum(r.hvps for r in self.records)
