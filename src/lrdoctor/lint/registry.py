"""The rule registry: one module per rule registers one :class:`Rule` (ruptures-style:
adding a rule is adding a file under ``lint/rules/`` and importing it in its ``__init__``).

A rule is a pure function of the facts the engine builds once per file: a
:class:`~lrdoctor.lint.pyfacts.ScriptFacts` for Python, a
:class:`~lrdoctor.lint.config.ConfigFile` for YAML/JSON. It yields ``(line, col, message)``
hits; the engine adds the rule's id, severity, fix and source, applies suppressions and
formats the output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Literal

from lrdoctor.finding import Severity

__all__ = ["Hit", "Rule", "register", "all_rules", "get_rule"]

Target = Literal["python", "config"]


@dataclass(frozen=True)
class Hit:
    """A place a rule fired; ``fix`` overrides the rule's generic fix when it can be specific."""

    line: int
    col: int
    message: str
    fix: str = ""
    severity: Severity | None = None


@dataclass(frozen=True)
class Rule:
    """A lint rule: its id (stable, used in suppressions and SARIF), what it looks at,
    its default severity, a one-line summary, the generic fix and the rule's source."""

    id: str
    targets: tuple[Target, ...]
    severity: Severity
    summary: str
    fix: str
    source: str
    check: Callable[..., Iterable[Hit]] = field(repr=False, compare=False)
    triggers: tuple[tuple[str, ...], ...] | Callable[[str, str], bool] = ()
    """Text pre-filter for Python files: the rule can only fire when, for every group, one of
    its substrings occurs in the file, or when the callable ``(text, path) -> bool`` says so
    (a file no rule can fire on is never parsed). It must never reject a file the rule
    would flag: tests/test_lint.py compares pre-filtered and unfiltered runs."""

    def may_fire(self, text: str, path: str = "") -> bool:
        if callable(self.triggers):
            return self.triggers(text, path)
        return all(any(t in text for t in group) for group in self.triggers)


_RULES: dict[str, Rule] = {}


def register(id: str, *, targets: tuple[Target, ...], severity: Severity, summary: str, fix: str,
             source: str, triggers: tuple[tuple[str, ...], ...] | Callable[[str, str], bool] = ()) -> Callable[[Callable[..., Iterable[Hit]]], Callable[..., Iterable[Hit]]]:
    """Decorator: register ``check(facts) -> Iterable[Hit]`` as rule ``id``."""

    def deco(fn: Callable[..., Iterable[Hit]]) -> Callable[..., Iterable[Hit]]:
        if id in _RULES:
            raise ValueError(f"lint rule {id!r} is registered twice")
        _RULES[id] = Rule(id, targets, severity, summary, fix, source, fn, triggers)
        return fn

    return deco


def all_rules() -> list[Rule]:
    """Every registered rule, in id order (importing :mod:`lrdoctor.lint.rules` registers them)."""
    from lrdoctor.lint import rules  # noqa: F401  (registers on import)

    return [_RULES[k] for k in sorted(_RULES)]


def get_rule(rule_id: str) -> Rule:
    all_rules()
    return _RULES[rule_id]


def rules_for(target: Target) -> Iterator[Rule]:
    return (r for r in all_rules() if target in r.targets)
