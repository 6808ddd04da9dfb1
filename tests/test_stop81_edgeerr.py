"""Stop 81, errors on healthy and edge runs (the edgeerr pool): task-metric errors whose log could not
prove what the error claims.

**An evaluation accuracy of exactly 0 beside an evaluation loss under ln 10 is a warning**
(``_progress.chance.eval_loss_says_some_right``, ``progress._zero_accuracy_beside_a_low_loss``). The
no-learning rules that read a task metric (``_accuracy_at_chance``'s "never rose above chance",
``_pinned_task_metric``'s "exactly 0 at every evaluation") call an accuracy of 0 a model that never
learned. When the evaluation loss of the same evaluations, positive at each, has a median under
``zero_acc_max_loss`` (ln 10), read as a cross-entropy it puts on average at least 10% on the true
class, so some predictions are right: the log contradicts itself, and the accuracy is the broken
part (a GCN for binary link prediction: val_acc 0.0000e+00 at all nine epochs beside a val_loss
about ln 2). Only the evaluation loss: a training loss is no loss of the evaluated predictions (PEFT
on MetaMathQA: a generative accuracy 0.0 at 20 evaluations beside a training loss of 1.2, labelled
unhealthy, keeps its error).

**A task-metric error within the first epoch of a log with no loss at all is a warning**
(``progress._first_epoch_without_a_loss``). Within the run's first epoch a classifier trained from
scratch may still score 1/K (0 at the printed digits for tens of thousands of identities, and a
large-margin loss holds its training accuracy at 0 for thousands of batches); only the loss could
tell a slow start from a dead run (``still_falling``), and a log without one cannot. With a loss
logged, that loss decides as before (insightface with its flat loss, labelled unhealthy, keeps its
error), and so does a run past its first epoch.
"""

from __future__ import annotations

import math

import lrdoctor
from bench_logs import real_log
from series_helpers import columns_run, findings_of

from lrdoctor.detect._progress.chance import eval_loss_says_some_right
from lrdoctor.detect.progress import DEFAULTS, detect_slow_progress
from lrdoctor.finding import Severity

# edge, labelled slow_progress: val_acc 0.0 at all 9 epochs, val_loss 0.64-0.79 (median 0.684), 2 classes
_GCN_LINKPRED_EDGE = "fresh144/stellargraph-1843-gcn-linkpred-acc-zero/paste.txt"
# edge, labelled slow_progress: a reward model's accuracy 0.0 at 5 evaluations, validation loss 0.273 -> 0.171
_REWARD_MODEL_EDGE = "fresh1116/bradmin-reward-gpt-duplicate-answer-300/training_results.md"
# twins that keep their error: the accuracy 0 beside an evaluation loss above ln 10 (unhealthy: ResNet-18
# on EuroSAT, validation loss 3.35-3.57), beside a training loss only (unhealthy: PEFT on MetaMathQA),
# and a pinned accuracy that is not 0 beside a low evaluation loss (edge: BEiT, 0.4565 at 5 evaluations)
_EUROSAT_UNHEALTHY = "fresh586/hf-satani-resnet18-eurosat/training_results.txt"
_METAMATH_UNHEALTHY = "fresh80/peft-metamath-ln-tuning-default/ln_tuning--llama-3.2-3B-default.metrics.json"
_BEIT_PINNED_EDGE = "fresh1034/augusto777-beit-base-patch16-224-ve-u13-b-80/training_results.md"
# edge, labelled slow_progress: MXNet insightface, acc=0.000000 within epoch 0, no loss printed
_ARCFACE_EARLY_EDGE = "fresh161/insightface-405-arcface-acc-zero/train.log"
_INSIGHTFACE_EARLY_EDGE = "fresh131/insightface-74-default-config-acc-zero-early/paste.txt"
# twins that keep their error: within epoch 0 beside a flat logged loss (unhealthy), no loss but at
# epoch 5 (unhealthy), and an edge detector whose mAP sat at 0 at epochs 4-6 beside its losses
_INSIGHTFACE_FLAT_LOSS_UNHEALTHY = "fresh131/insightface-807-vargfacenet-verif-chance/paste.txt"
_INSIGHTFACE_EPOCH5_UNHEALTHY = "fresh131/insightface-256-mobilefacenet-glint-acc-zero/paste.txt"
_YOLO_MAP_ZERO_EDGE = "fresh152/ultralytics-22209-cpu-map-zero-epochs4-6/paste.txt"


def _slow(rel: str, **config) -> list:
    report = lrdoctor.diagnose(lrdoctor.read(real_log(rel), config=config or None))
    return [f for f in findings_of(report, "slow_progress") if f.severity is not Severity.INFO]


