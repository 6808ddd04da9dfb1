"""Control-flow questions the rules share, answered on :class:`ScriptFacts`.

* Is a statement confined to a warmup window (``if step < warmup_steps:``)?
* Are two statements on mutually exclusive branches (``if/else``, ``x == "a"`` vs ``x == "b"``)?
* Is a value derived from a scheduler's own output (``get_last_lr()``)?
* Which functions step an LR scheduler (directly or through calls), and which scheduler
  steps happen inside a given loop?
* Which methods the framework calls every step while it steps the scheduler itself
  (PyTorch Lightning hooks when ``configure_optimizers`` builds a scheduler; an HF
  ``Trainer`` subclass's ``training_step``)?
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from lrdoctor.lint.pyfacts import LR_SCHEDULER_CALLS, CallSite, FuncInfo, ScriptFacts, dotted, last

__all__ = ["in_warmup_window", "exclusive", "derived_from_scheduler", "stepping_functions",
           "scheduler_steps_in_loop", "framework_step_hook", "StepEvent", "STEP_WORDS"]

#: words that make a name a step/iteration/epoch counter (for ``if step < 500:`` windows)
STEP_WORDS: tuple[str, ...] = ("step", "iter", "epoch", "batch", "it", "global", "update", "n_iter", "i", "t")

#: Lightning hooks run every optimizer step (or epoch) while Lightning steps the configured scheduler
LIGHTNING_STEP_HOOKS: frozenset[str] = frozenset({
    "training_step", "optimizer_step", "on_train_batch_start", "on_train_batch_end",
    "on_before_optimizer_step", "on_after_backward", "on_before_zero_grad", "on_before_backward",
    "on_train_epoch_start", "on_train_epoch_end", "training_epoch_end", "on_epoch_start", "on_epoch_end",
})


#: HF Trainer classes whose subclasses' training_step runs every step with the Trainer's own scheduler
HF_TRAINERS: frozenset[str] = frozenset({"Trainer", "Seq2SeqTrainer", "SFTTrainer", "DPOTrainer", "RewardTrainer"})


def _names(expr: ast.AST) -> list[str]:
    out = []
    for n in ast.walk(expr):
        if isinstance(n, ast.Name):
            out.append(n.id.lower())
        elif isinstance(n, ast.Attribute):
            out.append(n.attr.lower())
    return out


def _mentions_warm(expr: ast.AST) -> bool:
    return any("warm" in n for n in _names(expr))


def _step_like(expr: ast.AST) -> bool:
    for n in _names(expr):
        parts = n.replace("-", "_").split("_")
        if n in STEP_WORDS or any(p in ("step", "steps", "iter", "iters", "iteration", "epoch", "epochs", "global", "update", "updates") for p in parts):
            return True
        if "step" in n or "iter" in n or "epoch" in n:
            return True
    return False


def _is_number(expr: ast.AST) -> bool:
    return isinstance(expr, ast.Constant) and isinstance(expr.value, (int, float)) and not isinstance(expr.value, bool)


def _window_branch(test: ast.AST, facts: ScriptFacts, func: FuncInfo, depth: int = 2) -> str | None:
    """'body' or 'orelse': the branch of ``if test`` that is the warmup window; None if ``test`` is no window test."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        for v in test.values:
            if _window_branch(v, facts, func, depth) == "body":
                return "body"
        return None
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _window_branch(test.operand, facts, func, depth)
        return {"body": "orelse", "orelse": "body"}.get(inner or "")
    if isinstance(test, ast.Name) and depth > 0:
        binds = func.bindings.get(test.id, [])
        if len(binds) == 1:
            return _window_branch(binds[0], facts, func, depth - 1)
        return None
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, op, right = test.left, test.ops[0], test.comparators[0]
    # step < warmup  /  step < 500  -> the body is the window
    if isinstance(op, (ast.Lt, ast.LtE)):
        if _mentions_warm(right) and not _mentions_warm(left) or (_step_like(left) and _is_number(right)):
            return "body"
        if _mentions_warm(left) and not _mentions_warm(right):
            return "orelse"  # warmup < step: the else branch is the window
    if isinstance(op, (ast.Gt, ast.GtE)):
        if _mentions_warm(left) and not _mentions_warm(right) or (_step_like(right) and _is_number(left)):
            return "body"  # warmup > step
        if _mentions_warm(right) and not _mentions_warm(left) or (_step_like(left) and _is_number(right)):
            return "orelse"  # step >= warmup: the else branch is the window
    return None


def in_warmup_window(ifs: tuple[tuple[ast.If, str], ...], facts: ScriptFacts, func: FuncInfo) -> bool:
    """True when one of the enclosing ``if`` branches is a warmup window."""
    return any(_window_branch(node.test, facts, func) == branch for node, branch in ifs)


