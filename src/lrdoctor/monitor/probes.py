"""Probes: the small measurements the Monitor takes inside the training loop (Cockpit's
quantities, at our scale).

Each probe declares

* ``when``: a schedule, a predicate on the step (:class:`~lrdoctor.monitor.signals.Every`,
  :class:`~lrdoctor.monitor.signals.LogSpaced`, :data:`ALWAYS`), so an expensive one runs on
  few steps;
* ``cost``: what one measurement costs (read by docs/monitor.md and the benchmark), so the
  price of a default is visible where it is set;

and writes 0-d tensors (kept on the device: no host sync) or floats into the step's row at
one of three moments, each on the steps the probe is due: ``before`` (the optimizer's pre-step
hook: gradients exist, weights not yet updated), ``after`` (the post-step hook) and ``record``
(``Monitor.step``). A probe
never raises into the loop: the Monitor switches a failing probe off and says so once.
A probe may also report findings of its own (:meth:`Probe.findings`), which the Monitor adds
to its report. Probes beyond the defaults are passed as ``Monitor(..., probes=[...])``:
``lrdoctor.SharpnessProbe`` (the stability bound) and
:class:`lrdoctor.monitor.probe_noise_scale.NoiseScaleProbe` (the gradient noise scale).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from lrdoctor.monitor.signals import Every, LogSpaced, grad_norm, layer_grad_norms

__all__ = [
    "ALWAYS",
    "AmpScale",
    "AppliedLR",
    "GradNorm",
    "LayerNorms",
    "Probe",
    "ScheduledLR",
    "StepContext",
    "UpdateRatio",
    "default_probes",
]

Schedule = Callable[[int], bool]


@dataclass(frozen=True)
class Always:
    """Due on every step."""

    def __call__(self, step: int) -> bool:
        return True


#: The schedule of a probe that runs on every step.
ALWAYS = Always()


@dataclass
class StepContext:
    """What the probes of one step share: the training objects and values measured once."""

    optimizer: torch.optim.Optimizer
    model: torch.nn.Module | None = None
    scheduler: Any = None
    scaler: Any = None
    step: int = 0
    #: (pre-clip total norm, max_norm) from ``clip_grad_norm_`` over this optimizer's parameters
    clip: tuple[torch.Tensor, float] | None = None
    #: the total gradient norm, when a probe already took it this step (LayerNorms)
    total_norm: torch.Tensor | None = None
    #: True once the optimizer's pre-step hook ran for this step (False: AMP skipped the step)
    stepped: bool = False
    _params: list[torch.Tensor] | None = field(default=None, repr=False)

    def params(self) -> list[torch.Tensor]:
        """The optimizer's parameters (listed once per step)."""
        if self._params is None:
            self._params = [p for g in self.optimizer.param_groups for p in g["params"]]
        return self._params

    def next_step(self, step: int) -> None:
        self.step, self.clip, self.total_norm, self.stepped, self._params = step, None, None, False, None


class Probe:
    """Base class: override ``before``, ``after`` and/or ``record``; set ``name``, ``cost``
    and ``when``. ``due(ctx)`` decides whether the probe runs this step (default: ``when``)."""

    name: str = "probe"
    cost: str = ""
    when: Schedule = ALWAYS

    def due(self, ctx: StepContext) -> bool:
        return self.when(ctx.step)

    def before(self, ctx: StepContext, row: dict[str, Any]) -> None:
        """In the optimizer's pre-step hook."""

    def after(self, ctx: StepContext, row: dict[str, Any]) -> None:
        """In the optimizer's post-step hook, on the steps the probe is due (decided before the
        update, so ``before`` and ``after`` of one step always pair up)."""

    def record(self, ctx: StepContext, row: dict[str, Any]) -> None:
        """In ``Monitor.step``, after the optimizer step (or after a skipped one)."""

    def findings(self) -> list[Any]:
        """Runtime findings only this probe can make (a measurement no log holds, e.g. the
        sharpness bound); the Monitor adds them to its report. Default: none."""
        return []


def as_float(x: Any) -> float:
    return float(x.item()) if isinstance(x, torch.Tensor) else float(x)


class AppliedLR(Probe):
    """``lr`` (param group 0) and ``lr/group<i>``: the LR the optimizer applies."""

    name, cost = "applied_lr", "reads one Python float per param group"

    def before(self, ctx: StepContext, row: dict[str, Any]) -> None:
        groups = ctx.optimizer.param_groups
        row["lr"] = as_float(groups[0]["lr"])
        for i, g in enumerate(groups[1:], start=1):
            row[f"lr/group{i}"] = as_float(g["lr"])


class ScheduledLR(Probe):
    """``scheduled_lr``: the LR the scheduler set (``get_last_lr()[0]``); the runtime
    overwrite check compares it with the applied one."""

    name, cost = "scheduled_lr", "reads one Python float"

    def before(self, ctx: StepContext, row: dict[str, Any]) -> None:
        if ctx.scheduler is not None and hasattr(ctx.scheduler, "get_last_lr"):
            row["scheduled_lr"] = as_float(ctx.scheduler.get_last_lr()[0])


