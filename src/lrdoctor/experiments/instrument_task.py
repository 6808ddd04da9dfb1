"""Run the instruments on a sweep :class:`~lrdoctor.experiments.task.Task` (what
``lrdoctor find-lr TASK`` and ``lrdoctor sharpness TASK`` do): build the model after
seeding, the optimizer at an LR, and the task's batch stream."""

from __future__ import annotations

import itertools

import torch

from lrdoctor.experiments.range_test import (DEFAULT_END_LR, DEFAULT_NUM_STEPS, DEFAULT_START_LR, RangeTestResult,
                                             find_lr)
from lrdoctor.experiments.sharpness import SharpnessResult, sharpness
from lrdoctor.experiments.task import Task

__all__ = ["find_lr_task", "sharpness_task"]


def _build(task: Task, seed: int, lr: float):
    torch.manual_seed(seed)
    model = task.model_fn()
    return model, task.optimizer_fn(model.parameters(), lr)


def find_lr_task(task: Task, *, seed: int = 0, start_lr: float = DEFAULT_START_LR, end_lr: float = DEFAULT_END_LR,
                 num_steps: int = DEFAULT_NUM_STEPS, progress: bool = False) -> RangeTestResult:
    """The range test on a fresh model of ``task`` (initialised under ``seed``)."""
    model, opt = _build(task, seed, start_lr)
    stream = itertools.islice(task.stream(seed), num_steps)
    return find_lr(model, opt, None, list(stream), start_lr=start_lr, end_lr=end_lr, num_steps=num_steps,
                   batch_loss=task.loss_fn, progress=progress)


def sharpness_task(task: Task, *, lr: float, seed: int = 0, train_steps: int = 0, tol: float = 1e-6) -> SharpnessResult:
    """Sharpness of ``task``'s model after ``train_steps`` steps at ``lr``, on the next batch."""
    model, opt = _build(task, seed, lr)
    stream = iter(task.stream(seed))
    for _ in range(train_steps):
        opt.zero_grad()
        task.loss_fn(model, next(stream)).backward()
        opt.step()
    return sharpness(model, None, next(stream), opt, tol=tol, batch_loss=task.loss_fn)
