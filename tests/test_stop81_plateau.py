"""Stop 81's plateau new best against the curve's own scatter, on a synthetic series, two real logs read in place and a healthy twin.

**A trend-rule new best must beat the smoothed level's standard error, not only 1% of progress.** The
trend rule (the loss learned, then made no new best for half the run while the LR stayed high) counted
a new best whenever the smoothed loss went ``new_best`` (1%) of the total progress below the best so
far. On a loss whose batch-to-batch swing is a tenth of its level, a dip of the noise alone is that
large, so a flat loss kept "improving" and the rule never saw the stretch. A new best now also has to
beat the previous one by ``new_best_scatter`` (one) standard error of the smoothed level
(:attr:`lrdoctor.detect._trend.Trend.level_se`: sqrt(pi/2) x the scatter / sqrt(window), the median's
standard error). An Oriented R-CNN's total loss, 2.51 -> 0.94 in 150 iterations and then 0.77-1.08
for 900 more at a constant LR, is a plateau; a Caffe VDSR run at a fixed LR whose batch loss swings
0.84-2.14 without trend (its test loss still improving, labelled healthy) stays silent."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from bench_logs import real_log

import lrdoctor
from lrdoctor.detect._trend import objective_trend
from lrdoctor.detect.progress import DEFAULTS, _flat_stretch, detect_plateau
from lrdoctor.finding import Severity

# edge, labelled plateau (onset 150): total loss 2.51 -> 0.94, then 0.77-1.08 for 900 iterations, LR constant
_RVSA_DOTA = "fresh1185/rvsa-vitae-nc-rvsa-orcnn-dota10/faster_rcnn_orpn_our_rsp_vitae-nc-base-win-rvsa_v3_wsz7_fpn_1x_dota10_lr1e-4_ldr75_dpr15.log"
# edge, labelled plateau (onset 110): Qwen2.5-7B SFT, loss 2.22 -> 1.95 by step 100, then flat 1.70-2.00 under a cosine
_QWEN_SFT = "fresh128/qwen25-medical-llamafactory-trainer-log/trainer_log.jsonl"
# healthy: VDSR at a fixed LR, batch loss swinging 0.84-2.14 without trend while the test loss improves
_VDSR = "fresh206/caffe-vdsr-291-multiscale-adam-iter11400-16600/VDSR_291_multiscale_adam.log"


def _noisy_flat(tmp_path: Path) -> Path:
    """200 reports at a constant LR: the loss falls 3.0 -> 1.0 over the first 10, then sits at 1.0
    with a normal batch scatter of 0.1 (seeded), so its dips are the noise alone."""
    rng = np.random.default_rng(0)
    steps = np.arange(1, 201) * 10
    loss = np.where(steps <= 100, 3.0 - 2.0 * (steps - 10) / 90, 1.0) + np.where(steps > 100, rng.normal(0.0, 0.1, steps.size), 0.0)
    p = tmp_path / "metrics.csv"
    p.write_text("step,loss,lr\n" + "".join(f"{s},{v:.5f},0.001\n" for s, v in zip(steps, loss)))
    return p


def _plateau(path: Path) -> list:
    return [f for f in lrdoctor.diagnose(lrdoctor.read(path)).findings if f.kind == "plateau"]


def test_the_level_standard_error_is_the_medians():
    t = objective_trend(lrdoctor.read(real_log(_RVSA_DOTA)))
    assert t is not None
    assert math.isclose(t.level_se, math.sqrt(math.pi / 2) * t.sigma / math.sqrt(t.window))
    assert DEFAULTS.new_best_scatter == 1.0


def test_noise_dips_are_no_new_best(tmp_path):
    run = lrdoctor.read(_noisy_flat(tmp_path))
    t = objective_trend(run)
    total = float(t.smooth.max() - t.smooth.min())
    assert DEFAULTS.new_best * total < t.level_se  # the 1% of progress is inside the noise
    got = _flat_stretch(run, DEFAULTS)
    assert got is not None and got[2] >= DEFAULTS.plateau_min_budget * t.n
    # without the scatter bar the swing's dips count as new bests and the stretch is never half the run
    assert _flat_stretch(lrdoctor.read(_noisy_flat(tmp_path)), DEFAULTS.__class__(new_best_scatter=0.0)) is None
    (f,) = detect_plateau(lrdoctor.read(_noisy_flat(tmp_path)))
    assert f.severity is Severity.WARNING


def test_a_detector_loss_flat_after_150_iterations_is_a_plateau():
    (f,) = _plateau(real_log(_RVSA_DOTA))
    assert f.severity is Severity.WARNING
    assert f.evidence["lr_share_of_peak"] == 1.0
    assert f.start_step <= 400  # labelled onset 150


def test_an_sft_loss_flat_under_a_cosine_is_an_info():
    run = lrdoctor.read(real_log(_QWEN_SFT))
    (f,) = detect_plateau(run)
    assert f.severity is Severity.INFO  # the cosine had begun: the decay may still let it settle
    assert f.evidence["lr_share_of_peak"] < DEFAULTS.plateau_undecayed_lr


def test_a_healthy_noisy_run_at_a_fixed_lr_stays_silent():
    run = lrdoctor.read(real_log(_VDSR))
    assert "lr" in run and _flat_stretch(run, DEFAULTS) is None
    assert _plateau(real_log(_VDSR)) == []
