"""The Monitor: two lines in a training loop, the same detectors as offline diagnosis.

    mon = lrdoctor.Monitor(optimizer, model=model, scheduler=scheduler, log_to="runs/exp7")
    for batch in loader:
        ...; optimizer.step(); scheduler.step()
        mon.step(loss)                       # after optimizer.step(); extra metrics as kwargs
    print(mon.report())

Signals come from hooks on the optimizer (applied LR per group, the scheduler's LR, the
total gradient norm in one fused pass or reused from ``clip_grad_norm_``, AMP skips), are
kept on the device and read back in batches (``flush_every``): no host sync per step. The
detectors run on the accumulated history at growing intervals, each kind warns once per
episode, and nothing the Monitor does can raise into the training loop.
"""

from __future__ import annotations

import logging
import math
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import torch

from lrdoctor.detect import Coverage, check
from lrdoctor.diagnosis import Report, sort_findings
from lrdoctor.finding import Finding, Severity
from lrdoctor.monitor.log import JsonlLog
from lrdoctor.monitor.signals import Every, LogSpaced, clip_capture, grad_norm, layer_grad_norms
from lrdoctor.prescribe import prescribe
from lrdoctor.run import Run, RunMeta, build_run

__all__ = ["Monitor", "MonitorConfig"]

log = logging.getLogger("lrdoctor")


@dataclass(frozen=True)
class MonitorConfig:
    flush_every: int = 50
    """Steps kept on the device before one batched read-back (one host sync per flush)."""
    check_every: int = 200
    """Detectors run at least this many steps apart, and at most ~20 times per decade of
    steps (every max(check_every, 5% of the steps so far)), so checking stays O(n log n)."""
    grad_norm: Every = field(default_factory=lambda: Every(4))
    """When the Monitor takes the gradient norm itself (one fused pass) if the loop does not call
    ``clip_grad_norm_`` (whose norm is reused for free on every step). A pass over 4.8M gradients
    costs 2.3-2.8 ms on a 2-core CPU, 1.1-1.3% of post-mortem #1's 210 ms step: every 4th step keeps
    it near 0.3%, and a blow-up still shows in the loss on every step (bench/monitor_overhead.py)."""
    update_ratio: Every = field(default_factory=lambda: Every(100))
    layer_norms: LogSpaced = field(default_factory=lambda: LogSpaced(per_decade=5, max_gap=500))
    """When per-layer gradient norms are taken (log-spaced: dense early, then every 500 steps);
    needs ``model``. The same pass gives the total norm, so those steps cost no extra pass."""
    top_layers: int = 3
    """Layers kept per measurement (the largest gradients), as ``grad_norm/<layer>`` columns."""
    """When the update-to-weight ratio ||dw|| / ||w|| is measured (a parameter copy on those steps)."""
    lr_tolerance: float = 1e-6
    """Relative difference between the scheduler's LR and the applied LR that counts as an overwrite."""


@dataclass
class _Override:
    step: int
    group: int
    scheduled: float
    applied: float


