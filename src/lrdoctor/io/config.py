"""Run configurations (YAML or JSON): hyperparameters that prescriptions quote as old values.

YAML is read with ``yaml.safe_load`` (no object construction). Nested sections are
flattened on demand by :func:`lookup`, which finds ``lr`` whether it sits at the top or
under ``optimizer:``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from lrdoctor.config import config_value, lookup  # re-exported: the lookups live in the leaf module
from lrdoctor.errors import ConfigError

__all__ = ["load_config", "lookup", "config_value"]


def load_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise ConfigError(path, "config file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(path, f"cannot read config ({err})") from None
    if path.suffix.lower() == ".json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(path, f"invalid JSON ({err.msg})", line=err.lineno) from None
    else:
        try:
            obj = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            raise ConfigError(path, f"invalid YAML ({getattr(err, 'problem', err)})",
                              line=mark.line + 1 if mark else None) from None
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise ConfigError(path, f"config must be a mapping of names to values, got {type(obj).__name__}")
    return obj


