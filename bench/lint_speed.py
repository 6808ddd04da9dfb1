"""Speed of `lrdoctor lint` over a tree of 1,000 Python files, beside `ruff check` of the same tree.

The tree is made by copying the real training scripts of bench/lint_corpus/ (cycling through
them, each copy in its own sub-folder) into a temporary directory. Both tools run as the
command a user would type, in a subprocess, cold (ruff with --no-cache), best of 3.

    python bench/lint_speed.py [--files 1000]

Target (issue 14): lrdoctor lint < 5 s for 1,000 files. ruff is the reference for what a
fast linter costs on the same tree (it is written in Rust and runs its default rule set).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPUS = Path(__file__).parent / "lint_corpus"


def make_tree(dest: Path, n: int) -> int:
    files = sorted(p for p in CORPUS.rglob("*.py") if p.name != "__init__.py")
    total = 0
    for i in range(n):
        src = files[i % len(files)]
        d = dest / f"pkg{i // 50:03d}"
        d.mkdir(parents=True, exist_ok=True)
        target = d / f"m{i:04d}_{src.name}"
        shutil.copyfile(src, target)
        total += target.stat().st_size
    return total


def best_of(cmd: list[str], repeat: int = 3) -> tuple[float, float, subprocess.CompletedProcess]:
    """Best wall time and best CPU time (user + system, all processes of the command) of ``repeat`` runs.

    CPU time is reported too because this machine's cores are shared: wall time there
    depends on the other load, CPU time much less."""
    best, best_cpu, last = float("inf"), float("inf"), None
    for _ in range(repeat):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        last = subprocess.run(cmd, capture_output=True, text=True)
        best = min(best, time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        best_cpu = min(best_cpu, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
    return best, best_cpu, last


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        size = make_tree(root, args.files)
        print(f"tree: {args.files} Python files, {size / 1e6:.1f} MB (copies of {CORPUS.name}/*.py)")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        t_lr, c_lr, r = best_of([sys.executable, "-m", "lrdoctor", "lint", str(root), "--fail-on", "never"])
        print(f"lrdoctor lint : {t_lr:6.2f} s wall, {c_lr:6.2f} s CPU   ({r.stdout.strip().splitlines()[-1]})")
        t_imp, c_imp, _ = best_of([sys.executable, "-c", "import lrdoctor.cli"])
        print(f"  of which interpreter start + imports: {t_imp:.2f} s wall, {c_imp:.2f} s CPU")
        ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
        if Path(ruff).exists():
            t_ruff, c_ruff, rr = best_of([ruff, "check", "--no-cache", "--exit-zero", "--quiet", str(root)])
            print(f"ruff check    : {t_ruff:6.2f} s wall, {c_ruff:6.2f} s CPU   (ruff {subprocess.run([ruff, '--version'], capture_output=True, text=True).stdout.split()[-1]}, default rules)")
            print(f"ratio lrdoctor / ruff: {t_lr / t_ruff:.1f}x wall, {c_lr / c_ruff:.1f}x CPU")
        else:
            print("ruff check    : not installed (pip install -c constraints.txt ruff) - no reference")
        ncpu = os.cpu_count() or 1
        print(f"target < 5 s for 1,000 files: wall here {'met' if t_lr < 5 else 'NOT met'}; "
              f"CPU / {ncpu} cores = {c_lr / ncpu:.2f} s (the wall time on an idle machine of this size)")


if __name__ == "__main__":
    main()
