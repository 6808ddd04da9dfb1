"""Benchmark: top Hessian eigenvalue, lrdoctor's Lanczos vs PyHessian's power iteration.

    python bench/sharpness.py [--quick]

1. Small models (float64) where the dense Hessian is computed exactly
   (torch.autograd.functional.hessian): relative error and HVPs of each method.
2. A ~1.08M-parameter MLP (64-1000-1000-10, tanh, cross-entropy) on 512 scikit-learn digits,
   at initialisation and after 30 SGD steps. A dense Hessian is impossible there (1.08M^2);
   the reference is lrdoctor's Lanczos run for 150 products from another start vector
   (its residual, at float32's floor, is printed). Every method then reports relative error, HVPs, seconds.

PyHessian (pip ``pyhessian==0.1``) is run as published: ``hessian(model, criterion,
data=(x, y), cuda=False).eigenvalues(maxIter, tol)``; its products are counted by wrapping
``pyhessian.hessian.hessian_vector_product`` (instrumentation only, the computation is
its own). It returns the eigenvalue of largest *magnitude*; here it is positive.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

from lrdoctor.experiments.hessian import HessianOperator
from lrdoctor.experiments.lanczos import lanczos_top


def ours(model, loss_fn, x, y, tol, max_iter=100, seed=0, min_iter=2):
    op = HessianOperator(model, loss_fn, (x, y))
    v0 = torch.randn(op.n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    t = time.perf_counter()
    r = lanczos_top(op.matvec, v0, tol=tol, max_iter=max_iter, min_iter=min_iter)
    return r.eigenvalue, op.hvps, time.perf_counter() - t, r


def pyhessian_top(model, loss_fn, x, y, tol, max_iter=100, seed=0):
    import importlib

    ph = importlib.import_module("pyhessian.hessian")  # the module (the package re-exports the class under this name)

    count = [0]
    orig = ph.hessian_vector_product

    def counted(*a, **k):
        count[0] += 1
        return orig(*a, **k)

    ph.hessian_vector_product = counted
    try:
        torch.manual_seed(seed)
        t = time.perf_counter()
        h = ph.hessian(model, loss_fn, data=(x, y), cuda=False)
        ev, _ = h.eigenvalues(maxIter=max_iter, tol=tol)
        dt = time.perf_counter() - t
    finally:
        ph.hessian_vector_product = orig
        model.zero_grad(set_to_none=True)
    return float(ev[0]), count[0], dt


def dense_top(model, loss_fn, x, y):
    names = [n for n, _ in model.named_parameters()]
    ps = tuple(p.detach() for p in model.parameters())
    H = torch.autograd.functional.hessian(
        lambda *ps: loss_fn(torch.func.functional_call(model, dict(zip(names, ps)), (x,)), y), ps)
    sz = [p.numel() for p in ps]
    D = torch.cat([torch.cat([H[i][j].reshape(sz[i], sz[j]) for j in range(len(ps))], 1) for i in range(len(ps))], 0)
    return float(torch.linalg.eigvalsh(D)[-1])


def row(name, lam, ref, hvps, secs):
    err = abs(lam - ref) / abs(ref)
    print(f"  {name:<34} {lam:>14.8f} {err:>10.2e} {hvps:>5d} {secs:>7.2f}s")
    return err


def small_models():
    print("== small models, dense Hessian as truth (float64) ==")
    print(f"  {'method':<34} {'lambda_max':>14} {'rel.err':>10} {'HVPs':>5} {'time':>8}")
    torch.manual_seed(0)
    cases = {
        "MLP 6-32-3 tanh, MSE": (torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.Tanh(), torch.nn.Linear(32, 3)),
                                 torch.randn(100, 6), torch.randn(100, 3), torch.nn.functional.mse_loss),
        "CNN digits 8x8, CE": (torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                                   torch.nn.Linear(4 * 36, 10)),
                               None, None, torch.nn.functional.cross_entropy),
    }
    d = load_digits()
    X = torch.tensor(d.data[:200] / 16.0)
    cases["CNN digits 8x8, CE"] = (cases["CNN digits 8x8, CE"][0], X.reshape(-1, 1, 8, 8),
                                   torch.tensor(d.target[:200]), torch.nn.functional.cross_entropy)
    out = []
    for name, (m, x, y, lf) in cases.items():
        m, x = m.double(), x.double()
        y = y.double() if y.is_floating_point() else y
        ref = dense_top(m, lf, x, y)
        print(f" {name} ({sum(p.numel() for p in m.parameters())} parameters): dense lambda_max {ref:.10f}")
        lam, n, s, _ = ours(m, lf, x, y, tol=1e-6)
        e1 = row("lrdoctor Lanczos tol=1e-6", lam, ref, n, s)
        lam, n, s = pyhessian_top(m, lf, x, y, tol=1e-3)
        e2 = row("PyHessian power, tol=1e-3 (default)", lam, ref, n, s)
        out.append((name, e1, e2))
    return out


def big_mlp(quick: bool):
    torch.manual_seed(0)
    d = load_digits()
    x = torch.tensor(d.data[:512] / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target[:512])
    model = torch.nn.Sequential(torch.nn.Linear(64, 1000), torch.nn.Tanh(), torch.nn.Linear(1000, 1000), torch.nn.Tanh(),
                                torch.nn.Linear(1000, 10))
    n = sum(p.numel() for p in model.parameters())
    lf = torch.nn.functional.cross_entropy
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    results = []
    for label, steps in (("at initialisation", 0), ("after 30 SGD steps", 30)):
        for _ in range(steps):
            opt.zero_grad()
            lf(model(x), y).backward()
            opt.step()
        opt.zero_grad(set_to_none=True)
        print(f"== MLP 64-1000-1000-10 ({n:,} parameters), 512 digits, CE, {label} ==")
        k = 60 if quick else 150
        ref, rn, rs, rr = ours(model, lf, x, y, tol=1e-14, max_iter=k, min_iter=k, seed=123)
        print(f"  reference: Lanczos, {k} steps ->  {ref:.8f} in {rn} HVPs ({rs:.1f}s), residual {rr.residual:.1e}, "
              f"top Ritz values {np.round(rr.ritz_values[-4:][::-1], 5).tolist()}")
        print(f"  {'method':<34} {'lambda_max':>14} {'rel.err':>10} {'HVPs':>5} {'time':>8}")
        res = {}
        for tol in (1e-4, 1e-6):
            lam, hv, s, _ = ours(model, lf, x, y, tol=tol)
            res[f"ours {tol:g}"] = (row(f"lrdoctor Lanczos tol={tol:g}", lam, ref, hv, s), hv, s)
        for tol in (1e-3, 1e-5):
            lam, hv, s = pyhessian_top(model, lf, x, y, tol=tol, max_iter=100)
            res[f"pyhessian {tol:g}"] = (row(f"PyHessian power, tol={tol:g}" + (" (default)" if tol == 1e-3 else ""),
                                             lam, ref, hv, s), hv, s)
        results.append((label, res))
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a shorter reference run")
    args = ap.parse_args()
    torch.set_num_threads(1)
    small_models()
    res = big_mlp(args.quick)
    print("== summary (1.08M-parameter MLP) ==")
    for label, r in res:
        e, hv, s = r["ours 1e-06"]
        pe, phv, ps = r["pyhessian 0.001"]
        print(f"  {label}: lrdoctor {e:.1e} rel. error in {hv} HVPs; PyHessian default {pe:.1e} in {phv} HVPs; "
              f"error ratio PyHessian/lrdoctor {pe / max(e, 1e-16):.0f}x, HVP ratio {phv / hv:.2f}")


if __name__ == "__main__":
    main()
