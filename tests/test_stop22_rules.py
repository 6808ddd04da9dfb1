"""Readers and rules from the stop-22 study of the benchmark (issue 9), each on a real public log
with a twin where one can be made:

- overfitting: four ordered rises to GL 10%+ need no scatter guard; UP_3 is judged against the
  later part's scatter; a rise that fails the GL rule's guard is still judged by the UP rules;
  evaluations only, when the evaluation accuracy holds;
- slow_progress: no box matched (a box-regression term exactly 0); an error rate above 100% at
  every evaluation; not stuck at chance while the LR warms up; a frozen evaluation beside a
  training loss frozen at its optimum is a converged fit;
- initial_loss_anomaly: a negative cross-entropy with K known;
- a Monitor's rolling-mean return is judged against the standard error of that mean;
- readers: a Monitor CSV under any name, Dopamine's baselines JSON, HF results tables copied as
  spaced text, HF results-table metrics as the evaluation's, Megatron steps never run,
  "Val. Loss", "Test set results:", "Vocab size: N" as config, TRL's "rewards / ..." header cells
  (a bare mAP column as an evaluation: test_stop21_rules.test_real_yolov3_results_table).
"""

import numpy as np
import pytest
import torch

import lrdoctor
from bench_logs import real_log

torch.set_num_threads(1)


def _kinds(run) -> set[str]:
    return {f.kind for f in lrdoctor.diagnose(run).findings}


def test_real_gat_cora_overfits_after_epoch_7():
    run = lrdoctor.read(real_log("fresh12/kerasio-gat-cora/gat_node_classification.log"), config={"num_classes": 7})
    f = [f for f in lrdoctor.diagnose(run).findings if f.kind == "overfitting"]
    assert f, "val_loss 0.669 at epoch 7, then 0.730, 0.755, 0.767, 0.773 while the training loss fell"
    assert f[0].evidence["eval_min"] == pytest.approx(0.6688)
    assert f[0].evidence["successive_rises"] >= 3


def test_gat_cora_twin_whose_evaluations_wander_after_the_minimum_is_not_overfitting(tmp_path):
    # the same curves, but the last four evaluations wander around the minimum (no ordered rise)
    real = lrdoctor.read(real_log("fresh12/kerasio-gat-cora/gat_node_classification.log"))
    ev = real.series("eval_loss").finite().values.copy()
    ev[7:] = ev[6] * np.array([1.02, 0.995, 1.03, 1.01])
    tr = real.series("loss").finite().values
    csv = tmp_path / "twin.csv"
    csv.write_text("epoch,loss,val_loss\n" + "".join(f"{i + 1},{a},{b}\n" for i, (a, b) in enumerate(zip(tr, ev))))
    assert "overfitting" not in _kinds(lrdoctor.read(csv))


def test_real_zero_box_losses_mean_no_box_was_matched():
    for rel, term in (("fresh4/text-yolov6-issue614-zero-box-loss", "iou_loss"),
                      ("fresh16/ultralytics-issue1086-coco128", "box_loss")):
        path = next(p for p in real_log(rel).iterdir() if p.is_file())
        f = [f for f in lrdoctor.diagnose(lrdoctor.read(path)).findings if f.kind == "slow_progress"]
        assert f and f[0].severity.name == "ERROR" and f[0].evidence["metric"] in (term, "dfl_loss"), rel


def test_zero_box_loss_twins(tmp_path):
    # the YOLOv6 rows with a working box head: no finding; and a log printing 2 decimals, where a
    # small box loss may round to 0.00: not judged
    head = "     Epoch  iou_loss  dfl_loss  cls_loss\n"
    ok = tmp_path / "ok.log"
    ok.write_text("".join(f"{head}     {e}/99    {0.52 - 0.01 * e / 10:.4f}    {0.31 - 0.002 * e / 10:.4f}   {0.01125 - 1e-4 * e:.5f}\n\n" for e in range(43, 52)))
    assert "slow_progress" not in _kinds(lrdoctor.read(ok))
    coarse = tmp_path / "coarse.log"
    coarse.write_text("".join(f"{head}     {e}/99    0.00    0.00   0.{60 - e:02d}\n\n" for e in range(43, 52)))
    assert not [f for f in lrdoctor.diagnose(lrdoctor.read(coarse)).findings if f.kind == "slow_progress" and "matched" in f.summary]


