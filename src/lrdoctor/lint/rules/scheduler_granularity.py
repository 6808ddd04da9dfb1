"""``scheduler-step-granularity``: an epoch scheduler stepped every batch (its decay runs
``steps_per_epoch`` times too fast), or a per-step scheduler stepped once per epoch (its
warmup and decay stretched that many times), judged from the scheduler's own arguments."""

from __future__ import annotations

import ast
from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.pyfacts import PER_STEP_SCHEDULER_CALLS, ScriptFacts, dotted, last
from lrdoctor.lint.registry import Hit, register

#: scheduler arguments that set its horizon, in the unit it is stepped in
HORIZON_ARGS = ("T_max", "step_size", "milestones", "T_0", "total_iters", "total_steps", "num_training_steps",
                "num_warmup_steps", "steps_per_epoch", "epochs", "step_size_up")
#: classes whose horizon we can read (ExponentialLR has none)
EPOCH_CAPABLE = frozenset({"StepLR", "MultiStepLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "LinearLR", "PolynomialLR"})
#: words in a loop's iterable that mark it as the batch loop
BATCH_WORDS = ("loader", "batch", "dataset", "data", "iterator", "minibatch")


def _names(e: ast.AST) -> list[str]:
    return [(n.id if isinstance(n, ast.Name) else n.attr).lower() for n in ast.walk(e) if isinstance(n, (ast.Name, ast.Attribute))]


def _unit(call: ast.Call) -> str:
    """'epoch', 'step' or '' from the names used in the scheduler's horizon arguments."""
    cls = last(dotted(call.func))
    if cls in PER_STEP_SCHEDULER_CALLS:
        return "step"
    if cls not in EPOCH_CAPABLE:
        return ""
    exprs = [kw.value for kw in call.keywords if kw.arg in HORIZON_ARGS] + list(call.args[1:2])
    names = [n for e in exprs for n in _names(e)]
    has_len = any(isinstance(n, ast.Call) and dotted(n.func) == "len" for e in exprs for n in ast.walk(e))
    stepish = has_len or any(w in n for n in names for w in ("step", "iter", "batch", "len", "update"))
    epochish = any("epoch" in n for n in names)
    if epochish and not stepish:
        return "epoch"
    if stepish and not epochish:
        return "step"
    return ""


def _batch_loop(loop: ast.AST) -> bool:
    if isinstance(loop, (ast.For, ast.AsyncFor)):
        return any(w in n for n in _names(loop.iter) for w in BATCH_WORDS)
    return False


def _epoch_loop(loop: ast.AST) -> bool:
    if isinstance(loop, (ast.For, ast.AsyncFor)):
        names = _names(loop.iter) + _names(loop.target)
        return any("epoch" in n for n in names)
    return False


@register("scheduler-step-granularity", targets=("python",), severity=Severity.WARNING,
          summary="an epoch scheduler stepped every batch, or a per-step scheduler stepped once per epoch",
          fix="Step the scheduler in the loop its arguments count in: per epoch for T_max/step_size in epochs, "
              "per optimizer step for num_training_steps/total_steps (or rescale the arguments by steps per epoch).",
          source="torch.optim.lr_scheduler docs (the horizon counts calls to step()); post-mortem #4 "
                 "(epoch scheduler and per-step warmup in one loop)",
          triggers=(("sched", "Sched", "_schedule"), (".step(",)))
def check(facts: ScriptFacts) -> Iterator[Hit]:
    units: dict[str, str] = {}
    for name, call, _ in facts.scheduler_builds():
        u = _unit(call)
        if u:
            units[name] = u if units.get(name, u) == u else ""
    for s in facts.scheduler_steps():
        unit = units.get(s.receiver, "")
        if not unit or s.node.args or not s.ctx.loops:
            continue
        inner = s.ctx.loops[-1]
        guarded_in_inner = any(
            any(n is node for n in ast.walk(inner)) for node, _ in s.ctx.ifs) if s.ctx.ifs else False
        if unit == "epoch" and len(s.ctx.loops) >= 2 and _batch_loop(inner) and not guarded_in_inner:
            yield Hit(s.line, s.col, f"{s.receiver} counts its horizon in epochs (its arguments name epochs) but "
                      f"{s.receiver}.step() runs in the batch loop (line {inner.lineno}): it decays "
                      f"steps_per_epoch times too fast")
        elif unit == "step" and not _batch_loop(inner):
            deeper = [o for o in facts.optimizer_steps() if o.ctx.func is s.ctx.func
                      and len(o.ctx.loops) > len(s.ctx.loops) and all(a is b for a, b in zip(s.ctx.loops, o.ctx.loops))
                      and _batch_loop(o.ctx.loops[len(s.ctx.loops)])]
            if deeper and _epoch_loop(inner):
                yield Hit(s.line, s.col, f"{s.receiver} counts optimizer steps (its arguments name steps) but "
                          f"{s.receiver}.step() runs once per epoch, outside the batch loop at line "
                          f"{deeper[0].ctx.loops[len(s.ctx.loops)].lineno}: its warmup and decay are stretched "
                          f"steps_per_epoch times")
