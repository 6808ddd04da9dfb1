"""A tiny MLP regression/classification trainer with knobs that cause known pathologies."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Case", "CASES", "train_mlp"]


@dataclass(frozen=True)
class Case:
    """One corpus run: its training knobs and the finding kind it must (or must not) produce."""

    name: str
    optimizer: str
    lr: float
    steps: int = 400
    spike_steps: tuple[int, ...] = ()
    spike_lr: float = 0.0
    deep_sigmoid: bool = False
    lr_from: tuple[int, float] | None = None  # (step, lr): the LR is raised from that step on
    expect: str | None = None  # finding kind that must appear (None: healthy control)


CASES: dict[str, Case] = {
    "healthy_adam": Case("healthy_adam", "adam", 1e-3),
    "healthy_sgd": Case("healthy_sgd", "sgd", 0.05),
    "diverge_sgd": Case("diverge_sgd", "sgd", 0.05, lr_from=(150, 1.0), expect="divergence"),
    "nan_sgd": Case("nan_sgd", "sgd", 1e4, steps=100, expect="nonfinite"),
    "spikes_adam": Case("spikes_adam", "adam", 1e-3, spike_steps=(120, 220, 320), spike_lr=0.05, expect="loss_spike"),
    "too_low_lr": Case("too_low_lr", "sgd", 1e-5, steps=1200, expect="slow_progress"),
}


def train_mlp(case: Case, out_csv: Path, seed: int = 0) -> Path:
    """Train an MLP classifier on a fixed synthetic 10-class task; log loss, lr and grad norm each step."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(99)
    x = torch.randn(2048, 20, generator=g)
    w = torch.randn(20, 10, generator=g)
    y = (x @ w + 0.5 * torch.randn(2048, 10, generator=g)).argmax(1)
    act = torch.nn.Sigmoid if case.deep_sigmoid else torch.nn.ReLU
    model = torch.nn.Sequential(torch.nn.Linear(20, 64), act(), torch.nn.Linear(64, 64), act(), torch.nn.Linear(64, 10))
    opt = (torch.optim.Adam(model.parameters(), lr=case.lr) if case.optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=case.lr, momentum=0.9))
    loss_fn = torch.nn.CrossEntropyLoss()
    with open(out_csv, "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["step", "loss", "lr", "grad_norm"])
        for step in range(case.steps):
            idx = torch.randint(0, 2048, (64,), generator=g)
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
            lr = case.lr if case.lr_from is None or step < case.lr_from[0] else case.lr_from[1]
            lr = case.spike_lr if step in case.spike_steps else lr
            for group in opt.param_groups:
                group["lr"] = lr
            opt.step()
            wr.writerow([step, f"{loss.item():.6g}", f"{lr:.6g}", f"{float(gn):.6g}"])
    return out_csv
