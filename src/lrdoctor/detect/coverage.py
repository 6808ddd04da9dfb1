"""Coverage: which checks could run on a run, and what the others needed.

Silence must mean "checked and healthy". Each kind registers what it needs
(:mod:`lrdoctor.detect.needs`: the columns and config keys it reads); a kind whose need is unmet,
or whose rule finds its data too thin to conclude (it raises
:class:`~lrdoctor.detect.registry.CannotJudge`), is *skipped* with the reason, and the report says
so instead of reading as "no findings". :func:`lrdoctor.detect.check` fills it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lrdoctor.detect.needs import MIN_GRAD_POINTS, MIN_LOSS_POINTS, MIN_TASK_POINTS

__all__ = ["Coverage", "MIN_LOSS_POINTS", "MIN_TASK_POINTS", "MIN_GRAD_POINTS"]


@dataclass
class Coverage:
    """``ran``: kinds that were checked; ``skipped``: kind -> why it could not be."""

    ran: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"ran": list(self.ran), "skipped": dict(self.skipped)}
