"""Recall on short real logs (issue 9), each rule with a really trained curve or a real public
log, and a healthy twin:

- overfitting by Prechelt's UP criteria (successive rises of the eval loss while the training
  loss falls), and on accuracies when no loss is logged;
- "no learning": a from-the-start log whose loss never falls below its first report;
- clipping judged from a logged clip share alone (fairseq's ``clip 100%`` beside ``gnorm``).
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
from lrdoctor.detect._stats import diff2_sigma, diff_sigma

torch.set_num_threads(1)
LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"


def kinds(report, at_least="warning"):
    rank = {"info": 0, "warning": 1, "error": 2}[at_least]
    return {f.kind: f for f in report.findings if f.severity.rank >= rank}


def cli_json(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(path), "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)


def write_csv(path: Path, header: list[str], rows: list[tuple]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)


def memorise(n_train=40, epochs=8, steps=25, seed=0):
    """Full-batch Adam on 40 digits with a wide MLP: the training loss falls towards 0 while the
    held-out loss bottoms out around epoch 5 and then creeps up (a real, smooth memorisation).
    Rows: epoch, loss, val_loss, val_acc, train_acc."""
    torch.manual_seed(seed)
    x, y = _digits()
    xt, yt, xv, yv = x[:n_train], y[:n_train], x[1000:1400], y[1000:1400]
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    rows = []
    for ep in range(epochs):
        for _ in range(steps):
            loss = torch.nn.functional.cross_entropy(model(xt), yt)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            ot, ov = model(xt), model(xv)
            rows.append((ep + 1, float(torch.nn.functional.cross_entropy(ot, yt)),
                         float(torch.nn.functional.cross_entropy(ov, yv)),
                         float((ov.argmax(1) == yv).float().mean()), float((ot.argmax(1) == yt).float().mean())))
    return rows


# -- overfitting: Prechelt's UP criteria ---------------------------------------------------------

def test_up3_catches_a_smooth_memorisation_below_gl5_and_not_before_it_turns(tmp_path):
    rows = memorise(epochs=8)
    val = np.array([r[2] for r in rows])
    i = int(np.argmin(val))
    assert i <= 4 and (np.diff(val[i:]) > 0).all(), "the trained run no longer turns: adjust the test"
    gl = (val[-1] - val[i]) / val[i]
    assert gl < 0.05  # below Prechelt's GL5: the many-point rule alone stays silent
    full = cli_json(write_csv(tmp_path / "over.csv", ["epoch", "loss", "val_loss"], [r[:3] for r in rows]))
    over = [f for f in full["findings"] if f["kind"] == "overfitting"]
    assert over and over[0]["evidence"]["successive_rises"] == 3
    assert over[0]["severity"] == "warning"
    # healthy twin: the same run logged only up to its eval minimum
    early = cli_json(write_csv(tmp_path / "early.csv", ["epoch", "loss", "val_loss"], [r[:3] for r in rows[:i + 1]]))
    assert "overfitting" in early["coverage"]["ran"]
    assert not [f for f in early["findings"] if f["kind"] == "overfitting"]


def test_up_rules_on_real_short_logs_and_the_improving_accuracy_twin():
    turn = lrdoctor.diagnose(LOGS / "fresh7" / "keras-keras-issue10102-val-loss-turns" / "issue10102.log")
    f = kinds(turn)["overfitting"]
    assert f.evidence["successive_rises"] == 3 and f.evidence["generalization_loss"] < 0.01  # +0.6%
    three = lrdoctor.diagnose(LOGS / "fresh7" / "text-esp-pr1-val-loss-rises" / "pr1.log")
    assert kinds(three)["overfitting"].evidence["successive_rises"] == 2  # UP2 with GL 20%
    # twin: val_loss +14% over two epochs while val_accuracy sets a new best every epoch
    imdb = lrdoctor.diagnose(LOGS / "fresh4" / "keras-kerasio-imdb-conv1d-3ep" / "training_output.txt")
    assert "overfitting" in imdb.coverage.ran and "overfitting" not in kinds(imdb, "info")


def test_up_rule_noise_guard_arithmetic():
    # second differences ignore a smooth turn that first differences count as noise
    # (the val_loss of Keras issue 10102: its +0.145 turn beats 3 sigmas of second differences
    # but not 3 sigmas of first differences, which count the smooth descent as noise)
    turn = np.array([26.4454, 26.3017, 26.2110, 26.1701, 26.1759, 26.2252, 26.3153])
    assert 3 * diff2_sigma(turn) < 26.3153 - 26.1701 < 3 * diff_sigma(turn)
    # a zigzag's last two rises are within its own scatter (the validation loss of a really
    # trained digits MLP, minibatch SGD: bench/false_alarms.py seed 14): not overfitting
    zig = np.array([1.0096, 0.5369, 0.4435, 0.4279, 0.4936, 0.4276, 0.3422, 0.3372, 0.3724, 0.3389, 0.3177, 0.3296, 0.3792])
    assert 0.3792 - 0.3177 < 3 * diff2_sigma(zig)
    from lrdoctor.detect.overfitting import DEFAULTS, _successive_rises
    assert _successive_rises(zig, DEFAULTS) is None
    assert _successive_rises(zig[:3], DEFAULTS) is None  # 1.01 -> 0.54 -> 0.44 is no rise
    assert _successive_rises(np.array([118.2, 120.7, 141.5]), DEFAULTS).strips == 2  # UP2 + GL 20%, too short to judge noise


def test_accuracy_only_overfitting_real_log_and_trained_healthy_twin(tmp_path):
    mx = lrdoctor.diagnose(LOGS / "fresh7" / "text-mxnet-issue1138-val-acc-drops" / "issue1138.log")
    f = kinds(mx)["overfitting"]
    assert f.evidence["metric"].lower() == "validation-accuracy" and f.start_step == 4 and f.end_step == 6  # MXNet Epoch[N]
    # twin: accuracies of a real run that generalises (600 training digits) both rise
    torch.manual_seed(0)
    x, y = _digits()
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rows = []
    for ep in range(6):
        for i in range(0, 600, 50):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            rows.append((ep, float((model(x[:600]).argmax(1) == y[:600]).float().mean()),
                         float((model(x[1000:1400]).argmax(1) == y[1000:1400]).float().mean())))
    healthy = lrdoctor.diagnose(write_csv(tmp_path / "acc.csv", ["epoch", "train_accuracy", "val_accuracy"], rows))
    assert "overfitting" in healthy.coverage.ran and "overfitting" not in kinds(healthy, "info")


# -- no learning from the start -------------------------------------------------------------------

def ascent_run(sign: float, epochs=12, lr=0.002):
    """A digits MLP whose loss is multiplied by ``sign`` before backward(): sign -1 is the
    "maximising instead of minimising" bug; the logged loss is the true one."""
    torch.manual_seed(0)
    x, y = _digits()
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    rows = []
    for ep in range(epochs):
        tot = 0.0
        for i in range(0, 600, 50):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
            opt.zero_grad()
            (sign * loss).backward()
            opt.step()
            tot += float(loss.detach())
        rows.append((ep, tot / 12, lr))
    return rows


def test_a_loss_that_never_goes_below_its_first_report_is_no_learning(tmp_path):
    bug = ascent_run(-1.0)
    assert min(r[1] for r in bug[1:]) >= bug[0][1]
    r = lrdoctor.diagnose(write_csv(tmp_path / "bug.csv", ["epoch", "loss", "lr"], bug))
    f = kinds(r)["slow_progress"]
    assert f.evidence["rule"] == "never below its first report" and f.evidence["points"] == 12
    ok = lrdoctor.diagnose(write_csv(tmp_path / "ok.csv", ["epoch", "loss", "lr"], ascent_run(+1.0)))
    assert "slow_progress" in ok.coverage.ran and "slow_progress" not in kinds(ok, "info")
    # an excerpt from the middle of training (epoch 40 on) proves nothing about learning
    mid = lrdoctor.diagnose(write_csv(tmp_path / "mid.csv", ["epoch", "loss", "lr"], [(e + 40, l, lr) for e, l, lr in bug]))
    assert all(f.evidence.get("rule") != "never below its first report" for f in mid.findings)


def test_dino_loss_creeping_up_from_epoch_0_is_no_learning():
    r = lrdoctor.diagnose(LOGS / "fresh7" / "text-dino-issue246-loss-rises-warmup" / "issue246.log")
    f = kinds(r)["slow_progress"]
    assert f.start_step == 0 and f.evidence["first"] == pytest.approx(10.3797, abs=1e-3)


# -- clipping from a logged clip share --------------------------------------------------------------

def clipped_run(max_norm: float, epochs=5):
    """Per-epoch rows as fairseq prints them: loss, gnorm (pre-clip, mean) and clip (% of updates
    whose pre-clip norm exceeded max_norm), from a real digits run clipped by clip_grad_norm_."""
    torch.manual_seed(0)
    x, y = _digits()
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rows = []
    for ep in range(1, epochs + 1):
        losses, norms, clipped = [], [], 0
        for i in range(0, 600, 50):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
            opt.zero_grad()
            loss.backward()
            n = float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm))
            clipped += n > max_norm
            opt.step()
            losses.append(float(loss.detach()))
            norms.append(n)
        rows.append((ep, np.mean(losses), np.mean(norms), 100.0 * clipped / len(norms)))
    return rows


def test_a_logged_clip_share_alone_judges_clipping(tmp_path):
    tight = clipped_run(0.01)
    assert all(r[3] == 100.0 for r in tight)
    r = lrdoctor.diagnose(write_csv(tmp_path / "tight.csv", ["epoch", "loss", "gnorm", "clip"], tight[:4]))
    assert r.run.meta.roles["grad_clip_fraction"] == "clip"
    assert kinds(r)["clipping_saturated"].evidence["clipped_share"] == 1.0
    loose = lrdoctor.diagnose(write_csv(tmp_path / "loose.csv", ["epoch", "loss", "gnorm", "clip"], clipped_run(100.0)[:4]))
    assert "clipping_saturated" in loose.coverage.ran and "clipping_saturated" not in kinds(loose, "info")
    # a bare "clip" without fairseq's gnorm beside it is not read as a clip share (PPO's clip range)
    ppo = lrdoctor.read(write_csv(tmp_path / "ppo.csv", ["step", "loss", "clip"], [(s, 1.0 / (s + 1), 0.2) for s in range(6)]))
    assert "grad_clip_fraction" not in ppo.meta.roles


def test_fairseq_clip_100_percent_real_log_and_steady_twin():
    r = lrdoctor.diagnose(LOGS / "fresh7" / "text-fairseq-issue78-clip100-lr033" / "issue78.log")
    assert kinds(r)["clipping_saturated"].evidence["column"] == "clip"
    steady = lrdoctor.diagnose(LOGS / "fresh" / "text-fairseq-issue514-steady" / "issue514.log")
    assert "clipping_saturated" not in kinds(steady, "info")
