"""Rules from the stop-50 study of the benchmark (issue 9), each on a real log read in place, with
real twins:

- readers: a number printed as a quoted string after its key ("'loss': '24.061707'", "'loss':
  'nan'": the legacy PaddleDetection trainer logs its stats as an OrderedDict of formatted strings)
  is the value; a step counter that a line already names as an evaluation's ("Test iter 0", "Test
  finish iter 5") is not the training step.
"""

from __future__ import annotations

import math

import numpy as np
from bench_logs import real_log
from trained_digits import warned

import lrdoctor
from lrdoctor.io.textlog import RULES


def _parse(line: str) -> dict:
    for rule in RULES:
        rec = rule.parse(line, {})
        if rec is not None:
            return rec
    return {}


def test_a_loss_printed_as_a_quoted_string_is_read():
    # PaddleDetection #548: "iter: 680, lr: 0.000050, 'loss': '7.422760', time: 0.062, eta: 0:19:48"
    run = lrdoctor.read(real_log("fresh611/paddledet-legacy-iter-loss/train.log"))
    assert run.meta.roles["loss"] == "loss"
    loss = run.series("loss")
    assert loss.values.size == 13
    assert loss.values[0] == 7.42276 and loss.values[-1] == 6.573437
    assert loss.steps[0] == 680 and loss.steps[-1] == 920


def test_a_quoted_nan_is_a_nan_loss_not_a_reason_to_judge_the_timer():
    # PaddleDetection #5337 (SSD): 'loss': '24.061707' then 'loss': 'nan' at every later report.
    # Unread, the loss left "batch_cost" (seconds per batch) as the only cost-like column, and its
    # rise from 0.00039 s was called a divergence
    report = lrdoctor.diagnose(real_log("fresh608/paddledet-ssd-nan-5337/train.log"))
    assert report.run.meta.roles["loss"] == "loss"
    assert "nonfinite" in warned(report) and "divergence" not in warned(report)
    f = next(f for f in report.findings if f.kind == "nonfinite")
    assert f.start_step == 20