# ---- an evaluation accuracy of exactly 0 beside an evaluation loss under ln 10

def _zero_accuracy_run(eval_loss: list[float] | None, loss: list[float]):
    cols = {"loss": loss, "eval_accuracy": [0.0] * len(loss)}
    if eval_loss is not None:
        cols["eval_loss"] = eval_loss
    return columns_run(**cols)


def test_the_median_evaluation_loss_under_ln_10_says_some_answers_are_right():
    assert math.isclose(DEFAULTS.zero_acc_max_loss, math.log(10.0), rel_tol=1e-6)
    low = [0.27, 0.23, 0.19, 0.18, 0.17]  # median 0.19: e^-0.19 = 83% on the true class on average
    run = _zero_accuracy_run(low, [0.27, 0.28, 0.2, 0.2, 0.13])
    [f] = detect_slow_progress(run)
    assert f.severity is Severity.WARNING and f.evidence["eval_loss_says_some_right"] == 0.19
    assert eval_loss_says_some_right(run, f, DEFAULTS) == 0.19 and "not the model's" in f.summary
    high = [2.6, 2.5, 2.4, 2.35, 2.31]  # median 2.4, above ln 10 = 2.3026: no claim that any answer is right
    [f] = detect_slow_progress(_zero_accuracy_run(high, [2.6, 2.5, 2.45, 2.4, 2.4]))
    assert f.severity is Severity.ERROR and eval_loss_says_some_right(_zero_accuracy_run(high, [2.6] * 5), f, DEFAULTS) is None
    [f] = detect_slow_progress(_zero_accuracy_run(None, [1.3, 1.28, 1.27, 1.26, 1.25]))  # a training loss only
    assert f.severity is Severity.ERROR and "eval_loss_says_some_right" not in f.evidence
    zeros = [0.0] * 5  # a loss of exactly 0 is no cross-entropy a model reaches by learning
    [f] = detect_slow_progress(_zero_accuracy_run(zeros, [0.3, 0.3, 0.2, 0.2, 0.1]))
    assert f.severity is Severity.ERROR


def test_edge_zero_accuracies_beside_a_low_evaluation_loss_are_warnings():
    [f] = _slow(_GCN_LINKPRED_EDGE, num_classes=2)
    assert f.severity is Severity.WARNING and 0.6 < f.evidence["eval_loss_says_some_right"] < 0.7
    [f] = _slow(_REWARD_MODEL_EDGE)
    assert f.severity is Severity.WARNING and 0.18 < f.evidence["eval_loss_says_some_right"] < 0.2


def test_twins_without_a_low_evaluation_loss_or_without_a_zero_keep_their_error():
    for rel in (_EUROSAT_UNHEALTHY, _METAMATH_UNHEALTHY, _BEIT_PINNED_EDGE):
        [f] = _slow(rel)
        assert f.severity is Severity.ERROR and "eval_loss_says_some_right" not in f.evidence, rel


# ---- a task-metric error within the first epoch of a log with no loss at all

def test_a_zero_accuracy_within_the_first_epoch_without_a_loss_is_a_warning():
    zero = [0.0] * 13
    [f] = detect_slow_progress(columns_run(acc=zero, epoch=[0.0] * 13))
    assert f.severity is Severity.WARNING and f.evidence["within_first_epoch"] is True
    assert "too early to call" in f.summary
    [f] = detect_slow_progress(columns_run(acc=zero, epoch=[2.0] * 13))  # past the first epoch
    assert f.severity is Severity.ERROR and "within_first_epoch" not in f.evidence
    [f] = detect_slow_progress(columns_run(acc=zero, epoch=[0.0] * 13, loss=[16.0, 15.98] * 6 + [15.99]))  # a flat loss logged
    assert f.severity is Severity.ERROR and "within_first_epoch" not in f.evidence


def test_edge_first_epoch_zero_accuracies_without_a_loss_are_warnings():
    for rel in (_ARCFACE_EARLY_EDGE, _INSIGHTFACE_EARLY_EDGE):
        [f] = _slow(rel)
        assert f.severity is Severity.WARNING and f.evidence["within_first_epoch"] is True, rel


def test_twins_with_a_loss_or_past_the_first_epoch_keep_their_error():
    for rel in (_INSIGHTFACE_FLAT_LOSS_UNHEALTHY, _INSIGHTFACE_EPOCH5_UNHEALTHY, _YOLO_MAP_ZERO_EDGE):
        [f] = _slow(rel)
        assert f.severity is Severity.ERROR and "within_first_epoch" not in f.evidence, rel
