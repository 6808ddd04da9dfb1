"""The sharpness probe inside lrdoctor.Monitor: a real net trained by full-batch GD past its
stability bound gets an ``lr_beyond_stability`` finding whose evidence matches a dense
Hessian; its healthy twin below the bound gets none; both logs carry the measurements."""

from __future__ import annotations

import json

import pytest
import torch

import lrdoctor

torch.set_num_threads(1)
STEPS, EVERY = 60, 10


def _problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g, dtype=torch.float64)
    y = torch.sin(x.sum(1, keepdim=True))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()
    return model, x, y


def _loss(out, y):
    return torch.nn.functional.mse_loss(out, y)


def _dense_top_eigenvalue(model, x, y) -> float:
    """lambda_max of the full Hessian, built densely (independent of Lanczos and HVPs)."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def f(v):
        out, i = {}, 0
        for n, s in zip(names, shapes):
            out[n] = v[i:i + s.numel()].reshape(s)
            i += s.numel()
        return _loss(torch.func.functional_call(model, out, (x,)), y)

    return float(torch.linalg.eigvalsh(torch.autograd.functional.hessian(f, flat))[-1])


def _train(lr_over_bound: float, log_dir):
    model, x, y = _problem()
    lr = lr_over_bound * 2.0 / _dense_top_eigenvalue(model, x, y)  # GD's bound at initialisation
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    probe = lrdoctor.SharpnessProbe(_loss, (x, y), every=EVERY)
    heard = []
    mon = lrdoctor.Monitor(opt, model=model, log_to=log_dir, probes=[probe], on_finding=heard.append)
    dense = {}
    for step in range(STEPS):
        loss = _loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        mon.step(loss.detach())
        if step % EVERY == 0:  # the probe measured here, at these weights
            dense[step] = _dense_top_eigenvalue(model, x, y)
    report = mon.report()
    mon.close()
    rows = [json.loads(line) for line in (log_dir / "lrdoctor.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "sharpness" in r]
    _train.heard = [f.kind for f in heard]  # what the live on_finding callback was told
    return lr, probe, report, rows, dense


def test_lr_past_the_bound_gives_lr_beyond_stability_with_dense_hessian_evidence(tmp_path):
    lr, probe, report, rows, dense = _train(1.5, tmp_path)
    # the log holds lambda_max and the bound at each measured step, and they are the truth
    assert [r["step"] for r in rows] == list(range(0, STEPS, EVERY))
    for r in rows:
        assert r["sharpness"] == pytest.approx(dense[r["step"]], rel=1e-3)
        assert r["max_stable_lr"] == pytest.approx(2.0 / dense[r["step"]], rel=1e-3)
        assert r["lr_over_max_stable_lr"] == pytest.approx(lr * dense[r["step"]] / 2.0, rel=1e-3)
        assert r["sharpness_hvps"] >= 2
    found = [f for f in report.findings if f.kind == "lr_beyond_stability"]
    assert len(found) == 1
    f = found[0]
    worst = max(rows, key=lambda r: r["lr_over_max_stable_lr"])
    assert f.evidence["lambda_max"] == pytest.approx(dense[worst["step"]], rel=1e-3)
    assert f.evidence["lr_over_max_stable_lr"] > 1.0 and f.evidence["lr"] == pytest.approx(lr)
    assert f.evidence["update_rule"] == "gd"
    beyond = [r["step"] for r in rows if lr * dense[r["step"]] / 2.0 > 1.0]
    assert (f.start_step, f.end_step) == (beyond[0], beyond[-1])
    assert f.fixes and f.fixes[0].new == pytest.approx(2.0 / dense[worst["step"]], rel=1e-3)
    assert probe.total_hvps == sum(r["sharpness_hvps"] for r in rows)
    assert _train.heard.count("lr_beyond_stability") == 1  # the live callback heard it, once


def test_healthy_twin_below_the_bound_has_no_finding(tmp_path):
    lr, probe, report, rows, dense = _train(0.5, tmp_path)
    assert len(rows) == STEPS // EVERY
    assert all(lr * dense[r["step"]] / 2.0 < 1.0 for r in rows)  # truly below the bound all along
    assert all(r["lr_over_max_stable_lr"] < 1.0 for r in rows)
    assert not [f for f in report.findings if f.kind == "lr_beyond_stability"]
    assert "lr_beyond_stability" not in _train.heard
    # warm starts: after the first (cold) measurement the top direction moves little
    assert all(r.hvps <= probe.records[0].hvps for r in probe.records[1:])


def test_probe_without_the_model_is_switched_off_not_raised(caplog):
    model, x, y = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    mon = lrdoctor.Monitor(opt, probes=[lrdoctor.SharpnessProbe(_loss, (x, y), every=1)])
    for _ in range(3):
        loss = _loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        mon.step(loss.detach())
    assert "sharpness" not in mon.run().names
    assert "sharpness failed" in caplog.text and "model" in caplog.text


def test_adam_first_steps_are_logged_but_not_a_finding():
    """After AdamW's first step v_hat is one squared gradient: the preconditioned sharpness is
    huge there (frozen-preconditioner model invalid); a healthy AdamW run must stay quiet."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data[:512] / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target[:512])
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 200), torch.nn.Tanh(), torch.nn.Linear(200, 200), torch.nn.Tanh(),
                                torch.nn.Linear(200, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ce = torch.nn.functional.cross_entropy
    probe = lrdoctor.SharpnessProbe(ce, (x, y), schedule=lambda s: s in (0, 10, 30))
    mon = lrdoctor.Monitor(opt, model=model, probes=[probe])
    g = torch.Generator().manual_seed(0)
    for step in range(31):
        idx = torch.randint(0, 512, (64,), generator=g)
        loss = ce(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        mon.step(loss.detach())
    ratios = {r.step: r.lr_ratio for r in probe.records}
    assert set(ratios) == {0, 10, 30}
    assert ratios[0] > 1.0  # the raw bound after one step would cry wolf ...
    assert max(ratios[10], ratios[30]) < 0.5  # ... on a run that is far within it once v has averaged
    assert not [f for f in mon.report().findings if f.kind == "lr_beyond_stability"]
