"""Two changes of stop 79 to ``overfitting``, on their arithmetic and real logs read in place.

**A held-out score that printed one value at every evaluation is no witness.** The score vetoes of
the trend and corroborated-rise rules (a score at least as good after the loss's minimum says the
model still improved, and the loss's rise is over-confidence) no longer read a score that never
moved: ROUGE printed 0.0 at every evaluation is "at least as good" as itself at the minimum, and says
nothing of the task being learned or lost (``_held_out_scores``).

**The few-point undone rule reads Prechelt's GL_5 beside a second witness.** On a log of 2 to
``min_after`` + 1 evaluations whose held-out loss rose at every evaluation after its best and ended
above its first, the bar is GL_5 (``generalization_loss``) when a training loss fell meanwhile, or
when the rise came at each of ``up_strips_with_gl`` evaluations (UP_2 with GL_5); on the held-out curve
alone, one rise, it stays twice GL_5 (``_undone_bar``). Not beside an error rate (WER) at a new best at
the last evaluation, as it was not beside an accuracy at its best (``_rate_at_new_best``).

**A log whose epoch column falls joins two runs.** An epoch counter never goes back within one run
(``divergence``'s ``_epoch_restarts``); when the whole log shows no overfitting, each run it joins is
judged on its own (``_stages``): a resumed second run's lower held-out curve no longer hides the first
run's rise."""

from __future__ import annotations

import numpy as np
from bench_logs import real_findings, real_log

import lrdoctor
from lrdoctor.detect.overfitting import DEFAULTS, _held_out_scores, _rate_at_new_best, _stages, _undone_bar, detect
from series_helpers import columns_run as _run

# an AraT5 seq2seq fine-tune whose ROUGE scores print 0.0 at every evaluation while its validation
# loss climbs 0.3666 -> 0.391 after its minimum and the training loss falls 0.3147 -> 0.1631
_ARAT5_ROUGE0 = "fresh409/sobeih22-arat5-ar-to-arsl/training_results.md"
# the twin: a Swin classifier whose accuracy prints 0.9655 at every evaluation, its validation loss
# above its minimum at the end (edge run, no overfitting labelled): still silent
_SWIN_FROZEN = "fresh489/usamaaleem99tech-swin-frozen-metrics/training_results.md"

# three evaluations, the best the middle one, the last 7% above it and above the first, the training
# loss falling (BLOOM-560m dialogue fine-tunes of one card, two revisions)
_BLOOM_MAIN = "fresh327/andrewnoel-dialogue-bloom-560-main/training_results.md"
_BLOOM_OLD = "fresh327/andrewnoel-dialogue-bloom-560-8e1e00e/training_results.md"
# two evaluations, the second 6.4% above the first, a LoRA training loss of 0.02 still falling
_PHI15_LORA = "fresh341/hfcard-nickil-phi15-lora-finetuned/training_results.md"
# no training loss logged ("No log"), the validation loss rising at both evaluations after the first
_ELI5_MLM = "fresh494/wwhheerree-eli5-mlm-val-rising/training_results.md"
# the twins: a Whisper-medium card (healthy) of two evaluations, 9% up while the training loss fell,
# whose WER set its best at the last one; and an MXNet ResNet (healthy) whose validation loss rose 5%
# between its two evaluations with no training loss logged (one rise on the held-out curve alone)
_WHISPER_LT = "fresh317/whisper-medium-lithuanian-cv11/training_results.md"
_MXNET_RESNET = "fresh194/mxnet-9185-resnet20-cifar10-val/paste.txt"



# --- a score that never moved is no witness -------------------------------------------------------------


def test_a_score_printed_one_value_at_every_evaluation_is_left_out():
    eval_loss = [0.5319, 0.4079, 0.3779, 0.3666, 0.3682, 0.3755, 0.3767, 0.3994, 0.391]
    loss = [1.7177, 0.648, 0.4575, 0.3147, 0.2603, 0.2376, 0.2157, 0.182, 0.1631]
    flat = _run(loss=loss, eval_loss=eval_loss, eval_accuracy=[0.0] * 9)
    assert _held_out_scores(flat) == []
    moved = _run(loss=loss, eval_loss=eval_loss, eval_accuracy=[0.1, 0.2, 0.3, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4])
    assert [c for c, _ in _held_out_scores(moved)] == ["eval_accuracy"]
    assert detect(flat)  # the trend rule's climb stands: nothing held
    assert detect(moved) == []  # a score as good at the end as at the minimum: over-confidence


def test_the_rouge_zero_card_is_found():
    run = lrdoctor.read(real_log(_ARAT5_ROUGE0))
    assert float(np.ptp(run.series("eval_accuracy").finite().values)) == 0.0  # ROUGE-1 0.0 throughout
    found = real_findings(_ARAT5_ROUGE0, "overfitting")
    assert found and found[0].evidence["eval_min"] == 0.3666


def test_the_constant_accuracy_twin_stays_silent():
    run = lrdoctor.read(real_log(_SWIN_FROZEN))
    assert float(np.ptp(run.series("eval_accuracy").finite().values)) == 0.0  # the same constant score
    v = run.series("eval_loss").finite().values
    assert v[-1] > v.min()  # above its minimum at the end
    assert real_findings(_SWIN_FROZEN, "overfitting") == []


# --- the undone rule at GL_5 beside a second witness -----------------------------------------------------


