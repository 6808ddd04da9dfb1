"""Detectors on real small trainings (lrdoctor.corpus, lrdoctor.demo) plus arithmetic units."""

import numpy as np
import pytest

import lrdoctor
from lrdoctor.corpus import CASES, train_mlp
from lrdoctor.demo import DemoConfig, train_classifier
from lrdoctor.detect.label_smoothing_floor import smoothing_floor
from lrdoctor.report.sparkline import sparkline
from lrdoctor.run import RunMeta, build_run


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    return {n: lrdoctor.diagnose(train_mlp(c, d / f"{n}.csv")) for n, c in CASES.items()}


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.expect])
def test_pathology_is_found(corpus, name):
    kinds = {f.kind for f in corpus[name].findings}
    assert CASES[name].expect in kinds, [(f.kind, f.severity.value) for f in corpus[name].findings]


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if not c.expect])
def test_healthy_controls_are_silent(corpus, name):
    assert [f.kind for f in corpus[name].findings if f.severity.value != "info"] == []


def test_spikes_are_not_divergence(corpus):
    assert "divergence" not in {f.kind for f in corpus["spikes_adam"].findings}


def test_divergence_fix_cuts_logged_lr(corpus):
    f = next(f for f in corpus["diverge_sgd"].findings if f.kind == "divergence")
    assert f.severity.value == "error"
    assert 150 <= f.start_step <= 200
    fix = next(x for x in f.fixes if x.parameter == "lr")
    assert fix.old == pytest.approx(1.0) and fix.new == pytest.approx(1 / 3, rel=0.01)


def test_nonfinite_reports_first_nan(corpus):
    f = next(f for f in corpus["nan_sgd"].findings if f.kind == "nonfinite")
    loss = corpus["nan_sgd"].run.series("loss")
    assert f.start_step == loss.steps[np.flatnonzero(~np.isfinite(loss.values))[0]]


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    out = {}
    for name, cfg in {"healthy": DemoConfig(lr=1e-3, overwrite_warmup=False),
                      "broken": DemoConfig(lr=3e-2, overwrite_warmup=True)}.items():
        train_classifier(cfg, d / f"{name}.csv")
        out[name] = lrdoctor.diagnose(d / f"{name}.csv", config={"num_classes": 10, "lr": cfg.lr})
    return out


def test_overwriting_warmup_is_schedule_overridden_at_first_undone_decay(demo_runs):
    f = next(f for f in demo_runs["broken"].findings if f.kind == "schedule_overridden")
    assert f.severity.value == "error"
    # StepLR(step_size=3) decays after epoch 3 (25 steps/epoch): step 75 is the first step it is undone
    assert f.evidence["first_decay_undone_step"] == 75
    assert f.evidence["scheduled_lr_there"] == pytest.approx(0.015)


def test_demo_healthy_is_clean(demo_runs):
    assert [f.kind for f in demo_runs["healthy"].findings if f.severity.value != "info"] == []


def test_initial_loss_against_ln_k(tmp_path):
    train_classifier(DemoConfig(lr=1e-3, overwrite_warmup=False), tmp_path / "m.csv")
    ok = lrdoctor.diagnose(tmp_path / "m.csv", config={"num_classes": 10})
    assert "initial_loss_anomaly" not in {f.kind for f in ok.findings}  # first loss ~ ln 10
    low = lrdoctor.diagnose(tmp_path / "m.csv", config={"num_classes": 1000})  # ln 1000 = 6.9 >> 2.3 at step 0
    f = next(f for f in low.findings if f.kind == "initial_loss_anomaly")
    assert f.evidence["ratio"] < 0.5
    big = lrdoctor.diagnose(tmp_path / "m.csv", config={"num_classes": 3})  # 2.3 > 1.5 ln 3
    assert "initial_loss_anomaly" in {f.kind for f in big.findings}


def test_smoothing_floor_formula():
    # eps=0.1, K=10: q = 0.91 on the true class, 0.01 elsewhere
    expected = -(0.91 * np.log(0.91) + 9 * 0.01 * np.log(0.01))
    assert smoothing_floor(0.1, 10) == pytest.approx(expected)


def test_oscillation_on_period_two_bounce_but_not_on_noise():
    rng = np.random.default_rng(0)
    steps = np.arange(400)
    trend = 2.0 * np.exp(-steps / 300)
    bounce = trend * (1 + 0.8 * (-1) ** steps)  # period-2 overshoot
    noise = trend * np.exp(rng.normal(0, 0.5, steps.size))
    for series, expect in ((bounce, True), (noise, False)):
        run = build_run(steps, {"loss": series}, meta=RunMeta(source="synthetic"))
        assert ("oscillation" in {f.kind for f in lrdoctor.diagnose(run).findings}) is expect


def test_sparkline_marks_nonfinite():
    assert sparkline(np.array([1.0, np.nan, 3.0]), width=3) == "▁×█"


def test_ten_million_steps_is_vectorised():
    n = 10_000_000
    steps = np.arange(n)
    loss = 3 * np.exp(-steps / 2e6) + 0.01 * np.sin(steps)
    run = build_run(steps, {"loss": loss, "lr": np.full(n, 1e-3), "grad_norm": np.ones(n)})
    report = lrdoctor.diagnose(run)
    assert [f.kind for f in report.findings if f.severity.value == "error"] == []
