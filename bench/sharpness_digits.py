"""The edge of stability on scikit-learn digits (docs/sharpness.md).

    python bench/sharpness_digits.py [--steps 2000] [--every 50]

A 64-200-200-10 tanh MLP (Cohen et al. 2021's ``fc-tanh``) on the first 1000 digits
(each pixel centred and divided by its standard deviation, as Cohen et al.'s
``center``/``standardize`` in src/data.py; constant pixels stay 0; one-hot targets), full-batch training, loss ``0.5 * ||f - y||^2`` summed
over the 10 outputs and averaged over examples (Cohen et al.'s SquaredLoss / n).
GD at lr 0.2: raw sharpness against ``2/lr``; Adam at lr 2e-3 (betas 0.9, 0.999,
eps 1e-7 as in Cohen et al. 2022): preconditioned sharpness against ``38/lr``.
Sharpness is measured every ``--every`` steps with warm-started Lanczos (SharpnessProbe).
Also printed: the same network's sharpness under ``torch.nn.MSELoss()``, which averages
over the 10 outputs too and drops the 1/2: ``(2/10) = 1/5`` of the convention above.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

from lrdoctor.experiments.sharpness import sharpness
from lrdoctor.experiments.sharpness_probe import SharpnessProbe


def half_sum_sq(out, t):
    return 0.5 * ((out - t) ** 2).sum(1).mean()


def net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 200), torch.nn.Tanh(), torch.nn.Linear(200, 200), torch.nn.Tanh(),
                               torch.nn.Linear(200, 10))


def train(opt_name, lr, steps, every, x, y):
    model = net()
    opt = torch.optim.SGD(model.parameters(), lr=lr) if opt_name == "gd" else \
        torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-7)
    probe = SharpnessProbe(half_sum_sq, (x, y), every=every)
    t = time.perf_counter()
    train_time = 0.0
    for step in range(steps + 1):
        probe(model, opt, step)
        t0 = time.perf_counter()
        opt.zero_grad()
        half_sum_sq(model(x), y).backward()
        opt.step()
        train_time += time.perf_counter() - t0
    return model, probe, time.perf_counter() - t, train_time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--every", type=int, default=50)
    args = ap.parse_args()
    torch.set_num_threads(1)
    d = load_digits()
    raw = d.data[:1000]
    std = raw.std(0)
    x = torch.tensor((raw - raw.mean(0)) / np.where(std > 0, std, 1.0), dtype=torch.float32)
    y = torch.nn.functional.one_hot(torch.tensor(d.target[:1000]), 10).float()

    m0 = net()
    a = sharpness(m0, half_sum_sq, (x, y)).lambda_max
    b = sharpness(m0, torch.nn.MSELoss(), (x, y)).lambda_max
    print(f"loss convention at init: 0.5*sum-over-outputs, mean-over-examples: {a:.4f}; "
          f"torch.nn.MSELoss(): {b:.4f}; ratio {a / b:.3f} (10 outputs: expected 5)")

    lr = 0.2
    _, probe, wall, tt = train("gd", lr, args.steps, args.every, x, y)
    st = np.array([r.step for r in probe.records])
    lam = np.array([r.lambda_max for r in probe.records])
    ratio = lam * lr / 2
    cross = st[np.argmax(lam > 2 / lr)] if (lam > 2 / lr).any() else None
    late = ratio[st >= 1000]
    print(f"GD lr={lr}: sharpness at step 0 {lam[0]:.3f}; first above 2/lr={2 / lr:g} at step {cross} "
          f"(measured every {args.every}); over steps 1000-{args.steps}: lr*lambda/2 in "
          f"[{late.min():.3f}, {late.max():.3f}], median {np.median(late):.3f}; "
          f"final loss {probe.records[-1].loss:.4f}")
    print(f"  probe cost: {probe.total_hvps} HVPs over {len(st)} measurements "
          f"({probe.total_hvps / len(st):.1f} per measurement); wall {wall:.1f}s of which training {tt:.1f}s")
    print("  trajectory (step: lambda_max): " + ", ".join(f"{s}: {v:.2f}" for s, v in zip(st[::4], lam[::4])))

    lr = 2e-3
    _, probe, wall, tt = train("adam", lr, args.steps, args.every, x, y)
    st = np.array([r.step for r in probe.records])
    pre = np.array([r.preconditioned_lambda_max if r.preconditioned_lambda_max is not None else np.nan
                    for r in probe.records])
    late = pre[st >= 1000] * lr / 38
    print(f"Adam lr={lr}: preconditioned sharpness over steps 1000-{args.steps}: lr*lambda/38 in "
          f"[{np.nanmin(late):.3f}, {np.nanmax(late):.3f}], median {np.nanmedian(late):.3f}; "
          f"38/lr = {38 / lr:g}; raw sharpness at the end {probe.records[-1].lambda_max:.2f}; "
          f"final loss {probe.records[-1].loss:.4f}")
    print(f"  probe cost: {probe.total_hvps} HVPs over {len(st)} measurements; wall {wall:.1f}s, training {tt:.1f}s")
    print("  trajectory (step: preconditioned lambda): " + ", ".join(f"{s}: {v:.1f}" for s, v in zip(st[::4], pre[::4])))


if __name__ == "__main__":
    main()
