"""Rules from the stop-60 study (issue 9), each on the real log that met it, read in place, with
twins that the rule must leave alone:

- a small ``l`` after a detection score is COCO's "large" size bucket, not a loss: mmdet's
  ``bbox_mAP_l`` on an ``Epoch(val)`` line (filed as ``val_bbox_map_l``) was read as the
  evaluation loss;
- COCO's ``AP`` named as the evaluator's or the task's (mmpose's ``coco/AP``, detectron2's
  ``bbox/AP``) is the evaluation's score.
"""

from __future__ import annotations

from bench_logs import real_log

import lrdoctor
from lrdoctor.names import resolve_aliases, tokens

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
