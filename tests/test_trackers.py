"""Runs read from where they live: an MLflow tracking server (by URI), an MLflow file store,
W&B offline run folders, and folders of runs through the real CLI.

Every run is a real tiny torch training (an MLP on synthetic regression, 40 SGD steps):
lr 0.05 trains, lr 0.5 (10x) blows up to inf/NaN within a few steps. Each is logged with the
tracker's own client (a real ``mlflow server`` on 127.0.0.1, mlflow's file store, wandb in
offline mode) and read back; the expected values are the losses the training produced.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lrdoctor
from lrdoctor.errors import InputError

torch.set_num_threads(1)

STEPS = 40
HEALTHY_LR, DIVERGING_LR = 0.05, 0.5
BATCH = 128
#: a report of the diverging run must hold one of these
BLOW_UP = {"divergence", "nonfinite"}
#: seconds to wait for `mlflow server` to answer /health (it starts in ~15 s on a loaded 2-core box)
SERVER_START_S = 120


def train(lr: float, steps: int = STEPS, seed: int = 0) -> list[tuple[int, float, float]]:
    """``(step, loss, grad_norm)`` per SGD step of a small MLP on a synthetic regression."""
    torch.manual_seed(seed)
    x = torch.randn(BATCH, 8)
    y = x @ torch.randn(8, 1) + 0.1 * torch.randn(BATCH, 1)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    rows = []
    for step in range(steps):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
        opt.step()
        rows.append((step, loss.item(), gn.item()))
    return rows


@pytest.fixture(scope="module")
def trainings() -> dict[str, tuple[float, list[tuple[int, float, float]]]]:
    return {"healthy": (HEALTHY_LR, train(HEALTHY_LR)), "diverging": (DIVERGING_LR, train(DIVERGING_LR))}


def _losses(rows) -> np.ndarray:
    return np.array([r[1] for r in rows])


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", *args],
                          capture_output=True, text=True, timeout=timeout)


def _kinds(report) -> set[str]:
    return {f.kind for f in report.findings}


def _check_pair(runs: dict, trainings, fmt: str) -> None:
    """The healthy and diverging runs read back: same losses, numeric config, the right verdicts."""
    for name, run in runs.items():
        lr, rows = trainings[name]
        assert run.meta.format == fmt
        assert run.meta.roles["loss"] == "train/loss"
        loss = run.series("loss")
        np.testing.assert_array_equal(loss.steps, [r[0] for r in rows])
        expect = _losses(rows)
        got = loss.values
        finite = np.isfinite(expect) & (np.abs(expect) < 1e300)
        np.testing.assert_allclose(got[finite], expect[finite], rtol=1e-12)
        assert np.isnan(got[np.isnan(expect)]).all()
        assert run.config["lr"] == lr and isinstance(run.config["lr"], float)
        assert run.config["batch_size"] == BATCH and isinstance(run.config["batch_size"], int)
        assert run.config["optimizer"] == "SGD"
    assert _kinds(lrdoctor.diagnose(runs["diverging"])) & BLOW_UP
    healthy = lrdoctor.diagnose(runs["healthy"])
    assert not _kinds(healthy) & BLOW_UP and not healthy.fails("error")


# --- MLflow: a real tracking server ---------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """``mlflow server`` on a free port of 127.0.0.1 with a temporary backend store and
    artifact root; its process group is killed when the module's tests are done.

    The backend is a file store: the server starts in ~8 s here against ~22 s with sqlite
    (whose schema migrations run at every start), and what the client reads over REST is the
    same either way."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", str(root / "mlruns"), "--default-artifact-root", str(root / "artifacts"),
         "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        # the group this fixture started (server + workers); a scratch server needs no
        # graceful shutdown beyond a short grace (uvicorn's takes ~10 s here)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        log.close()


def _log_mlflow(client, experiment_id: str, name: str, lr: float, rows) -> str:
    from mlflow.entities import Metric, Param

    run = client.create_run(experiment_id, run_name=name)
    rid = run.info.run_id
    t0 = int(time.time() * 1000)
    metrics = []
    for step, loss, gn in rows:
        metrics += [Metric("train/loss", loss, t0 + step, step), Metric("lr", lr, t0 + step, step),
                    Metric("grad_norm", gn, t0 + step, step)]
    params = [Param("lr", str(lr)), Param("optimizer", "SGD"), Param("batch_size", str(BATCH))]
    client.log_batch(rid, metrics=metrics, params=params)
    client.set_terminated(rid)
    return rid


