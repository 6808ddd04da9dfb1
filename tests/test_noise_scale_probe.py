"""The gradient-noise-scale probe inside lrdoctor.Monitor, against the exact value from
per-example gradients at the weights it measured, on a real net being trained."""

from __future__ import annotations

import json

import pytest
import torch

import lrdoctor
from lrdoctor.experiments.noise_scale import exact_noise_scale
from lrdoctor.monitor import Every

torch.set_num_threads(1)
N, EVERY = 2048, 10


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, 8, generator=g)
    y = torch.sin(x[:, :2].sum(1, keepdim=True)) + 0.3 * torch.randn(N, 1, generator=g)
    return x, y


def _probe_loader(x, y, batch=256, seed=1):
    """Batches drawn with replacement: the estimators' i.i.d. assumption holds exactly."""
    sampler = torch.utils.data.RandomSampler(range(N), replacement=True, num_samples=10 ** 7,
                                             generator=torch.Generator().manual_seed(seed))
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch, sampler=sampler)


def test_logged_noise_scale_within_5_percent_of_exact_during_training(tmp_path):
    x, y = _data()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    loss_fn = torch.nn.functional.mse_loss
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    probe = lrdoctor.NoiseScaleProbe(loss_fn, _probe_loader(x, y), when=Every(EVERY), draws=300)
    mon = lrdoctor.Monitor(opt, model=model, log_to=tmp_path, probes=[probe])
    exact = {}
    g = torch.Generator().manual_seed(5)
    for step in range(2 * EVERY + 1):
        idx = torch.randint(0, N, (64,), generator=g)
        loss = loss_fn(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        mon.step(loss.detach())
        if step % EVERY == 0:  # the probe measured here, at these weights
            exact[step] = exact_noise_scale(model, loss_fn, x, y)
    mon.close()
    rows = [json.loads(line) for line in (tmp_path / "lrdoctor.jsonl").read_text().splitlines()]
    logged = {r["step"]: r for r in rows if "noise_scale" in r}
    assert sorted(logged) == [0, EVERY, 2 * EVERY]
    for step, (b_exact, g2, tr) in exact.items():
        r = logged[step]
        assert abs(r["noise_scale"] / b_exact - 1) <= 0.05, (step, r["noise_scale"], b_exact)
        assert r["noise_scale"] == pytest.approx(r["noise_trace_sigma"] / r["noise_grad_sq"])
    # the noise scale grows as the loss falls (McCandlish et al. 2018): the probe follows it
    assert exact[2 * EVERY][0] > 2 * exact[0][0]
    assert logged[2 * EVERY]["noise_scale"] > 2 * logged[0]["noise_scale"]
    assert [s for s, _ in probe.results] == [0, EVERY, 2 * EVERY]
    assert all(res.draws == 300 and res.big_batch == 256 and res.small_batch == 32 for _, res in probe.results)


def test_probe_leaves_training_bit_identical():
    """Training with the probe gives the same weights as without it (it reads, never writes)."""
    x, y = _data()
    finals = []
    for with_probe in (False, True):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        probes = [lrdoctor.NoiseScaleProbe(torch.nn.functional.mse_loss, _probe_loader(x, y), when=Every(3),
                                           draws=4)] if with_probe else []
        mon = lrdoctor.Monitor(opt, model=model, probes=probes)
        for step in range(10):
            loss = torch.nn.functional.mse_loss(model(x[step * 64:(step + 1) * 64]), y[step * 64:(step + 1) * 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
            mon.step(loss.detach())
        mon.close()
        finals.append([p.detach().clone() for p in model.parameters()])
        if with_probe:
            assert len(probes[0].results) == 4  # steps 0, 3, 6, 9
    assert all(torch.equal(a, b) for a, b in zip(*finals))


def test_empty_probe_loader_switches_the_probe_off(caplog):
    x, y = _data()
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    mon = lrdoctor.Monitor(opt, model=model, probes=[lrdoctor.NoiseScaleProbe(torch.nn.functional.mse_loss, [])])
    loss = torch.nn.functional.mse_loss(model(x[:8]), y[:8])
    loss.backward()
    opt.step()
    mon.step(loss.detach())
    assert "noise_scale failed" in caplog.text and "yields no batches" in caplog.text
