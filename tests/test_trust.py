"""Diagnoses on anyone's logs (issue 9): short logs, any metric names, no false alarms on
correct code, gradient cliffs, relative spikes, stuck-at-chance, coverage. Each failure
class has a really trained curve (or a real public log from bench/detection_logs/tuning)
and a healthy twin."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import lrdoctor
from lrdoctor.errors import InputError

torch.set_num_threads(1)
TUNING = Path(__file__).resolve().parents[1] / "bench" / "detection_logs" / "tuning"


def loud(report):
    return {f.kind: f for f in report.findings if f.severity.value != "info"}


def digits(n=600):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data[:n] / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target[:n])
    return x, y


def train_epochs(lr, epochs=8, opt="sgd", shuffle_labels=False, seed=0, zero_inputs=False):
    """A small MLP on scikit-learn digits, one loss/accuracy row per epoch (a Keras-like log)."""
    torch.manual_seed(seed)
    x, y = digits()
    if shuffle_labels:
        y = y[torch.randperm(len(y))]
    if zero_inputs:
        x = torch.zeros_like(x)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    o = torch.optim.SGD(model.parameters(), lr=lr) if opt == "sgd" else torch.optim.Adam(model.parameters(), lr=lr)
    rows = []
    for ep in range(epochs):
        tot, acc = 0.0, 0.0
        for i in range(0, len(y), 50):
            xb, yb = x[i:i + 50], y[i:i + 50]
            out = model(xb)
            loss = torch.nn.functional.cross_entropy(out, yb)
            o.zero_grad()
            loss.backward()
            o.step()
            tot += float(loss.detach()) * len(yb)
            acc += float((out.argmax(1) == yb).sum())
        rows.append((ep, tot / len(y), acc / len(y)))
    return rows


def write_csv(path, header, rows):
    path.write_text(header + "\n" + "".join(",".join(f"{v:.6g}" for v in r) + "\n" for r in rows))
    return path


# -- 1. short logs ------------------------------------------------------------------------

def test_eight_epoch_log_at_a_fatal_lr_is_an_error_and_its_healthy_twin_is_quiet(tmp_path):
    bad = train_epochs(lr=3.0, opt="sgd")  # the first epoch blows up, then the ReLUs are dead
    good = train_epochs(lr=0.1, opt="sgd")
    assert bad[-1][1] > 2.2 and good[-1][1] < 0.7 * good[0][1]
    rb = lrdoctor.diagnose(write_csv(tmp_path / "bad.csv", "epoch,Loss/train,acc", bad))
    rg = lrdoctor.diagnose(write_csv(tmp_path / "good.csv", "epoch,Loss/train,acc", good))
    assert rb.run.meta.roles["loss"] == "Loss/train"
    f = next(f for f in rb.findings if f.kind in ("divergence", "nonfinite", "slow_progress"))
    assert f.severity.value == "error", [(g.kind, g.summary) for g in rb.findings]
    assert loud(rg) == {}


def test_pasted_fine_tuning_excerpt_that_quadruples_is_divergence():
    """mlx-examples issue 620 (MIT): LoRA loss 1.41 -> 3.32 -> 6.44 at a constant LR."""
    r = lrdoctor.diagnose(TUNING / "text-mlx-examples-issue620-lora-jump" / "issue620_log.txt")
    f = loud(r)["divergence"]
    assert f.severity.value == "error" and f.evidence["onset_step"] == 75
    assert f.evidence["best_loss"] == pytest.approx(1.406)


def test_few_update_kl_blowup_and_few_episode_q_explosion():
    kl = lrdoctor.diagnose(TUNING / "baselines-issue975-ppo1-kl-blowup" / "issue975_log.txt")
    assert kl.run.meta.roles["approx_kl"] == "kl"
    assert loud(kl)["kl_exceeded"].severity.value == "error"
    q = lrdoctor.diagnose(TUNING / "kerasrl-issue28-cdqn-q-explosion" / "issue28_log.txt")
    f = loud(q)["q_divergence"]
    assert f.evidence["growth"] > 5 and f.evidence["peak"] > f.evidence["max_abs_return"]


def test_q_growing_towards_the_returns_it_estimates_is_not_divergence():
    """keras-rl issue 37: mean_q -32 -> -199 while episode returns are ~-1400: Q still below them."""
    r = lrdoctor.diagnose(TUNING / "kerasrl-issue37-cdqn-pendulum-flat" / "issue37_log.txt")
    assert "q_divergence" not in loud(r)


# -- 2. names and coverage ----------------------------------------------------------------

def test_roles_across_separators_and_explicit_override(tmp_path):
    rows = train_epochs(lr=0.1, epochs=6)
    p = write_csv(tmp_path / "m.csv", "iteration,my_objective,hits", rows)
    run = lrdoctor.read(p)
    assert run.meta.step_column == "iteration"
    with pytest.raises(InputError, match="no training metric"):
        lrdoctor.diagnose(run)  # "my_objective" is no name a tool writes: refused, not "healthy"
    acc = write_csv(tmp_path / "a.csv", "Iteration,train-loss,Accuracy/val", rows)
    roles = lrdoctor.read(acc).meta.roles
    assert roles["loss"] == "train-loss" and roles["eval_accuracy"] == "Accuracy/val"
    rep = lrdoctor.diagnose(p, roles={"loss": "my_objective"})
    assert rep.run.meta.roles["loss"] == "my_objective" and "divergence" in rep.coverage.ran
    with pytest.raises(InputError, match="no column 'nope'"):
        lrdoctor.diagnose(p, roles={"loss": "nope"})


def test_cli_metric_option_coverage_json_and_refusals(tmp_path):
    rows = train_epochs(lr=0.1, epochs=6)
    p = write_csv(tmp_path / "m.csv", "frames,td_err,other", rows)
    cmd = [sys.executable, "-m", "lrdoctor", "diagnose"]
    r = subprocess.run(cmd + [str(p), "--metric", "loss=td_err", "--metric", "step=frames", "--format", "json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["run"]["roles"]["loss"] == "td_err" and obj["run"]["step_column"] == "frames"
    assert "divergence" in obj["coverage"]["ran"]
    assert "gradient-norm" in obj["coverage"]["skipped"]["grad_explosion"]
    text = subprocess.run(cmd + [str(p), "--metric", "loss=td_err"], capture_output=True, text=True).stdout
    assert "not checked:" in text and "roles:" in text and "loss=td_err" in text
    for bad in (Path(lrdoctor.__file__), Path(__file__).resolve().parents[1] / "README.md"):
        r = subprocess.run(cmd + [str(bad)], capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    r = subprocess.run(cmd + [str(p), "--metric", "loss"], capture_output=True, text=True)
    assert r.returncode == 2 and "ROLE=COLUMN" in r.stderr


def test_nanogpt_and_multiline_key_value_blocks(tmp_path):
    nano = tmp_path / "train.log"
    nano.write_text("".join(f"iter {i * 10}: loss {4.2 - 0.1 * i:.4f}, time 97.2ms, mfu 10.1%\n" for i in range(12)))
    run = lrdoctor.read(nano)
    assert run.meta.format == "text-log" and run.series("loss").values[0] == pytest.approx(4.2)
    blocks = tmp_path / "llm.log"
    blocks.write_text("".join(f"step: {s:,}\n  loss = {3 - s / 1e4:.3f}\n  tokens = {s * 2048:,}\n" for s in range(1000, 9000, 1000)))
    run = lrdoctor.read(blocks)
    assert run.steps.tolist() == list(range(1000, 9000, 1000))
    assert run.series("tokens").values[-1] == 8000 * 2048


# -- 3. correct warmup code is not an overwrite --------------------------------------------

def _warmup_loop(tmp_path, spelling):
    from tests.test_monitor import data, mlp

    x, y = data()
    model = mlp()
    base, warm = 3e-3, 40
    opt = torch.optim.Adam(model.parameters(), lr=base)
    # closed-form schedule (LambdaLR): a recursive one (CosineAnnealingLR) would adopt the
    # warmup's writes as its own and compound a multiplying warmup
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(s, 300) / 300)))
    mon = lrdoctor.Monitor(opt, model=model, scheduler=sched, log_to=tmp_path)
    for step in range(300):
        if spelling == "window" and step < warm:
            for g in opt.param_groups:
                g["lr"] = base * (step + 1) / warm
        elif spelling == "multiply":
            for g in opt.param_groups:
                g["lr"] = sched.get_last_lr()[0] * min(1.0, (step + 1) / warm)
        elif spelling == "bug":
            for g in opt.param_groups:
                g["lr"] = base * min(1.0, (step + 1) / warm)
        idx = torch.randint(0, len(y), (64,))
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        mon.step(loss)
    found = {f.kind: f for f in mon.findings}
    mon.close()
    return found, {f.kind: f for f in lrdoctor.diagnose(tmp_path).findings}


@pytest.mark.parametrize("spelling", ["window", "multiply"])
def test_hand_written_warmups_are_never_schedule_overridden(tmp_path, spelling):
    live, offline = _warmup_loop(tmp_path, spelling)
    assert "schedule_overridden" not in live and "schedule_overridden" not in offline


def test_the_overwrite_bug_is_flagged_after_the_warmup_window(tmp_path):
    live, offline = _warmup_loop(tmp_path, "bug")
    f = offline["schedule_overridden"]
    assert f.severity.value == "error" and f.start_step >= 39  # not inside the warmup ramp
    assert f.evidence["applied_lr"] > f.evidence["scheduled_lr"]
    assert "schedule_overridden" in live


# -- 4. gradient cliffs, logged clipping, relative spikes -----------------------------------

def _regression_run(cliff_at=None, steps=300, spikes_every=None):
    torch.manual_seed(0)
    w_true = torch.randn(8, 1)
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    rows = []
    for s in range(steps):
        xb = torch.randn(32, 8)
        yb = xb @ w_true
        if cliff_at is not None and s == cliff_at:
            xb = xb * 300.0  # one outlier batch: the cliff
        if spikes_every and s > 100 and s % spikes_every == 0:
            yb = yb + 0.1 * torch.randn_like(yb)  # a few noisy labels: a 10-100x spike of a tiny loss
        loss = torch.nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        gn = float(torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")))
        opt.step()
        rows.append((s, float(loss), gn))
    return rows


def test_single_catastrophic_gradient_step_is_grad_explosion(tmp_path):
    bad = write_csv(tmp_path / "bad.csv", "step,loss,grad_norm", _regression_run(cliff_at=150))
    good = write_csv(tmp_path / "good.csv", "step,loss,grad_norm", _regression_run())
    f = loud(lrdoctor.diagnose(bad))["grad_explosion"]
    assert f.start_step == 150 and f.evidence["ratio"] >= 100
    assert "grad_explosion" not in loud(lrdoctor.diagnose(good))


def test_clipping_on_every_step_from_a_logged_clip_share():
    """fairseq issue 311 (MIT): clip=100% on every logged update."""
    r = lrdoctor.diagnose(TUNING / "text-fairseq-issue311-clip100" / "issue311_log.txt")
    f = loud(r)["clipping_saturated"]
    assert f.evidence["clipped_share"] == 1.0 and f.evidence["clip_signal"] == "fraction"


def test_recurring_spikes_of_a_tiny_loss_are_seen_on_the_log_scale(tmp_path):
    rows = _regression_run(spikes_every=25, steps=400)
    assert min(r[1] for r in rows[100:]) < 1e-4  # the loss really is tiny between spikes
    f = loud(lrdoctor.diagnose(write_csv(tmp_path / "s.csv", "step,loss,grad_norm", rows)))["loss_spike"]
    assert f.evidence["spikes"] >= 3
    assert "loss_spike" not in {g.kind for g in lrdoctor.diagnose(
        write_csv(tmp_path / "q.csv", "step,loss,grad_norm", _regression_run(steps=400))).findings}


def test_rounded_loss_is_not_spiking():
    """HF rounds losses to 4 decimals: 0.0001 -> 0.0002 is one rounding step (whisper ja, Apache-2.0)."""
    r = lrdoctor.diagnose(TUNING / "hf-whisper-ja-5k-overfit" / "trainer_state.json")
    assert "loss_spike" not in loud(r) and "overfitting" in loud(r)


# -- 5. severity calibration and stuck-at-chance --------------------------------------------

def test_loss_falling_every_step_at_a_constant_lr_is_no_plateau(tmp_path):
    steps = np.arange(1000)
    p = write_csv(tmp_path / "f.csv", "step,loss,lr", [(s, 9.0 - 3.0 * s / 999, 1e-3) for s in steps])
    assert "plateau" not in {f.kind for f in lrdoctor.diagnose(p).findings}


def test_stuck_at_chance_is_an_error_with_k_and_the_learning_twin_is_not(tmp_path):
    stuck = train_epochs(lr=0.05, epochs=10, zero_inputs=True)
    good = train_epochs(lr=0.1, epochs=10)
    r = lrdoctor.diagnose(write_csv(tmp_path / "stuck.csv", "epoch,loss,accuracy", stuck))
    f = loud(r)["slow_progress"]
    assert f.severity.value == "error" and f.evidence["num_classes"] == 10
    assert "slow_progress" not in loud(lrdoctor.diagnose(write_csv(tmp_path / "good.csv", "epoch,loss,accuracy", good)))


def test_task_metric_pinned_at_zero_on_a_real_yolo_log():
    """spot-cv train9 (MIT): mAP exactly 0 for 50 epochs, box loss 0: nothing ever matched."""
    r = lrdoctor.diagnose(TUNING / "yolov8-spot-cv-train9" / "results.csv")
    f = loud(r)["slow_progress"]
    assert f.severity.value == "error" and f.evidence["rule"] == "never left 0"


def test_missing_warmup_on_an_lstm_that_trained_fine_is_info(tmp_path):
    torch.manual_seed(0)
    lstm, head = torch.nn.LSTM(4, 16, batch_first=True), torch.nn.Linear(16, 1)
    opt = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=3e-3)
    rows = []
    for s in range(200):
        x = torch.randn(32, 10, 4)
        y = x.sum(dim=(1, 2)).unsqueeze(1) / 10
        out, _ = lstm(x)
        loss = torch.nn.functional.mse_loss(head(out[:, -1]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rows.append((s, float(loss), 3e-3))
    r = lrdoctor.diagnose(write_csv(tmp_path / "l.csv", "step,loss,lr", rows), config={"model": "lstm"})
    f = next(f for f in r.findings if f.kind == "warmup_missing")
    assert f.severity.value == "info" and f.evidence["early_instability"] is False


def _digits_steps(jump_at=None, steps=300, every=10, lr=0.1, seed=0):
    """A digits MLP, SGD; the mean loss of every ``every`` steps. At ``jump_at`` the LR is set
    1e4x higher (a bad manual override), which blows the loss up at once."""
    torch.manual_seed(seed)
    x, y = digits()
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    o = torch.optim.SGD(model.parameters(), lr=lr)
    rows, acc = [], []
    for step in range(steps):
        if jump_at is not None and step == jump_at:
            for g in o.param_groups:
                g["lr"] = lr * 1e4
        i = (step * 50) % (len(y) - 50)
        loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
        o.zero_grad()
        loss.backward()
        o.step()
        acc.append(float(loss.detach()))
        if (step + 1) % every == 0:
            rows.append((step + 1, float(np.mean(acc))))
            acc = []
    return rows


def test_a_blow_up_at_the_last_report_is_divergence_and_the_twin_is_quiet(tmp_path):
    bad = _digits_steps(jump_at=295)
    good = _digits_steps()
    assert bad[-1][1] > 1000 * min(r[1] for r in bad[:-1])  # the pathology really happened
    r_bad = lrdoctor.diagnose(write_csv(tmp_path / "bad.csv", "step,loss", bad))
    r_good = lrdoctor.diagnose(write_csv(tmp_path / "good.csv", "step,loss", good))
    div = loud(r_bad).get("divergence")
    assert div is not None and div.severity.value == "error" and div.start_step == 300
    assert "final blow-up" in div.evidence["rule"]
    assert "divergence" not in loud(r_good)
    # a real public log with the same shape: PFNL's video SR run, 0.01 for 30k steps, then 1.5e6
    pfnl = lrdoctor.diagnose(TUNING / "text-pfnl-collapse" / "issue2.log")
    assert loud(pfnl)["divergence"].start_step == 30220


def test_few_update_value_collapse_on_a_real_ppo1_log_and_healthy_starts_are_quiet(tmp_path):
    r = lrdoctor.diagnose(next((TUNING / "baselines-simple-ppo1-selfplay").iterdir()))
    assert r.run.meta.roles["explained_variance"] == "ev_tdlam_before"
    assert loud(r)["value_collapse"].evidence["points"] == 18
    # healthy twins: the first 15 updates of a real SB3 PPO log, and a really trained SB3 PPO
    # CartPole run of 15 updates (its critic starts near 0: a slow start, not a collapse)
    lines = (TUNING / "sb3-rl-job-shop-ppo" / "progress.csv").read_text().splitlines()
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "progress.csv").write_text("\n".join(lines[:16]) + "\n")
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import configure

    model = PPO("MlpPolicy", "CartPole-v1", n_steps=256, seed=0, verbose=0, device="cpu")
    model.set_logger(configure(str(tmp_path / "trained"), ["csv"]))
    model.learn(256 * 15)
    for path in (tmp_path / "real" / "progress.csv", tmp_path / "trained" / "progress.csv"):
        rr = lrdoctor.diagnose(path)
        assert "explained_variance" in rr.run.meta.roles
        assert "value_collapse" not in loud(rr), path


def test_rl_td_loss_beyond_any_return_is_divergence_and_a_bounded_rise_is_not():
    bad = lrdoctor.diagnose(next((TUNING / "kerasrl-issue28-cdqn-q-explosion").iterdir()))
    div = loud(bad)["divergence"]
    assert div.severity.value == "error" and div.evidence["max_abs_return"] < 1000 and div.evidence["best_loss"] > 1e20
    # its twin: a TD loss that rises 5 -> 200 while |Q| grows toward returns of -1400 is bounded
    # (really trained DQN twins are in tests/test_rl.py: test_healthy_dqn_stays_quiet, Baird on-policy)
    twin = lrdoctor.diagnose(next((TUNING / "kerasrl-issue37-cdqn-pendulum-flat").iterdir()))
    assert "divergence" in twin.coverage.ran and "divergence" not in loud(twin)


# -- rules added after the blind `fresh` measurement (each with its healthy twin) ---------------

FRESH = TUNING.parent / "fresh"


def _digits_epochs(lr, epochs=12, schedule=None, spike_epoch=None, dead=False, seed=0, spike_factor=50.0, linear=False):
    """Digits MLP, SGD, one row per epoch: (epoch, mean loss, accuracy, lr). ``schedule``:
    'cosine' anneals to 0 over the run; ``spike_epoch`` runs that epoch at 50x the LR;
    ``dead`` puts a ReLU with a -100 bias before a BCE head, so no gradient ever flows."""
    torch.manual_seed(seed)
    x, y = digits()
    if dead:
        model = torch.nn.Sequential(torch.nn.Linear(64, 1), torch.nn.ReLU())
        with torch.no_grad():
            model[0].bias.fill_(-100.0)
        target = (y % 2).float()
    elif linear:  # softmax regression: convex, so a bad step is recovered from
        model = torch.nn.Sequential(torch.nn.Linear(64, 10))
    else:
        model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    o = torch.optim.SGD(model.parameters(), lr=lr)
    rows = []
    for ep in range(epochs):
        cur = lr * 0.5 * (1 + np.cos(np.pi * (ep + 1) / epochs)) if schedule == "cosine" else lr
        if spike_epoch is not None and ep == spike_epoch:
            cur = lr * spike_factor
        for g in o.param_groups:
            g["lr"] = cur
        tot, acc = 0.0, 0.0
        for i in range(0, len(y), 50):
            xb = x[i:i + 50]
            if dead:
                out = model(xb).squeeze(1) - 20.0
                loss = torch.nn.functional.binary_cross_entropy_with_logits(out, target[i:i + 50])
                hit = ((out > 0).float() == target[i:i + 50]).sum()
            else:
                out = model(xb)
                loss = torch.nn.functional.cross_entropy(out, y[i:i + 50])
                hit = (out.argmax(1) == y[i:i + 50]).sum()
            o.zero_grad()
            loss.backward()
            o.step()
            tot += float(loss.detach()) * len(xb)
            acc += float(hit)
        rows.append((ep + 1, round(tot / len(y), 4), acc / len(y), cur))
    return rows


def test_a_dead_network_has_a_frozen_loss_and_the_learning_twin_does_not(tmp_path):
    dead = _digits_epochs(0.1, epochs=6, dead=True)
    assert len({r[1] for r in dead[-3:]}) == 1  # the pathology: the printed loss never changes
    r = lrdoctor.diagnose(write_csv(tmp_path / "dead.csv", "epoch,loss,accuracy,lr", dead))
    f = loud(r)["slow_progress"]
    assert f.severity.value == "error" and f.evidence["rule"].startswith("frozen")
    good = lrdoctor.diagnose(write_csv(tmp_path / "good.csv", "epoch,loss,accuracy,lr", _digits_epochs(0.1, epochs=6)))
    assert "slow_progress" not in loud(good)
    # a real one: Keras issue 2392 (5.7257 on three epochs in a row)
    keras = lrdoctor.diagnose(next((FRESH / "keras-keras-issue2392-stuck").iterdir()), config={"num_classes": 2})
    assert loud(keras)["slow_progress"].evidence["rule"].startswith("frozen")


def test_no_gain_over_a_finished_schedule_and_the_learning_twin(tmp_path):
    stuck = _digits_epochs(1e-5, schedule="cosine")
    learns = _digits_epochs(0.1, schedule="cosine")
    assert max(r[2] for r in stuck) < 0.2 < min(r[2] for r in learns[3:])  # the pathology happened
    rs = lrdoctor.diagnose(write_csv(tmp_path / "stuck.csv", "epoch,loss,accuracy,lr", stuck))
    rl = lrdoctor.diagnose(write_csv(tmp_path / "learns.csv", "epoch,loss,accuracy,lr", learns))
    assert "slow_progress" in loud(rs)
    assert "slow_progress" not in loud(rl)
    # a real RLHF run: LLaMA-Factory PPO, reward 0.12-0.14 while the LR decayed 1e-5 -> 1e-8
    ppo = lrdoctor.diagnose(next((FRESH / "hf-llamafactory-issue856-ppo-flat").iterdir()))
    assert loud(ppo)["slow_progress"].evidence["rule"].startswith("no gain")


def _keras_console(path, rows):
    """(epoch, loss, accuracy) rows written the way Keras' ``fit(verbose=1)`` prints them."""
    n = len(rows)
    path.write_text("".join(f"Epoch {e}/{n}\n7/7 [==============================] - 0s 2ms/step - loss: {loss:.4f} "
                            f"- accuracy: {acc:.4f}\n" for e, loss, acc in rows))
    return path


