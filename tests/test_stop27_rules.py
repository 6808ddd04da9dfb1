"""Rules from the stop-27 study of the benchmark (issue 9), each on a real log or a really
trained run, with a twin:

- slow_progress (RL): a return that never rose above its start by more than its noise, with no
  upward trend, over a log that starts at the start of training.
"""

from __future__ import annotations

import numpy as np
import pytest
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


# -- studied fresh93-97 ---------------------------------------------------------------------------------

def test_a_pandas_markdown_table_with_its_blank_index_header_is_read():
    # pandas' DataFrame.to_markdown() leaves the index column's header cell blank: "|    |   eval_loss |"
    run = lrdoctor.read(real_log("fresh93/hfcard-infinitejoy-xlsr-odia/training_results.md"))
    assert run.series("eval_loss").values.tolist() == pytest.approx([3.35224, 1.33679, 0.737202, 0.658212, 0.658])
    assert run.series("eval_loss").steps.tolist() == pytest.approx([29.41, 58.82, 88.24, 117.65, 120])


def _with_flat_eval(src, tmp_path):
    """The same HF results table with its validation loss held at the first evaluation's value."""
    out = []
    for line in src.read_text().splitlines():
        cells = line.split("|")
        if len(cells) == 7 and cells[1].strip()[:1].isdigit():
            cells[4] = " 0.4598          "
        out.append("|".join(cells))
    p = tmp_path / "flat_eval.md"
    p.write_text("\n".join(out) + "\n")
    return p


def test_a_slow_training_loss_beside_an_evaluation_that_halved_is_learning(tmp_path):
    # XLS-R on Bashkir: training loss (dropout, SpecAugment) 1.48 -> 0.95 over 40k steps, validation
    # loss 0.46 -> 0.19 at every evaluation
    src = real_log("fresh93/hfcard-infinitejoy-xlsr-bashkir/training_results.md")
    assert "slow_progress" not in _warned(lrdoctor.diagnose(src))
    # the twin: the same training loss beside an evaluation that never moved is slow
    assert "slow_progress" in _warned(lrdoctor.diagnose(_with_flat_eval(src, tmp_path)))


def test_a_capital_l_is_a_loss_and_a_small_l_beside_a_split_word():
    from lrdoctor.names import tokens

    assert tokens("train_L") == ["train", "loss"] and tokens("last_L") == ["last", "loss"]
    assert tokens("g_trn_l") == ["g", "trn", "loss"]
    assert tokens("l") == ["l"]  # SB3's Monitor: the episode's length
    spark = lrdoctor.read(real_log("fresh97/spark-8-pretrain-log-example/pretrain_log.txt"))
    assert spark.meta.roles["loss"] == "last_L"


def test_a_gan_player_blown_up_by_decades_is_divergence(tmp_path):
    # PNGAN: generator loss 4260 at epoch 28, then 1e11-1e12 from epoch 73 to the end
    f = _warned(lrdoctor.diagnose(real_log("fresh94/garrickz2-9-pngan-ridnet-gloss-explodes/train.log"))).get("divergence")
    assert f is not None and f.evidence["metric"] == "g_trn_l" and f.start_step == 73


def _gan_losses(lr: float, steps: int = 48, seed: int = 0) -> list[tuple[int, float, float]]:
    """A tiny GAN on 1-D Gaussian data: a linear generator trained by SGD at ``lr`` on an MSE
    reconstruction term plus a small adversarial one, an MLP discriminator by Adam (BCE). At lr
    0.05 the game settles; at lr 1.5 the MSE step overshoots (above 2 / curvature) and the
    generator's weights blow up geometrically."""
    torch.manual_seed(seed)
    g = torch.nn.Linear(4, 1)
    d = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    og, od = torch.optim.SGD(g.parameters(), lr=lr), torch.optim.Adam(d.parameters(), lr=2e-3)
    bce = torch.nn.BCEWithLogitsLoss()
    rows = []
    for step in range(1, steps + 1):
        real = 3 + 0.5 * torch.randn(64, 1)
        fake = g(torch.randn(64, 4))
        ld = bce(d(real), torch.ones(64, 1)) + bce(d(fake.detach()), torch.zeros(64, 1))
        od.zero_grad()
        ld.backward()
        od.step()
        lg = ((fake - real) ** 2).mean() + 1e-3 * bce(d(fake), torch.ones(64, 1))
        og.zero_grad()
        lg.backward()
        og.step()
        if step % 4 == 0:
            rows.append((step, float(ld.detach()), float(lg.detach())))
    return rows


