"""Readers and rules from the stop-21 study of the benchmark (issue 9), each on a real public log
or a really trained run:

- image restoration's PSNR/SSIM and segmentation's Dice are higher-is-better evaluation figures,
  and BasicSR's ``l_pix`` is its training loss (BasicSR and NAFNet logs were refused before);
- a return frozen at a negative value, its lowest, on the last 5+ reports is an agent stuck at the
  reward's floor (``slow_progress`` warning); a frozen positive return (a solved task) is not;
- HF Trainer's results table (model cards, notebooks) carries the last logged training loss onto
  every evaluation row and writes "No log" before the first: the carried repeats are one
  measurement, not a frozen loss, and a "No log" row still holds its evaluation;
- printed torch scalars (``train_epoch_loss=tensor(21.3289, device='cuda:0')``, PEFT's example
  loops) are numbers, and a loss the log shows to be a per-token cross-entropy (a perplexity equal
  to exp(loss)) gets ``initial_loss_anomaly`` above 1.5 ln(2^18) without a vocabulary size;
- a Jupyter table copied as text (tab-separated, "Step<TAB>Training Loss") is read;
- overfitting from accuracies alone (rasbt's notebooks print no validation loss): the training
  accuracy still rises over the second half while the validation accuracy has stopped, 10+ points
  below it; PyTorch-Ignite's "Validation Results - Epoch: 1  Avg accuracy: ..." lines are the
  validation's;
- a loss spike that rises above the first report of a log that starts at step 1 is a warning:
  the update made the model worse than at initialisation (Megatron's T5-11B test);
- a segment holding several "name value" pairs with no separator ("episode reward -1074.58 actor
  loss 0.00") is read pair by pair;
- a return logged from step 0 (the untrained policy) whose every later report is below it is a
  ``performance_reversal``: training made the policy worse than untrained (Tianshou's DDPG on
  Ant); Tianshou's ``env_step`` is the step axis;
- "Epoch: 001/040 | Valid. Acc.: 33.3% | Loss: 1.714" (a split leading the metrics after the step
  fields) is the validation's loss; "Epoch 3 | loss 0.5 | val_acc 0.8" keeps its training loss;
- a loss computed in bfloat16 repeats on its coarse grid while the model learns: equal prints are
  no frozen model; skorch's checkpoint column ("cp", "+" or blank) is a marker;
- an HF card's "- learning_rate: 2e-05" bullets are the run's config (they made short results tables
  lose their step axis), and a table header may mix spaced names with identifiers holding digits
  ("Rouge1", "F1"); YOLOv3's "0/299|7.17G|..." results rows are read;
- a non-finite gradient norm at the last report is reported: its row's loss was computed before the
  update, so nothing shows the step was skipped (ms-swift); an earlier NaN of the same final run of
  NaNs followed by a finite loss shows the scaler skipping (xtuner);
- YOLO consoles saved from notebooks, whose progress bars lost their blocks (": 100% 8/8 [00:08<...]"),
  and CenterTrack's "tot" total loss are read;
- a loss printed to 3 digits that repeats while the perplexity printed beside it moves is rounded,
  not frozen (GluonNLP's AWD-LSTM); "[Epoch 44 Batch 200/372] current loss 5.54, ppl 254.05" and a
  full-width comma are read; fastai's tab-separated table with its "00:03" time cells is read.
"""

import numpy as np
import pytest
import torch

import lrdoctor
from bench_logs import real_log
from lrdoctor.names import resolve_aliases

torch.set_num_threads(1)


def _warned(report) -> dict:
    return {f.kind: f for f in report.findings if f.severity.rank >= 1}


