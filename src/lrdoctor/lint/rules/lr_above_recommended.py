"""``lr-above-recommended``: an LR more than 10x above the top of the range
:func:`lrdoctor.recommend` gives for the detected model and regime. Post-mortem #5's DQN ran
at 3e-3 (30x SB3's default) and its Q-values exploded; #1's transformer at 1e-2 converged on
60% of seeds."""

from __future__ import annotations

from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.arch import detect_arch, is_test_code, linked
from lrdoctor.lint.config import ConfigFile
from lrdoctor.lint.pyfacts import ScriptFacts
from lrdoctor.lint.registry import Hit, register
from lrdoctor.recommender import recommend

#: how far above the recommended range's top an LR must be to fire (the issue's 10x)
FACTOR: float = 10.0
_OPT = {"Adam": "adam", "AdamW": "adamw", "SGD": "sgd", "NAdam": "nadam", "RAdam": "radam", "Adamax": "adamax"}


def _msg(lr: float, rec, what: str) -> str:
    lo, hi = rec.range
    return (f"lr={lr:g} is {lr / hi:.0f}x above the top of the recommended range {lo:.2g}..{hi:.2g} for {what} "
            f"(recommended {rec.lr:.3g}: {rec.reasons[-1].rule}; see `lrdoctor recommend`)")


@register("lr-above-recommended", targets=("python", "config"), severity=Severity.WARNING,
          summary="LR more than 10x above the recommended range for the detected model and regime",
          fix="Start near the recommended LR and confirm with a sweep over seeds (`lrdoctor recommend ...` prints the command).",
          source="lrdoctor.recommender's decision tree (post-mortem #1; SB3/CleanRL defaults; Brown et al. 2020); "
                 "post-mortem #5 (3e-3 DQN diverged)",
          triggers=(("LSTM", "GRU", "RNN", "Transformer", "MultiheadAttention", "attention", "from_pretrained", "Mamba", "S4", "S5"), ("Adam", "SGD")))
def check(facts) -> Iterator[Hit]:
    if isinstance(facts, ConfigFile):
        yield from _config(facts)
        return
    assert isinstance(facts, ScriptFacts)
    if is_test_code(facts.path):
        return  # tests set odd LRs on purpose; test-lr-override judges them against the project
    archs = detect_arch(facts)
    if not archs:
        return
    for name, call, ctx in facts.optimizer_builds_ctx():
        cls = name.rsplit(".", 1)[-1]
        if cls not in _OPT:
            continue
        ev = next((a for a in archs if linked(a.call.ctx, ctx)), None)
        if ev is None:
            continue
        lr_node = next((k.value for k in call.keywords if k.arg == "lr"), call.args[1] if len(call.args) > 1 else None)
        lr = facts.number(lr_node)
        if lr is None or lr <= 0:
            continue
        regime = "finetune" if ev.pretrained else "scratch"
        rec = recommend(arch=ev.family if ev.family != "recurrent" else "rnn", optimizer=_OPT[cls], regime=regime)
        if lr > FACTOR * rec.range[1]:
            yield Hit(lr_node.lineno, lr_node.col_offset + 1,
                      _msg(lr, rec, f"{cls} on a {'pretrained ' if ev.pretrained else ''}{ev.family} model ({ev.what})"))


def _config(cfg: ConfigFile) -> Iterator[Hit]:
    for s in cfg.scopes:
        got = s.number("learning_rate", "lr")
        if not got or got[0] <= 0:
            continue
        if cfg.kind == "rlzoo" and cfg.algo in ("ppo", "dqn"):
            rec, what = recommend(regime=cfg.algo), f"{cfg.algo.upper()} ({s.name})"
        elif cfg.kind == "hf":
            lora = s.number("lora_r", "r")
            rec = recommend(arch="transformer", optimizer="adamw", regime="lora" if lora else "finetune",
                            lora_r=int(lora[0]) if lora else None)
            what = "HF Trainer fine-tuning" + (" with LoRA" if lora else "")
        else:
            continue
        if got[0] > FACTOR * rec.range[1]:
            yield Hit(got[1].line, got[1].col, _msg(got[0], rec, what))
