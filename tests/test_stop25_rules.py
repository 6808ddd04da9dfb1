"""Readers and rules from the stop-25 study of the benchmark (issue 9), each on a real log or a
really trained run, with a twin:

- readers: a record behind a logger's or a launcher's prefix reads as the same record printed
  bare (Python's logging formats, Hydra's job logging, loguru's layout, torchrun's and Open
  MPI's process tags, DeepSpeed's "[Rank 0]"); a column no record filled is no metric;
- overfitting: with no training loss to compare (HF's results table), an evaluation loss that
  rose past GL_5 is overfitting even while the accuracy still sets new bests, as it already was
  beside a training loss.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys

import numpy as np
import pytest
import torch
from bench_logs import real_log

import lrdoctor

torch.set_num_threads(1)


def _digits_history(epochs: int = 12, n_train: int = 60, seed: int = 0) -> list[tuple[int, float, float, float]]:
    """A real MLP on scikit-learn's digits: (epoch, mean training loss, validation loss,
    validation accuracy) per epoch. 60 training examples: it memorises them."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    tr, va = idx[:n_train], idx[-600:]
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    ce = torch.nn.CrossEntropyLoss()
    out = []
    for ep in range(1, epochs + 1):
        total = 0.0
        for b in torch.split(tr, 16):
            opt.zero_grad()
            loss = ce(model(x[b]), y[b])
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        with torch.no_grad():
            logits = model(x[va])
            out.append((ep, total / len(tr), ce(logits, y[va]).item(), (logits.argmax(1) == y[va]).float().mean().item()))
    return out


def _message(ep: int, tl: float, vl: float, va: float) -> str:
    return f"Epoch {ep}/12 | train_loss: {tl:.4f} | val_loss: {vl:.4f} | val_acc: {va:.4f}"


# the layouts real projects log through: Python's basicConfig default, a common explicit
# format, Hydra's job logging (hydra/conf/hydra/job_logging/default.yaml) and loguru's default
_FORMATS = {
    "basic": "%(levelname)s:%(name)s:%(message)s",
    "dash": "%(asctime)s - %(levelname)s - %(message)s",
    "hydra": "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s",
    "loguru": "%(asctime)s.%(msecs)03d | %(levelname)-8s | %(module)s:%(funcName)s:%(lineno)d - %(message)s",
}


def _logged(history, fmt: str, tag: str = "") -> str:
    """The history written through a real ``logging`` handler with ``fmt``; ``tag`` is what a
    launcher puts before each line of a process's output."""
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter(fmt, datefmt="%Y-%m-%d %H:%M:%S" if "msecs" in fmt else None))
    log = logging.getLogger("lrdoctor.test.train")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
    for row in history:
        log.info(_message(*row))
    return "".join(tag + line + "\n" for line in buf.getvalue().splitlines())


@pytest.fixture(scope="module")
def history():
    return _digits_history()


def _series(path):
    run = lrdoctor.read(path)
    return {role: run.series(role).values.tolist() for role in ("loss", "eval_loss", "eval_accuracy")}


@pytest.mark.parametrize("name", sorted(_FORMATS))
def test_a_logger_prefix_reads_as_the_printed_record(tmp_path, history, name):
    bare = tmp_path / "print.log"
    bare.write_text("".join(_message(*row) + "\n" for row in history))
    logged = tmp_path / f"{name}.log"
    logged.write_text(_logged(history, _FORMATS[name]))
    want = _series(bare)
    assert len(want["loss"]) == len(history)
    assert _series(logged) == want
    kinds = {f.kind for f in lrdoctor.diagnose(lrdoctor.read(logged)).findings}
    assert kinds == {f.kind for f in lrdoctor.diagnose(lrdoctor.read(bare)).findings}


@pytest.mark.parametrize("tag", ["[rank0]: ", "[default0]:", "[1,0]<stdout>:"])
def test_a_launcher_tag_reads_as_the_printed_record(tmp_path, history, tag):
    bare = tmp_path / "print.log"
    bare.write_text("".join(_message(*row) + "\n" for row in history))
    tagged = tmp_path / "tagged.log"
    tagged.write_text(_logged(history, _FORMATS["hydra"], tag=tag))
    assert _series(tagged) == _series(bare)


def test_a_bracketed_split_after_a_timestamp_stays_the_records(tmp_path):
    """"[valid]" after the timestamp names the record's split; only logger names (dotted, with
    colons), levels and ranks are the header's."""
    lines = []
    for i in range(1, 9):
        lines.append(f"2024-05-01 12:00:0{i},000 [train] epoch {i} loss {2.0 / i:.4f}")
        lines.append(f"2024-05-01 12:00:0{i},500 [valid] epoch {i} loss {2.2 / i:.4f}")
    p = tmp_path / "split.log"
    p.write_text("\n".join(lines) + "\n")
    run = lrdoctor.read(p)
    assert run.series("loss").values.tolist() == pytest.approx([2.0 / i for i in range(1, 9)], abs=1e-4)
    assert run.series("eval_loss").values.tolist() == pytest.approx([2.2 / i for i in range(1, 9)], abs=1e-4)