def _denoiser_log(tmp_path, lr: float):
    """A tiny linear denoiser on scikit-learn's digits, trained for real; every 40 steps a
    BasicSR-style line pair: the training line with ``l_pix``, then the validation PSNR."""
    from sklearn.datasets import load_digits

    torch.manual_seed(0)
    x = torch.tensor(load_digits().data / 16.0, dtype=torch.float32)
    noisy = (x + 0.3 * torch.randn_like(x)).clamp(0, 1)
    tr, va = slice(0, 1400), slice(1400, None)
    model = torch.nn.Linear(64, 64)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    lines = []
    for it in range(1, 401):
        idx = torch.randint(0, 1400, (32,))
        loss = torch.nn.functional.l1_loss(model(noisy[tr][idx]), x[tr][idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if it % 40 == 0:
            with torch.no_grad():
                mse = torch.mean((model(noisy[va]).clamp(0, 1) - x[va]) ** 2).item()
            lines.append(f"<epoch:  1, iter:  {it:6d}, lr:{lr:.3e}> l_pix: {loss.item():.4e} ")
            lines.append(f"# Validation # psnr: {10 * np.log10(1.0 / mse):.4f}")
    path = tmp_path / "train_denoise.log"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_psnr_is_an_evaluation_figure_and_l_pix_the_loss(tmp_path):
    run = lrdoctor.read(_denoiser_log(tmp_path, 1e-2))
    assert run.meta.roles.get("loss") == "l_pix"
    assert run.meta.roles.get("eval_accuracy") == "psnr"
    psnr = run.series("eval_accuracy").finite().values
    assert psnr[-1] > psnr[0]  # the model learned: its PSNR rose
    assert "performance_reversal" not in _warned(lrdoctor.diagnose(run))


def test_a_dice_loss_is_no_task_metric():
    roles = resolve_aliases(["epoch", "dice_loss", "val_dice"])
    assert roles["loss"][0] == "dice_loss"
    assert roles["eval_accuracy"][0] == "val_dice"
    assert "task_metric" not in roles


def test_real_basicsr_and_nafnet_logs_are_read():
    sr = lrdoctor.read(real_log("fresh20/basicsr-issue192-psnr/issue192.log"))
    assert sr.meta.roles.get("loss") == "l_pix"
    assert sr.series("loss").finite().values[0] == pytest.approx(6.0063e-02)
    naf = lrdoctor.read(real_log("fresh20/nafnet-issue64-psnrdrop/issue64.log"))
    assert naf.meta.roles.get("eval_accuracy") == "psnr"
    assert naf.series("eval_accuracy").finite().values.tolist() == pytest.approx([25.4206, 23.9232, 24.7066, 23.6631])


def _sb3_monitor(tmp_path, env_id: str, steps: int):
    """An SB3 PPO run whose Monitor writes one row per episode (monitor.csv)."""
    pytest.importorskip("stable_baselines3", reason="the rl extra (pip install -e '.[rl]') is not installed")
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env(env_id, n_envs=1, seed=0, monitor_dir=str(tmp_path))
    PPO("MlpPolicy", env, n_steps=256, seed=0, verbose=0, device="cpu").learn(steps)
    return next(tmp_path.glob("*monitor.csv"))


def test_an_agent_that_never_leaves_the_reward_floor_is_slow_progress(tmp_path):
    # MountainCar pays -1 per step until the goal: a fresh PPO never reaches it in 2k steps,
    # so every episode times out at -200
    stuck = lrdoctor.diagnose(_sb3_monitor(tmp_path / "mc", "MountainCar-v0", 2048))
    assert set(stuck.run.series("ep_return").finite().values.tolist()) == {-200.0}
    f = _warned(stuck)["slow_progress"]
    assert f.evidence["value"] == -200.0 and f.evidence["points"] >= 5
    # CartPole pays +1 per step: its returns vary and rise, no floor
    learner = lrdoctor.diagnose(_sb3_monitor(tmp_path / "cp", "CartPole-v1", 2048))
    assert "slow_progress" not in _warned(learner)


def test_a_return_frozen_at_a_positive_ceiling_or_above_its_lowest_is_not_the_floor(tmp_path):
    solved = tmp_path / "solved.csv"
    solved.write_text("episode,reward\n" + "".join(f"{i},{r}\n" for i, r in enumerate([150, 320, 500, 500, 500, 500, 500, 500])))
    assert "slow_progress" not in _warned(lrdoctor.diagnose(solved))
    settled = tmp_path / "settled.csv"  # a goal task at -12 each episode after a worse start: solved, not stuck
    settled.write_text("episode,reward\n" + "".join(f"{i},{r}\n" for i, r in enumerate([-50, -50, -31, -12, -12, -12, -12, -12, -12])))
    assert "slow_progress" not in _warned(lrdoctor.diagnose(settled))


def test_real_baselines_pong_stuck_at_minus_21():
    f = _warned(lrdoctor.diagnose(real_log("fresh6/text-baselines-issue697-pong-dqn-stuck-21/issue697.log")))["slow_progress"]
    assert f.evidence["value"] == -21.0 and f.start_step == 7600


def _hf_card_table(tmp_path, logging_steps: int, lr: float = 1e-3):
    """A real HF Trainer run (a small MLP on digits), evaluated every 10 steps, and the results
    table its model card would print (``transformers.modelcard``'s own functions)."""
    pytest.importorskip("transformers", reason="the hf extra is not installed")
    from sklearn.datasets import load_digits
    from transformers import Trainer, TrainingArguments
    from transformers.modelcard import make_markdown_table, parse_log_history

    d = load_digits()
    data = [{"x": torch.tensor(a / 16.0, dtype=torch.float32), "labels": int(t)} for a, t in zip(d.data, d.target)]

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))

        def forward(self, x, labels=None):
            logits = self.net(x)
            return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}

    torch.manual_seed(0)
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=150, per_device_train_batch_size=32,
                             learning_rate=lr, eval_strategy="steps", eval_steps=10, logging_steps=logging_steps,
                             save_strategy="no", report_to=[], use_cpu=True, disable_tqdm=True, seed=0)
    trainer = Trainer(model=MLP(), args=args, train_dataset=data[:1400], eval_dataset=data[1400:])
    trainer.train()
    _, lines, _ = parse_log_history(trainer.state.log_history)
    path = tmp_path / "README.md"
    path.write_text("### Training results\n\n" + make_markdown_table(lines) + "\n")
    return path, lines


