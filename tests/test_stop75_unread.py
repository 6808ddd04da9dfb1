"""A reader change of stop 75 (the pool of labelled logs that lrdoctor refused as unreadable), on a
really trained run, its healthy twin and the real log read in place.

**FermiNet's step lines are read: the energy in Hartree is the loss.** FermiNet's JAX training loop
logs, through absl, ``Step 03447: -14.9133 E_h, variance=0.0626 E_h^2, pmove=0.52``: the mean local
energy, which is the objective its optimiser descends, then the energy's variance and the MCMC
acceptance ratio. The energy has no key (a unit follows it), so only ``variance`` and ``pmove`` were
read and the run was refused: "no training metric recognised". A run whose energy went NaN (a
GitHub issue's paste) was therefore never reported."""

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
