"""Drive any torch optimizer from a schedule: one ``LRScheduler`` subclass.

``lr_group = base_lr_group * schedule(step)``, in closed form, so a scheduler restored from
``state_dict()`` at step k continues bit-identically. Works as the scheduler of a plain loop,
HF ``Trainer(optimizers=(opt, sched))`` and Lightning's ``configure_optimizers``.
"""

from __future__ import annotations

from typing import Any, Sequence

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lrdoctor.schedules._core import Schedule

__all__ = ["ScheduleLR", "to_torch"]


class ScheduleLR(LRScheduler):
    """``LRScheduler`` whose LR is ``base_lr * schedule(last_epoch)`` for each param group.

    Call ``step()`` once per optimizer step (schedule in steps) or once per epoch (schedule in
    epochs). One schedule for all groups, or one per group; each group keeps its own base LR.
    """

    def __init__(self, optimizer: Optimizer, schedule: Schedule | Sequence[Schedule], last_epoch: int = -1) -> None:
        n = len(optimizer.param_groups)
        scheds = list(schedule) if isinstance(schedule, (list, tuple)) else [schedule] * n
        if len(scheds) != n:
            raise ValueError(f"got {len(scheds)} schedules for {n} param groups")
        for s in scheds:
            if not isinstance(s, Schedule):
                raise TypeError(f"expected an lrdoctor Schedule, got {type(s).__name__}")
        self.schedules = scheds
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        return [base * s(t) for base, s in zip(self.base_lrs, self.schedules)]

    def _get_closed_form_lr(self) -> list[float]:
        return self.get_lr()

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer and the schedules (pure functions, rebuilt by the caller)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "schedules")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update({k: v for k, v in state_dict.items() if k not in ("optimizer", "schedules")})


def to_torch(optimizer: Optimizer, schedule: Schedule | Sequence[Schedule], last_epoch: int = -1) -> ScheduleLR:
    """The ``LRScheduler`` that applies ``schedule`` to ``optimizer``.

    >>> import torch
    >>> from lrdoctor import schedules
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> sched = schedules.to_torch(opt, schedules.warmup(10) * schedules.cosine(100, start_step=10))
    >>> for _ in range(5):
    ...     opt.step(); sched.step()
    >>> round(opt.param_groups[0]["lr"], 6)
    0.05
    """
    return ScheduleLR(optimizer, schedule, last_epoch)
