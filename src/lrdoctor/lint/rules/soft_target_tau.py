"""``soft-target-tau``: a soft-target coefficient that replaces most of the target network
within ~100 updates (about 2 s at post-mortem #5's 48 updates/s), so the target no longer
stabilises the bootstrap: post-mortem #5's tau 0.012 replaced 70% in 100 updates and its
Q-range exploded 324 -> 1999."""

from __future__ import annotations

from typing import Iterator

from lrdoctor.finding import Severity
from lrdoctor.lint.arch import is_test_path
from lrdoctor.lint.config import ConfigFile
from lrdoctor.lint.pyfacts import ScriptFacts
from lrdoctor.lint.registry import Hit, register
from lrdoctor.lint.values import named_values
from lrdoctor.prescribe import calc

#: updates over which the replaced share is judged (post-mortem #5's window: ~2 s at 48 updates/s)
WINDOW_UPDATES: int = 100
#: the share of the target that may be replaced in that window (tau 0.005, SB3's SAC/TD3
#: default, replaces 39%; 0.012 replaced 70%)
MAX_SHARE: float = 0.6
INTERVAL_KEYS = ("target_update_interval", "target_network_frequency", "target_update_freq",
                 "target_update_period", "policy_delay", "target_update_frequency")
#: the rule is judged for value-based agents (DQN family), where hard target copies are the norm and
#: post-mortem #5's soft tau hurt; actor-critic methods (SAC/TD3/DDPG/HER) publish 0.005-0.05 as tuned
#: values, and without the update rate a "few seconds" cannot be established for them
DQN_CALLEES = ("DQN", "QRDQN", "C51", "Rainbow", "IQN")
DQN_KEYS = ("exploration_fraction", "exploration_final_eps", "exploration_initial_eps", "double_q", "dueling")
DQN_WORDS = ("qnetwork", "q_network", "qnet", "dqn", "target_q", "q_values", "q_net")


def _may_fire(text: str, path: str) -> bool:
    if "tau" not in text:
        return False
    low = text.lower()
    return any(w in low for w in DQN_WORDS) or any(c.lower() in low for c in DQN_CALLEES)


def _share(tau: float, interval: float) -> float:
    return calc.soft_update(tau, max(1, int(WINDOW_UPDATES / max(interval, 1.0)))).replaced


def _msg(tau: float, interval: float, share: float) -> str:
    every = f" (one soft update every {interval:g} steps)" if interval > 1 else ""
    half = calc.soft_update(tau, 1).half_life_steps
    return (f"tau={tau:g}{every} replaces {share:.0%} of the target network in {WINDOW_UPDATES} updates "
            f"(half-life {half:.0f} updates, ~{WINDOW_UPDATES / 48:.0f} s at 48 updates/s): the target tracks "
            f"the online network too closely to stabilise bootstrapping")


FIX_T = "Lower tau so the target keeps about half its weights over ~100 updates: tau ~= 0.005 (half-life ~140 updates)."


@register("soft-target-tau", targets=("python", "config"), severity=Severity.WARNING,
          summary="DQN-family soft target update tau replaces most of the target within ~100 updates",
          fix=FIX_T,
          source="post-mortem #5 (tau 0.012 at 48 steps/s: 70% replaced in 100 updates); Lillicrap et al. 2016 "
                 "(DDPG tau 0.001); Fujimoto et al. 2018 and SB3 defaults (tau 0.005)",
          triggers=_may_fire)
def check(facts) -> Iterator[Hit]:
    if isinstance(facts, ConfigFile):
        for s in facts.scopes:
            if facts.algo != "dqn" and not any(s.get(k) for k in DQN_KEYS):
                continue
            got = s.number("tau", "polyak_tau", "soft_update_tau", "target_tau")
            if not got or not (0 < got[0] < 1):
                continue
            iv = s.number(*INTERVAL_KEYS)
            interval = iv[0] if iv else 1.0
            share = _share(got[0], interval)
            if share > MAX_SHARE:
                prefix = f"{s.name}: " if s.name else ""
                yield Hit(got[1].line, got[1].col, prefix + _msg(got[0], interval, share))
        return
    assert isinstance(facts, ScriptFacts)
    rl_file = any(w in facts.lower for w in DQN_WORDS)
    intervals = [v.value for v in named_values(facts, set(INTERVAL_KEYS)) if v.value >= 1]
    interval = max(intervals) if intervals else 1.0
    for v in named_values(facts, {"tau", "polyak_tau", "soft_update_tau", "target_tau"}):
        if not (0 < v.value < 1):
            continue
        if v.how == "keyword" and not (v.call and any(k in v.call.attr for k in DQN_CALLEES)):
            continue  # tau= of SAC/TD3, of gumbel_softmax (a temperature), ...
        if v.how in ("assign", "argparse", "default") and (not rl_file or is_test_path(facts.path)):
            continue  # a test poking model.tau / polyak_update(tau) checks mechanics, not a config
        if v.how == "assign" and v.line and "." in facts.line_text(v.line).split("=")[0]:
            continue  # obj.tau = ... mutates an object; configs are names, Args fields and argparse
        share = _share(v.value, interval)
        if share > MAX_SHARE:
            yield Hit(v.line, v.col, _msg(v.value, interval, share))
