"""The LR range test loop (Smith 2017): an exponential LR ramp on a copy of the model.

>>> res = lrdoctor.find_lr(model, optimizer, loss_fn, loader)   # doctest: +SKIP
>>> res.suggestion, res.suggestions["fastai_valley"].lr          # doctest: +SKIP
>>> res.plot("lr_find.png")                                      # doctest: +SKIP

This module runs the loop and records what happened; the suggestion rules are pure
functions of ``(lrs, losses)`` in :mod:`.suggest`; plotting is :mod:`.range_test_plot`.

The user's model and optimizer are never touched: the loop trains a ``copy.deepcopy`` of
the model with a fresh optimizer of the same class, loaded from a deep copy of the
optimizer's state dict; torch's global RNG state is restored afterwards, so dropout or
sampling in the loop does not shift the user's random stream either.
"""

from __future__ import annotations

import copy
import math
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

from lrdoctor.experiments.suggest import OURS, Suggestion, ema_debiased, suggest_all

__all__ = ["RangeTestResult", "find_lr", "DEFAULT_START_LR", "DEFAULT_END_LR", "DEFAULT_NUM_STEPS",
           "DIVERGE_FACTOR", "DEFAULT_RAMPS"]

#: Ramp start and end (fastai's and torch-lr-finder's defaults, 1e-7 to 10: eight decades
#: cover every optimizer's useful range).
DEFAULT_START_LR: float = 1e-7
DEFAULT_END_LR: float = 10.0
#: Ramp length in optimizer steps (fastai's and Lightning's default, 100).
DEFAULT_NUM_STEPS: int = 100
#: Early stop when the smoothed loss exceeds this multiple of its best value (fastai's
#: ``stop_div`` and Lightning's ``early_stop_threshold`` use 4; torch-lr-finder 5).
DIVERGE_FACTOR: float = 4.0
#: Ramps run, each from the user's starting state with the next batches of the loader, whose
#: per-step losses are averaged (1: the classic single ramp of fastai, Lightning and
#: torch-lr-finder).
DEFAULT_RAMPS: int = 1


@dataclass
class RangeTestResult:
    """What the range test measured, and every rule's suggestion on it."""

    #: the LR the optimizer applied at each step (first param group, read before ``step()``)
    lrs: np.ndarray
    #: the raw training loss at each step (before that step's update); with several ramps,
    #: the mean over ramps at each step
    losses: np.ndarray
    #: the loop's debiased-EMA loss (beta 0.98), used for the early stop
    smoothed: np.ndarray
    suggestions: dict[str, Suggestion]
    #: why the loop ended: "completed", "diverged" (smoothed loss > DIVERGE_FACTOR x best),
    #: "nonfinite" (NaN/inf loss) or "exhausted" (the loader ran out with cycle=False)
    stopped: str
    num_steps: int
    notes: list[str] = field(default_factory=list)
    #: each ramp's raw losses (ramps x steps, cut to the shortest ramp); ``losses`` is their mean
    ramp_losses: np.ndarray | None = None

    @property
    def suggestion(self) -> float | None:
        """lrdoctor's suggestion (:func:`lrdoctor.experiments.suggest.lrdoctor_rule`)."""
        return self.suggestions[OURS].lr

    def plot(self, path=None, ax=None):
        """Loss against LR (log scale) with each suggestion marked; saves to ``path`` if given."""
        from lrdoctor.experiments.range_test_plot import plot_range_test

        return plot_range_test(self, path=path, ax=ax)

    def to_dict(self) -> dict:
        return {"lrs": self.lrs.tolist(), "losses": [x if math.isfinite(x) else None for x in self.losses.tolist()],
                "stopped": self.stopped, "num_steps": self.num_steps, "suggestion": self.suggestion,
                "suggestions": {k: v.lr for k, v in self.suggestions.items()}}


