"""One pass over a Python file's AST that builds what the rules need, once.

The code is parsed, never imported or executed. The visitor records, with their context
(enclosing function, loops and ``if`` branches within that function, class):

* every call (dotted callee name, receiver),
* every write of ``'lr'`` into an optimizer's ``param_groups`` — direct
  (``opt.param_groups[0]['lr'] = v``), through a loop variable
  (``for g in opt.param_groups: g['lr'] = v``) or an alias (``pg = opt.param_groups[0]``),
* assignments (what a name was built from, to tell an LR scheduler from a diffusion
  noise scheduler and an optimizer from anything else with a ``.step()``),
* functions, methods and classes, so that a write or a ``scheduler.step()`` hidden in a
  helper function or a method called inside the loop counts at the call site.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator

__all__ = ["ScriptFacts", "FuncInfo", "Ctx", "CallSite", "LrWrite", "parse_script", "dotted",
           "LR_SCHEDULER_CALLS", "OPTIMIZER_CALLS", "ADAM_FAMILY"]

#: callee names (last component) that build a torch / HF / timm LR scheduler
LR_SCHEDULER_CALLS: frozenset[str] = frozenset({
    "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
    "OneCycleLR", "CyclicLR", "LambdaLR", "MultiplicativeLR", "LinearLR", "ConstantLR",
    "PolynomialLR", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau",
    "get_scheduler", "get_linear_schedule_with_warmup", "get_cosine_schedule_with_warmup",
    "get_constant_schedule", "get_constant_schedule_with_warmup", "get_polynomial_decay_schedule_with_warmup",
    "get_cosine_with_hard_restarts_schedule_with_warmup", "get_inverse_sqrt_schedule",
    "get_wsd_schedule", "create_scheduler", "create_scheduler_v2", "CosineLRScheduler", "StepLRScheduler",
    "to_torch",
})
#: schedulers whose constructor arguments count steps, so they are stepped per optimizer step
PER_STEP_SCHEDULER_CALLS: frozenset[str] = frozenset({
    "OneCycleLR", "CyclicLR", "get_linear_schedule_with_warmup", "get_cosine_schedule_with_warmup",
    "get_constant_schedule_with_warmup", "get_polynomial_decay_schedule_with_warmup",
    "get_cosine_with_hard_restarts_schedule_with_warmup", "get_inverse_sqrt_schedule", "get_wsd_schedule",
})
#: callee names of torch optimizers (and common third-party ones)
OPTIMIZER_CALLS: frozenset[str] = frozenset({
    "SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adagrad", "Adadelta", "RMSprop", "Rprop",
    "ASGD", "LBFGS", "SparseAdam", "Adafactor", "Lion", "LAMB", "Lamb", "FusedAdam", "AdamW8bit",
    "Adam8bit", "PagedAdamW", "PagedAdamW8bit", "DeepSpeedCPUAdam", "Muon", "Sophia",
})
#: Adam-family optimizers: the ones whose early second-moment estimate makes warmup matter
ADAM_FAMILY: frozenset[str] = frozenset({
    "Adam", "AdamW", "Adamax", "NAdam", "FusedAdam", "AdamW8bit", "Adam8bit", "PagedAdamW",
    "PagedAdamW8bit", "DeepSpeedCPUAdam", "LAMB", "Lamb", "adam", "adamw",
})


def dotted(node: ast.AST | None) -> str:
    """``a.b.c`` for names and attribute chains, ``f()`` for calls, ``x[]`` for subscripts; '' otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        base = dotted(node.func)
        return f"{base}()" if base else ""
    if isinstance(node, ast.Subscript):
        base = dotted(node.value)
        return f"{base}[]" if base else ""
    return ""


def last(name: str) -> str:
    return name.rsplit(".", 1)[-1].rstrip("()")


