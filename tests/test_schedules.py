"""Schedules: the post-mortems' numbers, step-by-step equivalence with torch and transformers,
the torch adapter (resume, param groups, plain loop), specs and the CLI."""

import doctest
import importlib
import math
import pkgutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from lrdoctor import schedules as S
from tests.conftest import TinyRegressor, tiny_regression_data

torch.set_num_threads(1)


SCHEDULE_MODULES = ["lrdoctor.schedules"] + [f"lrdoctor.schedules.{m.name}" for m in pkgutil.iter_modules(S.__path__)]


@pytest.mark.parametrize("mod", SCHEDULE_MODULES)
def test_doctests(mod):
    """``--doctest-modules`` for src/lrdoctor/schedules only (pytest's testpaths are tests and
    examples): every module of the package, found by walking it, runs its doctests, and has some
    (the formulas sit in the docstrings with an example that runs)."""
    m = importlib.import_module(mod)
    result = doctest.testmod(m, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0, f"{mod} has no doctest"


def test_doctests_cover_the_presets_and_the_adapter():
    assert {"lrdoctor.schedules.presets", "lrdoctor.schedules.family", "lrdoctor.schedules.adapter"} <= set(SCHEDULE_MODULES)


# --- the post-mortems' numbers -------------------------------------------------------------

def test_three_phase_of_the_gru_post_mortem():
    s = S.three_phase(10_000, final_ratio=0.01)
    # 0.01x -> 0.1x over the first 2.5%, 0.1x -> 1x until 25%, then linear decay to 0.01x
    assert s(0) == pytest.approx(0.01) and s(250) == pytest.approx(0.1) and s(2500) == pytest.approx(1.0)
    assert s(10_000) == pytest.approx(0.01)
    assert s(125) == pytest.approx(0.055) and s(1375) == pytest.approx(0.55)  # midpoints are linear
    assert S.three_phase(10_000, final_ratio=0.1)(10_000) == pytest.approx(0.1)  # "1e-4 -> 1e-5" reading


def test_cross_cycle_exponential_numbers():
    got = [S.cycles.exponential(5e-5, 0.85)(c) for c in range(1, 7)]
    assert [f"{x:.2e}" for x in got] == ["5.00e-05", "4.25e-05", "3.61e-05", "3.07e-05", "2.61e-05", "2.22e-05"]
    with pytest.raises(ValueError, match="counted from 1"):
        S.cycles.exponential(5e-5, 0.85)(0)


def test_cycle_plan_warns_when_warmup_eats_a_short_cycle():
    p = S.cycles.plan(256, batch=4, accumulation=4, warmup_steps=5)
    assert p.optimizer_steps == 16 and p.warmup_share == pytest.approx(5 / 16)
    assert any("5 of 16" in w for w in p.warnings)
    assert S.cycles.plan(10_000, batch=8, warmup_steps=20).warnings == ()


def test_performance_based_state_round_trips():
    s = S.cycles.PerformanceBased(lr=1e-4, factor=0.5, threshold=0.01)
    for m in (0.5, 0.6, 0.601):
        s.update(m)
    t = S.cycles.PerformanceBased.from_dict(s.to_dict())
    assert t == s and t.update(0.59) == s.update(0.59) == 2.5e-5


# --- equivalence with torch ----------------------------------------------------------------

def _torch_lrs(make, n, lr=0.1):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(out)


L = torch.optim.lr_scheduler
TORCH_CASES = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[10, 25, 40], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.97)),
    ("CosineAnnealingLR", dict(T_max=50, eta_min=0.001)),
    ("CosineAnnealingWarmRestarts", dict(T_0=10, T_mult=1, eta_min=0.0)),
    ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=2, eta_min=0.002)),
    ("LinearLR", dict(start_factor=0.1, end_factor=1.0, total_iters=20)),
    ("ConstantLR", dict(factor=0.25, total_iters=8)),
    ("PolynomialLR", dict(total_iters=40, power=2.0)),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=60)),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=60, anneal_strategy="linear", pct_start=0.25)),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=60, three_phase=True)),
]


