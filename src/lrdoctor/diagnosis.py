"""``diagnose``: run the detectors over a run, attach prescriptions, return a Report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from lrdoctor.detect import EXPLAINED_BY_ERROR, Coverage, check
from lrdoctor.errors import InputError
from lrdoctor.finding import Finding, Severity
from lrdoctor.io import read, training_roles
from lrdoctor.io.config import load_config
from lrdoctor.prescribe import prescribe
from lrdoctor.run import Run, apply_roles

__all__ = ["Report", "diagnose"]

#: Kept for callers of the first release; the set lives in :mod:`lrdoctor.detect`.
_EXPLAINED_BY_ERROR = EXPLAINED_BY_ERROR


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
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def __str__(self) -> str:
        from lrdoctor.report.text import render_text

        return render_text(self)


def require_training_metric(run: Run) -> None:
    """Refuse a run with no training signal at all (a README, a config, a source file read as
    a log): "no findings" on it would read as "healthy"."""
    if training_roles(run):
        return
    seen = ", ".join(list(run.metrics)[:12]) or "none"
    text = f"; text columns: {', '.join(run.meta.text_columns[:6])}" if run.meta.text_columns else ""
    raise InputError(
        run.meta.source,
        f"no training metric recognised (numeric columns seen: {seen}{text}); "
        "name one with --metric loss=COLUMN (or task_metric=, grad_norm=, ...)",
    )


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.severity.rank, f.start_step if f.start_step is not None else 0))


def diagnose(
    run_or_path: Run | str | Path,
    config: Mapping[str, Any] | str | Path | None = None,
    thresholds: Mapping[str, Any] | None = None,
    roles: Mapping[str, str] | None = None,
) -> Report:
    """Diagnose a run (or a log file): findings with evidence, causes, fixes and watch lists.

    ``roles`` (role -> column, e.g. ``{"loss": "td_err", "step": "frames"}``) overrides
    which column plays which role. Raises :class:`~lrdoctor.errors.InputError` when the
    input holds no training metric at all.
    """
    run = run_or_path if isinstance(run_or_path, Run) else read(run_or_path)
    if roles:
        run = apply_roles(run, dict(roles))
    if config is not None:
        run.config.update(load_config(config) if isinstance(config, (str, Path)) else dict(config))
    require_training_metric(run)
    findings, cov = check(run, thresholds)
    findings = sort_findings(findings)
    for f in findings:
        prescribe(run, f)
    return Report(run, findings, cov)
