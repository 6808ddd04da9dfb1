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
           "DIVERGE_FACTOR"]

#: Ramp start and end (fastai's and torch-lr-finder's defaults, 1e-7 to 10: eight decades
#: cover every optimizer's useful range).
DEFAULT_START_LR: float = 1e-7
DEFAULT_END_LR: float = 10.0
#: Ramp length in optimizer steps (fastai's and Lightning's default, 100).
DEFAULT_NUM_STEPS: int = 100
#: Early stop when the smoothed loss exceeds this multiple of its best value (fastai's
#: ``stop_div`` and Lightning's ``early_stop_threshold`` use 4; torch-lr-finder 5).
DIVERGE_FACTOR: float = 4.0


@dataclass
class RangeTestResult:
    """What the range test measured, and every rule's suggestion on it."""

    #: the LR the optimizer applied at each step (first param group, read before ``step()``)
    lrs: np.ndarray
    #: the raw training loss at each step (before that step's update)
    losses: np.ndarray
    #: the loop's debiased-EMA loss (beta 0.98), used for the early stop
    smoothed: np.ndarray
    suggestions: dict[str, Suggestion]
    #: why the loop ended: "completed", "diverged" (smoothed loss > DIVERGE_FACTOR x best),
    #: "nonfinite" (NaN/inf loss) or "exhausted" (the loader ran out with cycle=False)
    stopped: str
    num_steps: int
    notes: list[str] = field(default_factory=list)

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


def find_lr(model: nn.Module, optimizer: torch.optim.Optimizer,
            loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None, loader: Iterable, *,
            start_lr: float = DEFAULT_START_LR, end_lr: float = DEFAULT_END_LR, num_steps: int = DEFAULT_NUM_STEPS,
            diverge_factor: float = DIVERGE_FACTOR, cycle: bool = True, progress: bool = False,
            batch_loss: Callable[[nn.Module, object], torch.Tensor] | None = None) -> RangeTestResult:
    """Run an exponential LR ramp from ``start_lr`` to ``end_lr`` over ``num_steps`` steps on
    a copy of ``model`` and ``optimizer``; return the curve and every rule's suggestion.

    ``loader`` is any iterable of ``(inputs, targets)``; ``loss_fn(model(inputs), targets)``
    is the loss (or ``batch_loss(model, batch)`` for any other batch structure, as the sweep
    Task's ``loss_fn``). It is restarted when exhausted (``cycle=True``). Parameter groups
    keep their LR ratios: the group with the largest LR follows the ramp. The model is put
    in train mode for the test (the copy only).
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
    rng = torch.get_rng_state()
    clone = copy.deepcopy(model)
    opt = _copy_optimizer(optimizer, model, clone)
    clone.train()
    base = [float(g["lr"]) for g in opt.param_groups]
    top = max(base) if max(base) > 0 else 1.0
    ratios = [b / top if max(base) > 0 else 1.0 for b in base]
    lrs, losses = [], []
    stopped, best = "completed", math.inf
    avg, beta = 0.0, 0.98
    bar = _progress(num_steps, progress)
    it = iter(loader)
    try:
        for step in range(num_steps):
            lr = start_lr * (end_lr / start_lr) ** (step / (num_steps - 1))
            for g, r in zip(opt.param_groups, ratios):
                g["lr"] = lr * r
            try:
                batch = next(it)
            except StopIteration:
                if not cycle:
                    stopped = "exhausted"
                    break
                it = iter(loader)
                try:
                    batch = next(it)
                except StopIteration:
                    raise ValueError("the loader yields no batches") from None
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
    finally:
        if bar is not None:
            bar[0].stop()
        torch.set_rng_state(rng)
    lr_arr, loss_arr = np.asarray(lrs), np.asarray(losses)
    notes = []
    if len(lrs) < 20:
        notes.append(f"only {len(lrs)} steps before the loop stopped ({stopped}); suggestions are unreliable: "
                     "lower start_lr or end_lr")
    return RangeTestResult(lrs=lr_arr, losses=loss_arr, smoothed=ema_debiased(loss_arr), stopped=stopped,
                           suggestions=suggest_all(lr_arr, loss_arr, num_steps), num_steps=num_steps, notes=notes)
