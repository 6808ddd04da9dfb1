"""The LR range test: the user's model and optimizer untouched, the ramp applied and logged,
the early stop, the rules against their sources' packages, the plot and the CLI."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import lrdoctor
from lrdoctor.experiments import suggest as S

torch.set_num_threads(1)


def _data(n=512, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 10, generator=g)
    y = (x[:, :3] + 0.3 * torch.randn(n, 3, generator=g)).argmax(1)
    return x, y


def _loader(x, y, seed=0, bs=32):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=bs, shuffle=True,
                                       generator=torch.Generator().manual_seed(seed))


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.BatchNorm1d(32), torch.nn.ReLU(),
                               torch.nn.Dropout(0.1), torch.nn.Linear(32, 3))


def test_users_model_and_optimizer_are_bit_identical_afterwards():
    x, y = _data()
    model = _model()
    opt = torch.optim.AdamW([{"params": list(model[0].parameters()), "lr": 1e-3},
                             {"params": list(model[1].parameters()) + list(model[4].parameters()), "lr": 5e-4}],
                            weight_decay=0.01)
    for xb, yb in list(_loader(x, y))[:3]:  # real optimizer state (moments, step counts)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
    model.eval()
    params_before = copy.deepcopy(model.state_dict())
    grads_before = [p.grad.clone() for p in model.parameters()]
    opt_before = copy.deepcopy(opt.state_dict())
    rng_before = torch.get_rng_state()

    res = lrdoctor.find_lr(model, opt, torch.nn.functional.cross_entropy, _loader(x, y), num_steps=60)
    assert len(res.lrs) > 20  # it really trained (the copy)

    for k, v in model.state_dict().items():
        assert torch.equal(v, params_before[k]), k
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads_before))
    assert not model.training  # mode untouched
    after = opt.state_dict()
    assert after["param_groups"] == opt_before["param_groups"]
    assert after["state"].keys() == opt_before["state"].keys()
    for k, st in opt_before["state"].items():
        for name, v in st.items():
            assert torch.equal(torch.as_tensor(after["state"][k][name]), torch.as_tensor(v)), (k, name)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert [g["lr"] for g in opt.param_groups] == [1e-3, 5e-4]


def test_exponential_ramp_is_applied_and_logged():
    x, y = _data()
    model = torch.nn.Linear(10, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = lrdoctor.find_lr(model, opt, torch.nn.functional.cross_entropy, _loader(x, y), start_lr=1e-6, end_lr=1e-2,
                           num_steps=40)
    assert res.stopped == "completed" and len(res.lrs) == 40
    np.testing.assert_allclose(res.lrs, np.geomspace(1e-6, 1e-2, 40), rtol=1e-12)
    assert np.isfinite(res.losses).all() and res.losses.shape == (40,)


def test_early_stop_on_divergence():
    x, y = _data()
    model = torch.nn.Sequential(torch.nn.Linear(10, 64), torch.nn.ReLU(), torch.nn.Linear(64, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    res = lrdoctor.find_lr(model, opt, torch.nn.functional.cross_entropy, _loader(x, y), start_lr=1e-4, end_lr=1e4,
                           num_steps=100)
    assert res.stopped in ("diverged", "nonfinite")
    assert len(res.lrs) < 100
    sug = res.suggestion
    assert sug is not None and res.lrs[0] <= sug <= res.lrs[-1]


def test_our_rule_on_a_noisy_synthetic_valley():
    """Loss flat, then falling between 1e-4 and 1e-2, flat floor, divergence from 1e-1."""
    rng = np.random.default_rng(0)
    lrs = np.geomspace(1e-7, 10, 100)
    x = np.log10(lrs)
    clean = 2.0 - 1.0 / (1 + np.exp(-(x + 3) * 3)) + np.where(x > -1, (x + 1) ** 2 * 3, 0.0)
    for trial in range(5):
        noisy = clean * np.exp(rng.normal(0, 0.02, lrs.size))
        # a deep noise dip early in the ramp must not become "the minimum"
        noisy[10] *= 0.5
        s = S.lrdoctor_rule(lrs, noisy)
        # the floor ends where the rise leaves the 1-sigma band: near 10^-1
        assert -1.5 < np.log10(s.marker_lr) < -0.5, s
        assert s.lr == pytest.approx(s.marker_lr / 10 ** S.OURS_MARGIN_DECADES)


def test_our_rule_on_a_flat_noisy_curve_reads_the_divergence_not_a_first_point_dip():
    """A ramp too short to train the model: log-loss flat within noise until it blows up at
    ~10^-0.3 (bench/finder_accuracy.py's reg_mlp_sgd, seed 0). The first version took the
    smoother's end point as the minimum and suggested 10^-7.9; the floor must instead run up
    to the divergence."""
    rng = np.random.default_rng(3)
    lrs = np.geomspace(1e-7, 10, 100)
    x = np.log10(lrs)
    clean = np.where(x > -0.3, np.exp((x + 0.3) * 6), 1.0) * 0.7
    for trial in range(5):
        noisy = clean * np.exp(rng.normal(0, 0.25, lrs.size))
        noisy[0] *= 0.4  # a low first point: the one-sided fit there is the least certain
        s = S.lrdoctor_rule(lrs, noisy)
        assert -1.6 < np.log10(s.marker_lr) < 0.0, s
        assert s.lr == pytest.approx(s.marker_lr / 10 ** S.OURS_MARGIN_DECADES)


def test_local_linear_standard_error_matches_simulation():
    """The smoother's equivalent-kernel norm times sigma is the sd of its fit under white noise."""
    rng = np.random.default_rng(0)
    x = np.linspace(-7, 1, 100)
    fits = np.array([S._local_linear(x, rng.normal(0, 0.3, x.size), 0.6)[0] for _ in range(500)])
    norm = S._local_linear(x, np.zeros_like(x), 0.6)[1]
    ratio = fits.std(0) / (0.3 * norm)  # each point's sd from 500 draws: ~3% sampling error
    assert abs(ratio.mean() - 1) < 0.02 and np.all(np.abs(ratio - 1) < 0.15)
    assert norm[0] > 1.5 * norm[50]  # the one-sided ends are the least certain


def test_steepest_matches_the_torch_lr_finder_package():
    from torch_lr_finder import LRFinder

    x, y = _data()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    opt = torch.optim.SGD(model.parameters(), lr=1e-7, momentum=0.9)
    finder = LRFinder(model, opt, torch.nn.functional.cross_entropy, device="cpu")
    finder.range_test(_loader(x, y), start_lr=1e-7, end_lr=10, num_iter=100, diverge_th=1e9)
    lrs, sm = np.array(finder.history["lr"]), np.array(finder.history["loss"])
    # recover the raw losses from its EMA (loss_i = 0.05 raw_i + 0.95 loss_{i-1}, first raw)
    raw = np.concatenate([[sm[0]], (sm[1:] - 0.95 * sm[:-1]) / 0.05])
    import matplotlib

    matplotlib.use("Agg")
    _, theirs = finder.plot(suggest_lr=True)
    assert S.steepest_torch_lr_finder(lrs, raw).lr == pytest.approx(theirs, rel=1e-12)


def test_lightning_rule_matches_lightning():
    from lightning.pytorch.tuner.lr_finder import _LRFinder

    rng = np.random.default_rng(1)
    lrs = np.geomspace(1e-7, 1, 100)
    raw = 2.0 - np.tanh(np.log10(lrs) + 3) + rng.normal(0, 0.05, 100)
    # Lightning's _LRCallback.on_train_batch_end, written out: global_step is 1 at the first loss
    avg, logged = 0.0, []
    for step, x in enumerate(raw, start=1):
        avg = 0.98 * avg + 0.02 * x
        logged.append(avg / (1 - 0.98 ** (step + 1)))
    finder = _LRFinder("exponential", 1e-7, 1.0, 100)
    finder.results = {"lr": lrs.tolist(), "loss": logged}
    assert S.lightning_steepest(lrs, raw).lr == pytest.approx(finder.suggestion(), rel=1e-12)


def test_fastai_rules_on_hand_checked_curves():
    lrs = np.geomspace(1e-6, 1, 60)
    # fastai's window drops 6 points at the start and 5 at the end; minimum/10 of a V-shaped curve
    v = np.abs(np.log10(lrs) + 2.0) + 1.0
    s = S.fastai_minimum(lrs, np.repeat(v[:1], 1).tolist() + v[1:].tolist())
    assert s.marker_lr == pytest.approx(lrs[np.argmin(S.ema_debiased(v)[6:-5]) + 6])
    assert s.lr == pytest.approx(s.marker_lr / 10)
    # valley on a monotone decreasing curve: the run is the whole window of L points; fastai's
    # start is max_end - L = -1 (its off-by-one, kept), so the index is -1 + int(L/3) + int(L/6)
    dec = np.linspace(3.0, 1.0, 60)
    val = S.fastai_valley(lrs, dec)
    window = lrs[6:-5]
    L = len(window)
    assert val.lr == pytest.approx(window[-1 + int(L / 3) + int(L / 3 / 2)])


def test_all_rules_reported_and_plot_written(tmp_path):
    x, y = _data()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    res = lrdoctor.find_lr(model, opt, torch.nn.functional.cross_entropy, _loader(x, y))
    assert set(res.suggestions) == set(S.RULES)
    assert res.suggestion == res.suggestions["lrdoctor"].lr
    res.plot(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").stat().st_size > 10_000
    d = res.to_dict()
    assert json.loads(json.dumps(d))["suggestion"] == res.suggestion


TASK = textwrap.dedent('''
    import torch
    from lrdoctor.experiments import Task

    def make(width=16):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(256, 6, generator=g)
        y = (x[:, :2]).argmax(1)
        batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
        return Task(model_fn=lambda: torch.nn.Sequential(torch.nn.Linear(6, width), torch.nn.Tanh(), torch.nn.Linear(width, 2)),
                    optimizer_fn=lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
                    batches=batches,
                    loss_fn=lambda model, batch: torch.nn.functional.cross_entropy(model(batch[0]), batch[1]))
''')


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "lrdoctor", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_cli_find_lr_and_sharpness(tmp_path):
    (tmp_path / "mytask.py").write_text(TASK)
    r = _cli("find-lr", "mytask.py:make", "--no-progress", "--json", "out.json", "--task-arg", "width=24", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "<- suggestion" in r.stdout and "fastai_valley" in r.stdout
    d = json.loads((tmp_path / "out.json").read_text())
    assert d["suggestion"] > 0 and len(d["lrs"]) >= 20

    r = _cli("sharpness", "mytask.py:make", "--lr", "100", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["update_rule"] == "heavy_ball" and d["max_stable_lr"] == pytest.approx(3.8 / d["lambda_max"])
    assert d["findings"][0]["kind"] == "lr_beyond_stability"


def test_cli_bad_task_is_one_line_exit_2(tmp_path):
    r = _cli("find-lr", "nofile.py:make", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = _cli("sharpness", "no_colon_here", "--lr", "0.1", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
