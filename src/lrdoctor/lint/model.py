"""What a lint rule reports: one finding at file:line:col, with the rule's source and a fix.

Kept separate from :class:`lrdoctor.Finding` (a finding about a *run*, with evidence from
its curves): a lint finding is about a *line of code or config*, before any step has run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lrdoctor.finding import Severity

__all__ = ["LintFinding", "Severity", "SEVERITIES"]

#: names accepted by ``--fail-on`` besides the severities themselves
SEVERITIES: tuple[str, ...] = ("info", "warning", "error")


@dataclass(frozen=True)
class LintFinding:
    """One finding of one rule at one place.

    ``line`` and ``col`` are 1-based (as editors and SARIF count); ``source`` names where
    the rule comes from (a post-mortem, a paper, a library's documented behaviour).
    """

    rule: str
    path: str
    line: int
    col: int
    message: str
    severity: Severity
    fix: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["severity"] = self.severity.value
        return d

    def text(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.rule} [{self.severity.value}] {self.message}"
