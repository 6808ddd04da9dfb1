"""LR x seed sweeps: real training runs (serial, process pool, local Ray), the CLI in a
subprocess killed mid-sweep and resumed, and the BlobNet reproduction (reduced)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import lrdoctor
from lrdoctor.backends import LocalPool, get_backend

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
TASKS = str(ROOT / "tests" / "sweep_tasks.py")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _strict_json(path: Path) -> dict:
    def no_constant(name):
        raise ValueError(f"{path}: non-standard JSON constant {name}")
    return json.loads(path.read_text(), parse_constant=no_constant)


def test_serial_sweep_table_recommendation_and_files(tmp_path):
    res = lrdoctor.sweep(f"{TASKS}:mlp", [0.01, 0.1, 1.0], 3, 60, backend="serial", out=tmp_path / "s", progress=False)
    rows = {r.lr: r for r in res.rows()}
    # SGD at 1.0 diverges on this regression for every seed; 0.01 and 0.1 converge
    assert (rows[1.0].n_success, rows[0.1].n_success, rows[0.01].n_success) == (0, 3, 3)
    assert {"nonfinite", "divergence"} & set(rows[1.0].findings)  # the core detectors, on each cell's Monitor log
    assert [f.seed for f in rows[1.0].failures] == [0, 1, 2] and not math.isfinite(rows[1.0].failures[0].last)
    # most reliable first, then the best final loss: 0.1 beats 0.01 on loss at equal reliability
    assert res.recommended_lr == 0.1 and rows[0.1].final < rows[0.01].final
    assert "3/3 seeds succeed at 0.1" in res.recommendation.reason
    assert rows[0.1].steps_to_threshold < rows[0.01].steps_to_threshold
    # a user-defined success (final loss < 0.1) judges the same cells differently
    from lrdoctor.experiments import SweepResult, final_below
    strict = SweepResult(res.plan, res.cells, res.out_dir, criterion=final_below(0.1))
    by_lr = {r.lr: r.n_success for r in strict.rows()}
    finals = {c.seed: sum(c.losses[-5:]) / 5 for c in res.cells if c.lr == 0.1}
    assert by_lr == {0.01: 0, 0.1: sum(f < 0.1 for f in finals.values()), 1.0: 0}
    # step 0 is the loss before any update: the same number a hand-written loop computes
    torch.manual_seed(0)
    import importlib.util
    spec = importlib.util.spec_from_file_location("tasks_for_check", TASKS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    task = mod.mlp()
    model = task.model_fn()
    x, y = task.batches[0]
    expected0 = torch.nn.functional.mse_loss(model(x), y).item()
    cell = next(c for c in res.cells if c.lr == 0.01 and c.seed == 0)
    assert cell.losses[0] == pytest.approx(expected0, rel=1e-6)
    assert len(cell.losses) == 61 and "0" not in cell.evals and "59" in cell.evals  # eval at the end
    # one strict-JSON file per cell and a Monitor log per run
    files = sorted((tmp_path / "s" / "cells").glob("*.json"))
    assert len(files) == 9
    diverged = _strict_json(tmp_path / "s" / "cells" / "lr=1_seed=0.json")
    assert diverged["losses"][-1] is None or diverged["losses"][-1] in ("inf", "-inf")
    assert all((Path(c.log_dir) / "lrdoctor.jsonl").is_file() for c in res.cells)
    table = res.table()
    for column in ("success", "loss@0", "loss@20", "min (step)", "steps to", "findings", "failures"):
        assert column in table
    assert "recommended lr: 0.1" in table and "seed sensitivity at 0.1" in table
    assert len(res.to_dataframe()) == 3 and len(res.to_dataframe(per_cell=True)) == 9
    res.plot(tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").stat().st_size > 10_000


def _specs(tmp_path, marker):
    """Four real training cells (two LRs x two seeds), a cell whose task fails on its first
    attempt only, a cell whose loss always raises, a cell that reports its torch threads, and
    a cell that kills its worker process on its first attempt."""
    from lrdoctor.experiments.sweep_cell import CellSpec

    cell = lambda task, lr, seed, **kw: CellSpec(task=f"{TASKS}:{task}", lr=lr, seed=seed, steps=30,
                                                 log_dir=str(tmp_path / f"{task}-{lr}-{seed}"), **kw)
    return [cell("mlp", lr, s) for lr in (0.05, 1.0) for s in (0, 1)] + \
        [cell("fail_once", 0.05, 0, task_kwargs={"marker": str(marker)}), cell("broken", 0.05, 0), cell("threads", 0.05, 0),
         cell("die_once", 0.05, 0, task_kwargs={"marker": str(marker) + ".died"})]


def _check_backend_outcomes(got, specs, marker, tmp_path):
    from lrdoctor.experiments.sweep_cell import run_cell

    for i in range(4):  # bit-identical to the same cell run in this process: seeding is per cell
        again = run_cell(specs[i].__class__(**{**specs[i].__dict__, "log_dir": str(tmp_path / f"again{i}")}))
        assert got[i].ok and got[i].value["losses"] == again["losses"]
    assert marker.exists() and got[4].ok and len(got[4].value["losses"]) == 31  # failed once, retried once
    # then reported (a third run when one of its attempts was lost to the killed worker, on the pool)
    assert got[5].error.startswith("RuntimeError: broken loss") and got[5].attempts in (2, 3)
    # a worker killed mid-cell: the cell (and, on the pool, every cell the dead pool held) reruns once
    assert Path(str(marker) + ".died").exists() and got[7].ok and len(got[7].value["losses"]) == 31
    assert len(got) == len(specs)


def test_local_pool_deterministic_threads_retry(tmp_path):
    from lrdoctor.experiments.sweep_cell import run_cell

    marker = tmp_path / "attempted"
    specs = _specs(tmp_path, marker)
    with LocalPool(workers=2) as pool:
        assert pool.threads_per_worker == max(1, len(os.sched_getaffinity(0)) // 2)
        got = {o.index: o for o in pool.run(run_cell, specs)}  # one pool, seven cells
        # the pool's workers are kept: a sweep on it reuses them
        res = lrdoctor.sweep(f"{TASKS}:mlp", [0.05, 1.0], 2, 30, backend=pool, out=tmp_path / "pool", progress=False)
        assert pool._executor is not None
    _check_backend_outcomes(got, specs, marker, tmp_path)
    assert got[6].value["evals"]["29"]["eval_threads"] == pool.threads_per_worker  # no oversubscription
    assert res.recommended_lr == 0.05 and {c.seed: c.losses for c in res.cells if c.lr == 0.05}[1] == got[1].value["losses"]


def test_ray_backend_sweep_retry_and_failure_report(tmp_path):
    ray = pytest.importorskip("ray")  # the dev extra installs it; CI runs this test
    from lrdoctor.experiments.sweep_cell import run_cell

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        marker = tmp_path / "attempted"
        specs = _specs(tmp_path, marker)
        got = {o.index: o for o in get_backend("ray", num_cpus=1).run(run_cell, specs)}
        _check_backend_outcomes(got, specs, marker, tmp_path)
        assert got[6].value["evals"]["29"]["eval_threads"] == 1  # the task's num_cpus
        res = lrdoctor.sweep(f"{TASKS}:mlp", [0.05, 1.0], 2, 30, backend="ray", out=tmp_path / "ray", progress=False)
        assert res.recommended_lr == 0.05 and len(list((tmp_path / "ray" / "cells").glob("*.json"))) == 4
        assert {c.seed: c.losses for c in res.cells if c.lr == 0.05}[1] == got[1].value["losses"]
    finally:
        ray.shutdown()


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "lrdoctor", *args], capture_output=True, text=True, env=ENV,
                          cwd=ROOT, timeout=120, **kw)


def test_cli_sweep_killed_mid_way_resumes_without_redoing_cells(tmp_path):
    out = tmp_path / "sw"
    cmd = [sys.executable, "-m", "lrdoctor", "sweep", f"{TASKS}:slow_mlp", "--lrs", "0.01,0.1", "--seeds", "4",
           "--steps", "20", "--backend", "local", "--workers", "2", "--out", str(out), "--task-arg", "delay=0.02"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, cwd=ROOT,
                            start_new_session=True)
    deadline = time.time() + 60
    while len(list((out / "cells").glob("*.json"))) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its pool's workers
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    assert 3 <= len(before) < 8, "the sweep was not killed mid-way"
    p = _cli("sweep", "--resume", str(out), "--backend", "serial")
    assert p.returncode == 0, p.stderr
    after = {q.name: q.stat().st_mtime_ns for q in (out / "cells").glob("*.json")}
    assert len(after) == 8 and all(after[n] == t for n, t in before.items())  # finished cells not rerun
    assert "4/4 (100%)" in p.stdout and "recommended lr: 0.1" in p.stdout
    assert "8/8 cells" in p.stderr and "0 failed" in p.stderr  # the progress bar (stderr)
    # a cell cut off by the kill left a partial Monitor log: the rerun replaced it, not appended to it
    logs = [len((d / "lrdoctor.jsonl").read_text().splitlines()) for d in (out / "logs").iterdir()]
    assert logs == [20] * 8


def test_cli_sweep_bad_input_is_one_line_exit_2(tmp_path):
    for args, needle in [(["sweep", "nosuch.py:make", "--lrs", "1e-3"], "task file not found"),
                         (["sweep", f"{TASKS}:mlp", "--lrs", "1e-3,abc"], "--lrs"),
                         (["sweep", "--resume", str(tmp_path)], "not a sweep directory")]:
        p = _cli(*args, "--backend", "serial", "--out", str(tmp_path / "o"))
        assert p.returncode == 2 and needle in p.stderr and len(p.stderr.strip().splitlines()) == 1, (args, p.stderr)
        assert "Traceback" not in p.stderr


def test_input_checks_before_any_worker_starts(tmp_path):
    from lrdoctor.cli.sweep import parse_lrs

    assert parse_lrs("log:1e-5:1e-1:5") == [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    assert parse_lrs("1e-4, 5e-4") == [1e-4, 5e-4]
    for bad in ("log:1e-1:1e-3:4", "0,1e-3", "log:1e-3:1e-1"):
        with pytest.raises(lrdoctor.InputError, match="--lrs"):
            parse_lrs(bad)
    with pytest.raises(lrdoctor.InputError, match="takes no argument 'width'"):
        lrdoctor.sweep(f"{TASKS}:mlp", [1e-3], 1, 5, backend="serial", out=tmp_path / "a", task_kwargs={"width": 3})
    with pytest.raises(lrdoctor.InputError, match="seeds"):
        lrdoctor.sweep(f"{TASKS}:mlp", [1e-3], 0, 5, backend="serial", out=tmp_path / "b")
    lrdoctor.sweep(f"{TASKS}:mlp", [1e-3], 1, 5, backend="serial", out=tmp_path / "c", progress=False)
    with pytest.raises(lrdoctor.InputError, match="different sweep"):
        lrdoctor.sweep(f"{TASKS}:mlp", [1e-3], 1, 7, backend="serial", out=tmp_path / "c")


# --- BlobNet: post-mortem #1's network --------------------------------------------------------

def _blobnet():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import blobnet
    finally:
        sys.path.pop(0)
    return blobnet


def test_blobnet_parameter_breakdown_matches_the_post_mortem():
    blobnet = _blobnet()
    parts = blobnet.parameter_breakdown(blobnet.BlobNet())
    # the post-mortem's counts, part by part
    assert parts == {"input embedding": 65_792, "transformer": 4_738_560, "policy head": 79_156, "value head": 33_025}
    # its stated total is 768 more than its own parts (docs/reproductions/blobnet.md)
    assert 4_917_301 - sum(parts.values()) == 768


def test_blobnet_four_experiments_reduced(tmp_path):
    """REDUCED for CI: d_model 32, 2 layers, 2 seeds, 20/30 steps (the full run: docs/reproductions/blobnet.md)."""
    js = tmp_path / "exp.json"
    p = _cli("experiments", "examples/blobnet.py:make_reduced", "--lrs", "1e-3,1e-1", "--seeds", "2", "--steps", "20",
             "--long-steps", "30", "--long-seeds", "1", "--sensitivity-seeds", "3", "--backend", "serial",
             "--out", str(tmp_path / "x"), "--json", str(js), "--no-progress")
    assert p.returncode == 0, p.stderr
    for title in ("1. success rate over 2 seeds", "2. loss at steps 0/20", "3. long runs on static data",
                  "4. seed sensitivity at lr"):
        assert title in p.stdout
    got = json.loads(js.read_text())
    assert set(got["success_rate"]) == {"0.001", "0.1"} and set(got["loss_at"]["0.001"]) >= {"0", "20", "min_step"}
    assert got["success_rate"]["0.001"] > got["success_rate"]["0.1"] and got["recommended_lr"] == 0.001
    # the post-mortem's red flag "policy entropy -> max": logged by the task's loss_fn, found by the detectors
    table2 = p.stdout.split("2. loss at steps")[1].split("recommended lr")[0]
    row = {line.split()[0]: line for line in table2.splitlines() if line[:1].isdigit()}
    assert "entropy_collapse" in row["0.1"] and "entropy_collapse" not in row["0.001"]
    assert got["seed_sensitivity"]["n"] == 3 and got["seed_sensitivity"]["lr"] == got["recommended_lr"]
    # experiment 4 reused experiment 1's cells at the chosen LR: only seed 2 was trained again
    lr = got["recommended_lr"]
    reused = json.loads((tmp_path / "x" / "seeds" / "cells" / f"lr={lr:g}_seed=0.json").read_text())
    assert "/grid/" in reused["log_dir"]
    assert set(got["long_runs"]) == {"0.001", "0.1"}
