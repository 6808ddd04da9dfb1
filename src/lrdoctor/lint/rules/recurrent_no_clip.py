"""``recurrent-no-clip``: a script trains a recurrent network (its own ``.backward()``) and never
clips gradients. Backpropagation through time multiplies Jacobians over the sequence, so
gradient norms can explode by orders of magnitude in one step."""

from __future__ import annotations

from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.arch import detect_arch, is_test_code
from lrdoctor.lint.pyfacts import ScriptFacts
from lrdoctor.lint.registry import Hit, register


def _clips(facts: ScriptFacts) -> bool:
    return "clip" in facts.lower


@register("recurrent-no-clip", targets=("python",), severity=Severity.WARNING,
          summary="a recurrent model is trained without gradient clipping",
          fix="Clip the global gradient norm before optimizer.step(): torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0) "
              "(0.5 is SB3's PPO default).",
          source="Pascanu et al. 2013 (exploding gradients in RNNs, norm clipping); post-mortem #2 (GRU PPO agent)",
          triggers=(("LSTM", "GRU", "RNN"), ("backward",)))
def check(facts: ScriptFacts) -> Iterator[Hit]:
    if is_test_code(facts.path):
        return
    rec = [a for a in detect_arch(facts) if a.family == "recurrent"]
    if not rec or _clips(facts):
        return
    backward = [c for c in facts.calls if c.attr == "backward"]
    if not backward:
        return
    ev = rec[0]
    yield Hit(ev.call.line, ev.call.col, f"{ev.call.name} is trained here (.backward() at line {backward[0].line}) "
              f"and gradients are never clipped: BPTT gradients can explode in one step")
