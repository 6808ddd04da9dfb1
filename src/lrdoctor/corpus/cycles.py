"""A real iterative fine-tuning run whose per-cycle score peaks and then declines.

Each cycle fine-tunes the previous cycle's model for a few epochs on a small training set
at a constant LR and scores it on a clean held-out set (scikit-learn's digits, shipped
with the package). With noisy labels (as self-generated RAFT/RLVR samples are) the first
cycles learn the signal and later ones memorise the noise: held-out accuracy peaks, then
falls -- the shape of the LoRA post-mortem (#3). With clean labels it plateaus.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import yaml

from lrdoctor.corpus._io import write_csv

__all__ = ["CycleConfig", "finetune_cycles"]


@dataclass(frozen=True)
class CycleConfig:
    label_noise: float = 0.4
    """Share of training labels replaced by random classes."""
    cycles: int = 10
    epochs_per_cycle: int = 3
    learning_rate: float = 1e-3
    cycle_decay: float = 1.0
    """LR multiplier per cycle (1.0 = constant, as in the post-mortem)."""
    train_size: int = 300
    hidden: int = 256
    seed: int = 0
    log_every: int = 2
    """Minibatches between rows of the per-step log ``steps.csv``."""


def finetune_cycles(out: Path, cfg: CycleConfig = CycleConfig()) -> Path:
    """Run the cycles; write ``out/cycles.csv`` (one row per cycle), ``out/steps.csv`` (every
    ``log_every`` minibatches: loss, held-out accuracy, cycle) and ``out/config.yaml``."""
    import torch
    from sklearn.datasets import load_digits
    from torch import nn

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    perm = rng.permutation(len(y))
    tr, te = perm[: cfg.train_size], perm[cfg.train_size:]
    y_tr = y[tr].copy()
    flip = rng.random(y_tr.size) < cfg.label_noise
    y_tr[flip] = rng.integers(0, 10, int(flip.sum()))
    xt, yt = torch.as_tensor(x[tr]), torch.as_tensor(y_tr)
    xe, ye = torch.as_tensor(x[te]), torch.as_tensor(y[te])
    model = nn.Sequential(nn.Linear(64, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, 10))
    rows, steps = [], []
    step = 0
    for c in range(1, cfg.cycles + 1):
        lr = cfg.learning_rate * cfg.cycle_decay ** (c - 1)
        opt = torch.optim.Adam(model.parameters(), lr=lr)  # a fresh optimizer per cycle, as RAFT does
        model.train()
        for _ in range(cfg.epochs_per_cycle):
            for idx in torch.randperm(len(yt)).split(32):
                loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                if step % cfg.log_every == 0:
                    with torch.no_grad():
                        acc = float((model(xe).argmax(1) == ye).float().mean())
                    steps.append({"step": step, "cycle": c, "loss": loss.item(), "eval_accuracy": acc, "lr": lr})
        model.eval()
        with torch.no_grad():
            train_loss = float(nn.functional.cross_entropy(model(xt), yt))
            acc = float((model(xe).argmax(1) == ye).float().mean())
        rows.append({"cycle": c, "loss": train_loss, "eval_accuracy": acc, "lr": lr})
    write_csv(out / "cycles.csv", rows)
    write_csv(out / "steps.csv", steps)
    (out / "config.yaml").write_text(yaml.safe_dump({**asdict(cfg), "learning_rate": cfg.learning_rate}, sort_keys=False))
    return out / "cycles.csv"
