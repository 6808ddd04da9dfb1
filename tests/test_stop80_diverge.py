"""Two changes of stop 80 to ``divergence``, on synthetic series, real logs read in place and their twins.

**An accuracy withdraws a rise only when it held over the whole rise** (``_accuracy_held`` with
``_rise_start``): the accuracy is compared from the loss's best report, the point the finding measures its
rise from, not from the onset a rule places where the loss reached the level it holds. An accuracy that
fell while the loss climbed to that onset and came partly back did not hold through the rise.

**A loss at the absurd scale to the end is judged on fewer than three finite reports**
(``_absurd_witness`` in ``_needs``): ``absurd_loss``'s rule counts a non-finite report after an absurd one
as still at that scale, so the three finite reports the other rules need are no requirement of it."""

from __future__ import annotations

from pathlib import Path

import torch
from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect import divergence
from lrdoctor.detect.divergence import DEFAULTS, joint_level
from lrdoctor.finding import Severity
from series_helpers import divergence_findings as _divergence

torch.set_num_threads(1)

_DISTILBERT_LORA = "fresh1266/paduraru2009-distilbert-lora-text-classification/training_results.md"
_FAKE_NEWS_EDGE = "fresh859/poojithpoosa-fakenew-model/training_results.md"
_CATS_DOGS = "fresh383/hfcard-efederici-convnext-base-cats-dogs-fe35432/training_results.md"
_CSN_HEALTHY = "fresh814/loveu-csn-2cls-2000ms-e11/20210405_051026.log.json"
_YOLACT = "fresh152/yolact-586-loss-explosion-iter197950/paste.txt"



def _table(tmp_path: Path, loss, eval_loss, accuracy) -> lrdoctor.Run:
    """A Trainer-like table, one row per evaluation: step, training loss, evaluation loss, accuracy."""
    rows = ["step,loss,eval_loss,eval_accuracy"] + [
        f"{100 * (i + 1)},{a},{b},{c}" for i, (a, b, c) in enumerate(zip(loss, eval_loss, accuracy))]
    return lrdoctor.read(write_lines(tmp_path / "log.csv", rows))


# -- the accuracy judged over the whole rise ---------------------------------------------------------

_LOSS = [0.40, 0.46, 0.48, 0.50, 0.49, 0.56, 0.52, 0.47]
_EVAL = [0.50, 0.47, 0.45, 0.44, 0.52, 0.56, 0.53, 0.52]
#: falls 5 points while the loss climbs to the joint step, then comes back to within 3 of its best
_ACC_DIPPED = [0.90, 0.88, 0.87, 0.86, 0.85, 0.88, 0.885, 0.885]
#: stays within 3 points of its best at every report after the best
_ACC_HELD = [0.90, 0.89, 0.89, 0.885, 0.88, 0.885, 0.89, 0.89]


def test_an_accuracy_that_dipped_during_the_climb_does_not_withdraw_the_rise(tmp_path):
    """Training loss best 0.40 at the first report, a climb, then both losses step up together at the
    sixth (0.49 -> 0.56, 0.52 -> 0.56) and hold (the joint new level). Read from that onset the accuracy
    0.88-0.885 is within 3 points of its best 0.90, and the rise was withdrawn; read from the best report,
    as the finding's rise is, it fell to 0.85 on the way: it did not hold, and the warning stands."""
    run = _table(tmp_path, _LOSS, _EVAL, _ACC_DIPPED)
    assert joint_level(run, DEFAULTS.joint_jump, DEFAULTS.relative_floor, DEFAULTS.start_level, DEFAULTS.joint_hold) == (0, 5)
    assert divergence._accuracy_held(run, 600.0, DEFAULTS)  # from the onset alone: held
    assert not divergence._accuracy_held(run, 600.0, DEFAULTS, best=100.0)  # over the whole rise: not
    [f] = _divergence(lrdoctor.diagnose(run))
    assert f.severity is Severity.WARNING and f.start_step == 600.0 and f.evidence["best_step"] == 100.0
    assert divergence._rise_start(f) == 100.0


def test_an_accuracy_held_over_the_whole_rise_still_withdraws_it(tmp_path):
    """The twin: the same losses beside an accuracy within 3 points of its best at every report after the
    best report: the model answers as well as it did, and the rise is withdrawn, as before."""
    run = _table(tmp_path, _LOSS, _EVAL, _ACC_HELD)
    assert divergence._accuracy_held(run, 600.0, DEFAULTS, best=100.0)
    assert not _divergence(lrdoctor.diagnose(run))


