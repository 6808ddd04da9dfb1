"""Rules from the stop-48 study of the benchmark (issue 9), each on a real log read in place, with
real twins:

- overfitting: the GL rule reads a training loss that did not fall after the evaluation minimum
  as "at its floor" only when the training set is fitted, the held-out loss at least twice the
  training loss at the end (``floor_gap``); a training loss as high as the held-out one is a run
  that stalled while both drift.
- slow_progress: an F-score printed exactly the same at every evaluation is a constant predictor
  above 0.9 too (an all-positive answer scores 2p/(1+p)); an accuracy keeps its 0.9 ceiling, and a
  perfect 1.0 is no constant predictor's score.
- divergence: a few-point rise of a training loss at the floor of a memorised training set (every
  evaluation from the onset 10x above it) is no divergence while the evaluation loss stays within
  10% of its best: the weights did not get worse.
- slow_progress: a mean generated length of one token at every evaluation (HF's ``gen_len``) is
  empty outputs, the end-of-sequence alone: a warning whose fixes are the generation settings.
- initial_loss_anomaly: a Hugging Face Trainer results table with a score of generated text (ROUGE,
  BLEU) shows its training loss to be a mean token cross-entropy, judged against a uniform guess
  over the largest vocabulary as a perplexity beside it would be.
- readers: a file of Python dicts printed one per line whose keys name no known metric is read (the
  refusal names its columns, and ``--metric`` can name the loss), not refused as broken JSON.
"""

from __future__ import annotations

import subprocess
import sys

from bench_logs import real_log
from trained_digits import warned

import lrdoctor


def test_a_training_loss_as_high_as_the_rising_eval_loss_is_no_memorised_floor():
    # Qwen2-7B LoRA on Magicoder: evaluation loss 0.922 (step 4, its best) -> 1.024, while the
    # training loss went 0.8215 -> 0.9692, never below its first report: both drift up together
    report = lrdoctor.diagnose(real_log("fresh177/hfcard-imdatta0-qwen2-7b-magiccoder-default/training_results.txt"))
    assert "overfitting" not in warned(report)


def test_a_flat_training_loss_beside_a_rising_eval_loss_of_its_own_level_is_no_overfitting():
    # timm: eval loss 0.3026 (epoch 3) -> 0.43-0.51, training loss flat at 0.50-0.55 (above it)
    report = lrdoctor.diagnose(real_log("fresh20/timm-issue58-summary/summary.csv"))
    assert "overfitting" not in warned(report)


def test_a_training_loss_at_its_floor_far_below_a_rising_eval_loss_is_still_overfitting():
    # Keras MLP: training loss 0.004-0.012 from epoch 15 while val_loss goes 0.113 -> 0.226
    f = warned(lrdoctor.diagnose(real_log("fresh6/keras-tfkeras-issue120-late-val-rise/issue120.log")))["overfitting"]
    assert "stayed near its floor" in f.summary and f.evidence["eval_min"] == 0.113


def test_a_floor_three_times_below_the_eval_loss_is_still_overfitting():
    # Swin-tiny on CIFAR-100: eval loss 0.4223 (epoch 5) -> 0.4956 while the training loss,
    # 0.121 at the minimum, ends at 0.1513: a third of the held-out loss
    f = warned(lrdoctor.diagnose(real_log("fresh433/swin-tiny-cifar100-mazenamria/training_results.md")))["overfitting"]
    assert f.evidence["eval_min"] == 0.4223


def test_an_f1_printed_identically_above_0_9_at_every_evaluation_is_a_constant_predictor():
    # DistilRoBERTa: F1 0.9163 at all four epochs (an all-positive answer on ~85% positives),
    # training loss 0.42 -> 0.40
    f = warned(lrdoctor.diagnose(real_log("fresh551/hf-addy88-distilroberta-finegrain/training_results.txt")), 2)["slow_progress"]
    assert f.evidence["value"] == 0.9163 and f.evidence["points"] == 4


def test_a_second_constant_f1_above_0_9_is_found_too():
    # Chinese BERT-wwm on a 91%-positive set: F1 0.9546 at all five epochs
    f = warned(lrdoctor.diagnose(real_log("fresh549/raychanan-bert-wwm-covid/training_results.md")), 2)["slow_progress"]
    assert f.evidence["value"] == 0.9546 and f.evidence["points"] == 5


def test_a_perfect_f1_at_every_evaluation_is_no_constant_predictor():
    # XLM-R on WikiANN Hindi NER: F1 exactly 1.0 at all ten evaluations (a broken metric, not a
    # model that answers one class)
    report = lrdoctor.diagnose(real_log("fresh552/someman-xlmr-wikiann-hi/training_results.md"))
    assert "slow_progress" not in warned(report)


def test_an_accuracy_constant_above_0_9_keeps_its_ceiling():
    # ViT on sports images: accuracy 0.9936 at all five evaluations of a healthy fine-tune
    report = lrdoctor.diagnose(real_log("fresh318/hfcard-sports-vit/training_results.md"))
    assert "slow_progress" not in warned(report)


