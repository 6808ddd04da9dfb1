"""Rules from the stop-60 study (issue 9), each on the real log that met it, read in place, with
twins that the rule must leave alone:

- a small ``l`` after a detection score is COCO's "large" size bucket, not a loss: mmdet's
  ``bbox_mAP_l`` on an ``Epoch(val)`` line (filed as ``val_bbox_map_l``) was read as the
  evaluation loss;
- COCO's ``AP`` named as the evaluator's or the task's (mmpose's ``coco/AP``, detectron2's
  ``bbox/AP``) is the evaluation's score;
- overfitting's never-beaten rule also starts from a minimum after the first evaluation when the
  evaluation before it held that level, or that every later evaluation climbed away from: every
  later evaluation 10%+ above it is overfitting;
- divergence's few-point step to a new level: every report from one on above all earlier ones and
  10% above the highest, an ordering noise gives with p < 1% (a warning).
"""

from __future__ import annotations

from bench_logs import real_log
from trained_digits import warned

import lrdoctor
from lrdoctor.names import resolve_aliases, tokens

# ELECTRA on RTE (labelled edge, overfitting): validation loss 0.6076, 0.4824, 0.4793, then 0.7056 and
# 0.6849 while accuracy fell from 0.8231; the training loss is "No log" until one carried value
ELECTRA_RTE = "fresh168/hfcard-anirudh21-electra-base-rte/training_results.md"
# multilingual E5 classifier (labelled unhealthy, overfitting): validation loss 1.1118, 0.3434, 0.2663,
# then 0.2979, 0.3067, 0.3848 while the training loss fell 0.2829 -> 0.0452
E5_CLIMB = "fresh237/e5-large-instruct-ludo33-ecv2/training_results.md"
# a Keras LSTM regressor pasted on Stack Overflow (labelled unhealthy, divergence at epoch 72): loss
# 6340-6947 over epochs 62-71, then 9485, 10976, 10175, 9863 to the end
LSTM_STEP = "fresh839/lstm-manytomany-loss-jump/paste.log"
# BERT on Amazon polarity, 88 evaluations swinging +-15% around a floor (labelled edge, loss_spike):
# its last ten evaluations all lie 10%+ above its lowest, a minimum the one before it held
NOISY_88 = "fresh272/hfcard-fabriceyhc-bert-amazon-polarity/training_results.md"
# mmdet 2.x Faster R-CNN (labelled unhealthy, slow_progress): "Epoch(val) [8][10] bbox_mAP: 0.0000,
# bbox_mAP_50: 0.0000, ..., bbox_mAP_l: 0.0000" and the COCO summary of epoch 9, no training line
MMDET_MAP_ZERO = "fresh832/mmdet-6686-frcnn-map-zero/paste.log"
# mmpose RTMPose on AP-10K (labelled unhealthy, slow_progress): "Epoch(val) [10][40/40] coco/AP:
# 0.000000 coco/AP .5: 0.000000 ..." between two training lines
MMPOSE_AP_ZERO = "fresh158/mmpose-2761-rtmpose-ap10k-ap-zero/paste.txt"


def test_the_large_object_map_of_an_evaluation_line_is_no_evaluation_loss():
    run = lrdoctor.read(real_log(MMDET_MAP_ZERO))
    assert "eval_loss" not in run.meta.roles, run.meta.roles
    assert run.meta.roles.get("eval_accuracy") is not None


def test_a_size_bucket_is_not_a_loss_letter_but_a_split_loss_letter_still_is():
    assert "loss" not in tokens("val_bbox_map_l")
    assert "loss" not in tokens("val_segm_AP_l")
    # the twin the letter rule was made for: PNGAN's "g_trn_l" is the generator's training loss
    assert tokens("g_trn_l")[-1] == "loss"


def test_coco_average_precision_named_by_its_evaluator_is_the_evaluation_score():
    run = lrdoctor.read(real_log(MMPOSE_AP_ZERO))
    assert run.meta.roles.get("eval_accuracy") == "val_coco/ap"
    roles = resolve_aliases(["iteration", "total_loss", "bbox/AP", "bbox/AP50", "segm/AP"])
    assert roles["eval_accuracy"][0] == "bbox/AP"
    assert roles["loss"][0] == "total_loss"


def test_a_bare_ap_column_is_left_alone():
    # "ap" alone may be anything (an action-point count, an abbreviation of a run's own): only the
    # evaluator's or the task's name makes it COCO's average precision
    roles = resolve_aliases(["step", "loss", "ap"])
    assert "eval_accuracy" not in roles


