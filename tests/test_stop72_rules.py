"""One pasted PPO table whose KL and clip fraction both overshoot the trust region is kl_exceeded (stop 72).

stable-baselines3 prints one table per rollout, and a user asking "is my approx_kl too high?" pastes
one. The few-point KL rules needed two updates (a KL past the target that *stays* there), so such a
table read "kl_exceeded: not checked". One update is judged when a clip fraction stands beside it:
a KL at 1.5x the target or more (SB3 would stop that epoch early) *and* more than 30% of samples
clipped (past the healthy band, and what a KL at the target implies) is a warning. One witness alone
(a large KL that few samples carry) is not. Really trained PPO agents, their twins, and real pasted
tables read in place."""

import contextlib
import io
from pathlib import Path

import pytest
import torch

import lrdoctor

torch.set_num_threads(1)

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"


def _ppo_tables(tmp_path, *, lr, n_epochs, seed=0):
    """Train SB3 PPO on CartPole for two rollouts of 256 steps (minibatches of 32), verbose=1, and write
    what it prints: two tables, the second with the ``train/`` block of the one update."""
    import gymnasium as gym
    from stable_baselines3 import PPO

    buf = io.StringIO()
    model = PPO("MlpPolicy", gym.make("CartPole-v1"), n_steps=256, batch_size=32, n_epochs=n_epochs,
                learning_rate=lr, seed=seed, verbose=1, device="cpu")
    with contextlib.redirect_stdout(buf):
        model.learn(total_timesteps=512)
    text = buf.getvalue()
    assert text.count("approx_kl") == 1 and "clip_fraction" in text
    p = tmp_path / "ppo.log"
    p.write_text(text)
    return p, text


def _printed(text, key):
    return float(next(line for line in text.splitlines() if f" {key} " in line).split("|")[2])


def test_one_overshooting_ppo_update_is_kl_exceeded(tmp_path):
    """lr 0.05 with 50 epochs over each rollout: the one update moves the policy far past the trust
    region (KL well past 0.03 and most samples clipped): a warning naming both witnesses."""
    p, text = _ppo_tables(tmp_path, lr=0.05, n_epochs=50)
    kl, clip = _printed(text, "approx_kl"), _printed(text, "clip_fraction")
    assert kl > 0.03 and clip > 0.3  # the run really overshot, read from SB3's own table
    report = lrdoctor.diagnose(p)
    [f] = [f for f in report.findings if f.kind == "kl_exceeded"]
    assert f.severity.value == "warning"
    assert f.evidence["kl_at_onset"] == pytest.approx(kl, rel=1e-6)
    assert f.evidence["clip_fraction_min"] == pytest.approx(clip, rel=1e-6)
    assert "clip fraction" in f.evidence["rule"] and "one logged update" in f.summary
    assert "lr" in [fx.parameter for fx in f.fixes]


def test_the_default_ppo_update_is_checked_and_healthy(tmp_path):
    """Twin: SB3's default lr 3e-4 and 10 epochs: KL and clip fraction inside their bands, so the check
    runs on the one update (it is in the coverage's ran list) and finds nothing."""
    p, text = _ppo_tables(tmp_path, lr=3e-4, n_epochs=10)
    assert _printed(text, "approx_kl") < 0.03
    report = lrdoctor.diagnose(p)
    assert "kl_exceeded" in report.coverage.ran
    assert not [f for f in report.findings if f.kind == "kl_exceeded"]


def test_a_pasted_sb3_table_with_both_witnesses_is_kl_exceeded():
    """The table of stable-baselines3 issue #902 (approx_kl 0.0725, clip_fraction 0.596)."""
    report = lrdoctor.diagnose(LOGS / "fresh14" / "sb3-issue902-ppo-kl" / "issue902.log")
    [f] = [f for f in report.findings if f.kind == "kl_exceeded"]
    assert f.severity.value == "warning" and f.evidence["peak_kl"] == pytest.approx(0.07252013)


def test_a_large_kl_with_the_clip_fraction_in_its_band_is_not_kl_exceeded():
    """rl-zoo PR #521's pasted table: approx_kl 0.215 but clip_fraction 0.277, inside 0.05-0.3: a KL that
    few samples carry (openai/baselines#456), one witness, no finding; the check still ran."""
    report = lrdoctor.diagnose(LOGS / "fresh3" / "text-sb3zoo-pr521-ppo-pendulum-high-kl" / "pr521.log")
    assert "kl_exceeded" in report.coverage.ran
    assert not [f for f in report.findings if f.kind == "kl_exceeded"]


def test_one_kl_without_a_clip_fraction_is_not_checked(tmp_path):
    """Without the second witness one update is still too few: the coverage says what it needs."""
    p = tmp_path / "ppo.csv"
    p.write_text("timesteps,approx_kl,loss\n2048,0.09,0.5\n")
    report = lrdoctor.diagnose(p)
    assert "needs 2" in report.coverage.skipped["kl_exceeded"]
