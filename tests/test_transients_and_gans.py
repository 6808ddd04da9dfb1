"""Two reading decisions of issue 9, each with a really trained run, a real public log and a
healthy twin:

- a sustained rise of the loss that comes back below its best is a ``loss_spike`` (a
  transient, like PaLM's and OPT's spikes), not ``divergence``, which means never coming back;
- a GAN log (discriminator and generator losses, no objective) is read and judged for what
  its losses can show (non-finite values, a frozen game), and the report says which
  trend checks do not apply, instead of refusing the log.
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import lrdoctor
from bench_logs import LOGS, is_blind

torch.set_num_threads(1)


def _warned(report) -> dict:
    return {f.kind: f for f in report.findings if f.severity.rank >= 1}


def _digits_run(path: Path, steps: int, lr_at=lambda step: 0.1, wrong_labels=lambda step: False) -> Path:
    """SGD on the digits MLP with the LR ``lr_at(step)``, batches of wrong labels where
    ``wrong_labels(step)`` (a bad data shard, OPT-175B logbook style); the full-data loss is
    written to ``path`` every 5 steps as a CSV."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(net.parameters(), lr=lr_at(1))
    g = torch.Generator().manual_seed(0)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["step", "loss"])
        for step in range(1, steps + 1):
            for group in opt.param_groups:
                group["lr"] = lr_at(step)
            idx = torch.randint(0, len(x), (64,), generator=g)
            target = (y[idx] + 3) % 10 if wrong_labels(step) else y[idx]
            loss = torch.nn.functional.cross_entropy(net(x[idx]), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 5 == 0:
                with torch.no_grad():
                    out.writerow((step, torch.nn.functional.cross_entropy(net(x), y).item()))
    return path


def _burst_run(tmp_path: Path, burst: bool) -> Path:
    """Steps 300-450 on wrong labels when ``burst``: the loss climbs for 150 steps, then recovers."""
    return _digits_run(tmp_path / f"digits_{'burst' if burst else 'flat'}.csv", 1200,
                       wrong_labels=lambda step: burst and 300 <= step < 450)


def test_a_rise_that_comes_back_is_a_spike_not_divergence(tmp_path):
    path = _burst_run(tmp_path, burst=True)
    rows = list(csv.DictReader(path.open()))
    loss = np.array([float(r["loss"]) for r in rows])
    steps = np.array([int(r["step"]) for r in rows])
    before = loss[steps < 300].min()
    # the curve really rose for a stretch and really came back (read from the file, not the tool)
    assert loss[(steps >= 300) & (steps < 450)].max() > 5 * before
    assert loss[-1] < before
    found = _warned(lrdoctor.diagnose(path))
    assert "divergence" not in found
    assert "loss_spike" in found
    assert 300 <= found["loss_spike"].start_step < 450
    assert found["loss_spike"].evidence["sustained"] == 1


def test_the_same_run_without_the_burst_has_no_spike(tmp_path):
    found = _warned(lrdoctor.diagnose(_burst_run(tmp_path, burst=False)))
    assert "loss_spike" not in found and "divergence" not in found


def test_a_rise_that_stays_up_is_still_divergence(tmp_path):
    # the LR jumps to 3.0 at step 300 and never comes back down: the run does not recover
    path = _digits_run(tmp_path / "stays_up.csv", 800, lr_at=lambda step: 3.0 if step >= 300 else 0.05)
    rows = [(int(r["step"]), float(r["loss"])) for r in csv.DictReader(path.open())]
    loss = np.array([r[1] for r in rows])
    assert np.isfinite(loss).all() and loss[-10:].min() > 2 * loss[:60].min()
    found = _warned(lrdoctor.diagnose(path))
    assert "divergence" in found and found["divergence"].severity.value == "error"


def test_real_word_lm_log_with_a_recovered_rise_reads_as_a_spike():
    # pytorch/examples-style GRU LM at lr 20 (nlpia2): train loss 5.26 -> 7.64 in epoch 4, back by epoch 6
    path = LOGS / "fresh12" / "nlpia2-gru-wikitext2-spike" / "model_GRU_nlayers_2_epochs_12.log"
    if is_blind(path):
        pytest.skip("the slice is being measured blind")
    found = _warned(lrdoctor.diagnose(path))
    assert "loss_spike" in found and "divergence" not in found
    assert 7.0 < found["loss_spike"].evidence["largest"]["loss"] < 8.0


class _Gen(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))

    def forward(self, z):
        return self.net(z)


