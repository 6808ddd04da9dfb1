"""``diagnose``: run the detectors over a run, attach prescriptions, return a Report."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

from lrdoctor.detect import EXPLAINED_BY_ERROR, check
from lrdoctor.errors import InputError
from lrdoctor.finding import Finding
from lrdoctor.io import read, training_roles
from lrdoctor.io.config import load_config
from lrdoctor.prescribe import prescribe
from lrdoctor.report.model import Report
from lrdoctor.run import Run, apply_roles

__all__ = ["Report", "diagnose"]

#: Kept for callers of the first release; the set lives in :mod:`lrdoctor.detect`.
_EXPLAINED_BY_ERROR = EXPLAINED_BY_ERROR


def require_training_metric(run: Run) -> None:
    """Refuse a run with no training signal at all (a README, a config, a source file read as
    a log): "no findings" on it would read as "healthy"."""
    if training_roles(run):
        return
    seen = ", ".join(list(run.metrics)[:12]) or "none"
    text = f"; text columns: {', '.join(run.meta.text_columns[:6])}" if run.meta.text_columns else ""
    # the reader's own reason for setting a column aside (a loss that counts up by 1: a loop index),
    # so that the one line says why a column named "loss" is no loss
    why = next((f"; {w}" for w in run.meta.warnings if any(f"'{m}'" in w for m in run.metrics)), "")
    if _headerless(run):
        # the column names are numbers: the header line was not copied (a pasted results.csv
        # without its first row), and naming "0.83126" with --metric helps nobody
        raise InputError(
            run.meta.source,
            f"no header row: the column names read are numbers ({seen}), so the first line is data; "
            "add the header line the trainer wrote (results.csv's first row, the CSV logger's field names)",
        )
    raise InputError(
        run.meta.source,
        f"no training metric recognised (numeric columns seen: {seen}{text}{why}); "
        "name one with --metric loss=COLUMN (or task_metric=, grad_norm=, ...)",
    )


def _headerless(run: Run) -> bool:
    """True when at least 3 column names, and most of them, are numbers: the reader took a data
    row for the header."""
    names = list(run.metrics)

    def number(name: str) -> bool:
        try:
            float(name)
        except ValueError:
            return False
        return True

    count = sum(number(n) for n in names)
    return count >= 3 and 2 * count > len(names)


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
        extra = load_config(config) if isinstance(config, (str, Path)) else dict(config)
        # a new Run object: the caller's run (and its config dict) is never mutated
        run = dataclasses.replace(run, config={**run.config, **extra}, derived={})
    require_training_metric(run)
    findings, cov = check(run, thresholds)
    findings = [prescribe(run, f) for f in sort_findings(findings)]
    return Report(run, findings, cov)
