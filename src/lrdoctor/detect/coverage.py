"""Coverage: which checks could run on a run, and what the others needed.

Silence must mean "checked and healthy". Each kind registers what it needs
(:mod:`lrdoctor.detect.needs`: the columns and config keys it reads); a kind whose need is unmet,
or whose rule finds its data too thin to conclude (it raises
:class:`~lrdoctor.detect.registry.CannotJudge`), is *skipped* with the reason, and the report says
so instead of reading as "no findings". A kind that ran but some of whose rules could not (a rule
that needs a config value the log lacks, such as slow_progress's chance rules without the class
count) and that found nothing is also listed as checked *in part*, with what would let those rules
run (its spec's ``partial``, see :class:`~lrdoctor.detect.registry.KindSpec`): its silence covers
only the rules that ran. :func:`lrdoctor.detect.check` fills it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lrdoctor.detect.needs import MIN_GRAD_POINTS, MIN_LOSS_POINTS, MIN_TASK_POINTS

__all__ = ["Coverage", "MIN_LOSS_POINTS", "MIN_TASK_POINTS", "MIN_GRAD_POINTS"]


@dataclass
class Coverage:
    """``ran``: kinds that were checked; ``skipped``: kind -> why it could not be; ``partial``: kind
    (one of ``ran``, silent) -> which of its rules could not run on this log and what would let them."""

    ran: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    partial: dict[str, str] = field(default_factory=dict)

    @property
    def fully_checked(self) -> list[str]:
        """The kinds that ran with every rule: ``ran`` less those checked in part, the ones whose
        silence means "checked and healthy" without a qualifier (the reports' "checked:" line)."""
        return [k for k in self.ran if k not in self.partial]

    @staticmethod
    def by_reason(reasons: dict[str, str]) -> dict[str, list[str]]:
        """``skipped`` or ``partial`` grouped as reason -> its kinds, in order: the reports print one
        line per reason (the four gradient kinds share "no gradient-norm column")."""
        out: dict[str, list[str]] = {}
        for kind, why in reasons.items():
            out.setdefault(why, []).append(kind)
        return out

    def verdict_of_silence(self) -> str:
        """What a report with no findings says of the checks: how many ran, and how many of them
        only in part, so that "no findings" is never read as covering rules that could not run."""
        part = f", {len(self.partial)} of them in part" if self.partial else ""
        return f"no findings in the {len(self.ran)} checks that ran{part}"

    def to_dict(self) -> dict[str, object]:
        return {"ran": list(self.ran), "skipped": dict(self.skipped), "partial": dict(self.partial)}
