"""Three reader changes of stop 75 (the pool of labelled logs that lrdoctor refused as unreadable), each
on a really trained run, its healthy twin and real logs read in place.

**FermiNet's step lines are read: the energy in Hartree is the loss.** FermiNet's JAX training loop
logs, through absl, ``Step 03447: -14.9133 E_h, variance=0.0626 E_h^2, pmove=0.52``: the mean local
energy, which is the objective its optimiser descends, then the energy's variance and the MCMC
acceptance ratio. The energy has no key (a unit follows it), so only ``variance`` and ``pmove`` were
read and the run was refused: "no training metric recognised". A run whose energy went NaN (a
GitHub issue's paste) was therefore never reported.

**Synaptic's and Neataptic's trainer lines are read: the error is the loss, the rate the LR.**
``iteration 8 error 0.21693097170474318 rate 0.2`` is what ``Network.train`` logs (Synaptic's
``Trainer``: ``iterations``); the error is the cost the trainer minimises (MSE by default). A bare
``error`` names no loss for the generic rules (it may be a task's error rate), so such a log was
refused; a browser console's ``network.js:587`` link under each line is no record.

**DenseFusion's training lines are read: the average distance is the loss.** ``Train time 00h 00m
04s Epoch 1 Batch 10 Frame 80 Avg_dis:nan`` prints the batch's mean distance between the object's
points under the predicted and the true pose, the term DenseFusion's loss weights by confidence. As
``avg_dis`` it named no loss, so a run whose distance spiked and went NaN was refused."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, write_lines

import lrdoctor
from lrdoctor.finding import Severity

torch.set_num_threads(1)

_FERMINET_NAN = "fresh121/ferminet-57-beh-adam-nan/train.log"
_NEATAPTIC_FROZEN = "fresh19/neataptic-issue134-frozen/issue134.log"
_SYNAPTIC_HEALTHY = "fresh19/synaptic-issue179-mse/issue179.log"
_DENSEFUSION_NAN = "fresh158/densefusion-46-spike-nan/paste.txt"
_DENSEFUSION_HEALTHY = "fresh158/densefusion-18-linemod-epoch39/paste.txt"


def _ferminet_log(tmp_path: Path, lr: float) -> str:
    """Train the 64-32-10 digits MLP on the squared error to the one-hot labels with plain SGD at
    ``lr`` for 60 minibatches of 50 and print
    each step the way FermiNet does (the batch loss in the energy's place, the variance of the
    per-example losses as the energy variance, the batch accuracy as pmove), through absl's
    ``INFO:absl:`` prefix. At lr 30 each update overshoots the
    output bias further (a factor |1 - 2 lr / 10| > 1 a step) until the loss overflows and is NaN."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines = []
    for step in range(60):
        i = (step * 50) % 1400
        logits = model(x[i:i + 50])
        target = torch.nn.functional.one_hot(y[i:i + 50], 10).float()
        per = ((logits - target) ** 2).mean(1)
        loss = per.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        acc = (logits.argmax(1) == y[i:i + 50]).float().mean().item()
        lines.append(f"INFO:absl:Step {step:05d}: {loss.item():03.4f} E_h, variance={per.var().item():03.4f} E_h^2, pmove={acc:0.2f}")
    return write_lines(tmp_path / "train.log", lines)


def _nonfinite(report):
    return [f for f in report.findings if f.kind == "nonfinite"]


def test_a_ferminet_log_whose_energy_goes_nan_is_read_and_reported(tmp_path):
    """The blown-up run: its energy column is the loss, so the overflow (inf, then NaN) is an error at
    its first non-finite step."""
    path = _ferminet_log(tmp_path, lr=30.0)
    text = Path(path).read_text()
    assert "nan E_h" in text
    first_bad = next(int(line.split("Step ")[1][:5]) for line in text.splitlines()
                     if not math.isfinite(float(line.split(": ")[1].split(" E_h")[0])))
    report = lrdoctor.diagnose(path)
    [f] = _nonfinite(report)
    assert f.severity is Severity.ERROR and f.start_step == first_bad
    assert f.evidence["metric"] == "loss"


def test_a_healthy_ferminet_log_is_read_and_stays_silent(tmp_path):
    """The twin at lr 0.1 learns: read (the energy is its loss), and no warning or error."""
    path = _ferminet_log(tmp_path, lr=0.1)
    report = lrdoctor.diagnose(path)
    assert report.run.series("loss") is not None
    assert all(math.isfinite(v) for v in report.run.series("loss").values)
    assert not [f for f in report.findings if f.severity.rank >= 1]


def test_the_real_ferminet_nan_paste_is_a_nonfinite_error_at_step_3455():
    """FermiNet issue 57 (Adam, the energy NaN from step 3455 on): read in place."""
    report = lrdoctor.diagnose(real_log(_FERMINET_NAN))
    [f] = _nonfinite(report)
    assert f.severity is Severity.ERROR and f.start_step == 3455


