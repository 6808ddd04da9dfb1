"""``model.learn(..., callback=LRDoctorCallback("runs/ppo"))`` for stable-baselines3.

One row per rollout (x-axis: environment timesteps) with what the SB3 logger holds at the end
of the rollout -- the previous update's ``train/*`` (approx_kl, entropy_loss, value_loss,
explained_variance, clip_fraction, learning_rate) and ``rollout/*`` (ep_rew_mean) -- plus the
Monitor's own signals from the policy optimizer (applied LR, gradient norm of the last step).
The RL detectors (kl_exceeded, entropy_collapse, ...) judge it while it trains.
"""

from __future__ import annotations

from typing import Callable

from stable_baselines3.common.callbacks import BaseCallback

from lrdoctor.finding import Finding
from lrdoctor.monitor import Monitor

__all__ = ["LRDoctorCallback"]

#: SB3 hyperparameters copied into the run's config (old values of the RL fix tables).
CONFIG_FIELDS = ("learning_rate", "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "clip_range",
                 "ent_coef", "vf_coef", "max_grad_norm", "target_kl", "tau", "train_freq", "gradient_steps",
                 "target_update_interval", "buffer_size", "learning_starts")


class LRDoctorCallback(BaseCallback):
    def __init__(self, log_to: str | None = None, on_finding: Callable[[Finding], None] | None = None,
                 print_report: bool = False, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.log_to, self.on_finding, self.print_report = log_to, on_finding, print_report
        self.monitor: Monitor | None = None

    def _on_training_start(self) -> None:
        config = {}
        for k in CONFIG_FIELDS:
            v = getattr(self.model, k, None)
            if isinstance(v, (int, float, str)) or v is None:
                config[k] = v
        space = getattr(self.model, "action_space", None)
        if space is not None and hasattr(space, "n"):
            config["n_actions"] = int(space.n)
        self.monitor = Monitor(self.model.policy.optimizer, model=self.model.policy, log_to=self.log_to,
                               config=config, on_finding=self.on_finding)
        self.monitor.step_unit = "timestep"

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.monitor is None:
            return
        values = {}
        for k, v in self.logger.name_to_value.items():
            try:  # SB3 records numpy scalars (float32) as well as Python numbers
                values[k] = float(v)
            except (TypeError, ValueError):
                continue
        eps = [ep["r"] for ep in (getattr(self.model, "ep_info_buffer", None) or [])]
        if eps:  # SB3 records rollout/ep_rew_mean only when it dumps its logs; compute it the same way
            values["rollout/ep_rew_mean"] = float(sum(eps) / len(eps))
        self.monitor.step(None, at=self.num_timesteps, **values)

    def _on_training_end(self) -> None:
        if self.monitor is None:
            return
        if self.print_report:
            print(self.monitor.report())
        self.monitor.close()