@dataclass
class LayerNorms(Probe):
    """``grad_norm/<layer>`` for the ``top`` largest layers (``grad_explosion`` names the layer);
    the same per-parameter pass gives the total norm, which :class:`GradNorm` then reuses."""

    when: Schedule = field(default_factory=lambda: LogSpaced(per_decade=5, max_gap=500))
    top: int = 3
    name: str = "layer_norms"
    cost: str = "one fused torch._foreach_norm pass and one small top-k read-back (a sync) on its steps"

    def due(self, ctx: StepContext) -> bool:
        return ctx.model is not None and self.when(ctx.step)

    def before(self, ctx: StepContext, row: dict[str, Any]) -> None:
        got = layer_grad_norms(list(ctx.model.named_parameters()), self.top)  # type: ignore[union-attr]
        if got is not None:
            ctx.total_norm, layers = got
            row.update(layers)


@dataclass
class GradNorm(Probe):
    """``grad_norm`` (pre-clip) and ``max_grad_norm``: reused from ``clip_grad_norm_`` when the
    loop clips this optimizer's parameters (free, every step), else from :class:`LayerNorms`'
    pass on its steps, else one fused pass on the steps ``when`` selects."""

    when: Schedule = field(default_factory=lambda: Every(4))
    name: str = "grad_norm"
    cost: str = "0 when clip_grad_norm_ is called, else one fused torch._foreach_norm pass on its steps"

    def due(self, ctx: StepContext) -> bool:
        return True  # the free sources are checked every step; the pass itself follows `when`

    def before(self, ctx: StepContext, row: dict[str, Any]) -> None:
        if ctx.clip is not None:
            row["grad_norm"], row["max_grad_norm"] = ctx.clip
        elif ctx.total_norm is not None:
            row["grad_norm"] = ctx.total_norm
        elif self.when(ctx.step):
            self.measure(ctx, row)

    def measure(self, ctx: StepContext, row: dict[str, Any]) -> None:
        """Take the norm now, whatever the schedule (``Monitor.measure_gradients``)."""
        n = grad_norm(ctx.params())
        if n is not None:
            row["grad_norm"] = n.detach()


@dataclass
class UpdateRatio(Probe):
    """``update_ratio`` = ||w_after - w_before|| / ||w_after|| over all parameters (feeds
    ``update_ratio_high``)."""

    when: Schedule = field(default_factory=lambda: Every(100))
    name: str = "update_ratio"
    cost: str = "one copy of the parameters and three fused norm passes on its steps"
    _snap: list[torch.Tensor] | None = field(default=None, repr=False)

    def before(self, ctx: StepContext, row: dict[str, Any]) -> None:
        self._snap = [p.detach().clone() for p in ctx.params()]

    def after(self, ctx: StepContext, row: dict[str, Any]) -> None:
        snap, self._snap = self._snap, None
        if snap is None:
            return
        ps = [p.detach() for p in ctx.params()]
        delta = torch._foreach_sub(ps, snap)
        dn = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(delta)))
        wn = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(ps)))
        row["update_ratio"] = dn / wn.clamp_min(1e-12)


class AmpScale(Probe):
    """``amp_skipped`` (1 on a step ``GradScaler`` skipped: inf/NaN gradients, not an explosion)
    and ``amp_scale`` (the loss scale, copied on the device: no sync)."""

    name, cost = "amp_scale", "one 1-element device copy"

    def due(self, ctx: StepContext) -> bool:
        return ctx.scaler is not None

    def record(self, ctx: StepContext, row: dict[str, Any]) -> None:
        if not ctx.stepped:
            row["amp_skipped"] = 1.0
        # GradScaler keeps its scale as a device tensor; its public get_scale() would sync
        scale = getattr(ctx.scaler, "_scale", None)
        if isinstance(scale, torch.Tensor):
            row["amp_scale"] = scale.detach().clone()


def default_probes(settings: Any, *, model: Any = None, scheduler: Any = None, scaler: Any = None) -> list[Probe]:
    """The Monitor's probes for a :class:`~lrdoctor.monitor.MonitorConfig`. Order matters:
    :class:`LayerNorms` runs before :class:`GradNorm`, whose norm it may provide."""
    probes: list[Probe] = [AppliedLR()]
    if scheduler is not None and hasattr(scheduler, "get_last_lr"):
        probes.append(ScheduledLR())
    if model is not None:
        probes.append(LayerNorms(when=settings.layer_norms, top=settings.top_layers))
    probes.append(GradNorm(when=settings.grad_norm))
    probes.append(UpdateRatio(when=settings.update_ratio))
    if scaler is not None:
        probes.append(AmpScale())
    return probes