@dataclass
class FuncInfo:
    """A function, a method (``Class.method``) or the module body (qualname ``<module>``)."""

    qualname: str
    name: str
    cls: str | None
    node: ast.AST
    #: name -> expressions bound to it in this function (assignments and ``for`` targets)
    bindings: dict[str, list[ast.expr]] = field(default_factory=dict)
    params: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ctx:
    """Where a statement sits: its function, the loops and ``if`` branches around it in that function."""

    func: FuncInfo
    loops: tuple[ast.AST, ...]
    ifs: tuple[tuple[ast.If, str], ...]


@dataclass(frozen=True)
class CallSite:
    node: ast.Call
    ctx: Ctx
    name: str
    """Dotted callee, e.g. ``torch.optim.lr_scheduler.StepLR`` or ``self.scheduler.step``."""
    attr: str = ""
    """Last component of ``name`` (``step``)."""
    receiver: str = ""
    """``name`` without its last component (``self.scheduler``), '' for a bare function."""

    @staticmethod
    def of(node: ast.Call, ctx: Ctx, name: str) -> "CallSite":
        return CallSite(node, ctx, name, last(name), name.rsplit(".", 1)[0] if "." in name else "")

    @property
    def line(self) -> int:
        return self.node.lineno

    @property
    def col(self) -> int:
        return self.node.col_offset + 1


@dataclass(frozen=True)
class LrWrite:
    """``<param group>['lr'] = value`` (a plain assignment, not ``*=``)."""

    node: ast.AST
    ctx: Ctx
    value: ast.expr
    optimizer: str
    """Dotted name of the optimizer whose ``param_groups`` is written ('' when unknown)."""

    @property
    def line(self) -> int:
        return self.node.lineno

    @property
    def col(self) -> int:
        return self.node.col_offset + 1


@dataclass
class ClassInfo:
    name: str
    bases: tuple[str, ...]
    methods: dict[str, FuncInfo] = field(default_factory=dict)


def _mentions_param_groups(expr: ast.AST) -> str | None:
    """The dotted optimizer name if ``expr`` reads ``<opt>.param_groups`` anywhere, else None."""
    for n in ast.walk(expr):
        if isinstance(n, ast.Attribute) and n.attr == "param_groups":
            return dotted(n.value)
    return None


