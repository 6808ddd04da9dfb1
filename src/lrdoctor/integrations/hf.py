"""``transformers.Trainer(..., callbacks=[LRDoctorCallback("runs/exp7")])``.

The Monitor hooks the trainer's optimizer (applied LR, the scheduler's LR, the pre-clip grad
norm that ``clip_grad_norm_`` returns); the trainer's logged ``loss`` and ``grad_norm`` are
added to the step they belong to. Findings go to ``logging`` as they start, and the report is
printed at the end of training when ``print_report`` is set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transformers import TrainerCallback

from lrdoctor.finding import Finding
from lrdoctor.monitor import Monitor

__all__ = ["LRDoctorCallback"]

#: TrainingArguments fields copied into the run's config (old values of the fix tables).
CONFIG_FIELDS = ("learning_rate", "warmup_steps", "warmup_ratio", "lr_scheduler_type", "max_grad_norm",
                 "weight_decay", "per_device_train_batch_size", "gradient_accumulation_steps", "num_train_epochs",
                 "max_steps", "adam_beta1", "adam_beta2", "adam_epsilon", "label_smoothing_factor")


class LRDoctorCallback(TrainerCallback):
    def __init__(self, log_to: str | None = None, on_finding: Callable[[Finding], None] | None = None,
                 print_report: bool = False) -> None:
        self.log_to, self.on_finding, self.print_report = log_to, on_finding, print_report
        self.monitor: Monitor | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, optimizer: Any = None,
                       lr_scheduler: Any = None, **kwargs: Any) -> None:
        opt = getattr(optimizer, "optimizer", optimizer)  # accelerate wraps the torch optimizer
        config = {k: getattr(args, k) for k in CONFIG_FIELDS if hasattr(args, k)}
        if model is not None:
            config["model_type"] = getattr(getattr(model, "config", None), "model_type", type(model).__name__)
        self.monitor = Monitor(opt, model=model, scheduler=lr_scheduler, log_to=self.log_to or None,
                               config=config, on_finding=self.on_finding)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.monitor is not None:
            self.monitor.step(None, at=state.global_step - 1)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if self.monitor is None or not logs:
            return
        # numpy scalars and tensors too: the Monitor validates each value (and says so once if it cannot)
        vals = {k: v for k, v in logs.items() if k in ("loss", "grad_norm", "eval_loss") and v is not None}
        if vals:
            self.monitor.annotate(**vals)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.monitor is None:
            return
        if self.print_report:
            print(self.monitor.report())
        self.monitor.close()
