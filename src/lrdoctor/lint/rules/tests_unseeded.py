"""``test-unseeded``: a test that trains a model without seeding any RNG. Its outcome is one
draw from the seed distribution; post-mortem #1's tests passed on 60% of seeds at their LR."""

from __future__ import annotations

import ast
from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.arch import is_test_path
from lrdoctor.lint.engine import SEED_CALLS
from lrdoctor.lint.pyfacts import FuncInfo, ScriptFacts, dotted
from lrdoctor.lint.registry import Hit, register



#: names that make an assertion about a training outcome (what a seed changes)
OUTCOME_WORDS: tuple[str, ...] = ("loss", "reward", "return", "acc", "success", "converg", "perf",
                                  "error", "mse", "metric", "ppl", "perplexity", "entropy")
SEED_KEYWORDS = frozenset({"seed", "random_state", "generator", "rng"})


#: parts of a dotted name that make it bookkeeping, not an outcome (``replay_buffer.rewards``)
NOT_OUTCOME: tuple[str, ...] = ("buffer", "maxlen", "shape", "dtype", "device", "len", "size", "warn")


def _mentions_outcome(node: ast.AST) -> bool:
    for n in ast.walk(node):
        if isinstance(n, (ast.Name, ast.Attribute)):
            chain = dotted(n).lower()
            if chain and any(w in chain for w in OUTCOME_WORDS) and not any(b in chain for b in NOT_OUTCOME):
                return True
    return False


#: assertion helpers that compare a value with a threshold or a reference within a tolerance
THRESHOLD_ASSERTS = ("assertless", "assertgreater", "assertalmostequal", "assert_allclose", "assert_close",
                     "approx", "allclose", "isclose")


def _ordering_on_outcome(test: ast.AST) -> bool:
    """``loss < 0.1``, ``mean_reward >= 90``: an ordering comparison with an outcome on one side
    (a finiteness or ``is not None`` check does not depend on how well training went)."""
    for n in ast.walk(test):
        if isinstance(n, ast.Compare) and any(isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)) for op in n.ops):
            sides = [n.left, *n.comparators]
            if any(isinstance(x, ast.Constant) and x.value == 0 for x in sides):
                continue  # `reward > 0`, `loss > 0`: a sanity bound, not how well training went
            if any(_mentions_outcome(side) for side in sides):
                return True
    return False


def _outcome_assert(facts: ScriptFacts, c) -> bool:
    node = c.node
    if any(isinstance(a, ast.Constant) and a.value == 0 for a in node.args[1:2]):
        return False  # assertGreater(reward, 0): a sanity bound
    if c.attr == "evaluate_policy" and any(k.arg == "reward_threshold" for k in node.keywords):
        return True  # SB3's evaluate_policy asserts the threshold itself
    a = c.attr.lower()
    if not any(a.startswith(t) or a == t for t in THRESHOLD_ASSERTS):
        return False
    return any(_mentions_outcome(x) for x in list(node.args) + [k.value for k in node.keywords])


def asserts_outcome(facts: ScriptFacts, f: FuncInfo) -> bool:
    """The test (or a helper it calls) asserts on a training outcome: an ordering comparison
    on a loss/reward/accuracy, a tolerance check of one, or SB3's ``reward_threshold``."""
    for g in [f] + _helpers(facts, f):
        for n in ast.walk(g.node):
            if isinstance(n, ast.Assert) and _ordering_on_outcome(n.test):
                return True
    return _reach(facts, f, lambda c: _outcome_assert(facts, c))


def _helpers(facts: ScriptFacts, f: FuncInfo, depth: int = 2) -> list[FuncInfo]:
    out: list[FuncInfo] = []
    frontier = [f]
    for _ in range(depth):
        nxt = []
        for g in frontier:
            for c in facts.calls_by_func.get(g.qualname, []):
                h = facts.resolve(c)
                if h is not None and h not in out and h is not f:
                    out.append(h)
                    nxt.append(h)
        frontier = nxt
    return out


def _seeds(c) -> bool:
    if c.attr in SEED_CALLS or "seed" in c.attr.lower():
        return True
    return any(k.arg in SEED_KEYWORDS and not (isinstance(k.value, ast.Constant) and k.value.value is None)
               for k in c.node.keywords)


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
    """An update of parameters: an optimizer step, ``model.learn()`` or ``trainer.fit()`` (a bare
    ``backward()`` computes gradients without training anything)."""
    if c.attr == "step" and facts.is_optimizer(c.receiver):
        return True
    return c.attr in ("learn",) or (c.attr == "fit" and "trainer" in c.receiver.lower())


def _may_fire(text: str, path: str) -> bool:
    return is_test_path(path) and "def test" in text


@register("test-unseeded", targets=("python",), severity=Severity.WARNING,
          summary="a test trains a model without seeding and asserts on the outcome (one draw of a random result)",
          fix="Seed at the top of the test (torch.manual_seed / lightning.seed_everything / transformers.set_seed), "
              "or assert over several seeds (success rate), as post-mortem #1 did.",
          source="post-mortem #1 (flaky tests: 60% of seeds converged at the tests' LR)",
          triggers=_may_fire)
def check(facts: ScriptFacts) -> Iterator[Hit]:
    if not is_test_path(facts.path) or facts.conftest_seeds:
        return
    module_seeds = any(_seeds(c) and c.ctx.func is facts.module for c in facts.calls)
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
        if _reach(facts, f, _seeds):
            continue
        if not asserts_outcome(facts, f):
            continue  # a smoke test: its pass/fail does not depend on how well training went
        node = f.node
        yield Hit(node.lineno, node.col_offset + 1, f"{f.qualname} trains a model without seeding any RNG: "
                  f"its pass/fail is one draw from the seed distribution")
