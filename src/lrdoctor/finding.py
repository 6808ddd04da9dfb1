"""Findings: what a detector reports, with evidence, cause, fixes and a watch list.

The kind vocabulary is fixed (see DESIGN.md); it is extended only by adding names.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

import re

import numpy as np

__all__ = ["KINDS", "all_kinds", "register_kind", "Severity", "Fix", "Watch", "Finding"]

#: a config key path: names joined by dots (``optimizer.lr``, ``CartPole-v1.learning_rate``)
_KEY = re.compile(r"[A-Za-z_][\w\-]*(\.[\w\-]+)*")

KINDS: tuple[str, ...] = (
    "divergence", "oscillation", "slow_progress", "plateau", "nonfinite", "loss_spike",
    "grad_explosion", "grad_vanishing", "clipping_saturated", "grad_norm_unstable",
    "update_ratio_high", "overfitting", "initial_loss_anomaly", "label_smoothing_floor",
    "schedule_overridden", "warmup_missing", "lr_beyond_stability", "q_divergence",
    "kl_exceeded", "entropy_collapse", "value_collapse", "objective_mismatch",
    "performance_reversal", "reward_instability", "cycle_degradation",
)


#: kinds added after the first release by their home modules (see :func:`register_kind`)
_ADDED: list[str] = []


def register_kind(name: str) -> None:
    """Add a kind to the vocabulary (called by ``lrdoctor.detect.registry.detector``).

    The vocabulary is extended only by adding: names are lowercase identifiers and never
    reuse an existing one, so users' CI rules keyed on a kind keep their meaning.
    """
    if not name.isidentifier() or name != name.lower():
        raise ValueError(f"The 'name' parameter of register_kind must be a lowercase identifier. Got {name!r} instead.")
    if name not in KINDS and name not in _ADDED:
        _ADDED.append(name)


def all_kinds() -> tuple[str, ...]:
    """Every kind: the first release's :data:`KINDS`, then those added since."""
    return KINDS + tuple(_ADDED)


class Severity(str, Enum):
    """info: worth knowing; warning: likely hurting the run; error: the run is broken."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True)
class Fix:
    """One row of a fix table.

    ``parameter`` is machine-readable: the config's own key path when the old value came
    from the config (``optimizer.lr``, ``CartPole-v1.learning_rate``), else the canonical
    name (``lr``, ``max_grad_norm``). ``old`` and ``new`` are values; ``old`` is None when
    neither the config nor the log says it, ``new`` is None when the change is not one value
    (then ``note`` says what to do). ``reason`` says why. A row a CI can apply by setting
    ``parameter`` to ``new`` is :attr:`applicable`.
    """

    parameter: str
    old: Any
    new: Any
    reason: str
    #: human guidance when the change is not a single value ("2-5% of the steps", "clamp TD targets ...")
    note: str = ""

    @property
    def applicable(self) -> bool:
        """True when ``new`` is a plain value for a config-like key: a CI can write it."""
        value_ok = isinstance(self.new, (bool, int, float)) and not (isinstance(self.new, float) and self.new != self.new)
        return value_ok and _KEY.fullmatch(self.parameter) is not None


@dataclass(frozen=True)
class Watch:
    """What to watch in the next run: the metric, its healthy range, and what crossing it means."""

    metric: str
    healthy: str
    meaning: str
    #: the threshold that means continued trouble ("" when ``meaning`` says it all)
    trouble: str = ""


@dataclass
class Finding:
    kind: str
    severity: Severity
    start_step: float | None
    end_step: float | None
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    cause: str = ""
    fixes: list[Fix] = field(default_factory=list)
    watch: list[Watch] = field(default_factory=list)
    #: when to look at the run again (e.g. "after 2M more frames"); "" when not applicable
    recheck: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS and self.kind not in _ADDED:
            raise ValueError(f"unknown finding kind {self.kind!r}; valid kinds: {', '.join(all_kinds())}")
        self.severity = Severity(self.severity)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["severity"] = self.severity.value
        d["start_step"] = _plain(self.start_step)
        d["end_step"] = _plain(self.end_step)
        d["evidence"] = _plain(self.evidence)
        d["fixes"] = [_plain({**asdict(f), "applicable": f.applicable}) for f in self.fixes]
        d["watch"] = [asdict(w) for w in self.watch]
        return d


def _plain(x: Any) -> Any:
    """JSON-safe: numpy scalars to Python, non-finite floats to strings ("nan", "inf")."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_plain(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        f = float(x)
        if not np.isfinite(f):
            return "nan" if np.isnan(f) else ("inf" if f > 0 else "-inf")
        return int(f) if f.is_integer() and abs(f) < 2**53 else f
    return x
