"""What the recommendation is about: a model description, from arguments or from a real
``torch.nn.Module`` (parameters counted, depth and recurrent/attention layers found)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["Description", "parse_count", "describe_module", "normalise", "ARCHS", "REGIMES", "OPTIMIZERS"]

#: architecture families and the spellings accepted for them
ARCHS: dict[str, str] = {
    "mlp": "mlp", "cnn": "cnn", "conv": "cnn", "resnet": "cnn", "transformer": "transformer",
    "attention": "transformer", "gpt": "transformer", "bert": "transformer", "vit": "transformer",
    "gru": "recurrent", "lstm": "recurrent", "rnn": "recurrent", "recurrent": "recurrent",
    "ssm": "ssm", "mamba": "ssm", "s4": "ssm",
}
#: training regimes and their spellings
REGIMES: dict[str, str] = {
    "scratch": "scratch", "from-scratch": "scratch", "pretrain": "scratch", "pretraining": "scratch",
    "finetune": "finetune", "fine-tune": "finetune", "fine_tune": "finetune",
    "lora": "lora", "qlora": "lora", "sft": "sft", "raft": "raft", "rlvr": "raft", "raft/rlvr": "raft",
    "ppo": "ppo", "dqn": "dqn", "alphazero": "alphazero", "alpha-zero": "alphazero", "az": "alphazero",
}
#: optimizers and their family ('adam' or 'sgd'); others are accepted as given
OPTIMIZERS: dict[str, str] = {
    "adam": "adam", "adamw": "adam", "nadam": "adam", "radam": "adam", "adamax": "adam", "lamb": "adam",
    "sgd": "sgd", "momentum": "sgd", "nesterov": "sgd", "rmsprop": "rmsprop", "adafactor": "adafactor",
}


@dataclass(frozen=True)
class Description:
    """A model and its training setup, as far as known (``None`` = not given)."""

    arch: str | None = None
    params: int | None = None
    layers: int | None = None
    optimizer: str | None = None
    batch_size: int | None = None
    regime: str | None = None
    ref_batch_size: int | None = None
    ref_lr: float | None = None
    lora_r: int | None = None
    lora_alpha: float | None = None
    beta2: float | None = None
    sft_lr: float | None = None
    total_steps: int | None = None
    has_attention: bool = False
    has_recurrent: bool = False
    source: str = "arguments"
    """'arguments' or 'module' (what was inspected)."""

    @property
    def optimizer_family(self) -> str | None:
        return None if self.optimizer is None else OPTIMIZERS.get(self.optimizer, self.optimizer)

    @property
    def sequence_model(self) -> bool:
        return self.arch in ("transformer", "recurrent", "ssm") or self.has_attention or self.has_recurrent


_COUNT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?\d+)?)\s*([kKmMbBgGtT]?)\s*$")
_MULT = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}


def parse_count(value: Any) -> int:
    """``"4.9M"`` -> 4_900_000; ``"125k"``, ``"1.3B"``, ``12e6`` and plain ints work too.

    >>> parse_count("4.9M"), parse_count("1.3B"), parse_count(1000)
    (4900000, 1300000000, 1000)
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    m = _COUNT.match(str(value))
    if not m:
        raise ValueError(f"The 'params' parameter must be a count like 4.9M, 125k, 1.3B or 4900000. Got {value!r} instead.")
    return int(round(float(m.group(1)) * _MULT[m.group(2).lower()]))


def _pick(name: str, value: str | None, table: dict[str, str]) -> str | None:
    if value is None:
        return None
    key = str(value).strip().lower()
    if key in table:
        return table[key]
    raise ValueError(f"The {name!r} parameter must be one of {sorted(set(table))}. Got {value!r} instead.")


def normalise(d: Description) -> Description:
    """Validate and map spellings to families (gru -> recurrent, rlvr -> raft, adamw stays adamw)."""
    opt = None if d.optimizer is None else str(d.optimizer).strip().lower()
    if opt is not None and opt not in OPTIMIZERS:
        raise ValueError(f"The 'optimizer' parameter must be one of {sorted(OPTIMIZERS)}. Got {d.optimizer!r} instead.")
    for name in ("batch_size", "ref_batch_size", "layers", "lora_r", "total_steps", "params"):
        v = getattr(d, name)
        if v is not None and (int(v) != v or v < 1):
            raise ValueError(f"The {name!r} parameter must be an integer >= 1. Got {v!r} instead.")
    for name in ("ref_lr", "sft_lr", "lora_alpha"):
        v = getattr(d, name)
        if v is not None and not v > 0:
            raise ValueError(f"The {name!r} parameter must be > 0. Got {v!r} instead.")
    if d.beta2 is not None and not 0 < d.beta2 < 1:
        raise ValueError(f"The 'beta2' parameter must be in (0, 1). Got {d.beta2!r} instead.")
    return replace(d, arch=_pick("arch", d.arch, ARCHS), regime=_pick("regime", d.regime, REGIMES), optimizer=opt)


def describe_module(model: Any) -> Description:
    """Inspect a ``torch.nn.Module``: parameter count, depth, attention / recurrent / SSM / conv layers.

    Depth is the number of transformer blocks when there are any (``nn.TransformerEncoder``'s
    layers, or modules named ``*Layer``/``*Block`` that hold attention), else the number of
    recurrent layers (``num_layers`` summed), else the number of Linear/Conv layers.
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"The 'model' parameter must be a torch.nn.Module. Got {type(model).__name__} instead.")
    params = sum(p.numel() for p in model.parameters())
    attn = rec = ssm = conv = 0
    blocks = 0
    rec_layers = 0
    dense = 0
    for m in model.modules():
        name = type(m).__name__
        if isinstance(m, torch.nn.MultiheadAttention) or "Attention" in name:
            attn += 1
        if isinstance(m, (torch.nn.LSTM, torch.nn.GRU, torch.nn.RNN)):
            rec += 1
            rec_layers += int(getattr(m, "num_layers", 1))
        elif isinstance(m, (torch.nn.LSTMCell, torch.nn.GRUCell, torch.nn.RNNCell)):
            rec += 1
            rec_layers += 1
        if "Mamba" in name or name.startswith("S4") or "SSM" in name:
            ssm += 1
        if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)):
            conv += 1
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)):
            dense += 1
        if isinstance(m, (torch.nn.TransformerEncoderLayer, torch.nn.TransformerDecoderLayer)) or (
                (name.endswith("Layer") or name.endswith("Block")) and name != "ModuleList"
                and any("Attention" in type(c).__name__ for c in m.modules() if c is not m)):
            blocks += 1
    if ssm:
        arch, layers = "ssm", ssm
    elif attn:
        arch, layers = "transformer", blocks or attn
    elif rec:
        arch, layers = "recurrent", rec_layers
    elif conv:
        arch, layers = "cnn", dense
    else:
        arch, layers = "mlp", dense
    return Description(arch=arch, params=params, layers=max(1, layers), has_attention=attn > 0,
                       has_recurrent=rec > 0, source="module")
