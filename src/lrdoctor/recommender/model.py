"""The recommendation and its reasons (each with its source)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lrdoctor.recommender.describe import Description

__all__ = ["Reason", "Warmup", "Recommendation"]


@dataclass(frozen=True)
class Reason:
    """One step of the decision: what rule was applied, with which numbers, and where it comes from."""

    rule: str
    detail: str
    source: str


@dataclass(frozen=True)
class Warmup:
    """Warmup advice: a length in optimizer steps and/or as a share of the run (``None`` = none advised)."""

    steps: int | None
    ratio: float | None
    needed: bool
    """True when skipping it is a known failure (Adam on attention/recurrent/SSM models)."""
    reason: Reason

    def text(self) -> str:
        if self.steps is None and self.ratio is None:
            return "none needed"
        parts = []
        if self.steps is not None:
            parts.append(f"{self.steps} optimizer steps")
        if self.ratio is not None:
            parts.append(f"{self.ratio:.0%} of the run")
        return " or ".join(parts) + (" (needed)" if self.needed else " (optional)")


@dataclass(frozen=True)
class Recommendation:
    """A starting LR, the range to sweep around it, warmup and schedule advice, and the reasons.

    ``confidence`` is 'high' (the description matches a measured case), 'medium' (a
    library default or a published rule applied inside its evidence) or 'low' (a hypothesis
    or an extrapolation); the range is what a sweep should cover in any case.
    """

    lr: float
    range: tuple[float, float]
    warmup: Warmup
    schedule: str
    reasons: tuple[Reason, ...]
    confidence: str
    confidence_note: str
    sweep: str
    description: Description = field(repr=False)

    @property
    def sources(self) -> list[str]:
        return [r.source for r in self.reasons]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lr": self.lr, "range": list(self.range),
            "warmup": {"steps": self.warmup.steps, "ratio": self.warmup.ratio, "needed": self.warmup.needed,
                       "reason": asdict(self.warmup.reason)},
            "schedule": self.schedule, "reasons": [asdict(r) for r in self.reasons],
            "confidence": self.confidence, "confidence_note": self.confidence_note,
            "sweep": self.sweep, "description": asdict(self.description),
        }

    def text(self) -> str:
        lo, hi = self.range
        lines = [f"lr          {self.lr:.3g}   (sweep {lo:.2g} .. {hi:.2g}; confidence {self.confidence})",
                 f"warmup      {self.warmup.text()}", f"schedule    {self.schedule}", "", "why:"]
        for i, r in enumerate(self.reasons, 1):
            lines.append(f"  {i}. {r.rule}: {r.detail}")
            lines.append(f"     source: {r.source}")
        lines.append(f"  warmup: {self.warmup.reason.detail}")
        lines.append(f"     source: {self.warmup.reason.source}")
        lines += ["", f"confidence: {self.confidence} - {self.confidence_note}", "",
                  "confirm it (success rate over seeds per LR, post-mortem #1's experiment):", f"  {self.sweep}"]
        return "\n".join(lines)
