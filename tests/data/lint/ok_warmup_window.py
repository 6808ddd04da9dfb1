"""Correct: the manual warmup writes only inside its window; afterwards the scheduler alone sets the LR."""

import torch

import lrdoctor
from _common import batches, data, mlp


def main(steps=80, base_lr=3e-3, warmup_steps=10):
    x, y = data()
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=base_lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.97 ** max(0, s - warmup_steps))
    mon = lrdoctor.Monitor(opt, model=model, scheduler=sched)
    for step, (xb, yb) in enumerate(batches(x, y, steps)):
        if step < warmup_steps:
            for g in opt.param_groups:
                g["lr"] = base_lr * (step + 1) / warmup_steps
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        mon.step(loss)
    return mon