def _file(rel: str):
    return next(p for p in sorted(real_log(rel).iterdir()) if p.is_file())


def test_real_monitor_csv_is_known_by_its_content_not_its_name():
    run = lrdoctor.read(_file("fresh40/sb3zoo-a2c-ant-v3-monitor"))  # monitor_head.csv
    assert run.meta.format == "gym-monitor" and run.is_rl
    assert run.series("ep_return").values.size > 600


def test_real_hf_results_table_copied_without_its_borders():
    run = lrdoctor.read(real_log("fresh41/hf-whisper-tiny-nadia-card/training_results.txt"))
    assert run.meta.roles["loss"] == "training_loss" and run.meta.roles["eval_loss"] == "validation_loss"
    assert run.series("loss").values[:2].tolist() == [0.5976, 0.3549]
    assert run.series("eval_loss").values[:2].tolist() == [0.9443, 0.9114]
    assert run.series("eval_wer").values[0] == 143.7516  # the evaluation's WER


def test_real_dopamine_baselines_average_the_runs_of_one_agent():
    run = lrdoctor.read(_file("fresh39/dopamine-pong-cnn-rainbow"))
    assert run.meta.format == "dopamine" and run.is_rl
    # iteration 0 holds five runs; the manifest's evidence gives their mean as -20.5
    assert run.steps[0] == 0 and run.series("ep_return").values[0] == pytest.approx(-20.5, abs=0.05)
    assert np.all(np.diff(run.steps) == 1)


def test_real_megatron_resume_golden_values_skip_the_steps_never_run(tmp_path):
    run = lrdoctor.read(_file("fresh39/megatron-bert-tp2pp2-resume-2nd-h100"))
    assert run.steps[0] == 51  # "nan" in every metric, the timer too, for steps 1-50
    assert "nonfinite" not in _kinds(run)
    # twin: the loss is nan where the timer still measured the step: a real non-finite loss
    twin = tmp_path / "golden.json"
    twin.write_text('{"lm loss": {"start_step": 1, "end_step": 4, "step_interval": 1, "values": {"1": 10.5, "2": 10.2, '
                    '"3": "nan", "4": "nan"}}, "iteration-time": {"start_step": 1, "end_step": 4, "step_interval": 1, '
                    '"values": {"1": 1.3, "2": 1.3, "3": 1.3, "4": 1.3}}}')
    assert "nonfinite" in _kinds(lrdoctor.read(twin))


def test_real_imagenet_warmup_near_ln_1000_is_not_stuck(tmp_path):
    real = _file("fresh41/mmpretrain-742-imagenet-epoch2")
    run = lrdoctor.read(real, config={"num_classes": 1000})
    assert "slow_progress" not in _kinds(run)  # 6.704 -> 6.618 while the LR still warms up 5.8e-5 -> 7.2e-5
    # twin: the same losses at the constant LR the warm-up ends at sit at ln 1000 -- stuck
    v = run.series("loss").values
    csv = tmp_path / "stuck.csv"
    csv.write_text("step,loss,lr\n" + "".join(f"{20000 + 100 * i},{x},7.2e-05\n" for i, x in enumerate(v)))
    assert "slow_progress" in _kinds(lrdoctor.read(csv, config={"num_classes": 1000}))


def test_real_hf_card_metrics_are_the_evaluations():
    run = lrdoctor.read(_file("fresh39/hfcard-distilbert-sentence-lr2e-5-all"))
    # "Accuracy" and "F1" of HF's results table are the evaluation's, not training accuracies
    assert run.meta.roles["eval_accuracy"] == "eval_accuracy"
    assert "task_metric" not in run.meta.roles or run.meta.roles["task_metric"] != "eval_f1"


