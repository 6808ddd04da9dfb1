"""The overwrite through a direct index, with a per-step LambdaLR decay."""

import torch

import lrdoctor
from _common import batches, data, mlp


def main(steps=80, base_lr=3e-3, warmup_steps=10):
    x, y = data()
    model = mlp()
    opt = torch.optim.AdamW(model.parameters(), lr=base_lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.97 ** s)
    mon = lrdoctor.Monitor(opt, model=model, scheduler=sched)
    for step, (xb, yb) in enumerate(batches(x, y, steps)):
        opt.param_groups[0]["lr"] = base_lr * min(1.0, (step + 1) / warmup_steps)
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        mon.step(loss)
    return mon
