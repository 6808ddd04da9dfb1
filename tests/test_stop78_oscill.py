"""oscillation (stop 78): an evaluation loss that turns back and forth more often than noise can.

**The turning-point test.** An interior value of an independent, identically distributed series is
above both neighbours or below both with probability 2/3, so n values turn 2(n-2)/3 times on
average, with variance (16n-29)/90 (Kendall and Stuart; Brockwell and Davis 1.6). A trend turns less
often; a series that goes up, down, up... from one value to the next turns more often than noise can.
``_eval_alternation`` reads the evaluation loss (a fixed set: no minibatch noise, so its turns are the
weights) and calls an oscillation when the turning-point z reaches the one-sided 1% point (2.326) and
the typical swing between successive evaluations is at least ``progress_share`` of the progress the
evaluations made: a zigzag on a falling evaluation loss is the fall, not a swing.

The arithmetic on small synthetic series, then real logs of the benchmark read in place."""

import numpy as np
import pytest
from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect import oscillation as osc
from lrdoctor.detect._stats import turning_point_z

_MXNET_4314 = "fresh1213/apache-mxnet-4314-val-logloss-alternating/log.txt"
_SWINV2_ZIGZAG = "fresh990/canadianjosieharrison-swinv2-large-baseline/training_results.md"
_PHISHING_ZIGZAG = "fresh1211/aisuko-phishing-binary-classification/training_results.md"
_NANOGPT_MINIBATCH = "fresh/text-nanogpt-issue110-midtrain/issue110.log"


def _oscillation(path):
    report = lrdoctor.diagnose(lrdoctor.read(path))
    return next((f for f in report.findings if f.kind == "oscillation"), None)


def _eval_log(tmp_path, values):
    """A Keras-style epoch log whose validation loss is ``values`` and whose training loss falls."""
    lines = [f"Epoch {i + 1}/{len(values)}\n - loss: {1.0 / (i + 1):.4f} - val_loss: {v:.4f}"
             for i, v in enumerate(values)]
    return write_lines(tmp_path / "fit.log", lines)


# -- (a) the arithmetic ---------------------------------------------------------------------------

def test_turning_point_z_counts_turns_against_iid_noise():
    """Every interior value of a strict alternation turns: 17 of 17 for 19 values, z =
    (17 - 34/3) / sqrt((16*19 - 29)/90) = 3.24; a monotone series turns nowhere, z < 0."""
    alt = np.array([0.53, 0.39] * 9 + [0.53])
    assert turning_point_z(alt) == pytest.approx((17 - 34 / 3) / np.sqrt((16 * 19 - 29) / 90))
    assert turning_point_z(alt) > osc.DEFAULTS.alternation_z
    assert turning_point_z(np.linspace(1.0, 0.1, 19)) < 0
    # ten values that all turn are still within 1% of noise: z = (8 - 16/3) / sqrt(131/90) = 2.21
    assert turning_point_z(np.array([0.53, 0.39] * 5)) < osc.DEFAULTS.alternation_z


def test_alternation_around_a_level_is_an_oscillation(tmp_path):
    """19 evaluations alternating 0.53 / 0.39 with no net progress: the ±35% swings are below the
    ±50% of ``_eval_swings``, which stays silent; the turning-point rule finds them."""
    path = _eval_log(tmp_path, [0.45] + [0.39, 0.53] * 9)
    run = lrdoctor.read(path)
    assert osc._eval_swings(run, osc.DEFAULTS) == []
    found = osc._eval_alternation(run, osc.DEFAULTS)
    assert found and found[0].evidence["turning_point_z"] >= osc.DEFAULTS.alternation_z


def test_zigzag_on_a_falling_evaluation_loss_is_the_fall(tmp_path):
    """The same turns on an evaluation loss that falls by 0.03 an evaluation from 1.0 with a
    zigzag of ±0.02 on it: every interior value turns, but the median swing (0.04) is below
    ``progress_share`` of the progress (1.02 - median 0.73 = 0.29: 0.07), so no finding."""
    trend = 1.0 - 0.03 * np.arange(19)
    values = trend + 0.02 * np.array([(-1) ** i for i in range(19)])
    x = np.asarray(values)
    assert turning_point_z(x) > osc.DEFAULTS.alternation_z
    assert not osc._swing_matters(x, osc.DEFAULTS)
    assert osc._eval_alternation(lrdoctor.read(_eval_log(tmp_path, values)), osc.DEFAULTS) == []


# -- (b) a real log the rule finds ----------------------------------------------------------------

def test_mxnet_validation_logloss_alternating_every_epoch():
    """apache/mxnet#4314: validation log-loss 0.448, 0.392, then 0.531 / 0.392 every other epoch
    for 17 epochs (labelled oscillation from epoch 2). Every interior epoch turns (z 3.2) and the
    swing of 0.14 dwarfs a progress of ~0 (the median is the first value)."""
    f = _oscillation(real_log(_MXNET_4314))
    assert f is not None
    assert f.evidence["turning_point_z"] == pytest.approx(3.24, abs=0.01)
    assert f.evidence["from_step"] == 1 and f.evidence["to_step"] == 17


def test_mxnet_alternation_is_the_new_rule_alone():
    """The ±35% swings stand below ``_eval_swings``'s ±50%, and the log has no training loss:
    without ``_eval_alternation`` the log has no oscillation."""
    run = lrdoctor.read(real_log(_MXNET_4314))
    assert osc._training_swings(run, osc.DEFAULTS) == []
    assert osc._eval_swings(run, osc.DEFAULTS) == []
    assert osc._eval_alternation(run, osc.DEFAULTS)


# -- (c) healthy and edge twins of the same shape stay silent -------------------------------------

def test_swinv2_zigzag_on_a_falling_validation_loss_stays_silent():
    """Edge (overfitting): a SwinV2 card whose validation loss zigzags 0.43, 0.51, 0.35, 0.44,
    0.33... over 16 evaluations (z 2.31) while it falls from 0.82: the typical swing (0.08) is
    below ``progress_share`` of that fall (0.10), so the swings are not what the run does."""
    run = lrdoctor.read(real_log(_SWINV2_ZIGZAG))
    x = run.series("eval_loss").finite().values
    assert not osc._swing_matters(x, osc.DEFAULTS)
    assert osc._eval_alternation(run, osc.DEFAULTS) == []
    assert _oscillation(real_log(_SWINV2_ZIGZAG)) is None


def test_phishing_zigzag_over_ten_evaluations_stays_silent():
    """Healthy: a phishing classifier's validation loss 0.40, 0.36, 0.38, 0.31, 0.36, 0.29, 0.33,
    0.28... turns at every one of its 8 interior evaluations, which 10 values of noise still do
    with more than 1% chance (z 2.21): no finding."""
    run = lrdoctor.read(real_log(_PHISHING_ZIGZAG))
    assert turning_point_z(run.series("eval_loss").finite().values) < osc.DEFAULTS.alternation_z
    assert _oscillation(real_log(_PHISHING_ZIGZAG)) is None


def test_alternating_minibatch_training_loss_is_not_read():
    """Healthy: nanoGPT mid-training minibatch losses 4.09, 3.74, 3.98, 3.87, 3.99, 3.77... turn
    more often than noise (z above 2.326), but a minibatch loss has sampling noise to turn on; the
    rule reads the evaluation loss only."""
    run = lrdoctor.read(real_log(_NANOGPT_MINIBATCH))
    assert turning_point_z(run.series("loss").finite().values) > osc.DEFAULTS.alternation_z
    assert _oscillation(real_log(_NANOGPT_MINIBATCH)) is None
