"""Correct multiplicative warmup (2): the ramp multiplies the decay inside one LambdaLR."""

import torch

import lrdoctor
from _common import batches, data, mlp


def main(steps=80, base_lr=3e-3, warmup_steps=10):
    x, y = data()
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=base_lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup_steps) * 0.97 ** s)
    mon = lrdoctor.Monitor(opt, model=model, scheduler=sched)
    for xb, yb in batches(x, y, steps):
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        mon.step(loss)
    return mon
