"""Three changes of stop 78 to ``overfitting``, on their arithmetic and real logs read in place.

**Prechelt's GL_5 on four evaluations.** A log of ``min_after`` + 1 evaluations whose first is the
minimum, every later one above it and the last GL_5 above it, while the training loss fell, is
overfitting by the GL rule as Prechelt stated it. The GL rule's scatter guard cannot be asked there:
its robust spread needs ``local_noise_points - 1`` differences, and the log's three differences are
the rise itself (the never-beaten rule's third form, ``_gl_without_scatter``). Not beside an evaluation
accuracy at its best at the last evaluation: on so few points that is over-confidence, as the undone
rule reads it.

**An error rate that says the model recognises nothing is no held-out witness.** The score-held
vetoes of the corroborated-rise rules (a score at least as good after the loss's minimum says the
model still improved) no longer read an error rate that slow_progress's ``_error_rate_at_max`` finds
at its floor (exactly 100%, above 100%, or never below 90% on a proven or inferred scale): its moves
there say nothing of the task (``_held_out_scores``).

**A training loss printed as 0 is memorised.** The UP and undone rules accept, in place of a falling
training loss, one an order of magnitude below the held-out loss (``_memorised_at_end``); a training
loss printed as 0 is now read so too, as ``floor_gap`` and the memorisation rule already read it."""

from __future__ import annotations

import numpy as np
from bench_logs import real_findings, real_log

import lrdoctor
from lrdoctor.detect.overfitting import DEFAULTS, _gl_without_scatter, _held_out_scores, _memorised_at_end, detect
from series_helpers import columns_run as _run

# four evaluations, the first the best, every later one above it, GL_5 at the end, training loss falling
_SPEECHT5_FR = "fresh1009/pedroferreira-speecht5-finetuned-voxpopuli-fr-2/training_results.md"
_SPEECHT5_TTS = "fresh1009/jbzhang2342-speecht5-tts-22677a4/training_results.md"
_W2V2_ZHHK = "fresh932/jialinselenasong-w2v2-zhhk-lr1e-3/training_results.md"
# the healthy twins: four evaluations, the first the best, 3.8% above it at the end (under GL_5); and
# 7.4% above it while the accuracy rose to its best at the last epoch (over-confidence)
_WHISPER_MR = "fresh1348/viraj008-whisper-small-mr-v5/training_results.md"
_ROBERTA_NER = "fresh274/stiven-roberta-bne-nerconcat/training_results.md"

# XLS-R fine-tunes whose WER never got below 1.0 while the validation loss rose after its minimum
_XLSR_DEMO = "fresh1045/project2you-wav2vec2-large-xlsr-53-demo-colab/training_results.md"
_XLSR_TORGO_M04 = "fresh501/yip-i-torgo-xlsr-finetune-m04-2/training_results.md"
_XLSR_TORGO_M02 = "fresh1311/yip-i-torgo-xlsr-finetune-m02-2/training_results.md"
# twins with a WER pinned at 1.0: an edge run whose validation loss kept falling, and a stuck run
# (labelled slow_progress only) whose validation loss ticked up 1% while the training loss barely moved
_XLSR_HI_EDGE = "fresh713/hi-xlsr300m-colab-chaitanya97/training_results.md"
_XLSR_HI_STUCK = "fresh1045/nikhil6041-wav2vec2-large-xlsr-hindi-commonvoice/training_results.md"





# --- GL_5 on min_after + 1 evaluations --------------------------------------------------------------


def test_gl_without_scatter_on_four_evaluations():
    assert DEFAULTS.min_after + 1 < DEFAULTS.local_noise_points  # four values: no scatter apart from the rise
    v = np.array([0.8182, 0.8548, 0.8666, 0.8649])
    gl = float(v[-1] / v[0] - 1)
    assert gl > DEFAULTS.generalization_loss and _gl_without_scatter(v, 0, gl, DEFAULTS)
    low = np.array([0.8182, 0.8348, 0.8466, 0.8449])  # 3.3% at the end: under GL_5
    assert not _gl_without_scatter(low, 0, float(low[-1] / low[0] - 1), DEFAULTS)
    back = np.array([0.8182, 0.8548, 0.8100, 0.8649])  # a later evaluation beat the first
    assert not _gl_without_scatter(back, 0, float(back[-1] / back[0] - 1), DEFAULTS)
    five = np.array([0.8182, 0.8548, 0.8666, 0.8649, 0.8650])  # five: the GL rule's guard can measure
    assert not _gl_without_scatter(five, 0, float(five[-1] / five[0] - 1), DEFAULTS)


def test_gl_on_four_evaluations_needs_the_training_loss_to_fall():
    eval_loss = [0.6265, 0.6595, 0.7037, 0.6988]
    found = detect(_run(loss=[0.4211, 0.4094, 0.3729, 0.365], eval_loss=eval_loss))
    assert found and found[0].evidence["eval_min_step"] == 1.0
    assert detect(_run(loss=[0.4211, 0.4294, 0.4329, 0.445], eval_loss=eval_loss)) == []


