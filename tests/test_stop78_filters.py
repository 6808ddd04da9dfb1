"""Stop 78, ``filter_findings``: two narrower readings of what a blow-up and a never-learned run explain.

**A non-finite training column beside a finite evaluation loss explains no stuck model.** The
filter drops an error-level ``slow_progress`` once a non-finite loss fires: a network whose weights
went NaN prints a stuck metric for that reason alone. An evaluation is of the weights as they stand,
so an evaluation loss finite at every evaluation from the first non-finite report on says the
weights stayed finite: the NaN or inf is the training column's own computation (CTC's inf for an
utterance shorter than its transcript, numpy's mean of an empty list), and a model stuck at chance
beside it is stuck on its own account. The ``nonfinite`` finding carries ``eval_loss_finite``
(``nonfinite._eval_loss_finite_after``) and the filter keeps the stuck error beside it
(``detect._stuck_with_finite_weights``). No threshold: finite at every evaluation, or not.

**An overfitting whose held-out loss left chance's band upwards is no never-learned noise.** Beside
the stuck-at-chance error, an overfitting whose training loss is still within ``chance_flat`` of
ln K is dropped: a model answering near-uniform probabilities drifts around ln K by a few percent.
A held-out loss that ended more than that band *above* ln K is confident, wrong held-out answers, a
model that fitted something of its training set (``detect._above_chance``, the band of
``detect._at_chance`` read upwards: no new threshold)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect import filter_findings
from lrdoctor.detect.nonfinite import _eval_loss_finite_after
from lrdoctor.detect.progress import DEFAULTS as PROGRESS
from lrdoctor.finding import Finding, Severity

# a non-finite training loss beside a finite evaluation loss, labelled nonfinite and slow_progress
_LASAGNE_EMPTY = "fresh131/lasagne-529-nolearn-train-nan-valid-acc-zero/paste.txt"  # 12 classes
_XLSR_TR = "fresh606/yamanoko-xlsr-tr-colab/training_results.md"
# edge twin: NaN training loss beside a finite evaluation loss whose task metric moved
_T5_SPARQL_EDGE = "fresh342/hfcard-t5-sparql-2021-10-18/training_results.md"
# unhealthy, labelled nonfinite only: the evaluation loss went NaN too, the stuck accuracy is the blow-up's
_KERAS_MNIST_NAN = "fresh173/keras-4404-mnist-cnn-nan/paste.txt"  # 10 classes
# labelled slow_progress and overfitting: the training loss at chance, the validation loss at 2.3x ln 2
_FAKENEWS = "fresh468/denyol-fakenews-roberta-large/training_results.md"
# labelled slow_progress only: the held-out loss drifted within the band of ln K
_MINDS14 = "fresh230/hf-w2v2-taurine511-minds14-chance/training_results.md"  # 14 classes
_WNLI = "fresh113/hfcard-gchhablani-bert-large-wnli/training_results.md"  # 2 classes


def _findings(path: Path, **config) -> list[Finding]:
    return lrdoctor.diagnose(lrdoctor.read(path, config=config or None)).findings


# --- a non-finite training loss beside a finite evaluation loss -------------------------------------

def _csv(tmp_path: Path, eval_losses: list[str]) -> lrdoctor.Run:
    rows = ["step,loss,val_loss"] + [f"{i + 1},{'nan' if i >= 2 else 2.3},{v}" for i, v in enumerate(eval_losses)]
    return lrdoctor.read(write_lines(tmp_path / "log.csv", rows))


def test_eval_loss_finite_after_reads_every_evaluation_from_the_step_on(tmp_path):
    run = _csv(tmp_path, ["2.31", "2.30", "2.30", "2.29", "2.30"])
    assert _eval_loss_finite_after(run, 3.0)
    assert not _eval_loss_finite_after(run, 6.0)  # no evaluation at or after it: nothing shows finite weights
    run = _csv(tmp_path, ["2.31", "2.30", "2.30", "nan", "2.30"])
    assert not _eval_loss_finite_after(run, 3.0)  # one NaN evaluation after the blow-up: the weights went
    assert _eval_loss_finite_after(run, 5.0)
    run = _csv(tmp_path, ["nan", "2.30", "2.30", "2.29", "2.30"])
    assert _eval_loss_finite_after(run, 3.0)  # an evaluation before the training NaN is not read


def test_nonfinite_loss_carries_eval_loss_finite(tmp_path):
    from lrdoctor.detect.nonfinite import detect

    (f,) = [f for f in detect(_csv(tmp_path, ["2.31", "2.30", "2.30", "2.29", "2.30"])) if f.severity is Severity.ERROR]
    assert f.evidence["metric"] == "loss" and f.evidence["eval_loss_finite"] is True
    (f,) = [f for f in detect(_csv(tmp_path, ["2.31", "2.30", "nan", "nan", "nan"])) if f.severity is Severity.ERROR]
    assert "eval_loss_finite" not in f.evidence


def _nan_loss(**ev) -> Finding:
    return Finding("nonfinite", Severity.ERROR, 3.0, 5.0, "loss nan", {"metric": "loss", **ev}, "")


def _stuck(severity: Severity = Severity.ERROR) -> Finding:
    ev = {"metric": "eval_accuracy", "value": 0.0, "points": 5, "rule": "never left 0"}
    return Finding("slow_progress", severity, 1.0, 5.0, "stuck", ev, "")


def test_filter_keeps_the_stuck_error_beside_finite_weights_only():
    assert [f.kind for f in filter_findings([_nan_loss(eval_loss_finite=True), _stuck()])] == ["nonfinite", "slow_progress"]
    assert [f.kind for f in filter_findings([_nan_loss(), _stuck()])] == ["nonfinite"]
    # a warning-level rate is still the blow-up's, as before a divergence
    assert [f.kind for f in filter_findings([_nan_loss(eval_loss_finite=True), _stuck(Severity.WARNING)])] == ["nonfinite"]
    # another blow-up beside it still explains the stuck model
    div = Finding("divergence", Severity.ERROR, 0.0, 5.0, "diverged", {}, "")
    assert [f.kind for f in filter_findings([_nan_loss(eval_loss_finite=True), div, _stuck()])] == ["nonfinite", "divergence"]


@pytest.mark.parametrize("rel,config", [(_LASAGNE_EMPTY, {"num_classes": 12}), (_XLSR_TR, {})])
def test_real_nan_training_loss_beside_finite_eval_loss_keeps_slow_progress(rel, config):
    found = _findings(real_log(rel), **config)
    nonfinite = [f for f in found if f.kind == "nonfinite" and f.severity is Severity.ERROR]
    assert nonfinite and nonfinite[0].evidence["metric"] == "loss" and nonfinite[0].evidence["eval_loss_finite"]
    assert any(f.kind == "slow_progress" and f.severity is Severity.ERROR for f in found)


def test_twins_stay_as_they_were():
    # edge: the same shape with a task metric that moved: no slow_progress, the nonfinite error unchanged
    found = _findings(real_log(_T5_SPARQL_EDGE))
    assert [f.kind for f in found if f.severity.rank >= 1] == ["nonfinite"]
    assert found[0].severity is Severity.ERROR and found[0].evidence["eval_loss_finite"]
    # the evaluation loss went NaN too: the stuck accuracy stays the blow-up's
    found = _findings(real_log(_KERAS_MNIST_NAN), num_classes=10)
    assert "slow_progress" not in {f.kind for f in found}
    assert not any(f.evidence.get("eval_loss_finite") for f in found if f.kind == "nonfinite")


# --- an overfitting whose held-out loss left chance's band upwards ----------------------------------

def _chance(ln_k: float) -> Finding:
    ev = {"num_classes": 2, "ln_k": ln_k, "loss_median_late": ln_k, "loss_min": 0.98 * ln_k, "points": 5}
    return Finding("slow_progress", Severity.ERROR, 1.0, 5.0, "stuck at chance", ev, "")


def _overfit(eval_last: float, train_last: float | None = 0.67) -> Finding:
    ev = {"eval_min_step": 2.0, "eval_min": 0.6947, "eval_last": eval_last, "generalization_loss": eval_last / 0.6947 - 1}
    if train_last is not None:
        ev.update(train_at_eval_min=0.7097, train_last=train_last)
    return Finding("overfitting", Severity.WARNING, 2.0, 5.0, "eval loss rose", ev, "")


def test_held_out_loss_above_the_chance_band_keeps_overfitting():
    ln2 = math.log(2)
    edge = (1 + PROGRESS.chance_flat) * ln2  # 0.7625
    for train_last in (0.67, None):  # with a training loss at chance, and judged from evaluations alone
        assert [f.kind for f in filter_findings([_chance(ln2), _overfit(1.5704, train_last)])] == ["slow_progress", "overfitting"]
        assert [f.kind for f in filter_findings([_chance(ln2), _overfit(edge + 0.001, train_last)])] == ["slow_progress", "overfitting"]
        assert [f.kind for f in filter_findings([_chance(ln2), _overfit(edge - 0.001, train_last)])] == ["slow_progress"]
    # no ln K to read the band from: nothing changes
    assert [f.kind for f in filter_findings([_chance(float("nan")), _overfit(1.5704)])] == ["slow_progress", "overfitting"]


def test_real_fake_news_run_keeps_its_overfitting():
    found = _findings(real_log(_FAKENEWS))
    assert any(f.kind == "slow_progress" and f.severity is Severity.ERROR for f in found)
    (o,) = [f for f in found if f.kind == "overfitting"]
    assert o.severity is Severity.WARNING and o.evidence["eval_last"] > (1 + PROGRESS.chance_flat) * math.log(2)


@pytest.mark.parametrize("rel,k", [(_MINDS14, 14), (_WNLI, 2)])
def test_held_out_loss_within_the_band_stays_the_stuck_errors(rel, k):
    found = _findings(real_log(rel), num_classes=k)
    assert any(f.kind == "slow_progress" and f.severity is Severity.ERROR for f in found)
    assert "overfitting" not in {f.kind for f in found}