def _synaptic_log(tmp_path: Path, connected: bool) -> str:
    """Train the digits MLP full-batch on the squared error to the one-hot labels with SGD (lr 0.2)
    for 20 iterations and log each the way Neataptic does in a browser (``iteration N error E rate
    R`` then the console's ``network.js:587`` link). Unless ``connected``, the optimiser holds the
    parameters of a second model built from the same seed (a model rebuilt after its optimiser): the
    step changes nothing the loss depends on, and the error is the same to the last digit."""
    x, y, model = digits_mlp(0)
    _, _, other = digits_mlp(0)
    opt = torch.optim.SGD((model if connected else other).parameters(), lr=0.2)
    target = torch.nn.functional.one_hot(y[:1400], 10).float()
    lines = []
    for it in range(1, 21):
        loss = ((model(x[:1400]) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        lines += [f"iteration {it} error {loss.item()!r} rate 0.2", "network.js:587"]
    return write_lines(tmp_path / "train.log", lines)


def test_a_neataptic_log_whose_error_is_frozen_is_read_and_an_error(tmp_path):
    """Nothing trains: the printed error never changes, a frozen loss (an error from the first line)."""
    report = lrdoctor.diagnose(_synaptic_log(tmp_path, connected=False))
    [f] = [f for f in report.findings if f.kind == "slow_progress"]
    assert f.severity is Severity.ERROR and f.start_step == 1
    assert len(report.run.series("loss").values) == 20


def test_a_connected_neataptic_log_is_read_and_stays_silent(tmp_path):
    """The twin whose optimiser holds the model's own parameters: its error falls, no warning."""
    report = lrdoctor.diagnose(_synaptic_log(tmp_path, connected=True))
    loss = report.run.series("loss").values
    assert loss[-1] < loss[0]
    assert not [f for f in report.findings if f.severity.rank >= 1]


def test_the_real_neataptic_and_synaptic_pastes():
    """Neataptic issue 134 (the error frozen at 0.21693097170474318 from iteration 8) is a
    slow_progress error there; Synaptic issue 179 (a falling MSE, logged every 5000 iterations) is
    read and stays silent."""
    frozen = lrdoctor.diagnose(real_log(_NEATAPTIC_FROZEN))
    [f] = [f for f in frozen.findings if f.kind == "slow_progress"]
    assert f.severity is Severity.ERROR and f.start_step == 8
    healthy = lrdoctor.diagnose(real_log(_SYNAPTIC_HEALTHY))
    assert healthy.run.series("loss") is not None
    assert not [f for f in healthy.findings if f.severity.rank >= 1]


def _densefusion_log(tmp_path: Path, lr: float, epochs: int) -> str:
    """Train the digits MLP on the squared error to the one-hot labels with SGD at ``lr`` in batches
    of 50 and log each batch the way DenseFusion does (the logging stamp, ``Train time``, the epoch,
    the batch counter that restarts each epoch, the frames seen, and the batch's mean Euclidean
    distance between output and target as ``Avg_dis``). At lr 30 the output bias overshoots further
    each step until the distance overflows and is NaN."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines = []
    for epoch in range(1, epochs + 1):
        for b, i in enumerate(range(0, 1400, 50), start=1):
            out = model(x[i:i + 50])
            target = torch.nn.functional.one_hot(y[i:i + 50], 10).float()
            loss = ((out - target) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            dis = (out - target).norm(dim=1).mean().item()
            lines.append(f"2019-06-13 15:08:{b % 60:02d},614 : Train time 00h 00m {b % 60:02d}s Epoch {epoch} Batch {b} Frame {8 * b} Avg_dis:{dis}")
    return write_lines(tmp_path / "train.log", lines)


def test_a_densefusion_log_whose_distance_goes_nan_is_read_and_an_error(tmp_path):
    """The blown-up run: the first non-finite distance is a nonfinite error at its batch."""
    path = _densefusion_log(tmp_path, lr=30.0, epochs=1)
    dis = [float(line.rsplit(":", 1)[1]) for line in Path(path).read_text().splitlines()]
    first_bad = next(b for b, d in enumerate(dis, start=1) if not math.isfinite(d))
    [f] = _nonfinite(lrdoctor.diagnose(path))
    assert f.severity is Severity.ERROR and f.start_step == first_bad


def test_a_healthy_densefusion_log_is_read_and_stays_silent(tmp_path):
    """The twin at lr 0.1 over two epochs (the batch counter restarts): read, no warning or error."""
    report = lrdoctor.diagnose(_densefusion_log(tmp_path, lr=0.1, epochs=2))
    assert len(report.run.series("loss").values) == 56
    assert not [f for f in report.findings if f.severity.rank >= 1]


def test_the_real_densefusion_pastes():
    """DenseFusion issue 46 (the distance NaN from batch 10) is a nonfinite error there; issue 18's
    epoch-39 lines (distances near 0.004) are read and stay silent."""
    [f] = _nonfinite(lrdoctor.diagnose(real_log(_DENSEFUSION_NAN)))
    assert f.severity is Severity.ERROR and f.start_step == 10
    healthy = lrdoctor.diagnose(real_log(_DENSEFUSION_HEALTHY))
    assert healthy.run.series("loss") is not None
    assert not [f for f in healthy.findings if f.severity.rank >= 1]
