"""Severity study of stop 77: errors on runs labelled healthy or edge.

A trainer prints the mean return of the episodes that finished in its summary window, and the mean
of no episode is NaN by construction (numpy's "Mean of empty slice"). A NaN episode-return mean
alone is therefore a ``nonfinite`` warning, not an error: it cannot tell a policy whose outputs went
NaN from episodes that outlast the window. A run whose network really blew up shows it in a loss or
a gradient norm, which stay errors.
"""

from __future__ import annotations

from pathlib import Path

from bench_logs import real_log

import lrdoctor
from lrdoctor.detect.nonfinite import _EMPTY_WINDOW_MEANS, _persistent_severity
from lrdoctor.finding import Severity

# ML-Agents issue 117 (labelled edge, nonfinite): "Mean Reward: -82.99, -48.54, -37.32", then numpy's
# "Mean of empty slice" warning and "Mean Reward: nan" three times; no loss printed
MLAGENTS_NAN_MEAN = "fresh73/mlagents-issue117-mean-reward-nan/train.log"
# rsl_rl issue 96 (labelled unhealthy, nonfinite): "Mean value_function loss: nan" under AMP
RSLRL_VALUE_NAN = "fresh11/rslrl-issue96-amp-nan/issue96.log"
# a PPO trainer on pybullet-gym (labelled unhealthy, nonfinite): "KL divergence: nan Entropy: nan"
PYBULLET_ENTROPY_NAN = "fresh12/pybulletgym-issue10-ppo-kl-nan/issue10.log"
# ML-Agents' getting-started 3DBall console (labelled healthy): "Mean Reward" finite at every summary
MLAGENTS_3DBALL = "fresh33/mlagents-docs-3dball-ppo-getting-started/console.log"


def _nonfinite(path) -> list:
    return [f for f in lrdoctor.diagnose(lrdoctor.read(path)).findings if f.kind == "nonfinite"]


def _write(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "train.log"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_an_episode_return_mean_is_an_empty_window_mean():
    assert "ep_return" in _EMPTY_WINDOW_MEANS and "loss" not in _EMPTY_WINDOW_MEANS


def test_a_nan_return_mean_alone_warns(tmp_path):
    p = _write(tmp_path, [f"Mean Reward: {v}" for v in ("-82.99", "-48.54", "-37.32", "nan", "nan")])
    run = lrdoctor.read(p)
    assert _persistent_severity(run, "ep_return") is Severity.WARNING
    assert _persistent_severity(run, "loss") is Severity.ERROR
    found = _nonfinite(p)
    assert found and all(f.severity is Severity.WARNING for f in found)
    assert found[0].evidence["empty_window_mean"] is True


def test_a_nan_loss_beside_the_return_stays_an_error(tmp_path):
    p = _write(tmp_path, [f"step {i} loss {lo} mean_reward {r}" for i, (lo, r) in
                          enumerate([("1.2", "-80"), ("1.1", "-50"), ("1.0", "-37"), ("nan", "nan"), ("nan", "nan")])])
    errors = [f for f in _nonfinite(p) if f.severity is Severity.ERROR]
    assert errors and errors[0].evidence["metric"] == "loss"


def test_the_mlagents_nan_mean_reward_is_a_warning():
    found = _nonfinite(real_log(MLAGENTS_NAN_MEAN))
    assert found, "the labelled kind is still found"
    assert all(f.severity is Severity.WARNING for f in found)
    assert found[0].evidence["metric"] == "ep_return" and found[0].evidence.get("empty_window_mean")


def test_an_rl_value_loss_nan_stays_an_error():
    found = _nonfinite(real_log(RSLRL_VALUE_NAN))
    assert any(f.severity is Severity.ERROR for f in found)


def test_an_rl_policy_entropy_nan_stays_an_error():
    found = _nonfinite(real_log(PYBULLET_ENTROPY_NAN))
    assert any(f.severity is Severity.ERROR for f in found)


def test_a_finite_mlagents_console_is_silent():
    assert _nonfinite(real_log(MLAGENTS_3DBALL)) == []
