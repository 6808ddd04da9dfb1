"""Three changes of stop 75 to ``initial_loss_anomaly``, each on really trained runs, their twins and
real logs read in place.

**A loss the log names a cross-entropy is judged by its sign without K.** With no class count in
the config, only a loss the log shows to be a per-token cross-entropy (a perplexity equal to its
exp) was judged, against the largest vocabulary. But a column the log itself names a cross-entropy
(OpenNMT's ``xent``) is a sum or mean of -log p with p at most 1: it is never negative, whatever K
or the reduction. OpenNMT printed ``xent: -0.02`` at step 1 and -31 by step 20 (NLL of scores that
were never normalised): now a ``negative`` finding. Its scale still needs K (a sum over tokens is
no mean), so a positive one stays unjudged.

**The training loss's own reports start the run, though the rows do not.** A log whose rows mix
evaluation lines between the training reports (mmaction's log.json: a "train" row at iteration 10
of each epoch, a "val" row at its end) has rows at unevenly spaced steps (10, 19, 29, 38), so it
was taken for an excerpt. The loss's own steps (10, 29, 48) are evenly spaced from the end of their
first logging period: its first report is the start of the run.

**A batch counter within the first epoch starts the run.** A log without a step column (MXNet's
Speedometer: "Epoch[0] Batch [50] ... Train-Perplexity=...") was never taken to start at the
start; an epoch column at its first epoch and a batch counter evenly spaced from the end of its
first period (50, 100, 150) say it does. On such an axis of row numbers the first report alone is
the start, as on an epoch axis: rows are reports, 50 batches apart, not the first three steps."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, write_lines

import lrdoctor
from lrdoctor.finding import Severity

torch.set_num_threads(1)

_ONMT_NEGATIVE_XENT = "fresh980/onmt-library-negxent-2019/train.log"
_MMACTION_TSN = "fresh174/mmaction-13-tsn-ucf101-epochs1-5/log.json"
_MXNET_CHAR_RNN = "fresh194/mxnet-2805-char-rnn-perplexity-1e10/paste.txt"


def _initial(report):
    return [f for f in report.findings if f.kind == "initial_loss_anomaly"]


def _blown_up_head(model, scale: float):
    """Multiply the last layer's weights and bias by ``scale``: confident logits at initialisation,
    a first cross-entropy far above ln 10 (a head initialised with std ~1 instead of fan-in scaled)."""
    with torch.no_grad():
        model[2].weight.mul_(scale)
        model[2].bias.mul_(scale)
    return model


def _onmt_log(tmp_path: Path, normalised: bool) -> str:
    """Train the 64-32-10 digits MLP with SGD (lr 1.0, OpenNMT's default, batches of 50) for 20 steps
    and print OpenNMT's report line each step: accuracy, perplexity = exp(xent), xent. With ``normalised`` off, the loss
    is ``nll_loss`` of the raw scores (log_softmax forgotten): -mean(score of the target), which
    SGD drives below zero at once and without bound."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    lines = ["[2019-02-13 10:17:03,247 INFO] Start training loop and validate every 10 steps..."]
    for step in range(1, 21):
        i = (step - 1) * 50 % 1400
        scores = model(x[i:i + 50])
        out = torch.log_softmax(scores, 1) if normalised else scores
        loss = torch.nn.functional.nll_loss(out, y[i:i + 50])
        opt.zero_grad()
        loss.backward()
        opt.step()
        acc = 100 * (scores.argmax(1) == y[i:i + 50]).float().mean().item()
        xent = loss.item()
        ppl = math.exp(min(xent, 700))
        lines.append(f"[2019-02-13 10:17:03,392 INFO] Step {step:2d}/   20; acc: {acc:6.2f}; ppl: {ppl:5.2f}; "
                     f"xent: {xent:.2f}; lr: 1.00000; 1046/1310 tok/s;      0 sec")
    return write_lines(tmp_path / "train.log", lines)


def test_a_negative_cross_entropy_named_by_the_log_is_an_initial_loss_anomaly(tmp_path):
    """The NLL of unnormalised scores: xent below zero from the first steps. No K in the config,
    yet a cross-entropy is never negative: a ``negative`` warning at step 1 naming the column."""
    [f] = _initial(lrdoctor.diagnose(_onmt_log(tmp_path, normalised=False)))
    assert f.severity is Severity.WARNING and f.start_step == 1.0
    assert f.evidence["first_loss"] < 0 and f.evidence["cross_entropy_column"] == "xent"
    assert "never is" in f.summary


def test_a_positive_cross_entropy_named_by_the_log_is_not_judged_without_k(tmp_path):
    """The twin with log_softmax: xent starts near ln 10 and falls. Its name proves the sign, not the
    scale, so nothing is said of it without K."""
    assert _initial(lrdoctor.diagnose(_onmt_log(tmp_path, normalised=True))) == []


def test_the_onmt_negative_xent_log_is_an_initial_loss_anomaly():
    """OpenNMT read in place: xent -0.02 at step 1 (ppl 0.98), -0.78, -2.24: the median start -0.78."""
    [f] = _initial(lrdoctor.diagnose(real_log(_ONMT_NEGATIVE_XENT)))
    assert f.start_step == 1.0 and f.evidence["first_loss"] == -0.78


def _mmaction_log(tmp_path: Path, scale: float) -> str:
    """Train the digits MLP (last layer scaled by ``scale``) with SGD (lr 0.05) for three epochs of 28
    batches and write an mmaction log.json: a "train" row at iteration 10 of each epoch (the mean
    loss of its first 10 batches, ``loss_cls`` and ``loss``) and a "val" row at the epoch's end with
    the held-out top-1 accuracy."""
    x, y, model = digits_mlp(0)
    model = _blown_up_head(model, scale)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    rows = []
    for epoch in range(1, 4):
        window = []
        for it, i in enumerate(range(0, 1400, 50), start=1):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
            opt.zero_grad()
            loss.backward()
            opt.step()
            window.append(loss.item())
            if it == 10:
                mean = sum(window) / len(window)
                rows.append({"mode": "train", "epoch": epoch, "iter": 10, "lr": 0.05, "loss_cls": round(mean, 5),
                             "loss": round(mean, 5)})
        with torch.no_grad():
            top1 = (model(x[1400:]).argmax(1) == y[1400:]).float().mean().item()
        rows.append({"mode": "val", "epoch": epoch, "iter": 28, "lr": 0.05, "top1 acc": round(top1, 5)})
    return write_lines(tmp_path / "log.json", [json.dumps(r) for r in rows])


def test_a_blown_up_start_in_a_log_with_evaluation_rows_is_an_initial_loss_anomaly(tmp_path):
    """A head scaled 30x: the first ten batches average about 7, three times ln 10. The rows fall at
    iterations 10, 28, 38, 56, 66, 84 (not evenly spaced), the training reports at 10, 38, 66 (evenly,
    from the first period): the first is the start of the run, and it is judged."""
    [f] = _initial(lrdoctor.diagnose(_mmaction_log(tmp_path, scale=30.0), config={"num_classes": 10}))
    assert f.start_step == 10.0 and f.evidence["ratio"] > 2


def test_an_ordinary_start_in_a_log_with_evaluation_rows_is_silent(tmp_path):
    """The twin with the default head: the first ten batches average about ln 10, as an untrained
    model gives."""
    assert _initial(lrdoctor.diagnose(_mmaction_log(tmp_path, scale=1.0), config={"num_classes": 10})) == []


def test_the_mmaction_tsn_log_is_an_initial_loss_anomaly():
    """mmaction's TSN on UCF101 (101 classes) read in place: loss_cls 73.64 at iteration 10 of epoch 1,
    16x ln 101, then 4.63 at epoch 2."""
    [f] = _initial(lrdoctor.diagnose(real_log(_MMACTION_TSN), config={"num_classes": 101}))
    assert f.start_step == 10.0 and f.evidence["first_loss"] == 73.63762


def _mxnet_log(tmp_path: Path, scale: float) -> str:
    """Train the digits MLP (last layer scaled by ``scale``) with SGD (lr 0.001, batches of 10) for 60
    batches of the first epoch and print MXNet's Speedometer line every 20 batches: the perplexity
    of those 20 batches, exp of their mean cross-entropy, after the operator warnings MXNet prints as
    it binds the graph (no step column then, no number of classes)."""
    x, y, model = digits_mlp(0)
    model = _blown_up_head(model, scale)
    opt = torch.optim.SGD(model.parameters(), lr=0.001)
    warning = r"[16:37:56] d:\mxnet\src\operator./reshape-inl.h:227: Using target_shape will be deprecated."
    lines = [warning, "04:37:56 INFO:Start training with [cpu(0)]", warning, warning, warning]
    window = []
    for batch in range(1, 61):
        i = (batch - 1) * 10
        loss = torch.nn.functional.cross_entropy(model(x[i:i + 10]), y[i:i + 10])
        opt.zero_grad()
        loss.backward()
        opt.step()
        window.append(loss.item())
        if batch % 20 == 0:
            ppl = math.exp(sum(window) / len(window))
            lines.append(f"04:38:54 INFO:Epoch[0] Batch [{batch}]\tSpeed: 31.41 samples/sec\tTrain-Perplexity={ppl:.6f}")
            window = []
    return write_lines(tmp_path / "train.log", lines)


def test_a_blown_up_start_counted_in_batches_of_the_first_epoch_is_an_initial_loss_anomaly(tmp_path):
    """A head scaled 400x: the perplexity of the first 20 batches is beyond exp(18.7), worse than a
    uniform guess over any vocabulary. The log has no step column, but "Epoch[0] Batch [20]", [40],
    [60] is its start."""
    [f] = _initial(lrdoctor.diagnose(_mxnet_log(tmp_path, scale=400.0)))
    assert f.evidence["first_loss"] > 18.7 and "per-token cross-entropy" in f.summary


def test_an_ordinary_start_counted_in_batches_is_silent(tmp_path):
    """The twin with the default head: a perplexity of about 10 over the first 20 batches."""
    assert _initial(lrdoctor.diagnose(_mxnet_log(tmp_path, scale=1.0))) == []


def test_the_mxnet_char_rnn_log_is_an_initial_loss_anomaly():
    """MXNet's char-RNN read in place: Train-Perplexity 1e10 (23.03 nats) at Batch [50], [100], [150]
    of Epoch[0]."""
    [f] = _initial(lrdoctor.diagnose(real_log(_MXNET_CHAR_RNN)))
    assert abs(f.evidence["first_loss"] - 23.0259) < 1e-3
