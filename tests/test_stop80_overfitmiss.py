"""Stop 80 (overfitting's misses): the few-point undone rule reads GL_1 beside three witnesses.

On a log of 2 to ``min_after`` + 1 evaluations whose held-out loss rose at every evaluation after its
best and ended above its first, the undone rule asked GL_5 (``_undone_bar``). A three-epoch fine-tune
that undoes all its held-out progress rarely moves its settled held-out loss 5% in two epochs, and such
logs were missed (GPT-Neo 1.3B: validation loss 2.6645, 2.6694, 2.7338, while the training loss fell
2.7594 -> 1.9628). The rule now reads Prechelt's smallest generalisation-loss criterion, GL_1
(``trend_gl``), when three witnesses stand beside the rise, none of them its size
(``_undone_by_three``): a rise at each of ``up_strips_with_gl`` evaluations after the best (UP_2), the
first evaluation undone, and a training loss that fell from the best to the end (a training loss at
its floor is no fall). The vetoes stay: an accuracy or an error rate at a new best at the last
evaluation makes the rise over-confidence. One rise, or no training loss logged, keeps GL_5 or more."""

from __future__ import annotations

import numpy as np
from bench_logs import real_findings, real_log

import lrdoctor
from lrdoctor.detect.overfitting import DEFAULTS, _undone_by_three, detect
from series_helpers import columns_run as _run

# three evaluations, the first the best, then 2.6694 and 2.7338 (2.6% above it) while the training
# loss fell 2.7594 -> 1.9628 (unhealthy, overfitting labelled)
_GPT_NEO = "fresh462/gpt-neo-1.3b-lama-kimbyeongsu/training_results.md"
# four evaluations, best 3.3107 at the second, then 3.3409 and 3.4257 (3.5%, above the first 3.3838)
# while the training loss fell 3.0445 -> 2.4793 (unhealthy, overfitting labelled)
_GPT2_KANT = "fresh1116/anjoe-kant-gpt2-large-4ep/training_results.md"
# the twins (healthy): FNet on RTE, validation loss 0.6657 -> 0.6784 -> 0.6978 (4.8%) while the
# training loss fell, its accuracy rising to its best at the last evaluation (over-confidence); and a
# DistilBERT on SQuAD whose validation loss rose once, 1.1042 -> 1.1519 (4.3%, above the first)
_FNET_RTE = "fresh113/hfcard-gchhablani-fnet-base-rte/training_results.md"
_DISTILBERT_SQUAD = "fresh993/thsohn-distilbert-squad-unknown/training_results.md"



def _kinds(run) -> set[str]:
    return {f.kind for f in detect(run)}


def test_three_witnesses_need_two_rises_and_a_training_loss_that_fell():
    assert _undone_by_three(2, 2.7594, 1.9628, DEFAULTS)
    assert not _undone_by_three(1, 2.7594, 1.9628, DEFAULTS)  # one rise: GL_5 stays
    assert not _undone_by_three(2, 0.0, 0.0, DEFAULTS)  # a training loss at its floor is no fall
    assert not _undone_by_three(2, 1.9, 2.0, DEFAULTS)


def test_synthetic_rise_of_gl_1_to_gl_5_undoing_the_first_evaluation_is_overfitting():
    ev, tr = [2.664, 2.669, 2.734], [2.759, 2.268, 1.963]
    assert 0.01 < ev[-1] / ev[0] - 1 < DEFAULTS.generalization_loss
    (f,) = detect(_run(eval_loss=ev, loss=tr))
    assert f.kind == "overfitting" and f.evidence["eval_min"] == 2.664
    assert f.evidence["generalization_loss"] > DEFAULTS.trend_gl


def test_synthetic_twins_stay_silent():
    # under GL_1: a settled held-out loss ticking up by a hair
    assert not _kinds(_run(eval_loss=[2.664, 2.666, 2.668], loss=[2.759, 2.268, 1.963]))
    # one rise after the best (the best in the middle), 3% and above the first: GL_5 is asked
    assert not _kinds(_run(eval_loss=[2.70, 2.664, 2.744], loss=[2.759, 2.268, 1.963]))
    # two rises but ending below the first evaluation: progress not undone
    assert not _kinds(_run(eval_loss=[2.80, 2.664, 2.70, 2.744], loss=[2.9, 2.759, 2.268, 1.963]))
    # the training loss did not fall: no fitting to witness
    assert not _kinds(_run(eval_loss=[2.664, 2.669, 2.734], loss=[2.0, 2.1, 2.2]))
    # an accuracy at a new best at the last evaluation: over-confidence
    assert not _kinds(_run(eval_loss=[2.664, 2.669, 2.734], loss=[2.759, 2.268, 1.963],
                           eval_accuracy=[0.5, 0.52, 0.55]))


def test_real_gpt_neo_three_epochs_undone_is_overfitting():
    (f,) = real_findings(_GPT_NEO, "overfitting")
    assert f.severity.rank >= 1 and f.evidence["eval_min"] == 2.6645


def test_real_gpt2_kant_four_epochs_undone_is_overfitting():
    (f,) = real_findings(_GPT2_KANT, "overfitting")
    assert f.evidence["eval_min"] == 3.3107 and 0.03 < f.evidence["generalization_loss"] < 0.05


def test_real_healthy_twins_stay_silent():
    run = lrdoctor.read(real_log(_FNET_RTE))
    ev = run.series("eval_loss").values
    assert (np.diff(ev) > 0).all() and 0.01 < ev[-1] / ev[0] - 1 < 0.05  # the same shape
    assert not real_findings(_FNET_RTE, "overfitting")
    assert not real_findings(_DISTILBERT_SQUAD, "overfitting")
