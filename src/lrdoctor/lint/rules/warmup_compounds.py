"""``warmup-compounds``: a warmup written as ``g['lr'] = sched.get_last_lr()[i] * factor`` every
step while ``sched`` is a *chainable* scheduler (StepLR, ExponentialLR, CosineAnnealingLR...).

Chainable schedulers compute the next LR from ``group['lr']``, so the written value becomes
the scheduler's own state and the factors multiply step after step: with StepLR and a
10-step ramp the LR after 5 steps is 0.0012x instead of 0.5x (tests/test_lint.py runs it).
The same spelling is correct with a closed-form scheduler (LambdaLR, OneCycleLR, CyclicLR,
CosineAnnealingWarmRestarts), which recomputes from ``base_lrs``: ``schedule-overwrite``
stays quiet on both, this rule tells them apart. The runtime Monitor cannot see it either
(applied and scheduled LR agree, both compounded).
"""

from __future__ import annotations

import ast
from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.flow import scheduler_steps_in_loop
from lrdoctor.lint.pyfacts import ScriptFacts, dotted
from lrdoctor.lint.registry import Hit, register
from lrdoctor.lint.rules.schedule_overwrite import _may_fire

#: torch schedulers whose get_lr() reads group['lr'] (the recursive, "chainable" form)
CHAINABLE: frozenset[str] = frozenset({"StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                                       "ConstantLR", "LinearLR", "PolynomialLR", "MultiplicativeLR"})


def _scheduler_read(expr: ast.AST, facts: ScriptFacts, func) -> str | None:
    """The dotted scheduler whose get_last_lr() the value reads (through one level of names)."""
    for e in facts.expr_closure(expr, func):
        for n in ast.walk(e):
            if isinstance(n, ast.Attribute) and n.attr == "get_last_lr":
                return dotted(n.value)
    return None


def _is_product(expr: ast.AST, facts: ScriptFacts, func) -> bool:
    """The written value is the scheduler's LR times (or divided by) something else."""
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Mult, ast.Div))
               for e in facts.expr_closure(expr, func, depth=1) for n in ast.walk(e))


@register("warmup-compounds", targets=("python",), severity=Severity.ERROR,
          summary="warmup factor applied to a chainable scheduler's get_last_lr() every step: the factors compound",
          fix="Let one closed-form schedule carry both: LambdaLR(lambda s: warmup(s) * decay(s)), or "
              "SequentialLR(LinearLR(...), StepLR(...)), or lrdoctor.schedules warmup(n) * step(...); the "
              "get_last_lr() x factor spelling is only right with LambdaLR/OneCycleLR/CyclicLR.",
          source="torch.optim.lr_scheduler chainable form (StepLR/ExponentialLR/... compute from group['lr']); "
                 "post-mortem #4's fix ('warmup multiplies the scheduler's LR') done with the wrong scheduler",
          triggers=_may_fire)
def check(facts: ScriptFacts) -> Iterator[Hit]:
    for w in facts.lr_writes:
        if not w.ctx.loops:
            continue
        sched = _scheduler_read(w.value, facts, w.ctx.func)
        if not sched or not _is_product(w.value, facts, w.ctx.func):
            continue
        kinds = {b for b in facts.built_by(sched)}
        chainable = kinds & CHAINABLE
        if not chainable or kinds - CHAINABLE:
            continue  # closed-form or unknown scheduler: the product is right (or cannot be judged)
        steps = [ev for ev in scheduler_steps_in_loop(facts, w.ctx.func, w.ctx.loops[0])
                 if ev.call.receiver == sched]
        if not steps:
            continue
        cls = sorted(chainable)[0]
        yield Hit(w.line, w.col, f"LR written as {sched}.get_last_lr() x a factor every step, but {cls} is chainable: "
                  f"its step() (line {steps[0].call.line}) continues from the written value, so the factors multiply "
                  f"(a 10-step linear ramp leaves 0.0012x of the LR after 5 steps instead of 0.5x)")
