"""Typed lookups in a run's config (a torch-free leaf module).

A config is whatever the user gave: a YAML/JSON file, an argparse Namespace line of a log,
HF ``TrainingArguments``, an SB3 hyperparameter file, often nested (``CartPole-v1.learning_rate``).
Every part that needs a value asks here, by a tuple of accepted names, and gets back a
:class:`Found` (the dotted path it came from and the value, already coerced) or ``None``.
One implementation, so the detectors, the prescriptions and the reports agree on which key
was used and say so ("old value: config optimizer.lr").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, Iterable, Mapping, TypeVar

__all__ = ["Found", "lookup", "config_value", "get_float", "get_int", "LR_KEYS"]

T = TypeVar("T")

#: Config names of the (base/peak) learning rate, in order of preference: the generic names,
#: then YOLO's ``lr0`` and the schedulers' ``base_lr``/``max_lr``, then RL actor/critic LRs.
LR_KEYS: tuple[str, ...] = ("lr", "learning_rate", "learning-rate", "lr0", "base_lr", "max_lr", "peak_lr",
                            "init_lr", "q_lr", "policy_lr", "actor_lr", "critic_lr")

@dataclass(frozen=True)
class Found(Generic[T]):
    """A config value and the dotted path it was found at (``optimizer.lr``)."""

    key: str
    value: T


def lookup(config: Mapping[str, Any], names: Iterable[str]) -> tuple[str, Any] | None:
    """The first of ``names`` found in ``config`` (searched breadth-first through nested
    mappings, case-insensitive), as ``(dotted.path, value)``; None when absent.

    >>> lookup({"opt": {"LR": 0.1}}, ("lr",))
    ('opt.LR', 0.1)
    """
    wanted = [n.lower() for n in names]
    level: list[tuple[str, Mapping[str, Any]]] = [("", config)]
    while level:
        for name in wanted:
            for prefix, m in level:
                for k, v in m.items():
                    if str(k).lower() == name and not isinstance(v, Mapping):
                        return (prefix + str(k), v)
        level = [(f"{p}{k}.", v) for p, m in level for k, v in m.items() if isinstance(v, Mapping)]
    return None


def config_value(config: Mapping[str, Any], names: Iterable[str]) -> Any:
    """The raw value of the first of ``names`` found by :func:`lookup`, or None."""
    hit = lookup(config, names)
    return None if hit is None else hit[1]


def get_float(config: Mapping[str, Any], names: Iterable[str], *, finite: bool = False) -> Found[float] | None:
    """The first of ``names`` whose value reads as a number (``3e-4``, ``"3e-4"``), or None.

    ``finite=True`` also rejects inf/nan (``max_grad_norm: .inf`` means "no clipping").
    A value that is present but not a number is skipped, so the next accepted name can answer.

    >>> get_float({"lr": "3e-4"}, ("lr",))
    Found(key='lr', value=0.0003)
    """
    for name in names:
        hit = lookup(config, (name,))
        if hit is None or isinstance(hit[1], bool):
            continue
        try:
            v = float(hit[1])
        except (TypeError, ValueError):
            continue
        if finite and not math.isfinite(v):
            continue
        return Found(hit[0], v)
    return None


def get_int(config: Mapping[str, Any], names: Iterable[str]) -> Found[int] | None:
    """Like :func:`get_float` for whole numbers (``10``, ``"10"``, ``10.0``); others are skipped."""
    got = get_float(config, names, finite=True)
    if got is None or not float(got.value).is_integer():
        return None
    return Found(got.key, int(got.value))