def test_mlflow_server_runs_read_back_by_uri(mlflow_server, trainings):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"http://{mlflow_server}")
    exp = client.create_experiment("lrdoctor-server")
    ids = {name: _log_mlflow(client, exp, name, lr, rows) for name, (lr, rows) in trainings.items()}
    runs = {name: lrdoctor.read(f"mlflow://{mlflow_server}/{rid}") for name, rid in ids.items()}
    _check_pair(runs, trainings, "mlflow-server")
    # the real CLI on the URI (typer turns it into a Path, which drops one slash of //)
    out = _cli(f"mlflow://{mlflow_server}/{ids['diverging']}", "--format", "json")
    assert out.returncode == 1, out.stderr
    assert {f["kind"] for f in json.loads(out.stdout)["findings"]} & BLOW_UP
    # a run id the server does not know: one line (the CLI's exit 2 for it is the test below)
    with pytest.raises(InputError, match="MLflow server refused") as err:
        lrdoctor.read(f"mlflow://{mlflow_server}/{'0' * 32}")
    assert "\n" not in str(err.value)


def test_mlflow_server_that_is_down_is_one_line():
    out = _cli(f"mlflow://127.0.0.1:{_free_port()}/abc123", timeout=60)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "cannot reach the MLflow tracking server" in out.stderr


# --- MLflow: the local file store (mlruns/) ----------------------------------------------------

