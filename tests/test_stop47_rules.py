"""Rules from the stop-47 study of the benchmark (issue 9), each on a real log read in place, with
real twins:

- slow_progress: two reports whose loss is within 0.5% of ln K, beside every accuracy within the
  chance band above 1/K, are a uniform output whether or not its argmax flipped on a few ties.
- performance_reversal: an error rate past an empty output's 100% at the last evaluation that also
  more than doubled its best, whatever that best was; the stepped-down rule asks a ratio-scale
  score for a material drop (3% of its peak), and a best above an untrained model's level.
- overfitting: with no training loss logged and the evaluation accuracy held, an evaluation loss
  whose every later reading stays 10%+ above its first (best) one; the UP and undone rules take a
  held-out loss 10x the training loss at the end for a training loss that fell (memorised).
- slow_progress: a generation score exactly 0 at every evaluation while the loss learned is a
  warning whose fixes are the generation settings and the metric tokenizer.
- slow_progress: a ROC AUC at chance over 3 evaluations that are the whole run (a results table).
- slow_progress: the error-rate floor stands aside when a score of generated text beside it (BLEU,
  chrF) reached a tenth of its range: a speech translation's WER.
- readers: a results-table row with the empty trailing cells of its header; a facet word (F1,
  precision, recall) after a score's word that is no metric name joins it ("Bertscore F1"); a
  borderless results row whose last cell is a one-key dict; a progress bar's "Name value" postfix.
"""

from __future__ import annotations

from bench_logs import real_log
from trained_digits import warned

import lrdoctor


def test_two_reports_at_ln_2_beside_a_majority_share_accuracy_are_no_learning():
    # distilbert on WNLI: validation loss 0.6951 and 0.6953 (ln 2 = 0.6931), accuracy 0.5493 and
    # 0.5634 (the majority share, not one print at both)
    f = warned(lrdoctor.diagnose(real_log("fresh236/hf-wnli-centaur31-distilbert/training_results.md"),
                                 config={"num_classes": 2}), 2)["slow_progress"]
    assert f.evidence["num_classes"] == 2 and f.evidence["points"] == 2


def test_two_reports_near_ln_k_with_an_accuracy_above_the_chance_band_are_not_judged_so():
    # distilbert on SQuAD (exact match and F1 read as shares): validation loss 1.1471 and 1.1246,
    # within 5% of ln 3 by coincidence, exact match 0.6864 and 0.7006
    report = lrdoctor.diagnose(real_log("fresh155/hfcard-ronixzone-distilbert-squad/training_results.md"))
    assert "slow_progress" not in warned(report, 1)


def test_a_word_error_rate_past_100_that_more_than_doubled_its_best_is_a_reversal():
    # whisper-small on air-traffic English: WER 110.70 at step 100, then 110.97, 119.15, 121.44,
    # 168.82, 369.74 ... 404.93 at step 1000, while both losses fall
    f = warned(lrdoctor.diagnose(real_log("fresh501/allenpoe-whisper-small-finetuned-atcosim-model/training_results.md")))["performance_reversal"]
    assert f.evidence["peak"] == 110.702 and f.evidence["end"] == 404.9337
    assert "3.658x its best" in f.summary


def test_a_word_error_rate_past_100_that_came_down_is_no_reversal():
    # whisper-tiny on Japanese: WER 601.6, 327.3, 254.1, 241.4, 225.2: above 100% throughout,
    # but falling, and the last under twice the best before it
    report = lrdoctor.diagnose(real_log("fresh431/nikolajvestergaard-ja-whisper-tiny/training_results.md"))
    assert "performance_reversal" not in {f.kind for f in report.findings}


def test_a_score_a_few_print_units_below_its_peak_is_no_reversal():
    # t5-small on CodeSearchNet: BLEU 0.0358, 0.036, then 0.035-0.0351 at all seven later
    # evaluations (2.8% below the peak, one unit of the fourth printed digit)
    report = lrdoctor.diagnose(real_log("fresh508/lmeninato-t5-small-codesearchnet-python/training_results.md"))
    assert "performance_reversal" not in {f.kind for f in report.findings}


def test_a_score_that_stepped_down_by_a_sixth_of_its_level_is_a_reversal():
    # MobileBERT on QQP: accuracy 0.7568 at its peak, then five evaluations around 0.63
    f = warned(lrdoctor.diagnose(real_log("fresh463/gokuls-mobilebert-add-qqp-128/training_results.md")))["performance_reversal"]
    assert f.evidence["peak"] == 0.7568 and "stayed down" in f.summary


