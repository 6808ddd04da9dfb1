"""Prescriptions: a finding (+ the run's config and log) -> fix table and watch list.

Old values come from the config, else from the log; when neither has them the fix says
``None`` (rendered "unknown") instead of inventing a number.
"""

from __future__ import annotations

from lrdoctor.prescribe.rules import prescribe

__all__ = ["prescribe"]
