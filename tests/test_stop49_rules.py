"""Rules from the stop-49 study of the benchmark (issue 9), each on a real log read in place, with
real twins:

- readers: Hugging Face's results table copied with its borders lost names a ``compute_metrics`` key
  of three words in three title-case words ("False Positive Rate"): the words before a tail that
  closed a name ("positive_rate") belong to it while the header still has more words than a row
  has values. The Trainer's own "Model Preparation Time" (transformers >= 4.44) is one column.
"""

from __future__ import annotations

import numpy as np
from bench_logs import real_log
from trained_digits import warned

import lrdoctor


def test_a_three_word_metric_name_in_a_borderless_trainer_table_is_one_column():
    # BERT phishing classifier: "... Accuracy Precision Recall False Positive Rate" over 8 values
    run = lrdoctor.read(real_log("fresh578/ealvaradob-bert-finetuned-phishing/training_results.md"))
    assert np.allclose(run.series("eval_false_positive_rate").values, [0.0203, 0.0243, 0.0156, 0.0249])
    assert np.allclose(run.series("eval_accuracy").values, [0.9596, 0.9691, 0.9683, 0.9717])
    # and the run it reads is judged: validation loss 0.1389 (epoch 2) -> 0.1953 while training
    # loss falls 0.0805 -> 0.0091
    assert "overfitting" in warned(lrdoctor.diagnose(run))


def test_the_same_header_over_a_flat_run_reads_and_stays_quiet():
    # the twin: same columns, both losses flat near 0.35 and accuracy 0.95-0.97 (a loss floor)
    run = lrdoctor.read(real_log("fresh578/hoanganhvu-phishing-2-1/training_results.md"))
    assert np.allclose(run.series("eval_false_positive_rate").values, [0.0128, 0.0247, 0.0130, 0.0077])
    assert not warned(lrdoctor.diagnose(run))


def test_the_trainers_model_preparation_time_is_one_column():
    run = lrdoctor.read(real_log("fresh555/vs2882-liar-binary-bert-cased/training_results.txt"))
    assert np.allclose(run.series("eval_model_preparation_time").values, 0.0032)
    assert np.allclose(run.series("eval_accuracy").values, [0.6117, 0.6356, 0.6529, 0.6508, 0.6486])


def test_an_evaluation_accuracy_of_zero_is_read_against_the_evaluation_loss():
    # ResNet-18 on EuroSAT: training loss 0.90 -> 0.69 (below ln 10) but validation loss 3.35-3.57
    # (above it) and validation accuracy 0.0 at all three epochs: the held-out labels are never right
    report = lrdoctor.diagnose(real_log("fresh586/hf-satani-resnet18-eurosat/training_results.txt"))
    assert "slow_progress" in warned(report)
    f = next(f for f in report.findings if f.kind == "slow_progress")
    assert f.evidence["metric"] == "eval_accuracy" and f.evidence["rule"] == "never left 0"


def test_an_evaluation_accuracy_of_zero_beside_a_low_evaluation_loss_is_a_broken_metric():
    # R keras issue 296: a regression whose val_acc is 0.0000 while val_loss falls to 0.0087: the
    # accuracy measures nothing this model does
    assert "slow_progress" not in warned(lrdoctor.diagnose(real_log("fresh2/keras-rkeras-issue296-acc-zero/issue296.log")))


def test_a_training_accuracy_of_zero_is_still_read_against_the_training_loss():
    # MLPerf ResNet: cross-entropy 1.49-2.04 (below ln 10) with train_accuracy 0 on every row
    assert "slow_progress" not in warned(lrdoctor.diagnose(real_log("fresh3/text-mlperf-training-issue124-acc-zero/issue124.log")))


def test_a_markdown_table_whose_line_breaks_became_spaces_is_read_row_by_row():
    # wav2vec2 on MInDS-14: the card's raw README stored with its line breaks collapsed, the whole
    # table on one line ("| ... | |:---:|...| | No log | 0.8 | 3 | 2.6373 | 0.0708 | | No log | ...")
    run = lrdoctor.read(real_log("fresh592/homoro-mind-model-chance/training_results.md"))
    assert np.allclose(run.steps, [3, 7, 11, 15, 18, 22, 26, 30])
    assert np.allclose(run.series("eval_loss").values, [2.6373, 2.6371, 2.6442, 2.6439, 2.6410, 2.6432, 2.6408, 2.6411])
    assert np.allclose(run.series("eval_accuracy").values[:2], [0.0708, 0.0885])


def test_a_flattened_table_with_a_nan_evaluation_loss_is_judged():
    # the same flattening: validation loss nan at every evaluation from step 3
    report = lrdoctor.diagnose(real_log("fresh592/arttuhav-mind-model-nan/training_results.md"))
    assert "nonfinite" in warned(report)


