"""Config files read for linting: YAML (``yaml.safe`` composition, never construction of
arbitrary tags) and JSON, with the line and column of every key.

Three shapes are recognised:

* HF ``TrainingArguments`` JSON (``training_args.json`` dumps, ``--config`` files):
  ``learning_rate``, ``warmup_steps``/``warmup_ratio``, ``max_steps``, ``label_smoothing_factor``...
* rl-zoo / SB3 hyperparameter YAML: top-level keys are environment ids, each a mapping of
  hyperparameters; the algorithm comes from the file name (``ppo.yml``, ``dqn.yml``...).
* anything else: one scope over the whole document, keys matched by their last component.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

__all__ = ["ConfigEntry", "ConfigScope", "ConfigFile", "ConfigError", "read_config", "RL_ALGOS", "as_number"]

#: file stems of rl-zoo hyperparameter files, mapped to the algorithm they configure
RL_ALGOS: dict[str, str] = {
    "ppo": "ppo", "ppo_lstm": "ppo", "recurrentppo": "ppo", "a2c": "a2c", "trpo": "trpo",
    "dqn": "dqn", "qrdqn": "dqn", "sac": "sac", "td3": "td3", "ddpg": "ddpg", "tqc": "sac",
    "her": "sac", "crossq": "sac", "ars": "ars",
}


class ConfigError(ValueError):
    """A config file that cannot be parsed; carries the 1-based line and column."""

    def __init__(self, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.line, self.col = line, col


@dataclass(frozen=True)
class ConfigEntry:
    keypath: tuple[str, ...]
    value: Any
    line: int
    col: int

    @property
    def key(self) -> str:
        return self.keypath[-1]


@dataclass
class ConfigScope:
    """One set of hyperparameters: the document, or one environment of an rl-zoo file."""

    name: str
    entries: list[ConfigEntry] = field(default_factory=list)
    line: int = 1

    def get(self, *keys: str) -> ConfigEntry | None:
        """The first entry whose last key component is one of ``keys`` (case-insensitive)."""
        want = {k.lower() for k in keys}
        for e in self.entries:
            if e.key.lower() in want:
                return e
        return None

    def number(self, *keys: str) -> tuple[float, ConfigEntry] | None:
        e = self.get(*keys)
        if e is None:
            return None
        v = as_number(e.value)
        return None if v is None else (v, e)


@dataclass
class ConfigFile:
    path: str
    kind: str
    """'hf', 'rlzoo' or 'generic'."""
    scopes: list[ConfigScope]
    algo: str = ""
    text: str = ""

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


_NUM = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def as_number(v: Any) -> float | None:
    """A float from a config value: numbers, numeric strings (``'1e-4'``, which YAML 1.1
    leaves a string) and rl-zoo's ``lin_3e-4`` (a linear schedule's initial value)."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        s = v.strip()
        if s.startswith("lin_"):
            s = s[4:]
        if _NUM.match(s):
            return float(s)
    return None


def _scalar(node: yaml.ScalarNode) -> Any:
    tag, v = node.tag, node.value
    try:
        if tag.endswith(":int"):
            return int(v.replace("_", ""), 0)
        if tag.endswith(":float"):
            return float(v.replace("_", ""))
    except ValueError:
        return v
    if tag.endswith(":bool"):
        return v.lower() in ("true", "yes", "on", "y")
    if tag.endswith(":null"):
        return None
    return v


def _walk(node: yaml.Node, path: tuple[str, ...]) -> Iterator[ConfigEntry]:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
            p = path + (key,)
            if isinstance(v, yaml.ScalarNode):
                yield ConfigEntry(p, _scalar(v), k.start_mark.line + 1, k.start_mark.column + 1)
            elif isinstance(v, yaml.SequenceNode) and all(isinstance(x, yaml.ScalarNode) for x in v.value):
                yield ConfigEntry(p, [_scalar(x) for x in v.value], k.start_mark.line + 1, k.start_mark.column + 1)
                yield from ()
            else:
                yield ConfigEntry(p, None, k.start_mark.line + 1, k.start_mark.column + 1)
                yield from _walk(v, p)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            yield from _walk(v, path + (str(i),))


