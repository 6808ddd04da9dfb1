"""Arithmetic of the RL detectors on synthetic series (their real-run tests are in test_rl.py
and test_reallogs.py): thresholds, config overrides, the edges each rule must respect."""

import math

import numpy as np

from lrdoctor.detect.rl import cycles, entropy, kl, q_values, value
from lrdoctor.run import RunMeta, build_run


def run_of(cols, config=None, unit="update"):
    n = len(next(iter(cols.values())))
    return build_run(np.arange(n, dtype=float), {k: np.asarray(v, float) for k, v in cols.items()},
                     meta=RunMeta(step_unit=unit), config=config)


def test_kl_target_comes_from_config():
    rng = np.random.default_rng(0)
    kl_vals = 0.05 + 0.005 * rng.standard_normal(200)  # 2.5x the default target, 0.5x a target of 0.1
    assert [f.severity.value for f in kl.detect(run_of({"approx_kl": kl_vals}))] == ["warning"]
    assert kl.detect(run_of({"approx_kl": kl_vals}, config={"target_kl": 0.1})) == []


def test_kl_below_early_stop_multiple_is_quiet():
    vals = np.full(200, 0.025)  # above 0.02 but below SB3's early stop at 1.5 x 0.02
    assert kl.detect(run_of({"approx_kl": vals})) == []


def test_entropy_stuck_at_uniform_needs_the_action_count():
    ent = np.full(100, math.log(4)) - 1e-4
    r = run_of({"entropy": ent}, config={"n_actions": 4})
    f = entropy.detect(r)
    assert [x.evidence.get("direction") for x in f] == ["to_uniform"]
    assert entropy.detect(run_of({"entropy": ent})) == []


def test_entropy_collapse_needs_share_of_run():
    ent = np.r_[np.full(90, 1.0), np.full(10, 1e-4)]  # collapsed for the last 10% only
    assert entropy.detect(run_of({"entropy": ent})) == []
    ent = np.r_[np.full(50, 1.0), np.full(50, 1e-4)]
    assert entropy.detect(run_of({"entropy": ent}))[0].evidence["direction"] == "to_zero"


def test_gaussian_policy_negative_entropy_is_not_collapse():
    ent = np.linspace(1.0, -2.0, 200)  # differential entropy of an annealed Gaussian policy
    assert entropy.detect(run_of({"entropy": ent})) == []


def test_value_collapse_skipped_when_returns_are_constant():
    ev = np.zeros(100)
    assert value.detect(run_of({"explained_variance": ev, "ep_return": np.linspace(0, 10, 100)}))
    assert value.detect(run_of({"explained_variance": ev, "ep_return": np.full(100, -100.0)})) == []


def test_q_growth_justified_by_return_growth_is_quiet():
    steps = np.arange(200)
    q = 1 + steps * 0.5  # Q grows 100x ...
    ret = 1 + steps * 0.5  # ... and so does the return
    assert q_values.detect(run_of({"q_max": q, "ep_return": ret})) == []
    assert q_values.detect(run_of({"q_max": q, "ep_return": np.full(200, 5.0)}))[0].kind == "q_divergence"


def test_cycle_rules():
    r = run_of({"eval_accuracy": [0.5, 0.7, 0.8, 0.79, 0.75, 0.7]}, unit="cycle")
    f = cycles.detect(r)[0]
    assert f.evidence["best_cycle"] == 2 and f.severity.value == "error"  # three cycles down in a row
    assert cycles.detect(run_of({"eval_accuracy": [0.5, 0.7, 0.8, 0.79, 0.81, 0.8]}, unit="cycle")) == []
    assert cycles.detect(run_of({"eval_loss": [2.0, 1.5, 1.2, 1.3, 1.4]}, unit="cycle"))[0].evidence["best_cycle"] == 2
