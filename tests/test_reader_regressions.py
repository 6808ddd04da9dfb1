"""Regression tests for the reader and CLI reproductions of issue 10 (items 6-11).

Each test is one reproduction from the issue, run the way a user met it: the real CLI in a
subprocess for what reached the terminal, ``lrdoctor.read`` for what reached the data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import lrdoctor
from lrdoctor.errors import InputError


def cli(*args, timeout=60, input=None):
    return subprocess.run([sys.executable, "-m", "lrdoctor", *map(str, args)], capture_output=True,
                          timeout=timeout, input=input)


def healthy_csv(path: Path, n: int = 80) -> Path:
    path.write_text("step,loss\n" + "".join(f"{s},{3.0 / (1 + s / 10):.5f}\n" for s in range(n)))
    return path


def billion_laughs() -> str:
    doc = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for n in "bcdefghi":
        doc += f"{n}: &{n} [" + ",".join([f"*{prev}"] * 9) + "]\n"
        prev = n
    return doc


def strict_json(text: str):
    def no_constant(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=no_constant)


def assert_one_named_line(r, name: str) -> str:
    err = r.stderr.decode()
    assert r.returncode == 2, (r.returncode, err)
    assert err.count("\n") == 1 and name in err and "Traceback" not in err and "internal error" not in err, err
    return err


# -- item 6: hangs and memory blow-ups -------------------------------------------------------

def test_64kb_line_no_longer_takes_48_seconds(tmp_path):
    p = tmp_path / "train.log"
    p.write_text("step 1: loss=2.0\n" + "a" * 65_536 + "\n" + "step 2: loss=1.5\n" + "loss " * 3000 + "\n")
    t = time.perf_counter()
    run = lrdoctor.read(p)
    assert time.perf_counter() - t < 2.0
    assert run.steps.tolist() == [1, 2]
    assert any("train.log:2:" in w and "longer than" in w for w in run.meta.warnings), run.meta.warnings


def test_named_pipe_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "metrics.csv"
    os.mkfifo(fifo)
    t = time.perf_counter()
    r = cli("diagnose", fifo, timeout=30)
    err = assert_one_named_line(r, "metrics.csv")
    assert "named pipe" in err and time.perf_counter() - t < 30


def test_stdin_is_read_when_asked_for(tmp_path):
    data = healthy_csv(tmp_path / "m.csv").read_bytes()
    r = cli("diagnose", "-", "--format", "json", input=data)
    assert r.returncode in (0, 1), r.stderr
    out = strict_json(r.stdout.decode())
    assert out["run"]["source"] == "<stdin>" and out["run"]["steps"] == 80


def test_billion_laughs_config_and_schedule_spec_are_refused_fast(tmp_path):
    lol = tmp_path / "lol.yaml"
    lol.write_text(billion_laughs())
    log = healthy_csv(tmp_path / "m.csv")
    t = time.perf_counter()
    r = cli("diagnose", log, "--config", lol, timeout=30)
    err = assert_one_named_line(r, "lol.yaml")
    assert "aliases" in err
    r = cli("schedule", lol, "--steps", "100", timeout=30)
    assert r.returncode == 2 and "aliases" in r.stderr.decode() and "Traceback" not in r.stderr.decode()
    assert time.perf_counter() - t < 30


def test_yaml_alias_expansion_is_capped_even_with_few_aliases(tmp_path):
    """Five levels of ten aliases: only 50 aliases, but 10^5 values once expanded."""
    doc = "a: &a [1,1,1,1,1,1,1,1,1,1]\n"
    prev = "a"
    for n in "bcdef":
        doc += f"{n}: &{n} [" + ",".join([f"*{prev}"] * 10) + "]\n"
        prev = n
    cfg = tmp_path / "c.yaml"
    cfg.write_text(doc)
    with pytest.raises(InputError, match="c.yaml.*expands to more than"):
        lrdoctor.read(healthy_csv(tmp_path / "m.csv"), config=cfg)
    cfg.write_text("defaults: &d {lr: 0.001, wd: 0.01}\ntrain: {<<: *d, lr: 0.002}\neval: *d\n")
    run = lrdoctor.read(tmp_path / "m.csv", config=cfg)  # ordinary anchors still work
    assert run.config["train"] == {"lr": 0.002, "wd": 0.01}


def test_recursive_yaml_alias_is_refused(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("a: &a {b: *a}\n")
    with pytest.raises(InputError, match="recursive"):
        lrdoctor.read(healthy_csv(tmp_path / "m.csv"), config=cfg)


# -- item 7: unclear messages ----------------------------------------------------------------

def test_deeply_nested_json_names_the_file(tmp_path):
    p = tmp_path / "trainer_state.json"
    p.write_text('{"log_history": ' + "[" * 100_000 + "]" * 100_000 + "}")
    err = assert_one_named_line(cli("diagnose", p), "trainer_state.json")
    assert "nested" in err


def test_utf16_log_is_decoded_not_called_binary(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_bytes(healthy_csv(tmp_path / "u8.csv").read_text().encode("utf-16"))
    r = cli("diagnose", p, "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    assert strict_json(r.stdout.decode())["run"]["steps"] == 80


def test_utf16_without_bom_is_decoded(tmp_path):
    p = tmp_path / "train.log"
    p.write_bytes("".join(f"step {s}: loss={2 - s / 100}\n" for s in range(30)).encode("utf-16-le"))
    run = lrdoctor.read(p)
    assert run.n_steps == 30 and run.series("loss").values[-1] == pytest.approx(1.71)


def test_escape_codes_in_a_file_name_never_reach_the_terminal(tmp_path):
    name = "evil\x1b]0;pwned\x07\x1b[2J.csv"
    bad = tmp_path / name
    bad.write_text("nothing here\n")
    r = cli("diagnose", bad)
    assert r.returncode == 2 and b"\x1b" not in r.stderr and b"\x07" not in r.stderr
    assert b"\\x1b" in r.stderr  # shown, escaped
    good = healthy_csv(tmp_path / name.replace(".csv", "-ok.csv"))
    r = cli("diagnose", good)
    assert r.returncode in (0, 1) and b"\x1b]0;" not in r.stdout and b"\x1b[2J" not in r.stdout


def test_escape_codes_in_column_names_are_shown_escaped(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("step,loss,\x1b[31mred\n" + "".join(f"{s},{3 / (1 + s)},1\n" for s in range(30)))
    run = lrdoctor.read(p)
    assert "\\x1b[31mred" in run.metrics and not any("\x1b" in k for k in run.metrics)


# -- item 8: silent partial data --------------------------------------------------------------

@pytest.fixture()
def events(tmp_path) -> bytes:
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path / "tb"))
    for s in range(200):
        w.add_scalar("loss", 2.0 / (s + 1), s)
    w.close()
    return next((tmp_path / "tb").glob("*tfevents*")).read_bytes()


def test_truncated_event_file_warns(tmp_path, events):
    p = tmp_path / "events.out.tfevents.cut"
    p.write_bytes(events[: len(events) // 2 + 20])  # cut inside a record, as a killed writer leaves it
    run = lrdoctor.read(p)
    assert 0 < run.n_steps < 200
    last = int(run.steps[-1])
    assert any("reading stopped after step" in w and f"step {last}" in w and "mid-record" in w
               for w in run.meta.warnings), run.meta.warnings


def test_corrupt_record_in_event_file_warns(tmp_path, events):
    bad = bytearray(events)
    bad[len(bad) // 3] ^= 0xFF
    p = tmp_path / "events.out.tfevents.bad"
    p.write_bytes(bytes(bad))
    run = lrdoctor.read(p)
    assert run.n_steps < 200
    assert any("corrupt" in w and "reading stopped" in w for w in run.meta.warnings), run.meta.warnings


def test_torn_csv_rows_are_reported_with_their_line(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text("step,loss,lr\n1,2.0,0.1\n2,1.9,0.1\n3,1.8\n4,1.7,0.1\n5,1.6")
    run = lrdoctor.read(p)
    w = " | ".join(run.meta.warnings)
    assert "metrics.csv:4:" in w and "2 row(s) have fewer fields" in w, w
    assert "no line end" in w, w


def test_duplicate_steps_are_reported_not_merged_silently(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text("step,loss\n1,2.0\n2,1.9\n2,1.5\n3,1.4\n")
    run = lrdoctor.read(p)
    assert any("metrics.csv:4:" in w and "step 2" in w and "'loss'" in w for w in run.meta.warnings), run.meta.warnings
    j = tmp_path / "log.jsonl"
    j.write_text('{"step": 1, "loss": 2}\n{"step": 1, "loss": 3}\n{"step": 2, "loss": 1}\n')
    run = lrdoctor.read(j)
    assert any("log.jsonl:2:" in w and "step 1" in w for w in run.meta.warnings), run.meta.warnings


def test_lightning_step_and_epoch_rows_are_not_called_duplicates(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text("epoch,step,train_loss,val_loss\n0,9,2.0,\n0,9,,2.1\n1,19,1.8,\n1,19,,1.9\n")
    run = lrdoctor.read(p)
    assert not any("logged again" in w for w in run.meta.warnings), run.meta.warnings


# -- item 9: a torn Monitor config never blocks a good log -------------------------------------

def test_torn_monitor_config_warns_and_goes_on(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    (d / "lrdoctor.jsonl").write_text("".join(json.dumps({"step": s, "loss": 3 / (1 + s / 10)}) + "\n" for s in range(300)))
    (d / "lrdoctor-config.json").write_text('{"lr": 0.001, "optimizer": "Ad')
    r = cli("diagnose", d, "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    out = strict_json(r.stdout.decode())
    assert out["run"]["steps"] == 300
    assert any("lrdoctor-config.json" in w and "without its config" in w for w in out["run"]["warnings"])


# -- items 10 and 11: non-finite and wrong-typed config values ---------------------------------

def test_json_output_with_infinite_config_is_valid_json(tmp_path):
    log = healthy_csv(tmp_path / "m.csv")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("max_grad_norm: .inf\nlr: .nan\nmin_lr: -.inf\n")
    r = cli("diagnose", log, "--config", cfg, "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    out = strict_json(r.stdout.decode())
    assert out["run"]["config"] == {"max_grad_norm": "inf", "lr": "nan", "min_lr": "-inf"}


def test_wrong_typed_config_value_warns_naming_the_key(tmp_path):
    log = healthy_csv(tmp_path / "m.csv")
    cfg = tmp_path / "c.yaml"
    cfg.write_text('num_classes: "ten"\noptimizer: {lr: fast}\nbatch_size: "32"\nweight_decay: 0.01\n')
    r = cli("diagnose", log, "--config", cfg, "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    warnings = strict_json(r.stdout.decode())["run"]["warnings"]
    joined = " | ".join(warnings)
    assert "'num_classes' is 'ten'" in joined and "'optimizer.lr' is 'fast'" in joined, joined
    assert "batch_size" not in joined and "weight_decay" not in joined  # "32" reads as a number