def _json_entries(obj: Any, path: tuple[str, ...]) -> Iterator[ConfigEntry]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = path + (str(k),)
            yield ConfigEntry(p, v if not isinstance(v, (dict, list)) else None, 1, 1)
            if isinstance(v, (dict, list)):
                yield from _json_entries(v, p)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _json_entries(v, path + (str(i),))


_JSON_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:')


def _positions(text: str, entries: list[ConfigEntry]) -> list[ConfigEntry]:
    """Line and column of each JSON key: the keys occur in the text in the order a depth-first
    walk of the parsed object yields them, so one forward scan places them all (C-speed
    regex, where composing the JSON as YAML would be pure Python and slow on large files)."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    out = []
    pos = 0
    for e in entries:
        line, col = 1, 1
        p = pos
        while True:
            m = _JSON_KEY.search(text, p)
            if m is None:
                break  # not found: keep the scan position for the next key
            try:
                key = json.loads(f'"{m.group(1)}"')
            except json.JSONDecodeError:
                key = m.group(1)
            if key == e.key:
                ln = bisect.bisect_right(starts, m.start())
                line, col, pos = ln, m.start() - starts[ln - 1] + 1, m.end()
                break
            p = m.end()
        out.append(ConfigEntry(e.keypath, e.value, line, col))
    return out


def _compose(text: str, path: str) -> list[yaml.Node]:
    try:
        return [n for n in yaml.compose_all(text, Loader=yaml.SafeLoader) if n is not None]
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ConfigError(f"cannot parse YAML: {err.problem or err}", line, col) from None
    except yaml.YAMLError as err:
        raise ConfigError(f"cannot parse YAML: {err}") from None


_ENV_ID = re.compile(r"^[A-Za-z][\w.:/-]*-v\d+$|NoFrameskip|^atari$", re.I)


def read_config(path: str, text: str) -> ConfigFile:
    """Parse ``text`` (from ``path``) into a :class:`ConfigFile`; :class:`ConfigError` if it cannot be parsed."""
    suffix = Path(path).suffix.lower()
    nodes: list[yaml.Node]
    if suffix == ".json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"cannot parse JSON: {err.msg}", err.lineno, err.colno) from None
        entries = _positions(text, list(_json_entries(obj, ())))
        kind = "hf" if isinstance(obj, dict) and {"per_device_train_batch_size", "lr_scheduler_type"} & set(obj) else "generic"
        return ConfigFile(path, kind, [ConfigScope("", entries)], RL_ALGOS.get(Path(path).stem.lower(), ""), text)
    else:
        nodes = _compose(text, path)
        entries = [e for n in nodes for e in _walk(n, ())]
        top = nodes[0] if nodes else None
    stem = Path(path).stem.lower()
    keys = {e.key.lower() for e in entries}
    if isinstance(top, yaml.MappingNode) and top.value and all(
            isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.MappingNode) for k, v in top.value):
        envs = [(k, v) for k, v in top.value if _ENV_ID.search(str(k.value)) or
                any(isinstance(kk, yaml.ScalarNode) and kk.value in ("n_timesteps", "policy") for kk, _ in v.value)]
        if envs and len(envs) == len(top.value):
            scopes = []
            for k, v in envs:
                # entries reached through a YAML alias (*defaults) or merge (<<: *defaults) sit at the
                # anchor's lines, above this key: they belong to (and are reported in) the anchor's scope
                own = [e for e in _walk(v, (str(k.value),)) if e.line >= k.start_mark.line + 1]
                scopes.append(ConfigScope(str(k.value), own, k.start_mark.line + 1))
            return ConfigFile(path, "rlzoo", scopes, RL_ALGOS.get(stem, ""), text)
    kind = "hf" if {"per_device_train_batch_size", "lr_scheduler_type"} & keys else "generic"
    return ConfigFile(path, kind, [ConfigScope("", entries)], RL_ALGOS.get(stem, ""), text)
