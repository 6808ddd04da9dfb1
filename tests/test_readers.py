"""Readers on files written by the real libraries, and on malformed input."""

import json
import subprocess
import sys

import numpy as np
import pytest

import lrdoctor
from lrdoctor.errors import LogFormatError


def cli(*args):
    return subprocess.run([sys.executable, "-m", "lrdoctor", *map(str, args)], capture_output=True, text=True)


def test_summarywriter_event_dir(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path))
    for s in range(50):
        w.add_scalar("train/loss", 2.0 / (s + 1), s)
        w.add_scalar("train/learning_rate", 1e-3, s)
    w.close()
    run = lrdoctor.read(tmp_path)
    assert run.meta.format == "tensorboard"
    np.testing.assert_allclose(run.series("loss").values, 2.0 / (np.arange(50) + 1), rtol=1e-6)
    assert run.meta.aliases["lr"] == "train/learning_rate"


def test_hf_trainer_state_with_nan_tokens(tmp_path):
    hist = [{"step": s, "loss": 2.0 - s * 0.01, "learning_rate": 1e-4, "grad_norm": float("nan") if s == 3 else 1.0}
            for s in range(1, 40)] + [{"step": 39, "train_runtime": 10.0, "train_loss": 9.9}]
    p = tmp_path / "trainer_state.json"
    p.write_text(json.dumps({"log_history": hist, "global_step": 39}))  # json.dumps writes bare NaN
    assert "NaN" in p.read_text()
    run = lrdoctor.read(p)
    assert run.meta.format == "hf-trainer-state"
    assert run.series("loss").values[-1] == pytest.approx(2.0 - 0.39)  # summary entry not read as loss
    assert np.isnan(run.series("grad_norm").values[2])