def test_mlflow_file_store_read_without_mlflow(tmp_path, trainings, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # mlflow 3 keeps the file store behind this flag
    store = tmp_path / "mlruns"
    client = MlflowClient(tracking_uri=store.as_uri())
    exp = client.create_experiment("lrdoctor-files")
    ids = {name: _log_mlflow(client, exp, name, lr, rows) for name, (lr, rows) in trainings.items()}
    run_dirs = {name: store / exp / rid for name, rid in ids.items()}
    runs = {name: lrdoctor.read(d) for name, d in run_dirs.items()}
    _check_pair(runs, trainings, "mlflow")
    # a store with two runs is refused by read() and diagnosed per run by the CLI
    with pytest.raises(InputError, match="holds 2 MLflow runs"):
        lrdoctor.read(store)
    out = _cli(str(tmp_path))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "2 runs" in out.stdout and "(diverging)" in out.stdout and "(healthy)" in out.stdout
    # reading the store does not import mlflow
    probe = ("import sys, lrdoctor; lrdoctor.read(sys.argv[1]); "
             "print(sorted(m for m in ('mlflow', 'wandb', 'torch') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", probe, str(run_dirs["healthy"])], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "[]", res.stdout + res.stderr


# --- W&B: offline run folders -------------------------------------------------------------------

@pytest.fixture(scope="module")
def wandb_runs(tmp_path_factory, trainings):
    """The two trainings logged with ``wandb`` in offline mode: name -> run folder."""
    import wandb

    root = tmp_path_factory.mktemp("wandb")
    old = {k: os.environ.get(k) for k in ("WANDB_DIR", "WANDB_SILENT", "WANDB_MODE")}
    os.environ.update(WANDB_DIR=str(root), WANDB_SILENT="true", WANDB_MODE="offline")
    try:
        folders = {}
        for name, (lr, rows) in trainings.items():
            run = wandb.init(mode="offline", dir=root, project="lrdoctor-test", name=name,
                             config={"lr": lr, "optimizer": "SGD", "batch_size": BATCH})
            for step, loss, gn in rows:
                run.log({"train/loss": loss, "lr": lr, "grad_norm": gn}, step=step)
            run.finish()
            folders[name] = Path(run.dir).parent  # <root>/wandb/offline-run-*/files -> the run folder
        yield root, folders
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_wandb_offline_run_folders(wandb_runs, trainings):
    root, folders = wandb_runs
    assert all(f.name.startswith("offline-run-") for f in folders.values())
    runs = {name: lrdoctor.read(f) for name, f in folders.items()}
    _check_pair(runs, trainings, "wandb")
    assert "_runtime" not in runs["healthy"].metrics and "_wandb" not in runs["healthy"].config
    # the wandb/ folder (two runs, a latest-run link, W&B's debug logs) through the CLI: two rows
    out = _cli(str(root / "wandb"), "--format", "json")
    assert out.returncode == 1, out.stderr
    items = json.loads(out.stdout)
    assert len(items) == 2 and all("report" in i for i in items)


def _payload_byte_near(data: bytes, target: int) -> int:
    """The middle byte of the payload of the first chunk of a ``.wandb`` log (LevelDB-style:
    7-byte file header, 32 KiB blocks, chunks of a 7-byte header ``<crc32, length, type>`` and a
    payload) that ends after ``target``."""
    import struct

    block, head = 32768, struct.Struct("<IHB")
    pos = 7
    while pos < len(data):
        left = block - pos % block
        if left < head.size:
            pos += left
            continue
        _, length, _ = head.unpack_from(data, pos)
        if length and pos + head.size + length > target:
            return pos + head.size + length // 2
        pos += head.size + (length or left - head.size)
    raise AssertionError("no chunk reaches the target byte")


def test_wandb_transaction_log_cut_mid_record(wandb_runs, trainings, tmp_path):
    _, folders = wandb_runs
    src = next(folders["healthy"].glob("*.wandb"))
    cut = tmp_path / "offline-run-20260101_000000-cut00001"
    cut.mkdir()
    data = src.read_bytes()
    # cut inside a record's payload (found by walking the chunk headers): a cut at a fixed share of
    # the bytes can land on a record boundary, a clean end of the log, and the test then flaked
    (cut / "run-cut00001.wandb").write_bytes(data[: _payload_byte_near(data, int(len(data) * 0.6))])
    run = lrdoctor.read(cut)
    assert any("reading stopped early" in w for w in run.meta.warnings)
    loss = run.series("loss")
    assert 0 < len(loss) < STEPS
    np.testing.assert_allclose(loss.values, _losses(trainings["healthy"][1])[: len(loss)], rtol=1e-12)
    # a flipped byte inside a record's payload near the middle: the crc stops the scan there, the
    # rows before it are kept (the byte is found by walking the chunk headers as the format lays
    # them out: a flip that lands on a header would be an unknown chunk type instead)
    flipped = bytearray(data)
    flipped[_payload_byte_near(data, len(data) // 2)] ^= 0xFF
    (cut / "run-cut00001.wandb").write_bytes(bytes(flipped))
    run = lrdoctor.read(cut)
    assert any("crc mismatch" in w for w in run.meta.warnings), run.meta.warnings
    assert 0 < len(run.series("loss")) < STEPS


def test_wandb_history_jsonl_and_nested_config_yaml(tmp_path, trainings):
    """A run folder as older SDKs wrote it: files/wandb-history.jsonl and W&B's nested config.yaml."""
    lr, rows = trainings["diverging"]
    folder = tmp_path / "wandb" / "run-20260101_000000-abc12345"
    (folder / "files").mkdir(parents=True)
    with open(folder / "files" / "wandb-history.jsonl", "w") as fh:
        for step, loss, gn in rows:  # json.dumps writes NaN / Infinity, as W&B does
            fh.write(json.dumps({"_step": step, "_runtime": 0.1 * step, "_timestamp": 1.7e9 + step,
                                 "train/loss": loss, "grad_norm": gn}) + "\n")
    (folder / "files" / "config.yaml").write_text(
        "wandb_version: 1\n_wandb:\n  desc: null\n  value:\n    python_version: 3.11.0\n"
        f"lr:\n  desc: null\n  value: {lr}\noptimizer:\n  desc: null\n  value: SGD\n"
        f"batch_size:\n  desc: null\n  value: {BATCH}\n")
    run = lrdoctor.read(folder)
    assert run.config == {"lr": lr, "optimizer": "SGD", "batch_size": BATCH}
    assert run.meta.step_column == "_step" and "_runtime" not in run.metrics
    finite = np.isfinite(_losses(rows))
    np.testing.assert_allclose(run.series("loss").values[finite], _losses(rows)[finite], rtol=1e-12)
    assert _kinds(lrdoctor.diagnose(run)) & BLOW_UP


# --- folders of runs through the real CLI -------------------------------------------------------

def test_folder_of_runs_table_json_and_exit_codes(tmp_path, trainings):
    from torch.utils.tensorboard import SummaryWriter

    folder = tmp_path / "runs"
    w = SummaryWriter(str(folder / "tb_healthy"))
    for step, loss, gn in trainings["healthy"][1]:
        w.add_scalar("Loss/train", loss, step)
        w.add_scalar("grad_norm", gn, step)
    w.close()
    lr, rows = trainings["diverging"]
    (folder / "diverging.csv").write_text("step,loss,lr,grad_norm\n" + "".join(f"{s},{l!r},{lr},{g!r}\n" for s, l, g in rows))
    (folder / "broken.log").write_bytes(bytes(range(256)) * 8)

    out = _cli(str(folder))
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].endswith("3 runs (1 unreadable)")
    assert lines[1].split()[:3] == ["run", "worst", "kinds"]
    row = {ln.split()[0]: ln for ln in lines[2:5]}
    assert set(row) == {"broken.log", "diverging.csv", "tb_healthy"}
    assert row["diverging.csv"].split()[1] == "error" and any(k in row["diverging.csv"] for k in BLOW_UP)
    assert row["tb_healthy"].split()[1] in ("ok", "info", "warning")
    assert row["broken.log"].split()[1] == "unreadable" and "binary file" in row["broken.log"]
    assert "Traceback" not in out.stdout + out.stderr

    assert _cli(str(folder), "--fail-on", "never").returncode == 0

    out = _cli(str(folder), "--format", "json")
    assert out.returncode == 1
    items = {i["source"]: i for i in json.loads(out.stdout)}
    assert set(items) == {"broken.log", "diverging.csv", "tb_healthy"}
    assert "binary file" in items["broken.log"]["error"] and "report" not in items["broken.log"]
    assert {f["kind"] for f in items["diverging.csv"]["report"]["findings"]} & BLOW_UP
    assert items["tb_healthy"]["report"]["run"]["format"] == "tensorboard"

    # nothing readable: exit 2
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.log").write_bytes(b"\x00\x01" * 100)
    (bad / "b.csv").write_text("no,numbers\nx,y\n")
    out = _cli(str(bad))
    assert out.returncode == 2 and "2 runs (2 unreadable)" in out.stdout


def test_folder_with_one_log_reads_it(tmp_path, trainings):
    lr, rows = trainings["healthy"]
    (tmp_path / "train.log").write_text("".join(f"step {s}: loss {l:.6f}, lr {lr}\n" for s, l, _ in rows))
    (tmp_path / "config.yaml").write_text(f"lr: {lr}\n")
    out = _cli(str(tmp_path), "--format", "json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["run"]["source"].endswith("train.log") and report["run"]["steps"] == STEPS


# --- the walk's layouts and bounds, the file store's odd lines (unit tests on small files) ------

def _events(folder: Path, values) -> None:
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(folder))
    for step, v in enumerate(values):
        w.add_scalar("loss", v, step)
    w.close()


def test_walk_keeps_split_and_checkpoint_layouts_whole_and_is_bounded(tmp_path, monkeypatch):
    from lrdoctor.io import folders

    keras = tmp_path / "keras_run"
    _events(keras / "train", [1.0, 0.8, 0.6])
    _events(keras / "validation", [1.1, 0.9, 0.8])
    hf = tmp_path / "hf_run"
    for n in (500, 1500, 1000):
        (hf / f"checkpoint-{n}").mkdir(parents=True)
        (hf / f"checkpoint-{n}" / "trainer_state.json").write_text('{"log_history": []}')
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)  # a link that loops: not followed
    deep = tmp_path / "a" / "b" / "c" / "d" / "e"
    deep.mkdir(parents=True)
    (deep / "train.log").write_text("step 1: loss 1.0\n")  # 5 levels down: past MAX_DEPTH
    (tmp_path / "config.json").write_text("{}")  # a config is no run
    scan = folders.find_runs(tmp_path)
    assert [(r.name, r.kind) for r in scan.runs] == [("hf_run/checkpoint-1500", "file"), ("keras_run", "tensorboard")]
    assert scan.runs[0].path == hf / "checkpoint-1500" / "trainer_state.json"
    assert scan.truncated is None
    monkeypatch.setattr(folders, "MAX_RUNS", 1)
    scan = folders.find_runs(tmp_path)
    assert len(scan.runs) == 1 and "more than 1 runs" in scan.truncated


def test_mlflow_metric_logged_without_steps_and_torn_lines(tmp_path):
    run_dir = tmp_path / "mlruns" / "0" / "abc"
    (run_dir / "metrics").mkdir(parents=True)
    (run_dir / "meta.yaml").write_text("run_id: abc\nrun_name: r\n")
    (tmp_path / "mlruns" / "0" / "meta.yaml").write_text("experiment_id: '0'\nname: Default\n")
    # three points at step 0 (MLflow's default), logged in this order; then a torn last line
    (run_dir / "metrics" / "loss").write_text("1000 3.0 0\n1001 2.0 0\n1002 1.0 0\n1003 0.")
    run = lrdoctor.read(tmp_path / "mlruns")
    np.testing.assert_array_equal(run.series("loss").values, [3.0, 2.0, 1.0])
    np.testing.assert_array_equal(run.steps, [0, 1, 2])
    assert any("logged without steps" in w for w in run.meta.warnings)
    assert any("metrics/loss:4" in w for w in run.meta.warnings)


def test_tracker_uris_are_parsed_or_refused_in_one_line():
    from lrdoctor.io.trackers import parse_tracker_uri

    for text in ("mlflow://127.0.0.1:5000/abc", "mlflow:/127.0.0.1:5000/abc"):  # the second: after pathlib.Path
        uri = parse_tracker_uri(text)
        assert (uri.host, uri.parts, uri.text) == ("127.0.0.1:5000", ("abc",), "mlflow://127.0.0.1:5000/abc")
    assert parse_tracker_uri("mlflow:///abc").host is None
    assert parse_tracker_uri("wandb:/ent/proj/abc").text == "wandb://ent/proj/abc"
    assert parse_tracker_uri("runs/mlflow.csv") is None
    for bad in ("mlflow://host/a/b", "wandb://ent/abc"):
        with pytest.raises(InputError, match="URI is"):
            parse_tracker_uri(bad)
