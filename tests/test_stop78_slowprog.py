"""Two changes of stop 78 to ``slow_progress``, on their arithmetic and real logs read in place.

**A word error rate's percentage reading needs a trained model.** A WER that never left 0.9-1.4 is
read as a fraction (90-140% errors, a model that recognises nothing) because every print, read as a
percentage, would beat the best published WER (``best_published_wer``). The one exception was a run
whose training loss alone fell by half: a model near 1% errors that keeps fitting its training set.
That exception now also needs the training loss to have learned by its first report (below
``fitted_start_loss``, ln 2, where no untrained classifier starts): a CTC head that starts at 6-23
nats is learning from scratch, so its WER of 0.98-1.09 is the fraction, while a pretrained Whisper
whose first report is 0.02 keeps its percentage reading.

**An evaluation score pinned after its first evaluation.** An evaluation score (the accuracy or the
score in its role, an error rate) that prints one single value at every evaluation after the first,
the first being worse, is a constant predictor whose predictions moved once and never again: a
warning (``_pinned_after_the_first``). A score that fell back to its value (a collapse) and a score
converged near its ceiling stay silent."""

from __future__ import annotations

import math

from bench_logs import real_findings, real_log

import lrdoctor
from lrdoctor.detect.progress import DEFAULTS, detect_slow_progress
from lrdoctor.detect._progress.chance import (
    INFERRED_FRACTION_RULE,
    PINNED_AFTER_FIRST_RULE,
    _fitted_at_first_report,
    _only_training_loss_fell,
    _pinned_after_the_first,
    _printed_granularity,
)
from lrdoctor.finding import Severity
from series_helpers import columns_run as _run

# WER never below 0.9, every print under 1.4, a training loss that alone fell, from 6-23 nats
_XLSR_HINDI = "fresh1349/infinitejoy-wav2vec2-large-xls-r-300m-hindi-ff43006/training_results.md"
_XLSR_SPANISH = "fresh1306/santiagot1105-wav2vec2-large-xlsr-finetune-spanish-col/training_results.md"
_XLSR_TORGO = "fresh1311/yip-i-torgo-xlsr-finetune-m02-2/training_results.md"
# the percentage twin: Whisper-small whose training loss starts at 0.0204 (labelled overfitting only)
_WHISPER_VI = "fresh222/hfcard-phucdyale-whisper-small-vi/training_results.txt"
# a healthy XLS-R fine-tune whose WER sat at 0.93-1.0 while its CER learned
_XLSR_CZECH = "fresh907/badrex-xlsr-czech/training_results.md"

# evaluation scores pinned after the first evaluation
_BERT_COVID_OVERSAMPLED = "fresh549/raychanan-bert-wwm-covid-randomover/training_results.md"
_BERT_AIRLINES = "fresh704/dahe827-bert-cased-airlines-news-ml/training_results.md"
# a SetFit run on 13 evaluation examples: 11/13 printed 0.8462 at 14 epochs while its training loss fell 200x
_SETFIT_TINY = "fresh332/setfit-distilbert-sst2-32-6/training_results.md"
# healthy and edge twins: pinned after the first, but near the ceiling; and a collapse
_EFFNET_20PCT = "fresh321/mrdb-07-exp5-effnetb0-20pct-5ep/07_pytorch_experiment_tracking.ipynb.cell29.txt"
_BERT_SPAM = "fresh430/facehugger135-bert-spam-1-2/training_results.md"
_FRAMING_COLLAPSE = "fresh807/ariyanh22-framing-30aug-multi/training_results.md"





# --- the percentage reading of a WER needs a model trained at its first report -----------------------


def test_the_percentage_exception_needs_a_training_loss_below_ln_2_at_its_first_report():
    assert math.isclose(DEFAULTS.fitted_start_loss, math.log(2.0))
    eval_loss = [3.4, 4.5, 5.1, 5.6, 5.8]  # the evaluation loss rose: only the training loss fell
    scratch = _run(loss=[6.08, 0.23, 0.06, 0.03, 0.01], eval_loss=eval_loss)
    trained = _run(loss=[0.0204, 0.0005, 0.0003, 0.0002, 0.0002], eval_loss=eval_loss)
    assert not _fitted_at_first_report(scratch, DEFAULTS) and not _only_training_loss_fell(scratch, DEFAULTS)
    assert _fitted_at_first_report(trained, DEFAULTS) and _only_training_loss_fell(trained, DEFAULTS)