def _gan_log(tmp_path: Path, lr: float, name: str) -> tuple[Path, np.ndarray, np.ndarray]:
    """A real 1-D GAN (N(3, 0.5) data), non-saturating BCE losses, printed like DCGAN scripts."""
    torch.manual_seed(0)
    gen = _Gen()
    disc = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 1))
    og = torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.999))
    od = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    g = torch.Generator().manual_seed(1)
    lines, ds, gs = [], [], []
    for it in range(1, 601):
        real = 3 + 0.5 * torch.randn(64, 1, generator=g)
        fake = gen(torch.randn(64, 4, generator=g))
        d_loss = bce(disc(real), torch.ones(64, 1)) + bce(disc(fake.detach()), torch.zeros(64, 1))
        od.zero_grad()
        d_loss.backward()
        od.step()
        g_loss = bce(disc(fake), torch.ones(64, 1))
        og.zero_grad()
        g_loss.backward()
        og.step()
        if it % 20 == 0:
            ds.append(d_loss.item())
            gs.append(g_loss.item())
            lines.append(f"iter: {it} Loss_D: {d_loss.item():.4f} Loss_G: {g_loss.item():.4f}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path, np.array(ds), np.array(gs)


def _cli(path: Path) -> tuple[int, str, str]:
    out = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(path), "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    return out.returncode, out.stdout, out.stderr


def test_a_trained_gan_log_is_read_and_says_what_it_could_not_judge(tmp_path):
    path, d, g = _gan_log(tmp_path, lr=2e-3, name="gan.log")
    assert np.isfinite(d).all() and np.ptp(d) > 0.01 and np.ptp(g) > 0.01  # a living game
    rc, out, err = _cli(path)
    assert rc == 0, err  # read, judged, nothing wrong (it used to be refused with exit 2)
    rep = json.loads(out)
    assert rep["run"]["roles"]["d_loss"] == "loss_d" and rep["run"]["roles"]["g_loss"] == "loss_g"
    assert "nonfinite" in rep["coverage"]["ran"]
    assert "GAN run" in rep["coverage"]["skipped"]["loss_spike"]
    assert "divergence" in rep["coverage"]["ran"]  # only a player blown up by 1e6x counts in a game (gan_factor)
    assert [f for f in rep["findings"] if f["severity"] != "info"] == []


def test_a_gan_whose_losses_go_nan_is_nonfinite(tmp_path):
    path, d, g = _gan_log(tmp_path, lr=2e-3, name="gan_nan.log")
    lines = path.read_text().splitlines()
    # a real run's log, then the blow-up as PyTorch prints it (nan from the 21st report on)
    lines = lines[:20] + [f"iter: {20 * (i + 21)} Loss_D: nan Loss_G: nan" for i in range(5)]
    path.write_text("\n".join(lines) + "\n")
    found = _warned(lrdoctor.diagnose(path))
    assert "nonfinite" in found and found["nonfinite"].start_step == 420


def test_a_gan_that_does_not_train_is_a_frozen_game(tmp_path):
    path, d, g = _gan_log(tmp_path, lr=0.0, name="gan_frozen.log")
    # with lr 0 neither net changes; the printed losses still vary with the batches, so the
    # frozen rule must stay silent here (it asks for identical prints) ...
    assert np.ptp(d) > 0
    assert "slow_progress" not in _warned(lrdoctor.diagnose(path))
    # ... and fire when both players print the same values report after report (a saturated D)
    frozen = tmp_path / "gan_saturated.log"
    frozen.write_text("".join(f"Step: {100 * i} Gen_loss: -0.0 Dis_loss: 13.82\n" for i in range(1, 9)))
    found = _warned(lrdoctor.diagnose(frozen))
    assert found["slow_progress"].severity.value == "error"
    assert "frozen" in found["slow_progress"].summary


def test_gen_dis_slash_pair_is_two_columns():
    path = LOGS / "fresh16" / "rasbt-gan-mnist" / "gan_mnist.log"
    if is_blind(path):
        pytest.skip("the slice is being measured blind")
    run = lrdoctor.read(path)
    first = path.read_text().splitlines()[0]
    assert "Gen/Dis Loss: 0.6576/0.7134" in first  # the file's own first line
    assert run.series("g_loss").values[0] == 0.6576 and run.series("d_loss").values[0] == 0.7134
    assert run.is_gan
