import json
import subprocess
import sys


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lrdoctor", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_demo_runs_and_shows_the_difference(tmp_path):
    r = run("demo", "--out", tmp_path / "d")
    assert r.returncode == 0, r.stderr
    assert "schedule_overridden" in r.stdout and "only in the broken run" in r.stdout
    assert (tmp_path / "d" / "broken" / "metrics.csv").exists()
    j = run("diagnose", tmp_path / "d" / "broken" / "metrics.csv", "--config", tmp_path / "d" / "broken" / "config.yaml", "--format", "json")
    assert j.returncode == 1
    kinds = {f["kind"] for f in json.loads(j.stdout)["findings"]}
    assert "schedule_overridden" in kinds
    h = run("diagnose", tmp_path / "d" / "healthy" / "metrics.csv", "--fail-on", "warning")
    assert h.returncode == 0, h.stdout


def test_fail_on_levels(tmp_path):
    p = tmp_path / "m.csv"
    # a real-looking loss with a sustained late rise -> divergence error
    p.write_text("step,loss\n" + "\n".join(f"{s},{3 / (1 + s / 20) if s < 150 else 2.0}" for s in range(200)))
    assert run("diagnose", p).returncode == 1
    assert run("diagnose", p, "--fail-on", "never").returncode == 0
    bad = run("diagnose", p, "--fail-on", "sometimes")
    assert bad.returncode == 2
