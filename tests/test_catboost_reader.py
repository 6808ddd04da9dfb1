"""CatBoost's catboost_training.json, read from real CatBoost fits (seconds on one thread).

Issue 9's blind slice fresh720 met one such file and lrdoctor refused it ("JSON file is neither a
trainer_state.json ..."); about ten thousand public repositories commit one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from catboost import CatBoostClassifier
from sklearn.datasets import load_digits

import lrdoctor

BENCH_FILE = (Path(__file__).resolve().parents[1] / "bench" / "detection_logs" / "fresh720"
              / "s5e8-catboost-training-json" / "catboost_training.json")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "lrdoctor", *map(str, args)], capture_output=True, timeout=120)


def noisy_binary(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One informative feature of ten, under noise 1.5x its scale: little to learn, much to memorise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10))
    return x, (x[:, 0] + 1.5 * rng.normal(size=n) > 0).astype(int)


def fit(tmp: Path, n_train: int, **params) -> Path:
    x, y = noisy_binary(n_train + 1000, seed=0)
    model = CatBoostClassifier(iterations=200, thread_count=1, random_seed=0, train_dir=str(tmp), verbose=False, **params)
    model.fit(x[:n_train], y[:n_train], eval_set=(x[n_train:], y[n_train:]))
    return tmp / "catboost_training.json"


def warnings_of(report) -> list[str]:
    return [f.kind for f in report.findings if f.severity.rank >= 1]


def test_memorising_fit_is_overfitting_and_its_healthy_twin_is_silent(tmp_path):
    # 80 examples, depth 6, LR 0.5, no L2: the training Logloss goes to ~0 while the held-out one
    # rises from the first iteration (confident wrong answers)
    bad = lrdoctor.read(fit(tmp_path / "bad", 80, learning_rate=0.5, depth=6, l2_leaf_reg=0.01))
    assert bad.meta.format == "catboost"
    assert bad.meta.roles["loss"] == "learn_Logloss" and bad.meta.roles["eval_loss"] == "test_Logloss"
    assert bad.n_steps == 200 and bad.steps[0] == 0 and bad.steps[-1] == 199
    ev = bad.series("eval_loss").values
    assert ev[-1] > 1.3 * ev.min()  # the fit itself overfits (not the reader's doing)
    found = [f for f in lrdoctor.diagnose(bad).findings if f.kind == "overfitting"]
    assert found and found[0].start_step == float(np.argmin(ev))
    # 2,000 examples, depth 3, LR 0.03: the held-out Logloss falls to its floor and stays there
    good = lrdoctor.read(fit(tmp_path / "good", 2000, learning_rate=0.03, depth=3))
    gv = good.series("eval_loss").values
    assert gv[-1] < 0.9 * gv[0]
    assert warnings_of(lrdoctor.diagnose(good)) == []


def test_multiclass_objective_plays_the_loss(tmp_path):
    # CatBoost's MultiClass objective is no loss word: the file's first learn metric (minimised)
    # is the objective, so it is the loss, and the same metric on the eval set the eval loss
    x, y = load_digits(return_X_y=True)
    model = CatBoostClassifier(iterations=60, learning_rate=0.1, depth=4, thread_count=1, random_seed=0,
                               train_dir=str(tmp_path), verbose=False, custom_metric=["Accuracy"])
    model.fit(x[:600], y[:600], eval_set=(x[600:], y[600:]))
    run = lrdoctor.read(tmp_path / "catboost_training.json")
    assert run.meta.roles["loss"] == "learn_MultiClass"
    assert run.meta.roles["eval_loss"] == "test_MultiClass"
    assert "test_Accuracy" in run.metrics
    loss = run.series("loss").values
    assert loss[0] > 2.0 and loss[-1] < 0.7 * loss[0]  # ln 10 = 2.30 at the start, falling


def test_file_cut_mid_fit_is_read_to_its_last_iteration(tmp_path):
    src = fit(tmp_path / "fit", 2000, learning_rate=0.03, depth=3)
    lines = src.read_text().splitlines(keepends=True)
    cut = tmp_path / "catboost_training.json"
    cut.write_text("".join(lines[:53]) + lines[53][:60])  # header (3 lines), iterations 0-49, a part of 50
    assert '"test"' not in lines[53][:60]
    run = lrdoctor.read(cut)
    # read up to the last complete value: iteration 50 keeps what was written of it (its learn
    # value), and no evaluation
    assert run.steps[-1] == 50 and run.series("loss").finite().steps[-1] == 50
    assert run.series("eval_loss").finite().steps[-1] == 49
    assert any("cut off" in w for w in run.meta.warnings)
    proc = cli("diagnose", cut)
    assert proc.returncode == 0, proc.stderr
    assert b"cut off" in proc.stdout and b"learn_Logloss" in proc.stdout


def test_bench_file_from_a_public_repository_reads():
    # the file of fresh720 (MIT, lionel509/s5e8-bank-classifier), itself cut after iteration 39
    proc = cli("diagnose", BENCH_FILE, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)["run"]
    assert run["format"] == "catboost" and run["steps"] == 40 and run["last_step"] == 39
    assert run["roles"]["loss"] == "learn_Logloss" and run["roles"]["eval_loss"] == "test_Logloss"
    assert "test_AUC" in run["metrics"]
    assert any("cut off" in w for w in run["warnings"])


@pytest.mark.parametrize("doc, word", [
    ({"meta": {"learn_metrics": [], "test_metrics": []}, "iterations": []}, "numeric columns seen: none"),
    ({"meta": {"learn_metrics": [{"name": "RMSE", "best_value": "Min"}]}, "iterations": [{"iteration": 0}]}, "numeric columns seen: iteration"),
])
def test_catboost_file_without_metrics_is_refused_in_one_line(tmp_path, doc, word):
    path = tmp_path / "catboost_training.json"
    path.write_text(json.dumps(doc))
    proc = cli("diagnose", path)
    assert proc.returncode == 2
    err = proc.stderr.decode().strip()
    assert len(err.splitlines()) == 1 and word in err and "Traceback" not in err


def test_catboost_info_folders_are_one_run_each(tmp_path):
    # a catboost_info/ folder also holds learn_error.tsv, test_error.tsv, time_left.tsv and
    # TensorBoard events under learn/ and test/: all parts of the one run its JSON file holds
    (tmp_path / "sweep").mkdir()  # (CatBoost makes its train_dir, not the folders above it)
    fit(tmp_path / "sweep" / "small_data", 80, learning_rate=0.5, depth=6, l2_leaf_reg=0.01)
    fit(tmp_path / "sweep" / "large_data", 2000, learning_rate=0.03, depth=3)
    assert (tmp_path / "sweep" / "small_data" / "learn_error.tsv").is_file()
    one = cli("diagnose", tmp_path / "sweep" / "large_data")
    assert one.returncode == 0 and b"[catboost, 200 rounds]" in one.stdout, one.stdout + one.stderr
    both = cli("diagnose", tmp_path / "sweep")
    out = both.stdout.decode()
    assert both.returncode == 0 and "2 runs" in out, out
    rows = {line.split()[0]: line for line in out.splitlines()[2:] if line.strip()}
    assert "overfitting" in rows["small_data"] and rows["large_data"].split()[1] == "ok"


def test_the_per_set_tables_read_alone_keep_their_set(tmp_path):
    """``test_error.tsv`` (header ``iter	Logloss``) holds the evaluation set's metrics and says so
    only by its name: read alone, its Logloss was the training loss, and a held-out loss rising
    from the first iterations read as a divergence of training (issue 9's blind slice fresh927:
    two committed test_error.tsv files, labelled overfitting, reported as divergence)."""
    bad = fit(tmp_path / "bad", 80, learning_rate=0.5, depth=6, l2_leaf_reg=0.01).parent
    assert (bad / "test_error.tsv").read_text().startswith("iter\tLogloss\n")
    held = lrdoctor.read(bad / "test_error.tsv")
    assert held.meta.roles == {"eval_loss": "test_Logloss"} and held.steps[0] == 0 and held.n_steps == 200
    assert "loss" not in held.meta.roles and any("test set" in w for w in held.meta.warnings)
    kinds = warnings_of(lrdoctor.diagnose(held))
    assert "overfitting" in kinds and "divergence" not in kinds
    assert lrdoctor.read(bad / "learn_error.tsv").meta.roles["loss"] == "learn_Logloss"
    # the healthy twin's held-out table: no warning
    good = fit(tmp_path / "good", 2000, learning_rate=0.03, depth=3).parent
    assert warnings_of(lrdoctor.diagnose(lrdoctor.read(good / "test_error.tsv"))) == []
    # a file of that name that is no CatBoost table (no ``iter`` column) is read as any TSV
    other = tmp_path / "other" / "test_error.tsv"
    other.parent.mkdir()
    other.write_text("step\tloss\n1\t2.0\n2\t1.5\n3\t1.2\n")
    assert lrdoctor.read(other).meta.roles["loss"] == "loss"
