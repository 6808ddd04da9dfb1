"""``test-unseeded``: a test that trains a model without seeding any RNG. Its outcome is one
draw from the seed distribution; post-mortem #1's tests passed on 60% of seeds at their LR."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.engine import SEED_CALLS
from lrdoctor.lint.pyfacts import FuncInfo, ScriptFacts
from lrdoctor.lint.registry import Hit, register

#: calls that mean "this function trains something"
TRAIN_CALLS = frozenset({"backward", "learn", "fit", "train_model", "train_epoch"})


def is_test_path(path: str) -> bool:
    p = Path(path)
    return p.name.startswith("test_") or p.name.endswith("_test.py")


def _reach(facts: ScriptFacts, f: FuncInfo, want, depth: int = 3) -> bool:
    seen: set[str] = set()

    def go(g: FuncInfo, d: int) -> bool:
        if g.qualname in seen or d < 0:
            return False
        seen.add(g.qualname)
        for c in facts.calls_by_func.get(g.qualname, []):
            if want(c):
                return True
            h = facts.resolve(c)
            if h is not None and go(h, d - 1):
                return True
        return False

    return go(f, depth)


def _trains(facts: ScriptFacts, c) -> bool:
    if c.attr == "backward":
        return True
    if c.attr == "step" and facts.is_optimizer(c.receiver):
        return True
    return c.attr in ("learn",) or (c.attr == "fit" and "trainer" in c.receiver.lower())


@register("test-unseeded", targets=("python",), severity=Severity.WARNING,
          summary="a test trains a model without seeding (its result is one draw of a random outcome)",
          fix="Seed at the top of the test (torch.manual_seed / lightning.seed_everything / transformers.set_seed), "
              "or assert over several seeds (success rate), as post-mortem #1 did.",
          source="post-mortem #1 (flaky tests: 60% of seeds converged at the tests' LR)")
def check(facts: ScriptFacts) -> Iterator[Hit]:
    if not is_test_path(facts.path) or facts.conftest_seeds:
        return
    module_seeds = any(c.attr in SEED_CALLS and c.ctx.func is facts.module for c in facts.calls)
    if module_seeds:
        return
    # fixtures/helpers that seed (a fixture named *seed*, or any function that seeds)
    for f in facts.functions.values():
        if not f.name.startswith("test"):
            continue
        if any("seed" in p.lower() for p in f.params):
            continue
        if any("seed" in ast.unparse(d).lower() for d in getattr(f.node, "decorator_list", [])):
            continue
        if not _reach(facts, f, lambda c: _trains(facts, c)):
            continue
        if _reach(facts, f, lambda c: c.attr in SEED_CALLS or "seed" in c.attr.lower()):
            continue
        node = f.node
        yield Hit(node.lineno, node.col_offset + 1, f"{f.qualname} trains a model without seeding any RNG: "
                  f"its pass/fail is one draw from the seed distribution")
