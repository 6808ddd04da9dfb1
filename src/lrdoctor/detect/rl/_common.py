"""What the RL detectors share: the task metric, slope units, windows of a curve."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.detect._stats import Curve, robust_sigma, rolling_median, run_curve
from lrdoctor.run import Run, Series

__all__ = ["TASK_METRICS", "TaskCurve", "task_curve", "slope_unit", "fit_slope", "monitor_raw_returns"]

# Config names the RL fix rules read (stable-baselines3 / rl-zoo YAML, CleanRL argument dumps).
TAU_KEYS = ("tau", "polyak", "target_tau", "soft_update_tau")
HARD_UPDATE_KEYS = ("target_update_interval", "target_network_frequency", "target_update_freq", "target_update")
NSTEP_KEYS = ("n_step", "multi_step", "n_step_return", "nstep", "n_steps_return")
GAMMA_KEYS = ("gamma", "discount", "discount_factor")
ACCUM_KEYS = ("gradient_accumulation_steps", "grad_accum", "accumulation_steps", "gradient_accumulation")
GRAD_STEPS_KEYS = ("gradient_steps", "updates_per_step", "replay_ratio", "utd_ratio")
TRAIN_FREQ_KEYS = ("train_freq", "train_frequency", "update_every")
ENT_KEYS = ("ent_coef", "entropy_coef", "entropy_coeff", "ent_coeff")
EPOCH_KEYS = ("n_epochs", "update_epochs", "ppo_epochs", "num_epochs")
VF_KEYS = ("vf_coef", "value_coef", "value_loss_coef")
#: Share of the target a soft update may replace in 100 steps after a Q divergence or a
#: reversal: post-mortem #5 moved tau 0.012 (70%) -> 0.005 (40%).
TARGET_SHARE_100 = 0.4

#: Higher-is-better metrics that say how well the task is done, in order of preference.
#: The training return comes first: SB3 and CleanRL average it over the last 100 episodes
#: and log it every update, while evaluation is a few deterministic episodes every N steps
#: (sb3 Acrobot: 100 eval points jumping between -7946 and -2700 on a healthy run).
TASK_METRICS = ("ep_return", "eval_return", "success_rate", "eval_accuracy")

#: The task curve is smoothed over 1/20 of the run (at least 5 points): RL returns are noisy
#: and a rolling median over 5% keeps only what lasts.
SMOOTH_SHARE = 0.05


@dataclass(frozen=True)
class TaskCurve:
    """A task metric reduced to bins, its rolling median and its noise (robust sigma)."""

    name: str
    c: Curve
    smooth: np.ndarray
    sigma: float

    @property
    def n(self) -> int:
        return len(self.c)


def monitor_raw_returns(run: Run, name: str) -> Series | None:
    """The raw episode returns behind ``name`` when it is the Monitor reader's rolling mean of them
    (``ep_rew_mean``, SB3's mean of its last ``EP_INFO_BUFFER`` episodes), else None."""
    if name != "ep_return" or run.meta.roles.get("ep_return") != "ep_rew_mean" or "episode_return" not in run:
        return None
    return run.series("episode_return").finite()


def _window_mean_error(run: Run, name: str) -> float:
    """The standard error of a return that is a rolling mean of raw episode returns (the Monitor
    reader's ``ep_rew_mean``, SB3's mean of its last 100 episodes): the robust SD of the raw
    returns over sqrt(100) (robust: a rare crash episode is a real event of the curve). The residuals
    of such a curve around its trend are autocorrelated and understate its noise many times (an
    Atari DQN at random play: episode scores 0-8, residual sigma 0.02, standard error 0.13), so
    its rises and falls are judged against the error of the mean instead. 0 for other metrics."""
    from lrdoctor.io.monitor_csv import EP_INFO_BUFFER

    f = monitor_raw_returns(run, name)
    if f is None:
        return 0.0
    raw = f.values
    return robust_sigma(raw) / float(np.sqrt(EP_INFO_BUFFER)) if raw.size >= EP_INFO_BUFFER else 0.0


def task_curve(run: Run, min_points: int = 10) -> TaskCurve | None:
    """The smoothed task metric of ``run`` (computed once per run and ``min_points``), or None: the first
    task metric with at least ``min_points`` reports. The cache is keyed by ``min_points`` too, so a
    rule that asks for more reports (the 20 of ``_return_never_rose``) and one that asks for fewer get
    their own answers whichever runs first."""
    key = ("task_curve", min_points)
    if key not in run.derived:
        out = None
        for name in TASK_METRICS:
            c = run_curve(run, name)
            if c is not None and len(c) >= min_points:
                w = max(5, int(len(c) * SMOOTH_SHARE)) | 1
                sm = rolling_median(c.mid, w)
                out = TaskCurve(name, c, sm, max(robust_sigma(c.mid - sm), _window_mean_error(run, name)))
                break
        run.derived[key] = out
    return run.derived[key]


def slope_unit(run: Run) -> tuple[float, str]:
    """(steps per unit, unit label) for reporting slopes the way practitioners read them:
    per million frames for environment steps (the DQN post-mortem's unit), per 1k updates
    or episodes otherwise."""
    unit = run.meta.step_unit
    if unit == "timestep":
        return 1e6, "per 1M frames"
    if unit in ("step", "update", "episode", "row"):
        return 1e3, f"per 1k {unit}s"
    return 1.0, f"per {unit}"


def fit_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of y on x (0 for fewer than 2 distinct x)."""
    if x.size < 2 or np.ptp(x) == 0:
        return 0.0
    return float(np.polyfit(x.astype(np.float64), y.astype(np.float64), 1)[0])
