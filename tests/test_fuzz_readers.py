"""Fuzz and fault injection for every reader: no input may crash, hang or fail unnamed.

Each case goes through the public ``lrdoctor.read`` under a time budget (SIGALRM, raised as
a BaseException so that no reader can swallow it); a sample goes through the real CLI in a
subprocess under a memory budget (RLIMIT_AS). The outcome of every case is one of:

* a :class:`lrdoctor.Run` whose summary is strict JSON, or
* an :class:`lrdoctor.errors.InputError` whose one-line message names the file.

Seeds are small real logs from bench/detection_logs/tuning/ plus a TensorBoard file written
by torch's own SummaryWriter. Hypothesis runs derandomized, so CI sees the same cases;
the whole module is held to a fixed budget (about a minute on 2 shared cores).
"""

from __future__ import annotations

import codecs
import json
import os
import resource
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lrdoctor
from lrdoctor.errors import InputError
from lrdoctor.io import textlog
from lrdoctor.io.limits import MAX_LINE_CHARS
from text_cache_checks import (block_path_agrees, block_path_agrees_on, on_both_cores, parse_both, real_text_logs,
                               same_records, same_records_with_and_without_cache)

ROOT = Path(__file__).resolve().parents[1]
TUNING = ROOT / "bench" / "detection_logs" / "tuning"

#: Small real logs, one per reader family (all under 1.2 KB, so every offset can be cut).
SEEDS = {
    "trainer_state.json": TUNING / "hf-bart-samsum-single-row" / "trainer_state.json",
    "results.csv": TUNING / "yolov8-spot-cv-train16" / "results.csv",
    "issue47.log": TUNING / "text-seqtagging-nan" / "issue47.log",
    "issue975_log.txt": TUNING / "baselines-issue975-ppo1-kl-blowup" / "issue975_log.txt",
    "0.monitor.csv": TUNING / "sb3-zoo-ppo-cartpole" / "0.monitor.csv",
    "training.log": TUNING / "keras-braincnn-keras-tut" / "training.log",
}

#: Seconds one in-process read may take. Real reads of these files take 1-7 ms; the
#: quadratic text matcher this suite guards against took 48 s on one 64 KB line.
CASE_BUDGET_S = 3.0

#: Address-space limit of a CLI subprocess fed a big input (the issue's 2 GB bound).
MEMORY_BUDGET = 2 << 30

#: Examples per hypothesis test in CI; ``LRDOCTOR_FUZZ_EXAMPLES=5000`` runs a longer campaign.
EXAMPLES = int(os.environ.get("LRDOCTOR_FUZZ_EXAMPLES", "60"))

FUZZ = settings(derandomize=not os.environ.get("LRDOCTOR_FUZZ_EXAMPLES"), deadline=None, database=None,
                max_examples=EXAMPLES,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])


class OverBudget(BaseException):
    """A case ran past its time budget (a BaseException: readers catch Exception)."""


@contextmanager
def time_budget(seconds: float):
    def on_alarm(signum, frame):
        raise OverBudget(f"case exceeded its {seconds} s budget")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check_read(path: Path, **kw) -> lrdoctor.Run | None:
    """Read ``path`` under the time budget; the outcome must be a JSON-able Run or a named one-line error."""
    try:
        with time_budget(CASE_BUDGET_S):
            run = lrdoctor.read(path, **kw)
    except InputError as err:
        msg = str(err)
        assert "\n" not in msg and "\x1b" not in msg, msg
        assert path.name in msg or "<stdin>" in msg, f"error does not name the file: {msg}"
        assert "internal error" not in msg
        return None
    assert isinstance(run, lrdoctor.Run)
    json.dumps(run.summary(), allow_nan=False)
    assert all("\n" not in w for w in run.meta.warnings)
    return run


def cli(*args, timeout=60, memory=None, stdin=None):
    def limit():
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run([sys.executable, "-m", "lrdoctor", *map(str, args)], capture_output=True,
                          timeout=timeout, preexec_fn=limit, stdin=stdin)