def test_deepspeed_rank_tag_is_no_metric():
    """DeepSpeed-Chat's "[2023-04-18 01:46:59,142] [INFO] [logging.py:96:log_dist] [Rank 0] step=10":
    the header's "[Rank 0]" is no column. The log carries no loss: the CLI refuses it, naming the
    columns it saw."""
    path = real_log("fresh42/deepspeed-chat-step1-opt13b-prefix/training.log")
    got = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(path)], capture_output=True, text=True)
    assert got.returncode == 2
    seen = got.stderr.split("numeric columns seen:")[1].split(";")[0].replace(",", " ").split()
    assert "step" in seen and "lr" in seen
    assert "rank" not in seen


def test_a_column_no_record_filled_is_no_metric():
    """PaddleRec's "-INFO: epoch loss: 6.3719" line before the first "global_step:" record: its
    column was created and never filled; a rule that listed it crashed the diagnosis."""
    path = real_log("fresh50/paddlerec-17539-gnn-flat/issue17539.log")
    run = lrdoctor.read(path)
    assert "epoch_loss" in run.metrics and "epoch_loss" not in run  # listed, never logged
    report = lrdoctor.diagnose(run)  # (LRDOCTOR_STRICT: a rule that raises fails the test)
    assert not any(why.startswith("the check failed") for why in report.coverage.skipped.values())


def test_overfitting_from_evaluations_only_past_gl5_while_accuracy_rises():
    """HF card, distilbert at lr 2e-5: "No log" and then one repeated training loss; validation
    loss 0.3935 -> 0.4037 -> 0.4696 -> 0.4849 (+23%) while accuracy still rises to 0.8207."""
    run = lrdoctor.read(real_log("fresh39/hfcard-distilbert-sentence-lr2e-5-all/training_results.md"))
    found = [f for f in lrdoctor.diagnose(run).findings if f.kind == "overfitting"]
    assert found and found[0].evidence["generalization_loss"] == pytest.approx(0.4849 / 0.3935 - 1, rel=1e-3)
    assert found[0].start_step == 390


@pytest.mark.parametrize("rel", ["fresh39/hfcard-gpt2-nft-poetry/training_results.md",
                                 "fresh32/hfcard-bert-cased-test-trainer/training_results.md"])
def test_no_overfitting_on_healthy_cards_without_training_loss(rel):
    run = lrdoctor.read(real_log(rel))
    assert "overfitting" not in {f.kind for f in lrdoctor.diagnose(run).findings}


def test_evaluations_only_rise_below_gl5_with_new_best_accuracy_stays_silent(tmp_path):
    """Arithmetic of the rule's lower edge: a 3-evaluation rise of 3% beside a new-best accuracy
    is over-confidence, not overfitting (Guo et al. 2017)."""
    rows = ["| Training Loss | Epoch | Step | Validation Loss | Accuracy |", "|:-:|:-:|:-:|:-:|:-:|"]
    for i, (v, a) in enumerate([(0.50, 0.70), (0.40, 0.75), (0.401, 0.76), (0.405, 0.77), (0.412, 0.78)], 1):
        rows.append(f"| No log | {i}.0 | {100 * i} | {v:.4f} | {a:.4f} |")
    p = tmp_path / "card.md"
    p.write_text("\n".join(rows) + "\n")
    assert "overfitting" not in {f.kind for f in lrdoctor.diagnose(lrdoctor.read(p)).findings}
    # the same rise taken past GL_5 is reported
    rows[-1] = "| No log | 5.0 | 500 | 0.4300 | 0.7800 |"
    p.write_text("\n".join(rows) + "\n")
    assert "overfitting" in {f.kind for f in lrdoctor.diagnose(lrdoctor.read(p)).findings}


def test_the_memorising_run_is_still_judged_through_a_logger(tmp_path, history):
    """The really trained 60-example MLP: whatever the prefix, the findings are the bare print's."""
    v = np.array([row[2] for row in history])
    assert v.size == 12
    for name, fmt in _FORMATS.items():
        p = tmp_path / f"{name}.log"
        p.write_text(_logged(history, fmt))
        assert lrdoctor.read(p).n_steps == 12