def test_hf_results_table_carries_the_training_loss_and_it_is_not_frozen(tmp_path):
    path, lines = _hf_card_table(tmp_path, logging_steps=50)
    assert lines[0]["Training Loss"] == "No log" and lines[4]["Training Loss"] == lines[8]["Training Loss"] != lines[9]["Training Loss"]
    run = lrdoctor.read(path)
    logged = [v for v in run.series("loss").finite().values]
    assert logged == pytest.approx([lines[i]["Training Loss"] for i in (4, 9, 14)], abs=1e-4)  # steps 50, 100, 150 (printed to 4 decimals)
    assert run.series("eval_loss").finite().values.size == len(lines)  # "No log" rows keep their evaluation
    assert "slow_progress" not in _warned(lrdoctor.diagnose(run))


def test_hf_results_table_logged_at_every_evaluation_keeps_every_row(tmp_path):
    path, lines = _hf_card_table(tmp_path, logging_steps=10)
    run = lrdoctor.read(path)
    assert run.series("loss").finite().values.size == len(lines)


def test_real_hf_card_with_no_log_rows_and_a_carried_loss_is_healthy():
    rep = lrdoctor.diagnose(real_log("fresh29/hfcard-xlsr53-turkish-demo-1ucky40nc3/training_results.md"))
    assert rep.run.series("loss").finite().values.tolist() == [3.1829, 0.2215, 0.1009]
    assert rep.run.series("eval_loss").finite().values[0] == 3.5932  # the first "No log" row
    assert not [f for f in rep.findings if f.severity.rank >= 2]


def _markov_text(vocab: int = 64, length: int = 6000):
    """Token ids drawn from a fixed random Markov chain: (inputs, next tokens, vocabulary size)."""
    g = torch.Generator().manual_seed(0)
    trans = torch.softmax(torch.randn(vocab, vocab, generator=g) * 3, dim=1)
    seq = [0]
    for _ in range(length):
        seq.append(int(torch.multinomial(trans[seq[-1]], 1, generator=g)))
    return torch.tensor(seq[:-1]), torch.tensor(seq[1:]), vocab