def test_a_spike_that_undoes_most_progress_is_a_warning_and_noise_is_not(tmp_path):
    # softmax regression (convex: it recovers) with one epoch at 20x the LR; a Keras-style log
    spiky = [r[:3] for r in _digits_epochs(0.2, epochs=16, spike_epoch=10, spike_factor=20, linear=True)]
    calm = [r[:3] for r in _digits_epochs(0.2, epochs=16, linear=True)]
    assert spiky[10][1] > 2 * spiky[9][1] and spiky[-1][1] < spiky[9][1]  # spiked, then recovered
    r = lrdoctor.diagnose(write_csv(tmp_path / "spiky.csv", "epoch,loss,accuracy", spiky))
    assert loud(r)["loss_spike"].evidence["progress_undone"] >= 0.5
    assert not loud(lrdoctor.diagnose(write_csv(tmp_path / "calm.csv", "epoch,loss,accuracy", calm)))
    # the same run as Keras' fit() prints it ("Epoch 11/16" then "... - loss: 5.1 - accuracy: 0.6"),
    # the form of the pasted Keras log this rule was found on (a classifier at 0.67 that jumped to 6.0)
    keras = lrdoctor.diagnose(_keras_console(tmp_path / "spiky_keras.log", spiky))
    assert loud(keras)["loss_spike"].severity.value == "warning"
    assert not loud(lrdoctor.diagnose(_keras_console(tmp_path / "calm_keras.log", calm)))