def check_cli(path: Path, *extra, timeout=60, memory=None) -> subprocess.CompletedProcess:
    """The CLI on ``path``: exit 0/1/2, and on 2 one stderr line naming the file, no traceback."""
    r = cli("diagnose", path, *extra, timeout=timeout, memory=memory)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode in (0, 1, 2), (r.returncode, err[-2000:])
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]
    if r.returncode == 2:
        assert err.count("\n") == 1 and path.name in err, err
    return r


@pytest.fixture(scope="module")
def event_file(tmp_path_factory) -> Path:
    """A real TensorBoard event file: 30 scalar steps from torch's SummaryWriter."""
    from torch.utils.tensorboard import SummaryWriter

    d = tmp_path_factory.mktemp("tb")
    w = SummaryWriter(str(d))
    for s in range(30):
        w.add_scalar("loss", 2.0 / (s + 1), s)
    w.close()
    return next(d.glob("*tfevents*"))


# -- truncation at every offset ------------------------------------------------------------

@pytest.mark.parametrize("name", ["trainer_state.json", "results.csv", "issue47.log", "issue975_log.txt"])
def test_truncation_at_every_offset(tmp_path, name):
    data = SEEDS[name].read_bytes()
    p = tmp_path / name
    outcomes = {"run": 0, "error": 0}
    for cut in range(len(data) + 1):
        p.write_bytes(data[:cut])
        outcomes["run" if check_read(p) is not None else "error"] += 1
    assert outcomes["run"] > 0 and outcomes["error"] > 0, outcomes  # both paths really exercised


def test_event_file_truncated_at_every_offset(tmp_path, event_file):
    data = event_file.read_bytes()
    p = tmp_path / event_file.name
    warned = 0
    for cut in range(0, len(data) + 1, 3):
        p.write_bytes(data[:cut])
        run = check_read(p)
        if run is not None and run.n_steps < 30:
            # a cut inside a record is reported; a cut exactly on a record boundary cannot be
            # told from a shorter run (the format has no end marker)
            warned += any("reading stopped" in w for w in run.meta.warnings)
    assert warned > 0.8 * (len(data) // 3) * 0.5, warned


# -- random bytes, mutations, encodings ---------------------------------------------------

NAMES = ["log.csv", "log.tsv", "trainer_state.json", "log.jsonl", "train.log", "0.monitor.csv",
         "events.out.tfevents.1.host", "results.csv", "history.json", "noext"]


@FUZZ
@given(data=st.binary(max_size=2048), name=st.sampled_from(NAMES))
def test_random_bytes(tmp_path, data, name):
    p = tmp_path / name
    p.write_bytes(data)
    check_read(p)


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name].read_bytes())
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "dup"]))
        i = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[i:i] = draw(st.sampled_from([b"\x00", b"\xff\xfe", b"\n", b",", b"\t", b"\"", b"{", b"[" * 50,
                                              b"nan", b"-inf", b"1e999", b"9" * 400, b"\x1b[2J", b"\r"]))
        elif op == "delete" and data:
            del data[i:i + draw(st.integers(1, 40))]
        elif op == "dup":
            data[i:i] = data[i:i + draw(st.integers(1, 200))]
    return name, bytes(data)


@FUZZ
@given(case=mutated())
def test_mutated_real_logs(tmp_path, case):
    name, data = case
    p = tmp_path / name
    p.write_bytes(data)
    check_read(p)


