"""RL detectors on real RL trainings: Baird's counterexample, a DQN and SB3 PPO on CartPole,
iterative fine-tuning cycles; each pathology against its healthy twin."""

import json
from pathlib import Path
import subprocess
import sys

import pytest

import lrdoctor
from lrdoctor.corpus.cycles import CycleConfig, finetune_cycles
from lrdoctor.corpus.rl import BairdConfig, DQNConfig, baird, dqn_cartpole

RL_KINDS = {"q_divergence", "kl_exceeded", "entropy_collapse", "value_collapse", "objective_mismatch",
            "performance_reversal", "reward_instability", "cycle_degradation"}

#: the DQN post-mortem's knobs, pushed the wrong way: large LR, no target lag (tau 1), 8-step returns
BROKEN_DQN = DQNConfig(learning_rate=1e-2, tau=1.0, n_step=8, total_steps=4000)
HEALTHY_DQN = DQNConfig(total_steps=4000)


def loud(report):
    return [(f.kind, f.severity.value, f.summary) for f in report.findings if f.severity.value != "info"]


@pytest.fixture(scope="module")
def dqn_runs(tmp_path_factory):
    out = {}
    for name, cfg in (("broken", BROKEN_DQN), ("healthy", HEALTHY_DQN)):
        d = tmp_path_factory.mktemp(f"dqn_{name}")
        out[name] = (dqn_cartpole(d, cfg), d / "config.yaml")
    return out


def test_baird_off_policy_td_diverges_and_on_policy_does_not(tmp_path):
    off = lrdoctor.diagnose(baird(tmp_path / "off"), config=tmp_path / "off" / "config.yaml")
    on = lrdoctor.diagnose(baird(tmp_path / "on", BairdConfig(off_policy=False)), config=tmp_path / "on" / "config.yaml")
    f = next(f for f in off.findings if f.kind == "q_divergence")
    assert f.severity.value == "error" and f.evidence["growth"] > 10
    assert len(f.evidence["table"]) >= 8  # the Q table by step, as in the post-mortem
    assert loud(on) == []


def test_dqn_q_divergence_with_fix_table_from_config(dqn_runs):
    log, cfg = dqn_runs["broken"]
    report = lrdoctor.diagnose(log, config=cfg)
    f = next(f for f in report.findings if f.kind == "q_divergence")
    assert f.severity.value == "error"
    assert f.evidence["peak"] > 1e3  # CartPole's true Q is at most 1/(1-0.99) = 100
    fixes = {x.parameter: x for x in f.fixes}
    assert fixes["learning_rate"].old == pytest.approx(1e-2) and fixes["learning_rate"].new == pytest.approx(3.33e-3)
    assert fixes["tau"].old == 1.0 and fixes["tau"].new < 0.01
    assert fixes["n_step"].old == 8 and fixes["n_step"].new == 5
    assert any(w.trouble for w in f.watch) and f.recheck


def test_healthy_dqn_stays_quiet(dqn_runs):
    log, cfg = dqn_runs["healthy"]
    report = lrdoctor.diagnose(log, config=cfg)
    assert loud(report) == []
    assert report.run.series("ep_return").values[-1] > 50  # it really learned


def test_cli_prints_dqn_fix_table_recovery_trouble_and_recheck(dqn_runs):
    log, cfg = dqn_runs["broken"]
    p = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(log), "--config", str(cfg)],
                       capture_output=True, text=True, env={"COLUMNS": "200", "PATH": ""})
    assert p.returncode == 1, p.stderr
    for needle in ("q_divergence", "learning_rate", "tau", "n_step", "signs of recovery", "signs of continued trouble",
                   "look again", "[r_min, r_max]"):
        assert needle in p.stdout, needle
    j = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(log), "--config", str(cfg), "--format", "json"],
                       capture_output=True, text=True)
    f = next(f for f in json.loads(j.stdout)["findings"] if f["kind"] == "q_divergence")
    assert f["recheck"] and all("trouble" in w for w in f["watch"])