def test_initial_loss_is_judged_only_at_the_start_of_training(tmp_path):
    rows = _digits_epochs(0.1, epochs=12)
    # an excerpt of the same run from epoch 6 on, steps as row numbers: its first loss is not an initial loss
    excerpt = write_csv(tmp_path / "excerpt.csv", "loss,accuracy", [(r[1], r[2]) for r in rows[5:]])
    r = lrdoctor.diagnose(excerpt, config={"num_classes": 10})
    assert "initial_loss_anomaly" not in {f.kind for f in r.findings}
    assert "initial_loss_anomaly" in r.coverage.skipped
    # a run that really starts far above ln K (output layer scaled 30x at init) is still caught
    torch.manual_seed(0)
    x, y = digits()
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    with torch.no_grad():
        model[2].weight.mul_(30.0)
    o = torch.optim.SGD(model.parameters(), lr=0.01)
    log = []
    for step in range(30):
        i = (step * 50) % 550
        loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
        o.zero_grad()
        loss.backward()
        o.step()
        log.append((step, float(loss.detach())))
    hot = lrdoctor.diagnose(write_csv(tmp_path / "hot.csv", "step,loss", log), config={"num_classes": 10})
    assert hot.findings and "initial_loss_anomaly" in {f.kind for f in hot.findings}


def test_persistent_nan_grad_norm_is_a_blow_up_and_isolated_ones_are_amp_skips():
    broken = lrdoctor.diagnose(next((FRESH / "hf-timemoe-issue31-nan").iterdir()))
    assert loud(broken)["nonfinite"].evidence["metric"] == "grad_norm"
    skips = lrdoctor.diagnose(next((FRESH / "hf-timemoe-issue71-ampnan").iterdir()))
    assert "nonfinite" not in loud(skips)


def test_short_reward_log_that_falls_at_every_report_is_a_reversal_and_a_flat_one_is_not():
    drop = lrdoctor.diagnose(next((FRESH / "text-mlagents-issue805-reward-drop").iterdir()))
    assert loud(drop)["performance_reversal"].evidence["peak_step"] == 4000
    flat = lrdoctor.diagnose(next((FRESH / "text-mlagents-issue182-tennis-early").iterdir()))
    assert flat.run.meta.roles.get("ep_return") == "mean_reward" and "performance_reversal" not in loud(flat)


# -- after studying the second blind slice (fresh2) --------------------------------------------

FRESH2 = TUNING.parent / "fresh2"


def test_nan_grad_norms_with_a_finite_loss_after_them_were_skipped_updates():
    # xtuner/mmengine: the LR moves every iteration, two NaN grad norms at the end, the loss
    # keeps falling: the updates were skipped (an applied NaN gradient would make the loss NaN)
    skipped = lrdoctor.diagnose(next((FRESH2 / "text-xtuner-issue187-gradnan").iterdir()))
    assert "nonfinite" not in {f.kind for f in skipped.findings}
    # the twin: HF logs the NaN losses of a broken run as exactly 0.0, which is not a healthy loss
    broken = lrdoctor.diagnose(next((FRESH / "hf-timemoe-issue31-nan").iterdir()))
    assert loud(broken)["nonfinite"].severity.value == "error"


def test_an_accuracy_pinned_at_zero_beside_a_loss_that_learned_is_not_this_tasks_metric():
    # R keras on a regression target: loss 0.158 -> 0.029 while "acc" stays 0
    r = lrdoctor.diagnose(next((FRESH2 / "keras-rkeras-issue296-acc-zero").iterdir()))
    assert "slow_progress" not in loud(r)
    # the twin: YOLO's mAP pinned at 0 while its loss did not halve is still an error
    yolo = lrdoctor.diagnose(TUNING / "yolov8-spot-cv-train11" / "results.csv")
    assert loud(yolo)["slow_progress"].evidence["rule"] == "never left 0"