def test_real_wer_above_100_percent_at_every_evaluation_is_no_learning(tmp_path):
    run = lrdoctor.read(real_log("fresh41/hf-whisper-tiny-nadia-card/training_results.txt"))
    f = [f for f in lrdoctor.diagnose(run).findings if f.kind == "slow_progress"]
    assert f and f[0].severity.name == "ERROR" and f[0].evidence["value"] == pytest.approx(134.3341)
    # twin: a WER that starts above 100% and falls below it is learning
    twin = tmp_path / "card.txt"
    twin.write_text("Training Loss Epoch Step Validation Loss Wer\n0.5976 1.59 100 0.9443 143.7516\n"
                    "0.3549 3.17 200 0.9114 108.2756\n0.2134 4.76 300 0.8270 84.3341\n0.1631 6.35 400 0.7338 63.7516\n")
    assert "slow_progress" not in _kinds(lrdoctor.read(twin))


def test_real_evaluations_only_overfitting_when_the_accuracy_holds(tmp_path):
    for rel in ("fresh39/hfcard-distilbert-sentence-webdiscourse", "fresh39/hfcard-distilbert-sentence-lr2e-4-all"):
        kinds = _kinds(lrdoctor.read(_file(rel)))
        assert "overfitting" in kinds and "divergence" not in kinds, rel
    # twin: the same evaluation losses with an accuracy that collapses: the model itself broke
    head = "| Training Loss | Epoch | Step | Validation Loss | Accuracy |\n|---|---|---|---|---|\n"
    rows = [(1, 48, 0.6059, 0.63), (2, 96, 0.6327, 0.705), (3, 144, 0.7003, 0.52), (4, 192, 0.9368, 0.31), (5, 240, 1.1935, 0.12)]
    twin = tmp_path / "card.md"
    twin.write_text(head + "".join(f"| No log | {e:.1f} | {s} | {l} | {a} |\n" for e, s, l, a in rows))
    kinds = _kinds(lrdoctor.read(twin))
    assert "divergence" in kinds and "overfitting" not in kinds


def test_real_seq2seq_val_dot_loss_is_the_validation_loss():
    # "\t Val. Loss: 4.783 |  Val. PPL: 119.513" under "\tTrain Loss: 5.040 | ...": the dot
    # abbreviates the split, it ends no sentence
    run = lrdoctor.read(_file("fresh42/seq2seq-tut4-attn-packed-10ep"))
    assert run.meta.roles["loss"] == "train_loss" and run.meta.roles["eval_loss"] == "val_loss"
    assert run.series("eval_loss").values[0] == 4.783 and run.series("loss").values[0] == 5.04


def test_real_seq2seq_up3_is_judged_against_the_later_scatter():
    # val loss 4.357 -> 3.540 (epoch 7), then 3.598, 3.629, 3.649 while training falls to 2.003:
    # the early descent's curvature had made the whole-curve scatter 0.041, the last six 0.008
    f = [f for f in lrdoctor.diagnose(lrdoctor.read(_file("fresh42/seq2seq-tut2-gru-10ep"))).findings if f.kind == "overfitting"]
    assert f and f[0].evidence["eval_min"] == 3.54 and f[0].evidence["successive_rises"] == 3


def test_real_monitor_rolling_mean_is_judged_against_its_standard_error():
    # an Atari DQN at random play (scores 0-8): its 100-episode mean wanders 1.27 -> 1.40 -> 1.29,
    # about one standard error (0.13); the curve's own residuals (0.02) would call it a reversal
    flat = lrdoctor.read(_file("fresh44/sb3zoo-dqn-breakout-monitor-head"))
    assert "performance_reversal" not in _kinds(flat)
    # twin: a real run that learned and then lost it keeps its reversal (rl-zoo's A2C on
    # LunarLanderContinuous; Open-the-Chests temp120, once the twin here, fell mostly by a few
    # catastrophic episodes, which the raw returns' median does not share: see test_stop27_rules)
    lost = lrdoctor.read(_file("fresh21/rlzoo-a2c-lunarlandercont-monitor-first294"))
    assert "performance_reversal" in _kinds(lost)


