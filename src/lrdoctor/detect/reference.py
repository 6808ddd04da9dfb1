"""The finding-kind reference, generated from the registry (``docs/reference/kinds.md``).

Each kind's section is built from its home module's docstring, its thresholds' defaults and
field docstrings (which cite their sources), and what the check needs. The page is never
edited by hand: ``python -m lrdoctor.detect.reference > docs/reference/kinds.md``, and
``tests/test_conformance.py`` fails when the committed page differs from the registry.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import sys
import textwrap

from lrdoctor.detect.registry import KindSpec, Thresholds

__all__ = ["field_docs", "render", "main"]


def field_docs(cls: type[Thresholds]) -> dict[str, str]:
    """Attribute docstrings of a thresholds dataclass: the string literal under each field."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, Thresholds)) or klass is Thresholds:
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body  # type: ignore[attr-defined]
        for a, b in zip(body, body[1:]):
            if isinstance(a, ast.AnnAssign) and isinstance(a.target, ast.Name) and isinstance(b, ast.Expr) \
                    and isinstance(b.value, ast.Constant) and isinstance(b.value.value, str):
                out[a.target.id] = inspect.cleandoc(b.value.value)
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _section(spec: KindSpec, shared: dict[str, list[str]]) -> str:
    mod = sys.modules[spec.module]
    rel = spec.module.replace("lrdoctor.", "").replace(".", "/") + ".py"
    lines = [f"## {spec.kind}", "", f"Home: `{rel}` · thresholds: `{type(spec.defaults).__name__}`"
             + (f" (shared with {', '.join(k for k in shared[spec.module] if k != spec.kind)})" if len(shared[spec.module]) > 1 else ""), ""]
    doc = inspect.cleandoc(mod.__doc__ or "")
    if doc:
        lines += [doc, ""]
    docs = field_docs(type(spec.defaults))
    lines += ["| threshold | default | meaning and source |", "|---|---|---|"]
    for f in dataclasses.fields(spec.defaults):
        lines.append(f"| `{f.name}` | `{getattr(spec.defaults, f.name)!r}` | {_one_line(docs.get(f.name, ''))} |")
    schema = spec.evidence.schema
    if schema:
        lines += ["", "Evidence (`" + spec.evidence.__name__ + "`): " + ", ".join(f"`{k}` ({str(t).replace('|', 'or')})" for k, t in schema.items())]
    need = spec.needs
    lines += ["", f"Needs: `{getattr(need, '__qualname__', repr(need)).replace('.<locals>', '')}`"
              + (f" — {_one_line(inspect.getdoc(need) or '')}" if inspect.getdoc(need) else "")]
    if spec.partial is not None:  # which rules may not run on a log the kind checks ("checked in part")
        part = spec.partial
        lines += ["", f"Checked in part: `{getattr(part, '__qualname__', repr(part))}`"
                  + (f" — {_one_line(inspect.getdoc(part) or '')}" if inspect.getdoc(part) else "")]
    rule = inspect.getdoc(spec.detect)
    if rule:  # what the rule reads beyond its needs, and where it says it cannot judge (CannotJudge)
        lines += ["", f"Rule (`{spec.detect.__name__}`): {_one_line(rule)}"]
    lines.append("")
    return "\n".join(lines)


def render() -> str:
    """The whole reference page, kinds in the order of ``KINDS``."""
    from lrdoctor.detect import DETECTORS, SPECS

    shared: dict[str, list[str]] = {}
    for k in DETECTORS:
        shared.setdefault(SPECS[k].module, []).append(k)
    head = ["# Finding kinds: generated reference", "",
            "Generated from the detector registry by `python -m lrdoctor.detect.reference`; do not edit.",
            "The narrative guide (coverage, roles, few-point rules) is docs/findings.md.", ""]
    return "\n".join(head + [_section(SPECS[k], shared) for k in DETECTORS]).rstrip() + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
