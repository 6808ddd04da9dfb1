"""``diagnose``: run the detectors over a run, attach prescriptions, return a Report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from lrdoctor.detect import detect_all
from lrdoctor.finding import Finding, Severity
from lrdoctor.io import read
from lrdoctor.io.config import load_config
from lrdoctor.prescribe import prescribe
from lrdoctor.run import Run

__all__ = ["Report", "diagnose"]

#: Findings a confirmed error explains: once the loss diverged or blew up, "slow progress"
#: or a plateau over the same run adds nothing.
_EXPLAINED_BY_ERROR = {"slow_progress", "plateau"}


@dataclass
class Report:
    run: Run
    findings: list[Finding] = field(default_factory=list)

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def fails(self, fail_on: str) -> bool:
        """True when a finding reaches ``fail_on`` ("error", "warning", "info" or "never")."""
        if fail_on == "never" or self.worst is None:
            return False
        return self.worst.rank >= Severity(fail_on).rank

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run.summary(), "findings": [f.to_dict() for f in self.findings]}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def __str__(self) -> str:
        from lrdoctor.report.text import render_text

        return render_text(self)


def diagnose(
    run_or_path: Run | str | Path,
    config: Mapping[str, Any] | str | Path | None = None,
    thresholds: Mapping[str, Any] | None = None,
) -> Report:
    """Diagnose a run (or a log file): findings with evidence, causes, fixes and watch lists."""
    run = run_or_path if isinstance(run_or_path, Run) else read(run_or_path)
    if config is not None:
        run.config.update(load_config(config) if isinstance(config, (str, Path)) else dict(config))
    findings = detect_all(run, thresholds)
    if any(f.severity is Severity.ERROR and f.kind in ("divergence", "nonfinite", "lr_beyond_stability") for f in findings):
        findings = [f for f in findings if f.kind not in _EXPLAINED_BY_ERROR]
    findings.sort(key=lambda f: (-f.severity.rank, f.start_step if f.start_step is not None else 0))
    for f in findings:
        prescribe(run, f)
    return Report(run, findings)
