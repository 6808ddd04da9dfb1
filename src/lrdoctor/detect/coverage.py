"""Coverage: which checks could run on a run, and what the others needed.

Silence must mean "checked and healthy". Each kind registers what it needs
(:mod:`lrdoctor.detect.needs`); a kind whose need is unmet is *skipped* with the reason, and
the report says so instead of reading as "no findings".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from lrdoctor.detect.needs import MIN_GRAD_POINTS, MIN_LOSS_POINTS, MIN_TASK_POINTS
from lrdoctor.run import Run

__all__ = ["Coverage", "coverage", "MIN_LOSS_POINTS", "MIN_TASK_POINTS", "MIN_GRAD_POINTS"]


@dataclass
class Coverage:
    """``ran``: kinds that were checked; ``skipped``: kind -> why it could not be."""

    ran: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"ran": list(self.ran), "skipped": dict(self.skipped)}


def coverage(run: Run, needs: dict[str, Callable[[Run], "str | None"]], strict: bool = False) -> Coverage:
    """Which kinds can run on ``run`` (``needs``: kind -> its need), and why the others cannot.

    A requirement that reads the data (a flat stretch, an LR cut, the cycles logged) can trip on a
    log no one foresaw, as a rule can: the kind is then listed as not checked, with the error, and
    every other kind is still judged (``strict`` re-raises, as ``LRDOCTOR_STRICT`` does for rules)."""
    cov = Coverage()
    for kind, need in needs.items():
        try:
            why = need(run)
        except Exception as err:
            if strict:
                raise
            why = f"its requirement could not be read on this log ({type(err).__name__}: {err}); please report it"
        if why is None:
            cov.ran.append(kind)
        else:
            cov.skipped[kind] = why
    return cov