def test_a_rule_that_raises_becomes_a_skipped_check(monkeypatch, history, tmp_path):
    """A log no one foresaw can trip a rule: the report keeps every other check and lists the one
    that raised as skipped (its silence is not "checked and healthy"); LRDOCTOR_STRICT re-raises."""
    import dataclasses

    from lrdoctor.detect import SPECS

    p = tmp_path / "print.log"
    p.write_text("".join(_message(*row) + "\n" for row in history))
    run = lrdoctor.read(p)
    ran = set(lrdoctor.diagnose(run).coverage.ran)
    assert "overfitting" in ran

    def boom(run, th):
        raise ZeroDivisionError("a rule's bug")

    monkeypatch.setitem(SPECS, "overfitting", dataclasses.replace(SPECS["overfitting"], detect=boom))
    monkeypatch.delenv("LRDOCTOR_STRICT", raising=False)
    report = lrdoctor.diagnose(lrdoctor.read(p))
    assert set(report.coverage.ran) == ran - {"overfitting"}
    assert "ZeroDivisionError: a rule's bug" in report.coverage.skipped["overfitting"]
    assert "overfitting" not in {f.kind for f in report.findings}
    monkeypatch.setenv("LRDOCTOR_STRICT", "1")
    with pytest.raises(ZeroDivisionError):
        lrdoctor.diagnose(lrdoctor.read(p))


def _history_frame(history):
    import pandas as pd

    return pd.DataFrame([{"epoch": e, "train_loss": tl, "val_loss": vl, "val_acc": va} for e, tl, vl, va in history])


@pytest.mark.parametrize("how", ["semicolon", "semicolon-decimal-comma", "resaved-index"])
def test_tables_as_pandas_and_spreadsheets_write_them(tmp_path, history, how):
    """The trained history as a table, the ways real tables come: separated by semicolons (with
    decimal points, or with decimal commas as a comma-decimal locale writes them), and saved by
    pandas twice, whose second save writes the first's index as "Unnamed: 0" (a header that reads
    like a "key: value" record)."""
    import pandas as pd

    df = _history_frame(history)
    plain = tmp_path / "plain.csv"
    df.to_csv(plain, index=False)
    p = tmp_path / f"{how}.csv"
    if how == "semicolon":
        df.to_csv(p, sep=";", index=False)
    elif how == "semicolon-decimal-comma":
        df.to_csv(p, sep=";", decimal=",", index=False)
        assert "," in p.read_text().splitlines()[1]
    else:
        df.to_csv(tmp_path / "once.csv")
        pd.read_csv(tmp_path / "once.csv").to_csv(p)
        assert p.read_text().startswith(",Unnamed: 0,")
    got, want = lrdoctor.read(p), lrdoctor.read(plain)
    for role in ("loss", "eval_loss", "eval_accuracy"):
        np.testing.assert_allclose(got.series(role).values, want.series(role).values)
    assert got.series("loss").values.size == len(history)


def test_a_comma_text_log_is_still_text(tmp_path):
    """"iter 0: loss 4.2, time 30ms" has commas but its second line is no row of numbers."""
    p = tmp_path / "nano.log"
    p.write_text("".join(f"iter {i}: loss {4.2 - 0.1 * i:.4f}, time 30.00ms, mfu 1.00%\n" for i in range(20)))
    run = lrdoctor.read(p)
    assert run.meta.format == "text-log" and run.series("loss").values.size == 20


