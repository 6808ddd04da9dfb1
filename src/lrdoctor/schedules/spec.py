"""Schedules written in YAML/JSON (config files, the CLI).

Shapes (``total_steps`` is filled in wherever a schedule takes it)::

    cosine                                         # a name, defaults
    {cosine: {min_ratio: 0.01}}                    # a name with parameters
    {warmup: 0.02, base: {cosine: {min_ratio: 0.01}}}   # warmup (steps or fraction) x base,
                                                   # the base's decay starting after the warmup
    {product: [spec, spec, ...]}
    {join: {schedules: [spec, ...], boundaries: [steps, ...]}}
    {scale: {factor: 0.5, schedule: spec}}
    {repeat: {period: 1000, schedule: spec}}

Errors name the field (``base.cosine.min_ratio``), the value and the valid options.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, Mapping

import yaml

from lrdoctor.safe_yaml import YamlLimitError, load_yaml

from lrdoctor.schedules import family as F
from lrdoctor.schedules._core import Schedule, as_steps, join, product, repeat, scale

__all__ = ["from_spec", "load_spec", "SpecError", "NAMES"]

#: Every factory a spec can name: the family and its presets.
NAMES = {name: getattr(F, name) for name in F.__all__}
COMBINATORS = ("product", "join", "scale", "repeat")


class SpecError(ValueError):
    """A schedule spec that cannot be built; the message names the field."""


def _err(path: str, msg: str) -> SpecError:
    return SpecError(f"schedule spec: {path or 'spec'}: {msg}")


def _call(name: str, params: Any, total_steps: int | None, path: str, start_step: float | None = None) -> Schedule:
    fn = NAMES[name]
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise _err(path, f"parameters of {name!r} must be a mapping, got {params!r}")
    sig = inspect.signature(fn)
    unknown = [k for k in params if k not in sig.parameters]
    if unknown:
        raise _err(f"{path}.{unknown[0]}", f"unknown parameter of {name!r}; valid: {', '.join(sig.parameters)}")
    kw = dict(params)
    if "total_steps" in sig.parameters and "total_steps" not in kw:
        if total_steps is None:
            raise _err(path, f"{name!r} needs total_steps (give it in the spec or with --steps)")
        kw["total_steps"] = int(total_steps)
    if start_step is not None and "start_step" in sig.parameters and "start_step" not in kw:
        kw["start_step"] = start_step
    try:
        return fn(**kw)
    except (ValueError, TypeError) as err:
        bad = next((k for k in kw if f"'{k}'" in str(err)), None)
        raise _err(f"{path}.{bad}" if bad else path, str(err)) from None


def _build(spec: Any, total: int | None, path: str, start_step: float | None = None) -> Schedule:
    if isinstance(spec, str):
        if spec not in NAMES:
            raise _err(path, f"unknown schedule {spec!r}; valid: {', '.join(NAMES)}")
        return _call(spec, {}, total, path or spec, start_step)
    if not isinstance(spec, Mapping):
        raise _err(path, f"expected a schedule name or a mapping, got {spec!r}")
    spec = dict(spec)
    if "total_steps" in spec:
        total = spec.pop("total_steps")
        if not isinstance(total, int) or total < 1:
            raise _err(f"{path}.total_steps" if path else "total_steps", f"must be an integer >= 1, got {total!r}")
    if "base" in spec or ("warmup" in spec and not isinstance(spec["warmup"], Mapping) and len(spec) <= 2):
        extra = [k for k in spec if k not in ("warmup", "base")]
        if extra:
            raise _err(f"{path}.{extra[0]}" if path else extra[0], "unexpected beside warmup/base")
        w = spec.get("warmup", 0)
        try:
            w_steps = as_steps(w, total, "warmup")
        except ValueError as err:
            raise _err(f"{path}.warmup" if path else "warmup", str(err)) from None
        base = _build(spec.get("base", "constant"), total, f"{path}.base" if path else "base", start_step=w_steps)
        return F.warmup(w_steps) * base if w_steps > 0 else base
    if len(spec) != 1:
        raise _err(path, f"expected one key (a schedule name or {', '.join(COMBINATORS)}), got {list(spec)}")
    (name, params), = spec.items()
    here = f"{path}.{name}" if path else name
    if name == "product":
        if not isinstance(params, list) or not params:
            raise _err(here, "must be a non-empty list of specs")
        return product(*[_build(p, total, f"{here}[{i}]") for i, p in enumerate(params)])
    if name == "join":
        if not isinstance(params, Mapping) or "schedules" not in params or "boundaries" not in params:
            raise _err(here, "needs 'schedules' (list of specs) and 'boundaries' (list of steps)")
        parts = [_build(p, total, f"{here}.schedules[{i}]") for i, p in enumerate(params["schedules"])]
        try:
            return join(parts, [int(as_steps(b, total, "boundaries")) for b in params["boundaries"]])
        except ValueError as err:
            raise _err(f"{here}.boundaries", str(err)) from None
    if name in ("scale", "repeat"):
        key = "factor" if name == "scale" else "period"
        if not isinstance(params, Mapping) or key not in params or "schedule" not in params:
            raise _err(here, f"needs '{key}' and 'schedule'")
        inner = _build(params["schedule"], total, f"{here}.schedule")
        try:
            return scale(inner, float(params[key])) if name == "scale" else repeat(inner, int(params[key]))
        except (ValueError, TypeError) as err:
            raise _err(f"{here}.{key}", str(err)) from None
    if name not in NAMES:
        raise _err(here, f"unknown schedule {name!r}; valid: {', '.join(list(NAMES) + list(COMBINATORS))}")
    return _call(name, params, total, here, start_step)


def from_spec(spec: Any, total_steps: int | None = None) -> Schedule:
    """Build a schedule from a spec (a name, or a mapping as in the module docstring).

    >>> s = from_spec({"warmup": 0.1, "base": {"cosine": {"min_ratio": 0.0}}}, total_steps=100)
    >>> s(5), s(10), round(s(55), 6), s(100)
    (0.5, 1.0, 0.5, 0.0)
    """
    return _build(spec, total_steps, "")


def load_spec(text_or_path: str | Path) -> Any:
    """A spec from a YAML/JSON file, or from inline YAML/JSON text (``'{cosine: {min_ratio: 0.1}}'``)."""
    p = Path(str(text_or_path))
    try:
        is_file = p.is_file()
    except OSError:
        is_file = False
    text = p.read_text() if is_file else str(text_or_path)
    try:  # bounded YAML: aliases, depth and expanded size capped before expanding (billion laughs)
        return json.loads(text) if text.lstrip().startswith("{") and p.suffix != ".yaml" else load_yaml(text)
    except (json.JSONDecodeError, RecursionError):
        try:
            return load_yaml(text)
        except (yaml.YAMLError, YamlLimitError) as err:
            raise SpecError(f"schedule spec: not valid YAML/JSON ({str(err).splitlines()[0]})") from None
    except (yaml.YAMLError, YamlLimitError) as err:
        where = f"{p}: " if is_file else ""
        raise SpecError(f"schedule spec: {where}not valid YAML ({str(err).splitlines()[0]})") from None