def test_quoted_text_that_is_no_number_stays_text(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("".join(f"epoch: {i}, 'mode': 'train', 'loss': '{1 / i:.4f}', note: 'run 7'\n" for i in range(1, 5)))
    run = lrdoctor.read(log)
    assert np.allclose(run.series("loss").values, [1.0, 0.5, 0.3333, 0.25])
    assert "mode" not in run.metrics and "note" not in run.metrics


def test_an_evaluation_loop_counter_is_not_the_training_step():
    # PaddleDetection #1444: three all-NaN training reports (iter 760-800), then "Test iter 0" and
    # "Test finish iter 5". Read as steps they restarted the axis and the evaluation was judged
    # (no training metric at all); the run is a NaN from its first report
    report = lrdoctor.diagnose(real_log("fresh611/paddledet-ppyolo-person-all-nan/train.log"))
    assert "nonfinite" in warned(report)
    assert report.run.series("loss").steps.tolist() == [760.0, 780.0, 800.0]
    assert all(math.isnan(v) for v in report.run.series("loss").values)
    # the evaluation's counter is kept under its own name
    assert _parse("Test iter 0") == {"test_iter": 0.0}


def test_a_training_counter_inside_a_line_is_still_the_step():
    # the twin: "Train step 1040 -- Loss: 11.17" and yunjey's "Epoch [1/75], Step [110/464]"
    assert _parse("Train step 1040 -- Loss: 11.17").get("step") == 1040
    rec = _parse("Epoch [1/75], Step [110/464], Loss: 0.3123")
    assert rec.get("loss") == 0.3123 and "test_step" not in rec


def test_a_header_of_per_class_scores_named_with_the_class_first_is_read():
    # RemBERT populism classifier: "| Training Loss | ... | Accuracy | 1-f1 | 1-recall | 1-precision |
    # Balanced Acc |", the scores of class 1 (the positive label: 0.1259 = 2PR/(P+R) of 0.0672 and
    # 1.0). A header cell that starts with a digit made the whole table unreadable
    run = lrdoctor.read(real_log("fresh617/rembert-populism-bsample392-overfit/training_results.md"))
    assert np.allclose(run.series("eval_f1_class_1").values, [0.1259, 0.2807, 0.25, 0.1837])
    assert np.allclose(run.series("eval_precision_class_1").values, [0.0672, 0.1667, 0.1455, 0.1011])
    # validation loss 0.4846 (step 8) -> 1.1843 while the training loss fell to 0.0033
    assert "overfitting" in warned(lrdoctor.diagnose(run))


def test_the_same_header_over_a_majority_class_predictor_is_no_learning():
    # the same card family: accuracy 0.9471 (the majority share) and class-1 F1 0.0 at every evaluation
    report = lrdoctor.diagnose(real_log("fresh617/rembert-populism-408-majority-class/training_results.md"))
    assert np.allclose(report.run.series("eval_f1_class_1").values, 0.0)
    assert "slow_progress" in warned(report)


def test_the_same_header_over_a_run_that_held_its_scores_stays_quiet():
    # the twin: stopped early at epoch 4 with its scores held (validation loss 0.84 -> 0.42)
    report = lrdoctor.diagnose(real_log("fresh617/rembert-populism-bsample391-earlystop/training_results.md"))
    assert report.run.series("eval_f1_class_1") is not None
    assert not warned(report)


def test_a_json_log_line_broken_by_a_paste_still_gives_its_quoted_figures():
    # fairseq #2696: fairseq's JSON log prints every figure as a string ('"train_loss": "nan"'), and
    # the paste broke the line in two; the first half holds the epoch and the NaN loss
    report = lrdoctor.diagnose(real_log("fresh109/fairseq-2696-w2v2-finetune-nan/train.log"))
    assert "nonfinite" in warned(report)


def test_a_config_printed_one_quoted_key_per_line_is_no_record():
    # the twin: FuxiCTR prints its config as JSON, one key per line ('"learning_rate": "0.001",'),
    # every number quoted; read as a record it would add a learning-rate column and a first row of
    # hyper-parameters to the run
    run = lrdoctor.read(real_log("fresh83/bars-deepfm-frappe-001/DeepFM_frappe_x1_001_4ae3a56e.log"))
    assert "learning_rate" not in run.metrics and "batch_size" not in run.metrics
    assert run.meta.roles["eval_loss"] == "val_logloss"


def test_a_spike_is_judged_against_the_level_after_an_absurd_first_report():
    # BiT-50 on a landscape set: training loss 2.5e8 at the first log (a blow-up in the first logging
    # period), then 0.45, 0.35, 8.2e5, 0.23. Judged against that first report, the 2.3-million-fold
    # spike at step 95 was "a blip near the floor" (info)
    report = lrdoctor.diagnose(real_log("fresh618/vintage-lavender619-bit-50-landscape/training_results.md"))
    assert "loss_spike" in warned(report)
    f = next(f for f in report.findings if f.kind == "loss_spike")
    assert f.evidence["largest"]["step"] == 95


def test_a_spike_near_the_floor_of_a_sane_start_stays_info():
    # the twin: a loss that fell from a sane first report and blips near its floor (ViViT on a video
    # set, 1.60 at the first epoch, then 0.0005 ... 0.148 ... 0.0013) is still info, not a warning
    from lrdoctor.detect.loss_spike import DEFAULTS, _starting_level

    x = np.array([1.60, 0.0005, 0.0009, 0.148, 0.0013])
    assert _starting_level(x, DEFAULTS) == 1.60
    x = np.array([2.5e8, 0.4535, 0.3491, 818423.4, 0.2255])
    assert _starting_level(x, DEFAULTS) == 0.4535


def test_percent_scores_in_a_borderless_results_table_are_read():
    # a PII tagger's card, its table copied as text: "1 0.047 0.051537 91.35% 95.23% 93.25% 98.56%"
    # under "Epoch Training Loss Validation Loss Precision Recall F1 Score Accuracy"
    run = lrdoctor.read(real_log("fresh625/hf-distilbert-pii-ab-ai/training_results.txt"))
    assert np.allclose(run.series("eval_accuracy").values, [98.56, 98.75, 98.54, 98.77])
    assert np.allclose(run.series("eval_f1_score").values, [93.25, 94.66, 93.62, 94.11])
    assert np.allclose(run.series("eval_loss").values, [0.051537, 0.043873, 0.04702, 0.046979])


def test_a_training_loss_printed_as_zero_is_a_memorised_training_set():
    # Whisper-small continued for 178 epochs on a tiny set: training loss 0.0 (under the table's
    # 0.00005) at every evaluation, validation loss 0.0047 -> 0.0054 rising at every one after its
    # minimum. "Eval at least 2x the training loss" held, but a zero training loss was read as no
    # floor at all
    report = lrdoctor.diagnose(real_log("fresh636/ggarri-whisper-finetuned-ver2/training_results.md"))
    assert "overfitting" in warned(report)


def test_a_zero_training_loss_beside_a_flat_evaluation_is_not_overfitting():
    # the twin: training loss 0.0 throughout while the validation loss drifts by under GL_5
    # (Whisper-small continued from openai/whisper-small: 0.0 training loss, WER and validation loss
    # slightly worse, labelled a plateau)
    assert "overfitting" not in warned(lrdoctor.diagnose(real_log("fresh636/noeinatha-whisper-small-en-v2/training_results.md")))


def test_a_coco_evaluation_summary_gives_its_map_and_no_junk_columns():
    # PaddleDetection #1444 ends with pycocotools' summary: " Average Precision  (AP) @[ IoU=0.50:0.95 |
    # area=   all | maxDets=100 ] = 0.002". Read as key-value pairs it made columns "iou" (0.5) and
    # "max_dets" (100); it is the evaluation's COCO mAP, filed at the last training step
    run = lrdoctor.read(real_log("fresh611/paddledet-ppyolo-person-all-nan/train.log"))
    assert run.series("eval_map").values.tolist() == [0.002]
    assert run.series("eval_map").steps.tolist() == [800.0]
    assert "iou" not in run.metrics and "max_dets" not in run.metrics
    # the twin: a recall line and a per-area line are consumed with no value
    assert _parse(" Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.010") == {}
    assert _parse(" Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000") == {}
    assert _parse(" Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.005") == {"eval_map50": 0.005}


def test_a_bracket_of_named_values_after_a_key_belongs_to_that_key():
    # IMDLBenCo's MetricLogger: "predict_loss: [local: 0.6975 | reduced: 0.6919]" (this rank's value
    # and the all-reduced one). Read as it stood, "local" and "reduced" were columns of their own,
    # no loss was recognised and the log was refused
    run = lrdoctor.read(real_log("fresh633/imdlbenco-issue109-loss-stuck-ln2/train.log"))
    assert run.meta.roles["loss"] == "predict_loss_reduced"
    assert run.series("loss").values[:3].tolist() == [0.6919, 0.6914, 0.6917]
    assert run.series("predict_loss_local").values[0] == 0.6975
    # the twin: a bracket of bare numbers stays a list ("loss: [0.52, 0.61]")
    assert "loss_local" not in _parse("step: 3 loss: [0.52 | 0.61]")


def test_evaluation_columns_a_card_printed_under_each_others_heading_are_swapped_back():
    # a SMILES DeBERTa's card: "Accuracy | Validation Loss" 0.9882 | 0.0293 at 400k steps, then
    # 0.0277 | 0.9887 and on to the end (the card generator wrote those rows in another key order).
    # Read as printed the held-out loss jumped 34x: an overfitting warning on a healthy run
    report = lrdoctor.diagnose(real_log("fresh504/sagawa-zinc-deberta-mlm/training_results.md"))
    assert np.allclose(report.run.series("eval_loss").values, [0.0409, 0.0346, 0.0314, 0.0293, 0.0277, 0.0264, 0.0253])
    assert np.allclose(report.run.series("eval_accuracy").values[-3:], [0.9887, 0.9891, 0.9894])
    assert any("trade places" in w for w in report.run.meta.warnings)
    assert "overfitting" not in warned(report)


def test_a_swap_holds_for_the_rows_after_it():
    # BreakHis ConvNeXt-V2 (shuffled): the trade starts at epoch 10; at epoch 13 the loss spiked as
    # well (0.0398 -> 0.3474, printed under "Accuracy"): the order holds, so that row is read swapped too
    run = lrdoctor.read(real_log("fresh615/alm-convnextv2-breakhis-shuffled/training_results.md"))
    assert np.allclose(run.series("eval_loss").values[-5:], [0.0511, 0.0827, 0.0398, 0.3474, 0.0850])
    assert np.allclose(run.series("eval_accuracy").values[-5:], [0.9873, 0.9713, 0.9882, 0.8643, 0.9797])


def test_a_learning_jump_and_a_keras_log_are_no_swap():
    # the twins: an embedding fine-tune whose first evaluation has loss 0.71 and precision 0.13 and
    # the second 0.09 and 0.96 (learning, on rows that had not settled); and a Keras log, whose
    # val_loss and val_precision (both near 0.1) cross by chance: Keras prints every key by name
    run = lrdoctor.read(real_log("fresh237/e5-small-tookitaki/training_results.md"))
    assert not any("trade places" in w for w in run.meta.warnings)
    run = lrdoctor.read(real_log("fresh8/keras-kerasio-imbalanced-fraud/imbalanced_classification.log"))
    assert not any("trade places" in w for w in run.meta.warnings)
    assert run.series("val_loss").values[3] == 0.0444


def test_a_classifier_table_whose_first_loss_no_label_set_explains_is_an_initial_anomaly():
    # BiT-50 on an image folder: training loss 5.5e9 at the first log beside an accuracy column
    # (0.085 throughout); bert-large on a binary SuperGLUE task: 33.5 (ln 2 = 0.69). A Trainer table
    # scored by accuracy shows a classifier's mean cross-entropy, and none over any label set in use
    # exceeds 1.5 x ln 2^18 = 18.7 at the start
    for path in ("fresh618/pk3388-bit-50/training_results.md", "fresh407/onutoa-20230822010704/training_results.md"):
        report = lrdoctor.diagnose(real_log(path))
        assert "initial_loss_anomaly" in warned(report), path
        f = next(f for f in report.findings if f.kind == "initial_loss_anomaly")
        assert f.evidence["num_classes"] == 262144 and "label set" in f.summary


def test_a_classifier_table_starting_near_its_chance_level_is_no_anomaly():
    # the twins: an emotion classifier and an ESM-2 localisation card, whose first losses are ordinary
    for path in ("fresh616/mahmoudng-emotion-model/training_results.md", "fresh638/dongjunguo-esm2-t12-35m-localization/training_results.md"):
        assert "initial_loss_anomaly" not in warned(lrdoctor.diagnose(real_log(path))), path