def test_glog_prefixes_prose_metrics_and_tutorial_names_are_read(tmp_path):
    tf = lrdoctor.read(next((FRESH2 / "text-tfod-tannergilbert-issue6-warmup-rise").iterdir()))
    assert tf.meta.roles == {"loss": "loss"} and tf.meta.step_column == "step"
    assert list(tf.series("loss").values[:2]) == [1.396, 1.192]  # "0.813s loss=1.396": no "s_loss"
    bigdl = lrdoctor.read(next((FRESH2 / "text-bigdl-issue1486-inf").iterdir()))
    assert bigdl.meta.step_column == "iteration" and bigdl.series("lr") is not None
    assert np.isinf(bigdl.series("loss").values[-1])  # "Loss is Infinity"
    morvan = lrdoctor.read(next((FRESH2 / "text-morvan-issue88-dqn-flat").iterdir()))
    assert morvan.meta.roles.get("ep_return") == "ep_r"
    # a throughput "is" line adds no column
    p = tmp_path / "prose.log"
    p.write_text("".join(f"[Iteration {i}] Throughput is 400.5 records/second. Loss is {1.0 / i:.4f}.\n" for i in range(1, 6)))
    run = lrdoctor.read(p)
    assert "loss" in run and not any("throughput" in n for n in run.metrics)


# -- after studying the third blind slice (fresh3) ---------------------------------------------

FRESH3 = TUNING.parent / "fresh3"


def _progress_meter_log(path, epoch=127, epochs=300):
    """A digits MLP trained one epoch of 24 batches, printed every 5 batches the way the
    PyTorch ImageNet example's ProgressMeter does ("Epoch: [127/300][ 5/24]\tTime ... Loss
    2.1274e+00 (1.5406e+00)", value then running mean), each line after a logger header line.
    Returns the path and the printed (batch, loss, running mean) triples."""
    torch.manual_seed(0)
    x, y = digits(1200)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    o = torch.optim.SGD(model.parameters(), lr=0.1)
    lines, seen, printed = [f">>> Epoch: [{epoch}/{epochs}]"], [], []
    for b in range(24):
        loss = torch.nn.functional.cross_entropy(model(x[b * 50:(b + 1) * 50]), y[b * 50:(b + 1) * 50])
        o.zero_grad()
        loss.backward()
        o.step()
        seen.append(float(loss.detach()))
        if b % 5 == 0:
            printed.append((b, float(f"{seen[-1]:.4e}"), float(f"{np.mean(seen):.4e}")))
            lines.append("2020-08-17 21:48:47,912: logger.py - info(), at Line 49:INFO:")
            lines.append(f"Train - Epoch: [{epoch}/{epochs}][{b:3d}/24]\tTime  0.738 ( 0.738)\tData  0.000 ( 0.014)\t"
                         f"Loss {seen[-1]:.4e} ({np.mean(seen):.4e})")
    path.write_text("\n".join(lines) + "\n")
    return path, printed


def test_more_real_formats_are_read(tmp_path):
    nb = lrdoctor.read(next((FRESH3 / "text-transformers-issue10884-wav2vec2-flat").iterdir()))
    assert nb.meta.roles["loss"] == "training_loss" and nb.meta.roles["eval_loss"] == "validation_loss"  # HF notebook table
    fs = lrdoctor.read(next((FRESH3 / "text-fairseq-issue2570-wer-stuck").iterdir()))
    assert list(fs.series("eval_loss").values) == [898.216, 893.164, 885.232]  # JSON with numbers as strings
    pm, printed = _progress_meter_log(tmp_path / "progress.log")  # "Epoch: [127/300][  5/24] ... Loss 2.1e+00 (2.2e+00)"
    im = lrdoctor.read(pm)
    assert list(im.series("loss").values) == [v for _, v, _ in printed]  # the value, not the running mean
    assert list(im.steps) == [127 * 24 + b for b, _, _ in printed]
    tabbed = lrdoctor.read(next((FRESH3 / "text-udacity-dlv2-issue341-mnist-flat-val").iterdir()))
    assert "loss" in tabbed and "eval_loss" in tabbed  # tab-separated "Epoch: 1 \tTraining Loss: ..." is text, not TSV
    sb2 = lrdoctor.read(next((FRESH3 / "text-sb2-issue121-ep-rewmean-nan").iterdir()))
    assert "approx_kl" in sb2 and "explained_variance" in sb2  # an SB table pasted with a leading space
    hosts = lrdoctor.read(next((FRESH2 / "hf-llamafactory-issue813-multinode").iterdir()))
    assert list(hosts.series("loss").values) == [1.8673, 0.7744, 0.6309, 0.5621]  # 4 hosts printed each row


def test_an_error_rate_pinned_at_100_percent_is_stuck_and_a_falling_one_is_not(tmp_path):
    stuck = lrdoctor.diagnose(next((FRESH3 / "text-transformers-issue10884-wav2vec2-flat").iterdir()))
    assert loud(stuck)["slow_progress"].evidence["rule"] == "error rate pinned at 100%"
    only_eval = lrdoctor.diagnose(next((FRESH3 / "text-fairseq-issue2570-wer-stuck").iterdir()))
    assert loud(only_eval)["slow_progress"].evidence["metric"] == "valid_wer"
    twin = tmp_path / "wer.csv"
    twin.write_text("step,loss,wer\n" + "".join(f"{s},{3.0 / (1 + s / 400)},{max(0.2, 1.0 - s / 2000)}\n" for s in range(400, 2400, 400)))
    assert "slow_progress" not in loud(lrdoctor.diagnose(twin))


def test_zero_accuracy_beside_a_cross_entropy_that_puts_mass_on_the_truth_is_a_broken_metric():
    # MLPerf ResNet: cross-entropy 1.4-2.0 (e^-CE ~ 0.2 on the true class) and train_accuracy 0 on every row
    r = lrdoctor.diagnose(next((FRESH3 / "text-mlperf-training-issue124-acc-zero").iterdir()))
    assert "slow_progress" not in loud(r)
    # the twin, where the loss never got below ln 10 either: YOLO mAP pinned at 0 stays an error
    yolo = lrdoctor.diagnose(TUNING / "yolov8-spot-cv-train11" / "results.csv")
    assert loud(yolo)["slow_progress"].evidence["rule"] == "never left 0"


def test_overfitting_uses_prechelts_gl_at_the_last_evaluation():
    # Keras LSTM: val_loss 0.6770, 0.6765 (its minimum, epoch 2), then 0.6789, 0.6913, 0.7101, 0.7268,
    # 0.7586 (GL 12.1% at the last) while the training loss falls 0.6807 -> 0.5521
    r = lrdoctor.diagnose(FRESH4 / "keras-keras-issue3056-lstm-overfit" / "issue3056.log")
    f = loud(r)["overfitting"]
    assert f.evidence["eval_min_step"] == 2
    assert f.evidence["generalization_loss"] == pytest.approx(0.7586 / 0.6765 - 1, rel=1e-3)
    # the twin: a noisy eval loss whose last points sit inside its own noise band is not overfitting
    noisy = lrdoctor.diagnose(next((TUNING / "hf-whisper-flemish-cgn-noisy-eval").iterdir()))
    assert "overfitting" not in loud(noisy)


# -- rules added after studying fresh3 (each with a healthy twin) ---------------------------

def test_a_loss_that_climbs_at_every_report_to_the_end_is_a_divergence_warning(tmp_path):
    # Keras cifar10_cnn on TF: 1.093 at epoch 4, then 1.104, 1.140, 1.186, 1.214, 1.237
    r = lrdoctor.diagnose(FRESH3 / "keras-keras-issue5239-cifar10-rising" / "issue5239.log")
    f = loud(r)["divergence"]
    assert f.severity.value == "warning" and f.start_step == 5 and f.evidence["best_step"] == 4
    # the twin: the same model family's healthy cifar10 log, which also has small rises, is quiet
    twin = lrdoctor.diagnose(next((FRESH3 / "keras-keras-issue2937-cifar10-healthy").iterdir()))
    assert "divergence" not in loud(twin)
    # a really trained twin: the digits MLP at a sane LR, epoch means falling
    good = write_csv(tmp_path / "good.csv", "epoch,loss,accuracy,lr", _digits_epochs(0.1, epochs=8))
    assert "divergence" not in loud(lrdoctor.diagnose(good))


def _converged_tiny_loss(path, epochs=300, shown=48):
    """Two separable digit classes, a linear classifier under Adam with mini-batches: the loss
    converges to 1e-6..1e-4 and keeps blipping 10x from batch to batch. The last ``shown``
    epochs are written as "epoch: 253; loss: 0.00003618" (an excerpt of a long run)."""
    torch.manual_seed(0)
    x, y = digits(1000)
    keep = (y == 0) | (y == 1)
    x, y = x[keep][:200], y[keep][:200]
    model = torch.nn.Linear(64, 2)
    o = torch.optim.Adam(model.parameters(), lr=0.05)
    rows = []
    for ep in range(1, epochs + 1):
        perm = torch.randperm(len(y))
        for i in range(0, len(y), 20):
            loss = torch.nn.functional.cross_entropy(model(x[perm[i:i + 20]]), y[perm[i:i + 20]])
            o.zero_grad()
            loss.backward()
            o.step()
        rows.append((ep, float(loss.detach())))
    path.write_text("".join(f"epoch: {e}; loss: {v:.8f}\n" for e, v in rows[-shown:]))
    return [v for _, v in rows[-shown:]]


