"""Strict JSON for reports and logs (a torch-free leaf module).

Standard JSON has no inf or NaN, yet configs hold them (``max_grad_norm: .inf``) and
evidence may too: they are written as the strings ``"inf"``, ``"-inf"`` and ``"nan"``, so
every JSON lrdoctor emits parses with any strict parser (documented in docs/findings.md).
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

__all__ = ["json_safe", "dumps_safe"]


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