@pytest.mark.parametrize("lr, diverges", [(0.05, False), (1.5, True)])
def test_a_gan_generator_blown_up_by_decades_is_divergence_and_a_game_is_not(tmp_path, lr, diverges):
    p = tmp_path / "gan.csv"
    p.write_text("step,d_loss,g_loss\n" + "".join(f"{s},{a},{b}\n" for s, a, b in _gan_losses(lr)))
    run = lrdoctor.read(p)
    assert run.is_gan
    assert ("divergence" in _warned(lrdoctor.diagnose(run))) is diverges


def test_one_catastrophic_episode_in_a_monitor_mean_is_no_reversal():
    # Open-the-Chests: one episode of -1388 among +2..+5 drags SB3's 100-episode mean from +3.5 to
    # -10; the median episode never moves
    run = lrdoctor.read(real_log("fresh21/openthechests-monitor150-first1088/monitor.csv"))
    assert run.meta.roles["ep_return"] == "ep_rew_mean"
    assert "performance_reversal" not in _warned(lrdoctor.diagnose(run))
    # the twin: rl-zoo's A2C on LunarLanderContinuous, whose typical episode really got worse
    f = _warned(lrdoctor.diagnose(real_log("fresh21/rlzoo-a2c-lunarlandercont-monitor-first294/0.monitor.csv")))
    assert "performance_reversal" in f


def test_an_evaluation_frozen_from_the_first_report_with_no_training_loss_is_stuck(tmp_path):
    # distilbert at lr 0.1: validation loss 5.9506 at all 10 evaluations, "No log" for training
    src = real_log("fresh98/hfcard-evelyn18-becas2-lr0.1/training_results.md")
    f = _warned(lrdoctor.diagnose(src)).get("slow_progress")
    assert f is not None and f.evidence["value"] == pytest.approx(5.9506)
    # the twin: the same table with evaluations that move is no frozen model
    moving = tmp_path / "moving.md"
    lines, k = [], 0
    for line in src.read_text().splitlines():
        if line.startswith("| No log"):
            k += 1
            line = line.replace("5.9506", f"{5.9506 - 0.05 * k:.4f}")
        lines.append(line)
    moving.write_text("\n".join(lines) + "\n")
    assert "slow_progress" not in _warned(lrdoctor.diagnose(moving))


def test_a_high_stretch_of_noise_after_the_peak_is_no_reversal():
    # rl-replicas' PPO on Walker2d, epochs 715-749: returns 1.66e3-2.99e3 around a stable 2.25e3;
    # the reports after the smoothed peak have no downward trend
    run = lrdoctor.read(real_log("fresh96/rlrep-walker2d-ppo-s2-late/experiment.log"))
    assert "performance_reversal" not in _warned(lrdoctor.diagnose(run))
    # the twin: Dopamine's DQN on Breakout, whose return falls steadily after its peak
    twin = lrdoctor.diagnose(real_log("fresh73/dopamine-breakout-dqn-run1/breakout.json"))
    assert "performance_reversal" in _warned(twin)


