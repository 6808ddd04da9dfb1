"""A change of stop 80 to ``slow_progress``'s rate rule, on its arithmetic and real logs read in place.

**Slow, but still improving materially.** The rate rule warns when a training loss fell by less than
1% per 100 steps over the first half of the run and by less than half over the whole run, with no
fast front: the LR is too low. A loss that ended at least a fifth below its start
(``rate_material_drop``, performance_reversal's materiality) while its second half still falls with
a downward Mann-Kendall trend at one-sided 5% (``rate_trend_p``) is a run that learns, slowly but
materially: no finding (two healthy runs, a ViT on faces and a MIDI GPT-2, were warned). A loss that
fell less than a fifth, or that fell a fifth and stalled, is still judged."""

from __future__ import annotations

import numpy as np
from bench_logs import real_log

import lrdoctor
from lrdoctor.detect.progress import DEFAULTS, _improving_materially, detect_slow_progress
from lrdoctor.run import build_run

# healthy: the loss fell 29-30% over the run, its second half still falling (slow_progress warned)
_VIT_FACES = "fresh66/face-transformer-vits-s2-continue/VITSs8p10_face_retina_cosface_s2.log"
_MIDI_GPT2 = "fresh921/katpeeler-midi-model-3/training_results.md"
# the twins, labelled slow_progress: a loss still falling, but by less than a fifth (13%, 16%)
_XLSR_ARABIC = "fresh275/hfcard-andrewmcdowell-xlsr1b-arabic/training_results.md"
_GMLP_V2 = "fresh210/makris-gmlp-v2/metrics.csv"


def _linear_run(total: float, n: int = 40, every: float = 100.0):
    """A training loss falling linearly from 1 by ``total`` over ``n`` reports ``every`` steps apart
    (no fast front: a quarter of the fall in the first quarter)."""
    steps = np.arange(n) * every
    return build_run(steps, {"loss": 1.0 - total * np.arange(n) / (n - 1)})


def _slow(run) -> list:
    return [f for f in detect_slow_progress(run) if f.kind == "slow_progress"]


def test_the_guard_needs_a_fifth_and_a_falling_second_half():
    falling = np.linspace(0.9, 0.7, 20)
    flat = np.array([0.7, 0.71, 0.69, 0.7, 0.72, 0.68, 0.7, 0.71, 0.69, 0.7])
    assert DEFAULTS.rate_material_drop == 0.2 and DEFAULTS.rate_trend_p == 0.05
    assert _improving_materially(falling, 0.25, DEFAULTS)
    assert not _improving_materially(falling, 0.15, DEFAULTS)  # less than a fifth: still slow
    assert not _improving_materially(flat, 0.25, DEFAULTS)  # a fifth, then stalled: no trend
    assert not _improving_materially(falling[:2], 0.25, DEFAULTS)  # too few reports for a trend


def test_a_linear_fall_of_a_quarter_is_no_slow_progress_and_of_a_tenth_is():
    # 40 reports 100 steps apart: 0.64%/100 steps over the first half either way under a 1% bar
    assert _slow(_linear_run(0.25)) == []
    got = _slow(_linear_run(0.10))
    assert got and got[0].evidence["total_drop"] < DEFAULTS.rate_material_drop


def test_two_healthy_runs_still_improving_are_not_warned():
    for rel in (_VIT_FACES, _MIDI_GPT2):
        report = lrdoctor.diagnose(real_log(rel))
        assert "slow_progress" not in {f.kind for f in report.findings}, rel


def test_the_twins_that_fell_less_than_a_fifth_keep_their_warning():
    for rel in (_XLSR_ARABIC, _GMLP_V2):
        found = [f for f in lrdoctor.diagnose(real_log(rel)).findings if f.kind == "slow_progress"]
        assert found and found[0].severity.name == "WARNING", rel
        assert found[0].evidence["total_drop"] < DEFAULTS.rate_material_drop