def test_rise_start_is_the_best_report_before_the_onset():
    """``_rise_start``: the finding's ``best_step`` when it lies before its onset, else None."""
    from lrdoctor.finding import Finding

    def finding(best, start):
        return Finding("divergence", Severity.WARNING, start, start, "", {"best_step": best}, "")

    assert divergence._rise_start(finding(100.0, 600.0)) == 100.0
    assert divergence._rise_start(finding(600.0, 600.0)) is None
    assert divergence._rise_start(Finding("divergence", Severity.WARNING, 600.0, 600.0, "", {}, "")) is None


def test_a_lora_classifier_whose_accuracy_fell_during_the_climb_is_found():
    """A LoRA DistilBERT classifier at lr 1e-3, labelled divergence: training loss 0.4666 at epoch 1, then
    0.537-0.6447, 0.5419 at the end; accuracy 0.8414 -> 0.8051 during the climb, 0.8114-0.821 from the joint
    step at epoch 6 on (exactly 3 points below the best there). A warning from step 45000."""
    [f] = _divergence(lrdoctor.diagnose(lrdoctor.read(real_log(_DISTILBERT_LORA))))
    assert f.severity is Severity.WARNING and f.start_step == 45000.0 and f.evidence["best_step"] == 7500.0


def test_an_accuracy_held_from_a_first_best_still_withdraws_on_an_edge_card():
    """A BERT fake-news card (edge): training loss 0.115, 0.1348, 0.1306 beside a training accuracy of
    0.9805, 0.98, 0.9813; the best is the first report, and the accuracy held from it on: still silent, no
    error on an edge run."""
    assert not _divergence(lrdoctor.diagnose(lrdoctor.read(real_log(_FAKE_NEWS_EDGE))))


def test_healthy_runs_whose_accuracy_held_over_the_whole_rise_stay_silent():
    """Healthy twins of the shape: a ConvNeXt cats-and-dogs card and an mmaction CSN log, whose training
    loss rises (every report 2x its best; a climb at each of the last 4 reports) while an accuracy held
    within 3 points of its best from the loss's best report on: withdrawn, silent."""
    for rel in (_CATS_DOGS, _CSN_HEALTHY):
        run = lrdoctor.read(real_log(rel))
        few = divergence._few_point(run, DEFAULTS)
        assert few and divergence._accuracy_held(run, few[0].start_step, DEFAULTS, divergence._rise_start(few[0]))
        assert not _divergence(lrdoctor.diagnose(run))


# -- a loss at the absurd scale on fewer than three finite reports ----------------------------------


def test_absurd_scale_between_nans_is_judged(tmp_path):
    """An excerpt from mid-run (steps 5000-5030): NaN, 2.2e31, NaN: one finite report, at a scale no working
    run reaches, then non-finite: judged by the absurd-scale rule (an error); the same log at 2.2 is a lone
    finite report, not checked."""
    absurd = lrdoctor.read(write_lines(tmp_path / "a.csv", ["step,loss", "5000,nan", "5010,2.2e31", "5030,nan"]))
    assert divergence._absurd_witness(absurd) and divergence._needs(absurd) is None
    [f] = _divergence(lrdoctor.diagnose(absurd))
    assert f.severity is Severity.ERROR and f.start_step == 5010.0
    sane = lrdoctor.read(write_lines(tmp_path / "b.csv", ["step,loss", "5000,nan", "5010,2.2", "5030,nan"]))
    assert not divergence._absurd_witness(sane) and divergence._needs(sane) is not None
    report = lrdoctor.diagnose(sane)
    assert not _divergence(report) and "divergence" in report.coverage.skipped


def test_yolact_class_loss_at_1e31_between_nans_is_found():
    """YOLACT issue 586: at iteration 197950 B 2.1e31, C 1.07e30, T 2.24e31 between "Moving average ignored
    a value of nan/inf" warnings: one finite total, which the three-point requirement left unchecked."""
    [f] = _divergence(lrdoctor.diagnose(lrdoctor.read(real_log(_YOLACT))))
    assert f.severity is Severity.ERROR and f.evidence["loss_at_onset"] > 1e31
