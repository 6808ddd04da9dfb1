"""Benchmark: diagnose a 10M-step x 8-metric CSV log vs pandas.read_csv of the same file.

    python bench/diagnose_speed.py [--steps 10000000]

Prints both times (median of 3, interleaved) and the ratio diagnose / read_csv, and the
memory ``lrdoctor diagnose FILE`` (the CLI) estimates for this file before reading it: the
CLI refuses a log whose estimate is over its limit (2048 MB, ``--max-memory-mb``); this
file's estimate is under it, so the CLI reads it too (docs/large-logs.md).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

import lrdoctor


def make_log(path: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    s = np.arange(n)
    loss = 3 * np.exp(-s / (n / 5)) + 0.05 * rng.standard_normal(n) + 0.5
    df = pd.DataFrame({
        "step": s, "loss": loss, "lr": 1e-3 * np.minimum(1, (s + 1) / 1000),
        "grad_norm": np.abs(1 + 0.1 * rng.standard_normal(n)), "eval_loss": loss + 0.1,
        "epoch": s / 1e5, "tokens": s * 4096.0, "throughput": 1000 + rng.standard_normal(n),
    })
    df.to_csv(path, index=False, float_format="%.6g")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    path = Path(__file__).parent / "_data" / f"log_{args.steps}.csv"
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        make_log(path, args.steps)
    t_pd, t_dx = [], []
    for _ in range(args.repeat):
        t = time.perf_counter(); pd.read_csv(path); t_pd.append(time.perf_counter() - t)
        t = time.perf_counter(); r = lrdoctor.diagnose(path); t_dx.append(time.perf_counter() - t)
    a, b = statistics.median(t_pd), statistics.median(t_dx)
    print(f"file: {path.name} ({path.stat().st_size / 1e6:.0f} MB, {args.steps} steps x 8 metrics)")
    print(f"pandas.read_csv   median {a:.2f} s")
    print(f"lrdoctor.diagnose median {b:.2f} s  ({len(r.findings)} findings)")
    print(f"ratio diagnose / read_csv = {b / a:.2f}")
    from lrdoctor.io.budget import DEFAULT_MAX_MEMORY_MB, estimate_peak

    est = estimate_peak(path, "csv")
    verdict = "reads it" if est.bytes <= DEFAULT_MAX_MEMORY_MB << 20 else "refuses it (use --max-memory-mb)"
    print(f"CLI memory estimate {est.bytes / 2**20:.0f} MB ({est.basis}); limit {DEFAULT_MAX_MEMORY_MB} MB: the CLI {verdict}")


if __name__ == "__main__":
    main()