@pytest.mark.parametrize("name,kw", TORCH_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(TORCH_CASES)])
def test_matches_torch_step_by_step(name, kw):
    # torch's cosine is periodic past T_max (ours stays at the floor): compare up to T_max
    n = kw.get("total_steps", kw.get("T_max", 59) + 1)
    theirs = _torch_lrs(lambda o: getattr(L, name)(o, **kw), n)
    ours_kw = {k: v for k, v in kw.items() if k != "max_lr"}
    ours = 0.1 * S.from_torch(name, lr=0.1, **ours_kw)(np.arange(n))
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


# --- equivalence with transformers ---------------------------------------------------------

HF_CASES = [
    ("warmup_stable_decay", {"num_decay_steps": 40, "min_lr_ratio": 0.05, "decay_type": "1-sqrt", "warmup_type": "1-sqrt"}),
    ("linear", {}), ("cosine", {}), ("cosine_with_min_lr", {"min_lr_rate": 0.05}),
    ("cosine_with_restarts", {"num_cycles": 3}), ("polynomial", {"power": 2.0, "lr_end": 1e-4}),
    ("constant", {}), ("constant_with_warmup", {}), ("inverse_sqrt", {}),
    ("warmup_stable_decay", {"num_decay_steps": 30, "min_lr_ratio": 0.1}),
    ("warmup_stable_decay", {"num_decay_steps": 30, "decay_type": "linear", "warmup_type": "cosine"}),
]


@pytest.mark.parametrize("name,kw", HF_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(HF_CASES)])
def test_matches_transformers_step_by_step(name, kw):
    transformers = pytest.importorskip("transformers")
    w, T, lr = 10, 100, 0.1
    theirs = _torch_lrs(lambda o: transformers.get_scheduler(name, o, num_warmup_steps=w, num_training_steps=T,
                                                            scheduler_specific_kwargs=kw), T, lr)
    extra = {"lr": lr} if name == "polynomial" else {}
    ours = lr * S.from_hf(name, w, T, **kw, **extra)(np.arange(T))
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


# --- torch adapter -------------------------------------------------------------------------

def _train(k_stop=None, n=60, seed=0):
    """Tiny regression with Adam and warmup x cosine; optionally checkpoint at k_stop and resume."""
    torch.manual_seed(seed)
    x, y = torch.randn(64, 4), torch.randn(64, 1)

    def fresh():
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.Adam([{"params": [model.weight], "lr": 1e-2}, {"params": [model.bias], "lr": 3e-3}])
        return model, opt, S.to_torch(opt, S.warmup(10) * S.cosine(n, min_ratio=0.1, start_step=10))

    model, opt, sched = fresh()
    lrs = []
    for step in range(n):
        if step == k_stop:
            state = {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}
            state = torch.load(_roundtrip(state), weights_only=True)
            model, opt, sched = fresh()
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["opt"])
            sched.load_state_dict(state["sched"])
        lrs.append([g["lr"] for g in opt.param_groups])
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return np.array(lrs), torch.cat([p.detach().flatten() for p in model.parameters()])


def _roundtrip(state):
    import io

    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return buf


def test_adapter_respects_param_groups_and_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lrs, _ = _train()
    s = S.warmup(10) * S.cosine(60, min_ratio=0.1, start_step=10)
    np.testing.assert_allclose(lrs[:, 0], 1e-2 * s(np.arange(60)), rtol=1e-12)
    np.testing.assert_allclose(lrs[:, 1], 3e-3 * s(np.arange(60)), rtol=1e-12)


@pytest.mark.parametrize("k", [1, 9, 10, 37])
def test_adapter_resume_is_bit_identical(k):
    lrs_a, params_a = _train()
    lrs_b, params_b = _train(k_stop=k)
    assert np.array_equal(lrs_a, lrs_b)
    assert torch.equal(params_a, params_b)