def test_a_training_loss_wobbling_at_a_memorised_floor_is_no_divergence():
    # BERT on multilingual STS-B: training MSE 0.032 -> 0.0793, 0.0775 (2.4x) while the validation
    # MSE, 35x above it, went 2.79 -> 2.74 -> 2.65 (its best)
    report = lrdoctor.diagnose(real_log("fresh564/thecuicoders-bert-stsb-multi-mt/training_results.md"))
    assert "divergence" not in warned(report)


def test_a_training_and_evaluation_loss_that_jump_together_still_diverge():
    # Japanese BERT-wwm: training loss 0.3371 -> 6.0381, validation 0.3530 -> 1.8948 at the last epoch
    f = warned(lrdoctor.diagnose(real_log("fresh549/kazuohara-bert-ja-wwm-tiny/training_results.md")), 2)["divergence"]
    assert f.evidence["final_loss"] == 6.0381


def test_a_generated_length_of_one_token_at_every_evaluation_is_empty_output():
    # IndoNanoT5 on summarisation: Gen Len 1.0 at all five epochs, ROUGE-2 0.0, while the training
    # loss fell 1.5249 -> 0.3238
    f = warned(lrdoctor.diagnose(real_log("fresh560/apwic-indonanot5-summarization-base-0/training_results.md")))["slow_progress"]
    assert f.severity.rank == 1 and f.evidence["metric"] == "eval_gen_len" and f.evidence["points"] == 5
    assert [x.parameter for x in f.fixes] == ["generation settings", "labels"]


def test_a_generated_length_at_the_length_cap_is_no_empty_output():
    # T5-small on IndoSum: Gen Len 19.0 at every evaluation (the default cap of 20 tokens), a healthy run
    report = lrdoctor.diagnose(real_log("fresh560/abelagustiann-t5-small-indosum-awesome/training_results.md"))
    assert "slow_progress" not in warned(report)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "lrdoctor", *map(str, args)], capture_output=True, text=True, timeout=120)


def test_printed_dicts_of_a_spacy_component_are_its_loss_and_read_when_named():
    # spaCy v2's example NER loop printing its losses dict: {'ner': 11.274315223987287}, 39 lines.
    # Refused here until stop 76 (an unknown key); a key that names a spaCy component is now its
    # loss (tests/test_stop76_unread.py, where a dict of other keys is still refused in one line)
    log = real_log("fresh566/spacy-issue1632-train-ner-example-losses/train.log")
    read = _cli("diagnose", log)
    assert read.returncode == 0, read.stderr  # a warning (the spike below) is under --fail-on error
    assert "loss_spike" in read.stdout
    named = _cli("diagnose", log, "--metric", "loss=ner_loss")
    assert named.returncode == 0, named.stderr
    assert "loss=ner_loss" in named.stdout and "loss_spike" in named.stdout


def test_a_rise_three_decades_under_the_start_is_no_divergence():
    # the same spaCy loop, named: 11.27 at its first update, 1.6e-15 at update 36, then 3.4e-9 and
    # 1.2e-10: a 75,000x "rise" that never leaves the floor; its recovered jumps are loss spikes
    run = lrdoctor.read(real_log("fresh566/spacy-issue1632-train-ner-example-losses/train.log"))
    found = warned(lrdoctor.diagnose(run, roles={"loss": "ner_loss"}))
    assert "divergence" not in found and "loss_spike" in found


def test_a_trainer_table_of_generated_text_bounds_its_first_loss_by_any_vocabulary():
    # mT5 translating Hausa to Chinese: training loss 24.1484 at its first row beside BLEU, TER,
    # chrF, ROUGE-L and METEOR columns: above ln(262144) x 1.5 = 18.7 nats
    f = warned(lrdoctor.diagnose(real_log("fresh524/kumshe-mt5-ha2zh-translation/training_results.md")))["initial_loss_anomaly"]
    assert f.evidence["first_loss"] == 24.1484 and "eval_bleu" in f.summary


def test_a_trainer_table_of_speech_recognition_keeps_its_large_ctc_start():
    # XLS-R on Korean: CTC training loss 19.71 at its first row, beside WER only (a CTC loss is
    # no token cross-entropy over a vocabulary)
    report = lrdoctor.diagnose(real_log("fresh270/w11wo-xlsr300m-korean/training_results.md"))
    assert "initial_loss_anomaly" not in warned(report)


def test_a_summed_translation_loss_outside_a_trainer_table_is_not_bounded():
    # JoeyNMT (Masakhane af-en) validations: a loss summed over the set, 3.7e4, beside BLEU
    report = lrdoctor.diagnose(real_log("fresh191/masakhane-af-en-jw300-validations/validations.txt"))
    assert "initial_loss_anomaly" not in warned(report)
