"""Stability bounds of the common update rules on a quadratic, and Adam's preconditioner.

On a quadratic with curvature ``lam`` along a direction, each rule below is a linear
recursion whose iterates stay bounded iff ``lr * lam < c`` for a constant ``c`` of the
rule; the maximal stable LR is therefore ``c / lam``:

=====================================  ===============================  ==============
rule (torch)                           recursion                        ``c``
=====================================  ===============================  ==============
SGD, no momentum (GD)                  ``w -= lr g``                    ``2``
SGD heavy ball, momentum mu, damp. d   ``b = mu b + (1-d) g; w -= lr b`` ``(2+2mu)/(1-d)``
SGD Nesterov, momentum mu              ``w -= lr (g + mu b)``            ``(2+2mu)/(1+2mu)``
Adam/AdamW (preconditioned)            ``m = b1 m + (1-b1) g;``          ``(2+2b1)/(1-b1)``
                                       ``w -= lr P^-1 m``
=====================================  ===============================  ==============

The GD and EMA-momentum constants are those of Cohen et al. 2021 ("Gradient descent on
neural networks typically occurs at the edge of stability", sec. 2 and appendix) and
Cohen et al. 2022 ("Adaptive gradient methods at the edge of stability", eq. 2). The
heavy-ball constant with torch's un-normalised buffer (``d = 0``) is ``2+2mu`` and the
Nesterov constant follows from the characteristic polynomial
``z^2 - (1+mu)(1-lr lam) z + mu(1 - lr lam)`` evaluated at ``z = -1``.

For Adam the sharpness that matters is that of the *preconditioned* Hessian
``P^-1 H`` with (Cohen et al. 2022, sec. 2)
``P = (1 - b1^t) * diag(sqrt(v_t / (1 - b2^t)) + eps)``, i.e. exactly the denominator
torch's Adam divides the raw first moment by. ``P^-1 H`` has the eigenvalues of the
symmetric ``P^-1/2 H P^-1/2``, which is what Lanczos is run on. Decoupled weight decay
(AdamW) and SGD's L2 ``weight_decay`` are not modelled (they shift curvature by at most
``weight_decay``, usually negligible next to the sharpness).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import torch

__all__ = ["UpdateRule", "describe_optimizer", "stability_constant", "max_stable_lr", "adam_preconditioner",
           "adam_steps", "preconditioner_settled"]

RuleKind = Literal["gd", "heavy_ball", "nesterov", "adam", "unmodelled"]


@dataclass(frozen=True)
class UpdateRule:
    """What the stability bound needs to know about an optimizer."""

    kind: RuleKind
    lr: float | None
    #: SGD momentum, or Adam's beta1
    momentum: float = 0.0
    dampening: float = 0.0
    #: the optimizer's class name, for messages
    name: str = "GD"


def describe_optimizer(optimizer: torch.optim.Optimizer | None, lr: float | None = None) -> UpdateRule:
    """The :class:`UpdateRule` of a torch optimizer (``None`` means plain GD at ``lr``).

    All parameter groups must share lr and momentum; otherwise there is no single bound and
    a ``ValueError`` says which hyperparameter differs.
    """
    if optimizer is None:
        return UpdateRule("gd", lr, name="GD")
    name = type(optimizer).__name__
    groups = optimizer.param_groups
    for key in ("lr", "momentum", "betas", "nesterov", "dampening"):
        vals = {repr(g.get(key)) for g in groups}
        if len(vals) > 1:
            raise ValueError(f"the optimizer's parameter groups use different {key!r} values ({', '.join(sorted(vals))}); "
                             "the stability bound needs one value: pass a single group")
    g = groups[0]
    glr = float(g["lr"]) if lr is None else float(lr)
    if isinstance(optimizer, torch.optim.SGD):
        mu = float(g.get("momentum", 0.0))
        if mu == 0.0:
            return UpdateRule("gd", glr, name=name)
        if g.get("nesterov", False):
            return UpdateRule("nesterov", glr, momentum=mu, name=name)
        return UpdateRule("heavy_ball", glr, momentum=mu, dampening=float(g.get("dampening", 0.0)), name=name)
    if isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW)):
        return UpdateRule("adam", glr, momentum=float(g["betas"][0]), name=name)
    return UpdateRule("unmodelled", glr, name=name)


def stability_constant(rule: UpdateRule) -> float | None:
    """``c`` such that the rule is stable on curvature ``lam`` iff ``lr * lam < c`` (table above)."""
    mu, d = rule.momentum, rule.dampening
    if rule.kind == "gd":
        return 2.0
    if rule.kind == "heavy_ball":
        return (2.0 + 2.0 * mu) / (1.0 - d) if d < 1.0 else None
    if rule.kind == "nesterov":
        return (2.0 + 2.0 * mu) / (1.0 + 2.0 * mu)
    if rule.kind == "adam":
        return (2.0 + 2.0 * mu) / (1.0 - mu)
    return None


def max_stable_lr(lam: float, rule: UpdateRule) -> float | None:
    """``c / lam``: the largest LR for which the rule is stable along the top eigendirection.

    ``lam`` is the raw sharpness for SGD rules and the preconditioned one for Adam.
    ``None`` when the rule is not modelled or ``lam <= 0`` (no bound from curvature)."""
    c = stability_constant(rule)
    if c is None or not lam > 0:
        return None
    return c / lam


def adam_preconditioner(optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor]) -> list[torch.Tensor] | None:
    """Adam's diagonal ``P = (1 - b1^t) (sqrt(v_t / (1 - b2^t)) + eps)`` per parameter.

    ``None`` before the first step (no second-moment estimate yet). With ``amsgrad`` the
    running maximum of ``v`` is used, as torch's update does."""
    out: list[torch.Tensor] = []
    group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    for p in params:
        st = optimizer.state.get(p, {})
        g = group_of[id(p)]
        if "exp_avg_sq" not in st:
            return None
        b1, b2 = g["betas"]
        t = float(st["step"])
        v = st["max_exp_avg_sq"] if g.get("amsgrad", False) and "max_exp_avg_sq" in st else st["exp_avg_sq"]
        out.append((1.0 - b1 ** t) * ((v / (1.0 - b2 ** t)).sqrt() + g["eps"]))
    return out


