"""``nstep-large``: n-step returns with a large n. Each of the n rewards comes from the behaviour
policy of the replayed transition (off-policy bias grows with n) and the variance of the
target grows with n; Rainbow uses n=3, post-mortem #5 cut 8 to 5."""

from __future__ import annotations

import re
from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.config import ConfigFile
from lrdoctor.lint.pyfacts import ScriptFacts
from lrdoctor.lint.registry import Hit, register
from lrdoctor.lint.values import named_values
from lrdoctor.prescribe import calc

#: the largest n accepted without a warning (post-mortem #5's fix; Rainbow's 3 is below it)
MAX_N: int = 5
KEYS = {"n_step", "nstep", "n_step_return", "n_steps_return", "multi_step", "n_step_returns", "num_step_returns"}
#: SB3's off-policy algorithms name their n-step parameter ``n_steps`` (PPO's n_steps is a rollout length)
OFF_POLICY = ("dqn", "sac", "td3", "ddpg")
OFF_POLICY_CALLEES = frozenset({"DQN", "QRDQN", "SAC", "TD3", "DDPG", "TQC", "CrossQ"})


_NAMED = re.compile(r"\bn_step\b|nstep|multi_step|n_step_return|n_steps_return|num_step_returns")


def _may_fire(text: str, path: str) -> bool:
    if _NAMED.search(text):
        return True
    return "n_steps" in text and any(c in text for c in OFF_POLICY_CALLEES)


def _msg(n: int, gamma: float | None) -> str:
    extra = ""
    if gamma is not None and 0 < gamma < 1:
        r = calc.nstep(gamma, n)
        extra = f"; at gamma={gamma:g} the bootstrap weight is gamma^n = {r.gamma_n:.3f}"
    return (f"n-step return with n={n} (> {MAX_N}): {n} rewards from old behaviour policies per target "
            f"(off-policy bias and variance grow with n){extra}")


@register("nstep-large", targets=("python", "config"), severity=Severity.WARNING,
          summary="n-step returns with a large n",
          fix=f"Use n <= {MAX_N} (3 is Rainbow's choice); raise gamma's horizon instead if you need longer credit assignment.",
          source="post-mortem #5 (n-step 8 -> 5); Hessel et al. 2018 (Rainbow, n=3); Sutton & Barto 2018 ch. 7",
          triggers=_may_fire)
def check(facts) -> Iterator[Hit]:
    if isinstance(facts, ConfigFile):
        for s in facts.scopes:
            keys = set(KEYS) | ({"n_steps"} if facts.algo in OFF_POLICY else set())
            got = s.number(*keys)
            if got and got[0] == int(got[0]) and got[0] > MAX_N:
                g = s.number("gamma")
                prefix = f"{s.name}: " if s.name else ""
                yield Hit(got[1].line, got[1].col, prefix + _msg(int(got[0]), g[0] if g else None))
        return
    assert isinstance(facts, ScriptFacts)
    gammas = {v.value for v in named_values(facts, {"gamma"})}
    gamma = gammas.pop() if len(gammas) == 1 else None
    for v in named_values(facts, KEYS | {"n_steps"}):
        if v.name.lower() == "n_steps" and not (v.how == "keyword" and v.call and v.call.attr in OFF_POLICY_CALLEES):
            continue
        if v.value == int(v.value) and v.value > MAX_N:
            yield Hit(v.line, v.col, _msg(int(v.value), gamma))
