"""Read time of tracker runs, against the tracker's own reader or lrdoctor's floor.

1. MLflow file store: one run of N steps x 3 metrics. lrdoctor's reader (no mlflow import)
   vs mlflow's own ``MlflowClient(file store).get_metric_history`` for the same keys (the peer).
2. W&B offline run: N steps x 3 metrics logged by ``wandb.log`` in offline mode. lrdoctor's
   ``.wandb`` reader vs lrdoctor's JSON Lines reader on the same rows written as
   ``wandb-history.jsonl`` (the floor: the generic reader of the same records).

Each time is the best of 3 (after one warm-up read), in this process.

    MLFLOW_ALLOW_FILE_STORE=true python bench/tracker_reading.py [--steps 100000] [--wandb-steps 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

import lrdoctor


def best_of(fn, n: int = 3) -> float:
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def losses(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return 2.0 * np.exp(-np.arange(n) / (n / 5)) + 0.05 * rng.random(n)


def bench_mlflow(root: Path, n: int) -> None:
    from mlflow.tracking import MlflowClient

    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    client = MlflowClient(tracking_uri=(root / "mlruns").as_uri())
    exp = client.create_experiment("bench")
    rid = client.create_run(exp).info.run_id
    for key in ("train/loss", "lr", "grad_norm"):
        client.log_metric(rid, key, 0.0, step=0)
    run_dir = root / "mlruns" / exp / rid
    loss = losses(n)
    cols = {"train/loss": loss, "lr": np.full(n, 1e-3), "grad_norm": 1.0 + loss}
    t0 = 1796129639945
    for key, vals in cols.items():  # the file store's own line format, written in bulk
        with open(run_dir / "metrics" / key, "w") as fh:
            fh.writelines(f"{t0 + i} {float(v)!r} {i}\n" for i, v in enumerate(vals))
    ours = best_of(lambda: lrdoctor.read(run_dir))
    peer = best_of(lambda: [client.get_metric_history(rid, k) for k in cols])
    run = lrdoctor.read(run_dir)
    assert run.n_steps == n and np.allclose(run.series("loss").values, loss)
    print(f"mlflow file store, {n:,} steps x 3 metrics: lrdoctor {ours:.3f} s, "
          f"mlflow get_metric_history {peer:.3f} s, ratio {peer / ours:.1f}x faster")


def bench_wandb(root: Path, n: int) -> None:
    import wandb

    os.environ.update(WANDB_DIR=str(root), WANDB_SILENT="true", WANDB_MODE="offline")
    loss = losses(n)
    t = time.perf_counter()
    run = wandb.init(mode="offline", dir=root, project="bench", config={"lr": 1e-3})
    for i in range(n):
        run.log({"train/loss": float(loss[i]), "lr": 1e-3, "grad_norm": float(1.0 + loss[i])}, step=i)
    run.finish()
    logging_s = time.perf_counter() - t
    folder = Path(run.dir).parent
    log = next(folder.glob("*.wandb"))
    ours = best_of(lambda: lrdoctor.read(folder))
    jsonl = root / "history.jsonl"
    with open(jsonl, "w") as fh:
        for i in range(n):
            fh.write(json.dumps({"_step": i, "train/loss": float(loss[i]), "lr": 1e-3, "grad_norm": float(1.0 + loss[i])}) + "\n")
    floor = best_of(lambda: lrdoctor.read(jsonl))
    got = lrdoctor.read(folder)
    assert got.n_steps == n and np.allclose(got.series("loss").values, loss)
    print(f"wandb offline run, {n:,} steps x 3 metrics ({log.stat().st_size / 2**20:.1f} MiB .wandb, "
          f"logged in {logging_s:.1f} s): lrdoctor .wandb {ours:.3f} s, lrdoctor jsonl of the same rows "
          f"{floor:.3f} s, ratio {ours / floor:.2f}x the floor")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--wandb-steps", type=int, default=20_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_mlflow(Path(tmp), args.steps)
        bench_wandb(Path(tmp), args.wandb_steps)


if __name__ == "__main__":
    main()