def test_cycles_peak_then_decline_and_the_decayed_twin_does_not(tmp_path):
    const = lrdoctor.diagnose(finetune_cycles(tmp_path / "c", CycleConfig()), config=tmp_path / "c" / "config.yaml")
    decay = lrdoctor.diagnose(finetune_cycles(tmp_path / "d", CycleConfig(cycle_decay=0.85)))
    clean = lrdoctor.diagnose(finetune_cycles(tmp_path / "e", CycleConfig(label_noise=0.0)))
    f = next(f for f in const.findings if f.kind == "cycle_degradation")
    per = {row["cycle"]: row["eval_accuracy"] for row in f.evidence["per_cycle"]}
    assert per[f.evidence["best_cycle"]] == max(per.values())
    assert 1 < f.evidence["best_cycle"] < 10 and f.evidence["decline"] >= 0.03
    fixes = {x.parameter: x for x in f.fixes}
    assert fixes["cycles"].new == f.evidence["best_cycle"]
    assert "0.85" in fixes["cross-cycle lr"].note and fixes["cross-cycle lr"].old == "constant 0.001"
    assert "cycle_degradation" not in {g.kind for g in decay.findings}
    assert "cycle_degradation" not in {g.kind for g in clean.findings}


def _ppo(tmp_path, **kw):
    pytest.importorskip("stable_baselines3", reason="the rl extra (pip install -e '.[rl]') is not installed")
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import configure

    torch.set_num_threads(1)
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=256, seed=0, verbose=0, device="cpu", **kw)
    model.set_logger(configure(str(tmp_path), ["csv", "tensorboard"]))
    model.learn(8192)
    return tmp_path


def test_sb3_ppo_healthy_quiet_and_too_large_updates_exceed_kl(tmp_path):
    ok = _ppo(tmp_path / "ok")
    bad = _ppo(tmp_path / "bad", learning_rate=0.03, n_epochs=10, ent_coef=0.0, batch_size=32)
    r_ok = lrdoctor.diagnose(ok / "progress.csv")
    assert r_ok.run.meta.format == "sb3-progress"
    assert loud(r_ok) == []
    r_bad = lrdoctor.diagnose(bad / "progress.csv")
    kl = [f for f in r_bad.findings if f.kind == "kl_exceeded" and f.severity.value != "info"]
    # an RL trajectory differs between CPUs, so the too-large updates show either as a sustained
    # stretch above the early-stop level, or as a blow-up followed by a return crash or a frozen policy
    assert kl
    ev = kl[0].evidence
    assert ev.get("median_kl", 0) > 1.5 * 0.02 or (ev["peak_over_target"] >= 10 and (ev["return_crash"] or ev["policy_frozen"]))
    # the TensorBoard events of the same run give the same finding
    r_tb = lrdoctor.diagnose(bad)
    assert "kl_exceeded" in {f.kind for f in r_tb.findings if f.severity.value != "info"}


#: a DQN that learns, then forgets: small replay buffer, fast target, large LR
FORGETFUL_DQN = DQNConfig(learning_rate=3e-3, tau=0.05, buffer_size=1000, total_steps=6000)


def _through_the_trough(log: Path) -> Path:
    """The DQN's log up to its lowest return after its best. The unlearning itself is robust, but
    how much of it the agent wins back in the last thousand frames is not: the same seed on
    another CPU's float kernels ends either still falling or partly recovered (131 -> 32 -> 56),
    and a return that climbs back for the rest of the log has no downward trend after its peak."""
    import pandas as pd

    df = pd.read_csv(log)
    ret = df["ep_return"].to_numpy()
    peak = int(ret.argmax())
    low = peak + int(ret[peak:].argmin())
    df.iloc[: low + 1].to_csv(log, index=False)
    return log