def _bigram_lm(tmp_path, name: str, init_scale: float, print_batches: bool = False):
    """A bigram LM (vocabulary 64) trained on a random Markov chain, printing per epoch as PEFT's
    examples do (``f"{epoch=}: {train_ppl=} {train_epoch_loss=}"``: tensors printed by repr).
    ``init_scale`` multiplies the output layer's initial weights: large logits at init."""
    x, y, vocab = _markov_text()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Embedding(vocab, 16), torch.nn.Linear(16, vocab))
    with torch.no_grad():
        model[1].weight.mul_(init_scale)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    lines = []
    for epoch in range(8):
        tot, n = 0.0, 0
        for b, i in enumerate(range(0, x.numel() - 1100, 100)):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 100]), y[i:i + 100])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if print_batches and epoch == 0 and b % 5 == 0:
                lines.append(f"loss at batch {b} = {loss!r}")
            tot, n = tot + loss.detach(), n + 1
        train_epoch_loss = tot / n
        with torch.no_grad():
            eval_epoch_loss = torch.nn.functional.cross_entropy(model(x[-1000:]), y[-1000:])
        train_ppl, eval_ppl = torch.exp(train_epoch_loss), torch.exp(eval_epoch_loss)
        if not print_batches:
            lines.append(f"{epoch=}: {train_ppl=} {train_epoch_loss=} {eval_ppl=} {eval_epoch_loss=}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_printed_tensors_are_read_and_a_cross_entropy_above_any_vocabulary_is_an_initial_anomaly(tmp_path):
    bad = _bigram_lm(tmp_path, "bad_init.log", init_scale=40.0)
    assert "tensor(" in bad.read_text()
    rep = lrdoctor.diagnose(bad)
    first = rep.run.series("loss").finite().values[0]
    assert first > 1.5 * np.log(2 ** 18)  # the first epoch's mean cross-entropy: worse than any uniform guess
    f = _warned(rep)["initial_loss_anomaly"]
    assert f.evidence["first_loss"] == pytest.approx(first) and f.evidence["num_classes"] == 2 ** 18
    ok = lrdoctor.diagnose(_bigram_lm(tmp_path, "ok_init.log", init_scale=1.0))
    assert ok.run.series("loss").finite().values[0] < np.log(64) and "initial_loss_anomaly" not in _warned(ok)


def test_a_loss_without_a_perplexity_is_not_judged_against_a_vocabulary(tmp_path):
    bad = _bigram_lm(tmp_path, "bad_init.log", init_scale=40.0)
    no_ppl = tmp_path / "no_ppl.log"
    no_ppl.write_text("".join(line.split(" train_ppl=")[0] + " train_epoch_loss=" + line.split("train_epoch_loss=")[1].split(" eval_ppl")[0] + "\n"
                              for line in bad.read_text().splitlines()))
    rep = lrdoctor.diagnose(no_ppl)
    assert rep.run.series("loss").finite().values.size == 8
    assert "initial_loss_anomaly" in rep.coverage.skipped  # a summed or regression loss may start anywhere


def test_loss_at_batch_lines_with_printed_tensors(tmp_path):
    path = _bigram_lm(tmp_path, "batches.log", init_scale=1.0, print_batches=True)
    assert "grad_fn=<NllLossBackward0>" in path.read_text()
    run = lrdoctor.read(path)
    assert run.steps[:3].tolist() == [0, 5, 10]
    assert run.series("loss").finite().values.size == len(path.read_text().splitlines())


def test_a_jupyter_table_copied_as_tab_separated_text(tmp_path):
    _, lines = _hf_card_table(tmp_path, logging_steps=10)
    table = tmp_path / "copied.txt"
    # as pasted from a notebook: the Trainer's banner, then the HTML table copied as text
    table.write_text("***** Running training *****\n  Num examples = 1400\n  Num Epochs = 4\n"
                     "Step\tTraining Loss\tValidation Loss\n" + "".join(
        f"{r['Step']}\t{r['Training Loss']:.6f}\t{r['Validation Loss']:.6f}\n" for r in lines))
    run = lrdoctor.read(table)
    assert run.meta.roles.get("loss") == "training_loss" and run.meta.roles.get("eval_loss") == "validation_loss"
    assert run.steps.tolist() == [r["Step"] for r in lines]


def test_real_peft_prefix_tuning_log_with_tensors():
    rep = lrdoctor.diagnose(real_log("fresh26/peft-prefix-clm-bloomz/prefix_tuning_clm.log"))
    assert rep.run.series("loss").finite().values[0] == pytest.approx(21.3289)
    assert "initial_loss_anomaly" in _warned(rep)


def _rasbt_style_run(tmp_path, name: str, n_train: int, input_noise: float, epochs: int = 30):
    """An MLP on digits printed as rasbt's deeplearning-models notebooks print (cost per batch,
    then "Train ACC: .. | Validation ACC: .." per epoch, no validation loss). ``input_noise``
    adds fixed Gaussian noise to every image: a task the model can memorise but not generalise."""
    from sklearn.datasets import load_digits

    d = load_digits()
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(d.target), generator=g)
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)[perm]
    y = torch.tensor(d.target)[perm]
    x = x + input_noise * torch.randn(x.shape, generator=g)
    xt, yt, xv, yv = x[:n_train], y[:n_train], x[1400:], y[1400:]
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lines = []
    for ep in range(1, epochs + 1):
        for b in range(0, n_train, 32):
            loss = torch.nn.functional.cross_entropy(model(xt[b:b + 32]), yt[b:b + 32])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if b == 0:
                lines.append(f"Epoch: {ep:03d}/{epochs:03d} | Batch 000/{n_train // 32:03d} | Cost: {loss.item():.4f}")
        with torch.no_grad():
            tr = (model(xt).argmax(1) == yt).float().mean().item() * 100
            va = (model(xv).argmax(1) == yv).float().mean().item() * 100
        lines += [f"Epoch: {ep:03d}/{epochs:03d}", f"Train ACC: {tr:.2f} | Validation ACC: {va:.2f}"]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_training_accuracy_that_keeps_rising_over_a_stalled_validation_is_overfitting(tmp_path):
    rep = lrdoctor.diagnose(_rasbt_style_run(tmp_path, "memorise.log", n_train=600, input_noise=0.6))
    assert rep.run.series("eval_loss") is None  # accuracies only
    f = _warned(rep)["overfitting"]
    assert f.evidence["accuracy_gap"] >= 0.1 and f.evidence["train_last"] > 95
    clean = lrdoctor.diagnose(_rasbt_style_run(tmp_path, "clean.log", n_train=1400, input_noise=0.0))
    assert "overfitting" not in _warned(clean)


def test_real_rasbt_alexnet_accuracy_gap():
    f = _warned(lrdoctor.diagnose(real_log("fresh27/rasbt-alexnet-cifar10-constbatch/train_log.txt")))["overfitting"]
    assert f.evidence["accuracy_gap"] > 0.2


def test_ignite_results_lines_are_split_by_their_lead():
    rep = lrdoctor.diagnose(real_log("fresh27/ignite-textcnn-imdb/train_log.txt"))
    assert rep.run.meta.roles["eval_loss"] == "validation_avg_loss"
    assert rep.run.series("eval_loss").finite().values[:3].tolist() == [0.35, 0.30, 0.30]
    assert "overfitting" in _warned(rep)


