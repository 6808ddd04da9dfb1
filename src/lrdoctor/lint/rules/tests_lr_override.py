"""``test-lr-override``: a test passes an LR far above the project's own default. Post-mortem
#1's tests overrode lr to 0.01 against a 1e-3 default: 60% of seeds converged instead of 100%."""

from __future__ import annotations

from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.pyfacts import ScriptFacts
from lrdoctor.lint.registry import Hit, register
from lrdoctor.lint.arch import is_test_path
from lrdoctor.lint.rules.tests_unseeded import asserts_outcome
from lrdoctor.lint.values import named_values

#: a test LR this many times the project's default is "far above" (post-mortem #1: 10x was flaky;
#: half of that leaves a margin)
FAR_ABOVE: float = 5.0
LR_NAMES = {"lr", "learning_rate"}


def _may_fire(text: str, path: str) -> bool:
    return is_test_path(path) and "def test" in text and ("lr" in text or "learning_rate" in text)


@register("test-lr-override", targets=("python",), severity=Severity.WARNING,
          summary="a test that asserts on training outcome overrides the LR far above the project's default",
          fix="Use the project's default LR in tests (or shorten the test some other way), and assert "
              "convergence over several seeds.",
          source="post-mortem #1 (tests at lr 0.01 vs default 1e-3: 60% vs 100% of seeds converged)",
          triggers=_may_fire)
def check(facts: ScriptFacts) -> Iterator[Hit]:
    if not is_test_path(facts.path) or not facts.project_lr_defaults:
        return
    default, where = max(facts.project_lr_defaults)
    for v in named_values(facts, LR_NAMES):
        if v.how != "keyword" or v.call is None:
            continue
        if not (v.call.ctx.func.name.startswith("test") or v.call.ctx.func is facts.module) or \
                not asserts_outcome(facts, v.call.ctx.func):
            continue  # only tests whose verdict depends on how training went
        if v.value >= FAR_ABOVE * default:
            yield Hit(v.line, v.col, f"test uses {v.name}={v.value:g}, {v.value / default:.0f}x the project's "
                      f"default {default:g} ({where}): tests at a far higher LR converge on only some seeds")
