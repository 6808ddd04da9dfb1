"""Drive any torch optimizer from a schedule: one ``LRScheduler`` subclass.

``lr_group = base_lr_group * schedule(step)``, in closed form, so a scheduler restored from
``state_dict()`` at step k continues bit-identically. Works as the scheduler of a plain loop,
HF ``Trainer(optimizers=(opt, sched))`` and Lightning's ``configure_optimizers``.

The schedule is an lrdoctor :class:`~lrdoctor.schedules.Schedule` or any callable
``step -> multiplier`` (what torch's ``LambdaLR`` takes). Both go through
:func:`~lrdoctor.schedules.evaluate`; a Schedule is evaluated for a block of steps at once,
a plain callable one step at a time (it may not accept arrays, nor steps past the run's end).

This module imports torch: ``lrdoctor.schedules`` loads it on first use of ``to_torch`` /
``ScheduleLR`` only, so ``import lrdoctor.schedules`` and the CLI stay torch-free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lrdoctor.schedules._core import Schedule, evaluate

#: What the adapter drives: a Schedule, or any pure function ``step -> multiplier``.
StepFn = Union[Schedule, Callable[[int], float]]

__all__ = ["ScheduleLR", "to_torch", "CHUNK"]

#: Steps evaluated at once (vectorised) by the adapter; a step then costs one list lookup,
#: cheaper than calling even a plain Python lambda (bench/schedule_overhead.py).
CHUNK = 4096
#: Attributes that are not scheduler state: rebuilt from the schedules, never saved.
_NOT_STATE = ("optimizer", "schedules", "_shared", "_tables")


class ScheduleLR(LRScheduler):
    """``LRScheduler`` whose LR is ``base_lr * schedule(last_epoch)`` for each param group.

    Call ``step()`` once per optimizer step (schedule in steps) or once per epoch (schedule in
    epochs). One schedule for all groups, or one per group; each group keeps its own base LR.
    """

    def __init__(self, optimizer: Optimizer, schedule: StepFn | Sequence[StepFn], last_epoch: int = -1) -> None:
        n = len(optimizer.param_groups)
        scheds = list(schedule) if isinstance(schedule, (list, tuple)) else [schedule] * n
        if len(scheds) != n:
            raise ValueError(f"got {len(scheds)} schedules for {n} param groups")
        for s in scheds:
            if not callable(s):
                raise TypeError(f"The 'schedule' parameter of to_torch must be a callable step -> multiplier (an "
                                f"lrdoctor Schedule or any function), or a list of them, one per param group. "
                                f"Got {type(s).__name__} instead.")
        self.schedules = scheds
        # one schedule for every group (the usual case): evaluate it once per step
        self._shared = scheds[0] if all(s is scheds[0] for s in scheds) else None
        self._tables: list[tuple[int, list[float]]] = [(-1, [])] * n
        super().__init__(optimizer, last_epoch)

    def _m(self, i: int, t: int) -> float:
        """schedules[i](t). A Schedule is read from a table evaluated for a block of CHUNK steps;
        any other callable is called at this step only (as LambdaLR does).

        Blocks are aligned to absolute steps (block k covers [k*CHUNK, (k+1)*CHUNK)), so a run
        resumed at any step reads values computed exactly as the uninterrupted run's were.
        """
        s = self.schedules[i]
        if not isinstance(s, Schedule):
            return evaluate(s, t)
        k = t // CHUNK
        block, table = self._tables[i]
        if block != k:
            table = evaluate(s, np.arange(k * CHUNK, (k + 1) * CHUNK)).tolist()
            self._tables[i] = (k, table)
        return table[t - k * CHUNK]

    def get_lr(self) -> list[float]:
        t = max(int(self.last_epoch), 0)
        if self._shared is not None:
            m = self._m(0, t)
            return [base * m for base in self.base_lrs]
        return [base * self._m(i, t) for i, base in enumerate(self.base_lrs)]

    def _get_closed_form_lr(self) -> list[float]:
        return self.get_lr()

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer and the schedules (pure functions, rebuilt by the caller)."""
        return {k: v for k, v in self.__dict__.items() if k not in _NOT_STATE}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update({k: v for k, v in state_dict.items() if k not in _NOT_STATE})


def to_torch(optimizer: Optimizer, schedule: StepFn | Sequence[StepFn], last_epoch: int = -1) -> ScheduleLR:
    """The ``LRScheduler`` that applies ``schedule`` (a Schedule or any callable ``step -> multiplier``,
    or one per param group) to ``optimizer``.

    >>> import torch
    >>> from lrdoctor import schedules
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> sched = schedules.to_torch(opt, schedules.warmup(10) * schedules.cosine(100, start_step=10))
    >>> for _ in range(5):
    ...     opt.step(); sched.step()
    >>> round(opt.param_groups[0]["lr"], 6)
    0.05
    >>> sched = schedules.to_torch(opt, lambda step: 0.5 ** step)   # any callable step -> multiplier
    >>> opt.step(); sched.step(); opt.step(); sched.step()
    >>> opt.param_groups[0]["lr"]
    0.025
    """
    return ScheduleLR(optimizer, schedule, last_epoch)
