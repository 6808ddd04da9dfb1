"""Every real third-party log in ../shared/reallogs is read and diagnosed; the findings
match what its MANIFEST says happened."""

import json
import subprocess
import sys

import numpy as np
import pytest

import lrdoctor
from tests.conftest import REALLOGS

HEALTHY_OR_EDGE = [
    "hf-kgllm-amp-skipped-steps/trainer_state.json",
    "hf-llama2-qlora-inf-gradnorm/trainer_state.json",
    "hf-mistral-lora-llamafactory/trainer_state.json",
    "hf-mistral-lora-llamafactory/trainer_log.jsonl",
    "hf-t5-summarization/trainer_state.json",
    "hf-t5-summarization/events.out.tfevents.1742826235.DESKTOP-41L2EO3.107869.0",
    "lightning-slm-healthy/metrics.csv",
    "modded-nanogpt-speedrun/2024-10-14_ModernArch_dabaaddd.log",
    "yolov5-transient-val-nan/results.csv",
    "yolov5-transient-val-nan/events.out.tfevents.1671178270.8499c671e2bc.447.0",
    "yolov8-val-loss-all-nan/results.csv",
    "yolov8-crater-healthy/results.csv",
    "yolov8-crater-healthy/events.out.tfevents.1727698312.54e657a9171e.14017.0",
    "sb3-acrobot-ppo-tb/events.out.tfevents.1748824807.kangs-MacBook-Pro-6.local.45380.0",
    "sb3-chess-ppo-tb/PPO_1_events.out.tfevents.1675730338.Nikhil-3080.34092.0",
    "sb3-flappybird/PPO_MLP_std_2Mio_progress.csv",
    "sb3-flappybird/DQN_MLP_rew100_2Mio_progress.csv",
    "diffusion-lr-sweep/progress_lr1e-4.csv",
    "pytorch-wordlm-rnn-lr20/LSTM_2layer_12ep.log",
]

#: file -> finding kinds of which at least one must be an error (what the manifest says happened)
UNHEALTHY = {
    "pinn-em-lightning-nan/metrics_version_14.csv": {"nonfinite"},
    "ptychopinn-keras-history-nan/history.json": {"nonfinite"},
    "pytorch-wordlm-rnn-lr20/RNN_RELU_2layer_12ep.log": {"nonfinite"},
    "pytorch-wordlm-rnn-lr20/RNN_TANH_2layer_12ep.log": {"divergence", "lr_beyond_stability"},
    "pytorch-wordlm-rnn-lr20/GRU_2layer_10ep.log": {"divergence"},
    "ppo-kl-blowup-preypredator/log_training_20240404-210735.csv": {"kl_exceeded"},
    "sb3-chess-ppo-tb/PPO_5_events.out.tfevents.1675731804.Nikhil-3080.24064.0": {"entropy_collapse"},
}

#: healthy RL runs (noisy returns are normal): no RL finding above info
HEALTHY_RL = [
    "sb3-acrobot-ppo-tb/events.out.tfevents.1748824807.kangs-MacBook-Pro-6.local.45380.0",
    "sb3-chess-ppo-tb/PPO_1_events.out.tfevents.1675730338.Nikhil-3080.34092.0",
    "sb3-flappybird/PPO_MLP_std_2Mio_progress.csv",
    "sb3-flappybird/DQN_MLP_rew100_2Mio_progress.csv",
]


def all_files():
    if not REALLOGS.is_dir():
        return []
    return sorted(str(p.relative_to(REALLOGS)) for p in REALLOGS.glob("*/*") if p.name not in ("MANIFEST.md",)
                  and p.suffix not in (".md", ".yaml"))


@pytest.mark.parametrize("rel", all_files())
def test_every_real_file_reads_and_diagnoses(reallogs, rel):
    report = lrdoctor.diagnose(reallogs / rel)
    assert report.run.n_steps > 0
    json.loads(report.to_json())  # valid JSON with no bare NaN
    for f in report.findings:
        assert f.evidence, f"{f.kind} has no evidence"


