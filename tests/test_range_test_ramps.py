"""Several range-test ramps (``find_lr(ramps=k)``) and the finder benchmark's band readings.

The ramps: each ramp is checked against an independent single ramp fed the batches that ramp
should have seen, the mean against numpy, and the user's model and optimizer stay
bit-identical. The band: bench/finder_accuracy.py's ``band_of`` on a grid whose edges were
worked out by hand."""

from __future__ import annotations

import copy
import importlib.util
import pathlib
import sys

import numpy as np
import pytest
import torch

import lrdoctor

torch.set_num_threads(1)

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _batches(n_batches=37, bs=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_batches * bs, 8, generator=g)
    y = (x[:, :3] + 0.3 * torch.randn(n_batches * bs, 3, generator=g)).argmax(1)
    return [(x[i:i + bs], y[i:i + bs]) for i in range(0, n_batches * bs, bs)]


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 3))


def test_each_ramp_restarts_from_the_users_state_and_continues_the_loader():
    batches = _batches()  # 37 batches: a 60-step ramp ends at batch 60 % 37 = 23 of the second pass
    ce = torch.nn.functional.cross_entropy
    kw = dict(start_lr=1e-4, end_lr=1.0, num_steps=60)
    model = _model()
    res = lrdoctor.find_lr(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), ce, batches, ramps=3, **kw)
    assert res.ramp_losses.shape == (3, len(res.lrs)) and len(res.lrs) == 60
    for k in range(3):  # ramp k sees the cycled loader from batch 60 k on
        start = (60 * k) % len(batches)
        single_model = _model()
        single = lrdoctor.find_lr(single_model, torch.optim.SGD(single_model.parameters(), lr=0.1, momentum=0.9), ce,
                                  batches[start:] + batches[:start], **kw)
        np.testing.assert_array_equal(res.ramp_losses[k], single.losses)
        np.testing.assert_array_equal(res.lrs, single.lrs)
    np.testing.assert_allclose(res.losses, res.ramp_losses.mean(axis=0), rtol=1e-15)
    assert not np.array_equal(res.ramp_losses[0], res.ramp_losses[1])  # different data, different curves
    # averaging three curves lowers the step-to-step noise of the loss
    assert np.std(np.diff(res.losses[:30])) < np.std(np.diff(res.ramp_losses[0][:30]))


def test_one_ramp_is_the_classic_range_test():
    batches = _batches()
    ce = torch.nn.functional.cross_entropy
    a_model, b_model = _model(), _model()
    a = lrdoctor.find_lr(a_model, torch.optim.AdamW(a_model.parameters(), lr=1e-3), ce, batches, num_steps=50)
    b = lrdoctor.find_lr(b_model, torch.optim.AdamW(b_model.parameters(), lr=1e-3), ce, batches, num_steps=50, ramps=1)
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.ramp_losses[0], a.losses)
    assert a.suggestion == b.suggestion


def test_users_model_and_optimizer_untouched_by_several_ramps():
    batches = _batches()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.BatchNorm1d(32), torch.nn.ReLU(),
                                torch.nn.Dropout(0.1), torch.nn.Linear(32, 3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for xb, yb in batches[:3]:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
    before = copy.deepcopy(model.state_dict())
    opt_before = copy.deepcopy(opt.state_dict())
    rng = torch.get_rng_state()
    res = lrdoctor.find_lr(model, opt, torch.nn.functional.cross_entropy, batches, num_steps=40, ramps=3)
    assert res.ramp_losses.shape[0] == 3
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    for k, st in opt_before["state"].items():
        for name, v in st.items():
            assert torch.equal(torch.as_tensor(opt.state_dict()["state"][k][name]), torch.as_tensor(v)), (k, name)
    assert torch.equal(torch.get_rng_state(), rng)


def test_plot_of_several_ramps(tmp_path):
    model = _model()
    res = lrdoctor.find_lr(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                           torch.nn.functional.cross_entropy, _batches(), num_steps=40, ramps=2)
    ax = res.plot(tmp_path / "ramps.png")
    labels = [line.get_label() for line in ax.get_lines()]
    assert "2 ramps (raw)" in labels and "mean of the ramps (raw)" in labels
    assert (tmp_path / "ramps.png").stat().st_size > 10_000


def test_ramps_must_be_positive():
    model = _model()
    with pytest.raises(ValueError, match="'ramps'"):
        lrdoctor.find_lr(model, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.functional.cross_entropy,
                         _batches(), ramps=0)


def _bench():
    spec = importlib.util.spec_from_file_location("finder_accuracy", ROOT / "bench" / "finder_accuracy.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_band_readings_on_a_hand_worked_grid():
    F = _bench()
    lrs = 10.0 ** (-3 + 0.2 * np.arange(7))
    loss = np.array([2.0, 1.2, 1.04, 1.0, 1.03, 1.1, np.inf])
    # grid points within 5% of 1.0: indices 2..4, i.e. 10^-2.6 .. 10^-2.2
    assert F.band_of(lrs, loss, interpolate=False) == pytest.approx((-2.6, -2.2))
    # interpolated in log-LR to where the loss crosses 1.05:
    # left: 1.04 -> 1.2 over 0.2 decade, (1.05 - 1.04) / 0.16 = 1/16 of the way: -2.6125
    # right: 1.03 -> 1.1, (1.05 - 1.03) / 0.07 = 2/7 of the way: -2.2 + 0.4/7 = -2.142857
    assert F.band_of(lrs, loss, interpolate=True) == pytest.approx((-2.6125, -2.142857142857), abs=1e-9)
    # a diverged neighbour (inf) is not interpolated into
    lo, hi = F.band_of(lrs, np.array([2.0, 1.2, 1.04, 1.0, 1.03, np.inf, np.inf]), interpolate=True)
    assert hi == pytest.approx(-2.2)
    assert F.READINGS[0] == "task, interp."
    # the grid-points reading: the nearest grid LR must be in the band of grid points
    grid_band = F.band_of(lrs, loss, interpolate=False)
    assert F._nearest_inside(10 ** -2.69, lrs, grid_band)  # nearest 10^-2.6
    assert not F._nearest_inside(10 ** -2.71, lrs, grid_band)  # nearest 10^-2.8
    assert F._nearest_inside(10 ** -2.11, lrs, grid_band) and not F._nearest_inside(10 ** -2.09, lrs, grid_band)
