"""Trainers' console lines that lrdoctor refused to read before stop 76, each on a really trained
run (or its real log read in place), with a twin that must stay silent.

**spaCy's losses dict printed bare.** spaCy's examples and the loops copied from them print the
``losses`` dict that ``nlp.update(..., losses=losses)`` fills (``{'ner': 11.27}``, Python 2's
``{u'ner': 117.4}``). Its keys are the trainable components' names and each number is that
component's training loss; only a ``Losses`` word before the dict told the reader so, and a bare
dict was refused ("numeric columns seen: ner"). A printed dict whose every key names a spaCy
component is now read as those components' losses (``ner_loss``); a dict of other keys stays
refused when nothing else names a training metric.

**pytorch/examples' CartPole lengths.** ``reinforce.py`` and ``actor_critic.py`` before 2017-11
(and PyTorch Ignite's copy) print ``Episode 10\\tLast length:    13\\tAverage length: 10.64``.
CartPole pays +1 for every step the pole stays up, so a length is the episode's return: the
same scripts later print the same numbers as ``Last reward`` and ``Average reward``, and the line
is now read under those names (the running average is the return).

**kraken's accuracy reports.** ``ketos train`` prints ``Accuracy report (3) 0.9972 9342 26``
after each epoch's validation (epoch, character accuracy, characters, errors), sometimes on its
progress bar's line; it is now read as the validation accuracy at that epoch.

**Two more, read in place.** "Grokking Deep RL"'s progress line (``el ..., ep 1427, ts 013537, ar 10
001.0±000.0, 100 ..., ex 100 ..., ev 009.5±000.7``: the timesteps, the mean return over the last
100 episodes, the evaluation return), and PaddlePaddle's event lines as its book shows them, behind
a comment's ``# ``.

**facenet's lfw_result.txt.** davidsandberg/facenet appends ``step\taccuracy\tval_rate`` rows to
``lfw_result.txt`` after each LFW evaluation, with no header: a table reader took the first row for
column names and refused the run. The file is now known by its name and row shape, its accuracy
an evaluation accuracy (LFW is held out), so a run whose accuracy fell to chance is a reversal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, warned, write_lines

import lrdoctor

torch.set_num_threads(1)

_SPACY_NER = "fresh566/spacy-issue1632-train-ner-example-losses/train.log"
_IGNITE_CARTPOLE = "fresh374/ignite-reinforce-cartpole/train.log"
_KRAKEN_STAGES = "fresh30/kraken-issue297-recog-rising/ketos_train.log"


def _losses_dict_log(tmp_path: Path, relabel_at: int | None) -> str:
    """Train the 64-32-10 digits MLP with SGD (lr 0.1) for 30 epochs and print, after each, the
    losses dict the way spaCy's example loops do (``print(losses)``: the summed batch losses of the
    epoch under the component's name). With ``relabel_at``, that one epoch trains on shuffled labels:
    the loss jumps and the next epochs on the real labels bring it back."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    shuffle = torch.Generator().manual_seed(1)
    lines = []
    for epoch in range(30):
        labels = y if epoch != relabel_at else y[torch.randperm(y.numel(), generator=shuffle)]
        batches: list[float] = []
        fit_epoch(model, opt, x, labels, losses=batches)
        lines.append(str({"ner": float(np.sum(batches))}))
    return write_lines(tmp_path / "train.log", lines)


def test_a_bare_spacy_losses_dict_is_read_as_the_loss_and_its_spike_found(tmp_path):
    """The relabelled epoch's jump, read from the bare dicts: a loss spike at that epoch."""
    run = lrdoctor.read(_losses_dict_log(tmp_path, relabel_at=20))
    assert run.meta.roles["loss"] == "ner_loss" and run.n_steps == 30
    assert warned(lrdoctor.diagnose(run))["loss_spike"].start_step == 20.0


def test_the_same_losses_dict_without_the_jump_is_silent(tmp_path):
    """The twin trained on the real labels throughout: read the same way, and no finding."""
    run = lrdoctor.read(_losses_dict_log(tmp_path, relabel_at=None))
    assert run.meta.roles["loss"] == "ner_loss"
    assert warned(lrdoctor.diagnose(run)) == {}


def test_the_spacy_ner_example_is_read_in_place():
    """spaCy v2's NER example, 39 bare dicts: 11.27 at the first, the spike its labeller marked at 26."""
    run = lrdoctor.read(real_log(_SPACY_NER))
    assert run.meta.roles["loss"] == "ner_loss" and run.n_steps == 39
    assert run.series("loss").values[0] == 11.274315223987287
    assert warned(lrdoctor.diagnose(run))["loss_spike"].start_step == 26.0