@pytest.mark.parametrize("rel", HEALTHY_OR_EDGE)
def test_healthy_and_edge_runs_get_no_error(reallogs, rel):
    report = lrdoctor.diagnose(reallogs / rel)
    errors = [f"{f.kind}: {f.summary}" for f in report.findings if f.severity.value == "error"]
    assert errors == []


@pytest.mark.parametrize("rel,kinds", sorted(UNHEALTHY.items()))
def test_unhealthy_runs_get_the_manifest_finding(reallogs, rel, kinds):
    report = lrdoctor.diagnose(reallogs / rel)
    found = {f.kind for f in report.findings if f.severity.value == "error"}
    assert found & kinds, f"expected one of {kinds} as error, got {[(f.kind, f.severity.value) for f in report.findings]}"


def test_pinn_nan_is_at_step_218(reallogs):
    f = next(f for f in lrdoctor.diagnose(reallogs / "pinn-em-lightning-nan/metrics_version_14.csv").findings if f.kind == "nonfinite")
    assert f.start_step == 218


def test_gru_divergence_onset_after_best(reallogs):
    f = next(f for f in lrdoctor.diagnose(reallogs / "pytorch-wordlm-rnn-lr20/GRU_2layer_10ep.log").findings if f.kind == "divergence")
    # manifest: healthy until epoch 4 batch 1200 (step 3*2983+1200 = 10149), spike at batch 1600
    assert 10149 <= f.start_step <= 3 * 2983 + 2000
    assert f.evidence["best_loss"] < 5.4 and f.evidence["final_loss"] > 6.0


def test_diffusion_too_low_lr_is_slow_progress_and_healthy_twin_is_not(reallogs):
    low = lrdoctor.diagnose(reallogs / "diffusion-lr-sweep/progress_lr1e-7.csv")
    ok = lrdoctor.diagnose(reallogs / "diffusion-lr-sweep/progress_lr1e-4.csv")
    assert "slow_progress" in {f.kind for f in low.findings}
    assert "slow_progress" not in {f.kind for f in ok.findings}


def test_amp_skipped_grad_norm_is_not_a_blowup(reallogs):
    for rel in ("hf-kgllm-amp-skipped-steps/trainer_state.json", "hf-llama2-qlora-inf-gradnorm/trainer_state.json"):
        run = lrdoctor.read(reallogs / rel)
        assert not np.isfinite(run.series("grad_norm").values).all()  # the oddity is really there
        assert "nonfinite" not in {f.kind for f in lrdoctor.diagnose(run).findings}


def test_all_nan_val_loss_is_never_computed_not_divergence(reallogs):
    run = lrdoctor.read(reallogs / "yolov8-val-loss-all-nan/results.csv")
    assert "eval_loss" not in run
    assert any("never computed" in w for w in run.meta.warnings)


def test_nanogpt_timing_nan_is_not_a_loss_nan(reallogs):
    run = lrdoctor.read(reallogs / "modded-nanogpt-speedrun/2024-10-14_ModernArch_dabaaddd.log")
    assert np.isnan(run.series("step_avg").values[0])
    assert np.isfinite(run.series("loss").values).all()
    assert run.series("loss").values.size == 5100


def test_hf_json_and_tensorboard_of_the_same_run_agree(reallogs):
    a = lrdoctor.read(reallogs / "hf-t5-summarization/trainer_state.json").series("loss")
    b = lrdoctor.read(reallogs / "hf-t5-summarization/events.out.tfevents.1742826235.DESKTOP-41L2EO3.107869.0").series("loss")
    common, ia, ib = np.intersect1d(a.steps, b.steps, return_indices=True)
    assert common.size > 400
    np.testing.assert_allclose(a.values[ia], b.values[ib], rtol=1e-4)


def test_word_lm_namespace_becomes_config(reallogs):
    run = lrdoctor.read(reallogs / "pytorch-wordlm-rnn-lr20/GRU_2layer_10ep.log")
    assert run.config["lr"] == 20 and run.config["clip"] == 0.25 and run.config["model"] == "GRU"
    div = next(f for f in lrdoctor.diagnose(run).findings if f.kind == "divergence")
    lr_fix = next(x for x in div.fixes if x.parameter == "lr")
    assert lr_fix.old == 20 and lr_fix.new == pytest.approx(20 / 3, rel=0.01)


