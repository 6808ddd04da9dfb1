"""The registry: the one place a finding kind is defined.

A kind lives in one module of ``detect/`` (named after the kind, or after the family when
several kinds share one computation, like ``progress``: ``slow_progress`` and ``plateau``).
The module declares, next to each other:

* its thresholds: a frozen dataclass derived from :class:`Thresholds`, each field with a
  docstring citing the source of its default (validated on construction);
* its detector, registered with :func:`detector` together with the default thresholds and
  what the check needs from a run (a function from :mod:`lrdoctor.detect.needs`);
* its fix rule, registered with :func:`fix_rule` for the same kind.

``lrdoctor.detect`` imports every module of the package, so a new module is picked up
without touching any other file; ``tests/test_conformance.py`` walks the registry and checks
that kinds, detectors, fix rules and docs agree. Nothing here is torch-dependent.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

from lrdoctor.finding import Evidence, Finding, Fix, Watch, all_kinds, register_evidence, register_kind
from lrdoctor.run import Run

__all__ = ["Thresholds", "KindSpec", "Prescription", "CannotJudge", "Need", "Partial", "detector", "fix_rule", "SPECS", "FIX_RULES"]

T = TypeVar("T", bound="Thresholds")
#: What a check needs from a run: ``need(run)``, or ``need(run, thresholds)`` when what it asks
#: for depends on the thresholds the check runs with (a window of ``2 * window`` reports); the
#: text it returns is the "not checked" reason, None when the check can run.
Need = Callable[..., "str | None"]
#: Which rules of a check that ran could not run on this run: ``partial(run, thresholds)`` returns
#: what they need and how to supply it (the "checked in part" note), None when every rule could run.
#: Asked only of a kind that ran and found nothing: a finding speaks for itself.
Partial = Callable[[Run, Any], "str | None"]


@dataclass(frozen=True)
class Thresholds:
    """Base of every kind's thresholds: checks each field's type and range on construction.

    A field may declare its valid range in its metadata, e.g.
    ``field(default=0.25, metadata={"range": (0, None)})`` for "> 0"; the default range for
    numbers is "finite and >= 0", which fits every threshold in lrdoctor (ratios, counts,
    shares, sigmas). Errors speak scikit-learn's voice: they name the parameter, the class,
    what is valid and what was given.
    """

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            want = hints.get(f.name)
            _check_field(type(self).__name__, f, want, value)


def _check_field(owner: str, f: dataclasses.Field, want: Any, value: Any) -> None:
    def bad(what: str) -> ValueError:
        return ValueError(f"The {f.name!r} parameter of {owner} must be {what}. Got {value!r} instead.")

    if want is bool:
        if not isinstance(value, bool):
            raise bad("a bool")
        return
    if want is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an int")
    elif want is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a float")
    else:  # tuples, strings, optional values: the module's own docstring says what they mean
        return
    lo, hi = f.metadata.get("range", (0, None))
    if not math.isfinite(float(value)):
        raise bad("a finite number")
    if lo is not None and value < lo:
        raise bad(f"a number >= {lo}")
    if hi is not None and value > hi:
        raise bad(f"a number <= {hi}")


class CannotJudge(Exception):
    """Raised by a detector whose run has the columns its requirement asks for, but whose data
    cannot support a conclusion either way: too few reports for the rule's windows (read from the
    thresholds it was given), an LR that was never cut for a rule that reads the loss's answer to a
    cut, a flat loss with no LR to tell a finished schedule from a high one.

    :func:`lrdoctor.detect.check` lists the kind as not checked, with the message as the reason,
    so the report never reads "checked and healthy" where the rule could not look. The message
    says what was there and what the rule needs. A rule raises it where it would otherwise return
    ``[]`` without having judged; the rule, not a requirement that restates its early returns, is
    the one place the condition lives, so the two cannot drift apart and the reason honours
    thresholds passed to ``check``."""


@dataclass(frozen=True)
class Prescription:
    """What a fix rule returns: the fix table, the watch list and when to look again."""

    fixes: list[Fix] = field(default_factory=list)
    watch: list[Watch] = field(default_factory=list)
    #: when to look at the run again (e.g. "after 2M more frames"); "" when not applicable
    recheck: str = ""


FixRule = Callable[[Run, Finding], Prescription]


@dataclass(frozen=True)
class KindSpec(Generic[T]):
    """A registered kind: its detector, default thresholds, needs, and home module."""

    kind: str
    detect: Callable[[Run, T], list[Finding]]
    defaults: T
    needs: Need
    module: str
    #: the declared evidence schema of the kind's findings
    evidence: type[Evidence] = Evidence
    #: which of the kind's rules could not run on a run it checked (see :data:`Partial`); None for a
    #: kind whose rules all run whenever its need is met
    partial: Partial | None = None

    def unmet_part(self, run: Run, thresholds: T | None = None) -> str | None:
        """What some of the kind's rules needed and ``run`` lacked, though the kind ran (the
        thresholds are the caller's, the defaults when None), or None. The note qualifies a silent
        kind's "checked": silence must mean checked and healthy, and here it covers only the rules
        that could run."""
        if self.partial is None:
            return None
        return self.partial(run, self.defaults if thresholds is None else thresholds)

    def requirement(self, run: Run, thresholds: T | None = None) -> str | None:
        """Why ``run`` cannot be checked with ``thresholds`` (the defaults when None), or None.
        A requirement that takes the thresholds reads the caller's, so a window widened by the
        caller is asked for, and a check whose rule would return nothing on a log too short for it
        is not listed as checked and silent."""
        if _takes_thresholds(self.needs):
            return self.needs(run, self.defaults if thresholds is None else thresholds)
        return self.needs(run)


@functools.lru_cache(maxsize=None)
def _takes_thresholds(need: Need) -> bool:
    """True when ``need`` takes a second positional parameter (the thresholds)."""
    try:
        params = inspect.signature(need).parameters.values()
    except (TypeError, ValueError):
        return False
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) >= 2


#: kind -> its spec, in registration order (``lrdoctor.detect`` orders them as ``KINDS``)
SPECS: dict[str, KindSpec] = {}
#: kind -> its fix rule
FIX_RULES: dict[str, FixRule] = {}


def detector(kind: str, *, thresholds: Thresholds, needs: Need,
             evidence: type[Evidence] = Evidence, partial: Partial | None = None) -> Callable[[Callable], Callable]:
    """Register the decorated ``detect(run, thresholds) -> list[Finding]`` as the detector of ``kind``.

    ``evidence`` is the kind's :class:`~lrdoctor.finding.Evidence` subclass: every finding of
    the kind, whoever produces it (detector, Monitor, Guard, instruments), carries it.
    ``partial`` names, for a run the kind checked and found silent, the rules that could not run
    and what they need (:data:`Partial`; the report's "checked in part" line)."""
    register_kind(kind)  # a new kind joins the vocabulary; an existing one keeps its name
    if not isinstance(thresholds, Thresholds):
        raise TypeError(f"The 'thresholds' parameter of detector({kind!r}) must be a Thresholds dataclass. "
                        f"Got {type(thresholds).__name__} instead.")

    def register(fn: Callable) -> Callable:
        if kind in SPECS and SPECS[kind].module != fn.__module__:
            raise ValueError(f"kind {kind!r} is already registered by {SPECS[kind].module}")
        SPECS[kind] = KindSpec(kind, fn, thresholds, needs, fn.__module__, evidence, partial)
        register_evidence(kind, evidence)
        return fn

    return register


def fix_rule(kind: str) -> Callable[[FixRule], FixRule]:
    """Register the decorated ``rule(run, finding) -> Prescription`` as the fix rule of ``kind``."""
    if kind not in all_kinds():
        raise ValueError(f"The 'kind' parameter of fix_rule must be a kind registered by a detector "
                         f"(register the detector first). Got {kind!r} instead.")

    def register(fn: FixRule) -> FixRule:
        FIX_RULES[kind] = fn
        return fn

    return register