def _digits_full_batch(tmp_path, name: str, lr: float, *, adam: bool = False, dtype=torch.float32,
                       hidden: int = 64, steps: int = 40):
    """A digits MLP trained full-batch (SGD, or Adam) in ``dtype``, the loss printed to 4 decimals
    at every step from step 1."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)).to(dtype)
    opt = (torch.optim.Adam if adam else torch.optim.SGD)(model.parameters(), lr=lr)
    lines = []
    for step in range(1, steps + 1):
        loss = torch.nn.functional.cross_entropy(model(x.to(dtype)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        lines.append(f"step {step} loss {loss.item():.4f}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_early_spike_above_the_initial_loss_is_a_warning(tmp_path):
    # Adam at lr 0.1 overshoots in its first steps: 2.31 at step 1, ~7.5 at step 4, then it learns
    rep = lrdoctor.diagnose(_digits_full_batch(tmp_path, "hot.log", lr=0.1, adam=True, hidden=128, steps=120))
    x = rep.run.series("loss").finite().values
    assert x[:6].max() > 2 * x[0] and x[-1] < 0.1 * x[0]
    f = _warned(rep)["loss_spike"]
    assert f.evidence["above_initial"] == pytest.approx(x[0]) and f.evidence["largest"]["loss"] < 3 * f.evidence["largest"]["trend"]
    assert "loss_spike" not in _warned(lrdoctor.diagnose(_digits_full_batch(tmp_path, "calm.log", lr=0.02, adam=True, hidden=128, steps=120)))


def test_real_megatron_t5_early_spike_is_a_warning():
    f = _warned(lrdoctor.diagnose(real_log("fresh15/megatron-t5-11b-early-spike/golden_values_dev_dgx_h100.json")))["loss_spike"]
    assert f.evidence["above_initial"] == pytest.approx(10.74903)


def test_name_value_pairs_without_separators(tmp_path):
    path = tmp_path / "ddpg.log"
    path.write_text("".join(f"Epoch {e}: episode reward {r} actor loss {a:.2f}, critic loss {c}\n"
                            for e, (r, a, c) in enumerate([(-1074.58, 0.0, 44.02), (-1740.12, 0.01, 44.02), (-1327.09, 0.02, 44.01)])))
    run = lrdoctor.read(path)
    assert run.series("ep_return").finite().values.tolist() == [-1074.58, -1740.12, -1327.09]
    assert run.series("actor_loss").finite().values.tolist() == [0.0, 0.01, 0.02]
    assert run.is_rl


def _cartpole_evals(tmp_path, name: str, negate_reward: bool):
    """SB3 PPO on CartPole, its deterministic policy evaluated on the true reward at step 0 and
    every 512 steps, written as Tianshou's benchmark CSVs are (``env_step,rew``). With
    ``negate_reward`` the agent is trained on -1 per step: it learns to fall at once."""
    pytest.importorskip("stable_baselines3", reason="the rl extra (pip install -e '.[rl]') is not installed")
    import gymnasium as gym
    from stable_baselines3 import PPO

    class Negated(gym.RewardWrapper):
        def reward(self, r):
            return -r

    def evaluate(model) -> float:
        env, total = gym.make("CartPole-v1"), []
        for i in range(5):
            obs, _ = env.reset(seed=100 + i)
            done, ret = False, 0.0
            while not done:
                action, _ = model.predict(obs, deterministic=True)
                obs, r, term, trunc, _ = env.step(action)
                ret, done = ret + r, term or trunc
            total.append(ret)
        return float(np.mean(total))

    env = gym.make("CartPole-v1")
    model = PPO("MlpPolicy", Negated(env) if negate_reward else env, n_steps=256, seed=0, verbose=0, device="cpu")
    rows = [(0, evaluate(model))]
    for k in range(1, 9):
        model.learn(512, reset_num_timesteps=False)
        rows.append((k * 512, evaluate(model)))
    path = tmp_path / name
    path.write_text("env_step,rew\n" + "".join(f"{st},{r}\n" for st, r in rows))
    return path


def test_a_policy_worse_than_untrained_at_every_later_evaluation_is_a_reversal(tmp_path):
    rep = lrdoctor.diagnose(_cartpole_evals(tmp_path, "negated.csv", negate_reward=True))
    assert rep.run.meta.step_column == "env_step" and rep.run.steps[1] == 512
    v = rep.run.series("ep_return").finite().values
    assert v[1:].max() < v[0]
    f = _warned(rep)["performance_reversal"]
    assert f.evidence["peak_step"] == 0 and f.start_step == 512
    learner = lrdoctor.diagnose(_cartpole_evals(tmp_path, "true.csv", negate_reward=False))
    assert "performance_reversal" not in _warned(learner)


def test_real_tianshou_ant_ddpg_worse_than_untrained():
    f = _warned(lrdoctor.diagnose(real_log("fresh28/tianshou-ant-ddpg-10seeds/test_rew_10seeds.csv")))["performance_reversal"]
    assert f.evidence["peak_step"] == 0 and f.evidence["peak"] == pytest.approx(990.3775) and f.evidence["end"] < 0  # "rew", the mean of the seeds


def test_a_split_leading_the_metrics_after_the_epoch_scopes_the_line(tmp_path):
    path = tmp_path / "rasbt.log"
    path.write_text("".join(f"***Epoch: {e:03d}/003 | Train. Acc.: {ta}% | Loss: {tl}\n***Epoch: {e:03d}/003 | Valid. Acc.: {va}% | Loss: {vl}\n"
                            for e, ta, tl, va, vl in [(1, 32.4, 1.743, 33.3, 1.714), (2, 41.4, 1.555, 42.1, 1.538), (3, 48.2, 1.380, 49.0, 1.373)]))
    run = lrdoctor.read(path)
    assert run.series("loss").finite().values.tolist() == [1.743, 1.555, 1.380]
    assert run.series("eval_loss").finite().values.tolist() == [1.714, 1.538, 1.373]
    keras_like = tmp_path / "custom.log"
    keras_like.write_text("Epoch 1 | loss 0.9 | val_acc 0.61\nEpoch 2 | loss 0.7 | val_acc 0.66\nEpoch 3 | loss 0.5 | val_acc 0.70\n")
    run = lrdoctor.read(keras_like)
    assert run.series("loss").finite().values.tolist() == [0.9, 0.7, 0.5] and run.series("eval_loss") is None


def test_real_rasbt_grouped_alexnet_reads_its_validation_loss():
    rep = lrdoctor.diagnose(real_log("fresh27/rasbt-alexnet-grouped-cifar10/train_log.txt"))
    assert rep.run.series("eval_loss").finite().values[-1] == pytest.approx(0.997)
    assert "overfitting" in _warned(rep)


def test_a_bfloat16_loss_that_repeats_on_its_grid_is_not_frozen(tmp_path):
    run = lrdoctor.read(_digits_full_batch(tmp_path, "bf16.log", lr=0.05, dtype=torch.bfloat16))
    x = run.series("loss").finite().values
    assert x[-1] < x[0] and (x[-3:] == x[-1]).all()  # learning, yet the last prints are equal
    assert "slow_progress" not in _warned(lrdoctor.diagnose(run))
    frozen = lrdoctor.diagnose(_digits_full_batch(tmp_path, "lr0.log", lr=0.0))
    assert _warned(frozen)["slow_progress"].severity.rank >= 2  # a float32 loss that never moves is frozen


def test_skorch_checkpoint_column(tmp_path):
    path = tmp_path / "history.txt"
    path.write_text("  epoch    train_loss    valid_acc    valid_loss    cp     dur\n"
                    "-------  ------------  -----------  ------------  ----  ------\n"
                    "      1        0.8220       0.9150        0.2294     +  1.7953\n"
                    "      2        0.4949       0.9346        0.2116     +  0.9276\n"
                    "      3        0.4873       0.8105        0.4593        0.9309\n"
                    "      4        0.5291       0.9477        0.1725     +  0.9292\n")
    run = lrdoctor.read(path)
    assert run.series("eval_loss").finite().values.tolist() == [0.2294, 0.2116, 0.4593, 0.1725]
    assert "cp" not in run.metrics


def test_card_bullets_are_config_and_short_tables_keep_their_steps(tmp_path):
    _, lines = _hf_card_table(tmp_path, logging_steps=50)
    rows = lines[-4:]  # a short table: four evaluations
    card = tmp_path / "card.md"
    card.write_text("### Training hyperparameters\n\nThe following hyperparameters were used during training:\n"
                    "- learning_rate: 0.001\n- train_batch_size: 32\n- seed: 0\n- lr_scheduler_type: linear\n- training_steps: 150\n\n"
                    "### Training results\n\n| Training Loss | Epoch | Step | Validation Loss | F1 |\n|:---:|:---:|:---:|:---:|:---:|\n"
                    + "".join(f"| {r['Training Loss']:.4f} | {r['Epoch']} | {r['Step']} | {r['Validation Loss']:.4f} | 0.5 |\n" for r in rows))
    run = lrdoctor.read(card)
    assert run.meta.step_column == "step" and run.steps.tolist() == [r["Step"] for r in rows]
    assert run.config["learning_rate"] == 0.001 and run.config["lr_scheduler_type"] == "linear"
    assert "lr" not in run.meta.roles  # a setting is no LR series
    assert run.series("eval_loss").finite().values.size == 4


def test_real_cards_with_rouge_and_f1_columns():
    run = lrdoctor.read(real_log("fresh32/hfcard-bert-0505-2-valloss-rise/training_results.md"))
    assert run.series("eval_loss").finite().values.tolist() == [0.3634, 0.3648, 0.3978, 0.4277]
    rep = lrdoctor.diagnose(real_log("fresh32/hfcard-t5small-giga-nan/training_results.md"))
    assert _warned(rep)["nonfinite"].start_step == 11791


def test_real_yolov3_results_table():
    run = lrdoctor.read(real_log("fresh30/yolov3-issue1211-results-table/results_table.md"))
    # a bare "map" column is the validation mAP (no trainer computes mAP on its batches)
    assert run.meta.roles["eval_accuracy"] == "map"
    assert run.series("eval_accuracy").finite().values[:3].tolist() == [0.623, 0.647, 0.629]
    # 0.647 at epoch 1, then lower at every one of the six later epochs: a reversal
    rev = [f for f in lrdoctor.diagnose(run).findings if f.kind == "performance_reversal"]
    assert rev and rev[0].evidence["peak"] == 0.647


def test_map_names_are_evaluations():
    from lrdoctor.names import resolve_aliases

    roles = resolve_aliases(["epoch", "loss", "mAP@0.5", "train_acc"])
    assert roles["eval_accuracy"][0] == "mAP@0.5" and roles["task_metric"][0] == "train_acc"
    assert "eval_accuracy" not in resolve_aliases(["epoch", "loss", "train_map"])


def _poisoned_run(tmp_path, name: str, poison_at: tuple, skip_nonfinite: bool, steps: int):
    """A digits MLP whose batches at ``poison_at`` carry an inf input (a NaN gradient); with
    ``skip_nonfinite`` the step is skipped as AMP's GradScaler skips it. Each row logs the batch's
    loss (computed before the update) and the gradient norm."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    lines = []
    for step in range(1, steps + 1):
        xb, yb = x[(step * 64) % 1700:(step * 64) % 1700 + 64].clone(), y[(step * 64) % 1700:(step * 64) % 1700 + 64]
        if step in poison_at:
            xb[0, 0] = float("inf")
        out = model(xb)
        loss = torch.nn.functional.cross_entropy(out[1:], yb[1:]) + 0.0 * out[0].sum()
        opt.zero_grad()
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
        if not (skip_nonfinite and not torch.isfinite(gn)):
            opt.step()
        shown = loss.item() if torch.isfinite(loss) else float(torch.nn.functional.cross_entropy(out[1:], yb[1:]))
        lines.append(f"step {step} loss {shown:.4f} grad_norm {gn.item():.4f}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_nan_gradient_norm_at_the_last_report_is_reported(tmp_path):
    rep = lrdoctor.diagnose(_poisoned_run(tmp_path, "last.log", (30,), skip_nonfinite=False, steps=30))
    g = rep.run.series("grad_norm").values
    assert not np.isfinite(g[-1]) and np.isfinite(g[:-1]).all() and np.isfinite(rep.run.series("loss").values).all()
    assert _warned(rep)["nonfinite"].evidence["first_step"] == 30
    # skipped NaNs with training going on after them: AMP's loss-scale calibration, no finding
    skipped = lrdoctor.diagnose(_poisoned_run(tmp_path, "skipped.log", (12, 20), skip_nonfinite=True, steps=30))
    assert "nonfinite" not in _warned(skipped)
    # two NaNs at the end, the loss finite after the first: the scaler is skipping, no finding
    tail = lrdoctor.diagnose(_poisoned_run(tmp_path, "tail.log", (29, 30), skip_nonfinite=True, steps=30))
    assert "nonfinite" not in _warned(tail)


def test_yolo_console_from_a_notebook_without_bar_blocks(tmp_path):
    path = tmp_path / "train_output.txt"
    path.write_text(
        "      Epoch    GPU_mem   box_loss   cls_loss   dfl_loss  Instances       Size\n"
        "        1/3      4.31G      1.221      1.429      1.241        196        640: 100% 8/8 [00:08<00:00,  1.04s/it]\n"
        "                 Class     Images  Instances      Box(P          R      mAP50  mAP50-95): 100% 4/4 [00:02<00:00,  1.48it/s]\n"
        "                   all        128        929      0.645      0.539      0.617      0.454\n\n"
        "      Epoch    GPU_mem   box_loss   cls_loss   dfl_loss  Instances       Size\n"
        "        2/3      5.31G      1.186      1.306      1.255        287        640: 100% 8/8 [00:06<00:00,  1.17it/s]\n"
        "                 Class     Images  Instances      Box(P          R      mAP50  mAP50-95): 100% 4/4 [00:02<00:00,  1.37it/s]\n"
        "                   all        128        929      0.654      0.601      0.643      0.474\n")
    run = lrdoctor.read(path)
    assert run.series("loss").finite().values.tolist() == pytest.approx([1.221 + 1.429 + 1.241, 1.186 + 1.306 + 1.255])
    assert run.series("task_metric").finite().values.tolist() == [0.454, 0.474]


def test_real_notebook_yolo_consoles_and_centertrack():
    for rel in ("fresh34/yolov8-tutorial-coco128-3ep/train_output.txt", "fresh34/yolov5-tutorial-coco128-3ep/train_output.txt"):
        run = lrdoctor.read(real_log(rel))
        assert run.series("loss").finite().values.size == 3 and run.series("task_metric").finite().values.size == 3
    run = lrdoctor.read(real_log("fresh34/centertrack-i198-cocopose/log.txt"))
    assert run.meta.roles["loss"] == "tot" and run.series("loss").finite().values[0] == pytest.approx(8.034233)


def _lm_late_epochs(tmp_path, name: str, lr: float, decimals: int):
    """The bigram LM trained for 30 epochs, printed as GluonNLP's word-LM script prints (a batch
    line, then the epoch's validation loss and perplexity, with a full-width comma); the losses
    with ``decimals`` decimals, the perplexities with 2."""
    x, y, vocab = _markov_text()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Embedding(vocab, 16), torch.nn.Linear(16, vocab))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines = []
    for epoch in range(30):
        for i in range(0, 4900, 100):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 100]), y[i:i + 100])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            tr = float(torch.nn.functional.cross_entropy(model(x[:4900]), y[:4900]))
            va = float(torch.nn.functional.cross_entropy(model(x[-1000:]), y[-1000:]))
        lines.append(f"[Epoch {epoch} Batch 49/49] current loss {tr:.{decimals}f}, ppl {np.exp(tr):.2f}, throughput 61.38 samples/s, lr {lr:.2f}")
        lines.append(f"[Epoch {epoch}] time cost 5.18s, valid loss {va:.{decimals}f}, valid ppl {np.exp(va):.2f}\uff0clr {lr:.2f}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_loss_rounded_to_three_digits_beside_a_moving_perplexity_is_not_frozen(tmp_path):
    rep = lrdoctor.diagnose(_lm_late_epochs(tmp_path, "awd.log", lr=1.0, decimals=2))
    assert rep.run.meta.roles["loss"] == "current_loss" and rep.run.meta.roles["eval_loss"] == "valid_loss"
    e = rep.run.series("eval_loss").finite().values
    assert (e[-3:] == e[-1]).all() and np.ptp(rep.run.series("valid_ppl").finite().values[-3:]) > 0
    assert "slow_progress" not in _warned(rep)
    # the same prints without the perplexities: the losses crept down by one printed step per
    # epoch before they printed equal, a curve converging to its resolution, not a dead model
    bare = tmp_path / "bare.log"
    bare.write_text("".join(line.split(", ppl")[0].split(", valid ppl")[0] + "\n" for line in (tmp_path / "awd.log").read_text(encoding="utf-8").splitlines()))
    rep = lrdoctor.diagnose(bare)
    assert (rep.run.series("eval_loss").finite().values[-3:] == e[-1]).all()
    assert "slow_progress" not in _warned(rep)


def test_fastai_tab_separated_table_with_time_cells(tmp_path):
    path = tmp_path / "fit.txt"
    path.write_text(" 16.00% [4/25 00:13<01:10]\nepoch\ttrain_loss\tvalid_loss\taccuracy\ttime\n"
                    "0\t0.912\t0.854\t0.61\t00:03\n1\t0.701\t0.688\t0.72\t00:03\n2\tnan\tnan\t0.10\t00:03\n")
    run = lrdoctor.read(path)
    assert run.series("eval_loss").values[:2].tolist() == [0.854, 0.688] and "time" not in run.metrics
    assert _warned(lrdoctor.diagnose(run))["nonfinite"].start_step == 2


def test_one_seeds_replicate_is_no_return_role():
    roles = resolve_aliases(["env_step", "rew", "rew:shaded", "rew:seed_0_1230_204314-Ant_v3_ddpg/test_rew.csv",
                             "rew:seed_1_1230_204316-Ant_v3_ddpg/test_rew.csv"])
    assert roles["ep_return"][0] == "rew" and "eval_return" not in roles


def test_preference_tuning_rewards_are_no_rl_returns():
    # TRL's DPO metrics: implicit rewards of the chosen/rejected answers and the preference accuracy
    roles = resolve_aliases(["step", "loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
                             "logps/chosen", "eval_loss"])
    assert not {"ep_return", "eval_return"} & set(roles) and roles["task_metric"][0] == "rewards/accuracies"
    assert resolve_aliases(["episode", "reward"])["ep_return"][0] == "reward"  # a plain reward still is one


def test_real_zephyr_dpo_card_overfits_and_is_no_rl_run():
    rep = lrdoctor.diagnose(real_log("fresh32/zephyr-7b-beta-dpo-card/training_results.md"))
    assert not rep.run.is_rl
    assert _warned(rep)["overfitting"].evidence["eval_min"] == pytest.approx(0.4957)