@FUZZ
@given(data=st.binary(min_size=0, max_size=600))
def test_mutated_event_file(tmp_path, event_file, data):
    """Random bytes spliced into a real event file: corrupt records are read or named."""
    good = event_file.read_bytes()
    cut = len(data) % (len(good) + 1)
    p = tmp_path / event_file.name
    p.write_bytes(good[:cut] + data + good[cut + len(data) // 2:])
    check_read(p)


WIDE = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"]


@pytest.mark.parametrize("name", ["results.csv", "issue47.log", "trainer_state.json", "training.log"])
@pytest.mark.parametrize("encoding", WIDE)
def test_wide_encodings_read_like_utf8(tmp_path, name, encoding):
    """UTF-16/32 files (PowerShell's ``>`` writes UTF-16) read exactly like their UTF-8 twin."""
    text = SEEDS[name].read_text(encoding="utf-8")
    p = tmp_path / name
    p.write_bytes(codecs.encode(text, encoding) if encoding != "utf-16" else text.encode("utf-16"))
    base = lrdoctor.read(SEEDS[name])
    run = check_read(p)
    assert run is not None, f"{encoding} {name} refused"
    assert run.steps.tolist() == base.steps.tolist()
    assert sorted(run.metrics) == sorted(base.metrics)
    for k in base.metrics:
        assert run.series(k) is None or run.series(k).values.tolist() == pytest.approx(
            base.series(k).values.tolist(), nan_ok=True)


@FUZZ
@given(encoding=st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-32", "shift_jis", "koi8-r"]),
       text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_random_text_in_random_encodings(tmp_path, encoding, text):
    body = "step,loss\n1,2.5\n2,2.25\n" + text
    p = tmp_path / "log.csv"
    p.write_bytes(body.encode(encoding, errors="replace"))
    check_read(p)


# -- huge values and lines ------------------------------------------------------------------

HOSTILE = " \t|,:=;-./_()[]{}'\"%>*#aAeEiInN019"


@FUZZ
@given(unit=st.text(st.sampled_from(list(HOSTILE)), min_size=1, max_size=4),
       pre=st.sampled_from(["", "loss ", "step 1: ", "| ", "{'", "Namespace(", "iter 3: loss "]))
def test_text_line_cost_is_linear(unit, pre):
    """A line of the maximal parsed length, built from any hostile repeating unit, parses in
    well under a second (quadratic patterns took ~13 s at this length)."""
    line = (pre + unit * (MAX_LINE_CHARS // len(unit)))[:MAX_LINE_CHARS]
    with time_budget(CASE_BUDGET_S):
        t = time.perf_counter()
        textlog.parse_lines([line, line + "=1"])
        took = time.perf_counter() - t
    assert took < 0.5, (repr(unit), repr(pre), took)


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(["1e999", "-1e999", "9" * 5000, "0x1F", "1_000", "1,000", "-0", ".", "e5", "nan(ind)",
                     "", " ", "Infinity", "NaN", "1.#INF", "\x00", "1e-400"]),
)


@FUZZ
@given(values=st.lists(NUMBERS, min_size=1, max_size=30),
       fmt=st.sampled_from(["csv", "jsonl", "text", "json"]))
def test_huge_and_odd_values(tmp_path, values, fmt):
    p = tmp_path / {"csv": "m.csv", "jsonl": "m.jsonl", "text": "train.log", "json": "history.json"}[fmt]
    if fmt == "csv":
        p.write_text("step,loss\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    elif fmt == "jsonl":
        p.write_text("".join(f'{{"step": {i}, "loss": {v if v else 0}}}\n' for i, v in enumerate(values)))
    elif fmt == "text":
        p.write_text("".join(f"step {i}: loss={v}\n" for i, v in enumerate(values)))
    else:
        p.write_text('{"loss": [' + ", ".join(v if v.strip() else "0" for v in values) + "]}")
    run = check_read(p)
    if run is not None and fmt == "csv":
        assert run.n_steps <= len(values)


@pytest.mark.parametrize("kind", ["json-deep", "json-wide", "jsonl-deep", "yaml-deep", "text-long", "csv-wide"])
def test_structural_extremes(tmp_path, kind):
    p = {"json-deep": tmp_path / "deep.json", "json-wide": tmp_path / "wide.json",
         "jsonl-deep": tmp_path / "deep.jsonl", "yaml-deep": tmp_path / "deep.yaml",
         "text-long": tmp_path / "long.log", "csv-wide": tmp_path / "wide.csv"}[kind]
    if kind == "json-deep":
        p.write_text("[" * 200_000 + "]" * 200_000)
    elif kind == "json-wide":
        p.write_text('{"loss": [' + ",".join(["1.5"] * 200_000) + "]}")
    elif kind == "jsonl-deep":
        p.write_text('{"step": 1, "loss": 2}\n' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "\n")
    elif kind == "yaml-deep":
        p.write_text("a: " + "[" * 50_000 + "]" * 50_000)
    elif kind == "text-long":
        p.write_text("step 1: loss=2.0\n" + "a" * 3_000_000 + "\nstep 2: loss=1.5\n")
    else:
        p.write_text(",".join(f"c{i}" for i in range(20_000)) + "\n" + ",".join(["1"] * 20_000) + "\n")
    if kind == "yaml-deep":
        log = tmp_path / "m.csv"
        log.write_text("step,loss\n1,2\n2,1\n")
        with pytest.raises(InputError, match="deep.yaml"):
            with time_budget(CASE_BUDGET_S):
                lrdoctor.read(log, config=p)
        return
    run = check_read(p)
    if kind == "text-long":
        assert run is not None and run.steps.tolist() == [1, 2]
        assert any("longer than" in w and ":2:" in w for w in run.meta.warnings), run.meta.warnings


# -- the real CLI on a sample -----------------------------------------------------------------

@pytest.mark.parametrize("case", range(6))
def test_cli_on_mutated_sample(tmp_path, case):
    """A fixed sample of mutated real logs through ``python -m lrdoctor diagnose``."""
    import random

    rng = random.Random(case)
    name = sorted(SEEDS)[case % len(SEEDS)]
    data = bytearray(SEEDS[name].read_bytes())
    for _ in range(1 + case):
        i = rng.randrange(len(data))
        data[i:i + rng.randrange(1, 30)] = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 30)))
    p = tmp_path / name
    p.write_bytes(bytes(data))
    check_cli(p, timeout=60)


@pytest.mark.parametrize("kind", ["csv-one-line", "text-one-line"])
def test_cli_200mb_one_line_within_time_and_memory(tmp_path, kind):
    """Issue 10: a 200 MB one-line CSV/text never finished. Now: done in seconds, under 2 GB."""
    p = tmp_path / ("big.csv" if kind == "csv-one-line" else "big.log")
    unit = b"1.5," if kind == "csv-one-line" else b"loss "
    with open(p, "wb") as fh:
        block = unit * ((1 << 20) // len(unit))
        for _ in range(200):
            fh.write(block)
    t = time.perf_counter()
    r = check_cli(p, timeout=60, memory=MEMORY_BUDGET)
    took = time.perf_counter() - t
    assert r.returncode == 2 and took < 20, (took, r.stderr)
    assert b"longer than" in r.stderr


# -- the text parser's shape cache never changes a result -----------------------------------

def test_shape_cache_gives_the_same_records_on_every_real_text_log():
    files = real_text_logs()
    assert len(files) > 40
    assert not on_both_cores(same_records_with_and_without_cache, files)


NUM_FORMS = st.one_of(st.integers(-10**6, 10**9).map(str),
                      st.floats(allow_nan=True, allow_infinity=True, width=32).map(lambda x: f"{x:.4g}"),
                      st.floats(min_value=0, max_value=1e6).map(lambda x: f"{x:,.2f}"),
                      st.sampled_from(["nan", "inf", "-inf", "1e-4", "3.", ".5", "1,000", "1,00", "007"]))
TEMPLATES = ["step {}: loss={} lr={}", "iter {}: loss {}, time {}ms", "{{'loss': {}, 'grad_norm': {}, 'epoch': {}}}",
             "Epoch {} - loss: {} - acc: {}", "step:{}/{} val_loss:{}", "| epoch {} | lr {} | loss {} |",
             "top{}_acc={} loss={}", "[{}] loss={} {}"]


@FUZZ
@given(rows=st.lists(st.tuples(st.sampled_from(TEMPLATES), NUM_FORMS, NUM_FORMS, NUM_FORMS), min_size=1, max_size=40))
def test_shape_cache_gives_the_same_records_on_generated_lines(rows):
    lines = [t.format(a, b, c) + "\n" for t, a, b, c in rows]
    on, off = parse_both(lines)
    assert same_records(on, off), lines


def test_block_path_gives_the_same_columns_on_every_real_text_log():
    assert not on_both_cores(block_path_agrees_on, real_text_logs())


@FUZZ
@given(rows=st.lists(st.tuples(st.sampled_from(TEMPLATES), NUM_FORMS, NUM_FORMS, NUM_FORMS), min_size=1, max_size=20),
       repeat=st.integers(2, 5))
def test_block_path_gives_the_same_columns_on_runs_of_one_shape(rows, repeat):
    # each line several times in a row: a block of one shape, whose numbers may be no plain
    # float ("1,000", "nan") and must then be read line by line
    lines = [t.format(a, b, c) + "\n" for t, a, b, c in rows for _ in range(repeat)]
    assert block_path_agrees(lines), lines


# -- the fast event-file reader agrees with tensorboard's EventAccumulator --------------------

def _both_readers(path: Path):
    from lrdoctor.io import tensorboard as tb

    cfg_fast, cfg_ref, w1, w2 = {}, {}, [], []
    fast = tb._load(path, cfg_fast, w1)
    ref = tb._load_accumulator(path, cfg_ref, w2)
    return fast, ref, cfg_fast, cfg_ref


def _assert_same_scalars(fast, ref):
    import numpy as np

    assert fast.keys() == ref.keys()
    for tag in ref:
        assert list(fast[tag][0]) == list(ref[tag][0]), tag
        assert np.allclose(fast[tag][1], ref[tag][1], equal_nan=True), tag


def test_fast_event_reader_matches_the_accumulator(tmp_path, event_file):
    from torch.utils.tensorboard import SummaryWriter

    d = tmp_path / "tb"
    w = SummaryWriter(str(d))
    for s in range(50):
        w.add_scalar("train/loss", 1.0 / (s + 1), s)
        if s % 10 == 0:
            w.add_scalar("eval/loss", float("nan") if s == 20 else 2.0 / (s + 1), s)
    w.add_text("hyperparameters", "|param|value|\n|-|-|\n|learning_rate|0.0003|\n|gamma|0.99|")
    for s in range(30, 60):  # a resumed run re-logging steps
        w.add_scalar("train/loss", 0.5 / (s + 1), s)
    w.close()
    files = [next(d.glob("*tfevents*")), event_file]
    for f in files:
        fast, ref, cfg_fast, cfg_ref = _both_readers(f)
        _assert_same_scalars(fast, ref)
        assert cfg_fast == cfg_ref
    assert cfg_fast == {} and _both_readers(files[0])[2] == {"learning_rate": 0.0003, "gamma": 0.99}


def test_fast_event_reader_matches_the_accumulator_on_real_files(reallogs):
    files = sorted(reallogs.rglob("*tfevents*"))
    assert files
    for f in files:
        fast, ref, cfg_fast, cfg_ref = _both_readers(f)
        _assert_same_scalars(fast, ref)
        assert cfg_fast == cfg_ref, f


# -- configs: random YAML/JSON through --config -------------------------------------------------

YAML_PIECES = st.sampled_from(["a: 1\n", "lr: .inf\n", "- x\n", "&a [1, 2]\n", "*a\n", "b: &b {c: *b}\n", "{", "[", "}\n",
                               "num_classes: ten\n", "? complex\n", "!!python/object:os.system x\n", "!!binary AAAA\n",
                               "k: !!float nan\n", "'unterminated\n", "\t\n", "x: " + "9" * 5000 + "\n", "<<: *a\n",
                               "opt: {lr: 0.1, nested: {deep: [1, {e: 2}]}}\n", "\x00", "\ufeff", "%YAML 1.1\n---\n"])


@FUZZ
@given(pieces=st.lists(YAML_PIECES, max_size=12), suffix=st.sampled_from([".yaml", ".json", ".yml"]))
def test_random_configs(tmp_path, pieces, suffix):
    log = tmp_path / "m.csv"
    log.write_text("step,loss\n1,2.0\n2,1.5\n3,1.2\n")
    cfg = tmp_path / f"config{suffix}"
    cfg.write_text("".join(pieces))
    try:
        with time_budget(CASE_BUDGET_S):
            run = lrdoctor.read(log, config=cfg)
    except InputError as err:
        assert "\n" not in str(err) and "config" in str(err), str(err)
        return
    json.dumps(run.summary(), allow_nan=False)  # non-finite config values become strings
