"""Scheduling overhead of the sweep backends: 64 trivial cells on the local process pool and on
a local Ray instance, against a plain loop in this process (the floor).

    python bench/sweep_overhead.py [--cells 64] [--workers 2]

Two kinds of cell:
- ``noop``: a function that returns its argument (pure scheduling: submit, run, collect);
- ``sweep``: a real ``lrdoctor.sweep`` cell of a 1-step training run of a tiny MLP (seeding,
  Monitor log, ``lrdoctor.diagnose`` of the log, JSON persistence), i.e. the fixed cost every
  sweep cell pays besides its own training steps.
Pool times include starting the worker processes (spawn, one pool per run, as a sweep does);
Ray's start (``ray.init``) is timed apart, then each kind runs on the already started instance.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]


def noop(x: int) -> int:
    return x


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    import ray

    import lrdoctor
    from lrdoctor.backends import LocalPool, RayBackend, SerialBackend

    n, items = args.cells, list(range(args.cells))
    task = f"{ROOT / 'tests' / 'sweep_tasks.py'}:mlp"
    lrs, seeds = [0.01, 0.02, 0.04, 0.08], n // 4

    def run_sweep(backend: str, **kw):
        with tempfile.TemporaryDirectory() as d:
            res = lrdoctor.sweep(task, lrs, seeds, 1, backend=backend, out=d, progress=False, **kw)
            assert len(res.cells) == n and all(not c.error for c in res.cells)

    consume = lambda b: (lambda: sum(1 for o in b.run(noop, items) if o.ok) == n or sys.exit("lost cells"))
    rows = []
    t_loop = timed(lambda: [noop(i) for i in items])
    t_serial = timed(consume(SerialBackend()))
    t_pool = timed(consume(LocalPool(workers=args.workers)))
    t_init = timed(lambda: ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False))
    rb = RayBackend(num_cpus=1)
    t_ray_cold = timed(consume(rb))
    t_ray = timed(consume(rb))
    rows.append(("noop", t_loop, t_serial, t_pool, t_ray_cold, t_ray))
    s_serial = timed(lambda: run_sweep("serial"))
    s_pool = timed(lambda: run_sweep("local", workers=args.workers))
    s_ray = timed(lambda: run_sweep("ray"))
    rows.append(("sweep", s_serial, s_serial, s_pool, s_ray, s_ray))
    ray.shutdown()

    print(f"{n} cells, {args.workers} workers, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"ray.init (local instance): {t_init:.2f} s")
    print(f"{'cell':6} {'plain loop':>11} {'serial':>9} {'pool':>9} {'ray cold':>9} {'ray warm':>9}  per-cell overhead vs loop: pool / ray warm")
    for name, loop, serial, pool, ray_cold, ray_warm in rows:
        print(f"{name:6} {loop:10.3f}s {serial:8.3f}s {pool:8.3f}s {ray_cold:8.3f}s {ray_warm:8.3f}s  "
              f"{(pool - loop) / n * 1e3:7.1f} ms / {(ray_warm - loop) / n * 1e3:6.1f} ms  "
              f"(ratio pool/loop {pool / loop:,.0f}x, ray/loop {ray_warm / loop:,.0f}x)")
    print("sweep row: 'plain loop' = the serial backend (cells run in this process, one after another);"
          " 'ray cold' = 'ray warm' = one run on the started instance")


if __name__ == "__main__":
    main()
