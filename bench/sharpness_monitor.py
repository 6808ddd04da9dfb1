"""Benchmark: what the instrument probes cost inside ``lrdoctor.Monitor``.

    python bench/sharpness_monitor.py [--steps 1000] [--every 100] [--repeats 3]

A 64-200-200-10 tanh MLP on scikit-learn digits (1500 train images), minibatch training
(batch 64) with SGD momentum 0.9 and with AdamW. Arms, each run ``--repeats`` times in
alternation so that a noisy shared machine hits all arms alike:

* ``monitor``: ``lrdoctor.Monitor`` with its default probes (the baseline);
* ``+sharpness``: plus ``lrdoctor.SharpnessProbe`` every ``--every`` steps on a fixed probe
  batch of 512 training images (warm-started Lanczos, tolerance 1e-4);
* ``+noise_scale``: plus ``lrdoctor.NoiseScaleProbe`` every ``--every`` steps (20 draws of
  the training batch size 64, chunks of 8).

Printed per arm: the median wall time of the run, the overhead against ``monitor`` in
percent, and the probe's own count (HVPs per measurement; gradients per measurement). The
overhead depends on the probe batch and the period; HVPs per call do not depend on the
machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

import lrdoctor
from lrdoctor.monitor import Every

ce = torch.nn.functional.cross_entropy


def data():
    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    return x[:1500], torch.tensor(d.target[:1500])


def net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 200), torch.nn.Tanh(), torch.nn.Linear(200, 200), torch.nn.Tanh(),
                               torch.nn.Linear(200, 10))


def run(opt_name: str, arm: str, steps: int, every: int, x, y):
    model = net()
    opt = (torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9) if opt_name == "sgd"
           else torch.optim.AdamW(model.parameters(), lr=1e-3))
    probes = []
    if arm == "+sharpness":
        probes.append(lrdoctor.SharpnessProbe(ce, (x[:512], y[:512]), every=every))
    elif arm == "+noise_scale":
        ds = torch.utils.data.TensorDataset(x, y)
        pl = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(1))
        probes.append(lrdoctor.NoiseScaleProbe(ce, pl, when=Every(every)))
    mon = lrdoctor.Monitor(opt, model=model, probes=probes)
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(steps):
        idx = torch.randint(0, len(y), (64,), generator=g)
        loss = ce(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        mon.step(loss.detach())
    mon.flush()
    wall = time.perf_counter() - t0
    mon.close()
    info = ""
    if arm == "+sharpness":
        p = probes[0]
        h = [r.hvps for r in p.records]
        info = f"{len(h)} measurements, HVPs per measurement: first {h[0]}, then median {np.median(h[1:]):.0f} (max {max(h[1:])})"
    elif arm == "+noise_scale":
        p = probes[0]
        info = (f"{len(p.results)} measurements x {p.draws} draws x {p.chunks + 1} gradients; "
                f"B_simple {p.results[0][1].b_simple:.3g} -> {p.results[-1][1].b_simple:.3g}")
    return wall, info


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    x, y = data()
    arms = ("monitor", "+sharpness", "+noise_scale")
    for opt_name in ("sgd", "adamw"):
        times = {a: [] for a in arms}
        infos = {}
        for _ in range(args.repeats):
            for a in arms:
                w, info = run(opt_name, a, args.steps, args.every, x, y)
                times[a].append(w)
                infos[a] = info
        base = float(np.median(times["monitor"]))
        print(f"\n{opt_name}: {args.steps} steps, probes every {args.every} steps, {args.repeats} alternating repeats")
        print("| arm | median wall | overhead vs Monitor | probe cost |")
        print("|---|---|---|---|")
        for a in arms:
            m = float(np.median(times[a]))
            print(f"| {a} | {m:.2f} s | {100 * (m / base - 1):+.1f}% | {infos.get(a, '')} |")


if __name__ == "__main__":
    main()
