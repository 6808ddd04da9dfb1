"""JSON helpers: the standard library already reads the bare NaN/Infinity tokens HF writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lrdoctor.errors import LogFormatError

__all__ = ["load_json", "number"]


def load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LogFormatError(path, "is not UTF-8 text") from None
    if not text.strip():
        raise LogFormatError(path, "file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise LogFormatError(path, f"invalid JSON ({err.msg})", line=err.lineno) from None


def number(value: Any) -> float | None:
    """A JSON value as a float, or None when it is not a number (strings, lists, bools)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
