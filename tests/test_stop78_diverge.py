"""Three changes of stop 78 to ``divergence``, on synthetic series, real logs read in place and their twins.

**A joint new level** (``joint_level``, a warning): at one report both the training and the evaluation
loss jump (``joint_jump``), and from there to the end (``start_level`` reports) each stays more than
``relative_floor`` above its own best, the training loss at or above the best the held-out loss had
reached, the last evaluation keeping half the jump (``joint_hold``). A generalisation gap keeps the
training loss below the held-out one; a training loss that climbs past the held-out best, with the
held-out loss, has lost fit on its own data. The existing joint rule asked every later evaluation to lie
above *every* earlier one, which the descent's first reports made impossible.

**An accuracy held at chance withdraws nothing** (``_accuracy_held``): the held accuracy must stay above
``task_accuracy_floor`` (0.6, the two-class chance level plus slow_progress's band); a model answering
at chance before and after a rise still answers at chance.

**The climb rule asks ``give_back``** as its sibling few-point rules do: a Mann-Kendall climb from a best
near the floor that gives back under a tenth of the descent is the floor's own scatter.

**The rising tail must end above the level it left** (``_above_its_level``): a climb at each of the last
four reports that ends at or below the median of the level the loss held before it (the reports within
``few_factor`` of the best) is a return from a low draw, as the trend rule's own guard says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect import divergence
from lrdoctor.detect.divergence import DEFAULTS, climb_after_best, joint_level, rising_tail
from lrdoctor.finding import Severity
from series_helpers import divergence_findings as _divergence

torch.set_num_threads(1)

_XLSR_ESTONIAN = "fresh274/sammy786-xlsr-estonian/training_results.md"
_PHI3_LORA = "fresh1082/litzy619-phi30512hmab21h/training_results.md"
_ROOF_EDGE = "fresh1095/prahas10-roof-large/training_results.md"
_MULTIPLE_CHOICE = "fresh1135/liberty-l-multiple-choice/training_results.md"
_CATS_DOGS = "fresh383/hfcard-efederici-convnext-base-cats-dogs-fe35432/training_results.md"
_GP_MODELLIST = "fresh376/gpytorch-modellist-gp-regression/train.log"
_HF_RISING = "fresh20/hf-issue33336-rising/issue33336.log"
_KERAS_RISING = "fresh718/so-34673396-keras-loss-rising/paste.log"
_KERAS_CIFAR = "fresh3/keras-keras-issue5239-cifar10-rising/issue5239.log"
_TR8_GLITCH = "fresh10/megatron-bigscience-tr8-104b-exp2-glitch/train.log"
_PADDLE_LEGACY = "fresh611/paddledet-legacy-iter-loss/train.log"



def _joint(run: lrdoctor.Run):
    """:func:`joint_level` at the detector's defaults."""
    return joint_level(run, DEFAULTS.joint_jump, DEFAULTS.relative_floor, DEFAULTS.start_level, DEFAULTS.joint_hold)


def _table(tmp_path: Path, loss, eval_loss, accuracy=None) -> lrdoctor.Run:
    """A Trainer-like table, one row per evaluation: step, training loss, evaluation loss (and accuracy)."""
    head = "step,loss,eval_loss" + (",eval_accuracy" if accuracy is not None else "")
    rows = [head] + [",".join(str(v) for v in (100 * (i + 1), a, b) + ((accuracy[i],) if accuracy is not None else ()))
                     for i, (a, b) in enumerate(zip(loss, eval_loss))]
    return lrdoctor.read(write_lines(tmp_path / "log.csv", rows))


# -- joint new level ---------------------------------------------------------------------------------

_DESCENT = [3.0, 1.0, 0.6, 0.4, 0.35]
_EVAL_DESCENT = [1.0, 0.5, 0.3, 0.25, 0.22]


def test_joint_level_finds_both_losses_stepping_up_past_the_held_out_best(tmp_path):
    """Both losses jump at the sixth report (0.35 -> 0.50, 0.22 -> 0.40) and hold: the training loss
    0.50-0.60 (>10% above its best 0.35 and above the held-out best 0.22), the evaluation loss 0.35-0.40
    (>10% above 0.22, the last keeping more than half the jump). The earlier rules cannot see it: the
    descent's first reports stay the log's highest, and neither loss doubled."""
    run = _table(tmp_path, _DESCENT + [0.50, 0.60, 0.55, 0.52], _EVAL_DESCENT + [0.40, 0.38, 0.36, 0.35])
    assert _joint(run) == (4, 5)
    [f] = _divergence(lrdoctor.diagnose(run))
    assert f.severity is Severity.WARNING and f.start_step == 600
    assert "stepped up" in f.summary and f.evidence["eval_best"] == 0.22


