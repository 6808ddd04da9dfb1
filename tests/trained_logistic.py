"""A logistic regression on an imbalanced two-class problem, fitted for real: the rule tests' stand-in
for a classifier whose predictions sit on the majority class (seconds on one CPU thread)."""

from __future__ import annotations

import math

import torch

__all__ = ["imbalanced_logistic_log"]


def imbalanced_logistic_log(path, lr: float, *, share: float = 0.93, prior_bias: bool = False, steps: int = 200,
                            every: int = 20, axis: str = "step", seed: int = 0) -> None:
    """Fit a logistic regression by SGD at ``lr`` on 8 Gaussian features whose labels are 1 for the top
    ``1 - share`` of a hidden linear score, from zero weights and a zero bias (uniform outputs: loss
    ln 2, every prediction the first class) or, with ``prior_bias``, a bias at the log-prior of the
    split (every prediction the majority class, loss at the prior's entropy); write a CSV of ``axis``
    (the step, or with "epoch" the count of ``every``-step periods), loss, eval_loss and eval_accuracy
    on 200 held-out examples every ``every`` of ``steps`` steps of 64 examples."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    w_true = torch.randn(8)

    def batch(n):
        x = torch.randn(n, 8)
        score = x @ w_true
        return x, (score > torch.quantile(score, share)).long()

    xe, ye = batch(200)
    model = torch.nn.Linear(8, 2)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    if prior_bias:
        with torch.no_grad():
            model.bias.copy_(torch.tensor([math.log(share), math.log(1 - share)]))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    rows = [f"{axis},loss,eval_loss,eval_accuracy"]
    for step in range(1, steps + 1):
        x, y = batch(64)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % every == 0:
            with torch.no_grad():
                out = model(xe)
                el = torch.nn.functional.cross_entropy(out, ye).item()
                acc = (out.argmax(1) == ye).float().mean().item()
            at = step if axis == "step" else step // every
            rows.append(f"{at},{loss.item():.4f},{el:.4f},{acc:.4f}")
    path.write_text("\n".join(rows) + "\n")
