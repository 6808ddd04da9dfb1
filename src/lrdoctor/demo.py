"""The built-in example: one small classifier trained twice on CPU, healthy and broken.

The broken run reproduces the classifier post-mortem (#4): a hand-written per-step
warmup that *assigns* ``group['lr']`` every step, overwriting the StepLR decay, at a
learning rate 30x too high for Adam. Both runs log what real loops log (loss, the LR the
optimizer used, the LR the scheduler asked for, gradient norm, eval loss) to CSV files in
a folder, which ``diagnose`` then reads like any other log.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["DemoConfig", "train_classifier", "run_demo"]


@dataclass(frozen=True)
class DemoConfig:
    lr: float
    overwrite_warmup: bool
    epochs: int = 12
    steps_per_epoch: int = 25
    warmup_steps: int = 25
    num_classes: int = 10
    seed: int = 0


def _data(seed: int, n: int, num_classes: int):
    import torch

    g = torch.Generator().manual_seed(1234)  # the task is fixed; seeds vary the model
    teacher = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.Tanh(), torch.nn.Linear(64, num_classes))
    for p in teacher.parameters():
        torch.nn.init.normal_(p, std=1.0, generator=g)
    x = torch.randn(n, 32, generator=g)
    with torch.no_grad():
        y = teacher(x).argmax(1)
    return x, y


def train_classifier(cfg: DemoConfig, out_csv: Path) -> None:
    """Train a 2-layer MLP on a synthetic 10-class task and log every step to ``out_csv``."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    x, y = _data(cfg.seed, 4000, cfg.num_classes)
    xtr, ytr, xva, yva = x[:3200], y[:3200], x[3200:], y[3200:]
    model = torch.nn.Sequential(torch.nn.Linear(32, 128), torch.nn.ReLU(), torch.nn.Linear(128, cfg.num_classes))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    spe = cfg.steps_per_epoch
    if cfg.overwrite_warmup:
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)  # stepped once per epoch
    else:
        # The fix: one schedule whose warmup *multiplies* the decay.
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / cfg.warmup_steps) * 0.5 ** (s // (3 * spe)))
    loss_fn = torch.nn.CrossEntropyLoss()
    bs = len(xtr) // spe
    step = 0
    with open(out_csv, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "epoch", "loss", "lr", "scheduled_lr", "grad_norm", "eval_loss"])
        for epoch in range(cfg.epochs):
            perm = torch.randperm(len(xtr))
            for i in range(spe):
                if cfg.overwrite_warmup:  # the bug: assigns, so StepLR's decay is lost at the next step
                    for group in opt.param_groups:
                        group["lr"] = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps)  # lrdoctor: ignore[schedule-overwrite]
                idx = perm[i * bs:(i + 1) * bs]
                loss = loss_fn(model(xtr[idx]), ytr[idx])
                opt.zero_grad()
                loss.backward()
                gn = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))  # measure only
                applied = opt.param_groups[0]["lr"]
                opt.step()
                scheduled = sched.get_last_lr()[0]  # what the scheduler believes it set
                if not cfg.overwrite_warmup:
                    sched.step()
                ev = ""
                if i == spe - 1:
                    with torch.no_grad():
                        ev = f"{loss_fn(model(xva), yva).item():.6g}"
                w.writerow([step, epoch, f"{loss.item():.6g}", f"{applied:.6g}", f"{scheduled:.6g}", f"{float(gn):.6g}", ev])
                step += 1
            if cfg.overwrite_warmup:
                sched.step()


def run_demo(out_dir: Path) -> tuple[Path, Path]:
    """Train both runs into ``out_dir``; returns (healthy log, broken log)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = {
        "healthy": DemoConfig(lr=1e-3, overwrite_warmup=False),
        "broken": DemoConfig(lr=3e-2, overwrite_warmup=True),
    }
    paths = []
    for name, cfg in runs.items():
        folder = out_dir / name
        folder.mkdir(exist_ok=True)
        train_classifier(cfg, folder / "metrics.csv")
        (folder / "config.yaml").write_text(yaml.safe_dump({
            "model": "mlp", "optimizer": "adam", "lr": cfg.lr, "num_classes": cfg.num_classes,
            "warmup_steps": cfg.warmup_steps, "scheduler": "StepLR(step_size=3 epochs, gamma=0.5)",
            "epochs": cfg.epochs, "batch_size": 3200 // cfg.steps_per_epoch,
        }, sort_keys=False))
        paths.append(folder / "metrics.csv")
    return paths[0], paths[1]