def _goal_chain(length: int, episodes: int = 60, seed: int = 0) -> list[tuple[int, float, float]]:
    """REINFORCE on a chain of ``length`` states with a goal-reaching reward as Fetch pays it: -1
    per step until the goal (at most 2 x length steps), minus 0.01 per state short of the end at
    the episode's furthest point; (episode, return, is_success). A short chain is reached by chance
    and learned; a long one is never reached, and its returns still differ episode to episode."""
    torch.manual_seed(seed)
    policy = torch.nn.Sequential(torch.nn.Linear(length, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    opt = torch.optim.Adam(policy.parameters(), lr=1e-2)
    rows = []
    for ep in range(1, episodes + 1):
        state, furthest, logps, ret, success = 0, 0, [], 0.0, 0.0
        for _ in range(2 * length):
            x = torch.nn.functional.one_hot(torch.tensor(state), length).float()
            dist = torch.distributions.Categorical(logits=policy(x))
            a = dist.sample()
            logps.append(dist.log_prob(a))
            state = state + 1 if a.item() == 1 else 0
            furthest = max(furthest, state)
            ret -= 1.0
            if state == length - 1:
                success = 1.0
                break
        ret -= 0.01 * (length - 1 - furthest)
        loss = -(ret + 2 * length) * torch.stack(logps).sum() / (2 * length)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rows.append((ep, round(ret, 2), success))
    return rows


def test_a_success_rate_of_zero_throughout_is_no_learning(tmp_path):
    """SB3 zoo TQC+HER on FetchSlide: every one of 338 episodes has is_success 0.0; the return
    is about -50, the floor, but not one value (-50, -49.97, -49.93), so only the success says it."""
    report = lrdoctor.diagnose(real_log("fresh79/sb3zoo-tqc-fetchslide-monitor-head/0.monitor.csv"))
    found = [f for f in report.findings if f.kind == "slow_progress"]
    assert found and found[0].evidence["metric"] == "is_success" and found[0].evidence["points"] == 338
    bad, good = tmp_path / "long.csv", tmp_path / "short.csv"
    long_rows, short_rows = _goal_chain(40), _goal_chain(3)
    for path, rows in ((bad, long_rows), (good, short_rows)):
        path.write_text("episode,episode_reward,is_success\n" + "".join(f"{e},{r},{s}\n" for e, r, s in rows))
    assert len({r for _, r, _ in long_rows[-5:]}) > 1 and not any(s for *_, s in long_rows)
    assert sum(s for *_, s in short_rows) > 10
    got = [f for f in lrdoctor.diagnose(bad).findings if f.kind == "slow_progress"]
    assert got and got[0].evidence["rule"] == "the success rate is exactly 0 at every report"
    assert "slow_progress" not in {f.kind for f in lrdoctor.diagnose(good).findings if f.severity.rank >= 1}


def test_nested_json_records_read_as_slash_names(tmp_path, history):
    """{"epoch": 3, "train": {"loss": ...}, "val": {"loss": ..., "acc": ...}}: a logger that nests
    by split; its numbers are ``train/loss``, ``val/loss`` as TensorBoard and W&B name them, and
    the run judges as the flat print of the same history does."""
    import json

    nested, flat = tmp_path / "nested.jsonl", tmp_path / "flat.jsonl"
    nested.write_text("".join(json.dumps({"epoch": e, "train": {"loss": tl}, "val": {"loss": vl, "acc": va}}) + "\n"
                              for e, tl, vl, va in history))
    flat.write_text("".join(json.dumps({"epoch": e, "train_loss": tl, "val_loss": vl, "val_acc": va}) + "\n"
                            for e, tl, vl, va in history))
    a, b = lrdoctor.read(nested), lrdoctor.read(flat)
    assert a.meta.roles["loss"] == "train/loss" and a.meta.roles["eval_loss"] == "val/loss"
    for role in ("loss", "eval_loss", "eval_accuracy"):
        np.testing.assert_allclose(a.series(role).values, b.series(role).values)
    kinds = {f.kind for f in lrdoctor.diagnose(a).findings}
    assert kinds == {f.kind for f in lrdoctor.diagnose(b).findings}


def test_nesting_is_read_to_a_bounded_depth(tmp_path):
    """A record nested 50 deep costs what its first levels cost; only MAX_NESTING levels are read."""
    import json

    from lrdoctor.io.records import MAX_NESTING

    deep: dict = {"x": 1.0}
    for _ in range(50):
        deep = {"g": deep}
    p = tmp_path / "deep.jsonl"
    p.write_text("".join(json.dumps({"step": i, "loss": 1.0 / (i + 1), "cfg": deep}) + "\n" for i in range(5)))
    run = lrdoctor.read(p)
    assert run.series("loss").values.size == 5
    assert not any(n.count("/") > MAX_NESTING for n in run.metrics)


def _digits_losses(lr: float, steps: int = 60, seed: int = 0) -> np.ndarray:
    """Per-step training losses of a digits MLP under plain SGD at ``lr``."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x, y = torch.tensor(x / 16.0, dtype=torch.float32), torch.tensor(y)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    out = []
    for s in range(steps):
        b = torch.arange(s * 16, s * 16 + 64) % len(x)
        loss = torch.nn.functional.cross_entropy(model(x[b]), y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.item())
    return np.array(out)


def test_bare_numbers_are_named_after_their_file(tmp_path):
    """np.savetxt("loss.txt", losses): no name in the file but the file's. A run at SGD lr 20 blows
    up (5253 at step 4, then stuck near ln 10) and is reported; its lr 0.1 twin is not."""
    bad, good = tmp_path / "bad" / "loss.txt", tmp_path / "good" / "loss.txt"
    for path, lr in ((bad, 20.0), (good, 0.1)):
        path.parent.mkdir()
        np.savetxt(path, _digits_losses(lr))
    run = lrdoctor.read(bad)
    assert run.meta.format == "bare-columns" and run.meta.roles["loss"] == "loss"
    assert any("named after the file" in w for w in run.meta.warnings)
    kinds = {f.kind for f in lrdoctor.diagnose(run).findings if f.severity.rank >= 1}
    assert kinds & {"loss_spike", "divergence", "nonfinite"}
    assert not {f.kind for f in lrdoctor.diagnose(lrdoctor.read(good)).findings if f.severity.rank >= 1}


def test_bare_step_value_rows_can_be_named_on_the_cli(tmp_path):
    """"76930 2.6496577" rows in a file called issue7.log (yanmtt issue 7, the loss going NaN):
    the CLI refuses it naming the columns it made, and --metric loss=issue7 diagnoses it."""
    path = real_log("fresh26/yanmtt-7-bart-pretrain-nan/issue7.log")
    refused = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(path)], capture_output=True, text=True)
    assert refused.returncode == 2 and "numeric columns seen: step, issue7" in refused.stderr
    assert "Traceback" not in refused.stderr
    named = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(path), "--metric", "loss=issue7",
                            "--format", "json"], capture_output=True, text=True)
    import json

    report = json.loads(named.stdout)
    assert "nonfinite" in {f["kind"] for f in report["findings"]}


def test_a_matrix_of_numbers_is_no_log(tmp_path):
    p = tmp_path / "weights.txt"
    np.savetxt(p, np.random.default_rng(0).normal(size=(20, 30)))
    got = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(p)], capture_output=True, text=True)
    assert got.returncode == 2 and "unknown format" in got.stderr


def test_chainer_print_report_cells_are_matched_by_position():
    """ESPnet1 (Chainer) PrintReport: blank cells where an entry had no value (the validation
    columns between evaluations), and a long value pushing the next ones right. ESPnet issue
    4092: a transducer loss that goes negative."""
    run = lrdoctor.read(real_log("fresh30/espnet-issue4092-negative-transducer/log.txt"))
    assert run.meta.roles["loss"] == "main/loss" and run.meta.step_column == "iteration"
    assert run.series("loss").values[:3].tolist() == [0.0183482, -0.00548435, -0.0430187]
    assert run.series("main/loss_trans").values[1] == -0.00548435
    assert run.series("elapsed_time").values[1] == 236.267
    assert "validation/main/loss" not in run  # blank in every row shown


def test_bare_numbers_under_a_header_are_no_bare_file(tmp_path):
    p = tmp_path / "table.txt"
    p.write_text("alpha beta gamma\n" + "".join(f"{i} {1 / (i + 1):.4f} {i * 2}\n" for i in range(10)))
    try:
        run = lrdoctor.read(p)
    except lrdoctor.errors.InputError:
        return
    assert run.meta.format != "bare-columns"


def test_at_step_lines_in_any_case_keep_their_other_fields(tmp_path, history):
    """"Training Loss at Step 100: 1.44, Accuracy: 0.058" (a TF2 loop's print, capitalised): the
    loss, its step and the fields after it, as the lower-case print reads."""
    lower = "".join(f"Training loss at step {e * 10}: {tl:.4f}, accuracy: {va:.4f}\n" for e, tl, _, va in history)
    upper = "".join(f"Training Loss at Step {e * 10}: {tl:.4f}, Accuracy: {va:.4f}\n" for e, tl, _, va in history)
    a, b = tmp_path / "lower.log", tmp_path / "upper.log"
    a.write_text(lower)
    b.write_text(upper)
    ra, rb = lrdoctor.read(a), lrdoctor.read(b)
    assert ra.series("loss").values.tolist() == rb.series("loss").values.tolist()
    assert ra.series("loss").steps.tolist() == [10.0 * e for e, *_ in history]
    assert ra.series("task_metric").values.tolist() == pytest.approx([va for *_, va in history], abs=1e-4)
    assert rb.series("task_metric").values.tolist() == ra.series("task_metric").values.tolist()


@pytest.mark.parametrize("line, record", [
    ("INFO:root:- learning_rate: 5e-05", "- learning_rate: 5e-05"),  # Python's default format: only its header goes
    ("INFO:__main__:| epoch 1 | loss 2.0", "| epoch 1 | loss 2.0"),
    ("2024-05-01 12:00:00,123 - INFO - Epoch: 001/050 | Cost: 2.3", "Epoch: 001/050 | Cost: 2.3"),
    ("[2024-05-01 12:00:00,123][src.train][INFO] - | epoch 1 | loss 2.3", "| epoch 1 | loss 2.3"),
    ("2024-05-01 12:00:00.123 | INFO     | __main__:train:88 - Epoch 1 loss 0.5", "Epoch 1 loss 0.5"),
    ("2020-10-13 23:24:41 | INFO | train_inner | epoch 001: 100 / 1597 loss=13.38", "| train_inner | epoch 001: 100 / 1597 loss=13.38"),
    ("[2023-04-18 01:46:59,142] [INFO] [logging.py:96:log_dist] [Rank 0] step=10, skipped=6", "step=10, skipped=6"),
    ("2020-02-22 05:37:13,353 P7379 INFO [Metrics] logloss: 0.37", "[Metrics] logloss: 0.37"),
    ("2024-01-01 12:00:00 [valid] loss 0.3", "[valid] loss 0.3"),
    ("[rank0]: iter 10: loss 3.2", "iter 10: loss 3.2"),
    ("step 10: loss=2.01", "step 10: loss=2.01"),
    # ESPnet2: the host in brackets, the timestamp, "(module:line)", the level
    ("[gpu-node-3] 2023-01-01 12:00:00,123 (trainer:123) INFO: 1epoch:train:1-100batch: loss=78.9",
     "1epoch:train:1-100batch: loss=78.9"),
    ("[valid] 2023-01-01 12:00:00 loss 0.3", "[valid] 2023-01-01 12:00:00 loss 0.3"),  # a split tag is no host
])
def test_what_a_prefix_is(line, record):
    from lrdoctor.io.textlog import _strip_prefix

    assert _strip_prefix(line) == record


def test_sb3_eval_callback_output_is_read(tmp_path):
    """stable-baselines3's EvalCallback, verbose=1, on a real PPO run (CartPole): "Eval
    num_timesteps=N, episode_reward=R +/- S" and "Episode length: L +/- S" lines, captured from
    its stdout: the evaluation return at each timestep, the spread dropped."""
    import contextlib

    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import EvalCallback

    buf = io.StringIO()
    env, eval_env = gym.make("CartPole-v1"), gym.make("CartPole-v1")
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, seed=0, verbose=0, device="cpu")
    cb = EvalCallback(eval_env, eval_freq=512, n_eval_episodes=3, verbose=1)
    with contextlib.redirect_stdout(buf):
        model.learn(total_timesteps=3072, callback=cb)
    text = buf.getvalue()
    assert "Eval num_timesteps=" in text and "+/-" in text
    p = tmp_path / "eval.log"
    p.write_text(text)
    run = lrdoctor.read(p)
    got = run.series("eval_return")
    want = [float(line.split("episode_reward=")[1].split()[0]) for line in text.splitlines() if "episode_reward=" in line]
    assert got.values.tolist() == pytest.approx(want)
    assert got.steps.tolist() == [512.0 * i for i in range(1, len(want) + 1)]
    assert run.is_rl


@pytest.mark.parametrize("line, record", [
    ("acc 93.2±0.4 loss 0.21", {"acc": 93.2, "loss": 0.21}),
    ("step 100 | return 200.0 +/- 15.2 | loss 0.3", {"step": 100.0, "return": 200.0, "loss": 0.3}),
])
def test_a_mean_with_its_spread_is_the_mean(line, record):
    from lrdoctor.io.textlog import parse_lines

    assert parse_lines([line])[0] == [record]


@pytest.mark.parametrize("line, record", [
    # torchtune's recipe progress bar: epoch|step|Loss
    ("1|100|Loss: 1.2345432424545288: 100%|##########| 100/100", {"epoch": 1.0, "step": 100.0, "loss": 1.2345432424545288}),
    # Flax/CLU's LoggingWriter behind absl's header
    ("I0101 12:00:00.123456 139 logging_writer.py:48] [100] loss=1.2, accuracy=0.5", {"step": 100.0, "loss": 1.2, "accuracy": 0.5}),
    # Airflow-style "{file.py:line}" in the header
    ("[2024-01-01 12:00:00] {train.py:123} INFO - step 10 loss 2.3", {"step": 10.0, "loss": 2.3}),
])
def test_step_counters_of_other_trainers(line, record):
    from lrdoctor.io.textlog import parse_lines

    assert parse_lines([line])[0] == [record]


def test_keys_in_chinese_japanese_korean_read_as_english(tmp_path, history):
    """The same trained history printed with its keys in the author's language: as a popular
    Chinese PyTorch tutorial prints it ("训练次数：100, Loss：1.98", full-width colons, then
    "整体测试集上的Loss: 262.6" for the test set), and with Japanese and Korean words. Each reads as
    the English print does."""
    english = "".join(f"epoch {e} train_loss: {tl:.4f} val_loss: {vl:.4f} val_acc: {va:.4f}\n" for e, tl, vl, va in history)
    local = {
        "zh": "".join(f"第{e}轮 训练损失：{tl:.4f} 验证损失：{vl:.4f} 验证准确率：{va:.4f}\n" for e, tl, vl, va in history),
        "ja": "".join(f"エポック {e} 学習損失: {tl:.4f} 検証損失: {vl:.4f} 検証精度: {va:.4f}\n" for e, tl, vl, va in history),
        "ko": "".join(f"에폭 {e} 훈련 손실: {tl:.4f} 검증 손실: {vl:.4f} 검증 정확도: {va:.4f}\n" for e, tl, vl, va in history),
        "zh-tutorial": "".join(f"-------第 {e} 轮训练开始------\n训练次数：{e * 100}, Loss：{tl:.4f}\n"
                               f"整体测试集上的Loss: {vl:.4f}\n整体测试集上的正确率: {va:.4f}\n模型已保存\n"
                               for e, tl, vl, va in history),
    }
    p = tmp_path / "en.log"
    p.write_text(english)
    want = lrdoctor.read(p)
    for lang, text in local.items():
        q = tmp_path / f"{lang}.log"
        q.write_text(text, encoding="utf-8")
        got = lrdoctor.read(q)
        for role in ("loss", "eval_loss"):
            np.testing.assert_allclose(got.series(role).values, want.series(role).values, err_msg=lang)
        if lang != "zh-tutorial":
            np.testing.assert_allclose(got.series("eval_accuracy").values, want.series("eval_accuracy").values)
    assert lrdoctor.read(tmp_path / "zh-tutorial.log").series("loss").steps.tolist() == [100.0 * e for e, *_ in history]


def _five_class_history(shuffled_val: bool, epochs: int = 6, seed: int = 0) -> list[tuple[int, float, float, float]]:
    """A digits MLP on classes 0-4 (epoch, train loss, val loss, val accuracy); with
    ``shuffled_val`` the validation labels are a permutation of themselves (a broken evaluation
    pipeline): the model learns, and its evaluated accuracy stays at a guess."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    keep = y < 5
    x, y = torch.tensor(x[keep] / 16.0, dtype=torch.float32), torch.tensor(y[keep])
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(x), generator=g)
    tr, va = idx[:500], idx[500:]
    yv = y[va][torch.randperm(len(va), generator=g)] if shuffled_val else y[va]
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 5))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for ep in range(1, epochs + 1):
        for b in torch.split(tr, 32):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[b]), y[b])
            loss.backward()
            opt.step()
        with torch.no_grad():
            tl = torch.nn.functional.cross_entropy(model(x[tr]), y[tr]).item()
            logits = model(x[va])
            out.append((ep, tl, torch.nn.functional.cross_entropy(logits, yv).item(),
                        (logits.argmax(1) == yv).float().mean().item()))
    return out