def test_joint_level_leaves_a_training_loss_below_the_held_out_best_and_a_recovering_spike(tmp_path):
    """The same joint jump with the training loss kept at 0.15-0.16, below the held-out best 0.22, is a
    generalisation gap (overfitting's shape); one whose evaluation loss falls back from 0.80 to 0.26 gave
    back most of its jump (a spike recovering). Neither is a joint new level."""
    gap = _table(tmp_path, _DESCENT[:4] + [0.10, 0.15, 0.16, 0.155, 0.15], _EVAL_DESCENT + [0.40, 0.38, 0.36, 0.35])
    assert _joint(gap) is None
    spike = _table(tmp_path, _DESCENT + [0.90, 0.60, 0.45, 0.40], _EVAL_DESCENT + [0.80, 0.50, 0.30, 0.26])
    assert _joint(spike) is None


def test_joint_level_on_real_cards_labelled_divergence():
    """XLS-R on Estonian: training 0.315 -> 0.446, 0.645, then 0.49-0.55, validation 0.176 -> 0.421, then
    0.29-0.33; a Phi-3 LoRA after its second spike: training 0.097 -> 1.19, 0.235, then 0.164-0.168, validation
    0.086 -> 0.170, then 0.164-0.166. Both climbs give back under a tenth of the descent from a first
    report of 3.7 and 4.9, so the stay rules left them; the joint level finds both, as warnings."""
    for rel, onset in ((_XLSR_ESTONIAN, 1600.0), (_PHI3_LORA, 160.0)):
        [f] = _divergence(lrdoctor.diagnose(lrdoctor.read(real_log(rel))))
        assert f.severity is Severity.WARNING and f.start_step == onset, rel
        assert "stepped up" in f.summary, rel


def test_joint_level_twin_an_edge_card_whose_training_loss_stays_under_the_held_out_best():
    """An edge card of the same shape (a roof classifier, labelled oscillation): at epoch 7 both losses
    jump (training 0.0364 -> 0.0562, validation 0.0717 -> 0.337) and stay more than 10% above their
    bests to the end, but the training loss (0.050-0.069) stays below the validation loss's best 0.0717:
    the held-out loss swings, the fit does not get worse. Silent."""
    run = lrdoctor.read(real_log(_ROOF_EDGE))
    x, e = run.series("loss").finite().values, run.series("eval_loss").finite().values
    j = 7
    assert x[j] >= 1.05 * x[j - 1] and e[j] >= 1.05 * e[j - 1]
    assert x[j:].min() > 1.1 * x[:j].min() and e[j:].min() > 1.1 * e[:j].min() and x[j:].min() < e[:j].min()
    assert _joint(run) is None
    assert not _divergence(lrdoctor.diagnose(run))


# -- an accuracy held at chance ----------------------------------------------------------------------

_MC_LOSS = [0.3178, 0.2244, 0.5162, 0.6076, 0.6052]
_MC_EVAL = [1.442, 1.516, 1.516, 1.509, 1.507]


def test_an_accuracy_held_at_chance_does_not_withdraw_the_rise(tmp_path):
    """A training loss under ln 2 that ends 2.7x its best beside an evaluation loss above its start: an
    accuracy held at 0.5265-0.5279 (at or below 0.6, chance for two classes within the band) proves
    nothing and the finding stands; the same accuracy held at 0.90-0.91 withdraws it, as before."""
    at_chance = _table(tmp_path, _MC_LOSS, _MC_EVAL, [0.5265, 0.5265, 0.5272, 0.5279, 0.5279])
    assert not divergence._accuracy_held(at_chance, 300.0, DEFAULTS)
    [f] = _divergence(lrdoctor.diagnose(at_chance))
    assert f.severity is Severity.WARNING and f.start_step == 300
    held = _table(tmp_path, _MC_LOSS, _MC_EVAL, [0.90, 0.90, 0.905, 0.91, 0.91])
    assert divergence._accuracy_held(held, 300.0, DEFAULTS)
    assert not _divergence(lrdoctor.diagnose(held))


def test_an_accuracy_held_at_chance_on_a_real_card_labelled_divergence():
    """A multiple-choice fine-tune resumed at lr 5e-08: training loss 0.318, 0.224, then 0.516, 0.608,
    0.605; validation 1.442 -> 1.507; accuracy 0.5265-0.5279 at every epoch. A warning from epoch 3."""
    [f] = _divergence(lrdoctor.diagnose(lrdoctor.read(real_log(_MULTIPLE_CHOICE))))
    assert f.severity is Severity.WARNING and f.start_step == 3177.0


def test_an_accuracy_held_clear_of_chance_still_withdraws_on_a_healthy_card():
    """The twin: a healthy cats-and-dogs ConvNeXt card whose training loss rises while its accuracy
    holds clear of chance at every report: still withdrawn, silent."""
    run = lrdoctor.read(real_log(_CATS_DOGS))
    acc = run.series("eval_accuracy").finite().values
    assert acc.min() > DEFAULTS.task_accuracy_floor
    assert not _divergence(lrdoctor.diagnose(run))