def test_adapter_per_group_schedules():
    opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": 1.0},
                           {"params": [torch.zeros(1, requires_grad=True)], "lr": 2.0}], lr=1.0)
    sched = S.to_torch(opt, [S.constant(1.0), S.step_decay(2, 0.5)])
    for _ in range(4):
        opt.step()
        sched.step()
    assert [g["lr"] for g in opt.param_groups] == [1.0, 0.5]
    with pytest.raises(ValueError, match="2 param groups"):
        S.to_torch(opt, [S.constant(1.0)])


def test_adapter_in_hf_trainer(tmp_path):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")

    data = tiny_regression_data()
    model = TinyRegressor()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    s = S.warmup(5) * S.cosine(20, start_step=5)
    args = transformers.TrainingArguments(output_dir=str(tmp_path), max_steps=20, per_device_train_batch_size=8,
                                          logging_steps=1, report_to=[], use_cpu=True, save_strategy="no",
                                          disable_tqdm=True)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data, optimizers=(opt, S.to_torch(opt, s)))
    trainer.train()
    logged = [h["learning_rate"] for h in trainer.state.log_history if "learning_rate" in h]
    assert len(logged) == 20
    # HF logs the LR each optimizer step used: step i (from 0) ran at base * s(i)
    np.testing.assert_allclose(logged, 1e-2 * s(np.arange(20)), rtol=1e-6)


def test_adapter_in_lightning(tmp_path):
    pl = pytest.importorskip("lightning.pytorch")
    s = S.warmup(4) * S.linear_decay(16, final=0.1, start_step=4)
    seen = []

    class M(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 1)

        def training_step(self, batch, i):
            seen.append(self.optimizers().param_groups[0]["lr"])
            x, y = batch
            return torch.nn.functional.mse_loss(self.lin(x), y)

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=0.05)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": S.to_torch(opt, s), "interval": "step"}}

    ds = torch.utils.data.TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
    trainer = pl.Trainer(max_steps=16, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path))
    trainer.fit(M(), torch.utils.data.DataLoader(ds, batch_size=4))
    np.testing.assert_allclose(seen, 0.05 * s(np.arange(16)), rtol=1e-12)


# --- specs and CLI -------------------------------------------------------------------------

def test_spec_warmup_times_base_equals_the_code():
    a = S.from_spec({"warmup": 0.02, "base": {"cosine": {"min_ratio": 0.01}}}, total_steps=1000)
    b = S.warmup(20) * S.cosine(1000, min_ratio=0.01, start_step=20)
    t = np.arange(1001)
    np.testing.assert_array_equal(a(t), b(t))


@pytest.mark.parametrize("spec,needle", [
    ({"cosine": {"min_ratio": "low"}}, "cosine.min_ratio"),
    ({"cosin": {}}, "valid: constant, warmup"),
    ({"warmup": -3, "base": "cosine"}, "warmup"),
    ({"wsd": {"warmup": 0.6, "decay": 0.6}}, "exceed total_steps"),
    ({"join": {"schedules": ["constant"], "boundaries": [10]}}, "one boundary fewer"),
    ("cosine", None),
])
def test_spec_errors_name_the_field(spec, needle):
    if needle is None:
        with pytest.raises(S.SpecError, match="needs total_steps"):
            S.from_spec(spec)
        return
    with pytest.raises(S.SpecError, match=needle):
        S.from_spec(spec, total_steps=100)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "lrdoctor", "schedule", *map(str, args)], capture_output=True, text=True,
                          env={"COLUMNS": "120"})


