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
    from lrdoctor.backends import LocalPool, RayBackend

    n, items = args.cells, list(range(args.cells))
    task = f"{ROOT / 'tests' / 'sweep_tasks.py'}:mlp"
    lrs, seeds = [0.01, 0.02, 0.04, 0.08], n // 4

    def run_sweep(backend: str, **kw):
        with tempfile.TemporaryDirectory() as d:
            res = lrdoctor.sweep(task, lrs, seeds, 1, backend=backend, out=d, progress=False, **kw)
            assert len(res.cells) == n and all(not c.error for c in res.cells)

    def consume(b, k=n):
        return lambda: sum(1 for o in b.run(noop, items[:k]) if o.ok) == k or sys.exit("lost cells")

    t_loop = timed(lambda: [noop(i) for i in items])
    pool = LocalPool(workers=args.workers)
    t_pool_cold = timed(consume(pool))  # starts the workers
    t_pool1, t_pool = timed(consume(pool, 1)), timed(consume(pool))
    pool.close()
    t_init = timed(lambda: ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False))
    rb = RayBackend(num_cpus=1)
    t_ray_cold = timed(consume(rb))
    t_ray1, t_ray = timed(consume(rb, 1)), timed(consume(rb))
    run_sweep("serial")  # warm-up: first-use imports of the Monitor, readers and detectors
    s_serial = timed(lambda: run_sweep("serial"))
    s_pool = timed(lambda: run_sweep("local", workers=args.workers))
    with LocalPool(workers=args.workers) as warm:
        run_sweep(warm)
        s_pool2 = timed(lambda: run_sweep(warm))
    s_ray = timed(lambda: run_sweep("ray"))
    s_ray2 = timed(lambda: run_sweep("ray"))
    ray.shutdown()

    print(f"{n} cells, {args.workers} workers, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"noop cells (pure scheduling): plain loop {t_loop * 1e3:.3f} ms for {n}")
    print(f"  local pool: first {n} cells {t_pool_cold:.2f} s (spawning {args.workers} workers); warm: {t_pool:.3f} s for {n} = "
          f"{t_pool1 * 1e3:.1f} ms for 1 + {(t_pool - t_pool1) / (n - 1) * 1e3:.2f} ms per extra cell "
          f"({t_pool / t_loop:,.0f}x the plain loop)")
    print(f"  ray: init {t_init:.2f} s; first {n} cells {t_ray_cold:.2f} s (worker start); warm: {t_ray:.3f} s for {n} = "
          f"{t_ray1 * 1e3:.1f} ms for 1 + {(t_ray - t_ray1) / (n - 1) * 1e3:.2f} ms per extra cell "
          f"({t_ray / t_loop:,.0f}x the plain loop)")
    print(f"sweep cells (1-step MLP run + Monitor log + diagnose + JSON), {n} cells:")
    print(f"  serial (plain loop, this process, warm): {s_serial:.2f} s = {s_serial / n * 1e3:.1f} ms per cell")
    print(f"  local pool: {s_pool:.2f} s new pool (spawning {args.workers} workers that import torch), "
          f"{s_pool2:.2f} s warm pool ({s_pool2 / s_serial:.1f}x serial)")
    print(f"  ray: {s_ray:.2f} s first sweep, {s_ray2:.2f} s second ({s_ray2 / s_serial:.1f}x serial)")

if __name__ == "__main__":
    main()
