"""The overwrite inside train_one_epoch's batch loop; the caller steps the scheduler per epoch."""

import torch

import lrdoctor
from _common import batches, data, mlp


def train_one_epoch(model, optimizer, mon, x, y, start_step, steps_per_epoch, base_lr, warmup_steps):
    step = start_step
    for xb, yb in batches(x, y, steps_per_epoch):
        lr = base_lr * min(1.0, (step + 1) / warmup_steps)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        mon.step(loss)
        step += 1
    return step


def main(epochs=4, steps_per_epoch=20, base_lr=3e-3, warmup_steps=10):
    x, y = data()
    model = mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=base_lr)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[1, 2, 3], gamma=0.5)
    mon = lrdoctor.Monitor(optimizer, model=model, scheduler=scheduler)
    step = 0
    for epoch in range(epochs):
        step = train_one_epoch(model, optimizer, mon, x, y, step, steps_per_epoch, base_lr, warmup_steps)
        scheduler.step()
    return mon