def test_dqn_that_unlearns_gets_performance_reversal_with_both_slopes(tmp_path):
    log = _through_the_trough(dqn_cartpole(tmp_path, FORGETFUL_DQN))
    report = lrdoctor.diagnose(log, config=tmp_path / "config.yaml")
    f = next(f for f in report.findings if f.kind == "performance_reversal")
    ev = f.evidence
    assert ev["slope_before"] > 0 > ev["slope_after"]
    ret = report.run.series("ep_return")
    assert ev["peak"] > ret.values[-1] + 30  # the return really fell
    assert any(x.parameter == "checkpoint" and str(int(ev["peak_step"])) in f"{x.new} {x.note}" for x in f.fixes)


def test_loss_falls_while_heldout_accuracy_falls_is_objective_mismatch(tmp_path):
    finetune_cycles(tmp_path, CycleConfig(label_noise=0.6))
    report = lrdoctor.diagnose(tmp_path / "steps.csv")
    f = next(f for f in report.findings if f.kind == "objective_mismatch")
    assert f.evidence["loss_end"] < f.evidence["loss_start"] and f.evidence["task_end"] < f.evidence["task_start"]
    # the per-step log carries a cycle column: cycles are grouped from it
    assert "cycle_degradation" in {g.kind for g in report.findings}


def test_converged_near_zero_loss_noise_is_not_oscillation(tmp_path):
    finetune_cycles(tmp_path, CycleConfig(label_noise=0.0))
    report = lrdoctor.diagnose(tmp_path / "steps.csv")
    assert report.run.series("loss").values[-20:].max() < 0.5  # converged near zero ...
    assert "oscillation" not in {f.kind for f in report.findings}  # ... and its noise is not a swing


def test_cleanrl_hyperparameter_text_in_tensorboard_becomes_the_config(tmp_path, dqn_runs):
    """CleanRL writes its args as a |param|value| text summary; the fix table's old values come from it."""
    import pandas as pd
    from torch.utils.tensorboard import SummaryWriter

    log, _ = dqn_runs["broken"]
    df = pd.read_csv(log)
    w = SummaryWriter(str(tmp_path))
    args = {"learning_rate": 0.01, "tau": 1.0, "n_step": 8, "gamma": 0.99, "env_id": "CartPole-v1"}
    w.add_text("hyperparameters", "|param|value|\n|-|-|\n" + "\n".join(f"|{k}|{v}|" for k, v in args.items()))
    for row in df.itertuples():
        w.add_scalar("charts/episodic_return", row.ep_return, row.step)
        w.add_scalar("losses/q_max", row.q_max, row.step)
        w.add_scalar("losses/td_loss", row.loss, row.step)
    w.close()
    run = lrdoctor.read(tmp_path)
    assert run.config["tau"] == 1.0 and run.config["env_id"] == "CartPole-v1"
    f = next(f for f in lrdoctor.diagnose(run).findings if f.kind == "q_divergence")
    fixes = {x.parameter: x.old for x in f.fixes}
    assert fixes["learning_rate"] == 0.01 and fixes["tau"] == 1.0 and fixes["n_step"] == 8


def test_rl_zoo_yaml_nested_under_env_id(tmp_path, dqn_runs):
    log, _ = dqn_runs["broken"]
    cfg = tmp_path / "dqn.yml"
    cfg.write_text("CartPole-v1:\n  n_timesteps: !!float 5e4\n  policy: 'MlpPolicy'\n  learning_rate: !!float 1e-2\n"
                   "  tau: 1.0\n  gradient_steps: 128\n  train_freq: 256\n  gamma: 0.99\n")
    f = next(f for f in lrdoctor.diagnose(log, config=cfg).findings if f.kind == "q_divergence")
    fixes = {x.parameter: x for x in f.fixes}
    # the parameter names the YAML path to edit
    assert fixes["CartPole-v1.learning_rate"].old == 0.01 and fixes["CartPole-v1.tau"].old == 1.0
    assert fixes["CartPole-v1.gradient_steps"].old == 128 and fixes["CartPole-v1.gradient_steps"].new == 64