def test_a_jump_to_a_new_level_that_never_comes_back_is_divergence_and_noise_is_not(tmp_path):
    from lrdoctor.detect.divergence import jump_and_stay

    # the rule's arithmetic: an old level seen at least twice, a 2x jump, never back among it
    assert jump_and_stay(np.array([6.1, 5.99, 12.4, 11.7, 9.2, 8.9, 8.8]), 2.0, 2) == (1, 2)
    # one report is no level (DisCo's valid loss 5.99, then 12.4 ... 8.75 is not judged by it)
    assert jump_and_stay(np.array([5.99, 12.4, 11.7, 9.2, 8.9]), 2.0, 2) is None
    # twins on real logs: per-batch losses swinging 0.7-3.3 (DeepLab) and a DQN's TD loss 0.009
    # then 0.023-0.085 during exploration
    for noisy in (FRESH2 / "text-deeplab-issue5-noisy-steps",
                  TUNING.parent / "fresh6" / "text-deepqlearningjl-issue15-early-exploration"):
        rep = lrdoctor.diagnose(next(noisy.iterdir()))
        assert "divergence" not in loud(rep), noisy.name
    # and a really trained converged loss of 1e-6..1e-4 whose mini-batch blips reach 10x and more
    tiny = _converged_tiny_loss(tmp_path / "converged.log")
    assert max(tiny) < 1e-3 and max(tiny) > 10 * min(tiny)  # tiny, and it blips
    assert "divergence" not in loud(lrdoctor.diagnose(tmp_path / "converged.log"))


def _running_sum_log(tmp_path, reset):
    """A digits MLP trained for 400 steps, logging every 50 steps the way tutorials do:
    ``running_loss += loss.item()``, printed - and reset to 0 only when ``reset``."""
    torch.manual_seed(0)
    x, y = digits()
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    o = torch.optim.SGD(model.parameters(), lr=0.05)
    running, lines = 0.0, []
    for step in range(1, 401):
        i = (step * 25) % (len(y) - 25)
        loss = torch.nn.functional.cross_entropy(model(x[i:i + 25]), y[i:i + 25])
        o.zero_grad()
        loss.backward()
        o.step()
        running += loss.item()
        if step % 50 == 0:
            lines.append(f"Iter: {step} loss: {running / (50 if reset else 1):.4f}")
            if reset:
                running = 0.0
    p = tmp_path / f"sum{reset}.log"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_a_running_sum_that_is_never_reset_is_not_judged_as_a_loss(tmp_path):
    # Lightweight OpenPose: 7.67, 15.29, 22.35, 29.96 at iterations 100-400 - no divergence error
    real = lrdoctor.diagnose(next((FRESH3 / "text-lwpose-issue276-linear-growth").iterdir()))
    assert "divergence" not in loud(real)
    assert any("running sum" in why for why in real.coverage.skipped.values())
    summed = lrdoctor.diagnose(_running_sum_log(tmp_path, reset=False))
    assert "divergence" not in loud(summed) and "divergence" in summed.coverage.skipped
    averaged = lrdoctor.diagnose(_running_sum_log(tmp_path, reset=True))
    assert "divergence" in averaged.coverage.ran and not loud(averaged)


def test_a_loss_falling_through_ln_k_is_not_stuck_at_chance():
    # Keras issue 12707: training loss 2.31 -> 1.72, passing ln 6 = 1.79 on the way down
    r = lrdoctor.diagnose(next((FRESH3 / "keras-keras-issue12707-val-at-chance").iterdir()))
    assert "slow_progress" not in loud(r)
    # the twin: Keras issue 2392's loss frozen at 5.7257 stays an error
    stuck = lrdoctor.diagnose(next((FRESH / "keras-keras-issue2392-stuck").iterdir()))
    assert loud(stuck)["slow_progress"].severity.value == "error"


def test_a_return_that_turns_nan_is_nonfinite_and_one_never_computed_is_not(tmp_path):
    # keras-rl DDPG: episode_reward -1339, -648, -340, -132, then nan (the actor's outputs went NaN)
    r = lrdoctor.diagnose(TUNING.parent / "holdout" / "kerasrl-issue36-ddpg-pendulum-nan" / "issue36_log.txt")
    assert loud(r)["nonfinite"].evidence["metric"] == "ep_return"
    twin = tmp_path / "progress.csv"  # SB3 logs ep_rew_mean as empty until the first episode ends
    twin.write_text("time/total_timesteps,rollout/ep_rew_mean,train/loss\n" +
                    "".join(f"{t},{'' if t < 300 else -200 + t / 10},{1.0 / (1 + t / 500)}\n" for t in range(100, 2100, 100)))
    assert "nonfinite" not in loud(lrdoctor.diagnose(twin))


def test_an_accuracy_that_starts_at_its_best_and_collapses_is_a_reversal(tmp_path):
    # Keras issue 14707: test_accuracy 1.0 for 18 epochs, then down to 0.51 while test_loss falls
    r = lrdoctor.diagnose(next((FRESH3 / "text-keras-issue14707-acc-collapse").iterdir()))
    f = loud(r)["performance_reversal"]
    assert f.evidence["peak"] == 1.0 and 15 <= f.start_step <= 40
    # twin: an accuracy that starts high and holds it (a fine-tune from a good checkpoint)
    p = tmp_path / "ft.csv"
    rng = np.random.default_rng(0)
    p.write_text("epoch,loss,val_accuracy\n" + "".join(
        f"{e},{0.3 / (1 + e / 10):.4f},{0.93 + 0.005 * rng.standard_normal():.4f}\n" for e in range(1, 41)))
    assert "performance_reversal" not in loud(lrdoctor.diagnose(p))


FRESH4 = TUNING.parent / "fresh4"


def test_the_few_point_trend_test_is_mann_kendall_as_pymannkendall_computes_it():
    import pymannkendall as mk

    from lrdoctor.detect._stats import MK_EXACT_MAX, trend_p_down

    # on up to MK_EXACT_MAX points the p-value is the exact one (tests/test_stop62_rules.py), which the
    # normal approximation pymannkendall computes only approaches
    rng = np.random.default_rng(0)
    for _ in range(100):
        n = int(rng.integers(MK_EXACT_MAX + 1, 30))
        x = np.round(rng.normal(size=n) + rng.normal() * 0.1 * np.arange(n), 1)  # rounded: ties too
        ref = mk.original_test(x)
        one_sided_down = ref.p / 2 if ref.z < 0 else 1 - ref.p / 2
        assert trend_p_down(x) == pytest.approx(one_sided_down, abs=1e-12)


def _unlearning(path, noise, epochs=10, pre=10):
    """A digits MLP trained ``pre`` epochs on clean labels, then ``epochs`` more on labels of
    which a share ``noise`` is replaced by random classes; the held-out accuracy after each of
    those epochs is logged as "Epoch:  11/100, loss: 0.9, val_acc:  90.86%". With noise 1 the
    labels carry no signal and what was learnt is unlearnt, report after report."""
    torch.manual_seed(0)
    x, y = digits(1797)
    xt, yt, xv, yv = x[:900], y[:900], x[900:], y[900:]
    noisy = yt.clone()
    flip = torch.rand(len(yt)) < noise
    noisy[flip] = torch.randint(0, 10, (int(flip.sum()),))
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    o = torch.optim.Adam(model.parameters(), lr=2e-3)
    rows = []
    for ep in range(pre + epochs):
        lab = yt if ep < pre else noisy
        tot = 0.0
        for i in range(0, len(lab), 50):
            loss = torch.nn.functional.cross_entropy(model(xt[i:i + 50]), lab[i:i + 50])
            o.zero_grad()
            loss.backward()
            o.step()
            tot += float(loss.detach()) * 50
        if ep >= pre:
            with torch.no_grad():
                rows.append((ep + 1, tot / len(lab), float((model(xv).argmax(1) == yv).float().mean())))
    path.write_text("".join(f"Epoch: {e:3d}/100, loss: {loss:.4f}, val_acc: {100 * a:6.2f}%\n" for e, loss, a in rows))
    return [a for *_, a in rows]


def test_an_accuracy_trending_down_over_a_short_log_is_a_reversal_and_a_noisy_flat_one_is_not(tmp_path):
    # a model fine-tuned on labels that carry no signal: the held-out accuracy drifts down from 0.9
    acc = _unlearning(tmp_path / "unlearn.log", noise=1.0)
    assert acc[-1] < 0.75 * max(acc)  # the pathology happened
    r = lrdoctor.diagnose(tmp_path / "unlearn.log")
    assert "Mann-Kendall" in loud(r)["performance_reversal"].summary
    # the trained twin: the same model going on with the clean labels
    clean = _unlearning(tmp_path / "clean.log", noise=0.0)
    assert min(clean) > 0.85
    assert "performance_reversal" not in loud(lrdoctor.diagnose(tmp_path / "clean.log"))
    # the twin (arithmetic of the rule): an accuracy that only wobbles around 0.92 over 9 epochs
    flat = tmp_path / "flat.csv"
    flat.write_text("epoch,loss,val_acc\n" + "".join(f"{e},{0.5 - 0.01 * e:.4f},{a}\n" for e, a in
                    enumerate([0.91, 0.93, 0.92, 0.90, 0.93, 0.91, 0.92, 0.90, 0.92], 1)))
    assert "performance_reversal" not in loud(lrdoctor.diagnose(flat))


