"""Benchmark: wall time of `lrdoctor diagnose` on a 200-row CSV, beside the floor
`python -c "import pandas"` (the reader needs pandas, so nothing can start faster).

    python bench/cli_startup.py [--repeat 7]

Prints the median wall time of each (interleaved runs) and the ratio diagnose / floor.
Target (issue 11): <= 0.6 s, and no torch import (tests/test_imports.py checks that).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=False, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        csv = Path(d) / "run.csv"
        csv.write_text("step,loss,lr,grad_norm\n" + "".join(f"{i},{2.0 / (i + 1) + 0.01 * (i % 3)},0.001,{1 + (i % 5) / 10}\n" for i in range(200)))
        floor_cmd = [sys.executable, "-c", "import pandas"]
        diag_cmd = [sys.executable, "-m", "lrdoctor", "diagnose", str(csv)]
        wall(diag_cmd)  # warm the file cache
        floor, diag = [], []
        for _ in range(args.repeat):
            floor.append(wall(floor_cmd))
            diag.append(wall(diag_cmd))
    f, g = statistics.median(floor), statistics.median(diag)
    print(f"python -c 'import pandas'        {f:.3f} s")
    print(f"lrdoctor diagnose (200-row CSV)  {g:.3f} s")
    print(f"ratio diagnose / floor           {g / f:.2f}x   (target: diagnose <= 0.6 s)")


if __name__ == "__main__":
    main()