def test_an_accuracy_never_above_chance_is_no_learning(tmp_path):
    """A Keras ShuffleNet paste on 5 classes (fresh6, kept out of the shipped set for its licence):
    val_acc 0.111-0.200 at epochs 21-23 while the training accuracy is 0.64. Twin: a digits MLP on 5
    classes whose validation labels are shuffled (a broken evaluation pipeline), against the same
    run evaluated on its true labels."""
    for shuffled in (True, False):
        rows = _five_class_history(shuffled)
        p = tmp_path / f"{shuffled}.log"
        p.write_text("".join(f"Epoch {e}/6 - loss: {tl:.4f} - val_loss: {vl:.4f} - val_accuracy: {va:.4f}\n" for e, tl, vl, va in rows))
        got = [f for f in lrdoctor.diagnose(p, config={"num_classes": 5}).findings if f.kind == "slow_progress"]
        if shuffled:
            assert max(va for *_, va in rows) < 0.22 and rows[-1][1] < 0.5  # it learned; its evaluation cannot tell
            assert got and got[0].evidence["rule"] == "accuracy never above chance"
            assert got[0].evidence["chance"] == pytest.approx(0.2) and got[0].severity.rank == 2
        else:
            assert not got


def test_bar_grouped_tables_read_word_by_word():
    """ElegantRL's evaluator: "ID  Step  maxR |  avgR  stdR  avgS  stdS |  expR  objC  etc." then
    rows of as many numbers ("etc." naming the ones after); a row cut short is no row. An HF results
    table's one-blank names ("| Training Loss | Epoch |") stay whole."""
    run = lrdoctor.read(real_log("fresh25/elegantrl-pr214-ppo-bipedal/bipedalwalker_ppo.log"))
    assert run.meta.step_column == "Step" and run.meta.roles["ep_return"] == "avgR"
    assert run.series("avgR").values[:3].tolist() == [-95.16, -96.87, -117.02]
    assert {"etc_1", "etc_2"} <= set(run.metrics) and not any("_" in n and n.startswith("id") for n in run.metrics)
    card = lrdoctor.read(real_log("fresh39/hfcard-distilbert-sentence-lr2e-5-all/training_results.md"))
    assert card.series("eval_loss").values.tolist() == [0.4178, 0.3935, 0.4037, 0.4696, 0.4849]