def test_training_and_eval_loss_jumping_together_at_the_last_report_is_divergence(tmp_path):
    # nnU-Net: train 0.36, 0.12, 0.60 and val 0.33, 0.48, 3.64 - the weights themselves got worse
    r = lrdoctor.diagnose(FRESH4 / "text-nnunet-issue2290-2d-blowup" / "issue2290.log")
    assert loud(r)["divergence"].evidence["eval_final"] == pytest.approx(3.6355)
    # the twin: a spike of the training loss alone at the last report (one bad batch) is not
    one = tmp_path / "one.csv"
    one.write_text("epoch,loss,val_loss\n1,0.36,0.33\n2,0.12,0.30\n3,0.60,0.29\n")
    assert "divergence" not in loud(lrdoctor.diagnose(one))


def _bandit_pg(iters, critic_lr=0.01, batch=200, seed=0):
    """REINFORCE on digits as a contextual bandit (the action is a class, reward 1 when it is the
    digit), with a linear critic regressing the reward scaled to 0-100 beside it. Per iteration:
    (policy loss, rewards, entropy, critic loss). A ``critic_lr`` far above the critic's
    stability limit makes its loss overflow to inf, then NaN, while the policy keeps learning."""
    torch.manual_seed(seed)
    x, y = digits(1797)
    pol = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10))
    o = torch.optim.SGD(pol.parameters(), lr=0.05)
    critic = torch.nn.Linear(64, 1)
    oc = torch.optim.SGD(critic.parameters(), lr=critic_lr)
    out = []
    for _ in range(iters):
        idx = torch.randint(0, len(y), (batch,))
        dist = torch.distributions.Categorical(logits=pol(x[idx]))
        a = dist.sample()
        r = (a == y[idx]).float()
        loss = -(dist.log_prob(a) * (r - r.mean())).mean()
        o.zero_grad()
        loss.backward()
        o.step()
        vloss = torch.nn.functional.mse_loss(critic(x[idx] * 10).squeeze(1), r * 100)
        oc.zero_grad()
        vloss.backward()
        oc.step()
        out.append((float(loss.detach()), r.numpy(), float(dist.entropy().mean().detach()), float(vloss.detach())))
    return out


def test_quoted_keys_metric_logger_rows_and_tabbed_blocks_are_read(tmp_path):
    # PaddleOCR: "epoch: 0, iter: 2760, lr: 0.001000, 'loss': 18201.227, 'acc': 0.0, time: 57.479"
    ocr = lrdoctor.read(FRESH4 / "text-paddleocr-issue1138-acc-zero" / "issue1138.log")
    assert ocr.series("loss").values[0] == 18201.227 and ocr.meta.roles["task_metric"] == "acc"
    # Swin: "Train: [3/300][370/1251] ... time 0.6068 (0.6098)    loss 6.3568 (6.1324)    grad_norm 2.0382 (inf)"
    swin = lrdoctor.read(TUNING.parent / "holdout" / "text-swin-issue50-gradnorm-avg-inf" / "issue50_log.txt")
    assert swin.series("loss").values[0] == 6.3568 and swin.series("grad_norm").values[0] == 2.0382
    assert swin.steps[0] == 3 * 1251 + 370
    # DeepRM's printout: "Iteration: \t 0" / "Loss:     \t 0.1269" / "MeanRew: \t -257.4 +- 63.2" blocks
    # (tabs, not a TSV), here from a really trained policy gradient
    pg = _bandit_pg(4)
    blocks = tmp_path / "deeprm.log"
    blocks.write_text("".join(f"Iteration: \t {i}\nNumTrajs: \t {len(r)}\nLoss:     \t {loss}\nMaxRew: \t {r.max()}\n"
                              f"MeanRew: \t {r.mean()} +- {r.std()}\nMeanEntropy \t {ent}\n-----------------\n"
                              for i, (loss, r, ent, _) in enumerate(pg)))
    rm = lrdoctor.read(blocks)
    assert rm.meta.roles["ep_return"] == "mean_rew" and rm.series("loss").values[0] == pytest.approx(pg[0][0])
    assert list(rm.series("ep_return").values) == pytest.approx([float(r.mean()) for _, r, _, _ in pg])


def test_console_tables_with_progress_bars_are_read(tmp_path):
    # Ultralytics YOLO console: "Epoch GPU_mem box_loss cls_loss dfl_loss Instances Size" then
    # "44/1000 6.73G 1.145 0.5266 1.11 6 640: 100%|###| 16/16 [...]", and a validation table
    yolo = lrdoctor.read(FRESH4 / "text-ultralytics-issue7653-converged-console" / "issue7653.log")
    assert list(yolo.steps) == [44, 45, 46]
    assert yolo.series("loss").values[0] == pytest.approx(1.145 + 0.5266 + 1.11)  # the parts, summed as results.csv
    assert list(yolo.series("eval_accuracy").values) == [0.994, 0.995, 0.958]  # mAP50 of the "all" row
    # prose with a metric word followed by numbers is no table
    p = tmp_path / "prose.log"
    p.write_text("Training the loss now\n1 2 3 4\nstep 1 loss=0.5\nstep 2 loss=0.4\nstep 3 loss=0.3\n")
    r = lrdoctor.read(p)
    assert "the" not in r and list(r.series("loss").values) == [0.5, 0.4, 0.3]


FRESH5 = TUNING.parent / "fresh5"


