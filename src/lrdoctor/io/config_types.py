"""Type checks of well-known config keys, so a wrong-typed value is reported, not ignored.

The checks read numbers with typed lookups that skip values that are not numbers
(``num_classes: "ten"``): correct for the check, silent for the user. This module names
such keys once, when the config is read, as warnings of the run.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Mapping

__all__ = ["NUMERIC_KEYS", "INTEGER_KEYS", "config_type_warnings"]

#: Keys whose value must be a number (int or float; strings such as ``"3e-4"`` that read
#: as numbers are accepted, as argparse and env-var configs write them). The learning-rate,
#: clipping, regularisation, RL and schedule names the detectors and prescriptions look up.
NUMERIC_KEYS: frozenset[str] = frozenset({
    "lr", "learning_rate", "learning-rate", "lr0", "base_lr", "max_lr", "peak_lr", "init_lr", "min_lr",
    "q_lr", "policy_lr", "actor_lr", "critic_lr",
    "max_grad_norm", "gradient_clip_val", "clip_grad_norm", "grad_clip", "max_norm",
    "weight_decay", "wd", "momentum", "label_smoothing", "label_smoothing_factor",
    "warmup_ratio", "dropout",
    "gamma", "tau", "target_kl", "kl_target", "ent_coef", "vf_coef", "clip_range", "gae_lambda",
})

#: Keys whose value must be a whole number (``10``, ``10.0`` and ``"10"`` pass).
INTEGER_KEYS: frozenset[str] = frozenset({
    "num_classes", "n_classes", "num_labels", "nclasses", "vocab_size", "ntokens",
    "batch_size", "per_device_train_batch_size", "train_batch_size",
    "gradient_accumulation_steps", "warmup_steps", "num_warmup_steps", "max_steps",
    "num_train_epochs", "epochs", "n_epochs", "n_steps", "n_step", "num_actions", "n_actions",
    "target_update_interval", "train_freq",
})

#: How many wrong-typed keys are named before the rest are counted.
MAX_NAMED = 5


def _walk(config: Mapping[str, Any], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, str, Any]]:
    if depth > 16:  # configs are depth-capped when read; this guards hand-built mappings
        return
    for k, v in config.items():
        if isinstance(v, Mapping):
            yield from _walk(v, f"{prefix}{k}.", depth + 1)
        else:
            yield f"{prefix}{k}", str(k).lower(), v


def _as_number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def config_type_warnings(config: Mapping[str, Any], source: str = "config") -> list[str]:
    """One warning per well-known key whose value is not of its type, naming the key, the
    value and what was expected. ``None`` (YAML ``~``, "not set") is accepted."""
    bad: list[str] = []
    for dotted, key, v in _walk(config):
        if v is None or (key not in NUMERIC_KEYS and key not in INTEGER_KEYS):
            continue
        x = _as_number(v)
        want = "a whole number" if key in INTEGER_KEYS else "a number"
        if x is not None and (key not in INTEGER_KEYS or (math.isfinite(x) and x.is_integer())):
            continue
        shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."
        bad.append(f"{source}: config key {dotted!r} is {shown} ({type(v).__name__}), expected {want}; "
                   "the checks that use it ignore it")
    if len(bad) > MAX_NAMED:
        bad = bad[:MAX_NAMED] + [f"{source}: {len(bad) - MAX_NAMED} more config key(s) have the wrong type"]
    return bad
