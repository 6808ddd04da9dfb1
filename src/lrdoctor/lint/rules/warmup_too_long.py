"""``warmup-too-long``: the warmup takes more than half of the run's optimizer steps (or all
of them), so most of the run is spent below the intended LR. Short fine-tuning cycles make
this easy: post-mortem #3 counted samples / (batch x accumulation) before choosing warmup."""

from __future__ import annotations

import math
from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.arch import is_test_code
from lrdoctor.lint.config import ConfigFile, ConfigScope
from lrdoctor.lint.pyfacts import ScriptFacts
from lrdoctor.lint.registry import Hit, register
from lrdoctor.prescribe import calc

#: warmup above this share of the run's optimizer steps is "longer than a short run"
MAX_SHARE: float = 0.5
SAMPLE_KEYS = ("num_samples", "n_samples", "train_samples", "num_train_samples", "dataset_size", "samples_per_cycle")


def _may_fire(text: str, path: str) -> bool:
    return "with_warmup" in text or (("num_warmup_steps" in text or "warmup_steps" in text)
                                     and ("num_training_steps" in text or "max_steps" in text))


def _total_steps(s: ConfigScope) -> tuple[float, str] | None:
    ms = s.number("max_steps", "total_steps", "num_training_steps", "train_steps")
    if ms and ms[0] > 0:
        return ms[0], f"{ms[1].key}={ms[0]:g}"
    samples = s.number(*SAMPLE_KEYS)
    batch = s.number("per_device_train_batch_size", "train_batch_size", "batch_size")
    if samples and batch:
        acc = s.number("gradient_accumulation_steps")
        world = s.number("world_size", "num_gpus", "n_gpus")
        eb = calc.effective_batch(int(batch[0]), int(acc[0]) if acc else 1, int(world[0]) if world else 1,
                                  samples=int(samples[0]))
        epochs = s.number("num_train_epochs", "epochs")
        n_ep = epochs[0] if epochs else 1.0
        steps = eb.optimizer_steps * n_ep
        return steps, (f"{int(samples[0])} samples / effective batch {eb.effective} "
                       f"(batch x accumulation x world) x {n_ep:g} epochs")
    return None


@register("warmup-too-long", targets=("python", "config"), severity=Severity.WARNING,
          summary="warmup longer than half the run (effective optimizer steps from samples, batch, accumulation)",
          fix="Size warmup from the real optimizer-step count (samples / (batch x accumulation x world)): "
              "a few percent of it, and at most ~2/(1-beta2) steps.",
          source="post-mortem #3 (within-cycle warmup vs tiny step counts); Ma & Yarats 2021",
          triggers=_may_fire)
def check(facts) -> Iterator[Hit]:
    if isinstance(facts, ConfigFile):
        for s in facts.scopes:
            wr = s.number("warmup_ratio")
            if wr and wr[0] > MAX_SHARE:
                yield Hit(wr[1].line, wr[1].col, f"warmup_ratio={wr[0]:g}: more than {MAX_SHARE:.0%} of the run is warmup")
                continue
            ws = s.number("warmup_steps", "num_warmup_steps", "warmup_iters", "lr_warmup_steps")
            if not ws or ws[0] <= 0:
                continue
            total = _total_steps(s)
            if total and ws[0] > MAX_SHARE * total[0]:
                sev = Severity.ERROR if ws[0] >= total[0] else None
                never = " (the LR never reaches its peak)" if ws[0] >= total[0] else ""
                yield Hit(ws[1].line, ws[1].col, f"warmup of {ws[0]:g} steps is {ws[0] / total[0]:.0%} of a "
                          f"{math.ceil(total[0])}-step run ({total[1]}){never}", severity=sev)
        return
    assert isinstance(facts, ScriptFacts)
    if is_test_code(facts.path):
        return  # a 3-step smoke test with 2 warmup steps is not a training run
    for c in facts.calls:
        kws = {k.arg: k.value for k in c.node.keywords if k.arg}
        w = facts.number(kws.get("num_warmup_steps") or kws.get("warmup_steps"), c.ctx.func)
        t = facts.number(kws.get("num_training_steps") or kws.get("max_steps"), c.ctx.func)
        if w is None and "with_warmup" in c.attr and len(c.node.args) >= 3:
            w, t = facts.number(c.node.args[1], c.ctx.func), facts.number(c.node.args[2], c.ctx.func)
        if w and t and t > 0 and w > MAX_SHARE * t:
            never = " (the LR never reaches its peak)" if w >= t else ""
            yield Hit(c.line, c.col, f"{c.name}: warmup of {w:g} steps is {w / t:.0%} of {t:g} training steps{never}",
                      severity=Severity.ERROR if w >= t else None)