def test_cli_schedule_table_plot_png(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("warmup: 0.05\nbase:\n  cosine: {min_ratio: 0.1}\n")
    png = tmp_path / "s.png"
    p = cli(spec, "--steps", 1000, "--base-lr", 3e-4, "--plot", png)
    assert p.returncode == 0, p.stderr
    assert "decay start" in p.stdout and "0.0003" in p.stdout and "3e-05" in p.stdout  # peak and floor
    assert "█" in p.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_schedule_bad_spec_one_line_exit_2():
    p = cli("{cosine: {min_ratio: 2}}", "--steps", 100)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "cosine.min_ratio" in p.stderr and "Got 2" in p.stderr


def test_join_matches_torch_sequential_lr():
    """SequentialLR restarts the next scheduler's clock at each milestone: that is ``join``."""
    w, T = 10, 60
    theirs = _torch_lrs(lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.01, total_iters=w),
                                                     L.CosineAnnealingLR(o, T_max=T - w)], milestones=[w]), T)
    ours = 0.1 * S.join([S.from_torch("LinearLR", start_factor=0.01, total_iters=w), S.cosine(T - w)], [w])(np.arange(T))
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    # the product form is NOT the same curve: the cosine's clock starts at 0, not at the milestone
    prod = 0.1 * (S.warmup(w, start=0.01) * S.cosine(T - w))(np.arange(T))
    assert not np.allclose(prod, theirs)


# --- one model: evaluate, any callable, validation once ------------------------------------

def test_evaluate_is_the_one_path_for_scalars_and_arrays():
    s = S.warmup(10) * S.cosine(100, start_step=10)
    assert type(s(5)) is float and type(S.evaluate(s, np.int64(5))) is float
    assert s(5) == S.evaluate(s, 5) == s(np.array([5]))[0] == 0.5
    assert s(-3) == s(0) == 0.0  # before the start is step 0
    assert S.evaluate(s, np.arange(12).reshape(3, 4)).shape == (3, 4)
    assert S.constant(0.3)(np.arange(4)).tolist() == [0.3] * 4  # a constant broadcasts to the steps
    seen = []
    assert S.evaluate(lambda t: seen.append(t) or 0.5 ** t, [0, 1, 2]).tolist() == [1.0, 0.5, 0.25]
    assert seen == [0, 1, 2] and all(type(t) is int for t in seen)  # plain callables get int steps, as LambdaLR


def test_to_torch_with_a_plain_lambda_matches_lambdalr():
    def lam(step):  # plain Python: scalars only, as a LambdaLR user writes it
        return min(1.0, (step + 1) / 10) * 0.5 ** (step // 25)
    theirs = _torch_lrs(lambda o: L.LambdaLR(o, lam), 80)
    ours = _torch_lrs(lambda o: S.to_torch(o, lam), 80)
    np.testing.assert_array_equal(ours, theirs)


def test_to_torch_mixes_schedules_and_callables_per_group_and_refuses_the_rest():
    opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": 1.0},
                           {"params": [torch.zeros(1, requires_grad=True)], "lr": 2.0}], lr=1.0)
    sched = S.to_torch(opt, [S.step_decay(2, 0.5), lambda t: 1.0 / (1 + t)])
    for _ in range(4):
        opt.step()
        sched.step()
    assert [g["lr"] for g in opt.param_groups] == [0.25, 2.0 / 5]
    with pytest.raises(TypeError, match="The 'schedule' parameter of to_torch must be a callable"):
        S.to_torch(opt, 0.5)


@pytest.mark.parametrize("make,needle", [
    (lambda: S.cosine(100, min_ratio=1.5), "The 'min_ratio' parameter of cosine must be a number in [0, 1]. Got 1.5 instead."),
    (lambda: S.linear_decay(0), "The 'total_steps' parameter of linear_decay must be a number of steps > 0. Got 0"),
    (lambda: S.linear(1.0, 0.0, -5), "The 'steps' parameter of linear must be a number of steps >= 0. Got -5"),
    (lambda: S.warmup(10, shape="cubic"), "The 'shape' parameter of warmup must be one of"),
    (lambda: S.wsd(100, decay_shape="exp"), "The 'decay_shape' parameter of wsd must be one of ['1-sqrt', 'cosine', 'linear']"),
    (lambda: S.one_cycle(100, anneal="cosine"), "The 'anneal' parameter of one_cycle must be one of ['cos', 'linear']"),
    (lambda: S.one_cycle(100, div_factor=0), "The 'div_factor' parameter of one_cycle must be a finite number > 0"),
    (lambda: S.three_phase(100, phase1=0.5, phase2=0.4), "The 'phase1' parameter of three_phase must be below phase2"),
    (lambda: S.step_decay(2.5), "The 'step_size' parameter of step_decay must be an integer >= 1. Got 2.5"),
    (lambda: S.join([S.constant(1.0)] * 3, [10, 5]), "The 'boundaries' parameter of join must be non-decreasing"),
    (lambda: S.scale(S.constant(1.0), -1), "The 'factor' parameter of scale must be a finite number >= 0"),
])
def test_factories_validate_once_in_scikit_learns_voice(make, needle):
    with pytest.raises(ValueError) as err:
        make()
    assert needle in str(err.value)


