"""``training_loss_terms``: the one list of a run's training-loss terms that divergence,
initial_loss_anomaly, nonfinite and plateau read, each adding only the filter its rule needs.

Stop 76 gave the list one home in ``detect/_common.py``; before, four detectors each spelled it with
their own filter, so a new kind of term column (or a new role) could reach one rule and not another."""

from __future__ import annotations

from pathlib import Path

from bench_logs import real_log

from lrdoctor.detect._common import training_loss_terms
from lrdoctor.io import read
from lrdoctor.run import apply_roles


def test_terms_of_an_mmdetection_log_read_in_place() -> None:
    """FCOS's mmdetection log prints loss_cls, loss_bbox and loss_centerness beside their sum
    ``loss``, and timers (time, data_time) that are no loss at all."""
    run = read(real_log("fresh119/mmdet-4377-fcos-giou-nan-250/train.log"))
    assert training_loss_terms(run) == ["loss_cls", "loss_bbox", "loss_centerness"]


def test_the_objective_evaluation_terms_and_other_roles_are_left_out(tmp_path: Path) -> None:
    """The loss column itself, an evaluation term (``val_loss_cls``), the evaluation loss and the LR
    are not training-loss terms."""
    path = tmp_path / "log.csv"
    path.write_text("step,loss,loss_cls,loss_bbox,val_loss_cls,lr,eval_loss\n"
                    "1,2.5,1.5,1.0,1.6,0.01,2.6\n2,2.0,1.2,0.8,1.3,0.01,2.2\n3,1.5,0.9,0.6,1.0,0.01,1.8\n")
    assert training_loss_terms(read(path)) == ["loss_cls", "loss_bbox"]


def test_a_term_named_as_the_loss_role_is_the_objective(tmp_path: Path) -> None:
    """When ``--metric loss=total_loss`` names the objective, that column is not one of its own terms."""
    path = tmp_path / "log.csv"
    path.write_text("step,total_loss,loss_cls,loss_bbox\n1,2.5,1.5,1.0\n2,2.0,1.2,0.8\n3,1.5,0.9,0.6\n")
    run = apply_roles(read(path), {"loss": "total_loss"})
    assert run.meta.roles["loss"] == "total_loss"
    assert training_loss_terms(run) == ["loss_cls", "loss_bbox"]
