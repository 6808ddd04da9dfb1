"""Stop 79, RL returns: ``reward_instability`` from recurring episodes below the learning floor.

A Monitor log's raw episode returns (one row per episode) after the learning phase -- from where the
smoothed return (a rolling median over ``SMOOTH_SHARE`` of the run) first comes within
``min_gain_share`` of the gain of its best -- that fall below the lowest return of that phase by more
than the whole learned gain (``floor_depth_gain`` x gain), in at least ``min_swings`` separate runs of
episodes. An episode is one sample, so the judge is the run's own scatter while it learned; the
100-episode rolling mean the reader logs as ``ep_rew_mean`` hides such episodes, and the swing rule,
which reads that mean, stays silent. One such episode is an accident (two healthy Open-the-Chests runs
have exactly one), so the rule asks for recurring ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from bench_logs import real_findings, real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect.rl.returns import DEFAULTS, learning_floor_breaks
from lrdoctor.detect._stats import curve
from lrdoctor.run import Series

torch.set_num_threads(1)

_OTC_MONITOR0 = "fresh21/openthechests-monitor0/monitor.csv"
_OTC_TEMP75 = "fresh99/otc-temp75-window/monitor.csv"
_OTC_TEMP120 = "fresh40/otc-monitor-temp120/monitor_head.csv"
_OTC_HEALTHY_150 = "fresh21/openthechests-monitor150-first1088/monitor.csv"
_OTC_HEALTHY_100 = "fresh37/open-the-chests-monitor-100/monitor.csv"


def _returns(crashes: int, seed: int = 0) -> np.ndarray:
    """400 episodes: 60 learning from about -30 to +4 (noise 3, worst about -40), then +3..+5 with
    ``crashes`` separate episodes at -200 spread over the converged stretch."""
    rng = np.random.default_rng(seed)
    learn = np.linspace(-30.0, 4.0, 60) + rng.normal(0, 3, 60)
    done = 4.0 + rng.integers(-1, 2, 340).astype(float)
    for i in np.linspace(50, 320, crashes).astype(int) if crashes else []:
        done[i] = -200.0
    return np.r_[learn, done]


def _monitor(tmp_path: Path, r: np.ndarray) -> lrdoctor.Run:
    rows = ['#{"t_start": 0.0, "env_id": null}', "r,l,t"] + [f"{x:.3f},5,{0.01 * (i + 1):.2f}" for i, x in enumerate(r)]
    return lrdoctor.read(write_lines(tmp_path / "0.monitor.csv", rows))


def _instability(run: lrdoctor.Run) -> list:
    return [f for f in lrdoctor.diagnose(run).findings if f.kind == "reward_instability"]


# -- the arithmetic -----------------------------------------------------------------------------------

def test_floor_gain_and_breaks_on_a_synthetic_series():
    """The smoothed return rises about 34 (from about -30 to +4), well beyond the noise; the learning
    phase's floor is its lowest episode; three -200 episodes lie more than the gain below it, the
    converged +3..+5 ones do not."""
    r = _returns(3)
    floor, gain, after, deep = learning_floor_breaks(curve(Series("episode_return", np.arange(r.size, dtype=float), r)), DEFAULTS)
    assert 25 < gain < 45
    assert floor == r[:after].min() and floor < -25
    assert after <= 60
    assert int(deep.sum()) == 3 and (r[after:][deep] == -200.0).all()


def test_a_run_that_learned_nothing_has_no_floor_to_break():
    """No gain beyond noise_k robust sigmas of the episodes: None, whatever its low episodes."""
    r = np.random.default_rng(1).normal(0, 5, 300)
    r[[100, 200, 250]] = -200.0
    assert learning_floor_breaks(curve(Series("episode_return", np.arange(r.size, dtype=float), r)), DEFAULTS) is None


def test_three_crashes_are_a_finding_two_are_not(tmp_path):
    """min_swings separate catastrophic episodes are recurring; fewer are accidents."""
    found = _instability(_monitor(tmp_path, _returns(3)))
    assert len(found) == 1 and found[0].evidence["episodes_below"] == 3
    assert found[0].evidence["worst"] == -200.0
    assert _instability(_monitor(tmp_path, _returns(2))) == []


def test_crashes_above_the_floor_minus_the_gain_are_not_counted(tmp_path):
    """Three crashes to -50: below the learning floor (about -35) but by less than the gain (about 34)."""
    r = _returns(0)
    r[[150, 250, 350]] = r[:60].min() - 0.5 * 34
    assert _instability(_monitor(tmp_path, r)) == []


# -- real logs ----------------------------------------------------------------------------------------

def test_open_the_chests_monitor0_recurring_failures_found():
    """Labelled reward_instability (edge): converged at +4..+5 by episode ~200 (worst exploring episode
    -55), then long failure episodes (-128 .. -322) recur from episode ~490. The 100-episode mean
    never swings by half its range: the finding is the floor rule's."""
    found = real_findings(_OTC_MONITOR0, "reward_instability")
    assert len(found) == 1 and "floor" in found[0].evidence
    assert found[0].evidence["floor"] == -55.0 and found[0].evidence["worst"] == -322.0


def test_open_the_chests_temp75_catastrophic_episodes_found():
    """Labelled reward_instability (edge): -255, -442, -301, -135 among a converged +3..+5."""
    found = real_findings(_OTC_TEMP75, "reward_instability")
    assert len(found) == 1 and "floor" in found[0].evidence
    assert found[0].evidence["worst"] == -442.0


def test_open_the_chests_temp120_catastrophic_episodes_found():
    """Labelled reward_instability (unhealthy): -332, -1941, -618, worst earlier -67."""
    found = real_findings(_OTC_TEMP120, "reward_instability")
    assert len(found) == 1 and "floor" in found[0].evidence
    assert found[0].evidence["worst"] == -1941.0


def test_healthy_open_the_chests_runs_with_one_catastrophic_episode_stay_silent():
    """Two healthy twins of the same environment and reader, each with a single episode far below the
    learning floor (-1388; -774): one is an accident, not an instability."""
    for rel in (_OTC_HEALTHY_150, _OTC_HEALTHY_100):
        run = lrdoctor.read(real_log(rel))
        raw = run.series("episode_return").finite()
        floor, gain, after, deep = learning_floor_breaks(curve(raw), DEFAULTS)
        assert 1 <= int(deep.sum()) < DEFAULTS.min_swings
        assert real_findings(rel, "reward_instability") == []