def test_a_dict_of_other_keys_is_still_refused_with_one_line(tmp_path):
    """A printed dict whose keys name no spaCy component and no training metric: refused, one line."""
    log = write_lines(tmp_path / "train.log", [str({"hold_vars": 14, "lived_vars": 64 + i}) for i in range(5)])
    out = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", log], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "no training metric recognised" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def _cartpole_like_log(tmp_path: Path, episodes: int = 300) -> tuple[str, list[float]]:
    """Train a logistic policy with REINFORCE (Adam, lr 0.05) on a survival task of CartPole's kind:
    a position starts at 0 and moves by 0.1 in the chosen direction plus noise; the episode ends when
    it leaves [-1, 1] or after 200 steps, and every step survived pays +1. Print every tenth episode
    the way pytorch/examples' ``reinforce.py`` did in 2017: the last length and the running average
    ``0.99 * avg + 0.01 * length``. Returns the log and the printed averages."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    policy = torch.nn.Linear(1, 1)
    opt = torch.optim.Adam(policy.parameters(), lr=0.05)
    running, lines, averages = 10.0, ["[2017-01-18 17:53:34,498] Making new env: CartPole-v0"], []
    for episode in range(1, episodes + 1):
        pos, logps = 0.0, []
        for t in range(1, 201):
            p_right = torch.sigmoid(policy(torch.tensor([[pos]])))[0, 0]
            right = bool(torch.rand(()) < p_right)
            logps.append(torch.log(p_right if right else 1 - p_right))
            pos += (0.1 if right else -0.1) + float(rng.normal(0, 0.05))
            if abs(pos) > 1.0:
                break
        returns = torch.arange(len(logps), 0, -1, dtype=torch.float32)
        returns = (returns - returns.mean()) / (returns.std() + 1e-6) if len(logps) > 1 else returns * 0
        loss = -(torch.stack(logps) * returns).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        running = running * 0.99 + t * 0.01
        if episode % 10 == 0:
            lines.append(f"Episode {episode}\tLast length: {t:5d}\tAverage length: {running:.2f}")
            averages.append(round(running, 2))
    return write_lines(tmp_path / "stdout.txt", lines), averages


def test_the_cartpole_lengths_are_read_as_the_return(tmp_path):
    """The trained agent's log: the running average of its lengths is the return, at each
    printed episode, and the run reads as reinforcement learning."""
    log, averages = _cartpole_like_log(tmp_path)
    run = lrdoctor.read(log)
    assert run.is_rl and run.meta.roles["ep_return"] == "average_reward"
    assert run.steps.tolist() == list(range(10, 301, 10))
    assert run.series("ep_return").values.tolist() == averages
    assert averages[-1] > 2 * averages[0]  # it learned: a healthy run
    assert warned(lrdoctor.diagnose(run)) == {}


def test_ignites_cartpole_log_is_read_in_place():
    """Ignite's REINFORCE example, 32 reports every 100 episodes (lengths capped at 199 by CartPole-v0)."""
    run = lrdoctor.read(real_log(_IGNITE_CARTPOLE))
    assert run.meta.roles["ep_return"] == "average_reward" and run.n_steps == 32
    assert run.steps[0] == 100 and run.series("ep_return").values[0] == 37.9 and run.series("last_reward").values.max() == 199


def test_krakens_accuracy_reports_are_read_on_their_progress_bars():
    """kraken's ``ketos train``, each report on its stage's bar: 0.5508 at stage 1 to 0.8388 at 11."""
    run = lrdoctor.read(real_log(_KRAKEN_STAGES))
    assert run.meta.roles["eval_accuracy"] == "val_accuracy"
    assert run.steps.tolist() == list(range(1, 12))
    assert run.series("eval_accuracy").values[0] == 0.5508 and run.series("eval_accuracy").values[-1] == 0.8388
    assert warned(lrdoctor.diagnose(run)) == {}


