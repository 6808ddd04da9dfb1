"""Does every CLI input finish within 10 s per 100 MB and 2 GB of memory, or get refused in one line?

For each input type the CLI reads (CSV, TSV, YOLO results.csv, text log, JSON Lines, HF
trainer_state.json, Keras history JSON, gym Monitor CSV, TensorBoard event file) a
realistic log of ~10 MB and ~100 MB is generated, plus the hostile shapes of issue 10
(one 100 MB line of CSV, of text, of JSON Lines; 100 MB of nested JSON brackets). Each
file goes through the real ``python -m lrdoctor diagnose FILE --format json`` in a fresh
process; wall time and the child's peak RSS (``os.wait4``) are measured. The ratio printed
is CPU time / budget (budget: 10 s per 100 MB, at least 2 s for the interpreter start;
CPU time, user + system, because wall time on a shared machine measures the neighbours) and
peak RSS / 2 GiB; both must be <= 1. Wall time is printed beside it. The floor column is ``python -c 'read the bytes'`` in the
same conditions, the least any reader could cost. The ``est MB`` column is the CLI's
up-front estimate of the peak (:mod:`lrdoctor.io.budget`); ``meas/est`` must stay <= 1 for
the refusal to keep its promise (a file the estimate lets through stays within the limit).
An input whose estimate is over the limit (2048 MB by default) is refused before reading.

    python bench/reader_scaling.py                       # 10 MB and 100 MB
    python bench/reader_scaling.py --sizes 10            # quick
    python bench/reader_scaling.py --sizes 100 500 1000  # the sizes where the limit bites
    python bench/reader_scaling.py --sizes 1000 --kinds csv --max-memory-mb 0  # the cost of a refused one
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: The issue's bounds.
SECONDS_PER_100MB, MIN_BUDGET_S, MEMORY_BUDGET = 10.0, 2.0, 2 << 30
MB = 1 << 20


def _rows(n_bytes: int, row_len: int) -> int:
    return max(10, n_bytes // row_len)


def _loss(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    s = np.arange(n)
    return 3.0 / (1 + s / (n / 20)) + 0.02 * rng.standard_normal(n)


def _write_lines(path: Path, n: int, fmt) -> None:  # type: ignore[no-untyped-def]
    loss = _loss(n)
    with open(path, "w") as fh:
        for start in range(0, n, 100_000):
            fh.write("".join(fmt(i, loss[i]) for i in range(start, min(n, start + 100_000))))


def make(kind: str, size_mb: int, folder: Path) -> Path:
    n_bytes = size_mb * MB
    if kind == "csv":
        p = folder / "metrics.csv"
        n = _rows(n_bytes, 40)
        with open(p, "w") as fh:
            fh.write("step,loss,lr,grad_norm\n")
        _write_lines(p.with_suffix(".body"), n, lambda i, v: f"{i},{v:.6f},0.001,{1 + v:.5f}\n")
        _append(p, p.with_suffix(".body"))
    elif kind == "tsv":
        p = folder / "metrics.tsv"
        n = _rows(n_bytes, 40)
        p.write_text("step\tloss\tlr\tgrad_norm\n")
        _write_lines(p.with_suffix(".body"), n, lambda i, v: f"{i}\t{v:.6f}\t0.001\t{1 + v:.5f}\n")
        _append(p, p.with_suffix(".body"))
    elif kind == "yolo":
        p = folder / "results.csv"
        head = "                  epoch,         train/box_loss,         train/cls_loss,   metrics/mAP50(B),                   lr/pg0\n"
        p.write_text(head)
        _write_lines(p.with_suffix(".body"), _rows(n_bytes, 120),
                     lambda i, v: f"{i + 1:>23},{v:>23.5f},{v / 2:>23.5f},{0.5:>19.5f},{0.001:>25.5f}\n")
        _append(p, p.with_suffix(".body"))
    elif kind == "text":
        p = folder / "train.log"
        _write_lines(p, _rows(n_bytes, 60), lambda i, v: f"step {i}: loss={v:.5f} lr=0.001 grad_norm={1 + v:.4f}\n")
    elif kind == "jsonl":
        p = folder / "trainer_log.jsonl"
        _write_lines(p, _rows(n_bytes, 60), lambda i, v: f'{{"step": {i}, "loss": {v:.6f}, "lr": 0.001}}\n')
    elif kind == "hf":
        p = folder / "trainer_state.json"
        n = _rows(n_bytes, 95)
        loss = _loss(n)
        with open(p, "w") as fh:
            fh.write('{"global_step": %d, "log_history": [\n' % n)
            for start in range(0, n, 100_000):
                fh.write(",\n".join(f'{{"epoch": {i / n:.4f}, "grad_norm": {1 + loss[i]:.4f}, "learning_rate": 5e-05, '
                                    f'"loss": {loss[i]:.4f}, "step": {i}}}' for i in range(start, min(n, start + 100_000))))
                fh.write(",\n" if start + 100_000 < n else "\n")
            fh.write("]}\n")
    elif kind == "keras":
        p = folder / "history.json"
        n = _rows(n_bytes, 40)
        loss = _loss(n)
        p.write_text(json.dumps({"loss": loss.round(6).tolist(), "val_loss": (loss * 1.1).round(6).tolist()}))
    elif kind == "monitor":
        p = folder / "0.monitor.csv"
        p.write_text('#{"t_start": 0, "env_id": "CartPole-v1"}\nr,l,t\n')
        _write_lines(p.with_suffix(".body"), _rows(n_bytes, 25), lambda i, v: f"{100 - 10 * v:.1f},{200},{i * 0.01:.2f}\n")
        _append(p, p.with_suffix(".body"))
    elif kind == "tensorboard":
        p = folder / "events.out.tfevents.1.bench"
        _tensorboard(p, n_bytes, folder)
    elif kind == "csv-one-line":
        p = folder / "one.csv"
        _repeat(p, b"1.5,", n_bytes)
    elif kind == "text-one-line":
        p = folder / "one.log"
        _repeat(p, b"loss ", n_bytes)
    elif kind == "jsonl-one-line":
        p = folder / "one.jsonl"
        _repeat(p, b'{"loss": 1, "x": [' + b"1," * 10, n_bytes, tail=b"1]}\n")
    elif kind == "json-brackets":
        p = folder / "deep.json"
        _repeat(p, b"[", n_bytes // 2, tail=b"]" * (n_bytes // 2))
    else:
        raise ValueError(kind)
    return p


def _append(p: Path, body: Path) -> None:
    with open(p, "ab") as out, open(body, "rb") as src:
        while chunk := src.read(8 * MB):
            out.write(chunk)
    body.unlink()


def _repeat(p: Path, unit: bytes, n_bytes: int, tail: bytes = b"") -> None:
    block = unit * (MB // len(unit))
    with open(p, "wb") as fh:
        for _ in range(max(1, n_bytes // len(block))):
            fh.write(block)
        fh.write(tail)


def _tensorboard(p: Path, n_bytes: int, folder: Path) -> None:
    """A real SummaryWriter file of ~1 MB, repeated (a TFRecord stream of whole records
    stays valid when concatenated; the repeats read as a resumed run)."""
    import torch

    torch.set_num_threads(1)
    from torch.utils.tensorboard import SummaryWriter

    d = folder / "tb"
    w = SummaryWriter(str(d))
    loss = _loss(12_000)
    for i in range(12_000):
        w.add_scalar("loss", float(loss[i]), i)
        w.add_scalar("lr", 0.001, i)
    w.close()
    one = next(d.glob("*tfevents*")).read_bytes()
    with open(p, "wb") as fh:
        for _ in range(max(1, n_bytes // len(one))):
            fh.write(one)


def measure(cmd: list[str]) -> tuple[float, float, int, int, str]:
    """(wall seconds, CPU seconds, peak RSS bytes, exit code, last stderr line) of one fresh process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
    return took, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, proc.returncode, (lines[-1] if lines else "")