def _is_lr_key(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value == "lr"


class _Visitor(ast.NodeVisitor):
    def __init__(self, facts: "ScriptFacts") -> None:
        self.f = facts
        self.func = facts.module
        self.loops: tuple[ast.AST, ...] = ()
        self.ifs: tuple[tuple[ast.If, str], ...] = ()
        self.cls: ClassInfo | None = None

    def ctx(self) -> Ctx:
        return Ctx(self.func, self.loops, self.ifs)

    # --- dispatch (cached per node class: NodeVisitor's getattr per node is the hot path) --
    _dispatch: dict[type, object] = {}

    def visit(self, node: ast.AST) -> None:
        cls = node.__class__
        fn = self._dispatch.get(cls)
        if fn is None:
            fn = getattr(type(self), "visit_" + cls.__name__, None) or _Visitor.generic_visit
            self._dispatch[cls] = fn
        fn(self, node)  # type: ignore[operator]

    def generic_visit(self, node: ast.AST) -> None:
        for name in node._fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)

    def visit_Expr(self, node: ast.Expr) -> None:
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            self.visit(node.value)  # docstrings and bare strings: nothing to learn

    def visit_Load(self, node: ast.AST) -> None:
        pass

    visit_Store = visit_Del = visit_Load

    # --- scopes -------------------------------------------------------------------
    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for d in node.decorator_list:
            self.visit(d)
        info = ClassInfo(node.name, tuple(dotted(b) for b in node.bases))
        self.f.classes[node.name] = info
        saved = self.cls
        self.cls = info
        for stmt in node.body:
            self.visit(stmt)
        self.cls = saved

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for d in node.decorator_list:
            self.visit(d)
        for d in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(d)
        cls = self.cls.name if self.cls is not None and self.func is self.f.module else None
        qual = f"{cls}.{node.name}" if cls else (node.name if self.func is self.f.module else f"{self.func.qualname}.{node.name}")
        args = node.args
        params = tuple(a.arg for a in args.posonlyargs + args.args + args.kwonlyargs)
        info = FuncInfo(qual, node.name, cls, node, params=params)
        self.f.functions[qual] = info
        if cls and self.cls is not None:
            self.cls.methods[node.name] = info
        self.f.by_name.setdefault(node.name, []).append(info)
        saved = (self.func, self.loops, self.ifs, self.cls)
        self.func, self.loops, self.ifs = info, (), ()
        self.cls = None
        for stmt in node.body:
            self.visit(stmt)
        self.func, self.loops, self.ifs, self.cls = saved

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.body)

    # --- control flow ---------------------------------------------------------------
    def _loop(self, node: ast.For | ast.AsyncFor | ast.While) -> None:
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self.visit(node.iter)
            for t in ast.walk(node.target):
                if isinstance(t, ast.Name):
                    self.func.bindings.setdefault(t.id, []).append(node.iter)
        else:
            self.visit(node.test)
        saved = self.loops
        # a loop over param_groups (or over a few named groups) is not a training loop
        if not (isinstance(node, (ast.For, ast.AsyncFor)) and _mentions_param_groups(node.iter) is not None):
            self.f.loops.append((node, self.ctx()))
            self.loops = self.loops + (node,)
        for stmt in node.body:
            self.visit(stmt)
        self.loops = saved
        for stmt in node.orelse:
            self.visit(stmt)

    visit_For = _loop
    visit_AsyncFor = _loop
    visit_While = _loop

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        saved = self.ifs
        self.ifs = saved + ((node, "body"),)
        for stmt in node.body:
            self.visit(stmt)
        self.ifs = saved + ((node, "orelse"),)
        for stmt in node.orelse:
            self.visit(stmt)
        self.ifs = saved

    # --- facts ------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        name = dotted(node.func)
        if name:
            self.f.calls.append(CallSite.of(node, self.ctx(), name))
        self.generic_visit(node)

    def _bind(self, target: ast.AST, value: ast.expr) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
                for t, v in zip(target.elts, value.elts):
                    self._bind(t, v)
            else:
                for t in target.elts:
                    self._bind(t, value)
            return
        if isinstance(target, ast.Starred):
            self._bind(target.value, value)
            return
        name = dotted(target)
        if isinstance(target, ast.Name):
            self.func.bindings.setdefault(name, []).append(value)
        if isinstance(target, (ast.Name, ast.Attribute)) and name:
            self.f.assigned.setdefault(name, []).append(value)
            self.f.assign_sites.append((name, value, self.ctx(), target))
        if isinstance(target, ast.Subscript) and _is_lr_key(target.slice):
            opt = self._param_group_owner(target.value)
            if opt is not None:
                self.f.lr_writes.append(LrWrite(target, self.ctx(), value, opt))

    def _param_group_owner(self, node: ast.AST) -> str | None:
        """The optimizer behind a param-group expression, '' if a param group of unknown owner, None if not one."""
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "param_groups":
            return dotted(node.value.value)
        if isinstance(node, ast.Name):
            for bound in self.func.bindings.get(node.id, []):
                owner = _mentions_param_groups(bound)
                if owner is not None:
                    return owner
        return None

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for t in node.targets:
            self.visit(t)
            self._bind(t, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self._bind(node.target, node.value)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._bind(node.target, node.value)

    def visit_Name(self, node: ast.Name) -> None:
        pass

    def visit_Constant(self, node: ast.Constant) -> None:
        pass


@dataclass
class ScriptFacts:
    """Everything the Python rules look at, built by one AST pass (see module docstring)."""

    path: str
    source: str
    tree: ast.Module
    module: FuncInfo = field(init=False)
    functions: dict[str, FuncInfo] = field(default_factory=dict)
    by_name: dict[str, list[FuncInfo]] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    calls: list[CallSite] = field(default_factory=list)
    lr_writes: list[LrWrite] = field(default_factory=list)
    loops: list[tuple[ast.AST, Ctx]] = field(default_factory=list)
    assigned: dict[str, list[ast.expr]] = field(default_factory=dict)
    assign_sites: list[tuple[str, ast.expr, Ctx, ast.AST]] = field(default_factory=list)
    #: LR defaults found in the other (non-test) files linted with this one; filled by the engine
    project_lr_defaults: list[tuple[float, str]] = field(default_factory=list)
    #: seeding calls found in conftest.py files above this file; filled by the engine
    conftest_seeds: bool = False

    def __post_init__(self) -> None:
        self.module = FuncInfo("<module>", "<module>", None, self.tree)
        _Visitor(self).visit(self.tree)

    # --- names ------------------------------------------------------------------------
    def built_by(self, name: str) -> list[str]:
        """Callee names (last component) of the calls a dotted name was assigned from."""
        out = []
        for v in self.assigned.get(name, []):
            if isinstance(v, ast.Call):
                out.append(last(dotted(v.func)))
        return out

    def is_lr_scheduler(self, name: str) -> bool:
        """An LR scheduler: built by a known scheduler call, or (unknown origin) named like one.

        Diffusion noise schedulers (``DDPMScheduler``, ``noise_scheduler``) have a ``.step()``
        too and are not LR schedulers.
        """
        if not name:
            return False
        low = last(name).lower()
        if "noise" in low or "diffusion" in low or "sampler" in low:
            return False
        built = self.built_by(name)
        if any(b in LR_SCHEDULER_CALLS for b in built):
            return True
        if any(b.endswith("Scheduler") and "LR" not in b for b in built):
            return False
        return "sched" in low

    def is_optimizer(self, name: str) -> bool:
        if not name:
            return False
        built = self.built_by(name)
        if any(b in OPTIMIZER_CALLS for b in built):
            return True
        low = last(name).lower()
        return "optim" in low or low in ("opt", "optim", "o") or low.startswith("opt_") or low.endswith("_opt")

    def scheduler_steps(self) -> list[CallSite]:
        """``<lr scheduler>.step(...)`` calls (a diffusion ``scheduler.step(out, t, x)`` takes 3 args: excluded)."""
        return [c for c in self.calls if c.attr == "step" and len(c.node.args) <= 1 and self.is_lr_scheduler(c.receiver)]

    def optimizer_steps(self) -> list[CallSite]:
        """``opt.step()``, ``scaler.step(opt)``, ``xm.optimizer_step(opt)``, ``accelerator``-wrapped optimizers."""
        out = []
        for c in self.calls:
            if c.attr == "step" and self.is_optimizer(c.receiver):
                out.append(c)
            elif c.attr == "step" and "scaler" in c.receiver.lower() and c.node.args:
                out.append(c)
            elif c.attr == "optimizer_step":
                out.append(c)
        return out

    def scheduler_builds(self) -> Iterator[tuple[str, ast.Call, Ctx]]:
        """(name, call, ctx) for each assignment of an LR scheduler construction."""
        for name, value, ctx, _ in self.assign_sites:
            if isinstance(value, ast.Call) and last(dotted(value.func)) in LR_SCHEDULER_CALLS:
                yield name, value, ctx

    def optimizer_builds(self) -> Iterator[tuple[str, ast.Call]]:
        for name, call, _ in self.optimizer_builds_ctx():
            yield name, call

    def optimizer_builds_ctx(self) -> Iterator[tuple[str, ast.Call, Ctx]]:
        """(callee, call, context) of each torch/third-party optimizer construction."""
        for c in self.calls:
            if c.attr in OPTIMIZER_CALLS and (c.receiver in ("", "optim", "torch.optim", "bnb.optim", "transformers")
                                             or c.receiver.endswith("optim") or c.receiver.endswith("optimizers")):
                yield c.name, c.node, c.ctx

    # --- call graph ---------------------------------------------------------------------
    def resolve(self, call: CallSite) -> FuncInfo | None:
        """The function a call runs, when it is defined in this file: ``f()``, ``self.m()``,
        ``obj.m()`` (a method name defined once in the file)."""
        name = call.name
        if "." not in name:
            cands = [f for f in self.by_name.get(name, []) if f.cls is None]
            return cands[0] if len(cands) == 1 else None
        recv, attr = name.rsplit(".", 1)
        cls = call.ctx.func.cls
        if recv == "self" and cls and cls in self.classes:
            m = self.classes[cls].methods.get(attr)
            if m is not None:
                return m
            for base in self.classes[cls].bases:
                if last(base) in self.classes and attr in self.classes[last(base)].methods:
                    return self.classes[last(base)].methods[attr]
        cands = [f for f in self.by_name.get(attr, []) if f.cls is not None]
        return cands[0] if len(cands) == 1 else None

    @cached_property
    def calls_by_func(self) -> dict[str, list[CallSite]]:
        out: dict[str, list[CallSite]] = {}
        for c in self.calls:
            out.setdefault(c.ctx.func.qualname, []).append(c)
        return out

    @cached_property
    def callers(self) -> dict[str, list[CallSite]]:
        """qualname -> the call sites in this file that run it."""
        out: dict[str, list[CallSite]] = {}
        for c in self.calls:
            f = self.resolve(c)
            if f is not None:
                out.setdefault(f.qualname, []).append(c)
        return out

    def reaches(self, func: FuncInfo, direct: set[str], depth: int = 4) -> list[CallSite]:
        """Call chain (outermost first) from ``func`` to a function in ``direct``, or []."""
        seen: set[str] = set()

        def go(f: FuncInfo, d: int) -> list[CallSite]:
            if d == 0 or f.qualname in seen:
                return []
            seen.add(f.qualname)
            for c in self.calls_by_func.get(f.qualname, []):
                g = self.resolve(c)
                if g is None or g.qualname == f.qualname:
                    continue
                if g.qualname in direct:
                    return [c]
                chain = go(g, d - 1)
                if chain:
                    return [c] + chain
            return []

        return go(func, depth)

    # --- expressions --------------------------------------------------------------------
    def expr_closure(self, expr: ast.AST, func: FuncInfo, depth: int = 3) -> list[ast.AST]:
        """``expr`` and what the names in it were bound to in ``func`` (a few levels deep)."""
        out = [expr]
        frontier = [expr]
        seen: set[str] = set()
        for _ in range(depth):
            nxt = []
            for e in frontier:
                for n in ast.walk(e):
                    if isinstance(n, ast.Name) and n.id not in seen:
                        seen.add(n.id)
                        for b in func.bindings.get(n.id, []) + self.module.bindings.get(n.id, []):
                            out.append(b)
                            nxt.append(b)
            frontier = nxt
        return out

    def number(self, expr: ast.AST | None, func: FuncInfo | None = None) -> float | None:
        """The value of a numeric literal (``1e-3``, ``-1``, ``2 * 1e-4``), or of a name bound once to one."""
        if expr is None:
            return None
        try:
            v = ast.literal_eval(expr)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            pass
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Mult, ast.Div)):
            a, b = self.number(expr.left, func), self.number(expr.right, func)
            if a is not None and b is not None and (b != 0 or isinstance(expr.op, ast.Mult)):
                return a * b if isinstance(expr.op, ast.Mult) else a / b
        if isinstance(expr, ast.Name):
            binds = (func.bindings.get(expr.id, []) if func else []) or self.module.bindings.get(expr.id, [])
            if len(binds) == 1 and not isinstance(binds[0], ast.Name):
                return self.number(binds[0], None)
        return None

    def line_text(self, line: int) -> str:
        lines = self.lines
        return lines[line - 1] if 0 < line <= len(lines) else ""

    @cached_property
    def lines(self) -> list[str]:
        return self.source.splitlines()

    @cached_property
    def lower(self) -> str:
        """The source in lower case, for word checks ("is warmup mentioned anywhere?"); comments
        count too, which can only make the rules that use it quieter."""
        return self.source.lower()


def parse_script(path: str, source: str) -> ScriptFacts:
    """Parse ``source`` (raises SyntaxError with lineno/offset) and build its facts."""
    tree = ast.parse(source, filename=path)
    return ScriptFacts(path, source, tree)


