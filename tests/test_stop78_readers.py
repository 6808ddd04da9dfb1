"""Readers of stop 78: formats of logs the readers refused, on their arithmetic and real logs read in place.

**A dict of per-epoch lists printed by Python over lines** (``io/printed_history.py``): IPython's
pretty printer lays ``print(history.history)`` out one number a line, and pastes of it lose the
literal's shape (markdown backticks, a REPL prompt, a cut before the closing brackets, two prints
of a split-keyed ``{'train': [...], 'val': [...]}`` history under a heading each, with scalar
tensors for numbers). The numbers were sniffed as a CSV column whose header was the first list
element, or the file was refused.

**MatConvNet's ``info`` structs** (``io/matconvnet.py``): ``info.train =`` then ``objective: [...]``,
``error: [...]``: one array per field, one number per epoch, over lines; ``train/objective`` is the
loss and ``val/objective`` the evaluation loss.

**Line shapes of the text reader:** Vowpal Wabbit's table with a ``pass`` column, scikit-learn's
gradient-boosting table with an ``End Time`` column, keras-io's DDPG print, and a line printed as a
string's repr (gensim's loss callback in a notebook).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bench_logs import real_log

import lrdoctor
from lrdoctor.errors import LogFormatError
from lrdoctor.io import detect_format
from lrdoctor.io.matconvnet import is_info_struct
from lrdoctor.io.printed_history import is_printed_history
from lrdoctor.names import resolve_aliases

_TFRS_VAL_LOSS = "fresh382/tfrs-issue263-val-loss-rising/history.txt"  # edge, overfitting
_BERT_TENSOR_STATS = "fresh55/hfcard-mrunllm-bert-bbc-tensor-stats/loss_accuracy_stats.txt"  # unhealthy, overfitting
_FLAIR_LOSS_HISTORY = "fresh566/flair-issue2080-train-loss-history/train_loss_history.txt"  # edge, read before as a CSV
_MATCONVNET_INFO = "fresh134/matconvnet-207-cnn-cifar-info/paste.txt"  # edge
_VW_PASS = "fresh127/vw-pr113-pass-column/paste.txt"  # healthy
_SKLEARN_END_TIME = "fresh203/sklearn-pr3817-gbm-end-time/paste.txt"  # healthy
_KERAS_IO_DDPG = "fresh4/text-kerasio-ddpg-pendulum/training_output.txt"  # healthy
_GENSIM_REPR = "fresh127/gensim-3228-fasttext-loss-zero/paste.txt"  # edge
_FLUX_FROZEN = "fresh19/flux-issue798-frozen/issue798.log"  # unhealthy, slow_progress
_FLUX_ZOO_MLP = "fresh108/fluxzoo-pr7-mnist-mlp/train.log"  # healthy
_TINYGRAD_WARMUP = "fresh6/text-tinygrad-pr13803-tiny-lr-start/pr13803.log"  # edge


def _kinds(rel: str, config: dict | None = None) -> dict[str, str]:
    report = lrdoctor.diagnose(lrdoctor.read(real_log(rel), config=config))
    return {f.kind: f.severity.name for f in report.findings if f.severity.rank >= 1}


def _write(tmp_path: Path, text: str, name: str = "paste.txt") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# ---------------------------------------------------------------- printed dict of lists: arithmetic


def test_a_printed_history_cut_and_in_backticks_is_read_list_by_list(tmp_path):
    p = _write(tmp_path, "`'loss': [0.9,\n  0.5,\n  0.25],`\n\n`'val_loss': [1.0,\n  0.8,\n  nan,\n")
    assert detect_format(p) == "printed-history"
    run = lrdoctor.read(p)
    assert list(run.series("loss").values) == [0.9, 0.5, 0.25]
    ev = run.series("eval_loss")
    assert ev.values[:2].tolist() == [1.0, 0.8] and np.isnan(ev.values[2])
    assert any("cut at line 7" in w for w in run.meta.warnings)


def test_split_keyed_lists_take_the_metric_of_their_heading_and_tensors_are_numbers(tmp_path):
    text = ("Loss statistics -\n({'train': [tensor(0.5, device='cuda:0', grad_fn=<DivBackward0>),\n"
            "tensor(0.25, device='cuda:0'),\ntensor(0.22, device='cuda:0'),\ntensor(0.2, device='cuda:0')],\n'val': [tensor(0.6),\ntensor(0.65),\ntensor(0.7),\n"
            "tensor(0.8)]},\n\nAccuracy statistics -\n{'train': [tensor(0.8),\ntensor(0.9),\ntensor(0.92),\ntensor(0.95)]})\n")
    run = lrdoctor.read(_write(tmp_path, text))
    assert run.meta.format == "printed-history"
    assert sorted(n for n in run.names if "_" in n and n.split("_")[0] in ("train", "val")) == [
        "train_accuracy", "train_loss", "val_loss"]
    assert run.series("loss").values.tolist() == [0.5, 0.25, 0.22, 0.2]
    assert run.series("eval_loss").values.tolist() == [0.6, 0.65, 0.7, 0.8]


def test_a_split_keyed_list_with_no_heading_is_refused_at_its_line(tmp_path):
    p = _write(tmp_path, "x = 1\n{'train': [0.5,\n 0.4],\n 'val': [0.6, 0.7]}\n")
    with pytest.raises(LogFormatError) as err:
        lrdoctor.read(p, format="printed-history")
    assert err.value.line == 2 and "names a split but no metric" in str(err.value)


def test_a_list_element_that_is_no_number_is_refused_at_its_line(tmp_path):
    p = _write(tmp_path, "{'loss': [0.5,\n  0.4,\n  'oops',\n  0.3]}\n")
    with pytest.raises(LogFormatError) as err:
        lrdoctor.read(p, format="printed-history")
    assert err.value.line == 3 and "'oops'" in str(err.value)


def test_the_sniff_wants_a_list_left_open_after_its_first_number():
    assert is_printed_history(">>> h\n{'loss': [2.86,\n  2.82,\n  2.77,\n  2.72,\n  2.61,\n")
    # a training log that pretty-prints a config with a list near its top stays the text reader's
    assert not is_printed_history("{'milestones': [30,\n 60],\n 'lr': 0.1}\n" + "".join(f"epoch {i} loss 0.5\n" for i in range(6)))
    assert not is_printed_history("{'loss': [2.86, 2.82], 'val_loss': [3.0, 2.9]}\n")  # one line: the JSON-lines reader's
    assert not is_printed_history("epoch 1 loss 0.5\n")


# ---------------------------------------------------------------- printed dict of lists: real logs


def test_the_tfrs_history_pasted_in_backticks_is_read_and_its_rising_val_loss_found():
    run = lrdoctor.read(real_log(_TFRS_VAL_LOSS))
    assert run.meta.format == "printed-history"
    ev = run.series("eval_loss").values
    assert len(ev) == 30 and ev[0] == 8014.77734375 and ev[-1] == 9786.341796875
    assert "overfitting" in _kinds(_TFRS_VAL_LOSS)


def test_the_bert_tensor_statistics_are_read_by_split_and_metric_and_overfitting_found():
    run = lrdoctor.read(real_log(_BERT_TENSOR_STATS))
    assert run.series("loss").values.tolist() == [0.4949, 0.0581, 0.0483, 0.0270]
    assert run.series("eval_loss").values.tolist() == [0.0624, 0.0402, 0.0741, 0.0964]
    assert "overfitting" in _kinds(_BERT_TENSOR_STATS)


def test_healthy_twin_a_cut_printed_loss_history_keeps_its_first_value_and_stays_silent():
    # flair's train_loss_history pasted cut: read before as a CSV whose header was the first value
    run = lrdoctor.read(real_log(_FLAIR_LOSS_HISTORY))
    assert run.meta.format == "printed-history" and run.meta.roles["loss"] == "train_loss_history"
    loss = run.series("loss").values
    assert len(loss) == 11 and loss[0] == 1.1647640503942966
    assert _kinds(_FLAIR_LOSS_HISTORY) == {}


# ---------------------------------------------------------------- MatConvNet's info structs


def test_matconvnet_arrays_run_over_lines_and_a_summarised_field_is_skipped(tmp_path):
    text = ("info.train = \nobjective: [2.0 1.5 1.2\n        1.0 NaN]\nspeed: [1x5 double]\n\n"
            "info.val = \nobjective: [2.1 1.7 1.4\n")
    p = _write(tmp_path, text)
    assert detect_format(p) == "matconvnet-info"
    run = lrdoctor.read(p)
    assert run.meta.roles["loss"] == "train/objective" and run.meta.roles["eval_loss"] == "val/objective"
    loss = run.series("loss").values
    assert loss[:4].tolist() == [2.0, 1.5, 1.2, 1.0] and np.isnan(loss[4])
    assert run.series("eval_loss").values.tolist() == [2.1, 1.7, 1.4]
    assert not any(n.endswith("speed") for n in run.names)
    assert any("cut at line 7" in w for w in run.meta.warnings)


def test_matconvnet_objective_names_are_the_losses_and_a_bad_token_is_refused_at_its_line(tmp_path):
    assert resolve_aliases(["train/objective", "val/objective", "train/error", "val/error"]) == {
        "loss": ("train/objective", 1.0), "eval_loss": ("val/objective", 1.0)}
    assert not is_info_struct("objective: [1 2 3]\n")
    with pytest.raises(LogFormatError) as err:
        lrdoctor.read(_write(tmp_path, "info.train =\nobjective: [1.0 2.0\n 3.0 x4]\n"), format="matconvnet-info")
    assert err.value.line == 3


def test_the_matconvnet_cifar_info_is_read_epoch_by_epoch_and_warns_of_overfitting():
    run = lrdoctor.read(real_log(_MATCONVNET_INFO), config={"num_classes": 10})
    assert run.meta.format == "matconvnet-info"
    loss, ev = run.series("loss"), run.series("eval_loss")
    assert len(loss) == 20 and loss.values[0] == 1.5653 and loss.values[12] == 0.4191 and loss.values[-1] == 0.3432
    assert len(ev) == 20 and ev.values[-1] == 0.7291
    # labelled edge with overfitting (onset epoch 11): since stop 81 the trend rule finds it (validation loss
    # 0.7157 at epoch 13, above it at all 7 later epochs, MK p = 0.03 at 5% beside a training loss 0.4191 -> 0.3432)
    assert _kinds(_MATCONVNET_INFO, {"num_classes": 10}) == {"overfitting": "WARNING"}


# ---------------------------------------------------------------- line shapes of the text reader


def test_vowpal_wabbit_with_a_pass_column_is_read_and_stays_silent():
    run = lrdoctor.read(real_log(_VW_PASS))
    assert run.meta.step_unit == "example"
    assert run.series("loss").values[-1] == 0.053639 and run.steps[-1] == 11135
    assert _kinds(_VW_PASS) == {}


def test_sklearn_gradient_boosting_with_an_end_time_column_is_read_and_stays_silent():
    run = lrdoctor.read(real_log(_SKLEARN_END_TIME))
    assert run.series("loss").values.tolist() == [1.2427, 1.2053, 1.1716, 1.1409, 1.1131, 1.0873]
    assert _kinds(_SKLEARN_END_TIME) == {}


def test_keras_io_ddpg_average_reward_is_the_return_by_episode_and_stays_silent(tmp_path):
    p = _write(tmp_path, "Episode * 0 * Avg Reward is ==> -1020.82\n\nEpisode * 1 * Avg Reward is ==> -900.5\n")
    run = lrdoctor.read(p)
    assert run.meta.roles["ep_return"] == "avg_reward" and run.meta.step_unit == "episode" and run.steps.tolist() == [0, 1]
    run = lrdoctor.read(real_log(_KERAS_IO_DDPG))
    assert len(run.series("ep_return")) == 100
    assert _kinds(_KERAS_IO_DDPG) == {}


def test_a_line_printed_as_a_string_repr_is_read_inside_its_quotes(tmp_path):
    run = lrdoctor.read(_write(tmp_path, "'Loss after epoch 0: 2.5'\n'Loss after epoch 1: 2.0'\n"))
    assert run.series("loss").values.tolist() == [2.5, 2.0]
    run = lrdoctor.read(real_log(_GENSIM_REPR))
    assert run.series("loss").values.tolist() == [0.0] * 5
    assert _kinds(_GENSIM_REPR) == {}


def test_julia_show_names_each_value_by_its_call_or_variable(tmp_path):
    from lrdoctor.io.textlog.named import _julia_show

    assert _julia_show("loss(x, y) = param(0.0913291)", {}) == {"loss": 0.0913291}
    assert _julia_show("accuracy(m, x, label, 0.0:9) = 0.10525", {}) == {"accuracy": 0.10525}
    assert _julia_show("(i, loss(dataset[1]...)) = (3, 0.296 (tracked))", {}) == {"i": 3.0, "loss": 0.296}
    # a matrix is no scalar, a bare assignment is any key-value line's, and tuples must pair up
    assert _julia_show("model((dataset[1])[1]) = [0.0 0.0; 1.46359 0.0] (tracked)", {}) is None
    assert _julia_show("x = 3", {}) is None
    assert _julia_show("(i, loss(d)) = (3, 0.2, 0.1)", {}) is None


def test_the_flux_loss_frozen_by_a_dead_relu_is_read_and_found():
    run = lrdoctor.read(real_log(_FLUX_FROZEN))
    loss = run.series("loss").values
    assert loss[0] == 0.2001447729236289 and len(loss) == 11 and set(loss[1:]) == {0.29602579662457984}
    assert "slow_progress" in _kinds(_FLUX_FROZEN)


def test_healthy_twin_the_flux_model_zoo_mlp_is_read_and_stays_silent():
    run = lrdoctor.read(real_log(_FLUX_ZOO_MLP), config={"num_classes": 10})
    assert run.series("loss").values[0] == 0.0913291 and run.series("loss").values[-1] == 0.00960475
    assert run.meta.roles["task_metric"] == "accuracy" and len(run.series("task_metric")) == 15
    assert _kinds(_FLUX_ZOO_MLP, {"num_classes": 10}) == {}


def test_tinygrad_step_line_reads_the_figures_before_loss_and_lr_only():
    from lrdoctor.io.textlog.named import _tinygrad_step

    line = "    3 7.34 s run, 11.8750 loss, 0.000000000002 LR, 1454.57 GB used, 236258.78 GFLOPS"
    rec = _tinygrad_step(line, {})
    assert rec == {"step": 3.0, "loss": 11.875, "lr": 2e-12}
    assert _tinygrad_step("  12  102.30 ms run,   80.10 ms python,   3.21 loss, 0.000100 LR, 20.5 GB used", {})["loss"] == 3.21
    # every segment must be a figure and its word: prose with a loss word is another rule's
    assert _tinygrad_step("3 epochs done, 2.5 loss, and more to come", {}) is None


def test_the_tinygrad_warmup_steps_are_read_and_stay_silent():
    run = lrdoctor.read(real_log(_TINYGRAD_WARMUP))
    assert run.steps.tolist() == list(range(1, 11))
    assert run.series("loss").values[4] == 11.9375 and run.series("lr").values[-1] == 5e-12
    assert _kinds(_TINYGRAD_WARMUP) == {}
