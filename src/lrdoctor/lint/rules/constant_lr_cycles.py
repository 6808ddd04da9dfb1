"""``constant-lr-cycles``: a RAFT/RLVR-style config that fine-tunes for many cycles at one
constant LR, or whose cycle LR is not below its SFT LR. Post-mortem #3's LoRA run peaked at
cycle 6, then degraded under a constant 5e-5; its fixes were a cross-cycle schedule
(decay^(cycle-1), warmup-stable-decay over cycles) and "cycle LR = SFT LR / 4".

Keys read (any nesting): cycles as ``num_cycles``/``cycles``/``n_cycles``/``raft_cycles``/
``rlvr_cycles``/``num_rounds`` (not under ``lr_scheduler_kwargs``, where HF's cosine-with-
restarts uses ``num_cycles`` for something else); a cross-cycle schedule as
``cycle_lr_decay``/``lr_decay_per_cycle``/``cycle_decay``/``cycle_lr_schedule``/``cycle_lrs``;
the SFT LR as ``sft_lr``/``sft_learning_rate`` or ``learning_rate`` under a key containing
``sft``; the cycle LR as ``cycle_lr``/``raft_lr``/``rlvr_lr`` or ``learning_rate``/``lr``
elsewhere.
"""

from __future__ import annotations

from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.config import ConfigEntry, ConfigFile, as_number
from lrdoctor.lint.registry import Hit, register

#: this many cycles at one LR is "many" (post-mortem #3 degraded after its 6th)
MANY_CYCLES: int = 4
CYCLE_KEYS = ("num_cycles", "cycles", "n_cycles", "raft_cycles", "rlvr_cycles", "num_rounds")
DECAY_KEYS = ("cycle_lr_decay", "lr_decay_per_cycle", "cycle_decay", "cycle_lr_schedule", "cycle_lrs", "lr_per_cycle")
SFT_KEYS = ("sft_lr", "sft_learning_rate")
CYCLE_LR_KEYS = ("cycle_lr", "raft_lr", "rlvr_lr")
LR_KEYS = ("learning_rate", "lr")


def _under(e: ConfigEntry, word: str) -> bool:
    return any(word in k.lower() for k in e.keypath[:-1])


def _num(e: ConfigEntry) -> float | None:
    return as_number(e.value)


@register("constant-lr-cycles", targets=("config",), severity=Severity.WARNING,
          summary="many fine-tuning cycles at one constant LR, or a cycle LR not below the SFT LR",
          fix="Decay the LR across cycles (lr x d^(cycle-1), or warmup-stable-decay over cycles) and start "
              "cycles below the SFT LR (post-mortem #3's rule of thumb: SFT LR / 4, a hypothesis).",
          source="post-mortem #3 (RAFT/RLVR LoRA run peaked at cycle 6 then degraded under a constant 5e-5)")
def check(cfg: ConfigFile) -> Iterator[Hit]:
    for s in cfg.scopes:
        entries = s.entries
        cycles = next((e for e in entries if e.key.lower() in CYCLE_KEYS and not _under(e, "scheduler")
                       and _num(e) is not None), None)
        sft = next((e for e in entries if (e.key.lower() in SFT_KEYS or (e.key.lower() in LR_KEYS and _under(e, "sft")))
                    and _num(e) is not None), None)
        cyc_lr = next((e for e in entries if (e.key.lower() in CYCLE_LR_KEYS or
                                              (e.key.lower() in LR_KEYS and not _under(e, "sft")))
                       and _num(e) is not None), None)
        decay = any(e.key.lower() in DECAY_KEYS for e in entries)
        if cycles is not None and _num(cycles) >= MANY_CYCLES and not decay and cyc_lr is not None:
            yield Hit(cycles.line, cycles.col,
                      f"{int(_num(cycles))} fine-tuning cycles at one constant LR {_num(cyc_lr):g} (line {cyc_lr.line}) "
                      f"and no cross-cycle decay: post-mortem #3's run peaked at cycle 6, then degraded")
        if sft is not None and cyc_lr is not None and cycles is not None and _num(cyc_lr) >= _num(sft):
            yield Hit(cyc_lr.line, cyc_lr.col,
                      f"cycle LR {_num(cyc_lr):g} is not below the SFT LR {_num(sft):g} (line {sft.line}): "
                      f"post-mortem #3 starts cycles at SFT/4 = {_num(sft) / 4:g} (a hypothesis from one run)")
