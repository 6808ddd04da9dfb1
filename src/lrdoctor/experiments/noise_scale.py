"""The gradient noise scale (McCandlish, Kaplan, Amodei et al. 2018, "An empirical model of
large-batch training", appendix A): how large a batch is still useful, and how the LR
should scale with it.

``B_simple = tr(Sigma) / |G|^2`` where ``G`` is the true gradient and ``Sigma`` the
per-example gradient covariance. From the squared norms of gradients on batches of two sizes
``b < B`` (``E|G_b|^2 = |G|^2 + tr(Sigma)/b``), the unbiased estimators are

    |G|^2    ~ (B |G_B|^2 - b |G_b|^2) / (B - b)
    tr(Sigma) ~ (|G_b|^2 - |G_B|^2) / (1/b - 1/B)

Each is averaged over draws *before* dividing: a single draw's ``|G|^2`` estimate is
often negative when the noise dominates, and the average of per-draw ratios is then
meaningless (negative or huge). Here every draw is one loader batch of size ``B``; its
``B/b`` disjoint chunks of size ``b`` give ``|G_b|^2`` (averaged over the chunks, which
lowers the variance without bias).

What it implies (McCandlish et al. 2018, sec. 2.2, with ``B_noise ~ B_simple``): training
to a given loss needs ``S = S_min (1 + B_noise/B)`` steps and ``E = E_min (1 + B/B_noise)``
examples, so batches much above ``B_noise`` buy little speed for a lot of compute; the
optimal SGD LR is ``lr_max / (1 + B_noise/B)``: linear in ``B`` for ``B << B_noise``,
saturating above it (:meth:`NoiseScaleResult.lr_scale`). The loss must be a *mean* over
the batch (``reduction="mean"``, torch's default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from lrdoctor.experiments.hessian import trainable_parameters

__all__ = ["NoiseScaleResult", "noise_scale", "exact_noise_scale", "DEFAULT_DRAWS", "DEFAULT_CHUNKS"]

#: Loader batches used by default. The estimate's relative standard error falls as
#: 1/sqrt(draws); 20 draws keep it near 10-20% for B around B_noise (measured in
#: tests/test_noise_scale.py), enough to place the batch size within a factor ~1.5.
DEFAULT_DRAWS: int = 20
#: Small-batch size as a fraction of the loader batch: ``b = B / DEFAULT_CHUNKS``. A ratio
#: of 8 separates the two expectations well (their difference is tr(Sigma)(1/b - 1/B)).
DEFAULT_CHUNKS: int = 8


@dataclass
class NoiseScaleResult:
    """The noise scale and the estimates it is the ratio of."""

    b_simple: float
    #: averaged unbiased estimate of |G|^2
    grad_sq: float
    #: averaged unbiased estimate of tr(Sigma)
    trace_sigma: float
    small_batch: int
    big_batch: int
    draws: int
    #: per-draw |G_b|^2 and |G_B|^2, for a bootstrap or a look at the noise
    small_sq: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    big_sq: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    notes: list[str] = field(default_factory=list)

    def lr_scale(self, from_batch: int, to_batch: int) -> float:
        """Factor to multiply the LR by when the batch goes from ``from_batch`` to ``to_batch``:
        ``(1 + B_noise/from) / (1 + B_noise/to)`` (McCandlish et al. eq. 2.6 for SGD)."""
        b = self.b_simple
        return (1 + b / from_batch) / (1 + b / to_batch)

    def steps_factor(self, batch: int) -> float:
        """``S / S_min = 1 + B_noise/B``: how many more steps than the minimum a batch needs."""
        return 1 + self.b_simple / batch

    def examples_factor(self, batch: int) -> float:
        """``E / E_min = 1 + B/B_noise``: how many more examples than the minimum a batch needs."""
        return 1 + batch / self.b_simple

    def summary(self, batch: int | None = None) -> str:
        """One paragraph for a person: the noise scale and what it means for ``batch``."""
        if not np.isfinite(self.b_simple) or self.b_simple <= 0:
            return (f"B_simple could not be estimated (|G|^2 estimate {self.grad_sq:.3g} <= 0: the gradient is "
                    "pure noise at these batch sizes); use more draws or a larger loader batch")
        txt = f"B_simple = {self.b_simple:.4g} (tr Sigma {self.trace_sigma:.3g} / |G|^2 {self.grad_sq:.3g}, {self.draws} draws)"
        if batch:
            txt += (f"; at batch {batch}: {self.steps_factor(batch):.2f}x the minimum steps, "
                    f"{self.examples_factor(batch):.2f}x the minimum examples. ")
            if batch < self.b_simple / 2:
                txt += "The batch is well below the noise scale: doubling it nearly halves the steps; scale the LR about linearly."
            elif batch > 2 * self.b_simple:
                txt += "The batch is above the noise scale: larger batches mostly waste compute; keep the LR."
            else:
                txt += "The batch is near the noise scale: the compute/time trade-off is balanced."
        return txt


def _grad_sq_fn(model: nn.Module, loss_fn, params: Sequence[nn.Parameter]):
    names = {id(p): n for n, p in model.named_parameters()}
    chosen = [names[id(p)] for p in params]
    fixed = {n: p.detach() for n, p in model.named_parameters() if n not in set(chosen)}

    def grad_flat(x, y) -> torch.Tensor:
        leaves = [p.detach().requires_grad_(True) for p in params]
        state = dict(fixed)
        state.update(zip(chosen, leaves))
        state.update({n: b.detach().clone() for n, b in model.named_buffers()})
        with torch.enable_grad():
            loss = loss_fn(torch.func.functional_call(model, state, (x,)), y)
            gs = torch.autograd.grad(loss, leaves, allow_unused=True)
        return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(leaves, gs)]).double()

    return grad_flat


def noise_scale(model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], loader: Iterable, *,
                draws: int = DEFAULT_DRAWS, chunks: int = DEFAULT_CHUNKS,
                optimizer: torch.optim.Optimizer | None = None) -> NoiseScaleResult:
    """Estimate ``B_simple`` from ``draws`` batches of ``loader`` (each of size ``B``, split
    into ``chunks`` pieces of size ``b = B // chunks``). ``loader`` yields ``(inputs, targets)``
    with the batch along dim 0; it is restarted if it runs out. Neither the model's
    parameters, ``.grad`` nor buffers are modified."""
    if chunks < 2:
        raise ValueError(f"The 'chunks' parameter of noise_scale must be >= 2. Got {chunks!r} instead.")
    if draws < 1:
        raise ValueError(f"The 'draws' parameter of noise_scale must be >= 1. Got {draws!r} instead.")
    params = trainable_parameters(model, optimizer)
    grad = _grad_sq_fn(model, loss_fn, params)
    small, big = [], []
    b_small = b_big = None
    it = iter(loader)
    for _ in range(draws):
        try:
            x, y = next(it)
        except StopIteration:
            it = iter(loader)
            x, y = next(it)
        B = int(x.shape[0])
        b = B // chunks
        if b < 1:
            raise ValueError(f"a loader batch of {B} cannot be split into {chunks} chunks")
        if b_big is None:
            b_small, b_big = b, b * chunks
        if b * chunks != b_big:  # a short last batch: skip it, the two sizes must stay fixed
            continue
        x, y = x[: b_big], y[: b_big]
        big.append(float(grad(x, y).pow(2).sum()))
        small.append(float(np.mean([float(grad(x[i * b:(i + 1) * b], y[i * b:(i + 1) * b]).pow(2).sum())
                                    for i in range(chunks)])))
    s_sq, b_sq = np.asarray(small), np.asarray(big)
    gs, gb = float(s_sq.mean()), float(b_sq.mean())
    g2 = (b_big * gb - b_small * gs) / (b_big - b_small)
    tr = (gs - gb) / (1.0 / b_small - 1.0 / b_big)
    notes = []
    if g2 <= 0:
        notes.append("the |G|^2 estimate is not positive: the gradient is dominated by noise at these batch sizes")
    return NoiseScaleResult(b_simple=tr / g2 if g2 > 0 else float("inf"), grad_sq=g2, trace_sigma=tr,
                            small_batch=int(b_small), big_batch=int(b_big), draws=len(big), small_sq=s_sq,
                            big_sq=b_sq, notes=notes)


def exact_noise_scale(model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                      inputs: torch.Tensor, targets: torch.Tensor, *, chunk: int = 256) -> tuple[float, float, float]:
    """``(B_simple, |G|^2, tr Sigma)`` over a whole (small) dataset from per-example gradients
    (``torch.func.vmap`` of ``grad``); ``Sigma`` is the population covariance over the
    examples. ``loss_fn`` must accept a single example with a leading batch dimension of 1."""
    params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    buffers = {n: b.detach() for n, b in model.named_buffers()}

    def one(ps, x, y):
        return loss_fn(torch.func.functional_call(model, (ps, buffers), (x.unsqueeze(0),)), y.unsqueeze(0))

    per = torch.func.vmap(torch.func.grad(one), in_dims=(None, 0, 0))
    n = inputs.shape[0]
    total = None
    sq_sum = 0.0
    for i in range(0, n, chunk):
        g = per(params, inputs[i:i + chunk], targets[i:i + chunk])
        flat = torch.cat([v.reshape(v.shape[0], -1) for v in g.values()], 1).double()
        total = flat.sum(0) if total is None else total + flat.sum(0)
        sq_sum += float(flat.pow(2).sum())
    G = total / n
    g2 = float(G.pow(2).sum())
    tr = sq_sum / n - g2  # E|g_i|^2 - |G|^2 = tr of the population covariance
    return tr / g2, g2, tr
