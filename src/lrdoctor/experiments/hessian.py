"""Hessian-vector products of a model's loss on one batch, on flat parameter vectors.

Two ways to get ``H v`` (both exact up to floating point):

* ``"double_backward"`` (default): build the gradient graph once
  (``create_graph=True``) and differentiate ``<grad, v>`` once per product (Pearlmutter
  1994). One product costs about one backward pass through a graph twice the size, and
  the forward pass is paid once per batch, not per product.
* ``"forward_over_reverse"``: ``torch.func.jvp`` over ``torch.func.grad``, the
  torch.func recipe. Needs no retained graph (lower memory), but redoes the forward and
  backward pass in every product; measured 1.5-3x slower on CPU MLPs in
  bench/sharpness.py, hence not the default.

The model runs through ``torch.func.functional_call`` on detached copies of its
parameters and cloned buffers, so neither the model's parameters, its ``.grad`` fields nor
its BatchNorm running statistics are touched.
"""

from __future__ import annotations

from typing import Callable, Literal, Sequence

import torch
from torch import nn

__all__ = ["HessianOperator", "HVPMethod", "trainable_parameters"]

HVPMethod = Literal["double_backward", "forward_over_reverse"]
_METHODS: tuple[str, ...] = ("double_backward", "forward_over_reverse")


def trainable_parameters(model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> list[nn.Parameter]:
    """The parameters whose curvature matters: the optimizer's (in its order), else the
    model's parameters that require a gradient."""
    if optimizer is not None:
        ids = {id(p) for p in model.parameters()}
        params = [p for g in optimizer.param_groups for p in g["params"] if id(p) in ids]
        if params:
            return params
    return [p for p in model.parameters() if p.requires_grad]


class _BatchLoss(nn.Module):
    """``forward(batch) = fn(model, batch)``: lets functional_call swap the parameters of
    ``model`` underneath any loss code (the sweep Task's ``loss_fn(model, batch)``)."""

    def __init__(self, model: nn.Module, fn: Callable[[nn.Module, object], torch.Tensor]) -> None:
        super().__init__()
        self.model = model
        self.fn = fn

    def forward(self, batch):  # noqa: D401
        return self.fn(self.model, batch)


class HessianOperator:
    """``v -> H v`` for ``loss_fn(model(inputs), targets)`` over ``params``, on flat vectors.

    ``hvps`` counts the products computed so far (the cost unit of every sharpness figure).
    """

    def __init__(self, model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None,
                 batch, params: Sequence[nn.Parameter] | None = None,
                 method: HVPMethod = "double_backward",
                 batch_loss: Callable[[nn.Module, object], torch.Tensor] | None = None) -> None:
        """``loss_fn(model(inputs), targets)`` with ``batch = (inputs, targets)``; or, instead
        of ``loss_fn``, ``batch_loss(model, batch)`` for any batch structure."""
        if method not in _METHODS:
            raise ValueError(f"The 'method' parameter of HessianOperator must be one of {_METHODS}. Got {method!r} instead.")
        if batch_loss is None:
            if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                raise ValueError("The 'batch' parameter must be a pair (inputs, targets). "
                                 f"Got {type(batch).__name__} instead.")
            if loss_fn is None:
                raise ValueError("give loss_fn (with batch = (inputs, targets)) or batch_loss")
            batch_loss = lambda m, b: loss_fn(m(b[0]), b[1])  # noqa: E731
        self.model, self.method, self.batch = model, method, batch
        self._wrapped = _BatchLoss(model, batch_loss)
        params = list(params) if params is not None else trainable_parameters(model)
        if not params:
            raise ValueError("the model has no trainable parameters")
        chosen = {id(p) for p in params}
        name_of = {id(p): "model." + n for n, p in model.named_parameters()}
        missing = [i for i, p in enumerate(params) if id(p) not in name_of]
        if missing:
            raise ValueError(f"parameters {missing} given to HessianOperator are not parameters of the model")
        self.names = [name_of[id(p)] for p in params]
        self.shapes = [p.shape for p in params]
        self.sizes = [p.numel() for p in params]
        self.n = sum(self.sizes)
        self.dtype = params[0].dtype
        self.device = params[0].device
        self._primals = tuple(p.detach() for p in params)
        self._fixed = {"model." + n: p.detach() for n, p in model.named_parameters() if id(p) not in chosen}
        self._buffers = {"model." + n: b.detach().clone() for n, b in model.named_buffers()}
        self.hvps = 0
        self.loss: float = float("nan")
        self._grads: tuple[torch.Tensor, ...] | None = None
        self._leaves: tuple[torch.Tensor, ...] | None = None

    # -- flat <-> per-parameter ----------------------------------------------------------
    def flatten(self, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat([t.reshape(-1) for t in tensors])

    def unflatten(self, flat: torch.Tensor) -> list[torch.Tensor]:
        return [c.view(s) for c, s in zip(torch.split(flat, self.sizes), self.shapes)]

    def parameters_flat(self) -> torch.Tensor:
        return self.flatten(self._primals)

    # -- the loss as a function of the chosen parameters -----------------------------------
    def _loss_of(self, ps: Sequence[torch.Tensor]) -> torch.Tensor:
        state = dict(self._fixed)
        state.update(zip(self.names, ps))
        state.update(self._buffers)
        return torch.func.functional_call(self._wrapped, state, (self.batch,))

    def gradient(self) -> torch.Tensor:
        """The flat gradient of the loss on this batch (no Hessian product counted)."""
        self._ensure_graph()
        return self.flatten([g.detach() for g in self._grads])  # type: ignore[union-attr]

    def _ensure_graph(self) -> None:
        if self._grads is None:
            with torch.enable_grad():
                leaves = tuple(p.clone().requires_grad_(True) for p in self._primals)
                loss = self._loss_of(leaves)
                grads = torch.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
            self._leaves = leaves
            self._grads = tuple(torch.zeros_like(p) if g is None else g for p, g in zip(leaves, grads))
            self.loss = float(loss.detach())

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        """``H v`` for a flat ``v`` (any float dtype; computed in the parameters' dtype)."""
        vs = self.unflatten(v.to(dtype=self.dtype, device=self.device))
        self.hvps += 1
        if self.method == "double_backward":
            self._ensure_graph()
            with torch.enable_grad():
                dots = [(g * t).sum() for g, t in zip(self._grads, vs) if g.requires_grad]  # type: ignore[union-attr]
                if not dots:  # the loss is linear in these parameters
                    return torch.zeros(self.n, dtype=self.dtype, device=self.device)
                hv = torch.autograd.grad(torch.stack(dots).sum(), self._leaves, retain_graph=True, allow_unused=True)
            hv = [torch.zeros_like(p) if h is None else h for p, h in zip(self._primals, hv)]
            return self.flatten(hv).detach()
        grad_fn = torch.func.grad(lambda ps: self._loss_of(ps))
        _, hv = torch.func.jvp(grad_fn, (self._primals,), (tuple(vs),))
        return self.flatten(hv).detach()
