"""Issue 10: every CLI input is read within the memory limit (2 GB by default) or refused
in one line before it is read; and the low-memory readers (chunked tables, a streamed
trainer_state.json) give exactly the runs the whole-file readers gave.

The refusal and the override go through the real CLI in a subprocess. The estimate is
checked against the measured peak RSS of real ``lrdoctor diagnose`` processes (os.wait4),
one per reader format, so that a file the estimate lets through stays within it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import lrdoctor
from lrdoctor.errors import InputError
from lrdoctor.io import _table, detect_format, hf
from lrdoctor.io.budget import BASE_BYTES, DEFAULT_MAX_MEMORY_MB, estimate_peak

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "bench" / "detection_logs"
REALLOGS = Path(os.environ.get("LRDOCTOR_REALLOGS", ROOT.parent / "shared" / "reallogs"))
MB = 1 << 20


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def _csv(path: Path, rows: int) -> Path:
    s = np.arange(rows)
    loss = 3.0 / (1 + s / 500) + 0.01 * np.sin(s)
    with open(path, "w") as fh:
        fh.write("step,loss,lr,grad_norm\n")
        fh.write("".join(f"{i},{v:.6f},0.001,{1 + v:.5f}\n" for i, v in zip(s, loss)))
    return path


# -- the refusal and the override, through the CLI ----------------------------------------


def test_a_3_gb_csv_is_refused_in_one_line_before_it_is_read(tmp_path):
    """A real CSV head followed by 3 GB of hole (os.truncate: sparse, written in
    milliseconds). Read, it would take minutes and far more than 2 GB; the estimate from
    its first MiB refuses it at once."""
    p = _csv(tmp_path / "big.csv", 20_000)
    os.truncate(p, 3 << 30)
    r = _cli(str(p))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    msg = lines[0]
    assert "big.csv" in msg and "3,072 MB" in msg and f"{DEFAULT_MAX_MEMORY_MB:,} MB limit" in msg
    assert "--max-memory-mb" in msg and "LRDOCTOR_MAX_MEMORY_MB" in msg
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_the_limit_is_set_by_option_or_environment_and_the_option_wins(tmp_path):
    p = _csv(tmp_path / "m.csv", 100_000)  # ~3 MB: estimate ~ BASE + 10 MB
    est = estimate_peak(p, "csv").bytes
    below = int((BASE_BYTES + 1 * MB) / MB)  # over the fixed base, under this file's estimate
    assert below * MB < est
    by_option = _cli(str(p), "--max-memory-mb", str(below))
    by_env = _cli(str(p), env={"LRDOCTOR_MAX_MEMORY_MB": str(below)})
    for r in (by_option, by_env):
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
        assert f"over the {below:,} MB limit" in r.stderr and "m.csv" in r.stderr
    # the option wins over the environment; 0 turns the check off; a roomy limit reads
    for args, env in ((["--max-memory-mb", "0"], {"LRDOCTOR_MAX_MEMORY_MB": str(below)}),
                      ([], {"LRDOCTOR_MAX_MEMORY_MB": "0"}),
                      (["--max-memory-mb", str(int(est / MB) + 64)], {})):
        r = _cli(str(p), "--format", "json", *args, env=env)
        assert r.returncode in (0, 1), r.stderr
        assert json.loads(r.stdout)["run"]["format"] == "csv"


def test_a_bad_environment_value_is_one_line(tmp_path):
    r = _cli(str(_csv(tmp_path / "m.csv", 50)), env={"LRDOCTOR_MAX_MEMORY_MB": "lots"})
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "LRDOCTOR_MAX_MEMORY_MB" in r.stderr and "'lots'" in r.stderr


def test_standard_input_is_held_to_the_limit_too(tmp_path):
    p = _csv(tmp_path / "m.csv", 100_000)
    with open(p) as fh:
        r = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", "-", "--max-memory-mb", "130"],
                           stdin=fh, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("lrdoctor: <stdin>: ") and "130 MB limit" in r.stderr


# -- the estimate holds: measured peaks stay under it --------------------------------------


def _text(p: Path, n: int) -> Path:
    with open(p, "w") as fh:
        fh.write("".join(f"step {i}: loss={3 / (1 + i / 500):.5f} lr=0.001 grad_norm={1.5:.4f}\n" for i in range(n)))
        fh.write("".join(f"step {i}: val_loss={3 / (1 + i / 500):.5f}\n" for i in range(0, n, 100)))
    return p


def _jsonl(p: Path, n: int) -> Path:
    with open(p, "w") as fh:
        fh.write("".join(json.dumps({"step": i, "loss": 3 / (1 + i / 500), "lr": 1e-3}) + "\n" for i in range(n)))
    return p


def _hf(p: Path, n: int) -> Path:
    hist = [{"epoch": i / n, "grad_norm": 1.5, "learning_rate": 5e-5, "loss": 3 / (1 + i / 500), "step": i} for i in range(n)]
    hist += [{"eval_loss": 2.0, "eval_runtime": 1.0, "step": i} for i in range(0, n, 1000)]
    p.write_text(json.dumps({"global_step": n, "log_history": hist, "train_batch_size": 8}))
    return p


def _keras(p: Path, n: int) -> Path:
    loss = (3 / (1 + np.arange(n) / 500)).round(6).tolist()
    p.write_text(json.dumps({"loss": loss, "val_loss": loss}))
    return p


def _yolo(p: Path, n: int) -> Path:
    with open(p, "w") as fh:
        fh.write("                  epoch,         train/box_loss,   metrics/mAP50(B),                   lr/pg0\n")
        fh.write("".join(f"{i:>23},{3 / (1 + i / 500):>23.5f},{0.5:>19.5f},{0.001:>25.5f}\n" for i in range(n)))
    return p


def _monitor(p: Path, n: int) -> Path:
    with open(p, "w") as fh:
        fh.write('#{"t_start": 0, "env_id": "CartPole-v1"}\nr,l,t\n')
        fh.write("".join(f"{i % 200}.0,200,{i * 0.01:.2f}\n" for i in range(n)))
    return p


def _tensorboard(p: Path, n_bytes: int) -> Path:
    """Real event files of ../shared/reallogs or a SummaryWriter's, repeated (whole TFRecord
    frames concatenated stay a valid stream; the repeats read as a resumed run)."""
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(p.parent / "tb"))
    for i in range(5000):
        w.add_scalar("loss", 3 / (1 + i / 500), i)
        w.add_scalar("lr", 0.001, i)
    w.close()
    one = next((p.parent / "tb").glob("*tfevents*")).read_bytes()
    p.write_bytes(one * max(1, n_bytes // len(one)))
    return p


CASES = {
    "csv": lambda d: _csv(d / "metrics.csv", 400_000),
    "text": lambda d: _text(d / "train.log", 250_000),
    "jsonl": lambda d: _jsonl(d / "log.jsonl", 250_000),
    "hf": lambda d: _hf(d / "trainer_state.json", 120_000),
    "keras": lambda d: _keras(d / "history.json", 400_000),
    "yolo": lambda d: _yolo(d / "results.csv", 120_000),
    "monitor": lambda d: _monitor(d / "0.monitor.csv", 500_000),
    "tensorboard": lambda d: _tensorboard(d / "events.out.tfevents.1.x", 12 * MB),
}


#: Runs a command and prints its exit code and peak RSS. The measuring process must be
#: small: Linux carries the parent's high-water mark into a forked child's ru_maxrss, and
#: this test process holds torch (hundreds of MB).
_MEASURE = ("import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, "
            "stderr=subprocess.DEVNULL); _, st, ru = os.wait4(p.pid, 0); "
            "print(os.waitstatus_to_exitcode(st), ru.ru_maxrss * 1024)")


def _peak_rss(args: list[str]) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "lrdoctor", "diagnose", *args],
                         capture_output=True, text=True, timeout=300, check=True)
    code, peak = out.stdout.split()
    return int(code), int(peak)


@pytest.mark.parametrize("kind", list(CASES))
def test_measured_peak_stays_under_the_estimate(tmp_path, kind):
    """Each reader on a log of ~10-16 MB: the real CLI's peak RSS is below the estimate the
    refusal is based on (docs/reliability.md has the same comparison at 100 MB to 1 GB)."""
    p = CASES[kind](tmp_path)
    est = estimate_peak(p, detect_format(p)).bytes
    code, peak = _peak_rss([str(p), "--format", "json"])
    assert code in (0, 1)
    assert peak <= est, f"{kind}: measured {peak / MB:.0f} MB > estimated {est / MB:.0f} MB"
    assert est <= 2.0 * peak, f"{kind}: estimate {est / MB:.0f} MB is far above the measured {peak / MB:.0f} MB"


# -- the low-memory readers give the same runs -----------------------------------------------


def _real_files(pattern: str) -> list[Path]:
    from bench_logs import benchmark_files

    return benchmark_files(pattern) + (sorted(p for p in REALLOGS.rglob(pattern) if p.is_file()) if REALLOGS.is_dir() else [])


def _same_run(a: lrdoctor.Run, b: lrdoctor.Run) -> None:
    assert np.array_equal(a.steps, b.steps, equal_nan=True)
    assert list(a.metrics) == list(b.metrics)
    for k in a.metrics:
        assert np.array_equal(a.metrics[k], b.metrics[k], equal_nan=True), k
        assert np.array_equal(a.logged[k], b.logged[k]), k
    assert a.meta.warnings == b.meta.warnings
    assert a.meta.text_columns == b.meta.text_columns
    assert (a.meta.format, a.meta.step_unit, a.meta.step_column) == (b.meta.format, b.meta.step_unit, b.meta.step_column)
    assert a.config == b.config


def _read_chunked(monkeypatch, path: Path, rows: int, block: int) -> lrdoctor.Run:
    with monkeypatch.context() as m:
        m.setattr(_table, "CHUNK_CELLS", 1)
        m.setattr(_table, "MIN_CHUNK_ROWS", rows)
        m.setattr(_table, "TORN_BLOCK_BYTES", block)
        return lrdoctor.read(path)


def _read_whole(monkeypatch, path: Path) -> lrdoctor.Run:
    """The default settings: a file this small is one chunk and one torn-row block, which
    is the whole-file read."""
    assert path.stat().st_size < min(_table.TORN_BLOCK_BYTES, _table.CHUNK_CELLS)
    return lrdoctor.read(path)


def test_chunked_tables_give_the_whole_file_runs_on_every_real_csv(monkeypatch):
    files = [p for p in _real_files("*.csv")]
    assert len(files) >= 20
    for p in files:
        try:
            whole = _read_whole(monkeypatch, p)
        except InputError as err:  # refused whole: refused the same way in chunks
            with pytest.raises(InputError) as chunked:
                _read_chunked(monkeypatch, p, 1, 7)
            assert str(chunked.value) == str(err)
            continue
        n = p.read_bytes().count(b"\n")
        # about 7 and 3 chunks per file; a chunk per row for the small ones (under 100 rows: a row
        # per chunk costs a full parse per row, and the edges it tests are the same on any length)
        plans = [(max(1, n // 7), 97), (max(3, n // 3), 4096)] + ([(1, 7)] if n < 100 else [])
        for rows, block in plans:
            _same_run(_read_chunked(monkeypatch, p, rows, block), whole)


def test_chunked_tables_keep_every_warning_across_chunk_edges(tmp_path, monkeypatch):
    """Stray words, NaN/inf text, an empty column, a torn row and a malformed row, each in
    a different chunk than the header: the same run and warnings as one whole read."""
    rows = ["step,loss,note,empty,acc"]
    for i in range(40):
        loss = {7: "nan", 9: "inf", 23: "oops", 31: "-Infinity"}.get(i, f"{1 / (i + 1):.4f}")
        acc = "" if i % 5 else f"{i / 40:.3f}"
        rows.append(f"{i},{loss},word{i},,{acc}")
    rows[17] = "16,0.05"  # torn: fewer fields
    rows[28] = "27,0.03,w,,0.5,extra,extra"  # malformed: more fields
    p = tmp_path / "edge.csv"
    p.write_text("\n".join(rows))  # and no line end at the end
    whole = _read_whole(monkeypatch, p)
    warnings = " | ".join(whole.meta.warnings)
    for needle in ("malformed row", "torn rows", "no line end", "'loss' has 1 non-numeric"):
        assert needle in warnings, warnings
    assert whole.meta.text_columns == ["note"] and "empty" in whole.metrics
    at = {int(s): i for i, s in enumerate(whole.steps)}
    assert 27 not in at  # the malformed row is skipped
    loss, logged = whole.metrics["loss"], whole.logged["loss"]
    assert np.isnan(loss[at[7]]) and logged[at[7]] and loss[at[9]] == np.inf
    assert loss[at[31]] == -np.inf and not logged[at[23]]
    for chunk_rows, block in ((1, 5), (4, 33), (16, 100)):
        _same_run(_read_chunked(monkeypatch, p, chunk_rows, block), whole)


def test_streamed_trainer_state_gives_the_run_of_the_parsed_document():
    docs = {}
    for p in _real_files("trainer_state*.json"):
        try:
            docs[p] = json.loads(p.read_text())
        except json.JSONDecodeError:
            continue  # an excerpt pasted in an issue (fresh48's ChatGLM2 one ends mid-document): no document to compare with
    assert len(docs) >= 3
    for p, doc in docs.items():
        streamed = lrdoctor.read(p)
        parsed = hf.read_trainer_state(p, doc)
        _same_run(streamed, parsed)
        assert streamed.meta.format == "hf-trainer-state"


def test_streamed_json_keeps_json_errors_and_other_documents(tmp_path):
    bad = tmp_path / "trainer_state.json"
    bad.write_text('{"global_step": 3,\n "log_history": [{"loss": 1.0, "step": 1},\n {"loss": 0.9 "step": 2}]}')
    with pytest.raises(InputError, match=r"trainer_state.json:3: invalid JSON \(Expecting ',' delimiter\)"):
        lrdoctor.read(bad, format="hf")  # (sniffed, a broken JSON is then tried as a text log)
    extra = tmp_path / "x.json"
    extra.write_text('{"log_history": [{"loss": 1.0, "step": 1}]} []')
    with pytest.raises(InputError, match="Extra data"):
        lrdoctor.read(extra, format="hf")
    keras = tmp_path / "history.json"
    keras.write_text(json.dumps({"loss": [3.0, 2.0, 1.5], "val_loss": [3.1, 2.2, None]}))
    run = lrdoctor.read(keras)
    assert run.meta.format == "keras-history" and run.metrics["loss"].tolist() == [3.0, 2.0, 1.5]


def test_rows_beyond_the_counted_lines_grow_the_columns(tmp_path, monkeypatch):
    """Columns are allocated for the file's count of line ends; lines ended by a lone CR
    (old Mac files) are rows pandas reads but that count misses: the columns grow."""
    p = tmp_path / "cr.csv"
    p.write_bytes(("step,loss\r" + "".join(f"{i},{1 / (i + 1):.6f}\r" for i in range(500))).encode())
    for rows in (1_000, 7, 1):
        with monkeypatch.context() as m:
            m.setattr(_table, "CHUNK_CELLS", 1)
            m.setattr(_table, "MIN_CHUNK_ROWS", rows)
            run = lrdoctor.read(p)
        assert run.steps.tolist() == list(range(500))
        assert run.metrics["loss"].tolist() == [float(f"{1 / (i + 1):.6f}") for i in range(500)]
        assert run.logged["loss"].all()


def test_a_streamed_log_history_is_not_held_to_the_container_bound(tmp_path, monkeypatch):
    """The bound on arrays/objects in one JSON document (MAX_JSON_CONTAINERS, 10 M) is for
    what json.loads would build; a trainer_state.json's log_history entries are streamed
    and dropped, so a 1 GB one (11 M entries) is read, not refused and then re-read as a
    text log (2.8 GB). Everything outside the streamed array stays bounded. (The bound is
    lowered to 50 so that the files stay small.)"""
    import lrdoctor.io._json as json_io

    monkeypatch.setattr(json_io, "MAX_JSON_CONTAINERS", 50)
    hist = [{"loss": 1 / (i + 1), "step": i} for i in range(300)]
    ok = tmp_path / "trainer_state.json"
    ok.write_text(json.dumps({"global_step": 300, "log_history": hist, "max_steps": 300}))
    run = lrdoctor.read(ok)
    assert run.meta.format == "hf-trainer-state" and run.steps.size == 300 and run.config == {"max_steps": 300}
    hostile = {
        "member.json": {"log_history": hist[:3], "x": [[] for _ in range(20_000)]},  # a large other member
        "element.json": {"log_history": [[[] for _ in range(5_000)]] + hist},  # one large entry
    }
    for name, doc in hostile.items():
        p = tmp_path / name
        p.write_text(json.dumps(doc))
        with pytest.raises(InputError, match=r"arrays/objects; more than 50 are refused \(memory bound\)"):
            lrdoctor.read(p)  # sniffed: refused, not handed to the text reader
    records = tmp_path / "records.json"
    records.write_text(json.dumps(hist))
    with pytest.raises(InputError, match="more than 50 are refused"):
        lrdoctor.read(records)


@pytest.mark.parametrize("name", ["keys.log", "keys.jsonl"])
def test_a_small_log_of_distinct_keys_is_refused_before_it_is_read(tmp_path, name):
    """Every field of a text log or JSON Lines file becomes a column as long as the run, so
    200,000 lines each with a new key (3 MB) would need 200,000 x 200,000 cells (~360 GB).
    The estimate counts fields x records in the first MiB and refuses it at once."""
    p = tmp_path / name
    with open(p, "w") as fh:
        for i in range(200_000):
            fh.write(f'{{"key{i:07d}": 1.5}}\n' if name.endswith(".jsonl") else f"key{i:07d}x=1.5\n")
    r = _cli(str(p))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert name in r.stderr and "of memory to read" in r.stderr and "2,048 MB limit" in r.stderr