def test_no_log_rows_with_the_empty_trailing_cells_of_their_header_are_read():
    # a BERTimbau card in the code view: "| No log | 1.0 | 125 | 1.4144 | 0.388 | | |" under a
    # header that ends "| Accuracy | | |"
    run = lrdoctor.read(real_log("fresh513/hfcard-savioteless-bertimbau-test-trainer/training_results.md"))
    assert list(run.series("eval_loss").values) == [1.4144, 1.2860, 1.3686]
    assert list(run.series("eval_accuracy").values) == [0.388, 0.481, 0.465]


def test_evaluations_only_a_loss_never_back_within_10pct_of_its_first_reading_is_overfitting():
    # BART fine-tuned again on SAMSum, no training loss logged: validation loss 0.9966 at epoch 1,
    # then 1.0976, 1.1576, 1.1998, 1.1949 (every one 10%+ above it), ROUGE-1 0.6323 -> 0.6112
    f = warned(lrdoctor.diagnose(real_log("fresh517/alexdg19-bart-large-xsum-samsum2/training_results.md")))["overfitting"]
    assert f.evidence["eval_min"] == 0.9966 and f.start_step == 41.0
    assert "never improved on its first evaluation" in f.summary


def test_evaluations_only_a_loss_within_10pct_of_its_first_reading_is_not_judged_so():
    # BLIP-2 captioning on COCO, evaluations only: validation loss 0.6023, 0.608, 0.6108
    report = lrdoctor.diagnose(real_log("fresh149/lavis-707-blip2-coco-caption-val/paste.txt"))
    assert "overfitting" not in {f.kind for f in report.findings}


def test_a_facet_word_after_a_score_that_is_no_metric_name_joins_it():
    # mt5 Hausa-to-Chinese, rendered card: "Training Loss Epoch Step Validation Loss Bleu Ter Chrf
    # Rougel Meteor Bertscore F1" over rows of ten numbers
    run = lrdoctor.read(real_log("fresh524/kumshe-mt5-ha2zh-translation/training_results.md"))
    assert {"eval_bleu", "eval_ter", "eval_meteor", "eval_bertscore_f1"} <= set(run.metrics)
    assert list(run.series("eval_loss").values) == [17.4027, 15.8128, 15.2208]


def test_a_generation_score_exactly_0_beside_a_loss_that_learned_is_a_warning_with_generation_fixes():
    # mT5-small on a Chinese task: ROUGE-1/2/L/Lsum 0.0 at all 7 evaluations while the training
    # loss fell 2.0315 -> 0.0713 and the validation loss 0.0727 -> 0.0516
    report = lrdoctor.diagnose(real_log("fresh524/zhiguanghan-mt5-small-task3-dataset3/training_results.md"))
    f = warned(report)["slow_progress"]
    assert f.severity.rank == 1 and f.evidence["points"] == 7 and f.evidence["value"] == 0.0
    assert {x.parameter for x in f.fixes} == {"generation settings", "metric tokenizer"}


def test_a_generation_score_that_was_above_0_once_is_not_judged_so():
    # t5-small on CodeSearchNet: ROUGE-1 0.1733 at its first evaluation, then 0.0, 0.0, 0.0, 0.0046
    report = lrdoctor.diagnose(real_log("fresh508/lmeninato-t5-small-codesearchnet-python3/training_results.md"))
    assert "slow_progress" not in warned(report)


def test_a_speech_translation_whose_bleu_rose_is_not_judged_by_its_word_error_rate():
    # Whisper translating Irish speech to English: WER 296.9 -> 95.8 (never below 90%) while BLEU
    # rose 0.07 -> 12.02 and chrF 10.93 -> 28.01
    report = lrdoctor.diagnose(real_log("fresh533/ymoslem-whisper-medium-ga2en-v1/training_results.md"))
    assert "slow_progress" not in warned(report)


def test_a_speech_translation_whose_bleu_stayed_under_1pct_is_still_judged_so():
    # the same task at another setting: BLEU 0.0 -> 0.6 (percent: chrF beside it reaches 12.93), WER
    # 1852 -> 104, never below 96
    f = warned(lrdoctor.diagnose(real_log("fresh533/ymoslem-whisper-medium-ga2en-v1-1/training_results.md")), 2)["slow_progress"]
    assert f.evidence["metric"] == "eval_wer" and f.evidence["value"] == 96.0378


