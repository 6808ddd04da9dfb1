"""JSON helpers: the standard library already reads the bare NaN/Infinity tokens HF writes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

from lrdoctor.errors import LogFormatError
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


def json_safe(obj: Any, _depth: int = 0) -> Any:
    """``obj`` with every value JSON can hold: non-finite floats become the strings
    ``"inf"``, ``"-inf"`` and ``"nan"`` (standard JSON has no such numbers, and
    ``max_grad_norm: .inf`` is a common config), numpy scalars become Python numbers,
    anything else unknown becomes its ``str``."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if _depth > 100:
        return str(obj)
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v, _depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [json_safe(v, _depth + 1) for v in obj]
    item = getattr(obj, "item", None)  # numpy scalars and 0-d arrays
    if callable(item) and getattr(obj, "ndim", 1) == 0:
        try:
            return json_safe(item(), _depth + 1)
        except (TypeError, ValueError):
            pass
    tolist = getattr(obj, "tolist", None)  # numpy arrays
    if callable(tolist):
        return json_safe(tolist(), _depth + 1)
    return str(obj)


def dumps_safe(obj: Any, indent: int | None = 2) -> str:
    """Strict JSON (``allow_nan=False``) of :func:`json_safe` ``(obj)``."""
    return json.dumps(json_safe(obj), indent=indent, allow_nan=False)
