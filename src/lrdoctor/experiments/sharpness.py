"""Sharpness: the top Hessian eigenvalue, the largest stable LR, and the finding when the LR
exceeds it.

>>> res = lrdoctor.sharpness(model, loss_fn, (x, y), optimizer=opt)   # doctest: +SKIP
>>> res.lambda_max, res.max_stable_lr                                   # doctest: +SKIP

``lambda_max`` is the largest eigenvalue of the Hessian of ``loss_fn(model(x), y)`` with
respect to the trainable parameters, computed by Lanczos (:mod:`.lanczos`) on
Hessian-vector products (:mod:`.hessian`). With an Adam/AdamW optimizer that has taken a
step, ``preconditioned_lambda_max`` is the top eigenvalue of ``P^-1 H`` with Adam's own
preconditioner, and the bound uses it (:mod:`.stability`).

The bound applies to the loss actually differentiated: ``torch.nn.MSELoss()`` averages
over outputs as well as examples, so with ``K`` outputs its sharpness is ``1/(2K)`` of
that of ``0.5 * ||f - y||^2`` summed over outputs (1/5 with 10 outputs); see docs/sharpness.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn

from lrdoctor.experiments.hessian import HessianOperator, HVPMethod, trainable_parameters
from lrdoctor.experiments.lanczos import DEFAULT_MAX_ITER, DEFAULT_TOL, lanczos_top
from lrdoctor.experiments.stability import (UpdateRule, adam_preconditioner, describe_optimizer,
                                            max_stable_lr, stability_constant)

__all__ = ["SharpnessResult", "sharpness", "lr_beyond_stability_finding",
           "EDGE_OF_STABILITY_BAND", "FAR_BEYOND_RATIO"]

#: LR / max-stable-LR up to which exceeding the bound is reported as *info* only: full-batch
#: GD self-stabilises at the edge of stability with sharpness hovering at 0.97-1.08 of
#: ``2/lr`` (Cohen et al. 2021, fig. 1 and sec. 3), and training still makes progress there.
EDGE_OF_STABILITY_BAND: float = 1.1
#: LR / max-stable-LR from which the finding is an *error*: at twice the bound GD's
#: multiplier along the top direction is ``|1 - lr*lam| >= 3``, the loss grows threefold per
#: step along it unless the sharpness itself collapses (catapult regime, Lewkowycz et al.
#: 2020, who find divergence beyond ~4/lam for wide nets; 2x is the conservative end).
FAR_BEYOND_RATIO: float = 2.0


@dataclass
class SharpnessResult:
    """One sharpness measurement. ``hvps`` is its cost in Hessian-vector products."""

    lambda_max: float
    max_stable_lr: float | None
    #: top eigenvalue of Adam's preconditioned Hessian ``P^-1 H`` (None without Adam state)
    preconditioned_lambda_max: float | None
    #: the LR the bound is compared with (the optimizer's, or the one passed)
    lr: float | None
    rule: UpdateRule
    #: ``c / lr``: the sharpness (raw, or preconditioned for Adam) at which ``lr`` is at the bound
    threshold: float | None
    #: most negative Ritz value of the last Lanczos run: an estimate of lambda_min
    lambda_min_estimate: float
    hvps: int
    iterations: int
    error_estimate: float
    converged: bool
    loss: float
    #: unit top eigenvector (flat, float64) of the Hessian; pass it back as ``init`` to
    #: warm-start the next measurement
    eigenvector: torch.Tensor = field(repr=False)
    #: same for ``P^-1/2 H P^-1/2`` (Adam); pass it back as ``init_preconditioned``
    preconditioned_eigenvector: torch.Tensor | None = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def relevant_lambda(self) -> float:
        """The sharpness the bound uses: preconditioned for Adam, raw otherwise."""
        if self.rule.kind == "adam" and self.preconditioned_lambda_max is not None:
            return self.preconditioned_lambda_max
        return self.lambda_max

    @property
    def lr_ratio(self) -> float | None:
        """``lr / max_stable_lr``: above 1 the LR is beyond the stability bound."""
        if self.lr is None or self.max_stable_lr is None:
            return None
        return self.lr / self.max_stable_lr

    def to_finding(self, step: float | None = None):
        """The ``lr_beyond_stability`` finding, or None when the LR is within the bound."""
        return lr_beyond_stability_finding(self, step=step)


def sharpness(model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
              batch: Sequence[torch.Tensor], optimizer: torch.optim.Optimizer | None = None, *,
              lr: float | None = None, tol: float = DEFAULT_TOL, max_iter: int = DEFAULT_MAX_ITER,
              init: torch.Tensor | None = None, init_preconditioned: torch.Tensor | None = None,
              method: HVPMethod = "double_backward", seed: int = 0,
              batch_loss: Callable[[nn.Module, object], torch.Tensor] | None = None) -> SharpnessResult:
    """Top Hessian eigenvalue of ``loss_fn(model(inputs), targets)`` and the largest stable LR.

    ``batch`` is ``(inputs, targets)``; for full-batch GD pass the whole training set.
    ``optimizer`` selects the update rule and the parameters (and, for Adam, the
    preconditioner); without it the bound is plain GD's ``2/lambda`` at ``lr`` (if given).
    ``init`` warm-starts Lanczos (the previous result's ``eigenvector``); otherwise a
    Gaussian vector from ``seed``. ``batch_loss(model, batch)`` replaces ``loss_fn`` for
    batches that are not ``(inputs, targets)`` (the sweep Task's ``loss_fn``). Costs ``hvps`` Hessian-vector products: one Lanczos run,
    two with Adam's preconditioner (raw and preconditioned).
    """
    rule = describe_optimizer(optimizer, lr)
    params = trainable_parameters(model, optimizer)
    op = HessianOperator(model, loss_fn, batch, params, method=method, batch_loss=batch_loss)
    notes: list[str] = []
    gen = torch.Generator().manual_seed(seed)

    def start(v0: torch.Tensor | None) -> torch.Tensor:
        if v0 is not None and v0.numel() == op.n:
            return v0.detach().reshape(-1).to(torch.float64).cpu()
        return torch.randn(op.n, generator=gen, dtype=torch.float64)

    def run(matvec, v0):
        return lanczos_top(lambda v: matvec(v.to(op.device)).to(torch.float64).cpu(), start(v0), tol=tol, max_iter=max_iter)

    pre = None
    pre_lam = None
    if rule.kind == "adam" and optimizer is not None:
        p = adam_preconditioner(optimizer, params)
        if p is None:
            notes.append(f"{rule.name} has taken no step yet: it has no preconditioner, so there is no bound "
                         "(measure after the first step)")
        else:
            d = op.flatten(p).to(torch.float64).cpu().rsqrt()
            pre = run(lambda v: op.matvec((d * v.cpu()).to(op.device)).to(torch.float64).cpu() * d, init_preconditioned)
            pre_lam = pre.eigenvalue
    raw = run(op.matvec, init)
    if rule.kind == "unmodelled":
        notes.append(f"{rule.name}'s update rule is not modelled: no stability bound")
    lam = pre_lam if pre_lam is not None else raw.eigenvalue
    bound = None if (rule.kind == "adam" and pre_lam is None) else max_stable_lr(lam, rule)
    c = stability_constant(rule)
    threshold = c / rule.lr if (c is not None and rule.lr) else None
    return SharpnessResult(
        lambda_max=raw.eigenvalue, max_stable_lr=bound, preconditioned_lambda_max=pre_lam, lr=rule.lr, rule=rule,
        threshold=threshold, lambda_min_estimate=float(raw.ritz_values[0]), hvps=op.hvps,
        iterations=raw.iterations + (pre.iterations if pre is not None else 0),
        error_estimate=max(raw.error_estimate, pre.error_estimate if pre is not None else 0.0),
        converged=raw.converged and (pre is None or pre.converged), loss=op.loss,
        eigenvector=raw.eigenvector, preconditioned_eigenvector=pre.eigenvector if pre is not None else None,
        notes=notes)


def lr_beyond_stability_finding(res: SharpnessResult, step: float | None = None):
    """``lr_beyond_stability`` with the sharpness evidence, or None when ``lr <= max_stable_lr``."""
    from lrdoctor.finding import Finding, Fix, Severity, Watch

    ratio = res.lr_ratio
    if ratio is None or ratio <= 1.0:
        return None
    if ratio <= EDGE_OF_STABILITY_BAND:
        sev, what = Severity.INFO, "at the edge of stability"
    elif ratio < FAR_BEYOND_RATIO:
        sev, what = Severity.WARNING, "beyond the stability bound"
    else:
        sev, what = Severity.ERROR, "far beyond the stability bound"
    pre = res.rule.kind == "adam" and res.preconditioned_lambda_max is not None
    which = "preconditioned sharpness" if pre else "sharpness"
    c = stability_constant(res.rule)
    evidence = {
        "lambda_max": res.lambda_max,
        "preconditioned_lambda_max": res.preconditioned_lambda_max,
        "lr": res.lr,
        "max_stable_lr": res.max_stable_lr,
        "lr_over_max_stable_lr": ratio,
        "stability_constant": c,
        "update_rule": res.rule.kind,
        "hvps": res.hvps,
        "relative_error_estimate": res.error_estimate / max(abs(res.relevant_lambda), 1e-300),
        "loss": res.loss,
    }
    summary = (f"lr {res.lr:.3g} is {ratio:.2f}x the stability bound {res.max_stable_lr:.3g} "
               f"({which} {res.relevant_lambda:.4g}, bound {c:.3g}/lambda for {res.rule.name}): {what}")
    cause = (f"the top curvature direction of the loss has {which} {res.relevant_lambda:.4g}; "
             f"an update rule of this kind is stable along it only for lr < {c:.3g}/lambda. "
             + ("Full-batch GD commonly sits here (edge of stability): the loss is non-monotone but still falls."
                if sev is Severity.INFO else "Along that direction every step overshoots and the loss oscillates or grows."))
    fixes = [Fix("lr", res.lr, res.max_stable_lr, f"the largest LR stable at the measured {which} ({c:.3g}/{res.relevant_lambda:.4g})")]
    watch = [Watch(metric=f"lr * {which} / {c:.3g}", healthy="<= 1 (<= 1.1 at the edge of stability)",
                   meaning="above it the sharpest direction is unstable",
                   trouble=f"> {FAR_BEYOND_RATIO:g}: expect divergence unless sharpness collapses")]
    return Finding(kind="lr_beyond_stability", severity=sev, start_step=step, end_step=step, summary=summary,
                   evidence=evidence, cause=cause, fixes=fixes, watch=watch)
