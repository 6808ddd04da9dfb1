"""Three rules of stop 72, each on really trained runs, their twins and real logs read in place.

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
fell: overfitting, though no rise is monotone and the curve's own scatter hides the GL rule's rise.

**slow_progress when the macro recall is exactly 1/K.** A model that answers one class for every
input scores a macro-averaged recall of exactly 1/K, whatever the class balance, while its accuracy
is that class's share and moves when the class it answers changes."""

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
    """40% noisy labels over 60 epochs, evaluated every 10: the model starts to fit them and its
    held-out loss moves to a worse level, but the 60-digit evaluations scatter (one of the last
    three dips), so no rule that needs a rise at each evaluation or a rise past the scatter sees it,
    and the training loss (1.34 -> 0.46) is no memorised set; the last three are still the run's
    three highest."""
    p, ev, tr = _subset_evaluations(tmp_path, noise=0.4, every=10, seed=4)
    best = min(ev[:3])
    assert min(ev[3:]) > max(ev[:3]) and ev[-1] > 1.1 * best and tr[-1] < tr[0]  # the shape, read from the log
    assert not ev[3] < ev[4] < ev[5]  # not a rise at each evaluation
    report = lrdoctor.diagnose(p)
    [f] = [f for f in report.findings if f.kind == "overfitting"]
    assert f.severity.value == "warning" and f.evidence["highest_last"] == 3
    assert f.evidence["eval_min"] == pytest.approx(best)
    assert f.start_step == 20.0 and "3 highest" in f.summary


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


def _dead_network_run(tmp_path, *, kill_lr, seed=1):
    """A 64-32-10 MLP fitted to the digits by SGD on the squared error to one-hot targets (lr 0.5),
    its very first step taken at ``kill_lr``: at 300 that step kills every ReLU, so the network
    answers from its output bias alone, one class for every input, and that class changes as the
    bias settles; at 200 some units survive and it learns, slowly. Evaluated after each of 8 epochs
    on an unbalanced held-out set (classes 0-4 whole, a third of 5-9): ``epoch,loss,eval_loss,
    eval_accuracy,eval_recall`` with scikit-learn's macro recall, as a Trainer's compute_metrics
    prints it."""
    from sklearn.metrics import recall_score

    x, y, model = digits_mlp(seed)
    keep = torch.tensor([i for i in range(1400, len(y)) if y[i] < 5 or i % 3 == 0])
    ex, ey = x[keep], y[keep]
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    rows = ["epoch,loss,eval_loss,eval_accuracy,eval_recall"]
    for epoch in range(1, 9):
        losses = []
        for i in range(0, 1400, 50):
            for group in opt.param_groups:
                group["lr"] = kill_lr if (epoch, i) == (1, 0) else 0.5
            out = model(x[i:i + 50])
            loss = torch.nn.functional.mse_loss(out, torch.nn.functional.one_hot(y[i:i + 50], 10).float())
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        with torch.no_grad():
            out = model(ex)
            eval_loss = torch.nn.functional.mse_loss(out, torch.nn.functional.one_hot(ey, 10).float()).item()
            pred = out.argmax(1).numpy()
        acc = float((pred == ey.numpy()).mean())
        recall = recall_score(ey.numpy(), pred, average="macro", zero_division=0)
        rows.append(f"{epoch},{sum(losses) / len(losses):.4f},{eval_loss:.4f},{acc:.4f},{recall:.4f}")
    p = tmp_path / "dead.csv"
    p.write_text("\n".join(rows) + "\n")
    return p, [r.split(",") for r in rows[1:]]


def test_a_network_that_answers_one_class_is_slow_progress_by_its_macro_recall(tmp_path):
    """The dead network: macro recall 0.1 = 1/10 at all 8 evaluations while its accuracy moves with
    the class it answers (and its squared error settles to the prior's): a slow_progress error that
    names K, and no performance_reversal of that accuracy (nothing learned was undone)."""
    p, rows = _dead_network_run(tmp_path, kill_lr=300.0)
    assert {r[4] for r in rows} == {"0.1000"} and len({r[3] for r in rows}) > 1  # read from the log
    report = lrdoctor.diagnose(p)
    [f] = [f for f in report.findings if f.kind == "slow_progress"]
    assert f.severity.value == "error" and f.evidence["num_classes"] == 10 and f.evidence["rule"] == "macro recall exactly 1/K"
    assert not [f for f in report.findings if f.kind == "performance_reversal"]


def test_a_network_that_learns_slowly_is_no_constant_predictor(tmp_path):
    """Twin: the first step at 200 leaves units alive; the macro recall moves (0.07 -> 0.20) and no
    slow_progress error is reported."""
    p, rows = _dead_network_run(tmp_path, kill_lr=200.0, seed=0)
    assert len({r[4] for r in rows}) > 3
    assert not [f for f in lrdoctor.diagnose(p).findings if f.kind == "slow_progress" and f.severity.value == "error"]


@pytest.mark.parametrize("rel, k", [
    ("fresh1196/narkantak-intent-classification-bert-large-ashuv5/training_results.md", 6),
    ("fresh245/xlmr-large-trac-ds/training_results.md", 3),
])
def test_real_cards_with_a_macro_recall_of_one_over_k_are_slow_progress(rel, k):
    """An intent BERT (recall 0.1667 at all nine evaluations, accuracy 0.12-0.22) and an XLM-R on
    TRAC (recall 0.3333 at all three), read in place."""
    [f] = [f for f in lrdoctor.diagnose(LOGS / rel).findings if f.kind == "slow_progress"]
    assert f.severity.value == "error" and f.evidence["num_classes"] == k