def test_cli_json_contract_on_real_file(reallogs):
    p = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(reallogs / "pinn-em-lightning-nan/metrics_version_14.csv"),
                        "--format", "json"], capture_output=True, text=True)
    assert p.returncode == 1, p.stderr
    obj = json.loads(p.stdout)
    assert set(obj) == {"run", "findings", "coverage"}
    assert "nonfinite" in obj["coverage"]["ran"] and "divergence" in obj["coverage"]["ran"]
    assert "q_divergence" in obj["coverage"]["skipped"]  # a supervised PINN log has no Q values
    f = obj["findings"][0]
    assert set(f) == {"kind", "severity", "start_step", "end_step", "summary", "evidence", "cause", "fixes", "watch", "recheck"}
    assert f["kind"] == "nonfinite" and f["severity"] == "error"
    assert {"parameter", "old", "new", "reason"} <= set(f["fixes"][0])


@pytest.mark.parametrize("rel", HEALTHY_RL)
def test_healthy_rl_runs_get_no_warning(reallogs, rel):
    report = lrdoctor.diagnose(reallogs / rel)
    loud = [f"{f.kind} {f.severity.value}: {f.summary}" for f in report.findings if f.severity.value != "info"]
    assert loud == []


def test_ppo_kl_blowup_at_episode_2100_then_return_crash_and_frozen_policy(reallogs):
    report = lrdoctor.diagnose(reallogs / "ppo-kl-blowup-preypredator/log_training_20240404-210735.csv")
    f = next(f for f in report.findings if f.kind == "kl_exceeded")
    assert f.severity.value == "error" and f.start_step == 2100  # manifest: Approx_KL 89.2 at Episode 2100
    assert f.evidence["peak_kl"] == pytest.approx(89.2, abs=0.05)
    assert f.evidence["return_crash"]["worst_after"] < -100  # manifest: returns crash to -160
    assert f.evidence["policy_frozen"]["kl_median_after"] < 1e-3  # manifest: clip fraction 0 afterwards
    assert "value_collapse" in {g.kind for g in report.findings}  # manifest: explained variance ~0 throughout
    assert any(x.parameter == "target_kl" for x in f.fixes)


def test_acrobot_single_kl_spike_is_info_not_blowup(reallogs):
    report = lrdoctor.diagnose(reallogs / "sb3-acrobot-ppo-tb/events.out.tfevents.1748824807.kangs-MacBook-Pro-6.local.45380.0")
    kl = [f for f in report.findings if f.kind == "kl_exceeded"]
    assert [f.severity.value for f in kl] == ["info"]
    assert kl[0].evidence["peak_kl"] == pytest.approx(1.07, abs=0.01)


def test_chess_entropy_collapse_with_flat_return(reallogs):
    f = next(f for f in lrdoctor.diagnose(reallogs / "sb3-chess-ppo-tb/PPO_5_events.out.tfevents.1675731804.Nikhil-3080.24064.0").findings
             if f.kind == "entropy_collapse")
    assert f.evidence["reference"] == pytest.approx(7.49, abs=0.01)  # manifest: -7.49 -> -0.03
    assert f.evidence["collapsed_level"] == pytest.approx(0.03, abs=0.005)
    assert f.evidence["task_flat"]["end"] == -100
    assert any(x.parameter == "environment" for x in f.fixes)  # manifest: buggy env


def test_flappybird_a2c_entropy_collapse_and_reward_swings(reallogs):
    report = lrdoctor.diagnose(reallogs / "sb3-flappybird/A2C_MLP_rew100_2Mio_progress.csv")
    kinds = {f.kind: f for f in report.findings}
    assert "entropy_collapse" in kinds and "reward_instability" in kinds
    assert kinds["entropy_collapse"].evidence["min_entropy"] < 1e-8  # manifest: ~1e-8..1e-15
    assert len(kinds["reward_instability"].evidence["swings"]) >= 3  # manifest: 20 <-> 150
