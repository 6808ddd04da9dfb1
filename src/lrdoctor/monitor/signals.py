"""Quantities gathered inside the training loop, from hooks on the optimizer (Cockpit's split:
quantities are computed here; detectors and reports read them later).

Everything stays on the device as tensors until the Monitor flushes a batch of steps (one
host sync per flush, not per step). Expensive quantities declare when they run
(:class:`Every`), and none runs every step by default.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["ClipCapture", "Every", "LogSpaced", "clip_capture", "grad_norm", "layer_grad_norms"]


@dataclass(frozen=True)
class Every:
    """Due at steps ``start, start + k, start + 2k, ...`` (``k = 0``: never)."""

    k: int
    start: int = 0

    def __call__(self, step: int) -> bool:
        return self.k > 0 and step >= self.start and (step - self.start) % self.k == 0


@dataclass(frozen=True)
class LogSpaced:
    """Due at ~``per_decade`` log-spaced steps per decade (dense early, sparse late), and at
    least every ``max_gap`` steps."""

    per_decade: int = 10
    max_gap: int = 1000

    def __call__(self, step: int) -> bool:
        if step < self.per_decade:
            return True
        if step % self.max_gap == 0:
            return True
        a = math.floor(math.log10(step) * self.per_decade)
        b = math.floor(math.log10(step + 1) * self.per_decade)
        return b > a


def grad_norm(params: list[torch.Tensor]) -> torch.Tensor | None:
    """Total L2 norm of the gradients in one fused pass (``torch._foreach_norm``), on the device."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return None
    if hasattr(torch, "_foreach_norm"):
        norms = torch._foreach_norm(grads)
        return torch.linalg.vector_norm(torch.stack([n.to(norms[0].device) for n in norms]))
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def layer_grad_norms(named: list[tuple[str, torch.Tensor]], top: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]] | None:
    """(total norm, {layer: norm} of the ``top`` largest layers) from ONE fused pass: the
    per-parameter norms give both. A layer is a parameter's name without its last part
    (``encoder.layers.3.linear1.weight`` -> ``encoder.layers.3.linear1``)."""
    with_grad = [(n, p.grad) for n, p in named if p.grad is not None]
    if not with_grad:
        return None
    norms = torch._foreach_norm([g for _, g in with_grad])
    sq = torch.stack([x.to(norms[0].device).float() for x in norms]) ** 2
    layers: dict[str, list[int]] = {}
    for i, (n, _) in enumerate(with_grad):
        layers.setdefault(n.rsplit(".", 1)[0] if "." in n else n, []).append(i)
    names = list(layers)
    per_layer = torch.stack([sq[idx].sum() for idx in layers.values()]).sqrt()
    k = min(top, len(names))
    vals, idx = torch.topk(per_layer, k)
    # topk indices are needed on the host to name the layers: a sync, on these scheduled steps only
    return sq.sum().sqrt(), {f"grad_norm/{names[i]}": v for i, v in zip(idx.tolist(), vals)}


class ClipCapture:
    """Records the total norm ``clip_grad_norm_`` returns (the pre-clip norm), so a Monitor
    reuses it instead of a second pass over the gradients.

    Each capture is tied to the parameters that were clipped: a listener receives the ids of
    those parameters and keeps the norm only when they cover its own optimizer's parameters.
    With two optimizers (a GAN whose discriminator alone is clipped) the generator's Monitor
    therefore never logs the discriminator's norm.

    Listeners are held weakly (:class:`weakref.WeakMethod`): a Monitor nobody references is
    collected, and its listener disappears with it. While at least one listener is alive,
    ``torch.nn.utils.clip_grad_norm_`` is wrapped; code that imported the function before the
    Monitor existed keeps the original, and the Monitor then computes the norm itself.
    """

    def __init__(self) -> None:
        self.listeners: list[weakref.WeakMethod] = []
        self._orig: dict[str, Any] = {}

    def add(self, fn: Callable[[torch.Tensor, float, frozenset[int]], None]) -> None:
        """Register a bound method ``fn(total_norm, max_norm, clipped_param_ids)``."""
        self._prune()
        if not self.listeners:
            self._install()
        self.listeners.append(weakref.WeakMethod(fn))

    def remove(self, fn: Callable[..., None] | None = None) -> None:
        """Drop ``fn`` (and every listener whose owner is gone); unwrap when none is left."""
        self.listeners = [w for w in self.listeners if w() is not None and (fn is None or w() != fn)]
        if not self.listeners:
            self._uninstall()

    def _prune(self) -> None:
        self.listeners = [w for w in self.listeners if w() is not None]

    def notify(self, total: torch.Tensor, max_norm: float, ids: frozenset[int]) -> None:
        for w in list(self.listeners):
            fn = w()
            if fn is None:
                continue
            try:
                fn(total, max_norm, ids)
            except Exception:  # a listener must never break the user's clipping
                pass

    def _install(self) -> None:
        import torch.nn.utils as U
        import torch.nn.utils.clip_grad as CG

        orig = CG.clip_grad_norm_
        self._orig = {"utils": U.clip_grad_norm_, "clip_grad": orig}
        capture = self

        def wrapped(parameters, max_norm, *args, **kwargs):
            if isinstance(parameters, torch.Tensor):
                parameters = [parameters]
            else:
                parameters = list(parameters)  # a generator is consumed once: keep it for the ids
            total = orig(parameters, max_norm, *args, **kwargs)
            if capture.listeners:
                capture.notify(total, float(max_norm), frozenset(id(p) for p in parameters))
            return total

        wrapped.__wrapped__ = orig  # type: ignore[attr-defined]
        wrapped.__doc__ = orig.__doc__
        U.clip_grad_norm_ = wrapped
        CG.clip_grad_norm_ = wrapped

    def _uninstall(self) -> None:
        if not self._orig:
            return
        import torch.nn.utils as U
        import torch.nn.utils.clip_grad as CG

        U.clip_grad_norm_ = self._orig["utils"]
        CG.clip_grad_norm_ = self._orig["clip_grad"]
        self._orig = {}


#: The process-wide capture all Monitors share.
clip_capture = ClipCapture()
