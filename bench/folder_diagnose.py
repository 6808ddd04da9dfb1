"""Diagnosing a folder of runs: in this process (SerialBackend) vs the local process pool.

N CSV runs of S steps each (a decaying loss with noise; every fourth run diverges), each
diagnosed by ``lrdoctor.cli.diagnose_folder.diagnose_run`` on both backends; prints the wall
time of each, the ratio, and the end-to-end CLI time (``lrdoctor diagnose DIR``). It is why
the CLI diagnoses a folder's runs in its own process.

    python bench/folder_diagnose.py [--runs 8 32] [--steps 5000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lrdoctor.backends import LocalPool, SerialBackend
from lrdoctor.cli.diagnose_folder import RunTask, diagnose_run


def make_runs(folder: Path, n: int, steps: int) -> list[RunTask]:
    rng = np.random.default_rng(0)
    tasks = []
    for i in range(n):
        loss = 2.0 * np.exp(-np.arange(steps) / (steps / 4)) + 0.05 * rng.random(steps)
        if i % 4 == 3:
            loss[steps // 2:] *= np.exp(np.arange(steps - steps // 2) / (steps / 20))
        d = folder / f"run{i:03d}"
        d.mkdir()
        with open(d / "metrics.csv", "w") as fh:
            fh.write("step,loss,lr\n")
            fh.writelines(f"{s},{v!r},0.001\n" for s, v in enumerate(loss.tolist()))
        tasks.append(RunTask(str(d), d.name, None, None, (), 2048.0, "error"))
    return tasks


def timed(backend, tasks) -> float:
    t = time.perf_counter()
    outs = list(backend.run(diagnose_run, tasks))
    backend.close()
    assert all(o.ok and o.value.error is None for o in outs)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--steps", type=int, default=5000)
    args = ap.parse_args()
    for n in args.runs:
        with tempfile.TemporaryDirectory() as tmp:
            tasks = make_runs(Path(tmp), n, args.steps)
            serial = timed(SerialBackend(), tasks)
            pool = timed(LocalPool(), tasks)
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", tmp], capture_output=True, text=True)
            cli = time.perf_counter() - t
            assert out.returncode == 1 and f"{n} runs" in out.stdout, out.stdout + out.stderr
            print(f"{n} runs x {args.steps} steps: serial {serial:.2f} s, local pool {pool:.2f} s "
                  f"(ratio serial/pool {serial / pool:.2f}); CLI end to end {cli:.2f} s")


if __name__ == "__main__":
    main()