def adam_steps(optimizer: torch.optim.Optimizer) -> int | None:
    """How many steps an Adam-type optimizer has taken (its state's ``step``); None without state."""
    for g in optimizer.param_groups:
        for p in g["params"]:
            st = optimizer.state.get(p, {})
            if "step" in st:
                return int(float(st["step"]))
    return None


def preconditioner_settled(optimizer: torch.optim.Optimizer | None, rule: UpdateRule) -> bool:
    """Whether the bound's frozen-preconditioner model applies yet: always for SGD rules; for
    Adam once it has taken ``1/(1 - beta1)`` steps (10 at beta1 = 0.9).

    The constant ``(2+2b1)/(1-b1)`` comes from the EMA-momentum recursion with a *fixed*
    preconditioner. After ``t`` steps the bias-corrected ``v`` is an average of ``t`` squared
    gradients and moves by ~1/t per step; at ``t = 1`` it is one gradient squared, so a
    coordinate whose first gradient is near 0 gets a near-infinite ``1/P`` and the measured
    preconditioned sharpness is huge (measured: 2.8x the bound after step 1 of a healthy
    AdamW run on digits, 0.11x after step 2), while Adam's actual first step is ``lr * sign(g)``.
    Within the momentum horizon ``1/(1 - b1)`` the model is not valid."""
    if rule.kind != "adam" or optimizer is None:
        return True
    t = adam_steps(optimizer)
    return t is not None and t >= 1.0 / (1.0 - rule.momentum)
