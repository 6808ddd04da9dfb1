"""Rules for group-relative policy optimisation (GRPO: TRL's ``GRPOTrainer``, ms-swift, open-r1).

GRPO's advantage of a completion is its reward minus the mean of its prompt's group, divided
by the group's standard deviation (Shao et al. 2024, DeepSeekMath). A group whose completions
all got the same reward has no advantage at all, and a batch made only of such groups sends an
exactly zero policy gradient. TRL logs the share of such groups as ``frac_reward_zero_std``.
"""

from __future__ import annotations

from lrdoctor.finding import Finding, Severity
from lrdoctor.fmt import fmt
from lrdoctor.run import Run

__all__ = ["ZERO_STD_COLUMNS", "all_groups_degenerate"]

#: the columns that hold the share of prompt groups whose rewards have zero spread
ZERO_STD_COLUMNS = ("frac_reward_zero_std", "train/frac_reward_zero_std")


def all_groups_degenerate(run: Run) -> Finding | None:
    """``frac_reward_zero_std`` is exactly 1 at every report, and the gradient norm, where it
    is logged, exactly 0: every prompt group of every logged batch got identical rewards, so
    every advantage is 0 and no update moves the policy (TRL issue 3857: reward 3.0 with
    reward_std 0.0, frac_reward_zero_std 1.0, loss 0.0, grad_norm 0.0). A logged value is an
    average over the logging interval, so 1.0 holds for each of its steps. The rewards do not
    separate the completions: the reward saturates (every answer already scores the maximum,
    or none can score), or the group is too small or sampled too cold to differ."""
    name = next((c for c in ZERO_STD_COLUMNS if c in run), None)
    if name is None:
        return None
    s = run.series(name).finite()
    if s.values.size == 0 or not bool((s.values == 1.0).all()):
        return None
    g = run.series("grad_norm")
    if g is not None and bool((g.finite().values != 0).any()):
        return None  # a gradient flowed anyway (a KL term or an auxiliary loss): the policy still moves
    reward = run.series("ep_return")
    level = f" (reward {fmt(float(reward.finite().values[-1]))})" if reward is not None and reward.finite().values.size else ""
    ev = {"metric": name, "value": 1.0, "points": int(s.values.size),
          "rule": "every prompt group's rewards were identical: all GRPO advantages are 0"}
    summary = (f"{name} is 1.0 at all {s.values.size} report(s){level}: every prompt group got identical rewards, so "
               "every advantage is 0 and the policy gets no gradient")
    cause = ("The reward does not separate the completions of a prompt: it saturates (every completion already earns "
             "the maximum, or none can earn anything), or the groups are too small or sampled too cold to differ. "
             "Check the reward function on a few completions, raise num_generations or the sampling temperature.")
    return Finding("slow_progress", Severity.ERROR, float(s.steps[0]), float(s.steps[-1]), summary, ev, cause)
