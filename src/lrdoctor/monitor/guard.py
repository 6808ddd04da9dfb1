"""Guard: keep the last known-good state; on a blow-up, rewind to it and cut the LR.

This is what large-model teams do by hand after loss spikes (restart from an earlier
checkpoint with a lower LR, skipping the batches that caused it: PaLM §5.1, OPT logbook).
The Guard does it inside the loop: every ``every`` steps it snapshots model, optimizer,
scheduler, RNG and AMP scaler (on the device, or on disk); when the flushed losses show a
non-finite value or a sustained blow-up above the snapshot's level, it restores the newest
snapshot taken before the trouble, multiplies every LR by ``factor`` (``factor ** k`` after ``k``
rewinds, whichever snapshot was restored), records it in the Monitor's history, log and events file, calls
``on_rewind`` and records the intervention as a finding. Restored state is bit-identical to the saved one.
"""

from __future__ import annotations

import copy
import io
import logging
import math
import random
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lrdoctor.finding import Finding, Fix, Severity, Watch

if TYPE_CHECKING:
    from lrdoctor.monitor.monitor import Monitor

__all__ = ["Guard", "Snapshot", "scaled_scheduler_state"]

log = logging.getLogger("lrdoctor")


def blown_up(level: float, ref: float, blowup: float) -> bool:
    """True when ``level`` rose above ``ref`` by more than ``(blowup - 1) x |ref|``: for a positive
    loss that is ``level > blowup x ref``; for a negative one (a Gaussian NLL at -5) it is a rise
    of ``(blowup - 1)`` times its magnitude, where ``level > blowup x ref`` would hold for every
    healthy value. A reference of 0 (a loss at its floor) has no scale to be relative to."""
    if not (math.isfinite(ref) and math.isfinite(level)) or ref == 0:
        return False
    return level - ref > (blowup - 1.0) * abs(ref)


@dataclass
class Snapshot:
    step: int
    loss_level: float
    #: the Guard's cumulative LR factor when it was taken (its saved LRs already carry it)
    scale: float = 1.0
    state: dict[str, Any] | None = None
    path: Path | None = None