def test_a_wer_near_one_beside_a_from_scratch_fall_is_the_fraction_of_no_recognition():
    wer = [1.0081, 1.0255, 1.087, 1.0789, 1.094]
    eval_loss = [3.4, 4.5, 5.1, 5.6, 5.8]
    scratch = _run(loss=[6.08, 0.23, 0.06, 0.03, 0.01], eval_loss=eval_loss, eval_wer=wer)
    trained = _run(loss=[0.0204, 0.0005, 0.0003, 0.0002, 0.0002], eval_loss=eval_loss, eval_wer=wer)
    found = detect_slow_progress(scratch)
    assert found and found[0].evidence["rule"] == INFERRED_FRACTION_RULE and found[0].severity is Severity.WARNING
    assert detect_slow_progress(trained) == []


def test_xlsr_runs_whose_wer_never_left_one_are_found():
    for rel in (_XLSR_HINDI, _XLSR_SPANISH, _XLSR_TORGO):
        found = real_findings(rel, "slow_progress")
        assert found and found[0].evidence.get("rule") == INFERRED_FRACTION_RULE, rel
        assert found[0].severity is Severity.WARNING


def test_the_whisper_percentage_twin_and_a_healthy_xlsr_stay_silent():
    run = lrdoctor.read(real_log(_WHISPER_VI))
    assert float(run.series("loss").finite().values[0]) < DEFAULTS.fitted_start_loss
    assert real_findings(_WHISPER_VI, "slow_progress") == []
    run = lrdoctor.read(real_log(_XLSR_CZECH))
    wer = run.series("eval_wer").finite().values
    assert wer.min() >= 0.9 and wer.max() < DEFAULTS.best_published_wer  # the same band
    assert [f for f in real_findings(_XLSR_CZECH, "slow_progress") if f.severity.rank >= 1] == []


# --- an evaluation score pinned after the first evaluation ----------------------------------------


def test_a_score_pinned_after_its_first_evaluation_is_a_warning():
    assert _printed_granularity(0.8462, 1e-4, 50) == 13 and _printed_granularity(0.8533, 1e-4, 50) == 51
    # five evaluations after the first (``pinned_points``): no start of training to show is needed
    eval_loss = [0.52, 0.32, 0.31, 0.31, 0.31, 0.31]
    loss = [0.39, 0.39, 0.39, 0.39, 0.39, 0.39]
    pinned = _run(loss=loss, eval_loss=eval_loss, eval_accuracy=[0.7888] + [0.8533] * 5)
    got = _pinned_after_the_first(pinned, DEFAULTS)
    assert got is not None and got.severity is Severity.WARNING
    assert got.evidence["rule"] == PINNED_AFTER_FIRST_RULE and got.evidence["points"] == 5 and got.evidence["first"] == 0.7888
    # the same picture on four evaluations after the first needs a log from the start: this one has no step column
    assert _pinned_after_the_first(_run(loss=loss[:5], eval_loss=eval_loss[:5], eval_accuracy=[0.7888] + [0.8533] * 4), DEFAULTS) is None


def test_a_collapse_a_ceiling_a_moving_score_or_one_pinned_throughout_is_not():
    loss = [1.13, 0.88, 0.82, 1.01, 0.79, 0.80]
    eval_loss = [0.90, 0.85, 0.86, 0.84, 0.85, 0.85]
    for acc in ([0.5773] + [0.5455] * 5,  # fell back to one value: a collapse
                [0.8655] + [0.9176] * 5,  # an accuracy above 90%: converged
                [0.6395, 0.6449, 0.6452, 0.6449, 0.6449, 0.6449],  # moved after the first
                [0.6449] * 6):  # pinned throughout: _pinned_task_metric's
        assert _pinned_after_the_first(_run(loss=loss, eval_loss=eval_loss, eval_accuracy=acc), DEFAULTS) is None, acc


def test_cards_whose_score_froze_after_the_first_evaluation_are_found():
    for rel in (_BERT_COVID_OVERSAMPLED, _BERT_AIRLINES):
        found = real_findings(rel, "slow_progress")
        assert found and found[0].evidence.get("rule") == PINNED_AFTER_FIRST_RULE, rel
        assert found[0].severity is Severity.WARNING


def test_twins_pinned_near_the_ceiling_after_a_collapse_or_on_a_tiny_set_stay_silent():
    for rel in (_EFFNET_20PCT, _BERT_SPAM, _FRAMING_COLLAPSE, _SETFIT_TINY):
        assert [f for f in real_findings(rel, "slow_progress") if f.severity.rank >= 1] == [], rel