class Monitor:
    """Watch a live run. ``step(loss, **metrics)`` once per optimizer step, after ``optimizer.step()``.

    ``guard`` (a :class:`lrdoctor.Guard`) rewinds and cuts the LR when the run blows up;
    ``scaler`` (a ``torch.amp.GradScaler``) lets AMP-skipped steps be told apart from explosions.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        model: torch.nn.Module | None = None,
        scheduler: Any = None,
        log_to: str | None = None,
        guard: Any = None,
        *,
        scaler: Any = None,
        config: Mapping[str, Any] | None = None,
        settings: MonitorConfig = MonitorConfig(),
        on_finding: Callable[[Finding], None] | None = None,
        tensorboard: Any = None,
        rank: int | None = None,
    ) -> None:
        self.optimizer, self.model, self.scheduler, self.scaler = optimizer, model, scheduler, scaler
        self.settings = settings
        self.on_finding = on_finding
        self.config = dict(config or {})
        self.rank = _rank() if rank is None else rank
        self.guard = guard
        #: what one step counts ("step"; the SB3 callback sets "timestep")
        self.step_unit = "step"
        self._failed: set[str] = set()
        self._step = 0
        self._cur: dict[str, Any] = {}
        self._pending: list[dict[str, Any]] = []
        self._hist: dict[str, list[float]] = {}
        self._steps: list[int] = []
        self._findings: list[Finding] = []
        self._coverage = Coverage()
        self._runtime: list[Finding] = []
        self._active: set[str] = set()
        self._next_check = settings.check_every
        self._override: _Override | None = None
        self._warmup_open = True  # still inside a (possibly hand-written) LR warmup ramp
        self._override_undone: _Override | None = None
        self._clip: tuple[torch.Tensor, float] | None = None
        self._snap: list[torch.Tensor] | None = None
        self._log = JsonlLog(log_to, self.config, tensorboard) if (log_to and self.rank == 0) else None
        self._handles = [optimizer.register_step_pre_hook(self._pre_step),
                         optimizer.register_step_post_hook(self._post_step)]
        self._clip_listener = self._on_clip  # bound once, so it can be removed
        clip_capture.add(self._clip_listener)
        self._finalizer = weakref.finalize(self, _cleanup, self._handles, self._clip_listener)
        if guard is not None:
            guard.attach(self)

    # ---- hooks: never raise ------------------------------------------------------------
    def _fail(self, where: str, err: BaseException) -> None:
        if where not in self._failed:
            self._failed.add(where)
            log.warning("lrdoctor Monitor: %s failed (%s: %s); that signal is off, training continues",
                        where, type(err).__name__, err)

    def _on_clip(self, total: torch.Tensor, max_norm: float) -> None:
        self._clip = (total.detach(), max_norm)

    def _params(self) -> list[torch.Tensor]:
        return [p for g in self.optimizer.param_groups for p in g["params"]]

    def _pre_step(self, opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        try:
            groups = opt.param_groups
            self._cur["lr"] = _float(groups[0]["lr"])
            for i, g in enumerate(groups[1:], start=1):
                self._cur[f"lr/group{i}"] = _float(g["lr"])
            if self.scheduler is not None and hasattr(self.scheduler, "get_last_lr"):
                sched = self.scheduler.get_last_lr()
                self._cur["scheduled_lr"] = _float(sched[0])
                self._check_override(groups, sched)
            if self.model is not None and self.settings.layer_norms(self._step):
                got = layer_grad_norms(list(self.model.named_parameters()), self.settings.top_layers)
                if got is not None:
                    total, layers = got
                    self._cur.update(layers)
                    if self._clip is None and "grad_norm" not in self._cur:
                        self._cur["grad_norm"] = total
            if self._clip is not None:
                self._cur["grad_norm"], self._cur["max_grad_norm"] = self._clip
                self._clip = None
            elif "grad_norm" not in self._cur and self.settings.grad_norm(self._step):
                n = grad_norm(self._params())
                if n is not None:
                    self._cur["grad_norm"] = n.detach()
            if self.settings.update_ratio(self._step):
                self._snap = [p.detach().clone() for p in self._params()]
            self._cur["_stepped"] = True
        except Exception as err:
            self._fail("optimizer pre-step hook", err)

    def _post_step(self, opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        try:
            if self._snap is not None:
                ps = self._params()
                delta = torch._foreach_sub([p.detach() for p in ps], self._snap)
                dn = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(delta)))
                wn = torch.linalg.vector_norm(torch.stack(torch._foreach_norm([p.detach() for p in ps])))
                self._cur["update_ratio"] = dn / wn.clamp_min(1e-12)
                self._snap = None
        except Exception as err:
            self._snap = None
            self._fail("optimizer post-step hook", err)

    def _check_override(self, groups: list[dict], sched: list[Any]) -> None:
        tol = self.settings.lr_tolerance
        last, last_s = self._last_applied, self._last_sched
        for i, (g, s) in enumerate(zip(groups, sched)):
            a, s = _float(g["lr"]), _float(s)
            if self._warmup_open:
                # A hand-written warmup sets the LR below the scheduler's and raises it until it
                # meets it; that ramp is correct code, not an overwrite (warmup window, see
                # detect.schedule_overridden.warmup_window).
                prev = None if last is None or i >= len(last) else last[i]
                climbing = prev is not None and a > prev * (1 + tol)
                below = a < s * (1 - tol) and (prev is None or a >= prev * (1 - tol))
                if climbing or below:
                    continue
                self._warmup_open = False
            if abs(a - s) > tol * max(abs(s), 1e-30):
                o = _Override(self._step, i, s, a)
                if self._override is None:
                    self._override = o
                # The scheduler stepped to an LR below the one applied last step, and something put
                # it back up: the decay was undone. (Recursive schedulers such as StepLR adopt an
                # overwritten LR as their own, so "the scheduler's value fell" alone is not enough.)
                moved = last_s is not None and i < len(last_s) and s != last_s[i]  # the scheduler stepped
                if self._override_undone is None and moved and last is not None \
                        and s < last[i] * (1 - tol) and a > s * (1 + tol):
                    self._override_undone = o
                    self._raise_override()
        self._last_applied = [_float(g["lr"]) for g in groups]
        self._last_sched = [_float(x) for x in sched]

    _last_applied: list[float] | None = None
    _last_sched: list[float] | None = None

    # ---- the user's call ----------------------------------------------------------------
    def measure_gradients(self) -> None:
        """Take the gradient norm now (one fused pass). For loops whose optimizer runs the backward
        inside ``step(closure)`` (Lightning, LBFGS): the pre-step hook fires before the closure,
        when there are no gradients yet, so call this once they exist."""
        try:
            n = grad_norm(self._params())
            if n is not None:
                self._cur["grad_norm"] = n.detach()
        except Exception as err:
            self._fail("measure_gradients", err)

    def annotate(self, **metrics: Any) -> None:
        """Add metrics to the last recorded step (a trainer's logged loss or grad norm arrives
        after the step, in its own callback)."""
        try:
            vals = {k: (v.detach() if isinstance(v, torch.Tensor) else v) for k, v in metrics.items()}
            if self._pending:
                self._pending[-1].update(vals)
            elif self._steps:
                n = len(self._steps)
                for k, v in vals.items():
                    if isinstance(v, torch.Tensor):
                        v = float(v.reshape(()).item())
                    if not isinstance(v, (int, float)):
                        continue
                    col = self._hist.setdefault(k, [])
                    col.extend([None] * (n - len(col)))
                    col[n - 1] = float(v)
        except Exception as err:
            self._fail("annotate", err)

    def step(self, loss: Any = None, *, at: int | None = None, **metrics: Any) -> bool:
        """Record one optimizer step (``at``: its x-axis value, e.g. environment timesteps; by
        default the count of calls). Returns True when the Guard rewound the run (the caller
        may skip to its next batch)."""
        try:
            row = self._cur
            self._cur = {}
            stepped = row.pop("_stepped", False)
            if not stepped and self.scaler is not None:
                row["amp_skipped"] = 1.0  # GradScaler skipped optimizer.step(): inf/NaN grads
            if self.scaler is not None and getattr(self.scaler, "_scale", None) is not None:
                row["amp_scale"] = self.scaler._scale.detach().clone()
            if loss is not None:
                row["loss"] = loss.detach() if isinstance(loss, torch.Tensor) else float(loss)
            for k, v in metrics.items():
                row[k] = v.detach() if isinstance(v, torch.Tensor) else v
            row["step"] = self._step if at is None else int(at)
            self._pending.append(row)
            self._step += 1
            if self._override is not None and "schedule_overridden" not in self._active and self._override_undone is None \
                    and self._step - self._override.step >= 1:
                self._raise_override()
            if len(self._pending) >= (self.guard.flush_every if self.guard else self.settings.flush_every):
                self._flush()
                if self.guard is not None and self.guard.check(self):
                    return True
            if self._step >= self._next_check:
                self._check()
        except Exception as err:
            self._fail("step", err)
        return False

    # ---- batching, history, checks ---------------------------------------------------------
    def _flush(self) -> None:
        rows, self._pending = self._pending, []
        if not rows:
            return
        tensors = [(i, k, v) for i, r in enumerate(rows) for k, v in r.items() if isinstance(v, torch.Tensor)]
        if tensors:
            dev = tensors[0][2].device
            flat = torch.stack([v.reshape(()).to(dev, torch.float64) for _, _, v in tensors]).tolist()  # the one sync
            for (i, k, _), x in zip(tensors, flat):
                rows[i][k] = x
        for r in rows:
            s = int(r["step"])
            self._steps.append(s)
            n = len(self._steps)
            for k, v in r.items():
                if k == "step" or not isinstance(v, (int, float)):
                    continue
                col = self._hist.setdefault(k, [])
                if len(col) < n - 1:
                    col.extend([None] * (n - 1 - len(col)))  # None: not logged at that step
                col.append(float(v))
        if self._log is not None:
            self._log.write([{k: v for k, v in r.items() if isinstance(v, (int, float))} for r in rows])

    def run(self) -> Run:
        """The history so far as a :class:`~lrdoctor.run.Run` (flushes pending steps)."""
        self._flush()
        n = len(self._steps)
        cols, masks = {}, {}
        for k, col in self._hist.items():
            logged = np.zeros(n, bool)
            logged[: len(col)] = [v is not None for v in col]
            arr = np.full(n, np.nan)
            arr[: len(col)] = [math.nan if v is None else v for v in col]
            cols[k], masks[k] = arr, logged  # a logged NaN stays logged: nonfinite looks for it
        meta = RunMeta(source="lrdoctor.Monitor", format="monitor", step_unit=self.step_unit)
        return build_run(np.asarray(self._steps, float), cols, masks, meta=meta, config=self.config)

    def _check(self) -> None:
        self._next_check = self._step + max(self.settings.check_every, int(0.05 * self._step))
        run = self.run()
        if run.n_steps < 2:
            return
        found, self._coverage = check(run)
        kinds = {f.kind for f in found}
        for f in found:
            prescribe(run, f)
            if f.kind not in self._active:
                self._emit(f)
        # an episode ends when its kind is no longer found; it may warn again later
        self._active = (self._active & (kinds | {f.kind for f in self._runtime})) | kinds
        self._findings = found

    def _emit(self, f: Finding) -> None:
        self._active.add(f.kind)
        if self.rank != 0:
            return
        lvl = logging.ERROR if f.severity is Severity.ERROR else logging.WARNING
        log.log(lvl, "lrdoctor: %s %s at step %s: %s", f.severity.value, f.kind, f.start_step, f.summary)
        if self.on_finding is not None:
            try:
                self.on_finding(f)
            except Exception as err:
                self._fail("on_finding callback", err)

    def _raise_override(self) -> None:
        o = self._override
        u = self._override_undone
        if o is None:
            return
        ev = {"first_overwritten_step": o.step, "param_group": o.group, "scheduled_lr": o.scheduled,
              "applied_lr": o.applied}
        if u is not None:
            ev.update({"first_decay_undone_step": u.step, "scheduled_lr_then": u.scheduled, "applied_lr_then": u.applied})
        sev = Severity.ERROR if u is not None else Severity.WARNING
        summary = (f"the LR applied to param group {o.group} ({o.applied:.4g}) differs from the scheduler's "
                   f"({o.scheduled:.4g}) from step {o.step}: something overwrites param_group['lr'] after scheduler.step()")
        if u is not None:
            summary += f"; at step {u.step} a scheduled decrease to {u.scheduled:.4g} was undone ({u.applied:.4g} applied)"
        f = Finding("schedule_overridden", sev, float(o.step), float(u.step if u else o.step), summary, ev,
                    "A hand-written warmup (or LR assignment) writes param_group['lr'] every step, so the "
                    "scheduler's value is replaced: its decay never takes effect (post-mortem #4).")
        prescribe(_EMPTY_RUN, f)  # the fix for an overwrite needs no data from the run
        self._runtime = [r for r in self._runtime if r.kind != "schedule_overridden"] + [f]
        self._active.discard("schedule_overridden")
        self._emit(f)

    # ---- results ------------------------------------------------------------------------
    @property
    def findings(self) -> list[Finding]:
        """Findings so far (runs the detectors on everything logged)."""
        try:
            self._check()
        except Exception as err:
            self._fail("check", err)
        return self._runtime + [f for f in self._findings if f.kind not in {r.kind for r in self._runtime}] + \
            (self.guard.findings if self.guard is not None else [])

    def report(self) -> Report:
        """The same report ``lrdoctor diagnose`` gives on the written log, plus runtime findings."""
        found = sort_findings(self.findings)
        return Report(self.run(), found, self._coverage)

    def close(self) -> None:
        """Flush, remove the hooks, close the log. Safe to call twice."""
        try:
            self._flush()
        except Exception as err:
            self._fail("flush", err)
        if self._log is not None:
            self._log.close()
        self._finalizer()

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def steps(self) -> int:
        return self._step


_EMPTY_RUN = build_run(np.zeros(1), {}, meta=RunMeta(source="lrdoctor.Monitor", format="monitor"))


def _cleanup(handles: list[Any], listener: Any) -> None:
    for h in handles:
        h.remove()
    clip_capture.remove(listener)


def _float(x: Any) -> float:
    return float(x.item()) if isinstance(x, torch.Tensor) else float(x)


def _rank() -> int:
    try:
        import torch.distributed as dist

        return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    except Exception:
        return 0