# -- the climb rule asks give_back -------------------------------------------------------------------

_CLIMB = [0.050, 0.052, 0.049, 0.055, 0.057, 0.056, 0.060, 0.062, 0.064]


def test_climb_gives_back_under_a_tenth_of_the_descent_is_not_judged():
    """A descent 1.0 -> 0.046 (geometric, 20 reports) and a steady climb to 0.064 after it: a trend
    (Mann-Kendall p < 0.01) ending 39% above the best, but 1.9% of the descent back: no finding. The same
    climb after a descent to 0.5 only (0.5 -> 0.69, 0.19 of a 0.5 descent back) is one."""
    floor = np.concatenate([np.geomspace(1.0, 0.046, 20), _CLIMB])
    got = climb_after_best(floor, DEFAULTS.climb_p, DEFAULTS.climb_points, DEFAULTS.relative_floor, DEFAULTS.noise_k)
    assert got == (19, 20)
    assert divergence._gave_back(floor, got, DEFAULTS.give_back) is None
    half = np.concatenate([np.geomspace(1.0, 0.46, 20), 10 * np.asarray(_CLIMB)])
    got = climb_after_best(half, DEFAULTS.climb_p, DEFAULTS.climb_points, DEFAULTS.relative_floor, DEFAULTS.noise_k)
    assert got is not None and divergence._gave_back(half, got, DEFAULTS.give_back) == got


def test_climb_on_real_logs_labelled_divergence_is_kept():
    """Two climbs from a best at (or near) the first report, so that the climb gives back all of the
    little descent before it: a transformers issue's Trainer log at a decaying LR (1.453, 1.406, then
    1.415 ... 1.614) and a Keras loss that rises epoch after epoch from its first (0.176 -> 0.18-0.21):
    still warnings."""
    for rel in (_HF_RISING, _KERAS_RISING):
        [f] = _divergence(lrdoctor.diagnose(lrdoctor.read(real_log(rel))))
        assert f.severity is Severity.WARNING and "climbs" in f.evidence["rule"], rel


def test_climb_twin_a_healthy_gp_at_its_floor_is_silent():
    """GPyTorch's ModelList GP regression example (healthy): negative marginal log likelihood 1.05 ->
    0.046, then 0.046-0.086 over 15 iterations, a trend 1.3x the best that gives back 1.4% of the
    descent: silent."""
    run = lrdoctor.read(real_log(_GP_MODELLIST))
    x = run.series("loss").finite().values
    ib = int(np.argmin(x))
    assert (x[-1] - x[ib]) < DEFAULTS.give_back * (x[0] - x[ib])
    assert not _divergence(lrdoctor.diagnose(run))


# -- the rising tail ends above the level it left ------------------------------------------------------

_PADDLE_ITERS = [7.423, 7.084, 6.064, 6.777, 6.658, 6.082, 7.033, 6.072, 5.644, 5.784, 6.077, 6.489, 6.573]


def test_a_rising_tail_back_at_the_level_it_held_is_not_judged():
    """Single-iteration losses between 6.06 and 7.42 dip to 5.64, then rise at each of the last four
    reports to 6.57: the tail rule's climb (16% above the best), but below 6.66, the median of the level
    held before it (every report before the climb is within 2x of the best): a return from a low draw. The
    same climb carried on to 7.6, above that level, is judged."""
    x = np.asarray(_PADDLE_ITERS)
    got = rising_tail(x, DEFAULTS.few_rises, DEFAULTS.relative_floor)
    assert got == (8, 9)
    assert divergence._above_its_level(x, got, DEFAULTS.few_factor) is None
    on = np.asarray(_PADDLE_ITERS + [7.6])
    got = rising_tail(on, DEFAULTS.few_rises, DEFAULTS.relative_floor)
    assert got == (8, 9) and divergence._above_its_level(on, got, DEFAULTS.few_factor) == got


def test_rising_tails_on_real_logs_labelled_divergence_are_kept():
    """Keras cifar10_cnn on TF (1.587, 1.217, 1.120, 1.093, then 1.104 ... 1.237, above the 1.169 median
    of the level it held) and a BigScience tr8-104B glitch whose log opens with its climb (6.37 -> 10.24,
    no level before it): still warnings."""
    for rel in (_KERAS_CIFAR, _TR8_GLITCH):
        [f] = _divergence(lrdoctor.diagnose(lrdoctor.read(real_log(rel))))
        assert f.severity is Severity.WARNING and "last 4+" in f.evidence["rule"], rel


def test_rising_tail_twin_a_healthy_detector_log_back_at_its_level_is_silent():
    """PaddleDetection's legacy iteration log (healthy, constant LR 5e-05): the numbers above, silent."""
    run = lrdoctor.read(real_log(_PADDLE_LEGACY))
    assert np.allclose(run.series("loss").finite().values, _PADDLE_ITERS, atol=5e-4)
    assert not _divergence(lrdoctor.diagnose(run))
