"""``schedule-overwrite``: LR written into ``param_groups`` inside the training loop while an
LR scheduler is also stepped — the scheduler's value is overwritten, so its decay never happens.

Post-mortem #4: a per-step warmup assigned ``g['lr'] = base * min(1, step / warmup)`` beside
an epoch ``StepLR``; the loss rose 0.60 -> 0.74 because the decay was undone every step.

Spellings found: ``opt.param_groups[i]['lr'] = v``; ``for g in opt.param_groups: g['lr'] = v``;
an alias ``pg = opt.param_groups[0]``; any of these in a helper function or a method called
inside the loop (or inside a function the loop calls); and inside Lightning hooks when
``configure_optimizers`` returns a scheduler. Quiet when the value derives from the
scheduler's own ``get_last_lr()`` (a multiplicative warmup), when the write is confined to
a warmup window (``if step < warmup_steps:``), when it sits on a branch exclusive with the
scheduler step, or when the write *is* a scheduler's own ``step()``.
"""

from __future__ import annotations

import ast
import re
from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.flow import (derived_from_scheduler, exclusive, framework_step_hook, in_warmup_window,
                                scheduler_steps_in_loop)
from lrdoctor.lint.pyfacts import CallSite, Ctx, FuncInfo, LrWrite, ScriptFacts, dotted, last
from lrdoctor.lint.registry import Hit, register

RULE_ID = "schedule-overwrite"
#: how many call levels above the write are searched for the loop that steps the scheduler
MAX_CALL_DEPTH: int = 4
#: an assignment of the 'lr' key (``g['lr'] = ...``): files without one cannot have the bug
_LR_WRITE = re.compile(r"""\[\s*['"]lr['"]\s*\]\s*=[^=]""")


def _may_fire(text: str, path: str) -> bool:
    return "param_groups" in text and _LR_WRITE.search(text) is not None


FIX = ("Make the warmup multiply the scheduler's LR instead of replacing it: fold it into one closed-form "
       "schedule (LambdaLR(lambda s: warmup(s) * decay(s)), SequentialLR(LinearLR, ...), lrdoctor.schedules "
       "warmup(n) * cosine(...)), or confine the writes to `if step < warmup_steps:`; writing "
       "g['lr'] = sched.get_last_lr()[i] * warmup_factor is right only with a closed-form scheduler such as "
       "LambdaLR (with StepLR/ExponentialLR the factors compound: warmup-compounds).")


def _is_scheduler_class(facts: ScriptFacts, func: FuncInfo) -> bool:
    """The write is a scheduler's own mechanism: a method of a class named or derived like a
    scheduler (``*Scheduler*``, ``*LR``, ``LRScheduler``), or of a ``*Warmup*`` class that has
    a ``step``/``get_lr`` method (a warmup *trainer* is not a scheduler)."""
    if func.cls is None:
        return False
    info = facts.classes.get(func.cls)
    names = [func.cls] + (list(info.bases) if info else [])
    if any("sched" in last(n).lower() or last(n).endswith("LR") or last(n).endswith("Lr") for n in names):
        return True
    methods = info.methods if info else {}
    return "warmup" in func.cls.lower() and ("step" in methods or "get_lr" in methods)


def _sched_optimizer(facts: ScriptFacts, sched: str) -> str:
    for v in facts.assigned.get(sched, []):
        if isinstance(v, ast.Call):
            if v.args:
                return dotted(v.args[0])
            for kw in v.keywords:
                if kw.arg == "optimizer":
                    return dotted(kw.value)
    return ""


def _args_derived(facts: ScriptFacts, call: CallSite) -> bool:
    return any(derived_from_scheduler(a, facts, call.ctx.func) for a in list(call.node.args) + [k.value for k in call.node.keywords])


def _loop_conflict(facts: ScriptFacts, ctx: Ctx, write: LrWrite | None) -> CallSite | None:
    """A scheduler step in the same outermost loop of ``ctx.func``, on a branch that can run with ``ctx``."""
    if not ctx.loops:
        return None
    for ev in scheduler_steps_in_loop(facts, ctx.func, ctx.loops[0]):
        if exclusive(ctx.ifs, ev.call.ctx.ifs):
            continue
        if write is not None and write.optimizer and ev.via == "":
            other = _sched_optimizer(facts, ev.call.receiver)
            if other and last(other) != last(write.optimizer):
                continue  # a different optimizer's scheduler (GAN: opt_d written, opt_g scheduled)
        return ev.call
    return None


def _search(facts: ScriptFacts, w: LrWrite) -> tuple[CallSite | None, list[CallSite], str]:
    """Walk up from the write through its callers; return (scheduler step, call chain, framework)."""
    frontier: list[tuple[Ctx, list[CallSite]]] = [(w.ctx, [])]
    seen: set[str] = set()
    for _ in range(MAX_CALL_DEPTH + 1):
        nxt: list[tuple[Ctx, list[CallSite]]] = []
        for ctx, chain in frontier:
            hit = _loop_conflict(facts, ctx, w if not chain else None)
            if hit is not None:
                return hit, chain, ""
            if not ctx.loops or not chain:
                fw = framework_step_hook(facts, ctx.func)
                if fw:
                    return None, chain, fw
            if ctx.func.qualname in seen or ctx.func.qualname == "<module>":
                continue
            seen.add(ctx.func.qualname)
            for c in facts.callers.get(ctx.func.qualname, []):
                if c.attr == "step" and facts.is_lr_scheduler(c.receiver):
                    continue  # the write is the scheduler's own step()
                if in_warmup_window(c.ctx.ifs, facts, c.ctx.func) or _args_derived(facts, c):
                    continue
                nxt.append((c.ctx, [c] + chain))
        frontier = nxt
    return None, [], ""


@register(RULE_ID, targets=("python",), severity=Severity.ERROR,
          summary="LR written into param_groups inside the training loop while an LR scheduler is also stepped",
          fix=FIX,
          source="post-mortem #4 (manual per-step warmup overwrote the epoch scheduler; loss 0.60 -> 0.74); "
                 "torch.optim.lr_scheduler recomputes or reads group['lr'] at every step()",
          triggers=_may_fire)
def check(facts: ScriptFacts) -> Iterator[Hit]:
    reported: set[int] = set()
    for w in facts.lr_writes:
        if _is_scheduler_class(facts, w.ctx.func):
            continue
        if derived_from_scheduler(w.value, facts, w.ctx.func) or in_warmup_window(w.ctx.ifs, facts, w.ctx.func):
            continue
        step, chain, framework = _search(facts, w)
        if step is None and not framework:
            continue
        where = w.line if (not chain or w.ctx.loops) else chain[0].line
        if where in reported:
            continue
        reported.add(where)
        target = f"{w.optimizer}.param_groups" if w.optimizer else "a param group"
        via = ""
        if chain:
            names = " -> ".join(f"{c.name}() (line {c.line})" for c in chain)
            via = f" through {names}"
        if framework:
            msg = (f"LR written into {target} at line {w.line}{via} in a hook {framework}: the "
                   f"scheduler's LR is overwritten every step, so its schedule never takes effect")
        else:
            msg = (f"LR written into {target} at line {w.line}{via} inside the training loop while "
                   f"{step.receiver}.step() (line {step.line}) also sets it: the scheduler's value is "
                   f"overwritten, so its decay never happens")
        # report at the write when it sits in its own loop (a train_epoch() batch loop),
        # else at the call in the loop (a set_lr() helper)
        line, col = (w.line, w.col) if (not chain or w.ctx.loops) else (chain[0].line, chain[0].col)
        yield Hit(line, col, msg)
