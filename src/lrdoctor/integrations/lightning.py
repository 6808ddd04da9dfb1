"""``lightning.Trainer(callbacks=[LRDoctorCallback("runs/exp7")])``.

The Monitor hooks the first optimizer and its scheduler; the training step's loss is recorded
once per optimizer step (with gradient accumulation, on the batch that stepped).
"""

from __future__ import annotations

from typing import Any, Callable

import torch

try:
    from lightning.pytorch.callbacks import Callback
except ImportError:  # the older package name
    from pytorch_lightning.callbacks import Callback  # type: ignore[no-redef]

from lrdoctor.finding import Finding
from lrdoctor.monitor import Monitor

__all__ = ["LRDoctorCallback"]


class LRDoctorCallback(Callback):
    def __init__(self, log_to: str | None = None, on_finding: Callable[[Finding], None] | None = None,
                 print_report: bool = False) -> None:
        self.log_to, self.on_finding, self.print_report = log_to, on_finding, print_report
        self.monitor: Monitor | None = None

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        opt = trainer.optimizers[0]
        opt = getattr(opt, "optimizer", opt)
        configs = getattr(trainer, "lr_scheduler_configs", []) or []
        sched = configs[0].scheduler if configs else None
        self.monitor = Monitor(opt, model=pl_module, scheduler=sched, log_to=self.log_to,
                               config=dict(getattr(pl_module, "hparams", {}) or {}), on_finding=self.on_finding,
                               rank=trainer.global_rank)

    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        # Lightning runs the backward inside optimizer.step(closure): measure once gradients exist
        if self.monitor is not None:
            self.monitor.measure_gradients()

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.monitor is None:
            return
        if (batch_idx + 1) % max(1, trainer.accumulate_grad_batches) != 0:
            return
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        self.monitor.step(loss if isinstance(loss, torch.Tensor) else None, at=trainer.global_step - 1)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if self.monitor is None:
            return
        if self.print_report and trainer.global_rank == 0:
            print(self.monitor.report())
        self.monitor.close()
