"""Run configurations (YAML or JSON): hyperparameters that prescriptions quote as old values.

YAML is read with a bounded ``yaml.SafeLoader`` (no object construction; aliases, depth and
expanded size capped, :mod:`lrdoctor.safe_yaml`). Nested sections are
flattened on demand by :func:`lookup`, which finds ``lr`` whether it sits at the top or
under ``optimizer:``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from lrdoctor.config import config_value, lookup  # re-exported: the lookups live in the leaf module
from lrdoctor.errors import ConfigError
from lrdoctor.io.guard import sniff_encoding
from lrdoctor.io.limits import MAX_CONFIG_BYTES
from lrdoctor.safe_yaml import YamlLimitError, load_yaml

__all__ = ["load_config", "lookup", "config_value"]


def load_config(path: str | Path) -> dict[str, Any]:
    """A run config file as a dict, read within the bounds of :mod:`lrdoctor.io.limits`.

    Raises :class:`~lrdoctor.errors.ConfigError` naming the file (and line) for a missing,
    unreadable, oversized, invalid or non-mapping config; YAML aliases, depth and expanded
    size are capped before anything is expanded (:func:`~lrdoctor.safe_yaml.load_yaml`).
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(path, "config file not found")
    if not path.is_file():
        raise ConfigError(path, "config is not a regular file")
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(path, f"config is {size / 2**20:.1f} MiB; configs over {MAX_CONFIG_BYTES >> 20} MiB are refused")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(path, f"cannot read config ({err.strerror or err})") from None
    try:
        text = raw.decode(sniff_encoding(raw[:4096]))
    except UnicodeDecodeError as err:
        raise ConfigError(path, f"config is not UTF-8/UTF-16 text (undecodable byte at offset {err.start})") from None
    if path.suffix.lower() == ".json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(path, f"invalid JSON ({err.msg})", line=err.lineno) from None
        except RecursionError:
            raise ConfigError(path, "JSON nested too deeply to read") from None
        except ValueError as err:  # e.g. an integer with more digits than Python converts
            raise ConfigError(path, f"invalid JSON ({str(err).splitlines()[0]})") from None
    else:
        try:
            obj = load_yaml(text)
        except YamlLimitError as err:
            raise ConfigError(path, f"YAML refused: {err}") from None
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            raise ConfigError(path, f"invalid YAML ({problem})",
                              line=mark.line + 1 if mark else None) from None
        except ValueError as err:  # a YAML int with too many digits
            raise ConfigError(path, f"invalid YAML value ({str(err).splitlines()[0]})") from None
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise ConfigError(path, f"config must be a mapping of names to values, got {type(obj).__name__}")
    return obj