def _eq_const(test: ast.AST) -> tuple[str, object, bool] | None:
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.comparators[0], ast.Constant):
        if isinstance(test.ops[0], (ast.Eq, ast.Is)):
            return ast.dump(test.left), test.comparators[0].value, True
        if isinstance(test.ops[0], (ast.NotEq, ast.IsNot)):
            return ast.dump(test.left), test.comparators[0].value, False
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.In):
        return None
    if isinstance(test, (ast.Name, ast.Attribute)):
        return ast.dump(test), True, True
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and isinstance(test.operand, (ast.Name, ast.Attribute)):
        return ast.dump(test.operand), True, False
    return None


def exclusive(a: tuple[tuple[ast.If, str], ...], b: tuple[tuple[ast.If, str], ...]) -> bool:
    """Two statements that can never run in the same pass: opposite branches of one ``if``,
    or branches on ``x == c1`` and ``x == c2`` (or ``x`` and ``not x``)."""
    da = {id(n): br for n, br in a}
    for n, br in b:
        if id(n) in da and da[id(n)] != br:
            return True
    ca = [(_eq_const(n.test), br) for n, br in a]
    cb = [(_eq_const(n.test), br) for n, br in b]
    for ea, bra in ca:
        for eb, brb in cb:
            if ea is None or eb is None or ea[0] != eb[0]:
                continue
            (_, va, pa), (_, vb, pb) = ea, eb
            truth_a = pa if bra == "body" else not pa
            truth_b = pb if brb == "body" else not pb
            if truth_a and truth_b and va != vb:
                return True  # x == c1 and x == c2
            if va == vb and truth_a != truth_b:
                return True  # x == c and x != c
    return False


def derived_from_scheduler(expr: ast.AST, facts: ScriptFacts, func: FuncInfo) -> bool:
    """The value reads the scheduler's own LR (``get_last_lr()``, ``get_lr()``, ``_last_lr``)."""
    for e in facts.expr_closure(expr, func):
        for n in ast.walk(e):
            if isinstance(n, ast.Attribute) and n.attr in ("get_last_lr", "get_lr", "_last_lr", "last_lr"):
                return True
    return False


def stepping_functions(facts: ScriptFacts) -> set[str]:
    """Qualnames of functions that step an LR scheduler, directly or through calls in this file."""
    cached = facts.__dict__.get("_stepping")
    if cached is not None:
        return cached
    direct = {s.ctx.func.qualname for s in facts.scheduler_steps()}
    out = set(direct)
    changed = True
    while changed:
        changed = False
        for qual, calls in facts.calls_by_func.items():
            if qual in out:
                continue
            for c in calls:
                g = facts.resolve(c)
                if g is not None and g.qualname in out:
                    out.add(qual)
                    changed = True
                    break
    facts.__dict__["_stepping"] = out
    return out


@dataclass(frozen=True)
class StepEvent:
    """A scheduler step inside a loop: the call itself, or a call to a function that steps it."""

    call: CallSite
    via: str = ""


def scheduler_steps_in_loop(facts: ScriptFacts, func: FuncInfo, loop: ast.AST) -> list[StepEvent]:
    """The scheduler steps that run inside ``loop`` of ``func`` (directly or through a call)."""
    stepping = stepping_functions(facts)
    steps = {id(s.node) for s in facts.scheduler_steps()}
    out = []
    for c in facts.calls_by_func.get(func.qualname, []):
        if not any(l is loop for l in c.ctx.loops):
            continue
        if id(c.node) in steps:
            out.append(StepEvent(c))
            continue
        g = facts.resolve(c)
        if g is not None and g.qualname in stepping and g.qualname != func.qualname:
            out.append(StepEvent(c, g.qualname))
    return out


def _configures_scheduler(facts: ScriptFacts, cls: str) -> bool:
    info = facts.classes.get(cls)
    if info is None:
        return False
    m = info.methods.get("configure_optimizers")
    if m is None:
        return False
    for n in ast.walk(m.node):
        if isinstance(n, ast.Call) and last(dotted(n.func)) in LR_SCHEDULER_CALLS:
            return True
        if isinstance(n, ast.Constant) and n.value == "lr_scheduler":
            return True
    return False


def framework_step_hook(facts: ScriptFacts, func: FuncInfo) -> str | None:
    """If the framework calls ``func`` every step and steps an LR scheduler itself, say which framework."""
    if func.cls is None:
        return None
    if func.name in LIGHTNING_STEP_HOOKS and _configures_scheduler(facts, func.cls):
        return "Lightning (configure_optimizers returns a scheduler that Lightning steps)"
    info = facts.classes.get(func.cls)
    if info is not None and func.name == "training_step" and any(last(b) in HF_TRAINERS for b in info.bases):
        return "the HF Trainer (it steps its lr_scheduler after every optimizer step)"
    return None