def _trainer_rows(path, lr_after, n=40000, batch=32, every=3, switch=600, rows=10):
    """Linear regression trained by mini-batch SGD (lr 0.05) on synthetic data, logged as HF
    Trainer dicts every ``every`` steps ({'loss': mean since the last row, 'grad_norm',
    'learning_rate', 'epoch' rounded to 2 decimals}: 1250 steps an epoch, so several rows share
    an epoch); at step ``switch`` the LR becomes ``lr_after``. The last ``rows`` rows are written."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 20, generator=g)
    y = x @ torch.randn(20, generator=g) + 0.5 * torch.randn(n, generator=g)
    torch.manual_seed(0)
    model = torch.nn.Linear(20, 1)
    o = torch.optim.SGD(model.parameters(), lr=0.05)
    out, acc = [], []
    for s in range(switch + every * (rows - 3)):
        if s == switch:
            for pg in o.param_groups:
                pg["lr"] = lr_after
        i = (s * batch) % (n - batch)
        loss = torch.nn.functional.mse_loss(model(x[i:i + batch]).squeeze(1), y[i:i + batch])
        o.zero_grad()
        loss.backward()
        gn = float(torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")))
        o.step()
        acc.append(float(loss.detach()))
        if (s + 1) % every == 0:
            out.append({"loss": round(float(np.mean(acc)), 4), "grad_norm": gn,
                        "learning_rate": o.param_groups[0]["lr"], "epoch": round((s + 1) / (n // batch), 2)})
            acc = []
    path.write_text("".join(f"{row}\n" for row in out[-rows:]))
    return out[-rows:]


def test_coarse_epochs_do_not_merge_trainer_rows_and_yolov7_consoles_are_read(tmp_path):
    # HF Trainer dicts with no step key and the epoch rounded to 2 decimals (0.48 on five rows):
    # every row is kept, and the gradient norm's climb after the LR was raised past the
    # stability limit (about 1 -> 16-58) is a grad_explosion
    rows = _trainer_rows(tmp_path / "trainer.log", lr_after=0.7)
    assert max(sum(r["epoch"] == e for r in rows) for e in {r["epoch"] for r in rows}) >= 4  # coarse epochs
    assert min(r["grad_norm"] for r in rows[-3:]) > 10 * max(r["grad_norm"] for r in rows[:3])  # the pathology
    r = lrdoctor.diagnose(tmp_path / "trainer.log")
    assert r.run.n_steps == 10 and "grad_explosion" in loud(r)
    # the twin: the same run left at its LR
    _trainer_rows(tmp_path / "steady.log", lr_after=0.05)
    steady = lrdoctor.diagnose(tmp_path / "steady.log")
    assert steady.run.n_steps == 10 and "grad_explosion" not in loud(steady)
    # the twin: a Keras history whose epochs are distinct keeps its epoch axis
    keras = lrdoctor.read(FRESH3 / "keras-keras-issue5239-cifar10-rising" / "issue5239.log")
    assert keras.meta.step_column == "epoch" and list(keras.steps) == list(range(1, 10))
    # YOLOv7: "Epoch gpu_mem box obj cls total labels img_size" and a nan total
    y7 = lrdoctor.diagnose(FRESH5 / "yolo-yolov7-issue613-box-nan" / "issue613.log")
    assert loud(y7)["nonfinite"].evidence["metric"] == "loss"
    # "Ep 1 (Step 000000): Train loss 9.781, Val loss 9.933" (LLMs-from-scratch)
    ch5 = lrdoctor.read(FRESH5 / "text-llmsfromscratch-ch05-pretrain-overfit" / "ch05_train_output.log")
    assert ch5.series("loss").values[0] == 9.781 and ch5.series("eval_loss").values[0] == 9.933


def _cycling_loop(tmp_path, steps_the_optimizer):
    """A digits MLP over 8 fixed batches in a cycle, the loss printed to 4 decimals as litgpt
    does; with ``steps_the_optimizer=False`` the loop forgets ``optimizer.step()`` (the DDP /
    accumulation bug): the weights never change."""
    torch.manual_seed(0)
    x, y = digits(256)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    lines = []
    for it in range(40):
        b = (it % 8) * 32
        loss = torch.nn.functional.cross_entropy(model(x[b:b + 32]), y[b:b + 32])
        opt.zero_grad()
        loss.backward()
        if steps_the_optimizer:
            opt.step()
        lines.append(f"iter {it} step {it}: loss {loss.item():.4f}, iter time: 100.00ms")
    p = tmp_path / f"lora{steps_the_optimizer}.log"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_losses_that_recur_exactly_mean_the_weights_do_not_change(tmp_path):
    # litgpt issue 834 (DDP): 3.5073 six times and four more values 2-3 times in 22 iterations
    r = lrdoctor.diagnose(FRESH5 / "text-litgpt-issue834-lora-ddp-repeating-loss" / "issue834.log")
    assert loud(r)["slow_progress"].evidence["repeated_pairs"] >= 10
    stuck = lrdoctor.diagnose(_cycling_loop(tmp_path, steps_the_optimizer=False))
    f = loud(stuck)["slow_progress"]
    assert f.severity.value == "error" and f.evidence["expected_pairs"] < 1
    learning = lrdoctor.diagnose(_cycling_loop(tmp_path, steps_the_optimizer=True))
    assert "slow_progress" not in loud(learning)



def test_a_full_batch_fit_converged_to_its_floor_is_not_recurring_losses(tmp_path):
    # deterministic full-batch Adam on a linear regression: the loss settles at ~1e-4 and then
    # prints the same value again and again, for the right reason
    torch.manual_seed(0)
    x = torch.randn(512, 8)
    y = x @ torch.randn(8, 1) + 1.0 + 0.01 * torch.randn(512, 1)
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    rows = []
    for step in range(1, 601):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 20 == 0 or step == 1:
            rows.append((step, loss.item()))
    assert len({r[1] for r in rows[-10:]}) < 10  # the converged loss does repeat
    r = lrdoctor.diagnose(write_csv(tmp_path / "fit.csv", "step,loss", rows))
    assert "slow_progress" not in loud(r)


FRESH6 = TUNING.parent / "fresh6"


def test_more_formats_after_fresh6(tmp_path):
    # baselines deepq: "| mean 100 episode reward | -21 |" (spaced keys)
    pong = lrdoctor.read(FRESH6 / "text-baselines-issue697-pong-dqn-stuck-21" / "issue697.log")
    assert pong.meta.roles["ep_return"] == "mean_100_episode_reward" and pong.meta.step_column == "episodes"
    # loguru, as LION's trainer prints it: "... | INFO     | trainers.base_trainer:train_epochs:256 - [R0] |
    # E5 iter[ 14/ 15] | [Loss] 0.41 | [exp] ... | [step]    89 | ..." (a digits MLP, 15 batches an epoch)
    rows = _digits_epochs(0.1, epochs=6)
    logu = tmp_path / "loguru.log"
    logu.write_text("".join(
        f"2023-01-25 00:21:09.074 | INFO     | trainers.base_trainer:train_epochs:256 - [R0] | E{e - 1} iter[ 14/ 15] | "
        f"[Loss] {loss:.2f} | [exp] ./exp/0125/digits | [step] {15 * e - 1:5d} | [url] none | [time] 0.4m (~5h) |"
        f"[best] 0 -100.000x1e-2 \n" for e, loss, _, _ in rows))
    lion = lrdoctor.read(logu)
    assert list(lion.series("loss").values) == [float(f"{r[1]:.2f}") for r in rows]
    assert list(lion.steps) == [15 * r[0] - 1 for r in rows] and "train_epochs" not in lion
    # "Reward moyen (100 ep): 0.455": a key qualified by a count (a trained policy gradient's running mean)
    pg = _bandit_pg(40, batch=10)
    rewards = np.concatenate([r for _, r, _, _ in pg])
    means = [float(f"{rewards[max(0, e - 100):e].mean():.3f}") for e in range(50, 401, 50)]
    fr_log = tmp_path / "moyen.log"
    fr_log.write_text("".join(f"Episode {e:3d}/400 | Reward moyen (100 ep): {m:.3f}\n" for e, m in zip(range(50, 401, 50), means)))
    fr = lrdoctor.read(fr_log)
    assert list(fr.series("ep_return").values) == means and list(fr.steps) == list(range(50, 401, 50))
    # a regression run that names its objective by the error: train_mae / val_mae
    mae = lrdoctor.read(FRESH6 / "text-dcrnn-issue60-train-mae-creep" / "issue60.log")
    assert mae.meta.roles["loss"] == "train_mae" and mae.meta.roles["eval_loss"] == "val_mae"


def test_eval_rising_while_training_sits_at_its_floor_is_overfitting_not_divergence():
    # tf-keras 120: train 0.0036-0.0122 (noise at its floor), val 0.113 -> 0.226
    r = lrdoctor.diagnose(FRESH6 / "keras-tfkeras-issue120-late-val-rise" / "issue120.log")
    assert "overfitting" in loud(r) and "divergence" not in loud(r)
    # the twin: nnU-Net, where the training loss itself jumped 5x at the last report
    nn = lrdoctor.diagnose(FRESH4 / "text-nnunet-issue2290-2d-blowup" / "issue2290.log")
    assert "divergence" in loud(nn) and "overfitting" not in loud(nn)


def test_yolov5_results_txt_rows_are_read_without_a_header():
    # "0/89 5.61G 0.07745 0.0277 0.01785 0.123 7 640 0.7966 0.3577 0.3942 0.1884 0.04524 0.01313 0.004035"
    r = lrdoctor.read(FRESH6 / "yolo-yolov5-issue2552-first-epochs" / "issue2552.txt")
    assert list(r.steps[:3]) == [0, 1, 2] and r.series("loss").values[0] == 0.123
    assert r.series("eval_loss").values[0] == pytest.approx(0.04524 + 0.01313 + 0.004035)
    assert r.meta.roles["eval_accuracy"] == "metrics/map_0.5:0.95"


def _eval_each_epoch(tmp_path, stale):
    """A digits MLP trained 8 epochs; the validation accuracy on 297 held-out digits is taken
    each epoch from the live model, or (``stale``) from a copy made before training - the
    bug of evaluating the wrong object: its predictions never change."""
    import copy

    torch.manual_seed(0)
    x, y = digits(1500)
    xv, yv = x[1200:1497], y[1200:1497]
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    evaluated = copy.deepcopy(model) if stale else model
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rows = []
    for ep in range(1, 9):
        tot = 0.0
        for i in range(0, 1200, 50):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * 50
        with torch.no_grad():
            acc = float((evaluated(xv).argmax(1) == yv).float().mean())
        rows.append((ep, tot / 1200, acc))
    return write_csv(tmp_path / f"eval{stale}.csv", "epoch,loss,val_acc", rows)


def test_an_accuracy_frozen_to_many_digits_while_the_loss_falls_is_no_learning(tmp_path):
    # LSTM-HAR: test accuracy 0.18052256107330322 on 15 iterations while the loss fell 3x
    r = lrdoctor.diagnose(FRESH6 / "text-lstmhar-issue8-test-acc-frozen" / "issue8.log")
    assert loud(r)["slow_progress"].evidence["rule"] == "one single value over the whole run"
    stale = lrdoctor.diagnose(_eval_each_epoch(tmp_path, stale=True))
    assert loud(stale)["slow_progress"].severity.value == "error"
    live = lrdoctor.diagnose(_eval_each_epoch(tmp_path, stale=False))
    assert "slow_progress" not in loud(live)
    # arithmetic: an accuracy of 0.8 (4/5: a tiny evaluation set) repeating while the loss falls is no finding
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("epoch,loss,val_acc\n" + "".join(f"{e},{2.0 / e:.4f},0.8\n" for e in range(1, 9)))
    assert "slow_progress" not in loud(lrdoctor.diagnose(tiny))


def _three_reports(tmp_path, blow_up):
    """A digits MLP, 30 SGD steps, three reports of (loss, grad_norm) as a pasted excerpt
    shows them; with ``blow_up`` the LR is set 3000x at step 28 (a bad manual override)."""
    torch.manual_seed(0)
    x, y = digits()
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    o = torch.optim.SGD(model.parameters(), lr=0.05)
    rows = []
    for step in range(1, 31):
        if blow_up and step == 28:
            for g in o.param_groups:
                g["lr"] = 150.0
        i = (step * 50) % (len(y) - 50)
        loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
        o.zero_grad()
        loss.backward()
        gn = float(torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")))
        o.step()
        if step % 10 == 0:
            rows.append((step, float(loss.detach()), gn))
    return write_csv(tmp_path / f"three{blow_up}.csv", "step,loss,grad_norm", rows)


def test_a_three_decade_gradient_jump_in_a_pair_of_rows_is_a_cliff(tmp_path):
    # mmdet issue 11708: two rows, grad_norm 3.46 -> 3.1e7 while the loss went 1.50 -> 63.1
    r = lrdoctor.diagnose(FRESH6 / "text-mmdet-issue11708-gradnorm-3e7" / "issue11708.log")
    assert loud(r)["grad_explosion"].evidence["ratio"] > 1e6
    bad = _three_reports(tmp_path, blow_up=True)
    rows = [ln.split(",") for ln in bad.read_text().splitlines()[1:]]
    assert float(rows[-1][2]) > 1000 * float(rows[0][2])  # the pathology really happened
    assert "grad_explosion" in loud(lrdoctor.diagnose(bad))
    assert "grad_explosion" not in loud(lrdoctor.diagnose(_three_reports(tmp_path, blow_up=False)))


FRESH7 = TUNING.parent / "fresh7"


def _train_stats(path, lr, updates=12):
    """A digits MLP under SGD, one line per update the way the DPO reference trainer prints its
    means: "train stats after 160 examples: {'loss/train': '0.6931', 'grad_norm': '1.2', ...}"
    (numbers formatted to strings with 4 significant digits, so a NaN is the string 'nan'). The
    loss is ``log(softmax)`` taken in two steps, as a hand-written log-likelihood often is: once a
    too-large LR makes the logits huge, the true class's probability underflows to 0, the loss
    is inf and the backward pass NaN."""
    torch.manual_seed(0)
    x, y = digits()
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    o = torch.optim.SGD(model.parameters(), lr=lr)
    lines, losses = [], []
    for u in range(1, updates + 1):
        i = (u * 32) % (len(y) - 32)
        out = model(x[i:i + 32])
        loss = torch.nn.functional.nll_loss(torch.log(torch.softmax(out, 1)), y[i:i + 32])
        o.zero_grad()
        loss.backward()
        gn = float(torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")))
        o.step()
        losses.append(float(loss.detach()))
        acc = float((out.argmax(1) == y[i:i + 32]).float().mean())
        stats = {"rewards_train/accuracies": f"{acc:.4g}", "loss/train": f"{losses[-1]:.4g}",
                 "examples_per_second": "5.4876", "grad_norm": f"{gn:.4g}", "counters/examples": 32 * u,
                 "counters/updates": u}
        lines.append(f"★---> train stats after {32 * u} examples: {stats}")
    path.write_text("\n".join(lines) + "\n")
    return losses


def _rsl_rl_log(path, critic_lr, iters=12):
    """rsl_rl's console blocks ("Learning iteration 3/12", "Mean value_function loss: 12.3456",
    "Mean surrogate loss: -0.0012", "Mean reward: 0.15") from :func:`_bandit_pg`."""
    blocks, pg = [], _bandit_pg(iters, critic_lr=critic_lr)
    for i, (loss, r, ent, vloss) in enumerate(pg):
        blocks.append("#" * 80 + f"\n{'Learning iteration ' + str(i) + '/' + str(iters):^80}\n\n"
                      f"{'Computation:':>35} 57897 steps/s (collection: 1.551s, learning 0.147s)\n"
                      f"{'Mean value_function loss:':>35} {vloss:.4f}\n{'Mean surrogate loss:':>35} {loss:.4f}\n"
                      f"{'Mean entropy loss:':>35} {ent:.4f}\n{'Mean reward:':>35} {r.mean():.2f}\n"
                      f"{'Mean episode length:':>35} 1.00\n")
    path.write_text("".join(blocks))
    return [b[3] for b in pg]


def test_quoted_nan_in_dict_lines_and_an_rl_value_loss_of_inf_are_nonfinite(tmp_path):
    # the DPO reference trainer's stats lines: {'loss/train': 'nan', 'grad_norm': 'nan', ...} at an LR of 20
    bad = _train_stats(tmp_path / "dpo_bad.log", lr=20.0)
    assert not np.isfinite(bad[-1])  # the pathology happened
    dpo = lrdoctor.diagnose(tmp_path / "dpo_bad.log")
    assert np.isnan(dpo.run.series("loss").values[-1])  # the quoted 'nan' is read as NaN, not dropped
    assert loud(dpo)["nonfinite"].severity.value == "error"
    good = _train_stats(tmp_path / "dpo_good.log", lr=0.1)
    assert np.isfinite(good).all()
    assert "nonfinite" not in loud(lrdoctor.diagnose(tmp_path / "dpo_good.log"))
    # rsl_rl: "Mean value_function loss: inf" (and "Mean surrogate loss" is the policy loss): a
    # critic at an LR past its stability limit overflows while the policy keeps learning
    vl = _rsl_rl_log(tmp_path / "rsl_bad.log", critic_lr=1.0)
    assert np.isinf(vl).any() and np.isfinite(vl[0])
    rsl = lrdoctor.diagnose(tmp_path / "rsl_bad.log")
    assert loud(rsl)["nonfinite"].evidence["metric"] == "value_loss"
    assert rsl.run.meta.roles["policy_loss"] == "surrogate_loss"
    calm = _rsl_rl_log(tmp_path / "rsl_good.log", critic_lr=0.01)
    assert np.isfinite(calm).all()
    rsl_good = lrdoctor.diagnose(tmp_path / "rsl_good.log")
    assert "nonfinite" not in loud(rsl_good) and rsl_good.run.meta.roles["policy_loss"] == "surrogate_loss"


# -- the benchmark ships only what may be redistributed (issue 9) -----------------------------

#: licences that allow redistribution (SPDX id at the start of a manifest's ``licence``)
#: (OpenMDW-1.0, the Linux Foundation's Open Model, Data and Weights licence, is permissive: use,
#: modification and redistribution with the licence and notices kept, as MIT's; the Artistic
#: License 2.0, OSI-approved, lets anyone redistribute verbatim copies; BigCode's OpenRAIL-M lets
#: anyone reproduce and distribute the model and its accompanying material, with its use-based
#: restrictions passed on; BigScience's BLOOM RAIL 1.0 grants the same for the model and its
#: "Complementary Material", the documentation a model card is)
REDISTRIBUTABLE = ("MIT", "Apache-2.0", "BSD", "ISC", "MPL", "GPL", "LGPL", "AGPL", "GNU GPL", "GNU LGPL", "GNU AGPL", "CC-BY", "CC0", "Unlicense", "OpenMDW",
                   "Artistic-2.0", "BigCode OpenRAIL-M", "BigScience BLOOM RAIL")


def _manifest_entries():
    import yaml

    from bench_logs import manifests

    for m in manifests():
        for e in yaml.load(m.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or []:  # libyaml's safe loader
            yield m.name, e


def test_every_shipped_log_has_a_redistributable_licence_and_unshipped_ones_are_not_in_the_tree():
    shipped = unshipped = 0
    for manifest, e in _manifest_entries():
        lic = str(e.get("licence", ""))
        where = f"{manifest}: {e['id']}"
        if e.get("shipped", True) is False:
            unshipped += 1
            assert e.get("unshipped_reason"), where
            assert not (TUNING.parent / e["file"]).exists(), where
            continue
        shipped += 1
        assert lic.startswith(REDISTRIBUTABLE) and "NC" not in lic.split("(")[0] \
            and "non-commercial" not in lic, f"{where}: {lic}"
        assert (TUNING.parent / e["file"]).is_file(), where
    assert shipped >= 40 and unshipped >= 77


def test_the_benchmark_skips_unshipped_logs_and_measures_them_from_a_folder(tmp_path):
    bench = [sys.executable, str(TUNING.parents[1] / "detection_quality.py"), "--slice", "fresh7"]
    env = {**os.environ, "LRDOCTOR_BENCH_UNSHIPPED": ""}
    out = subprocess.run(bench, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    skipped = [e for _, e in _manifest_entries() if e.get("slice") == "fresh7" and e.get("shipped", True) is False]
    assert f"fresh7: {len(skipped)} logs skipped for their licence" in out.stdout
    # a folder holding one of them (here a really trained NaN run in its place) brings it back
    held = tmp_path / skipped[0]["file"]
    held.parent.mkdir(parents=True)
    _train_stats(held, lr=20.0)
    out = subprocess.run(bench + ["--unshipped", str(tmp_path)], capture_output=True, text=True, env=env,
                         timeout=120, check=False)
    assert out.returncode == 0 and f"fresh7: {len(skipped) - 1} logs skipped" in out.stdout
    bad = subprocess.run(bench + ["--unshipped", str(tmp_path / "nowhere")], capture_output=True, text=True, env=env,
                         timeout=120, check=False)
    assert bad.returncode == 2 and "not a folder" in bad.stderr


def test_the_benchmark_scores_unhealthy_labels_apart_from_edge_ones():
    """The unhealthy-only recall counts the kinds of runs labelled unhealthy and leaves out an
    edge run's leaned-to kind, found or not; the headline recall counts both."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("dq_score", TUNING.parents[1] / "detection_quality.py")
    dq = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = dq  # its dataclasses look their module up while being built
    spec.loader.exec_module(dq)
    case = lambda label, kinds: dq.Case("x", Path("x"), "tuning", label, kinds, {})  # noqa: E731
    cases = [case("unhealthy", {"divergence": 5.0}), case("unhealthy", {"nonfinite": 3.0}),
             case("edge", {"overfitting": 2.0}), case("edge", {"plateau": 1.0}), case("healthy", {})]
    outs = [dq.Outcome({"divergence": 6.0}), dq.Outcome(), dq.Outcome({"overfitting": 2.0}), dq.Outcome(), dq.Outcome()]
    s = dq.score(cases, outs)
    assert s["clear_recall"] == 0.5 and s["recall"] == 0.5 and s["edge_kinds"] == 2
    outs[3] = dq.Outcome({"plateau": 1.0})  # an edge kind found moves the headline only
    s = dq.score(cases, outs)
    assert s["clear_recall"] == 0.5 and s["recall"] == 0.75
    assert "recall on runs labelled unhealthy (edge runs' 2 leaned-to kinds left out) 0.50" in dq._table("t", s)