def _copy_optimizer(optimizer: torch.optim.Optimizer, model: nn.Module, clone: nn.Module) -> torch.optim.Optimizer:
    index = {id(p): i for i, p in enumerate(model.parameters())}
    cparams = list(clone.parameters())
    groups = []
    for g in optimizer.param_groups:
        missing = [p for p in g["params"] if id(p) not in index]
        if missing:
            raise ValueError("the optimizer holds parameters that are not the model's; pass the model it optimizes")
        ng = {k: v for k, v in g.items() if k != "params"}
        ng["params"] = [cparams[index[id(p)]] for p in g["params"]]
        groups.append(ng)
    try:  # every group carries all its hyperparameters; the constructor's defaults only fill gaps
        new = type(optimizer)(groups)
    except TypeError:  # an optimizer whose lr has no default
        new = type(optimizer)(groups, lr=groups[0]["lr"])
    new.defaults = copy.deepcopy(optimizer.defaults)
    new.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    return new


def _progress(total: int, enabled: bool):
    """A rich progress bar on stderr (transient), or a no-op."""
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    prog = Progress(TextColumn("lr range test"), BarColumn(), TextColumn("{task.completed}/{task.total} lr {task.fields[lr]}"),
                    console=Console(file=sys.stderr), transient=True)
    prog.start()
    return prog, prog.add_task("lr", total=total, lr="")


class _Batches:
    """One iterator over ``loader`` shared by every ramp, restarted when exhausted
    (``cycle``): each ramp continues where the last stopped, so a shuffling loader gives
    each ramp a different data order."""

    def __init__(self, loader: Iterable, cycle: bool):
        self.loader, self.cycle, self.it = loader, cycle, iter(loader)

    def next(self):
        """The next batch, or None when the loader is exhausted and ``cycle`` is False."""
        try:
            return next(self.it)
        except StopIteration:
            if not self.cycle:
                return None
            self.it = iter(self.loader)
            try:
                return next(self.it)
            except StopIteration:
                raise ValueError("the loader yields no batches") from None


@dataclass
class _Ramp:
    lrs: list[float]
    losses: list[float]
    stopped: str


def _ramp(clone: nn.Module, opt: torch.optim.Optimizer, batch_loss, source: _Batches, start_lr: float, end_lr: float,
          num_steps: int, diverge_factor: float, bar) -> _Ramp:
    """One exponential ramp on ``clone``; stops early on divergence or a non-finite loss."""
    base = [float(g["lr"]) for g in opt.param_groups]
    top = max(base) if max(base) > 0 else 1.0
    ratios = [b / top if max(base) > 0 else 1.0 for b in base]
    lrs, losses = [], []
    stopped, best = "completed", math.inf
    avg, beta = 0.0, 0.98
    for step in range(num_steps):
        lr = start_lr * (end_lr / start_lr) ** (step / (num_steps - 1))
        for g, r in zip(opt.param_groups, ratios):
            g["lr"] = lr * r
        batch = source.next()
        if batch is None:
            stopped = "exhausted"
            break
        opt.zero_grad(set_to_none=True)
        loss = batch_loss(clone, batch)
        value = float(loss.detach())
        lrs.append(float(opt.param_groups[int(np.argmax(ratios))]["lr"]))
        losses.append(value)
        if bar is not None:
            bar[0].update(bar[1], advance=1, lr=f"{lr:.2e}")
        if not math.isfinite(value):
            stopped = "nonfinite"
            break
        avg = beta * avg + (1 - beta) * value
        sm = avg / (1 - beta ** (step + 1))
        if sm > diverge_factor * best and step > 0:
            stopped = "diverged"
            break
        best = min(best, sm)
        loss.backward()
        opt.step()
    return _Ramp(lrs, losses, stopped)


