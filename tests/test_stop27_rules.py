"""Rules from the stop-27 study of the benchmark (issue 9), each on a real log or a really
trained run, with a twin:

- slow_progress (RL): a return that never rose above its start by more than its noise, with no
  upward trend, over a log that starts at the start of training.
"""

from __future__ import annotations

import numpy as np
import torch
from bench_logs import real_log

import lrdoctor

torch.set_num_threads(1)


def _warned(report) -> dict:
    return {f.kind: f for f in report.findings if f.severity.rank >= 1}


def _bandit_reinforce(lr: float, epochs: int = 40, pulls: int = 8, seed: int = 0) -> list[tuple[int, float]]:
    """REINFORCE with a learned baseline on a 5-armed Gaussian bandit (arm means 0, 0.25, ..., 1,
    reward noise 1): each epoch pulls ``pulls`` arms from the softmax policy, takes one Adam step
    and reports the epoch's mean reward. At lr 0 the policy stays uniform (mean 0.5 plus noise);
    at lr 0.1 it moves to the best arm."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.zeros(5, requires_grad=True)
    opt = torch.optim.Adam([logits], lr=lr) if lr > 0 else None
    means = torch.linspace(0, 1, 5)
    baseline, rows = 0.0, []
    for ep in range(1, epochs + 1):
        dist = torch.distributions.Categorical(logits=logits)
        arms = dist.sample((pulls,))
        rewards = means[arms] + torch.randn(pulls, generator=g)
        if opt is not None:
            loss = -((rewards - baseline) * dist.log_prob(arms)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        baseline = 0.9 * baseline + 0.1 * float(rewards.mean())
        rows.append((ep, float(rewards.mean())))
    return rows


def _bandit_log(tmp_path, lr: float) -> lrdoctor.Run:
    p = tmp_path / f"bandit_{lr}.csv"
    p.write_text("epoch,ep_rew_mean\n" + "".join(f"{e},{r:.4f}\n" for e, r in _bandit_reinforce(lr)))
    return lrdoctor.read(p)


def test_a_return_that_never_rises_above_its_start_is_no_learning(tmp_path):
    f = _warned(lrdoctor.diagnose(_bandit_log(tmp_path, 0.0))).get("slow_progress")
    assert f is not None and "never rose above its start" in f.summary


def test_a_return_that_rises_is_learning(tmp_path):
    assert "slow_progress" not in _warned(lrdoctor.diagnose(_bandit_log(tmp_path, 0.1)))


def test_real_stuck_returns_never_rose():
    # rl-replicas' VPG on Ant: 39 epochs around -90 with no trend; angela's hill climber on
    # LunarLander: 50 reports, never above its start by more than its noise
    for rel in ("fresh79/rlreplicas-ant-vpg-seed0-head/experiment.log", "fresh91/angela-hc-lunarlander/train.log"):
        f = _warned(lrdoctor.diagnose(real_log(rel))).get("slow_progress")
        assert f is not None and "never rose above its start" in f.summary, rel


def test_real_return_solved_at_once_is_no_stall():
    # tianshou's A2C on InvertedPendulum: 5.85 untrained, then 1000 (the maximum) and held
    report = lrdoctor.diagnose(real_log("fresh35/tianshou-invertedpendulum-a2c-10seeds/test_rew_10seeds.csv"))
    assert "slow_progress" not in _warned(report)


def test_a_few_updates_of_an_rlhf_run_are_too_early_to_call():
    # DeepSpeed-Chat step 3: the reward score wanders around 0 over its first 30 of 477 steps
    report = lrdoctor.diagnose(real_log("fresh9/text-deepspeedchat-step3-rlhf-first30/actor_opt-1.3b_critic_opt-350m.log"))
    assert "slow_progress" not in _warned(report)
