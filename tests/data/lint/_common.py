"""Shared pieces of the runnable lint fixtures: a tiny MLP and blob data (seconds on CPU)."""

import torch


def data(n=1024, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, 16, generator=g) * 2
    y = torch.randint(0, classes, (n,), generator=g)
    return centers[y] + torch.randn(n, 16, generator=g), y


def mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))


def batches(x, y, n, bs=32):
    for i in range(n):
        idx = torch.randint(0, len(y), (bs,))
        yield x[idx], y[idx]
