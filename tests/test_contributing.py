"""CONTRIBUTING.md's worked example is true: a new kind module, and nothing else, gives a
registered kind with a fix rule that `lrdoctor diagnose` reports (run in a subprocess so the
example kind never joins this test session's registry)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DRIVER = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("lrdoctor.detect.loss_floor_hit", sys.argv[1])
mod = importlib.util.module_from_spec(spec); sys.modules[spec.name] = mod; spec.loader.exec_module(mod)
import lrdoctor
from lrdoctor.detect import SPECS, FIX_RULES
from lrdoctor.finding import all_kinds
leak, healthy = (lrdoctor.diagnose(p) for p in sys.argv[2:4])
print(json.dumps({"registered": "loss_floor_hit" in SPECS and "loss_floor_hit" in FIX_RULES and "loss_floor_hit" in all_kinds(),
                  "leak": [(f.kind, [x.parameter for x in f.fixes]) for f in leak.findings],
                  "healthy": [f.kind for f in healthy.findings],
                  "ran": "loss_floor_hit" in healthy.coverage.ran}))
"""


def test_worked_example_registers_runs_and_prescribes(tmp_path):
    text = (ROOT / "CONTRIBUTING.md").read_text()
    code = re.search(r"```python\n# src/lrdoctor/detect/loss_floor_hit.py\n(.*?)```", text, re.S).group(1)
    module = tmp_path / "loss_floor_hit.py"
    module.write_text(code)
    # a loss that falls to exactly zero (a target leak) and one that levels off at 0.3
    leak, healthy = tmp_path / "leak.csv", tmp_path / "healthy.csv"
    leak.write_text("step,loss\n" + "".join(f"{i},{max(0.0, 2.0 - 0.05 * i)}\n" for i in range(60)))
    healthy.write_text("step,loss\n" + "".join(f"{i},{0.3 + 1.7 * 0.9 ** i}\n" for i in range(60)))
    out = subprocess.run([sys.executable, "-c", DRIVER, str(module), str(leak), str(healthy)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["registered"] and got["ran"]
    assert ["loss_floor_hit", ["data split"]] in got["leak"]
    assert "loss_floor_hit" not in got["healthy"]
