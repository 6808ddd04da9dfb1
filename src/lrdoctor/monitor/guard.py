"""Guard: keep the last known-good state; on a blow-up, rewind to it and cut the LR.

This is what large-model teams do by hand after loss spikes (restart from an earlier
checkpoint with a lower LR, skipping the batches that caused it: PaLM §5.1, OPT logbook).
The Guard does it inside the loop: every ``every`` steps it snapshots model, optimizer,
scheduler, RNG and AMP scaler (on the device, or on disk); when the flushed losses show a
non-finite value or a sustained blow-up above the snapshot's level, it restores the newest
snapshot taken before the trouble, multiplies every LR by ``factor`` and records the
intervention as a finding. Restored state is bit-identical to the saved one.
"""

from __future__ import annotations

import copy
import io
import math
import random
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lrdoctor.finding import Finding, Fix, Severity, Watch

if TYPE_CHECKING:
    from lrdoctor.monitor.monitor import Monitor

__all__ = ["Guard", "Snapshot"]


@dataclass
class Snapshot:
    step: int
    loss_level: float
    state: dict[str, Any] | None = None
    path: Path | None = None


@dataclass
class Guard:
    every: int = 100
    """Steps between snapshots (each one copies the model and optimizer state)."""
    factor: float = 0.5
    """LR multiplier after each rewind (halving: the usual manual response to a spike)."""
    max_rewinds: int = 5
    """After this many rewinds the Guard stops intervening and the run's findings stand."""
    keep: int = 2
    """Snapshots kept: the newest may already hold the start of the trouble."""
    blowup: float = 3.0
    """Trouble: the median loss of a flushed batch above ``blowup`` x the loss level when the
    snapshot was taken (a spike that does not come back within one flush), or any non-finite loss."""
    flush_every: int = 10
    """With a Guard the Monitor reads losses back every 10 steps (trouble is seen within 10 steps)."""
    skip_batches: int = 0
    """Steps after a rewind during which ``Monitor.step`` keeps returning True, so the loop can
    skip the batches that caused the blow-up."""
    directory: str | None = None
    """Keep snapshots on disk here instead of in memory (tensors, lists and numbers only:
    loaded back with ``torch.load(weights_only=True)``)."""
    findings: list[Finding] = field(default_factory=list)
    rewinds: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.factor < 1:
            raise ValueError(f"The 'factor' parameter of Guard must be in (0, 1). Got {self.factor!r} instead.")
        if self.every < 1 or self.keep < 1:
            raise ValueError("The 'every' and 'keep' parameters of Guard must be >= 1.")
        self._snaps: deque[Snapshot] = deque(maxlen=self.keep)
        self._skip = 0
        self._scale = 1.0  # product of all LR cuts so far
        self._since_rewind_no_save = False
        self._mon: "Monitor | None" = None

    # ---- called by the Monitor -----------------------------------------------------------
    def attach(self, mon: "Monitor") -> None:
        self._mon = mon
        self._save(mon, level=math.inf)

    def check(self, mon: "Monitor") -> bool:
        """After each flush: rewind if the new losses show trouble; snapshot if due and healthy."""
        if self._skip > 0:
            self._skip -= 1
            return True
        loss = mon._hist.get("loss", [])
        recent = [x for x in loss[-self.flush_every:] if x is not None]
        if not recent:
            return False
        bad_nan = any(not math.isfinite(x) for x in recent)
        finite = [x for x in recent if math.isfinite(x)]
        level = float(np.median(finite)) if finite else math.inf
        snap = self._snaps[-1] if self._snaps else None
        ref = next((s.loss_level for s in reversed(self._snaps) if math.isfinite(s.loss_level)), math.inf)
        blown = math.isfinite(ref) and level > self.blowup * ref
        if (bad_nan or blown) and self.rewinds < self.max_rewinds and snap is not None:
            self._rewind(mon, "nonfinite" if bad_nan else "divergence", level, ref)
            return True
        if snap is None or mon.steps - snap.step >= self.every:
            if not bad_nan and not blown:
                self._save(mon, level)
        return False

    # ---- state ------------------------------------------------------------------------------
    def _state(self, mon: "Monitor") -> dict[str, Any]:
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
        if mon.scheduler is not None and hasattr(mon.scheduler, "state_dict"):
            st["scheduler"] = copy.deepcopy(mon.scheduler.state_dict())
        if mon.scaler is not None and hasattr(mon.scaler, "state_dict"):
            st["scaler"] = copy.deepcopy(mon.scaler.state_dict())
        return st

    def _save(self, mon: "Monitor", level: float) -> None:
        mon._flush()
        snap = Snapshot(mon.steps, level)
        st = self._state(mon)
        st["history_len"] = len(mon._steps)
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

    def _rewind(self, mon: "Monitor", kind: str, level: float, ref: float) -> None:
        # Trouble again before a new snapshot: the restored state was not good enough; go one further back.
        if self._since_rewind_no_save and len(self._snaps) > 1:
            self._snaps.pop()
        snap = self._snaps[-1]
        st = self._load(snap)
        at = mon.steps
        if mon.model is not None and "model" in st:
            mon.model.load_state_dict(st["model"])
        mon.optimizer.load_state_dict(copy.deepcopy(st["optimizer"]))
        if mon.scheduler is not None and "scheduler" in st:
            mon.scheduler.load_state_dict(copy.deepcopy(st["scheduler"]))
        if mon.scaler is not None and "scaler" in st:
            mon.scaler.load_state_dict(st["scaler"])
        torch.set_rng_state(st["rng_torch"])
        np.random.set_state(_np_state_in(st["rng_numpy"]))
        random.setstate(st["rng_python"])
        if "rng_cuda" in st:
            torch.cuda.set_rng_state_all(st["rng_cuda"])
        # The restored optimizer/scheduler carry the LRs of snapshot time; every cut so far applies.
        old_lrs = [float(g["lr"]) * self._scale for g in mon.optimizer.param_groups]
        self._scale *= self.factor
        for g in mon.optimizer.param_groups:
            g["lr"] = g["lr"] * self._scale
            if "initial_lr" in g:
                g["initial_lr"] = g["initial_lr"] * self._scale
        sch = mon.scheduler
        if sch is not None and hasattr(sch, "base_lrs"):
            sch.base_lrs = [b * self._scale for b in sch.base_lrs]
            if hasattr(sch, "_last_lr"):
                sch._last_lr = [float(g["lr"]) for g in mon.optimizer.param_groups]
        self._since_rewind_no_save = True
        # the Monitor's history goes back to the snapshot, as the model did
        n = st["history_len"]
        del mon._steps[n:]
        for col in mon._hist.values():
            del col[n:]
        mon._pending.clear()
        mon._cur = {}
        mon._step = snap.step
        mon._next_check = snap.step + mon.settings.check_every
        self.rewinds += 1
        self._skip = self.skip_batches
        what = "a non-finite loss" if kind == "nonfinite" else f"loss {level:.4g} > {self.blowup:g} x {ref:.4g}"
        f = Finding(
            kind, Severity.WARNING, float(snap.step), float(at),
            f"Guard rewind {self.rewinds}: {what} at step {at}; restored step {snap.step} and cut the LR "
            f"x{self.factor:g} ({old_lrs[0]:.3g} -> {old_lrs[0] * self.factor:.3g})",
            {"guard_rewind": self.rewinds, "detected_at_step": at, "restored_step": snap.step,
             "lr_before": old_lrs, "lr_after": [x * self.factor for x in old_lrs], "loss_level": level,
             "reference_level": ref},
            "The update size overshot: the Guard handled it in the loop; the next run should start at the lower LR.",
            [Fix("lr", old_lrs[0], old_lrs[0] * self.factor, "the LR the Guard had to fall back to: start the next run there")],
            [Watch("guard rewinds", "0 in the next run", "any rewind means the LR is still at the edge")],
        )
        self.findings.append(f)
        # an older snapshot may still be good; the one restored stays (it is known-good)


def _np_state_out(st: tuple) -> tuple:
    """numpy's RNG state with its key array as a tensor (loadable with weights_only=True)."""
    name, keys, pos, has_gauss, cached = st
    return (name, torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos), int(has_gauss), float(cached))


def _np_state_in(st: tuple) -> tuple:
    name, keys, pos, has_gauss, cached = st
    return (name, keys.numpy().astype(np.uint32), pos, has_gauss, cached)