def test_a_borderless_results_row_whose_last_cell_prints_a_one_key_dict_is_a_row_of_the_table():
    # LoRA on distilbert, rendered card: "No log 1.0 250 0.7531 {'accuracy': 0.822}" under
    # "Training Loss Epoch Step Validation Loss Accuracy"; validation loss 0.5896 at epoch 2, then
    # up at every epoch to 1.1124 while the training loss fell 0.4366 -> 0.0043
    run = lrdoctor.read(real_log("fresh536/kherzieandal-distilbert-imdb-lora/training_results.md"))
    assert list(run.series("eval_loss").values)[:2] == [0.7531, 0.5896] and run.series("eval_accuracy").values[2] == 0.891
    assert warned(lrdoctor.diagnose(run))["overfitting"].evidence["eval_min"] == 0.5896


def test_a_bar_postfix_of_name_value_fields_and_tuples_is_read():
    # WS-DAN on Stanford Cars: "Epoch 85/300: 100%|...| 8144/8144 [1:24:14<00:00,  1.61 batches/s,
    # Loss 6.2739, Raw Acc (0.39, 2.49), ..., Val Loss 44.7789, Val Acc (0.52, 2.70)]" at six epochs
    run = lrdoctor.read(real_log("fresh539/wsdan-cars-frozen-loss/train.log"))
    assert list(run.series("loss").values) == [6.2739] * 6
    assert run.series("raw_acc_2").values[0] == 2.49 and run.series("val_loss").values[-1] == 44.4493
    assert list(run.series("epoch").values) == [85, 86, 87, 88, 89, 90]
    assert "slow_progress" in warned(lrdoctor.diagnose(run), 2)


def test_a_held_out_loss_rising_beside_a_training_loss_memorised_to_its_floor_is_overfitting():
    # an AI-text detector: training loss 0.0003, 0.0002, 0.0016 (ticking up at its floor) while the
    # validation loss rose 2.832 -> 3.2171 -> 3.5239, 2,200 times the training loss at the end
    f = warned(lrdoctor.diagnose(real_log("fresh535/arincon-openai-detector-autext-run1/training_results.md")))["overfitting"]
    assert f.evidence["eval_min"] == 2.832 and f.evidence["eval_last"] == 3.5239


def test_a_held_out_loss_rising_beside_a_training_loss_that_rises_with_it_is_no_overfitting():
    # LightGBM: the training logloss 0.7127 -> 0.7711 rises with the validation logloss 0.7125 ->
    # 0.7706 (no gap between them: both diverge)
    report = lrdoctor.diagnose(real_log("fresh111/lightgbm-742-logloss-rising/train.log"))
    assert "overfitting" not in {f.kind for f in report.findings}


def test_a_roc_auc_at_chance_over_a_whole_three_epoch_results_table_is_no_learning():
    # an AI-text detector's card: ROC AUC 0.4896, 0.5, 0.5 at its three epochs (the whole run)
    f = warned(lrdoctor.diagnose(real_log("fresh535/arincon-openai-detector-autext-run1/training_results.md")), 2)["slow_progress"]
    assert f.evidence["metric"] == "eval_roc_auc" and f.evidence["points"] == 3


def test_a_roc_auc_that_reached_two_thirds_over_three_epochs_is_not_judged_so():
    # the same detector's later run: ROC AUC 0.5417, 0.6667, 0.6354 (Somers' D 0.33 at its best)
    report = lrdoctor.diagnose(real_log("fresh535/arincon-openai-detector-autext-run3/training_results.md"))
    assert "slow_progress" not in warned(report, 2)


def test_an_accuracy_that_fell_from_an_untrained_level_is_no_reversal():
    # wav2vec2 on MInDS-14's 14 intents: accuracy 0.0796 at its first evaluation, then 0.0442-0.0708
    # while both losses sat at ln 14 (a downward trend, but from a best under a tenth of the scale)
    report = lrdoctor.diagnose(real_log("fresh528/hf-w2v2-minds14-intent-mina1369/training_results.md"))
    assert "performance_reversal" not in {f.kind for f in report.findings}
