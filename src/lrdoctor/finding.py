"""Findings: what a detector reports, with evidence, cause, fixes and a watch list.

The kind vocabulary is fixed (see DESIGN.md); it is extended only by adding names.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

import re

import numpy as np

__all__ = ["KINDS", "all_kinds", "register_kind", "register_evidence", "Evidence", "Severity", "Fix", "Watch", "Finding"]

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


class Evidence(dict):
    """The numbers that prove a finding, with a declared schema per kind.

    A kind's module declares its evidence as a subclass whose class annotations name every
    key it may write and its type (``best_loss: float``); the registry ties the class to the
    kind, and every producer (the detector, the Monitor, the Guard, the instruments) goes
    through it: a plain dict given to :class:`Finding` is converted. It *is* a dict, so the
    JSON contract and readers (``f.evidence["best_loss"]``) are unchanged; keys that were not
    set are absent, not null. Keys outside the schema or values of the wrong type never
    raise inside a training loop: they are recorded in :attr:`problems`, which the
    conformance test requires to be empty.
    """

    #: key -> type, collected from the class annotations of the subclass and its bases
    schema: dict[str, Any] = {}

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        merged: dict[str, Any] = {}
        for base in reversed(cls.__mro__):
            merged.update({k: v for k, v in vars(base).get("__annotations__", {}).items() if k not in ("schema", "problems")})
        cls.schema = merged

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.problems: list[str] = [p for k, v in self.items() for p in self._check(k, v)]
        _note(self.problems)

    def _check(self, key: str, value: Any) -> list[str]:
        if not self.schema:
            return []
        if key not in self.schema:
            return [f"{type(self).__name__}: undeclared key {key!r}"]
        want = _TYPES.get(str(self.schema[key]).replace(" ", ""))
        if want is not None and value is not None and not isinstance(value, want):
            return [f"{type(self).__name__}.{key}: expected {self.schema[key]}, got {type(value).__name__}"]
        return []

    def __setitem__(self, key: str, value: Any) -> None:
        new = self._check(key, value)
        self.problems.extend(new)
        _note(new)
        super().__setitem__(key, value)


#: schema problems seen in this process (the first 100), for the test suite's final check
SEEN_PROBLEMS: list[str] = []


def _note(problems: list[str]) -> None:
    if problems and len(SEEN_PROBLEMS) < 100:
        SEEN_PROBLEMS.extend(p for p in problems if p not in SEEN_PROBLEMS)


#: annotation text -> the isinstance check of a value (numpy scalars count as numbers)
_TYPES: dict[str, tuple[type, ...]] = {
    "float": (float, int, np.floating, np.integer), "int": (int, np.integer), "str": (str,), "bool": (bool, np.bool_),
    "list": (list, tuple), "dict": (dict,), "float|None": (float, int, np.floating, np.integer),
    "dict|None": (dict,), "str|None": (str,), "int|None": (int, np.integer), "bool|None": (bool, np.bool_),
}

#: kind -> its Evidence class (filled by :func:`register_evidence`)
_EVIDENCE: dict[str, type[Evidence]] = {}


def register_evidence(kind: str, cls: type[Evidence]) -> None:
    """Tie ``kind`` to its evidence schema (called by ``lrdoctor.detect.registry.detector``)."""
    _EVIDENCE[kind] = cls


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
        cls = _EVIDENCE.get(self.kind)
        if cls is not None and type(self.evidence) is not cls:
            self.evidence = cls(self.evidence)

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
