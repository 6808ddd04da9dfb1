"""Sharpness against the truth: dense Hessians, the stability bound on quadratics, and
the edge of stability of Cohen et al. (2021) reproduced on their small regression net."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from numpy.polynomial import chebyshev

import lrdoctor
from lrdoctor.experiments.lanczos import lanczos_top
from lrdoctor.experiments.sharpness_probe import SharpnessProbe

torch.set_num_threads(1)


def _dense_hessian(model, loss_fn, x, y):
    names = [n for n, _ in model.named_parameters()]
    ps = tuple(p.detach() for p in model.parameters())

    def f(*ps):
        return loss_fn(torch.func.functional_call(model, dict(zip(names, ps)), (x,)), y)

    H = torch.autograd.functional.hessian(f, ps)
    sz = [p.numel() for p in ps]
    rows = [torch.cat([H[i][j].reshape(sz[i], sz[j]) for j in range(len(ps))], 1) for i in range(len(ps))]
    return torch.cat(rows, 0).double()


def _mlp(dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_top_eigenvalue_matches_dense_hessian(dtype):
    model = _mlp(dtype)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(50, 6, generator=g).to(dtype), torch.randn(50, 3, generator=g).to(dtype)
    loss_fn = torch.nn.functional.mse_loss
    truth = torch.linalg.eigvalsh(_dense_hessian(model, loss_fn, x, y))
    res = lrdoctor.sharpness(model, loss_fn, (x, y), lr=0.1)
    assert abs(res.lambda_max - truth[-1].item()) <= 1e-4 * truth[-1].item()
    assert res.max_stable_lr == pytest.approx(2.0 / truth[-1].item(), rel=1e-4)
    assert res.converged and res.hvps == res.iterations <= 60


def test_cross_entropy_cnn_and_forward_over_reverse_agree_with_dense():
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.Tanh(), torch.nn.Flatten(),
                                torch.nn.Linear(3 * 4 * 4, 4)).double()
    x, y = torch.randn(30, 1, 6, 6, dtype=torch.float64), torch.randint(0, 4, (30,))
    loss_fn = torch.nn.functional.cross_entropy
    top = torch.linalg.eigvalsh(_dense_hessian(model, loss_fn, x, y))[-1].item()
    for method in ("double_backward", "forward_over_reverse"):
        res = lrdoctor.sharpness(model, loss_fn, (x, y), method=method)
        assert abs(res.lambda_max - top) <= 1e-4 * top, method


def test_adam_preconditioned_sharpness_matches_dense():
    model = _mlp(torch.float64, seed=2)
    x, y = torch.randn(40, 6, dtype=torch.float64), torch.randn(40, 3, dtype=torch.float64)
    loss_fn = torch.nn.functional.mse_loss
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.9, 0.99), eps=1e-8)
    for _ in range(7):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    # Cohen et al. 2022: P = (1 - b1^t) (sqrt(v_t / (1 - b2^t)) + eps), written out here from torch's state
    P = torch.cat([((1 - 0.9 ** 7) * ((opt.state[p]["exp_avg_sq"] / (1 - 0.99 ** 7)).sqrt() + 1e-8)).reshape(-1)
                   for p in model.parameters()]).double()
    H = _dense_hessian(model, loss_fn, x, y)
    A = H / P.sqrt()[:, None] / P.sqrt()[None, :]
    top_pre = torch.linalg.eigvalsh(A)[-1].item()
    fresh = torch.optim.Adam(model.parameters(), lr=1e-2)
    early = lrdoctor.sharpness(model, loss_fn, (x, y), optimizer=fresh)  # no step yet: no preconditioner, no bound
    assert early.max_stable_lr is None and early.preconditioned_lambda_max is None and early.notes
    before = copy.deepcopy(opt.state_dict())
    res = lrdoctor.sharpness(model, loss_fn, (x, y), optimizer=opt)
    assert abs(res.preconditioned_lambda_max - top_pre) <= 1e-4 * top_pre
    assert res.lambda_max == pytest.approx(torch.linalg.eigvalsh(H)[-1].item(), rel=1e-4)
    assert res.max_stable_lr == pytest.approx(38.0 / top_pre, rel=1e-4)  # (2 + 2*0.9) / (1 - 0.9) = 38
    assert res.threshold == pytest.approx(38.0 / 1e-2)
    after = opt.state_dict()
    for k, st in before["state"].items():
        for name, v in st.items():
            assert torch.equal(torch.as_tensor(v), torch.as_tensor(after["state"][k][name]))


@pytest.mark.parametrize("make_opt", [
    lambda ps, lr: torch.optim.SGD(ps, lr=lr),
    lambda ps, lr: torch.optim.SGD(ps, lr=lr, momentum=0.9),
    lambda ps, lr: torch.optim.SGD(ps, lr=lr, momentum=0.5, nesterov=True),
], ids=["gd", "heavy_ball", "nesterov"])
def test_max_stable_lr_is_where_training_a_quadratic_diverges(make_opt):
    """On least squares the Hessian is constant: just under the bound training converges,
    just over it the iterates blow up. The bound is checked by running the real optimizer."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 5, generator=g), torch.randn(64, 1, generator=g)
    loss_fn = torch.nn.functional.mse_loss
    model = torch.nn.Linear(5, 1)
    bound = lrdoctor.sharpness(model, loss_fn, (x, y), make_opt(model.parameters(), 1.0)).max_stable_lr

    def final_loss(factor: float) -> float:
        m = copy.deepcopy(model)
        opt = make_opt(m.parameters(), factor * bound)
        for _ in range(800):
            opt.zero_grad()
            loss = loss_fn(m(x), y)
            loss.backward()
            opt.step()
        return float(loss_fn(m(x), y).detach())

    start = float(loss_fn(model(x), y).detach())
    assert final_loss(0.95) < start
    assert not final_loss(1.05) < 100 * start