def test_real_negative_cross_entropy_with_the_vocabulary_printed_in_the_log(tmp_path):
    run = lrdoctor.read(_file("fresh43/flashlight-137-rnnlm-negative-loss"))
    assert run.config["vocab_size"] == 10000  # "Vocab size: 10000" is the run's config, not a metric
    f = [f for f in lrdoctor.diagnose(run).findings if f.kind == "initial_loss_anomaly"]
    assert f and f[0].evidence["first_loss"] == -8310.0
    # twin: the same print with a sane language-model loss, ln 10000 = 9.21 at epoch 1 and falling
    twin = tmp_path / "rnnlm.log"
    twin.write_text("Vocab size: 10000\n" + "".join(
        f"Epoch {e} - Train Loss: {9.2 - 0.4 * e:.2f} Validation Loss: {9.0 - 0.35 * e:.2f} Time per iteration (ms): 12.0\n"
        for e in range(1, 8)))
    assert "initial_loss_anomaly" not in _kinds(lrdoctor.read(twin))


def test_real_converged_fit_at_a_fixed_point_is_not_a_frozen_evaluation(tmp_path):
    # learnpytorch's nn.Linear: train 0.555 -> 0.00126 and test 0.0138 identical to 17 digits
    # from epoch 200 on: the model sits at its optimum, nothing is broken
    run = lrdoctor.read(_file("fresh46/mrdbourke-01-workflow-linear-layer"))
    assert "slow_progress" not in _kinds(run)
    # twin: the evaluation frozen while the training loss still moves is an evaluation of a stale model;
    # since stop 71 a plateau, as the test loss learned first (0.574 -> 0.0138), not "never learned"
    lines = [f"Epoch: {e} | Train loss: {0.5551779866218567 * 0.5 ** (e / 100)} | Test loss: 0.013801801018416882\n"
             for e in range(200, 1000, 100)]
    twin = tmp_path / "stale.log"
    twin.write_text("Epoch: 0 | Train loss: 0.5551779866218567 | Test loss: 0.5739762187004089\n"
                    "Epoch: 100 | Train loss: 0.3 | Test loss: 0.2\n" + "".join(lines))
    assert "plateau" in _kinds(lrdoctor.read(twin)) and "slow_progress" not in _kinds(lrdoctor.read(twin))


def test_real_hf_results_table_spaced_with_no_log_and_gen_len():
    run = lrdoctor.read(_file("fresh45/hf-bart-evuv-summ-valrise-card"))  # "No log 1.0 99 2.5104 ... 13.3023"
    assert "loss" not in run  # "No log" in every row: no training loss, and no NaN either
    assert run.series("eval_loss").values[:2].tolist() == [2.5104, 2.4941]
    assert run.series("eval_gen_len").values[0] == 13.3023
    keras = lrdoctor.read(_file("fresh45/hf-keras-bart-iguerra-rouge-falling-card"))  # "Train Rouge1" header cells
    assert keras.meta.roles["loss"] == "train_loss" and keras.series("eval_loss").values[0] == 3.5055


def test_real_trl_reward_columns_with_slashes_are_header_names():
    # "Step | Training Loss | reward | ... | rewards / match_format_exactly | ..." (Unsloth GRPO)
    run = lrdoctor.read(_file("fresh43/unsloth-2291-grpo-table"))
    assert run.meta.roles["loss"] == "training_loss" and run.steps[0] == 1


def test_real_test_set_results_line_is_the_test_split(tmp_path):
    # keras-gat on Cora: "Epoch: 0000 train_loss= 1.9460 ... val_acc= 0.1120" lines, then
    # "Test set results: loss= 1.9461 accuracy= 0.1430": that loss is the test set's
    run = lrdoctor.read(_file("fresh47/kerasgat-2-cora-stuck-ln7"))
    assert run.meta.roles["loss"] == "train_loss" and run.series("loss").values.size == 10
    f = [f for f in lrdoctor.diagnose(run).findings if f.kind == "slow_progress"]
    assert f and f[0].evidence["num_classes"] == 7  # ln 7 = 1.9459 at every epoch, val_acc ~ 1/7