def test_gdrls_progress_lines_are_read_with_their_spreads_dropped():
    """"Grokking Deep RL"'s A2C that never learns: ``ar 10 001.0±000.0, 100 001.0±000.0, ..., ev
    009.5±000.7`` every 30 s; the timesteps are the step, the mean return over 100 episodes the return."""
    run = lrdoctor.read(real_log("fresh6/text-gdrl-issue37-a2c-no-learning/issue37.log"))
    assert run.meta.step_column == "timesteps" and run.steps[0] == 13537 and run.n_steps == 12
    assert run.meta.roles["ep_return"] == "mean_100_reward" and set(run.series("ep_return").values) == {1.0}
    assert run.series("eval_return").values[:3].tolist() == [9.5, 9.5, 9.3]


def test_paddles_event_lines_shown_as_comments_are_read():
    """PaddlePaddle's book prints its event handler's lines as comments (``# Pass 0, Batch 100, Cost
    0.635356, {...}``): the cost is the loss, the test line's cost the evaluation loss."""
    run = lrdoctor.read(real_log("fresh301/baidu-cnn-digits-doc-sample/train_log_sample.txt"))
    assert run.meta.roles["loss"] == "cost" and run.meta.roles["eval_loss"] == "test_cost"
    assert run.series("loss").values.tolist() == [2.78079, 0.635356, 0.326094, 0.36192, 0.410101]
    assert run.series("eval_loss").values.tolist() == [0.326659]


def _lfw_result(tmp_path: Path, collapse_at: int | None) -> str:
    """Train the 64-32-10 digits MLP with SGD (lr 0.1), 250 updates between evaluations, and append
    facenet's ``lfw_result.txt`` row after each: the step, the held-out accuracy and, in the place of
    the validation rate, the share of held-out digits the model gets right with a margin over 0.9 in
    probability. With ``collapse_at``, the LR becomes 50 from that evaluation on: the weights blow
    up and the accuracy falls to a constant guess."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rows = []
    for k in range(1, 21):
        if collapse_at is not None and k == collapse_at:
            for group in opt.param_groups:
                group["lr"] = 50.0
        for _ in range(9):  # 9 epochs of 28 updates = 252 updates
            fit_epoch(model, opt, x, y)
        with torch.no_grad():
            prob = torch.softmax(torch.nan_to_num(model(x[1400:])), 1)
        acc = (prob.argmax(1) == y[1400:]).float().mean().item()
        sure = ((prob.max(1).values > 0.9) & (prob.argmax(1) == y[1400:])).float().mean().item()
        rows.append(f"{252 * k}\t{acc:.5f}\t{sure:.5f}")
    return write_lines(tmp_path / "lfw_result.txt", rows)


def test_facenets_lfw_result_is_read_and_a_collapse_found(tmp_path):
    """The headerless rows by the file's name: the accuracy is the evaluation accuracy, its fall
    after the LR jump a performance reversal."""
    run = lrdoctor.read(_lfw_result(tmp_path, collapse_at=12))
    assert run.meta.format == "facenet-lfw" and run.meta.roles["eval_accuracy"] == "lfw_eval_accuracy"
    assert run.steps.tolist() == [252.0 * k for k in range(1, 21)]
    assert "performance_reversal" in warned(lrdoctor.diagnose(run))


def test_the_same_lfw_result_without_the_jump_is_silent(tmp_path):
    """The twin at lr 0.1 throughout: read the same way, no finding."""
    run = lrdoctor.read(_lfw_result(tmp_path, collapse_at=None))
    assert run.meta.roles["eval_accuracy"] == "lfw_eval_accuracy"
    assert warned(lrdoctor.diagnose(run)) == {}


def test_facenets_collapsed_run_is_read_in_place():
    """facenet issue 326 (MS-Celeb-1M): LFW accuracy about 0.94 to step 62500, then 0.5 and a
    validation rate of 0 at every evaluation from 62750."""
    run = lrdoctor.read(real_log("fresh202/facenet-326-msceleb-lfw-collapse/lfw_result.txt"))
    assert run.steps[0] == 60000 and run.n_steps == 20
    assert run.series("eval_accuracy").values[0] == 0.94083 and run.series("lfw_val_rate").values[11] == 0.0
    assert "performance_reversal" in warned(lrdoctor.diagnose(run))


def test_a_file_named_lfw_result_of_another_shape_is_left_to_the_other_readers(tmp_path):
    """A fork appends a confusion matrix after each row: not facenet's rows, not this reader's."""
    log = write_lines(tmp_path / "lfw_result.txt", ["", "1000\t0.91000\t", "[[10  2]", " [ 1 12]]"])
    assert lrdoctor.io.facenet.is_lfw_result(Path(log), Path(log).read_text()) is False