def _cohen_regression_net():
    """locuslab/edge-of-stability src/archs.py make_one_layer_network(h=100, seed=0, tanh, sigma_w=1.9)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(1, 100), torch.nn.Tanh(), torch.nn.Linear(100, 1, bias=False))
    torch.nn.init.xavier_normal_(net[0].weight, gain=1.9)
    torch.nn.init.zeros_(net[0].bias)
    torch.nn.init.xavier_normal_(net[2].weight)
    return net


def test_edge_of_stability_reproduced_on_cohen_regression_net():
    x = torch.linspace(-1, 1, 20).unsqueeze(1)  # 20 points labelled by the degree-5 Chebyshev polynomial
    y = torch.from_numpy(chebyshev.chebval(x.numpy(), [0, 0, 0, 0, 0, 1])).float()

    def loss_fn(out, t):  # 0.5 ||f - y||^2 averaged over examples (Cohen et al.'s SquaredLoss / n)
        return 0.5 * ((out - t) ** 2).sum(1).mean()

    net = _cohen_regression_net()
    lr = 0.2
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    probe = SharpnessProbe(loss_fn, (x, y), every=100)
    beyond = []
    for step in range(6001):
        res = probe(net, opt, step)
        if res is not None and res.to_finding(step) is not None:
            beyond.append(res.to_finding(step))
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()
    steps = np.array([r.step for r in probe.records])
    lam = np.array([r.lambda_max for r in probe.records])
    assert 3.5 < lam[0] < 4.5  # "rises from about 4"
    band = lam[steps >= 3000] * lr / 2
    assert band.min() >= 0.97 and band.max() <= 1.08, (band.min(), band.max())
    assert lam[steps < 1000].max() < 0.9 * 2 / lr  # it rises to the threshold, it does not start there
    assert probe.total_hvps < 6 * len(steps)  # warm starts keep the probe cheap
    assert beyond and all(f.kind == "lr_beyond_stability" for f in beyond)
    assert beyond[0].severity.value == "info" and beyond[0].evidence["lambda_max"] > 10.0


def test_finding_far_beyond_bound_is_an_error_with_evidence_and_fix():
    model = torch.nn.Linear(5, 1)
    x, y = torch.randn(64, 5), torch.randn(64, 1)
    res = lrdoctor.sharpness(model, torch.nn.functional.mse_loss, (x, y), lr=1.0)
    lam = res.lambda_max
    res_far = lrdoctor.sharpness(model, torch.nn.functional.mse_loss, (x, y), lr=5.0 / lam)
    f = res_far.to_finding(step=10)
    assert isinstance(f, lrdoctor.Finding) and f.kind == "lr_beyond_stability" and f.severity.value == "error"
    assert f.evidence["lr_over_max_stable_lr"] == pytest.approx(2.5, rel=1e-4)
    assert f.fixes[0].parameter == "lr" and f.fixes[0].new == pytest.approx(2.0 / lam, rel=1e-6)
    assert lrdoctor.sharpness(model, torch.nn.functional.mse_loss, (x, y), lr=1.0 / lam).to_finding() is None
    assert f.to_dict()["kind"] == "lr_beyond_stability"


def test_model_untouched_by_measurement():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    x, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    before = copy.deepcopy(model.state_dict())
    grads = [p.grad.clone() for p in model.parameters()]
    lrdoctor.sharpness(model, torch.nn.functional.cross_entropy, (x, y))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads))


def test_lanczos_resolves_near_tie_where_power_iteration_stalls():
    """Eigenvalues 1.0 and 0.999: power iteration's rate is 0.999 per product."""
    g = torch.Generator().manual_seed(0)
    Q, _ = torch.linalg.qr(torch.randn(300, 300, generator=g, dtype=torch.float64))
    ev = torch.cat([torch.tensor([1.0, 0.999]), torch.linspace(0.0, 0.9, 298)]).double()
    A = Q @ torch.diag(ev) @ Q.T
    res = lanczos_top(lambda v: A @ v, torch.randn(300, generator=g, dtype=torch.float64), tol=1e-8)
    assert abs(res.eigenvalue - 1.0) < 1e-7 and res.iterations < 150
    v = torch.randn(300, generator=g, dtype=torch.float64)
    for _ in range(res.iterations):
        v = A @ v
        v = v / v.norm()
    assert abs(float(v @ A @ v) - 1.0) > 1e-5  # the same number of power steps is still far off


def test_probe_follows_its_declared_schedule_and_counts_its_cost():
    model = _mlp(torch.float32)
    x, y = torch.randn(32, 6), torch.randn(32, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    probe = SharpnessProbe(torch.nn.functional.mse_loss, (x, y), schedule=lambda step: step in (0, 5))
    got = [probe(model, opt, step) is not None for step in range(7)]
    assert got == [True, False, False, False, False, True, False]
    assert [r.step for r in probe.records] == [0, 5]
    assert probe.total_hvps == sum(r.hvps for r in probe.records) > 0
    assert probe.records[1].hvps <= probe.records[0].hvps  # warm start: the same point, fewer products
    assert probe.findings() == []  # lr 0.01 is far within 2/lambda