def test_every_evaluation_ten_percent_above_a_minimum_held_twice_is_overfitting(tmp_path):
    f = warned(lrdoctor.diagnose(real_log(ELECTRA_RTE))).get("overfitting")
    assert f is not None
    assert f.evidence["eval_min"] == 0.4793 and f.evidence["eval_last"] == 0.6849
    assert "held since the evaluation before it" in f.summary
    # the twin: the same table with the evaluation before the minimum 17% above it, a lone low reading
    # that every later one is above by selection
    text = real_log(ELECTRA_RTE).read_text().replace("0.4824", "0.5600")
    lone = tmp_path / "training_results.md"
    lone.write_text(text)
    assert "overfitting" not in warned(lrdoctor.diagnose(lone))


def test_a_long_noisy_evaluation_curve_needs_the_scatter_guard():
    run = lrdoctor.read(real_log(NOISY_88))
    assert run.series("eval_loss").finite().values.size > 50
    assert "overfitting" not in warned(lrdoctor.diagnose(run))


def test_every_evaluation_climbing_ten_percent_and_more_away_from_the_minimum_is_overfitting(tmp_path):
    f = warned(lrdoctor.diagnose(real_log(E5_CLIMB))).get("overfitting")
    assert f is not None
    assert f.evidence["eval_min"] == 0.2663 and f.evidence["eval_last"] == 0.3848
    assert "climbing away from it at every later evaluation" in f.summary
    # the twin: the last evaluation comes back down (0.3010): no climb at every evaluation, and the
    # minimum, the bottom of a fast fall, was never held
    twin = tmp_path / "training_results.md"
    twin.write_text(real_log(E5_CLIMB).read_text().replace("0.3848", "0.3010"))
    assert "overfitting" not in warned(lrdoctor.diagnose(twin))


def test_a_step_to_a_new_level_that_stays_to_the_end_is_a_divergence_warning(tmp_path):
    f = warned(lrdoctor.diagnose(real_log(LSTM_STEP))).get("divergence")
    assert f is not None and f.severity is lrdoctor.Severity.WARNING
    assert f.start_step == 72 and f.evidence["points_above"] == 4
    assert "stepped up to a new level" in f.summary
    # the twin: the same four last epochs at 7100-7300, above every earlier report but within 10% of
    # the highest (6947): a level that moved by its own scatter, not a step
    text = real_log(LSTM_STEP).read_text()
    for old, new in (("9484.5966", "7100.5966"), ("10975.8083", "7300.8083"), ("10174.8291", "7200.8291"), ("9863.0310", "7150.0310")):
        text = text.replace(old, new)
    twin = tmp_path / "paste.log"
    twin.write_text(text)
    assert "divergence" not in warned(lrdoctor.diagnose(twin))


def test_the_label_agreement_benchmark_scores_the_second_reading_against_the_first():
    """bench/label_agreement.py: 480 logs read again, blind, by a second labeller; the second
    reading's figures against the first use no lrdoctor output, so they are fixed by the two files."""
    import subprocess
    import sys

    from bench_logs import LOGS

    out = subprocess.run([sys.executable, str(LOGS.parent / "label_agreement.py")], capture_output=True, text=True,
                         timeout=600, check=False)
    assert out.returncode == 0, out.stderr
    assert "480 logs of the random samples read twice, blind (60 more chosen by lrdoctor's output; 0 entries" in out.stdout
    assert "| second reading | 0.79 | 0.86 | 0.90 | 224 | 59 | 35 | 0 |" in out.stdout
    assert "same label: 394/480 (82%)" in out.stdout
    assert "| lrdoctor |" in out.stdout and "#### sample 2 (240 logs)" in out.stdout
    # stop 79: two edge errors became warnings or went (the joint last-report divergence, the moving
    # gen_len) and the DeepXDE Adam/L-BFGS run lost its divergence error once its partial test sum
    # stopped being read as an evaluation loss (29, 20 unhealthy, 9 edge before); stop 81: three more
    # edge errors became warnings (an evaluation accuracy of exactly 0 beside an evaluation loss under
    # ln 10, a first-epoch accuracy of 0 in a log without a loss: 26, 18 unhealthy, 8 edge before)
    assert "read again: 23; the second reading calls 16 unhealthy, 7 edge, 0 healthy" in out.stdout


def test_the_benchmark_matches_a_label_to_its_own_kind_first_whatever_the_hash_seed():
    """A run predicting both loss_spike and oscillation, labelled loss_spike, is matched by its
    loss_spike finding under every hash seed (the set of equivalent kinds iterated in its hash order
    had scored the run one way or the other from one interpreter to the next)."""
    import os
    import subprocess
    import sys

    from bench_logs import LOGS

    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('dq', sys.argv[1]); "
            "dq = importlib.util.module_from_spec(spec); sys.modules['dq'] = dq; spec.loader.exec_module(dq); "
            "print(dq._found('loss_spike', {'oscillation': 1.0, 'loss_spike': 2.0}), "
            "dq._found('oscillation', {'loss_spike': 2.0}))")
    seen = {subprocess.run([sys.executable, "-c", code, str(LOGS.parent / "detection_quality.py")], capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}, check=True).stdout.strip()
            for seed in range(12)}
    assert seen == {"loss_spike loss_spike"}