def _random_label_history(steps: int = 400, every: int = 20, seed: int = 0) -> list[tuple[int, float, float]]:
    """A logistic regression trained by SGD on labels that are coin flips: nothing to learn, so its
    loss sits at ln 2 from the first report and its held-out accuracy at 1/2."""
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(2000, 20, generator=g), torch.randint(0, 2, (2000,), generator=g).float()
    xv, yv = torch.randn(400, 20, generator=g), torch.randint(0, 2, (400,), generator=g).float()
    model = torch.nn.Linear(20, 1)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    lossf = torch.nn.BCEWithLogitsLoss()
    rows, run = [], []
    for step in range(1, steps + 1):
        i = torch.randint(0, 2000, (64,), generator=g)
        loss = lossf(model(x[i]).squeeze(1), y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.append(float(loss))
        if step % every == 0:
            with torch.no_grad():
                acc = float(((model(xv).squeeze(1) > 0).float() == yv).float().mean())
            rows.append((step, float(np.mean(run)), acc))
            run = []
    return rows


def test_a_loss_that_came_down_to_ln2_is_no_chance_level(tmp_path):
    # PEFT P-tuning on MetaMathQA: train loss 0.946 -> 0.67 (near ln 2 by coincidence), valid
    # accuracy 0.06 -> 0.48 on a generative math benchmark
    report = lrdoctor.diagnose(real_log("fresh100/peft-metamath-ptuning-default/ptuning--llama-3.2-3B-default.json"))
    assert "slow_progress" not in _warned(report)
    # the twin: a classifier on coin-flip labels sits at ln 2 from its first report
    p = tmp_path / "coinflip.csv"
    p.write_text("step,loss,val_accuracy\n" + "".join(f"{s},{l:.4f},{a:.4f}\n" for s, l, a in _random_label_history()))
    f = _warned(lrdoctor.diagnose(p)).get("slow_progress")
    assert f is not None and f.evidence["num_classes"] == 2


def test_spacy_train_table_is_read_and_its_step_0_sum_left_out():
    # spaCy v3's "E  #  LOSS TOK2VEC  LOSS NER  ENTS_F ..." table: each LOSS column sums a component's
    # loss since the last evaluation, so the row at step 0 (one batch) is no level for the later sums
    run = lrdoctor.read(real_log("fresh17/spacy-issue7083-ner/issue7083.log"))
    loss = run.series("loss")
    assert loss.steps.tolist() == [200, 400, 600, 800, 1000]
    assert loss.values[0] == pytest.approx(35.70 + 2163.45)  # the components' sum, as spaCy optimises it
    assert run.series("epoch") is not None
    assert "divergence" not in _warned(lrdoctor.diagnose(run))  # (40 at step 0 -> 2199 is no blow-up)
    # the same table behind a custom asctime ("02/18-02:52:32.282 ") reads the same way
    ts = lrdoctor.read(real_log("fresh16/spacy-issue12383-trf-ner/issue12383.log"))
    assert ts.series("loss").steps.tolist()[:2] == [800, 1600]


def test_a_value_printed_as_a_one_element_list_keeps_its_nan(tmp_path):
    # TensorFlow DeepLab: "Total loss is :[0.140642926]" ... then "Total loss is :[nan]"
    report = lrdoctor.diagnose(real_log("fresh103/tfmodels-8096-deeplab-flat-then-nan/train.log"))
    assert "nonfinite" in _warned(report)
    # the twin: the same prints without the NaN are read as finite values only
    p = tmp_path / "finite.log"
    p.write_text("".join(f"Total loss is :[{0.14 - 0.001 * i:.9f}]\n" for i in range(8)))
    run = lrdoctor.read(p)
    assert run.series("loss").values.size == 8 and "nonfinite" not in _warned(lrdoctor.diagnose(run))


def test_a_keras_card_with_top_k_columns_is_read():
    # "| Train Loss | Train Accuracy | Train Top-3-accuracy | Validation Loss | ..." (a Keras-callback HF card)
    run = lrdoctor.read(real_log("fresh101/hfcard-philschmid-vit-eurosat-keras/training_results.md"))
    assert run.series("loss").values.tolist() == pytest.approx([0.4692, 0.0998, 0.0517, 0.0309, 0.0218])
    assert run.series("eval_loss").values[-1] == pytest.approx(0.0440)


def test_evaluations_alone_that_creep_up_after_their_minimum_are_overfitting():
    # DistilBERT QA on becas, training loss "No log": validation loss 4.53 at epoch 3, then above
    # it at all 7 later evaluations, 5.98 at the end (+32%)
    f = _warned(lrdoctor.diagnose(real_log("fresh102/hfcard-evelyn18-becas-3/Evelyn18_distilbert-base-uncased-becas-3_README.md")))
    assert "overfitting" in f and "divergence" not in f
    assert f["overfitting"].evidence["eval_min"] == pytest.approx(4.5283)
    # the twin: the same recipe whose validation loss falls at every evaluation
    healthy = _warned(lrdoctor.diagnose(real_log("fresh102/hfcard-evelyn18-becas-6/Evelyn18_distilbert-base-uncased-becas-6_README.md")))
    assert "overfitting" not in healthy and "divergence" not in healthy
