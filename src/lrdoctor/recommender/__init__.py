"""A starting LR with its reasons: ``lrdoctor.recommend(...)`` / ``lrdoctor recommend``.

>>> r = recommend(arch="transformer", params="4.9M", layers=6, optimizer="adam", batch_size=512, regime="alphazero")
>>> r.lr, r.confidence
(0.001, 'high')
"""

from __future__ import annotations

from typing import Any

from lrdoctor.recommender.describe import Description, describe_module, normalise, parse_count
from lrdoctor.recommender.model import Reason, Recommendation, Warmup
from lrdoctor.recommender.tree import decide

__all__ = ["recommend", "Recommendation", "Reason", "Warmup", "Description", "describe_module", "parse_count"]


def recommend(model: Any = None, arch: str | None = None, params: int | float | str | None = None,
              layers: int | None = None, optimizer: str | None = None, batch_size: int | None = None,
              regime: str | None = None, *, ref_batch_size: int | None = None, ref_lr: float | None = None,
              lora_r: int | None = None, lora_alpha: float | None = None, beta2: float | None = None,
              sft_lr: float | None = None, total_steps: int | None = None) -> Recommendation:
    """Recommend a starting LR, a range to sweep, warmup and a schedule, each with its source.

    ``model`` (a ``torch.nn.Module``) is inspected for its parameter count, depth and
    attention/recurrent/SSM layers; explicit arguments override what it finds.
    ``params`` takes counts like ``"4.9M"``. ``regime`` is one of scratch, finetune, lora, sft,
    raft (RAFT/RLVR cycles), ppo, dqn, alphazero. ``ref_lr``/``ref_batch_size``: an LR you
    tuned and the batch it was tuned at (scaled linearly for SGD, by the square root for Adam).
    """
    base = describe_module(model) if model is not None else Description()
    given = Description(
        arch=arch if arch is not None else base.arch,
        params=parse_count(params) if params is not None else base.params,
        layers=layers if layers is not None else base.layers,
        optimizer=optimizer, batch_size=batch_size, regime=regime, ref_batch_size=ref_batch_size,
        ref_lr=ref_lr, lora_r=lora_r, lora_alpha=lora_alpha, beta2=beta2, sft_lr=sft_lr,
        total_steps=total_steps, has_attention=base.has_attention, has_recurrent=base.has_recurrent,
        source=base.source)
    return decide(normalise(given))
