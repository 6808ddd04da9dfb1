"""Post-mortem #4: a per-step warmup assigns every param group's lr beside an epoch StepLR."""

import torch

import lrdoctor
from _common import batches, data, mlp


def main(epochs=4, steps_per_epoch=20, base_lr=3e-3, warmup_steps=10):
    x, y = data()
    model = mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=base_lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    mon = lrdoctor.Monitor(optimizer, model=model, scheduler=scheduler)
    step = 0
    for epoch in range(epochs):
        for xb, yb in batches(x, y, steps_per_epoch):
            for group in optimizer.param_groups:
                group["lr"] = base_lr * min(1.0, (step + 1) / warmup_steps)
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            mon.step(loss)
            step += 1
        scheduler.step()
    return mon
