"""Where a script sets a named hyperparameter to a literal: ``f(tau=0.01)``, ``tau = 0.01``,
``tau: float = 0.01`` (CleanRL's ``Args`` dataclass), ``add_argument('--tau', default=0.01)``
and ``def f(tau=0.01)``."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterator

from lrdoctor.lint.pyfacts import CallSite, ScriptFacts, last

__all__ = ["NamedValue", "named_values"]


@dataclass(frozen=True)
class NamedValue:
    name: str
    value: float
    line: int
    col: int
    how: str
    """'keyword', 'assign', 'argparse' or 'default'."""
    call: CallSite | None = None


def _norm(s: str) -> str:
    return s.lstrip("-").replace("-", "_").lower()


def named_values(facts: ScriptFacts, names: set[str]) -> Iterator[NamedValue]:
    names = {n.lower() for n in names}
    for c in facts.calls:
        for kw in c.node.keywords:
            if kw.arg and kw.arg.lower() in names:
                v = facts.number(kw.value, c.ctx.func)
                if v is not None:
                    yield NamedValue(kw.arg, v, kw.value.lineno, kw.value.col_offset + 1, "keyword", c)
        if c.attr == "add_argument" and c.node.args and isinstance(c.node.args[0], ast.Constant) \
                and isinstance(c.node.args[0].value, str):
            flags = [a.value for a in c.node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if any(_norm(f) in names for f in flags):
                for kw in c.node.keywords:
                    if kw.arg == "default":
                        v = facts.number(kw.value)
                        if v is not None:
                            yield NamedValue(_norm(flags[0]), v, kw.value.lineno, kw.value.col_offset + 1, "argparse", c)
    for name, value, ctx, target in facts.assign_sites:
        if last(name).lower() in names:
            v = facts.number(value, ctx.func)
            if v is not None and not isinstance(value, ast.Name):
                yield NamedValue(last(name), v, target.lineno, target.col_offset + 1, "assign")
    for f in facts.functions.values():
        args = f.node.args  # type: ignore[attr-defined]
        pos = args.posonlyargs + args.args
        pairs = list(zip(pos[len(pos) - len(args.defaults):], args.defaults)) + \
            [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        for a, d in pairs:
            if a.arg.lower() in names:
                v = facts.number(d)
                if v is not None:
                    yield NamedValue(a.arg, v, d.lineno, d.col_offset + 1, "default")
