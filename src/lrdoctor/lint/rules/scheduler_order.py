"""``scheduler-before-optimizer``: ``scheduler.step()`` runs before ``optimizer.step()`` in the
training loop. Since PyTorch 1.1 the scheduler must step after the optimizer; stepping it
first skips the first value of the schedule (PyTorch warns once at run time, easily missed)."""

from __future__ import annotations

from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.flow import exclusive
from lrdoctor.lint.pyfacts import ScriptFacts, dotted, last
from lrdoctor.lint.registry import Hit, register
from lrdoctor.lint.rules.schedule_overwrite import _sched_optimizer


@register("scheduler-before-optimizer", targets=("python",), severity=Severity.WARNING,
          summary="lr_scheduler.step() is called before optimizer.step() in the loop",
          fix="Call optimizer.step() first, then scheduler.step() (once per step or per epoch, as the scheduler's arguments count).",
          source="PyTorch docs, 'How to adjust learning rate' (order changed in 1.1.0; "
                 "'Detected call of lr_scheduler.step() before optimizer.step()')",
          triggers=(("sched", "Sched"), (".step(",)))
def check(facts: ScriptFacts) -> Iterator[Hit]:
    opt_steps = facts.optimizer_steps()
    for s in facts.scheduler_steps():
        if not s.ctx.loops or s.node.args:
            continue  # ReduceLROnPlateau.step(metric) / step(epoch): explicit, not the order bug
        target = last(_sched_optimizer(facts, s.receiver))
        same_fn = [o for o in opt_steps if o.ctx.func is s.ctx.func]
        if target:
            matching = [o for o in same_fn if target in (last(o.receiver), last(dotted(o.node.args[0]) if o.node.args else ""))]
            same_fn = matching or same_fn
        # the innermost loop holding both
        depth = 0
        for o in same_fn:
            common = 0
            for a, b in zip(s.ctx.loops, o.ctx.loops):
                if a is not b:
                    break
                common += 1
            if common and not exclusive(s.ctx.ifs, o.ctx.ifs):
                depth = max(depth, common)
        if depth == 0:
            continue
        best = s.ctx.loops[depth - 1]
        in_loop = [o for o in same_fn if any(l is best for l in o.ctx.loops) and not exclusive(s.ctx.ifs, o.ctx.ifs)]
        if in_loop and all(o.line > s.line for o in in_loop):
            first = min(in_loop, key=lambda o: o.line)
            yield Hit(s.line, s.col, f"{s.receiver}.step() at line {s.line} runs before {first.name}() at line "
                      f"{first.line} in the same loop: the first value of the schedule is skipped")
