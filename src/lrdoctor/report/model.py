"""The Report model: one diagnosed run (findings, coverage) and its JSON form.

It lives in ``report/`` beside its renderers, so ``diagnosis`` (which builds reports) and
``report.text`` (which draws them) both import it and neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lrdoctor.detect.coverage import Coverage
from lrdoctor.finding import Finding, Severity
from lrdoctor.jsonsafe import dumps_safe
from lrdoctor.run import Run

__all__ = ["Report"]


@dataclass
class Report:
    run: Run
    findings: list[Finding] = field(default_factory=list)
    #: which checks ran and which could not (with what they needed)
    coverage: Coverage = field(default_factory=Coverage)

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def fails(self, fail_on: str) -> bool:
        """True when a finding reaches ``fail_on`` ("error", "warning", "info" or "never")."""
        if fail_on == "never" or self.worst is None:
            return False
        return self.worst.rank >= Severity(fail_on).rank

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run.summary(), "findings": [f.to_dict() for f in self.findings],
                "coverage": self.coverage.to_dict()}

    def to_json(self, indent: int | None = 2) -> str:
        return dumps_safe(self.to_dict(), indent=indent)

    def to_html(self) -> str:
        """A self-contained HTML page (inline SVG curves, no script); see :mod:`lrdoctor.report.html`."""
        from lrdoctor.report.html import render

        return render(self)

    def __str__(self) -> str:
        from lrdoctor.report.text import render_text

        return render_text(self)
