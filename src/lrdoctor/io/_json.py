"""JSON helpers: the standard library already reads the bare NaN/Infinity tokens HF writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lrdoctor.errors import LogFormatError
from lrdoctor.jsonsafe import dumps_safe, json_safe  # noqa: F401  (re-exported)
from lrdoctor.io.guard import sniff_encoding
from lrdoctor.io.limits import MAX_JSON_CONTAINERS

__all__ = ["load_json", "number", "json_safe", "dumps_safe"]


def load_json(path: Path) -> Any:
    """A JSON document, decoded from UTF-8 or UTF-16/32 (byte-order mark or zero-byte
    pattern), refused in one line when it is empty, invalid, nested beyond Python's
    recursion limit or holds more than :data:`~lrdoctor.io.limits.MAX_JSON_CONTAINERS`
    arrays and objects (counted on the raw bytes, before anything is built)."""
    raw = path.read_bytes()
    enc = sniff_encoding(raw[:4096])
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError as err:
        raise LogFormatError(path, f"is not {enc.upper()} text (undecodable byte at offset {err.start})") from None
    del raw
    if not text.strip():
        raise LogFormatError(path, "file is empty")
    containers = text.count("[") + text.count("{")
    if containers > MAX_JSON_CONTAINERS:
        raise LogFormatError(path, f"JSON holds up to {containers:,} arrays/objects; more than "
                                   f"{MAX_JSON_CONTAINERS:,} are refused (memory bound)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise LogFormatError(path, f"invalid JSON ({err.msg})", line=err.lineno) from None
    except RecursionError:
        raise LogFormatError(path, "JSON nested too deeply to read (beyond Python's recursion limit)") from None
    except ValueError as err:  # an integer literal with more digits than Python converts
        raise LogFormatError(path, f"invalid JSON value ({str(err).splitlines()[0]})") from None


def number(value: Any) -> float | None:
    """A JSON value as a float, or None when it is not a number (strings, lists, bools)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


