"""False alarms on healthy runs that are really trained here: how often does lrdoctor put a
warning or an error on a correct training loop?

    python bench/false_alarms.py --runs 24

Each run trains a small model on scikit-learn's digits (an MLP or a softmax regression, SGD
or AdamW, a sane LR drawn log-uniformly from the range where these models train well, a
constant or cosine schedule, 4-30 epochs), logged the way users log: one row per epoch
(loss, val_loss, val_acc, lr) or a per-step log of 20-60 or 200-2000 reports (loss, lr,
grad_norm), batch sizes 16-128. The
naive baseline (fixed thresholds, as in bench/detection_quality.py) reads the same files.
Printed: the share of healthy runs with a warning or an error, and the kinds, for both.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lrdoctor  # noqa: E402
from detection_quality import Case, run_naive  # noqa: E402

torch.set_num_threads(1)


def _data():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target)
    return x[:1400], y[:1400], x[1400:], y[1400:]


def train(seed: int, folder: Path) -> Path:
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    x, y, xv, yv = _data()
    linear = rng.random() < 0.3  # softmax regression, else a one-hidden-layer MLP
    width = int(rng.choice([32, 64, 128]))
    model = torch.nn.Linear(64, 10) if linear else torch.nn.Sequential(
        torch.nn.Linear(64, width), torch.nn.ReLU(), torch.nn.Linear(width, 10))
    adam = rng.random() < 0.5
    lr = float(10 ** rng.uniform(-3.5, -2.3)) if adam else float(10 ** rng.uniform(-1.7, -0.7))
    opt = torch.optim.AdamW(model.parameters(), lr=lr) if adam else torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9 * (rng.random() < 0.5))
    epochs = int(rng.integers(4, 31))
    cosine = rng.random() < 0.5
    per_step = rng.random() < 0.4
    bs = int(rng.choice([16, 32, 64, 128]))
    steps_per_epoch = (len(y) + bs - 1) // bs
    total = epochs * steps_per_epoch
    # short logs (20-60 reports, the few-point regime) and long ones (200-2000)
    every = max(1, total // int(rng.integers(20, 61) if rng.random() < 0.6 else rng.integers(200, 2001)))
    rows, step = [], 0
    for ep in range(epochs):
        perm = torch.randperm(len(y))
        tot = 0.0
        for i in range(0, len(y), bs):
            cur = lr * 0.5 * (1 + np.cos(np.pi * step / total)) if cosine else lr
            for g in opt.param_groups:
                g["lr"] = cur
            idx = perm[i:i + bs]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            gn = float(torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")))
            opt.step()
            tot += float(loss.detach()) * len(idx)
            step += 1
            if per_step and step % every == 0:
                rows.append({"step": step, "loss": round(float(loss.detach()), 4), "lr": cur, "grad_norm": round(gn, 4)})
        if not per_step:
            with torch.no_grad():
                out = model(xv)
                rows.append({"epoch": ep + 1, "loss": round(tot / len(y), 4),
                             "val_loss": round(float(torch.nn.functional.cross_entropy(out, yv)), 4),
                             "val_acc": round(float((out.argmax(1) == yv).float().mean()), 4), "lr": cur})
    p = folder / f"run{seed}.csv"
    with open(p, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, default=None, help="write the runs' logs here (default: a temp folder)")
    args = ap.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="lrdoctor-fa-"))
    folder.mkdir(parents=True, exist_ok=True)
    ours, naive = Counter(), Counter()
    flagged_ours = flagged_naive = 0
    for s in range(args.seed, args.seed + args.runs):
        p = train(s, folder)
        rep = lrdoctor.diagnose(p)
        loud = sorted({f.kind for f in rep.findings if f.severity.rank >= 1})
        ours.update(loud)
        flagged_ours += bool(loud)
        nv = run_naive(Case(p.name, p, "healthy", "healthy", {}, {}))
        naive.update(nv.predicted)
        flagged_naive += bool(nv.predicted)
        if loud:
            print(f"  {p.name}: lrdoctor {loud}: " + "; ".join(f.summary for f in rep.findings if f.severity.rank >= 1))
    n = args.runs
    print(f"{n} healthy runs trained here: lrdoctor flags {flagged_ours} ({flagged_ours / n:.0%}) {dict(ours)}; "
          f"naive baseline flags {flagged_naive} ({flagged_naive / n:.0%}) {dict(naive)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