def test_presets_are_joins_of_family_members():
    """Each preset equals the composition its docstring writes out, built here from public parts."""
    T, t = 1000, np.arange(0, 1300)
    tp = S.join([S.linear(0.01, 0.1, 25), S.linear(0.1, 1.0, 225), S.linear(1.0, 0.01, 750)], [25, 250])
    np.testing.assert_array_equal(S.three_phase(T)(t), tp(t))
    w = S.join([S.cosine_anneal(0.1, 1.0, 50), S.constant(1.0), S.sqrt_anneal(1.0, 0.1, 300)], [50, 700])
    np.testing.assert_array_equal(S.wsd(T, warmup=50, decay=300, final=0.1, warmup_shape="cosine",
                                        decay_shape="1-sqrt")(t), w(t))
    e1 = math.nextafter(299.0, math.inf)  # torch's phase end 299 is inclusive: the anneal starts just after it
    oc = S.join([S.cosine_anneal(0.04, 1.0, 299), S.cosine_anneal(1.0, 0.04 / 1e4, 999 - e1)], [e1])
    np.testing.assert_array_equal(S.one_cycle(T)(t), oc(t))
    seq = S.sequence((S.linear(0.01, 0.1, 25), 25), (S.linear(0.1, 1.0, 225), 225), (S.linear(1.0, 0.01, 750), 750))
    np.testing.assert_array_equal(seq(t), tp(t))
    assert seq.total_steps == 1000


def test_join_allows_a_zero_length_part():
    s = S.join([S.constant(0.1), S.constant(0.5), S.constant(1.0)], [10, 10])
    assert (s(9), s(10), s(11)) == (0.1, 1.0, 1.0)


def test_spec_names_the_new_family_members():
    s = S.from_spec({"join": {"schedules": [{"linear": {"init_value": 0.0, "end_value": 1.0, "steps": 10}},
                                            {"sqrt_decay": {"final": 0.1, "total_steps": 100}}], "boundaries": [10]}},
                    total_steps=110)
    assert (s(5), s(10), s(35)) == (0.5, 1.0, pytest.approx(1 - 0.9 * 0.5))


def test_import_does_not_load_torch():
    code = "import lrdoctor.schedules, lrdoctor.cli, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_contributors_example_preset_runs():
    """The worked example of "Adding a schedule" (docs/contributing_schedule.md, or CONTRIBUTING.md
    once merged there) is a working preset: built from presets.py's own imports, its doctest passes."""
    import re
    from pathlib import Path

    from lrdoctor.schedules import presets

    root = Path(__file__).resolve().parents[1]
    texts = [p.read_text() for p in (root / "docs" / "contributing_schedule.md", root / "CONTRIBUTING.md") if p.exists()]
    section = next(t[t.index("## Adding a schedule"):] for t in texts if "## Adding a schedule" in t)
    ns = dict(vars(presets))
    exec(re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1), ns)
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(ns["warmup_hold_cosine"], "warmup_hold_cosine", globs=ns):
        runner.run(test)
    assert runner.summarize(verbose=False).attempted > 0 and runner.failures == 0
    s = ns["warmup_hold_cosine"](100, warmup=10, hold=20, min_ratio=0.1)
    assert (s(10), s(30), s(65), s(100)) == (1.0, 1.0, pytest.approx(0.55), pytest.approx(0.1))