def test_unflattening_keeps_rows_whole_and_leaves_other_lines_alone():
    from lrdoctor.io.textlog.tables import unflatten_markdown_table

    flat = "Results: | a | b | |:--|--:| | 1 | 2 | | 3 | 4 | and more text"
    assert unflatten_markdown_table(flat) is None  # a separator of two dashes is none (markdown asks three)
    flat = "| loss | step | acc | |:---|:---:|---:| | 0.5 | 1 | 0.1 | | 0.4 | 2 | 0.2 | | 0.3 | 3 | 0.3 | trailing words"
    rows = unflatten_markdown_table(flat)
    assert rows is not None and [r.split("|")[1].strip() for r in rows] == ["loss", ":---", "0.5", "0.4", "0.3"]  # the last row before the trailing text too
    assert unflatten_markdown_table("| loss | step | acc |") is None
    assert unflatten_markdown_table("epoch | loss --- acc | 0.3 --- 0.1 |" * 3) is None  # dashes inside cells, no separator row


def test_a_loss_at_ln_14_beside_an_accuracy_at_1_over_14_is_stuck_at_chance():
    # wav2vec2 on the 14 intents of MInDS-14: training loss 2.636 -> 2.624 (ln 14 = 2.639), validation
    # accuracy 0.04-0.09 around 1/14 = 0.071: K = 14 is named by the loss and confirmed by the accuracy
    report = lrdoctor.diagnose(real_log("fresh592/homoro-mind-model-chance/training_results.md"))
    f = next(f for f in report.findings if f.kind == "slow_progress")
    assert f.severity.name == "ERROR" and f.evidence["num_classes"] == 14


def test_a_loss_near_ln_18_beside_a_high_accuracy_is_no_chance():
    # mmdetection Cascade R-CNN's first iterations: loss 2.79-2.89 near ln 18 by coincidence, beside
    # an accuracy of 0.93: far above 2/18
    report = lrdoctor.diagnose(real_log("fresh8/text-mmdet-issue2785-cascade-start/issue2785.log"))
    assert "slow_progress" not in warned(report)


def test_a_loss_near_ln_k_above_10_with_no_accuracy_is_not_judged_at_chance():
    # t5-small summarising: training loss 2.46-2.48, near ln 12 by coincidence; no accuracy to confirm
    report = lrdoctor.diagnose(real_log("fresh517/zera09-t5-small-sum/training_results.md"))
    assert "slow_progress" not in warned(report)


def test_a_second_run_at_ln_14_is_stuck_at_chance_too():
    # wav2vec2 on MInDS-14 (a table that read before stop 49 too): training loss 2.6324 -> 2.6299,
    # validation loss 2.644-2.655, accuracy 0.009-0.080 around 1/14
    report = lrdoctor.diagnose(real_log("fresh528/hf-w2v2-minds14-aisuko/training_results.md"))
    f = next(f for f in report.findings if f.kind == "slow_progress")
    assert f.severity.name == "ERROR" and f.evidence["num_classes"] == 14


def test_three_evaluations_at_ln_k_are_judged_where_the_training_loss_has_two_reports():
    # a multiple-choice fine-tune (5 options): training loss 1.617, 1.6159 (two reports), validation
    # loss 1.6094 = ln 5 at all three epochs, accuracy 0.22-0.29 around 1/5
    report = lrdoctor.diagnose(real_log("fresh605/naiate-mcqa-enem-uniform/training_results.md"))
    f = next(f for f in report.findings if f.kind == "slow_progress")
    assert f.severity.name == "ERROR" and f.evidence["num_classes"] == 5


def test_a_held_out_loss_rising_above_ln_2_beside_one_training_loss_is_not_chance():
    # DistilBERT on RTE: one logged training loss (0.5903), validation loss 0.69 -> 0.94 (rising:
    # overconfidence), accuracy 0.52-0.62: the evaluations are not judged at chance
    report = lrdoctor.diagnose(real_log("fresh284/anirudh21-distilbert-rte/training_results.md"))
    assert "slow_progress" not in warned(report)


def test_a_loss_that_grows_tenfold_within_a_handful_of_reports_and_stays_diverges():
    # mt0-base LoRA at lr 0.005, five epochs: training loss 0.1704, 0.0792, then 0.9682, 3.3669,
    # 3.3736 (12-43x its best) while the validation loss rose 0.0019 -> 2.35; two reports before
    # the rise are too few to measure a scatter that does not hold the rise itself
    report = lrdoctor.diagnose(real_log("fresh593/jysssacc-mt0-base-lora-lr0005/training_results.md"))
    f = warned(report, 2).get("divergence")
    assert f is not None and f.evidence["best_loss"] == 0.0792


def test_single_batch_losses_that_scatter_by_decades_do_not_diverge():
    # a reranker's per-batch losses, 0.001-0.06 in no order: the decade rule without its scatter
    # guard is only for a rise with under four reports before it
    report = lrdoctor.diagnose(real_log("fresh23/flagembedding-reranker-gradnorm-erratic/train.log"))
    assert "divergence" not in warned(report)
