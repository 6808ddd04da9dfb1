"""Task factories for tests/test_sweep.py (imported by path in the workers: not a test module)."""

from __future__ import annotations

import os
import time

import torch
from torch import nn
from torch.nn import functional as F

from lrdoctor.experiments import Task


def _regression_data(n_batches: int = 4, batch: int = 32):
    g = torch.Generator().manual_seed(0)
    w = torch.randn(8, 1, generator=g)
    out = []
    for _ in range(n_batches):
        x = torch.randn(batch, 8, generator=g)
        out.append((x, x @ w + 0.1 * torch.randn(batch, 1, generator=g)))
    return out


def mlp() -> Task:
    """A small MLP on a linear-regression problem with SGD: converges at 0.01-0.05, diverges to
    NaN at 1.0 (the loss's curvature makes SGD unstable above ~0.2)."""
    return Task(model_fn=lambda: nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1)),
                optimizer_fn=lambda params, lr: torch.optim.SGD(params, lr=lr),
                batches=_regression_data(),
                loss_fn=lambda model, b: F.mse_loss(model(b[0]), b[1]),
                eval_fn=lambda model: F.mse_loss(model(_regression_data()[0][0]), _regression_data()[0][1]))


def slow_mlp(delay: float = 0.05) -> Task:
    """``mlp`` with a sleep per step, so a sweep is long enough to be killed mid-way."""
    task = mlp()
    inner = task.loss_fn

    def loss_fn(model, b):
        time.sleep(delay)
        return inner(model, b)

    task.loss_fn = loss_fn
    return task


def broken() -> Task:
    """A task whose loss raises: the cell is retried once and then reported as errored."""
    task = mlp()

    def loss_fn(model, b):
        raise RuntimeError(f"broken loss in pid {os.getpid()}")

    task.loss_fn = loss_fn
    return task


def probe(item: tuple) -> object:
    """Backend test function: ("threads",) -> torch threads of the worker; ("fail_once", path)
    -> raises on the first attempt (creates ``path``), returns "second try" on the next;
    ("always_fail",) -> raises every time."""
    what = item[0]
    if what == "threads":
        return torch.get_num_threads()
    if what == "fail_once":
        if not os.path.exists(item[1]):
            open(item[1], "w").close()
            raise RuntimeError("first attempt fails")
        return "second try"
    raise ValueError("always fails")


def fail_once(marker: str) -> Task:
    """The first call (in any process) raises; later calls return ``mlp()``: a transient failure."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("transient failure on the first attempt")
    return mlp()


def threads() -> Task:
    """``mlp`` whose eval reports the worker's torch threads (``eval_threads``)."""
    task = mlp()
    task.eval_fn = lambda model: {"threads": float(torch.get_num_threads())}
    return task


def die_once(marker: str) -> Task:
    """The first call kills its worker process outright (as the OOM killer would); later calls
    return ``mlp()``. On the pool this breaks the pool: every pending cell reruns on a new one."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(3)
    return mlp()
