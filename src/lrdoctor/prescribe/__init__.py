"""Prescriptions: a finding (+ the run's config and log) -> fix table and watch list.

Each kind's fix rule lives in the kind's own module in ``detect/`` and registers itself;
:func:`prescribe` looks it up. Old values come from the config, else from the log; when
neither has them the fix says ``None`` (rendered "unknown") instead of inventing a number.
The calculators (:mod:`lrdoctor.prescribe.calc`: tau, n-step, batch scaling) live here too.
"""

from __future__ import annotations

import dataclasses

from lrdoctor.finding import Finding
from lrdoctor.run import Run

__all__ = ["prescribe"]


def prescribe(run: Run, finding: Finding) -> Finding:
    """A copy of ``finding`` with its kind's fixes, watch list and recheck filled in.

    Nothing is mutated. A finding that already carries fixes (e.g. from the Guard) is
    returned as it is.
    """
    from lrdoctor.detect import FIX_RULES

    if finding.fixes:
        return finding
    rule = FIX_RULES.get(finding.kind)
    if rule is None:
        raise LookupError(f"no fix rule is registered for kind {finding.kind!r}")
    p = rule(run, finding)
    return dataclasses.replace(finding, fixes=list(p.fixes), watch=list(p.watch), recheck=p.recheck or finding.recheck)