def _average(runs: list[_Ramp]) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """The ramps' per-step mean loss over the steps every ramp reached (the shortest ramp's
    length; its reason to stop is the result's). Every ramp applies the same LRs, and every
    rule's smoother is linear in the losses (the EMAs exactly), so averaging the raw losses
    is averaging each rule's smoothed curves. One ramp is returned unchanged."""
    n = min(len(r.losses) for r in runs)
    shortest = min(runs, key=lambda r: len(r.losses))
    per_ramp = np.array([r.losses[:n] for r in runs], dtype=float).reshape(len(runs), n)
    return np.asarray(runs[0].lrs[:n], dtype=float), per_ramp.mean(axis=0), per_ramp, shortest.stopped


def find_lr(model: nn.Module, optimizer: torch.optim.Optimizer,
            loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None, loader: Iterable, *,
            start_lr: float = DEFAULT_START_LR, end_lr: float = DEFAULT_END_LR, num_steps: int = DEFAULT_NUM_STEPS,
            diverge_factor: float = DIVERGE_FACTOR, cycle: bool = True, progress: bool = False,
            ramps: int = DEFAULT_RAMPS, batch_loss: Callable[[nn.Module, object], torch.Tensor] | None = None) -> RangeTestResult:
    """Run an exponential LR ramp from ``start_lr`` to ``end_lr`` over ``num_steps`` steps on
    a copy of ``model`` and ``optimizer``; return the curve and every rule's suggestion.

    ``loader`` is any iterable of ``(inputs, targets)``; ``loss_fn(model(inputs), targets)``
    is the loss (or ``batch_loss(model, batch)`` for any other batch structure, as the sweep
    Task's ``loss_fn``). It is restarted when exhausted (``cycle=True``). Parameter groups
    keep their LR ratios: the group with the largest LR follows the ramp. The model is put
    in train mode for the test (the copy only).

    ``ramps`` > 1 runs that many ramps, each from a fresh copy of the starting state and
    continuing the loader (a shuffling loader gives each a different data order), and
    reports their per-step mean loss: batch noise falls as 1/sqrt(ramps), at ``ramps`` times
    the cost.
    """
    if batch_loss is None:
        if loss_fn is None:
            raise ValueError("give loss_fn (batches are (inputs, targets)) or batch_loss")

        def batch_loss(m: nn.Module, batch) -> torch.Tensor:
            try:
                inputs, targets = batch
            except (TypeError, ValueError):
                raise ValueError("each batch of the loader must be a pair (inputs, targets); "
                                 "for other batch structures pass batch_loss=") from None
            return loss_fn(m(inputs), targets)
    if not (start_lr > 0 and end_lr > start_lr):
        raise ValueError(f"The 'start_lr' and 'end_lr' parameters of find_lr must satisfy 0 < start_lr < end_lr. "
                         f"Got {start_lr!r} and {end_lr!r} instead.")
    if num_steps < 2:
        raise ValueError(f"The 'num_steps' parameter of find_lr must be >= 2. Got {num_steps!r} instead.")
    if ramps < 1:
        raise ValueError(f"The 'ramps' parameter of find_lr must be >= 1. Got {ramps!r} instead.")
    rng = torch.get_rng_state()
    bar = _progress(num_steps * ramps, progress)
    source = _Batches(loader, cycle)
    runs: list[_Ramp] = []
    try:
        for _ in range(ramps):
            clone = copy.deepcopy(model)
            opt = _copy_optimizer(optimizer, model, clone)
            clone.train()
            runs.append(_ramp(clone, opt, batch_loss, source, start_lr, end_lr, num_steps, diverge_factor, bar))
    finally:
        if bar is not None:
            bar[0].stop()
        torch.set_rng_state(rng)
    lr_arr, loss_arr, per_ramp, stopped = _average(runs)
    notes = []
    if len(lr_arr) < 20:
        notes.append(f"only {len(lr_arr)} steps before the loop stopped ({stopped}); suggestions are unreliable: "
                     "lower start_lr or end_lr")
    return RangeTestResult(lrs=lr_arr, losses=loss_arr, smoothed=ema_debiased(loss_arr), stopped=stopped,
                           suggestions=suggest_all(lr_arr, loss_arr, num_steps), num_steps=num_steps, notes=notes,
                           ramp_losses=per_ramp)
