"""The Monitor's checks: the offline detectors on its history, plus the findings only a live
run has (the schedule-overwrite check, the Guard's rewinds), each kind warned once per episode.

Log-derived findings come from exactly ``lrdoctor.diagnose(run)``, the function
``lrdoctor diagnose`` runs on the written log, so the two agree; runtime findings are added on
top, a runtime finding replacing the detector's finding of the same kind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import lrdoctor
from lrdoctor.errors import InputError
from lrdoctor.finding import Finding, Severity
from lrdoctor.monitor.history import History
from lrdoctor.monitor.overwrite import KIND as OVERWRITE
from lrdoctor.monitor.overwrite import ScheduleOverwriteCheck

__all__ = ["Checks", "order"]

log = logging.getLogger("lrdoctor")


def order(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then by start step (the order of ``lrdoctor diagnose``'s report)."""
    return sorted(findings, key=lambda f: (-f.severity.rank, f.start_step if f.start_step is not None else 0))


class Checks:
    """``check(run, extra)`` diagnoses and warns; ``findings(extra)`` combines without checking.

    ``extra`` are findings kept elsewhere (the Guard's). ``notify(f)`` is how a finding reaches
    the user: ``logging`` (logger ``lrdoctor``) and ``on_finding``, on rank 0 only.
    """

    def __init__(self, overwrite: ScheduleOverwriteCheck | None, on_finding: Callable[[Finding], None] | None,
                 rank: int) -> None:
        self.overwrite = overwrite
        self.on_finding = on_finding
        self.rank = rank
        self._callback_failed = False
        #: the latest ``lrdoctor.diagnose`` report (None before 2 steps or without a training metric)
        self.report: lrdoctor.Report | None = None
        self._active: set[str] = set()
        #: extra findings (the Guard's rewinds, the probes' own) already handed to on_finding
        self._told: set[tuple] = set()

    def check(self, run: lrdoctor.Run, extra: list[Finding]) -> list[Finding]:
        report = None
        if run.n_steps >= 2:
            try:
                report = lrdoctor.diagnose(run)
            except InputError:
                report = None  # no training metric logged yet (loss arrives later, e.g. via annotate)
        self.report = report
        found = list(report.findings) if report is not None else []
        runtime = self.runtime()
        live = {r.kind for r in runtime}
        for f in found:
            if f.kind not in self._active and f.kind not in live:
                self.notify(f)
        # an episode ends when its kind is no longer found; it may warn again later
        kinds = {f.kind for f in found} | live
        self._active = (self._active & kinds) | kinds
        for f in extra:  # the Guard and the probes log their own line; the callback hears them here
            key = (f.kind, f.start_step, f.summary)
            if key not in self._told:
                self._told.add(key)
                self._emit(f, log_it=False)
        return self.findings(extra)

    def findings(self, extra: list[Finding]) -> list[Finding]:
        runtime = self.runtime()
        live = {r.kind for r in runtime}
        found = [f for f in (self.report.findings if self.report is not None else []) if f.kind not in live]
        return order(runtime + found + list(extra))

    def runtime(self) -> list[Finding]:
        f = self.overwrite.finding() if self.overwrite is not None else None
        return [] if f is None else [with_fixes(f)]

    def overwrite_changed(self) -> None:
        """The live overwrite check found its first overwrite, or a decay undone: warn now."""
        f = self.overwrite.finding() if self.overwrite is not None else None
        if f is not None:
            self._active.discard(OVERWRITE)
            self.notify(with_fixes(f))

    def notify(self, f: Finding) -> None:
        """Start an episode of ``f``'s kind and hand it to the user."""
        self._active.add(f.kind)
        self._emit(f)

    def _emit(self, f: Finding, log_it: bool = True) -> None:
        """A ``logging`` line (unless the finding's source logged one already) and the
        ``on_finding`` callback, on rank 0 only."""
        if self.rank != 0:
            return
        if log_it:
            lvl = logging.ERROR if f.severity is Severity.ERROR else logging.WARNING
            log.log(lvl, "lrdoctor: %s %s at step %s: %s", f.severity.value, f.kind, f.start_step, f.summary)
        if self.on_finding is not None:
            try:
                self.on_finding(f)
            except Exception as err:  # the user's callback must not break the loop; say so once
                if not self._callback_failed:
                    self._callback_failed = True
                    log.warning("lrdoctor Monitor: on_finding callback failed (%s: %s); training continues",
                                type(err).__name__, err)


def with_fixes(f: Finding) -> Finding:
    """``f`` with fixes: the overwrite's fix needs nothing from the run, so the rule registered
    for its kind is applied to an empty run (public ``lrdoctor.prescribe.prescribe``, which
    returns a filled copy; older versions filled ``f`` in place)."""
    if f.fixes:
        return f
    try:
        from lrdoctor.prescribe import prescribe

        out = prescribe(History().to_run(), f)
        return out if isinstance(out, Finding) else f
    except Exception as err:  # a fix table is a nicety; the finding stands without it
        log.debug("lrdoctor Monitor: no fixes for %s (%s)", f.kind, err)
        return f
