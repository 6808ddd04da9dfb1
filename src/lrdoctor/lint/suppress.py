"""Inline suppressions: ``# lrdoctor: ignore[rule-id, other-id]`` on the reported line, or a
bare ``# lrdoctor: ignore`` for every rule on that line (YAML comments work the same way)."""

from __future__ import annotations

import re

__all__ = ["suppressed"]

_IGNORE = re.compile(r"#\s*lrdoctor:\s*ignore(?:\[([^\]]*)\])?", re.I)


def suppressed(line_text: str, rule: str) -> bool:
    """True when ``line_text`` carries an ignore comment covering ``rule``."""
    if "lrdoctor" not in line_text:
        return False
    for m in _IGNORE.finditer(line_text):
        ids = m.group(1)
        if ids is None:
            return True
        if rule in {s.strip() for s in ids.split(",")}:
            return True
    return False