def test_td3_and_a2c_ppo_acktr_console_layouts(tmp_path):
    """Two PyTorch RL layouts many repositories copy, written by a real REINFORCE agent on CartPole:
    the TD3 authors' "Total T: N Episode Num: E Episode T: L Reward: R" with "Evaluation over 10
    episodes: X" between dashes, and pytorch-a2c-ppo-acktr's "Updates U, num timesteps N, FPS F" /
    " Last 10 training episodes: mean/median reward A/B, min/max reward C/D"."""
    import gymnasium as gym

    torch.manual_seed(0)
    env = gym.make("CartPole-v1")
    policy = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.Tanh(), torch.nn.Linear(32, 2))
    opt = torch.optim.Adam(policy.parameters(), lr=1e-2)
    td3, ppo, total, returns = [], [], 0, []
    for ep in range(1, 41):
        obs, _ = env.reset(seed=ep)
        logps, rewards, done = [], [], False
        while not done:
            dist = torch.distributions.Categorical(logits=policy(torch.tensor(obs, dtype=torch.float32)))
            a = dist.sample()
            logps.append(dist.log_prob(a))
            obs, r, term, trunc, _ = env.step(a.item())
            rewards.append(r)
            done = term or trunc
        total += len(rewards)
        returns.append(sum(rewards))
        g = torch.tensor([sum(rewards[i:]) for i in range(len(rewards))])
        loss = -(torch.stack(logps) * (g - g.mean()) / (g.std() + 1e-8)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        td3.append(f"Total T: {total} Episode Num: {ep} Episode T: {len(rewards)} Reward: {sum(rewards):.3f}")
        if ep % 5 == 0:
            last = returns[-10:]
            td3 += ["-" * 39, f"Evaluation over 10 episodes: {np.mean(last):.3f}", "-" * 39]
            ppo += [f"Updates {ep}, num timesteps {total}, FPS 1200 ",
                    f" Last {len(last)} training episodes: mean/median reward {np.mean(last):.1f}/{np.median(last):.1f}, "
                    f"min/max reward {min(last):.1f}/{max(last):.1f}", ""]
    a, b = tmp_path / "td3.log", tmp_path / "ppo.log"
    a.write_text("\n".join(td3) + "\n")
    b.write_text("\n".join(ppo) + "\n")
    ra, rb = lrdoctor.read(a), lrdoctor.read(b)
    assert ra.meta.step_column == "total_t" and ra.meta.step_unit == "timestep"
    assert ra.series("ep_return").values.tolist() == pytest.approx(returns, abs=1e-3)
    assert ra.series("eval_return").values.size == 8
    assert rb.meta.roles["ep_return"] == "mean_reward" and rb.meta.step_column == "num_timesteps"
    assert rb.series("ep_return").values.tolist() == pytest.approx([round(float(np.mean(returns[max(0, e - 10):e])), 1)
                                                                   for e in range(5, 41, 5)], abs=0.051)
    assert rb.series("min_reward").values.size == 8


def test_checkpoint_messages_are_no_records(tmp_path, history):
    """Keras' "Epoch 00005: val_loss improved from 0.31234 to 0.21234, saving model to best.h5" and
    pytorchtools' "Validation loss decreased (0.412345 --> 0.398765).  Saving model ..." are printed
    only when the value improved: the evaluation loss is the epoch lines' (every epoch), and the
    messages' numbers make no columns."""
    lines, best = [], float("inf")
    for e, tl, vl, va in history:
        lines.append(f"Epoch {e}/12 - loss: {tl:.4f} - val_loss: {vl:.4f} - val_accuracy: {va:.4f}")
        if vl < best:
            lines.append(f"Epoch {e:05d}: val_loss improved from {best:.5f} to {vl:.5f}, saving model to best.h5")
            lines.append(f"Validation loss decreased ({best:.6f} --> {vl:.6f}).  Saving model ...")
            best = vl
        else:
            lines.append(f"Epoch {e:05d}: val_loss did not improve from {best:.5f}")
    p = tmp_path / "fit.log"
    p.write_text("\n".join(lines) + "\n")
    run = lrdoctor.read(p)
    assert run.series("eval_loss").values.tolist() == pytest.approx([round(vl, 4) for _, _, vl, _ in history])
    assert not {"to", "val_loss_improved_from"} & set(run.metrics)


def test_bare_numbers_with_a_non_finite_first_column(tmp_path):
    """A NaN or inf in the first column is no step counter (the check once raised on it)."""
    from lrdoctor.io.textlog.bare import read_bare_columns

    p = tmp_path / "loss.txt"
    p.write_text("76930 nan\n76940 2.5\nnan 2.4\n76960 2.3\ninf 2.2\n")
    run = read_bare_columns(p)
    assert run.meta.format == "bare-columns" and "step" not in run.metrics
    assert run.series("loss_2").values.size == 5
