"""Two few-point rules of stop 72, each on really trained runs, their twins and real logs read in place.

**kl_exceeded from one PPO table.** One pasted PPO table whose KL and clip fraction both overshoot
the trust region is kl_exceeded.

stable-baselines3 prints one table per rollout, and a user asking "is my approx_kl too high?" pastes
one. The few-point KL rules needed two updates (a KL past the target that *stays* there), so such a
table read "kl_exceeded: not checked". One update is judged when a clip fraction stands beside it:
a KL at 1.5x the target or more (SB3 would stop that epoch early) *and* more than 30% of samples
clipped (past the healthy band, and what a KL at the target implies) is a warning. One witness alone
(a large KL that few samples carry) is not. Really trained PPO agents, their twins, and real pasted
tables read in place.

**overfitting when the last evaluations are the run's highest.** A noisy held-out loss whose last
three (or more) evaluations all lie above every evaluation before them, the first included, has
moved to a worse level (p = 1/C(n, m) under exchangeable noise, at most 5%), while the training loss
fell: overfitting, though no rise is monotone and the curve's own scatter hides the GL rule's rise."""

import contextlib
import io
from pathlib import Path

import pytest
import torch

import lrdoctor
from trained_digits import digits_mlp, noisy_label_fit

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


def _subset_evaluations(tmp_path, *, noise, every, seed=21, evals=6, subset=60):
    """Fit :func:`noisy_label_fit` (300 digits, a share ``noise`` of them relabelled at random) and
    evaluate every ``every`` epochs on 60 held-out digits drawn afresh each time (generator ``seed``),
    as trainers that evaluate on a random batch do: a held-out loss with real sampling noise. Write
    ``epoch,loss,eval_loss`` per evaluation."""
    x, y, _ = digits_mlp(0)
    g = torch.Generator().manual_seed(seed)
    rows = ["epoch,loss,eval_loss"]
    for epoch, train, model in noisy_label_fit(noise, evals * every):
        if epoch % every == 0:
            idx = 1400 + torch.randperm(397, generator=g)[:subset]
            with torch.no_grad():
                e = torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).item()
            rows.append(f"{epoch},{train:.4f},{e:.4f}")
    p = tmp_path / "evals.csv"
    p.write_text("\n".join(rows) + "\n")
    return p, [float(r.split(",")[2]) for r in rows[1:]], [float(r.split(",")[1]) for r in rows[1:]]


def test_a_noisy_held_out_loss_whose_last_evaluations_are_highest_is_overfitting(tmp_path):
    """60% noisy labels over 90 epochs: the model memorises them and its held-out loss moves to a
    worse level, but the 60-digit evaluations scatter (one of the last three dips), so no rule that
    needs a rise at each evaluation or a rise past the scatter sees it; the last three are still the
    run's three highest."""
    p, ev, tr = _subset_evaluations(tmp_path, noise=0.6, every=15)
    best = min(ev[:3])
    assert min(ev[3:]) > max(ev[:3]) and ev[-1] > 1.1 * best and tr[-1] < tr[0]  # the shape, read from the log
    assert not ev[3] < ev[4] < ev[5]  # not a rise at each evaluation
    report = lrdoctor.diagnose(p)
    [f] = [f for f in report.findings if f.kind == "overfitting"]
    assert f.severity.value == "warning" and f.evidence["highest_last"] == 3
    assert f.evidence["eval_min"] == pytest.approx(best)
    assert f.start_step == 45.0 and "3 highest" in f.summary


def test_the_same_evaluations_of_a_run_still_learning_are_healthy(tmp_path):
    """Twin: clean labels, evaluated every 2 epochs by the same 60-digit protocol: the held-out loss
    still falls through its scatter, and no overfitting is reported."""
    p, ev, _ = _subset_evaluations(tmp_path, noise=0.0, every=2)
    assert ev[-1] < ev[0]
    assert not [f for f in lrdoctor.diagnose(p).findings if f.kind == "overfitting"]


def test_a_real_card_whose_last_evaluations_are_highest_is_overfitting():
    """A BERT-mini IMDB card: validation loss 0.230, 0.318, 0.216, then 0.468, 0.489, 0.394 while the
    training loss fell 0.354 -> 0.043."""
    report = lrdoctor.diagnose(LOGS / "fresh1026" / "muhtasham-finetuned-base-mini" / "training_results.md")
    [f] = [f for f in report.findings if f.kind == "overfitting"]
    assert f.evidence["highest_last"] == 3 and f.evidence["eval_min"] == pytest.approx(0.216)


def test_the_least_probable_qualifying_tail_is_the_one_judged():
    """Arithmetic of the rule on a hand-made curve: the last 7 of 8 evaluations lie above the first
    (p = 1/C(8, 7) = 1/8, not significant) and the last 3 above the first 5 (p = 1/56): the rule judges
    the three, whose best before them is the first evaluation; a curve whose only qualifying tail is
    the seven is left alone."""
    import numpy as np

    from lrdoctor.detect.overfitting import DEFAULTS, _highest_last
    from lrdoctor.run import Series

    steps = np.arange(1.0, 9.0)
    train = Series("loss", steps, np.linspace(1.0, 0.1, 8))
    e = Series("eval_loss", steps, np.array([0.2, 0.5, 0.3, 0.45, 0.4, 0.6, 0.7, 0.65]))
    [f] = _highest_last(e, train, DEFAULTS)
    assert f.evidence["highest_last"] == 3 and f.evidence["eval_min"] == 0.2 and f.start_step == 1.0
    only_seven = Series("eval_loss", steps, np.array([0.2, 0.5, 0.3, 0.45, 0.7, 0.6, 0.4, 0.65]))
    assert _highest_last(only_seven, train, DEFAULTS) == []
