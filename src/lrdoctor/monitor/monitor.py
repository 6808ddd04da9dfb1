"""The Monitor: two lines in a training loop, the same detectors as offline diagnosis.

    mon = lrdoctor.Monitor(optimizer, model=model, scheduler=scheduler, log_to="runs/exp7")
    for batch in loader:
        ...; optimizer.step(); scheduler.step()
        mon.step(loss)                       # after optimizer.step(); extra metrics as kwargs
    print(mon.report())

The Monitor only wires its parts together:

    optimizer hooks -> probes (probes.py) -> History (history.py) -> log (log.py)
                                                    \\-> Checks (checks.py): lrdoctor.diagnose + the
                                                        live schedule-overwrite check (overwrite.py)

Probes measure on their declared schedules and keep values on the device; the History reads
them back once per ``flush_every`` steps (no host sync per step); ``check()`` runs
``lrdoctor.diagnose`` on the History, so ``Monitor.report()`` and ``lrdoctor diagnose`` of
the written log give the same findings, plus the runtime ones (the live overwrite check,
Guard rewinds). Nothing the Monitor does can raise into the training loop.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

import lrdoctor
from lrdoctor.finding import Finding
from lrdoctor.monitor.checks import Checks
from lrdoctor.monitor.history import STEP, History
from lrdoctor.monitor.lifetime import finalize, live, weak_hook
from lrdoctor.monitor.log import JsonlLog
from lrdoctor.monitor.overwrite import KIND as OVERWRITE
from lrdoctor.monitor.overwrite import ScheduleOverwriteCheck
from lrdoctor.monitor.probes import (
    GradNorm,
    Probe,
    StepContext,
    as_float,
    default_probes,
)
from lrdoctor.monitor.signals import Every, LogSpaced, clip_capture
from lrdoctor.monitor.values import MetricValidator

__all__ = ["Monitor", "MonitorConfig"]

log = logging.getLogger("lrdoctor")


@dataclass(frozen=True)
class MonitorConfig:
    """When the Monitor measures, reads back and checks (defaults measured in
    bench/monitor_overhead.py on post-mortem #1's transformer)."""

    flush_every: int = 50
    """Steps kept on the device before one batched read-back (one host sync per flush); also
    the most rows a crash can lose. A Guard reads back every ``Guard.flush_every`` steps instead."""
    check_every: int = 200
    """Detectors run at least this many steps apart, and at most ~20 times per decade of
    steps (every max(check_every, 5% of the steps so far)), so checking stays O(n log n)."""
    grad_norm: Every = field(default_factory=lambda: Every(4))
    """When the Monitor takes the gradient norm itself (one fused pass) if the loop does not call
    ``clip_grad_norm_`` (whose norm is reused for free on every step). A pass over 4.8M gradients
    costs 2.3-2.8 ms on a 2-core CPU, 1.1-1.3% of post-mortem #1's 210 ms step: every 4th step keeps
    it near 0.3%, and a blow-up still shows in the loss on every step (bench/monitor_overhead.py)."""
    update_ratio: Every = field(default_factory=lambda: Every(100))
    """When the update-to-weight ratio ||dw|| / ||w|| is measured (a parameter copy on those steps);
    every 100 steps gives ``update_ratio_high`` 20 points by step 2000 for a copy costing ~1% of a step."""
    layer_norms: LogSpaced = field(default_factory=lambda: LogSpaced(per_decade=5, max_gap=500))
    """When per-layer gradient norms are taken (log-spaced: dense early, then every 500 steps);
    needs ``model``. The same pass gives the total norm, so those steps cost no extra pass."""
    top_layers: int = 3
    """Layers kept per measurement (the largest gradients), as ``grad_norm/<layer>`` columns:
    enough to name the layer that explodes without one column per layer."""
    lr_tolerance: float = 1e-6
    """Relative difference between the scheduler's LR and the applied LR that counts as an
    overwrite (both are read as Python floats, so only real writes differ by more)."""


class Monitor:
    """Watch a live run. ``step(loss, **metrics)`` once per optimizer step, after ``optimizer.step()``.

    ``guard`` (a :class:`lrdoctor.Guard`) rewinds and cuts the LR when the run blows up;
    ``scaler`` (a ``torch.amp.GradScaler``) lets AMP-skipped steps be told apart from explosions.
    Probes are in :attr:`probes` (pass extra ones as ``probes=[...]``, e.g. ``lrdoctor.SharpnessProbe``,
    or append your own, see CONTRIBUTING.md, "Adding a probe"), the record
    in :attr:`history`.

    A Monitor holds its optimizer hooks weakly: one that is no longer referenced is flushed and
    unhooked when it is collected, and a new Monitor that logs to the same directory over the
    same optimizer closes the old one.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        model: torch.nn.Module | None = None,
        scheduler: Any = None,
        log_to: str | Path | None = None,
        guard: Any = None,
        *,
        scaler: Any = None,
        config: Mapping[str, Any] | None = None,
        settings: MonitorConfig = MonitorConfig(),
        on_finding: Callable[[Finding], None] | None = None,
        tensorboard: Any = None,
        rank: int | None = None,
        probes: Sequence[Probe] = (),
    ) -> None:
        self.optimizer, self.model, self.scheduler, self.scaler = optimizer, model, scheduler, scaler
        self.settings = settings
        self.config = dict(config or {})
        self.rank = _rank() if rank is None else rank
        self.guard = guard
        #: what one step counts ("step"; the SB3 callback sets "timestep")
        self.step_unit = "step"
        self.history = History()
        self.probes: list[Probe] = default_probes(settings, model=model, scheduler=scheduler, scaler=scaler)
        self.probes.extend(probes)  # the user's (e.g. lrdoctor.SharpnessProbe), after the defaults
        self.overwrite = ScheduleOverwriteCheck(settings.lr_tolerance) \
            if scheduler is not None and hasattr(scheduler, "get_last_lr") else None
        self.log_dir = Path(log_to) if log_to else None
        self._validator = MetricValidator()
        self._n_probes = -1
        self._by_moment: dict[str, list[Probe]] = {}
        self._after: list[Probe] = []  # probes due in the post-step hook of the current step
        self._failed: set[str] = set()
        self._step = 0
        self._row: dict[str, Any] = {}
        self._ctx = StepContext(optimizer, model, scheduler, scaler)
        self._param_ids: frozenset[int] | None = None
        self.checks = Checks(self.overwrite, on_finding, self.rank)
        self._checked_rows = -1
        self._next_check = settings.check_every
        self._log: JsonlLog | None = None
        live.replace(optimizer, self.log_dir)
        if self.log_dir is not None and self.rank == 0:
            self._log = JsonlLog(self.log_dir, self.config, tensorboard, backfill=self.history.rows)
        ref = weakref.ref(self)
        handles = [optimizer.register_step_pre_hook(weak_hook(ref, "_pre_step")),
                   optimizer.register_step_post_hook(weak_hook(ref, "_post_step"))]
        clip_capture.add(self._on_clip)
        live.add(optimizer, ref)
        self._finalizer = weakref.finalize(self, finalize, handles, self.history, self._log)
        if guard is not None:
            try:
                guard.attach(self)
            except Exception as err:  # a Guard that cannot snapshot must not stop the run; say so loudly
                self._fail("Guard (no snapshot could be taken; it is off)", err)
                self.guard = None

    # ---- hooks: never raise ------------------------------------------------------------
    def _fail(self, where: str, err: BaseException) -> None:
        if where not in self._failed:
            self._failed.add(where)
            log.warning("lrdoctor Monitor: %s failed (%s: %s); that signal is off, training continues",
                        where, type(err).__name__, err)

    def _on_clip(self, total: torch.Tensor, max_norm: float, ids: frozenset[int]) -> None:
        """A ``clip_grad_norm_`` call: keep its norm only if it covered this optimizer's parameters."""
        if self._param_ids is None or len(self._param_ids) != sum(len(g["params"]) for g in self.optimizer.param_groups):
            self._param_ids = frozenset(id(p) for g in self.optimizer.param_groups for p in g["params"])
        if self._param_ids <= ids:
            self._ctx.clip = (total.detach(), max_norm)

    def _group_probes(self) -> None:
        """Which probes implement which moment; redone when ``probes`` grows or shrinks."""
        if len(self.probes) != self._n_probes:
            self._n_probes = len(self.probes)
            self._by_moment = {m: [p for p in self.probes if getattr(type(p), m) is not getattr(Probe, m)]
                               for m in ("before", "after", "record")}

    def _call(self, moment: str, probes: list[Probe], row: dict[str, Any]) -> None:
        """``probe.<moment>(ctx, row)`` for each live probe; a failing probe is switched off."""
        for p in probes:
            if p.name in self._failed:
                continue
            try:
                getattr(p, moment)(self._ctx, row)
            except Exception as err:
                self._fail(p.name, err)

    def _due(self, moment: str) -> list[Probe]:
        out = []
        for p in self._by_moment[moment]:
            try:
                if p.due(self._ctx):
                    out.append(p)
            except Exception as err:
                self._fail(p.name, err)
        return out

    def _pre_step(self, opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        try:
            self._ctx.step = self._step
            self._group_probes()
            self._call("before", self._due("before"), self._row)
            self._after = self._due("after")  # decided now, on the same step: usually none
            self._ctx.stepped = True
            if self.overwrite is not None and OVERWRITE not in self._failed:
                applied = [as_float(g["lr"]) for g in opt.param_groups]
                scheduled = [as_float(x) for x in self.scheduler.get_last_lr()]
                if self.overwrite.observe(self._step, applied, scheduled):
                    self.checks.overwrite_changed()
        except Exception as err:
            self._fail("optimizer pre-step hook", err)

    def _post_step(self, opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self._after:
            self._call("after", self._after, self._row)
            self._after = []

    # ---- the user's calls ---------------------------------------------------------------------
    def measure_gradients(self) -> None:
        """Take the gradient norm now (one fused pass). For loops whose optimizer runs the backward
        inside ``step(closure)`` (Lightning, LBFGS): the pre-step hook fires before the closure,
        when there are no gradients yet, so call this once they exist."""
        try:
            probe = next((p for p in self.probes if isinstance(p, GradNorm)), None)
            if probe is not None:
                probe.measure(self._ctx, self._row)
        except Exception as err:
            self._fail("measure_gradients", err)

    def annotate(self, **metrics: Any) -> None:
        """Add metrics to the last recorded step (a trainer's logged loss or grad norm arrives
        after the step, in its own callback)."""
        try:
            vals = {k: v for k, v in ((k, self._validator.coerce(k, v)) for k, v in metrics.items()) if v is not None}
            self.history.annotate(vals)
        except Exception as err:
            self._fail("annotate", err)

    def step(self, loss: Any = None, *, at: int | None = None, **metrics: Any) -> bool:
        """Record one optimizer step (``at``: its x-axis value, e.g. environment timesteps; by
        default the count of calls). Returns True when the Guard rewound the run (the caller
        may skip to its next batch). Never raises."""
        try:
            row, self._row = self._row, {}
            self._after = []  # an optimizer step that raised never reached its post-step hook
            self._ctx.step = self._step
            self._group_probes()
            self._call("record", self._due("record"), row)
            for k, v in (("loss", loss), *metrics.items()):
                x = self._validator.coerce(k, v)
                if x is not None:
                    row[k] = x
            row[STEP] = self._step if at is None else int(at)
            self.history.append(row)
            self._step += 1
            self._ctx.next_step(self._step)
            if self.history.pending >= (self.guard.flush_every if self.guard is not None else self.settings.flush_every):
                self.flush()
                if self.guard is not None and self.guard.check(self):
                    return True
            if self._step >= self._next_check:
                self.check()
            if self.guard is not None and self.guard.skip_step():
                return True
        except Exception as err:
            self._fail("step", err)
        return False

    # ---- history, log, checks ---------------------------------------------------------------
    def flush(self) -> None:
        """Read the pending steps back (one host sync) and append them to the log."""
        rows = self.history.flush()
        if self._log is not None and rows:
            self._log.write(rows)

    def log_event(self, row: Mapping[str, Any]) -> None:
        """Record an intervention (the Guard's rewinds) in ``lrdoctor-events.jsonl`` beside the log."""
        if self._log is not None:
            self._log.event(row)

    def rewind(self, step: int, rows: int, note: Mapping[str, float] | None = None) -> None:
        """Go back to ``step`` with the first ``rows`` flushed rows (the Guard restored a
        snapshot taken then): later rows and unflushed values are dropped, from the history and
        from the log (rewritten atomically, so ``lrdoctor diagnose`` of it sees this history).
        ``note`` (e.g. ``{"guard_rewind": 1}``) is recorded in the row of ``step``."""
        self.history.truncate(rows)
        self._row = dict(note or {})
        self._step = step
        self._ctx.next_step(step)
        self._next_check = step + self.settings.check_every
        if self._log is not None:
            self._log.rewrite(self.history.rows())

    def run(self) -> lrdoctor.Run:
        """The history so far as a :class:`~lrdoctor.Run` (flushes pending steps)."""
        self.flush()
        return self.history.to_run(step_unit=self.step_unit, config=self.config)

    def check(self) -> list[Finding]:
        """Run the offline detectors (``lrdoctor.diagnose``) on the history now; warn (logging,
        ``on_finding``) for each kind that starts; return every finding so far."""
        try:
            self._next_check = self._step + max(self.settings.check_every, int(0.05 * self._step))
            run = self.run()
            self._checked_rows = len(self.history)
            return self.checks.check(run, self._extra_findings())
        except Exception as err:
            self._fail("check", err)
            return self.checks.findings(self._extra_findings())

    @property
    def findings(self) -> list[Finding]:
        """The findings of the latest :meth:`check` plus the runtime ones. Kept for callers of
        the first release: it runs :meth:`check` only when steps arrived since the last one."""
        if self._checked_rows != len(self.history) + self.history.pending:
            return self.check()
        return self.checks.findings(self._extra_findings())

    def report(self) -> lrdoctor.Report:
        """The report ``lrdoctor diagnose`` gives on the written log, plus the runtime findings."""
        found = self.check()
        diagnosed = self.checks.report
        if diagnosed is None:  # fewer than 2 steps, or no training metric yet
            return lrdoctor.Report(self.history.to_run(step_unit=self.step_unit, config=self.config), found)
        return lrdoctor.Report(diagnosed.run, found, diagnosed.coverage)

    @property
    def on_finding(self) -> Callable[[Finding], None] | None:
        """Called with each finding as its episode starts (errors in it are logged, not raised)."""
        return self.checks.on_finding

    @on_finding.setter
    def on_finding(self, fn: Callable[[Finding], None] | None) -> None:
        self.checks.on_finding = fn

    def _extra_findings(self) -> list[Finding]:
        """Findings kept outside the log: the Guard's rewinds and the probes' own (Probe.findings)."""
        found = list(self.guard.findings) if self.guard is not None else []
        for p in self.probes:
            if p.name not in self._failed:
                try:
                    found.extend(p.findings())
                except Exception as err:
                    self._fail(p.name, err)
        return found

    # ---- lifetime (lifetime.py) ---------------------------------------------------------------
    def close(self) -> None:
        """Flush, remove the hooks, close the log. Never raises; safe to call twice."""
        try:
            self.flush()
        except Exception as err:
            self._fail("flush", err)
        try:
            self._finalizer()
        except Exception as err:
            self._fail("close", err)

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def steps(self) -> int:
        return self._step

    @property
    def is_open(self) -> bool:
        """False once closed (or collected): the hooks are gone."""
        return self._finalizer.alive


def _rank() -> int:
    try:
        import torch.distributed as dist

        return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    except Exception:
        return 0