def test_lightning_sparse_rows_merge(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text("epoch,step,train_loss_step,val_loss\n0,9,2.0,\n0,9,,1.9\n0,19,1.5,\n1,19,,1.4\n")
    run = lrdoctor.read(p)
    assert run.steps.tolist() == [9, 19]
    assert run.series("loss").values.tolist() == [2.0, 1.5]
    assert run.series("eval_loss").values.tolist() == [1.9, 1.4]


def test_truncated_jsonl_last_line_is_used_with_warning(tmp_path):
    p = tmp_path / "log.jsonl"
    p.write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.9}\n{"step": 3, "lo')
    run = lrdoctor.read(p)
    assert run.series("loss").values.tolist() == [2.0, 1.9]
    assert any("not JSON" in w for w in run.meta.warnings)


def test_text_in_numeric_column_is_warned_with_line(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("step,loss\n0,2.0\n1,oops\n2,1.8\n3,1.7\n")
    run = lrdoctor.read(p)
    assert run.series("loss").values.tolist() == [2.0, 1.8, 1.7]
    assert any("m.csv:3" in w and "'loss'" in w for w in run.meta.warnings)


def test_decreasing_steps_are_a_resumed_run(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("step,loss\n0,3.0\n1,2.5\n2,2.4\n1,2.45\n2,2.3\n3,2.2\n")
    run = lrdoctor.read(p)
    assert run.steps.tolist() == [0, 1, 2, 3]
    assert run.series("loss").values.tolist() == [3.0, 2.45, 2.3, 2.2]  # later rows win
    assert any("backwards" in w for w in run.meta.warnings)


def test_nan_text_is_logged_nan_and_empty_is_not_logged(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("step,loss,eval_loss\n0,2.0,\n1,nan,1.5\n2,inf,\n")
    run = lrdoctor.read(p)
    assert run.logged["loss"].tolist() == [True, True, True]
    assert run.logged["eval_loss"].tolist() == [False, True, False]
    assert np.isinf(run.metrics["loss"][2])


def test_sb3_ascii_table_in_text_log(tmp_path):
    block = """-----------------------------
| rollout/           |      |
|    ep_rew_mean     | {r}  |
| time/              |      |
|    total_timesteps | {t}  |
| train/             |      |
|    approx_kl       | 0.01 |
-----------------------------
"""
    p = tmp_path / "train_log.txt"
    p.write_text("".join(block.format(r=10 * i, t=2048 * i) for i in range(1, 6)))
    run = lrdoctor.read(p)
    assert run.steps.tolist() == [2048 * i for i in range(1, 6)]
    assert run.series("ep_return").values.tolist() == [10.0 * i for i in range(1, 6)]


def test_nanogpt_lines(tmp_path):
    p = tmp_path / "training.log"
    p.write_text("step 0: train loss 10.9, val loss 10.9\niter 0: loss 10.95, time 100.0ms, mfu -100.00%\n"
                 "iter 10: loss 9.5, time 50.0ms, mfu 1.0%\n")
    run = lrdoctor.read(p)
    assert run.series("loss").values.tolist() == [10.95, 9.5]
    assert run.series("eval_loss").values.tolist() == [10.9]


@pytest.mark.parametrize("content,needle", [
    (b"", "empty"),
    (b"hello world\nnothing here\n", "unknown format"),
    (b"step,loss\n", "no rows"),
    (b"\x00\x01\x02garbage", "binary"),
    (b'{"log_history": [', "invalid JSON"),
])
def test_bad_input_one_line_exit_2(tmp_path, content, needle):
    p = tmp_path / ("bad.json" if content.startswith(b"{") else "bad.log")
    p.write_bytes(content)
    with pytest.raises(LogFormatError):
        lrdoctor.read(p)
    r = cli("diagnose", p)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and str(p) in r.stderr and needle in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_corrupt_event_file_exit_2(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path / "tb"))
    for s in range(20):
        w.add_scalar("loss", 1.0, s)
    w.close()
    ev = next((tmp_path / "tb").glob("*tfevents*"))
    data = ev.read_bytes()
    bad = tmp_path / "events.out.tfevents.corrupt"
    bad.write_bytes(b"\xff" * 64 + data[10:40])
    r = cli("diagnose", bad)
    assert r.returncode == 2 and "Traceback" not in r.stderr and str(bad) in r.stderr, r.stderr


def test_config_errors_name_the_file(tmp_path):
    log = tmp_path / "m.csv"
    log.write_text("step,loss\n0,1\n1,0.9\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("lr: [1, 2\n")
    r = cli("diagnose", log, "--config", cfg)
    assert r.returncode == 2 and "c.yaml" in r.stderr and "invalid YAML" in r.stderr


def test_csv_rows_with_extra_fields_are_skipped_and_reported(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text("step,loss,lr\n1,2.0,0.1\n2,1.9,0.1,7\n3,1.8,0.1\n4,1,1,1,1\n5,1.7,0.1\n")
    run = lrdoctor.read(p)
    assert run.steps.tolist() == [1, 3, 5]
    assert any("2 malformed row(s)" in w and "line 3" in w for w in run.meta.warnings), run.meta.warnings


def test_space_padded_header_only_where_padded(tmp_path):
    """YOLO pads its header and cells with spaces; a plain CSV keeps a leading space in text."""
    p = tmp_path / "results.csv"
    p.write_text("step,   loss,     lr\n1,   2.0,   0.1\n2,   1.5,   0.1\n")
    run = lrdoctor.read(p)
    assert run.series("loss").values.tolist() == [2.0, 1.5]


def test_unsorted_and_sorted_steps_agree(tmp_path):
    rows = [(s, 3.0 - 0.01 * s) for s in range(1, 60)]
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("step,loss\n" + "".join(f"{s},{v}\n" for s, v in rows))
    b.write_text("step,loss\n" + "".join(f"{s},{v}\n" for s, v in rows[::-1]))
    ra, rb = lrdoctor.read(a), lrdoctor.read(b)
    assert ra.steps.tolist() == rb.steps.tolist() == list(range(1, 60))
    np.testing.assert_array_equal(ra.series("loss").values, rb.series("loss").values)
