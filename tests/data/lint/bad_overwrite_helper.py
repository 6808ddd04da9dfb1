"""The overwrite hidden in a helper function called from the loop."""

import torch

import lrdoctor
from _common import batches, data, mlp


def set_lr(optimizer, lr):
    for g in optimizer.param_groups:
        g["lr"] = lr


def warmup_lr(step, base_lr, warmup_steps):
    return base_lr * min(1.0, (step + 1) / warmup_steps)


def main(steps=80, base_lr=3e-3, warmup_steps=10):
    x, y = data()
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=base_lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    mon = lrdoctor.Monitor(opt, model=model, scheduler=sched)
    for step, (xb, yb) in enumerate(batches(x, y, steps)):
        set_lr(opt, warmup_lr(step, base_lr, warmup_steps))
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        mon.step(loss)
    return mon