def test_undone_bar_is_gl5_with_a_second_witness():
    assert _undone_bar(1, True, DEFAULTS) == DEFAULTS.generalization_loss  # a training loss that fell
    assert _undone_bar(DEFAULTS.up_strips_with_gl, False, DEFAULTS) == DEFAULTS.generalization_loss  # UP_2
    assert _undone_bar(1, False, DEFAULTS) == DEFAULTS.up_ordered_gl  # one rise, held-out curve alone
    eval_loss = [1.3702, 1.3064, 1.3982]  # 7% above the best, above the first
    assert detect(_run(loss=[2.0116, 1.1454, 0.847], eval_loss=eval_loss))
    assert detect(_run(loss=[2.0116, 1.1454, 1.2], eval_loss=eval_loss)) == []  # the training loss rose
    assert detect(_run(loss=[2.0116, 1.1454, 0.847], eval_loss=[1.3702, 1.3064, 1.3602])) == []  # 4%: under GL_5
    assert detect(_run(eval_loss=[2.1353, 2.1425, 2.3166]))  # no training loss: two rises, 8.5%
    assert detect(_run(eval_loss=[2.1353, 2.3166])) == []  # no training loss: one rise of 8.5%


def test_undone_stands_down_beside_a_wer_at_its_best():
    eval_loss, loss = [0.3252, 0.3549], [0.0056, 0.0023]
    best = _run(loss=loss, eval_loss=eval_loss, eval_wer=[20.5534, 20.4462])
    worse = _run(loss=loss, eval_loss=eval_loss, eval_wer=[20.4462, 20.5534])
    assert _rate_at_new_best(best) and not _rate_at_new_best(worse)
    assert detect(best) == [] and detect(worse)


def test_short_cards_whose_rise_undid_the_progress_are_found():
    for rel in (_BLOOM_MAIN, _BLOOM_OLD, _PHI15_LORA, _ELI5_MLM):
        run = lrdoctor.read(real_log(rel))
        v = run.series("eval_loss").finite().values
        gl = float(v[-1] / v[:-1].min() - 1)
        assert DEFAULTS.generalization_loss <= gl < DEFAULTS.up_ordered_gl, rel  # between GL_5 and twice it
        assert real_findings(rel, "overfitting"), rel


def test_the_healthy_two_evaluation_twins_stay_silent():
    run = lrdoctor.read(real_log(_WHISPER_LT))
    v = run.series("eval_loss").finite().values
    assert v.size == 2 and DEFAULTS.generalization_loss <= v[-1] / v[0] - 1 < DEFAULTS.up_ordered_gl
    assert _rate_at_new_best(run)  # the WER set its best at the last evaluation
    assert real_findings(_WHISPER_LT, "overfitting") == []
    run = lrdoctor.read(real_log(_MXNET_RESNET))
    v = run.series("eval_loss").finite().values
    assert run.series("loss") is None and v.size == 2  # one rise, no training loss
    assert DEFAULTS.generalization_loss <= v[-1] / v[0] - 1 < DEFAULTS.up_ordered_gl
    assert real_findings(_MXNET_RESNET, "overfitting") == []


# --- each run of a log that joins two ---------------------------------------------------------------------

# a Whisper-small card: validation 0.3194 -> 0.419 over the first run's four evaluations while its training
# loss fell 0.2045 -> 0.0064; at step 5000 the epoch goes 9.95 -> 2.02 and a second run's loss falls
_WHISPER_NL = "fresh694/qmeeus-whisper-small-nl-793067e/training_results.md"
# SpeechT5 TTS: validation 0.5124 at the first evaluation, above it at all nine later ones, then one row of a
# resumed run (epoch 296.3 -> 183.33) at 0.3818
_SPEECHT5_NONO = "fresh770/nono-speecht5-finetuned/training_results.md"
# the twin: a healthy Whisper-tiny card whose epoch column restarts too, its validation loss falling throughout
_WHISPER_NOB = "fresh574/whisper-tiny-nob-nbailab/training_results.md"


def test_stages_split_where_the_epoch_falls():
    eval_loss = [0.3194, 0.3425, 0.3915, 0.419, 0.3298, 0.3266, 0.3261, 0.3196, 0.3283, 0.3034]
    loss = [0.2045, 0.0652, 0.0167, 0.0064, 0.1966, 0.1912, 0.1008, 0.0899, 0.1126, 0.1071]
    resumed = _run(loss=loss, eval_loss=eval_loss, epoch=[2.49, 4.97, 7.46, 9.95, 2.02, 4.04, 7.02, 9.04, 12.02, 14.04])
    stages = _stages(resumed)
    assert [s.series("eval_loss").values.size for s in stages] == [4, 6]
    found = detect(resumed)
    assert found and found[0].evidence["eval_min"] == 0.3194 and found[0].end_step == 4.0
    one = _run(loss=loss, eval_loss=eval_loss, epoch=[2.49, 4.97, 7.46, 9.95, 12.02, 14.04, 17.02, 19.04, 22.02, 24.04])
    assert _stages(one) == [] and detect(one) == []  # one run: its held-out loss ends below its first


def test_runs_joined_by_a_resume_are_found():
    for rel in (_WHISPER_NL, _SPEECHT5_NONO):
        run = lrdoctor.read(real_log(rel))
        assert len(_stages(run)) == 2, rel
        assert real_findings(rel, "overfitting"), rel


def test_the_healthy_resumed_twin_stays_silent():
    run = lrdoctor.read(real_log(_WHISPER_NOB))
    assert len(_stages(run)) >= 2  # its epoch column restarts too
    assert real_findings(_WHISPER_NOB, "overfitting") == []