def _reason(line: str, p: Path) -> str:
    """The refusal without its ``lrdoctor: PATH:`` prefix; the memory budget's as one phrase."""
    reason = line.split(f"{p}", 1)[-1].lstrip(":0123456789 ")
    return "before reading, estimated peak over the limit" if "would need about" in reason else reason


def _estimate(p: Path) -> int:
    """The CLI's up-front peak estimate (bytes), computed in a child like everything else
    (0 when the sniffer refuses the file: the CLI refuses it too)."""
    code = ("import sys; from pathlib import Path; from lrdoctor.io import detect_format; "
            "from lrdoctor.io.budget import estimate_peak; p = Path(sys.argv[1]); "
            "print(estimate_peak(p, detect_format(p)).bytes)")
    out = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True)
    return int(out.stdout) if out.returncode == 0 and out.stdout.strip() else 0


KINDS = ["csv", "tsv", "yolo", "text", "jsonl", "hf", "keras", "monitor", "tensorboard",
         "csv-one-line", "text-one-line", "jsonl-one-line", "json-brackets"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100])
    ap.add_argument("--kinds", nargs="+", default=KINDS)
    ap.add_argument("--max-memory-mb", type=float, default=None,
                    help="passed to the CLI (0: no limit, to measure what a refused input would have cost)")
    args = ap.parse_args()
    limit = [] if args.max_memory_mb is None else ["--max-memory-mb", f"{args.max_memory_mb:g}"]
    print(f"{'input':<15}{'MB':>6}{'floor s':>9}{'wall s':>8}{'cpu s':>7}{'cpu/budget':>11}{'peak MB':>9}{'/2GiB':>7}"
          f"{'est MB':>8}{'meas/est':>9}  exit  outcome")
    worst = 0.0
    for size in args.sizes:
        for kind in args.kinds:
            with tempfile.TemporaryDirectory(prefix="lrd-scale-") as tmp:
                # generated in a child process: a forked child's peak RSS counts the
                # parent's pages, so the parent must stay small
                subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                                f"import reader_scaling as r; from pathlib import Path; print(r.make({kind!r}, {size}, Path({tmp!r})))"],
                               check=True, stdout=subprocess.PIPE)
                p = next(q for q in Path(tmp).iterdir() if q.is_file())
                real_mb = p.stat().st_size / MB
                floor, *_ = measure([sys.executable, "-c", f"open({str(p)!r}, 'rb').read()"])
                est = _estimate(p)
                took, cpu, rss, code, last = measure([sys.executable, "-m", "lrdoctor", "diagnose", str(p), "--format", "json", *limit])
                budget = max(MIN_BUDGET_S, SECONDS_PER_100MB * real_mb / 100)
                r_t, r_m = cpu / budget, rss / MEMORY_BUDGET
                worst = max(worst, r_t, r_m)
                outcome = "read" if code in (0, 1) else "refused: " + _reason(last, p)[:70]
                ratio = f"{rss / est:>9.2f}" if est and code in (0, 1) else f"{'':>9}"
                print(f"{kind:<15}{real_mb:>6.0f}{floor:>9.2f}{took:>8.2f}{cpu:>7.2f}{r_t:>11.2f}{rss / MB:>9.0f}{r_m:>7.2f}"
                      f"{est / MB:>8.0f}{ratio}  {code:>4}  {outcome}", flush=True)
    print(f"worst ratio against the bounds: {worst:.2f} ({'within' if worst <= 1 else 'OVER'} the bounds)")


if __name__ == "__main__":
    main()
