"""``lrdoctor diagnose --set KEY=VALUE``: a config value on the command line, e.g. the class count
that slow_progress's chance-level rules need when the log never names it (stop 81)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: a BEiT on HuSHeM (four classes) whose accuracy sits at 0.24-0.27 and whose card never names K
HUSHEM = ROOT / "bench/detection_logs/fresh1506/hkivancoral-hushem-1x-beit-base-rms-001-fold3/training_results.md"


def _diagnose(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", *args], capture_output=True, text=True, cwd=ROOT)


def test_without_the_class_count_slow_progress_is_checked_only_in_part():
    out = _diagnose(str(HUSHEM), "--format", "json")
    report = json.loads(out.stdout)
    assert "slow_progress" in report["coverage"]["partial"]
    assert "--set num_classes=K" in report["coverage"]["partial"]["slow_progress"]
    assert "slow_progress" not in {f["kind"] for f in report["findings"]}


def test_set_num_classes_lets_the_chance_rules_judge_the_run():
    out = _diagnose(str(HUSHEM), "--set", "num_classes=4", "--format", "json")
    report = json.loads(out.stdout)
    kinds = {f["kind"]: f["severity"] for f in report["findings"]}
    assert kinds.get("slow_progress") == "error"
    assert "slow_progress" not in report["coverage"].get("partial", {})
    assert out.returncode == 1  # --fail-on error (the default)


def test_set_takes_the_value_over_the_config_file(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("num_classes: 40\n")
    over = json.loads(_diagnose(str(HUSHEM), "--config", str(cfg), "--set", "num_classes=4", "--format", "json").stdout)
    assert "slow_progress" in {f["kind"] for f in over["findings"]}
    alone = json.loads(_diagnose(str(HUSHEM), "--config", str(cfg), "--format", "json").stdout)
    assert "slow_progress" not in {f["kind"] for f in alone["findings"]}  # 0.25 is not chance among 40


def test_a_folder_of_runs_gets_the_value_for_each_run(tmp_path):
    for name in ("fold3", "fold3-copy"):
        (tmp_path / name).mkdir()
        shutil.copy(HUSHEM, tmp_path / name / "train.log")
    rows = json.loads(_diagnose(str(tmp_path), "--set", "num_classes=4", "--format", "json").stdout)
    assert len(rows) == 2
    assert all("slow_progress" in {f["kind"] for f in r["report"]["findings"]} for r in rows)


def test_bad_set_values_get_one_line_and_exit_code_2():
    for bad, says in (("num_classes=four", "expected a whole number"), ("num_classes", "expected KEY=VALUE"),
                      ("num_classes=[1, 2]", "expected one value")):
        out = _diagnose(str(HUSHEM), "--set", bad)
        assert out.returncode == 2, bad
        assert out.stderr.count("\n") == 1 and says in out.stderr and "Traceback" not in out.stderr