@dataclass
class Guard:
    every: int = 100
    """Steps between snapshots (each one copies the model and optimizer state)."""
    factor: float = 0.5
    """LR multiplier per rewind (halving: the usual manual response to a spike). Cuts do not
    compound beyond it: after ``k`` rewinds the LR is ``factor ** k`` times the LR the run would
    have had, whichever snapshot was restored (0.01 -> 0.005 -> 0.0025 with the defaults)."""
    max_rewinds: int = 5
    """After this many rewinds the Guard stops intervening and the run's findings stand
    (the LR is then at ``factor ** max_rewinds``: 0.03x with the defaults)."""
    keep: int = 2
    """Snapshots kept: the newest may already hold the start of the trouble."""
    blowup: float = 3.0
    """Trouble: the median loss of a flushed batch above ``blowup`` x the loss level when the
    snapshot was taken (a spike that does not come back within one flush), or any non-finite loss.
    Measured as a rise of ``(blowup - 1) x |level|``, so a negative loss (a likelihood, an ELBO)
    is judged the same way; a level of exactly 0 gives no scale and only non-finite losses count
    there (see :func:`blown_up`)."""
    flush_every: int = 10
    """With a Guard the Monitor reads losses back every 10 steps (trouble is seen within 10 steps)."""
    skip_batches: int = 0
    """Steps after a rewind during which ``Monitor.step`` keeps returning True, so the loop can
    skip the batches that caused the blow-up."""
    directory: str | None = None
    """Keep snapshots on disk here instead of in memory (tensors, lists and numbers only:
    loaded back with ``torch.load(weights_only=True)``)."""
    on_rewind: Callable[[Finding], None] | None = None
    """Called with the rewind's finding after each rewind (errors in it are logged, not raised)."""
    findings: list[Finding] = field(default_factory=list)
    rewinds: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.factor < 1:
            raise ValueError(f"The 'factor' parameter of Guard must be in (0, 1). Got {self.factor!r} instead.")
        if self.every < 1 or self.keep < 1:
            raise ValueError("The 'every' and 'keep' parameters of Guard must be >= 1.")
        if self.on_rewind is not None and not callable(self.on_rewind):
            raise ValueError(f"The 'on_rewind' parameter of Guard must be callable or None. Got {self.on_rewind!r} instead.")
        self._snaps: deque[Snapshot] = deque(maxlen=self.keep)
        self._skip = 0
        self._scale = 1.0  # product of all LR cuts so far: factor ** rewinds
        self._since_rewind_no_save = False
        self._start_lrs: list[float] = []
        self._mon: weakref.ref[Monitor] | None = None

    @property
    def lr_scale(self) -> float:
        """The cumulative LR factor applied so far (``factor ** rewinds``)."""
        return self._scale

    # ---- called by the Monitor -----------------------------------------------------------
    def attach(self, mon: Monitor) -> None:
        self._mon = weakref.ref(mon)  # the Monitor holds the Guard; no cycle back
        self._start_lrs = [float(g["lr"]) for g in mon.optimizer.param_groups]
        if mon.model is None:
            log.info("lrdoctor Guard: no model= given; snapshots hold the optimizer's parameters "
                     "(module buffers such as BatchNorm statistics are not restored)")
        self._save(mon, level=math.inf)

    def check(self, mon: Monitor) -> bool:
        """After each flush: rewind if the new losses show trouble; snapshot if due and healthy."""
        recent = mon.history.recent("loss", self.flush_every)
        if not recent:
            return False
        bad_nan = any(not math.isfinite(x) for x in recent)
        finite = [x for x in recent if math.isfinite(x)]
        level = float(np.median(finite)) if finite else math.inf
        snap = self._snaps[-1] if self._snaps else None
        ref = next((s.loss_level for s in reversed(self._snaps) if math.isfinite(s.loss_level)), math.inf)
        blown = blown_up(level, ref, self.blowup)
        if (bad_nan or blown) and self.rewinds < self.max_rewinds and snap is not None:
            first_bad = next((x for x in recent if not math.isfinite(x)), level)
            self._rewind(mon, "nonfinite" if bad_nan else "divergence", level, ref, first_bad)
            return True
        if snap is None or mon.steps - snap.step >= self.every:
            if not bad_nan and not blown:
                self._save(mon, level)
        return False

    def skip_step(self) -> bool:
        """True on each of the ``skip_batches`` steps that follow a rewind (asked once per step)."""
        if self._skip > 0:
            self._skip -= 1
            return True
        return False

    # ---- state ------------------------------------------------------------------------------
    def _state(self, mon: Monitor) -> dict[str, Any]:
        st: dict[str, Any] = {
            "optimizer": copy.deepcopy(mon.optimizer.state_dict()),
            "rng_torch": torch.get_rng_state(),
            "rng_numpy": _np_state_out(np.random.get_state()),
            "rng_python": random.getstate(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            st["rng_cuda"] = torch.cuda.get_rng_state_all()
        if mon.model is not None:
            st["model"] = {k: v.detach().clone() for k, v in mon.model.state_dict().items()}
        else:  # the weights the optimizer updates, found from its param groups
            st["params"] = [p.detach().clone() for g in mon.optimizer.param_groups for p in g["params"]]
        if mon.scheduler is not None and hasattr(mon.scheduler, "state_dict"):
            st["scheduler"] = copy.deepcopy(mon.scheduler.state_dict())
        if mon.scaler is not None and hasattr(mon.scaler, "state_dict"):
            st["scaler"] = copy.deepcopy(mon.scaler.state_dict())
        return st

    def _save(self, mon: Monitor, level: float) -> None:
        mon.flush()
        snap = Snapshot(mon.steps, level, self._scale)
        st = self._state(mon)
        st["history_len"] = len(mon.history)
        if self.directory:
            d = Path(self.directory)
            d.mkdir(parents=True, exist_ok=True)
            snap.path = d / f"guard-{mon.steps}.pt"
            torch.save(st, snap.path)
            old = self._snaps[0] if len(self._snaps) == self._snaps.maxlen else None
            if old is not None and old.path is not None:
                old.path.unlink(missing_ok=True)
        else:
            snap.state = st
        self._snaps.append(snap)
        self._since_rewind_no_save = False

    def _load(self, snap: Snapshot) -> dict[str, Any]:
        if snap.state is not None:
            return snap.state
        return torch.load(io.BytesIO(Path(snap.path).read_bytes()), weights_only=True)

    def _rewind(self, mon: Monitor, kind: str, level: float, ref: float, first_bad: float = math.nan) -> None:
        # Trouble again before a new snapshot: the restored state was not good enough; go one further back.
        if self._since_rewind_no_save and len(self._snaps) > 1:
            self._snaps.pop()
        snap = self._snaps[-1]
        st = self._load(snap)
        at = mon.steps
        lr_before = [float(g["lr"]) for g in mon.optimizer.param_groups]
        # The restored optimizer/scheduler carry the LRs of snapshot time, already cut by snap.scale:
        # apply only the cuts made since, so k rewinds always mean factor ** k (no compounding).
        self._scale *= self.factor
        ratio = self._scale / snap.scale
        if mon.model is not None and "model" in st:
            mon.model.load_state_dict(st["model"])
        elif "params" in st:
            with torch.no_grad():
                for p, saved in zip((p for g in mon.optimizer.param_groups for p in g["params"]), st["params"]):
                    p.copy_(saved)
        mon.optimizer.load_state_dict(copy.deepcopy(st["optimizer"]))
        for g in mon.optimizer.param_groups:
            g["lr"] = g["lr"] * ratio
            if "initial_lr" in g:
                g["initial_lr"] = g["initial_lr"] * ratio
        if mon.scheduler is not None and "scheduler" in st:
            lrs = [float(g["lr"]) for g in mon.optimizer.param_groups]
            mon.scheduler.load_state_dict(scaled_scheduler_state(st["scheduler"], ratio, lrs))
        if mon.scaler is not None and "scaler" in st:
            mon.scaler.load_state_dict(st["scaler"])
        torch.set_rng_state(st["rng_torch"])
        np.random.set_state(_np_state_in(st["rng_numpy"]))
        random.setstate(st["rng_python"])
        if "rng_cuda" in st:
            torch.cuda.set_rng_state_all(st["rng_cuda"])
        lr_after = [float(g["lr"]) for g in mon.optimizer.param_groups]
        self._since_rewind_no_save = True
        self.rewinds += 1
        # the Monitor's history (and log) go back to the snapshot, as the model did; the row of the
        # restored step records the rewind
        mon.rewind(snap.step, st["history_len"], {"guard_rewind": float(self.rewinds), "guard_detected_at_step": float(at),
                                                  "guard_lr_scale": self._scale})
        self._skip = self.skip_batches
        start = self._start_lrs[0] if self._start_lrs else lr_before[0]
        what = "a non-finite loss" if kind == "nonfinite" else f"loss {level:.4g} > {self.blowup:g} x {ref:.4g}"
        ev: dict[str, Any] = {
            "guard_rewind": self.rewinds, "detected_at_step": at, "restored_step": snap.step,
            "lr_before": lr_before, "lr_after": lr_after, "lr_at_start": list(self._start_lrs),
            "lr_scale": self._scale, "loss_level": level, "reference_level": ref,
        }
        if kind == "nonfinite":  # the offline nonfinite detector's keys
            ev.update(metric="loss", first_step=float(at), value=first_bad)
        else:  # the offline divergence detector's keys
            ev.update(onset_step=float(at), loss_at_onset=level, best_loss=ref)
        f = Finding(
            kind, Severity.WARNING, float(snap.step), float(at),
            f"Guard rewind {self.rewinds}: {what} at step {at}; restored step {snap.step} and cut the LR "
            f"x{self.factor:g} ({lr_before[0]:.3g} -> {lr_after[0]:.3g}; {self._scale:.3g}x the planned LR)",
            ev,
            "The update size overshot: the Guard handled it in the loop; the next run should start at the lower LR.",
            [Fix("lr", start, start * self._scale,
                 f"the Guard had to cut the LR to {self._scale:.3g}x: start the next run there")],
            [Watch("guard rewinds", "0 in the next run", "any rewind means the LR is still at the edge")],
        )
        self.findings.append(f)
        mon.log_event({"event": "guard_rewind", "step": at, "rewind": self.rewinds, "restored_step": snap.step,
                       "kind": kind, "lr_before": lr_before, "lr_after": lr_after, "lr_scale": self._scale,
                       "loss_level": level, "reference_level": ref})
        log.warning("lrdoctor Guard: %s", f.summary)
        if self.on_rewind is not None:
            try:
                self.on_rewind(f)
            except Exception as err:
                log.warning("lrdoctor Guard: the on_rewind callback failed (%s: %s); training continues",
                            type(err).__name__, err)
        # an older snapshot may still be good; the one restored stays (it is known-good)


def scaled_scheduler_state(state: dict[str, Any], ratio: float, lrs: list[float]) -> dict[str, Any]:
    """A copy of an ``LRScheduler.state_dict()`` with its base LRs multiplied by ``ratio`` and its
    last LRs set to ``lrs`` (the optimizer's, after the cut).

    torch has no public setter for a scheduler's LRs: ``get_last_lr()`` returns the private
    ``_last_lr``, which would keep the pre-cut value until the next ``scheduler.step()`` (and the
    Monitor would read that as an overwrite). The scheduler's own ``load_state_dict`` is the
    public way in; this function is the one place that knows the two key names.
    """
    out = copy.deepcopy(state)
    if isinstance(out.get("base_lrs"), list):
        out["base_lrs"] = [b * ratio for b in out["base_lrs"]]
    if "_last_lr" in out:
        out["_last_lr"] = list(lrs)
    return out


def _np_state_out(st: tuple) -> tuple:
    """numpy's RNG state with its key array as a tensor (loadable with weights_only=True)."""
    name, keys, pos, has_gauss, cached = st
    return (name, torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos), int(has_gauss), float(cached))


def _np_state_in(st: tuple) -> tuple:
    name, keys, pos, has_gauss, cached = st
    return (name, keys.numpy().astype(np.uint32), pos, has_gauss, cached)