def test_gl_on_four_evaluations_stands_down_beside_an_accuracy_at_its_best():
    loss, eval_loss = [0.0593, 0.0276, 0.013, 0.0053], [0.0704, 0.0767, 0.0723, 0.0756]
    v = np.asarray(eval_loss)
    best = _run(loss=loss, eval_loss=eval_loss, eval_accuracy=[0.9813, 0.9830, 0.9841, 0.9849])
    worse = _run(loss=loss, eval_loss=eval_loss, eval_accuracy=[0.9813, 0.9830, 0.9841, 0.9820])
    assert not _gl_without_scatter(v, 0, float(v[-1] / v[0] - 1), DEFAULTS, best)
    assert _gl_without_scatter(v, 0, float(v[-1] / v[0] - 1), DEFAULTS, worse)
    assert detect(best) == [] and detect(worse)


def test_four_evaluation_cards_that_never_beat_their_first_are_found():
    for rel in (_SPEECHT5_FR, _SPEECHT5_TTS, _W2V2_ZHHK):
        found = real_findings(rel, "overfitting")
        assert found and found[0].evidence["generalization_loss"] >= DEFAULTS.generalization_loss, rel


def test_the_healthy_four_evaluation_twin_under_gl5_stays_silent():
    run = lrdoctor.read(real_log(_WHISPER_MR))
    v = run.series("eval_loss").finite().values
    assert v.size == 4 and int(np.argmin(v)) == 0 and (v[1:] > v[0]).all()  # the same shape
    assert v[-1] / v[0] - 1 < DEFAULTS.generalization_loss
    assert real_findings(_WHISPER_MR, "overfitting") == []


def test_the_healthy_ner_twin_whose_accuracy_ends_at_its_best_stays_silent():
    run = lrdoctor.read(real_log(_ROBERTA_NER))
    v = run.series("eval_loss").finite().values
    assert v.size == 4 and int(np.argmin(v)) == 0 and (v[1:] > v[0]).all()  # the same shape
    assert v[-1] / v[0] - 1 >= DEFAULTS.generalization_loss  # and GL_5 at the end
    acc = run.series("eval_accuracy").finite().values
    assert acc[-1] > acc[:-1].max()  # but the accuracy set its best at the last evaluation
    assert real_findings(_ROBERTA_NER, "overfitting") == []


# --- an error rate at its floor is no held-out witness -----------------------------------------------


def test_an_error_rate_pinned_at_one_is_left_out_of_the_held_out_scores():
    eval_loss = [3.59, 0.74, 0.65, 0.62, 0.64, 0.64, 0.69, 0.69]
    loss = [8.5, 1.79, 0.57, 0.38, 0.28, 0.23, 0.19, 0.17]
    pinned = _run(loss=loss, eval_loss=eval_loss, eval_wer=[1.0] * 8)
    assert [c for c, _ in _held_out_scores(pinned)] == []
    learned = _run(loss=loss, eval_loss=eval_loss, eval_wer=[1.0, 0.8, 0.6, 0.5, 0.45, 0.44, 0.44, 0.43])
    assert [c for c, _ in _held_out_scores(learned)] == ["eval_wer"]


def test_xlsr_runs_whose_wer_never_left_its_floor_are_found():
    for rel in (_XLSR_DEMO, _XLSR_TORGO_M04, _XLSR_TORGO_M02):
        run = lrdoctor.read(real_log(rel))
        assert float(run.series("eval_wer").finite().values.min()) >= 0.9, rel  # never below 90% errors
        assert real_findings(rel, "overfitting"), rel


def test_twins_with_a_wer_at_its_floor_stay_silent():
    for rel in (_XLSR_HI_EDGE, _XLSR_HI_STUCK):
        run = lrdoctor.read(real_log(rel))
        assert [c for c, _ in _held_out_scores(run)] == [], rel  # the WER is left out here too
        assert real_findings(rel, "overfitting") == [], rel


# --- a training loss printed as 0 is memorised ---------------------------------------------------------

# AST on ASVspoof5: training loss 0.0042, 0.0, 0.0 while the validation loss went 1.6954 -> 1.5632 -> 2.2821
_AST_SPOOF = "fresh734/mattyb95-ast-asvspoof5/training_results.md"
# the healthy twin: Whisper-small whose training loss is printed 0.0 while its validation loss sat 4% above its minimum
_WHISPER_ZERO = "fresh1307/asembadr-whisper-small/training_results.md"


def test_a_training_loss_printed_as_zero_is_memorised_at_the_end():
    e = _run(eval_loss=[1.6954, 1.5632, 2.2821]).series("eval_loss")
    assert _memorised_at_end(e, 0.0, DEFAULTS)
    assert not _memorised_at_end(_run(eval_loss=[0.0, 0.0, 0.0]).series("eval_loss"), 0.0, DEFAULTS)
    found = detect(_run(loss=[0.0042, 0.0, 0.0], eval_loss=[1.6954, 1.5632, 2.2821]))
    assert found and found[0].evidence["eval_min_step"] == 2.0


def test_the_ast_card_with_a_zero_training_loss_is_found_and_its_twin_stays_silent():
    assert real_findings(_AST_SPOOF, "overfitting")
    run = lrdoctor.read(real_log(_WHISPER_ZERO))
    assert float(run.series("loss").finite().values[-1]) == 0.0
    v = run.series("eval_loss").finite().values
    assert v[-1] > v.min()  # above its minimum at the end, as the AST card
    assert real_findings(_WHISPER_ZERO, "overfitting") == []
