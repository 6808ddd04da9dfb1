"""initial_loss_anomaly (stop 77, round 2): the check reads one number, the training loss's first
report, so on a per-step axis one finite report suffices; the three points a loss *shape* needs
(``needs.MIN_LOSS_POINTS``: one rise after one fall) do not bind it. On an epoch axis the first
report is the mean of a whole epoch of descent, and a run of one or two epochs keeps the three-point
need. A synthetic pair for the arithmetic, then real logs of the benchmark read in place."""

from pathlib import Path

import pytest
import torch

import lrdoctor
from lrdoctor.detect import initial_loss_anomaly as ila
from lrdoctor.detect import needs

torch.set_num_threads(1)

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"


def _report(path, config):
    return lrdoctor.diagnose(lrdoctor.read(path, config=config))


def _finding(report):
    return next((f for f in report.findings if f.kind == "initial_loss_anomaly"), None)


# (a) the arithmetic on small synthetic series

def test_a_per_step_first_loss_then_nan_is_judged(tmp_path):
    # iterations 0, 50, 100: 9.0 (5x ln 6 = 1.79, 7.2 nats above), then NaN: one finite point
    p = tmp_path / "log.csv"
    p.write_text("step,loss\n0,9.0\n50,nan\n100,nan\n")
    run = lrdoctor.read(p, config={"num_classes": 6})
    assert needs.points(run, "loss") == 1
    assert needs.loss(run) is not None  # a loss shape would not be judged on one point
    assert ila._loss_need(run) is needs.first_loss and ila._needs(run) is None
    f = _finding(lrdoctor.diagnose(run))
    assert f is not None and f.evidence["first_loss"] == pytest.approx(9.0)
    assert f.evidence["ratio"] == pytest.approx(9.0 / 1.7918, rel=1e-3)


def test_an_epoch_axis_of_two_means_keeps_the_three_point_need(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text("epoch,loss\n1,9.0\n2,1.0\n")
    run = lrdoctor.read(p, config={"num_classes": 6})
    assert ila._loss_need(run) is needs.loss
    assert ila._needs(run) is not None
    assert _finding(lrdoctor.diagnose(run)) is None


# (b) real logs where the rule finds the labelled kind

def test_ganav_first_loss_seg_before_nan():
    # mmseg GaNav at lr 0.01: decode.loss_seg 10.13 at iteration 50 (ln 6 = 1.79), NaN from 100 on
    f = _finding(_report(LOGS / "fresh951/ganav-issue14-lr001-nan/paste.log", {"num_classes": 6}))
    assert f is not None and f.evidence["term"] == "decode.loss_seg"
    assert f.evidence["first_loss"] == pytest.approx(10.1304)


# (c) healthy twins: an edge Trainer table with two finite training reports on a step axis is now
# judged and stays silent; a healthy two-epoch linear evaluation keeps the three-point need

def test_an_edge_two_report_trainer_table_is_judged_and_silent():
    # a binary phishing-URL classifier: training loss 0.2787 at steps 572 and 858 (ln 2 = 0.69)
    report = _report(LOGS / "fresh578/mohamedafifi-ml-project-phishing-url/training_results.md", {"num_classes": 2})
    assert "initial_loss_anomaly" not in report.coverage.skipped
    assert _finding(report) is None


def test_a_healthy_two_epoch_linear_evaluation_is_not_judged():
    report = _report(LOGS / "fresh114/kerasio-barlow-twins-lineval-2ep/train.log", {"num_classes": 10})
    assert report.coverage.skipped["initial_loss_anomaly"].startswith("only 2 finite loss point(s)")
    assert _finding(report) is None
