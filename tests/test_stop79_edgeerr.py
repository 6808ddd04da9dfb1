"""Stop 79, errors on healthy and edge runs: two readings whose evidence was weaker than their error.

**The joint last-report jump needs an evaluation the run never came back from**
(``divergence.eval_came_back_from``). ``joint_last_jump`` calls the last report a divergence when
the training loss and the evaluation loss there are both ``few_factor`` x their best: the evaluation
is of the weights as they stand, so the two together say the weights got worse. When an earlier
evaluation was at least as high as the last one and the evaluation loss came back below
``few_factor`` x its best after it, the weights already scored that badly once and recovered: the
last evaluation is within the evaluations' own swings and confirms nothing. No new threshold.

**A score pinned at one value beside a moving generated length is a warning**
(``progress._outputs_moved``). The pinned-score error (``UNCHANGED_RULE``) says the predictions never
changed. ``gen_len`` is the mean token count of the outputs generated at an evaluation, kept to its
last digit by outputs that do not change; one that moves over the same evaluations refutes the
error's own reading. A score that did not follow outputs that moved is left as a warning: the log
cannot tell a model that never came nearer its references from a scorer that does not read them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bench_logs import real_findings, real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect._progress.chance import UNCHANGED_RULE
from lrdoctor.detect._progress.generation import generated_length_moved
from lrdoctor.detect.divergence import DEFAULTS, eval_came_back_from, joint_last_jump
from lrdoctor.finding import Severity

# edge, no kind labelled: a class-weighted fraud MLP whose validation loss swung to 0.2156 at epoch 20
# and back to 0.0097 at epoch 23 before its last, 0.1205
_FRAUD_EDGE = "fresh8/keras-kerasio-imbalanced-fraud/imbalanced_classification.log"
# labelled divergence: the last report's jump to a level no earlier evaluation reached (nnU-Net 2290), or
# one the evaluations reached and never came back from (a BERT whose losses jumped to ln 2 and stayed)
_NNUNET_BLOWUP = "fresh4/text-nnunet-issue2290-2d-blowup/issue2290.log"
_BERT_PT_JUMP = "fresh1176/liaad-lvi-bert-large-portuguese-cased-36bec4e/training_results.md"
# labelled slow_progress: a score pinned at one value while the mean generated length moved
_MT5_LOWER_EDGE = "fresh1051/atena77-mt5-small-lower/training_results.md"
_CODET5_V25_EDGE = "fresh791/chathuranga-codet5-small-v25/training_results.md"
_CODET5_V14 = "fresh398/hfcard-chathuranga-jayanath-codet5-small-v14/training_results.txt"
# twins, labelled slow_progress: the score pinned and the generated length pinned with it
_OPUS_DUMMY_EDGE = "fresh320/opusmt-en-ar-dummydata-ar-to-en/training_results.md"


def _table(tmp_path: Path, name: str, header: str, rows: list[tuple]) -> lrdoctor.Run:
    lines = [header] + [",".join(str(v) for v in row) for row in rows]
    return lrdoctor.read(write_lines(tmp_path / name, lines))


# -- the joint last-report jump ------------------------------------------------------------------------

def test_eval_came_back_from_reads_an_earlier_swing_and_its_recovery():
    f = DEFAULTS.few_factor
    # 0.2156 >= the last 0.1205, then 0.0097 < 2 x 0.0097: swung that high and came back
    assert eval_came_back_from(np.array([0.0165, 0.2156, 0.0283, 0.0097, 0.0129, 0.1205]), f)
    # the same last value above every earlier evaluation: a new worst
    assert not eval_came_back_from(np.array([0.0165, 0.0456, 0.0283, 0.0097, 0.0129, 0.1205]), f)
    # as high before, but never back within 2x the best after it: the jump stayed (a new level)
    assert not eval_came_back_from(np.array([0.2055, 0.6959, 0.6931, 0.6945]), f)
    # the way back must come after the high evaluation, not before it
    assert not eval_came_back_from(np.array([0.01, 0.30, 0.25, 0.20]), f)


def test_joint_last_jump_needs_an_evaluation_never_recovered_from(tmp_path):
    head = "epoch,loss,val_loss"
    losses = [1.0, 0.8, 0.6, 0.5, 0.45, 0.4, 1.2]
    swung = _table(tmp_path, "a.csv", head, list(zip(range(1, 8), losses, [0.9, 2.0, 0.6, 0.5, 0.45, 0.42, 1.3])))
    assert joint_last_jump(swung, DEFAULTS.few_factor) is None  # 2.0 at epoch 2, back to 0.42 since
    new_worst = _table(tmp_path, "b.csv", head, list(zip(range(1, 8), losses, [0.9, 0.7, 0.6, 0.5, 0.45, 0.42, 1.3])))
    assert joint_last_jump(new_worst, DEFAULTS.few_factor) == (5, 6)


def test_fraud_mlp_edge_twin_has_no_divergence():
    assert real_findings(_FRAUD_EDGE, "divergence") == []


@pytest.mark.parametrize("rel", [_NNUNET_BLOWUP, _BERT_PT_JUMP])
def test_labelled_last_report_divergence_still_found(rel):
    found = real_findings(rel, "divergence")
    assert found and found[0].severity is Severity.ERROR


# -- a pinned score beside a moving generated length ---------------------------------------------------

_HEAD = "step,loss,eval_loss,eval_rouge1,eval_gen_len"


def _seq2seq(tmp_path: Path, gen_len: list[float]) -> lrdoctor.Run:
    loss, ev = [3.0, 2.8, 2.7, 2.65, 2.6], [2.5, 2.4, 2.35, 2.3, 2.28]
    return _table(tmp_path, "s.csv", _HEAD, [(100 * (i + 1), a, b, 0.214, g) for i, (a, b, g) in enumerate(zip(loss, ev, gen_len))])


def test_generated_length_moved_reads_the_evaluations_between_the_steps(tmp_path):
    run = _seq2seq(tmp_path, [10.4989, 14.1979, 14.1979, 14.1979, 14.1979])
    assert generated_length_moved(run, 100, 500) == "eval_gen_len"
    assert generated_length_moved(run, 200, 500) is None  # one value at the evaluations from step 200 on
    assert generated_length_moved(run, 500, 500) is None  # one evaluation moves nothing


def test_pinned_score_beside_moving_gen_len_is_a_warning(tmp_path):
    moving = [f for f in lrdoctor.diagnose(_seq2seq(tmp_path, [10.4989, 14.1979, 14.1095, 14.3832, 14.4947])).findings
              if f.kind == "slow_progress"]
    assert [f.severity for f in moving] == [Severity.WARNING]
    assert moving[0].evidence["rule"] == UNCHANGED_RULE and moving[0].evidence["outputs_moved"] == "eval_gen_len"
    pinned = [f for f in lrdoctor.diagnose(_seq2seq(tmp_path, [14.1979] * 5)).findings if f.kind == "slow_progress"]
    assert [f.severity for f in pinned] == [Severity.ERROR] and "outputs_moved" not in pinned[0].evidence


@pytest.mark.parametrize("rel", [_MT5_LOWER_EDGE, _CODET5_V25_EDGE, _CODET5_V14])
def test_real_pinned_score_with_moving_outputs_keeps_slow_progress_as_warning(rel):
    found = real_findings(rel, "slow_progress")
    assert [f.severity for f in found] == [Severity.WARNING]
    assert found[0].evidence["rule"] == UNCHANGED_RULE and found[0].evidence["outputs_moved"] == "eval_gen_len"
    # the scorer first, not the dead-training checks of the error
    assert [fx.parameter for fx in found[0].fixes] == ["metric computation", "training length"]


def test_a_falling_loss_keeps_its_own_warning_first():
    """A CodeT5 BLEU pinned at three epochs beside a validation loss still falling and a moving Gen Len:
    the still-falling warning of stop 66 is read first and left as it was."""
    found = real_findings("fresh741/chathuranga-codet5-small-v8/training_results.md", "slow_progress")
    assert [f.severity for f in found] == [Severity.WARNING]
    assert "loss_still_falling" in found[0].evidence and "outputs_moved" not in found[0].evidence


def test_twin_with_gen_len_pinned_too_keeps_its_error():
    found = real_findings(_OPUS_DUMMY_EDGE, "slow_progress")
    assert [f.severity for f in found] == [Severity.ERROR] and "outputs_moved" not in found[0].evidence
