"""Reinforcement-learning and iterative fine-tuning detectors.

An RL run fails in ways a supervised loss curve never shows: a TD loss keeps falling while
the Q-values explode (post-mortem #5), a PPO update jumps far past its KL target and the
policy collapses (#2), a policy's entropy goes to zero. These detectors read the RL
metrics (KL, entropy, explained variance, Q statistics, returns) and have the same contract
as the supervised ones: ``Run -> list[Finding]`` with named, sourced thresholds.
"""

from lrdoctor.detect.rl._common import TASK_METRICS, task_curve
from lrdoctor.detect.rl import cycle_degradation, entropy_collapse, kl_exceeded, q_divergence, returns, value_collapse

# the first release's module names
cycles, entropy, kl, q_values, value = cycle_degradation, entropy_collapse, kl_exceeded, q_divergence, value_collapse

__all__ = ["cycle_degradation", "entropy_collapse", "kl_exceeded", "q_divergence", "returns", "value_collapse",
           "cycles", "entropy", "kl", "q_values", "value", "TASK_METRICS", "task_curve"]
