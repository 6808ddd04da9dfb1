"""The gradient noise scale against the exact value from per-example gradients."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import lrdoctor
from lrdoctor.experiments.noise_scale import exact_noise_scale

torch.set_num_threads(1)
N = 2048


def _problem(kind: str):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, 8, generator=g)
    torch.manual_seed(0)
    if kind == "regression":
        y = torch.sin(x[:, :2].sum(1, keepdim=True)) + 0.3 * torch.randn(N, 1, generator=g)
        model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
        return model, torch.nn.functional.mse_loss, x, y
    y = (x[:, :3] + 0.5 * torch.randn(N, 3, generator=g)).argmax(1)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    return model, torch.nn.functional.cross_entropy, x, y


def _with_replacement(x, y, batch, seed=1):
    sampler = torch.utils.data.RandomSampler(range(N), replacement=True, num_samples=10 ** 7,
                                             generator=torch.Generator().manual_seed(seed))
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch, sampler=sampler)


def _reference(model, loss_fn, x, y):
    """Per-example gradients by a plain loop over examples (independent of torch.func)."""
    gs = []
    for i in range(N):
        model.zero_grad()
        loss_fn(model(x[i:i + 1]), y[i:i + 1]).backward()
        gs.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double())
    model.zero_grad(set_to_none=True)
    g = torch.stack(gs)
    G = g.mean(0)
    tr = float(((g - G) ** 2).sum(1).mean())
    return tr / float(G @ G), float(G @ G), tr


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_estimate_within_5_percent_of_exact_per_example_value(kind):
    model, loss_fn, x, y = _problem(kind)
    exact, g2, tr = exact_noise_scale(model, loss_fn, x, y)
    ref = _reference(model, loss_fn, x, y)
    assert exact == pytest.approx(ref[0], rel=1e-6) and tr == pytest.approx(ref[2], rel=1e-6)
    before = copy.deepcopy(model.state_dict())
    res = lrdoctor.noise_scale(model, loss_fn, _with_replacement(x, y, 256), draws=150)
    assert abs(res.b_simple / exact - 1) <= 0.05, (res.b_simple, exact)
    assert res.small_batch == 32 and res.big_batch == 256 and res.draws == 150
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_average_before_dividing():
    """Per-draw ratios are unusable when the noise dominates; the ratio of averages is not."""
    model, loss_fn, x, y = _problem("regression")
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(30):  # trained a little: |G|^2 small, noise large (B_simple >> batch)
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    exact = exact_noise_scale(model, loss_fn, x, y)[0]
    res = lrdoctor.noise_scale(model, loss_fn, _with_replacement(x, y, 256), draws=60)
    b, B = res.small_batch, res.big_batch
    g2_draw = (B * res.big_sq - b * res.small_sq) / (B - b)
    tr_draw = (res.small_sq - res.big_sq) / (1 / b - 1 / B)
    per_draw = tr_draw / g2_draw
    assert (g2_draw < 0).any()  # single draws estimate a negative |G|^2
    assert abs(np.log(res.b_simple / exact)) < abs(np.log(abs(per_draw.mean()) / exact))


def test_implications_for_batch_and_lr():
    model, loss_fn, x, y = _problem("regression")
    res = lrdoctor.noise_scale(model, loss_fn, _with_replacement(x, y, 128), draws=20)
    bn = res.b_simple
    assert res.lr_scale(bn / 100, bn / 50) == pytest.approx((1 + 100) / (1 + 50))  # ~linear well below B_noise
    assert res.lr_scale(100 * bn, 200 * bn) == pytest.approx(1.0, abs=0.01)  # saturated far above
    assert res.steps_factor(bn) == pytest.approx(2.0) and res.examples_factor(bn) == pytest.approx(2.0)
    assert "B_simple" in res.summary(batch=32)
