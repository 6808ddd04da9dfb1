"""Shared pieces of the rule tests that train a real model: scikit-learn's digits (shipped with
the package, nothing downloaded) and a small MLP on them, and the findings of a report by kind."""

from __future__ import annotations

import torch

__all__ = ["digits_mlp", "fit_epoch", "held_out_loss", "noisy_label_fit", "warned", "write_lines"]


def digits_mlp(seed: int):
    """The digits as (x, y) tensors (pixels scaled to [0, 1]) and a fresh 64-32-10 MLP seeded by ``seed``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    return x, y, model


def fit_epoch(model, opt, x, y, end: int = 1400, batch: int = 50, losses: list[float] | None = None,
              accuracies: list[float] | None = None, on_step=None) -> tuple[float, float]:
    """One epoch over ``x[:end]`` in minibatches of ``batch`` with cross-entropy: (the epoch's mean
    batch loss, the last batch's loss). Each batch's loss is also appended to ``losses``, and its
    share of right answers (before the update) to ``accuracies``, when given; ``on_step`` (an LR
    scheduler's ``step``) is called after each update."""
    losses = [] if losses is None else losses
    first = len(losses)
    for i in range(0, end, batch):
        logits = model(x[i:i + batch])
        loss = torch.nn.functional.cross_entropy(logits, y[i:i + batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if on_step is not None:
            on_step()
        losses.append(loss.item())
        if accuracies is not None:
            accuracies.append((logits.argmax(1) == y[i:i + batch]).float().mean().item())
    return sum(losses[first:]) / (len(losses) - first), losses[-1]


def noisy_label_fit(noise: float, epochs: int, optimizer=None, batch: int = 50):
    """Yield ``(epoch, mean training loss, model)`` after each epoch of a 64-256-10 MLP fitted with
    Adam (lr 0.003; or ``optimizer(parameters)``) in batches of ``batch`` on 300 digits of which a
    share ``noise`` carry a random label (generator seed 1, model seed 0): it learns the signal
    first, then memorises the noise, so its held-out loss on the clean digits from 1400 on falls and
    then climbs (overfitting made for real)."""
    x, y, _ = digits_mlp(0)
    g = torch.Generator().manual_seed(1)
    noisy = y.clone()
    flip = torch.rand(300, generator=g) < noise
    noisy[:300][flip] = torch.randint(0, 10, (int(flip.sum()),), generator=g)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = optimizer(model.parameters()) if optimizer else torch.optim.Adam(model.parameters(), lr=0.003)
    for epoch in range(1, epochs + 1):
        train, _ = fit_epoch(model, opt, x, noisy, end=300, batch=batch)
        yield epoch, train, model


def noisy_label_evaluations(noise: float, epochs: int, every: int):
    """Yield ``(epoch, mean training loss, held-out loss)`` at every ``every``-th epoch of
    :func:`noisy_label_fit`: the per-epoch log of a run that overfits for real."""
    x, y, _ = digits_mlp(0)
    for epoch, train, model in noisy_label_fit(noise, epochs):
        if epoch % every == 0:
            yield epoch, train, held_out_loss(model, x, y)


def held_out_loss(model, x, y, start: int = 1400) -> float:
    """The cross-entropy of ``model`` on the digits from ``start`` on (those ``fit_epoch`` never trains on)."""
    with torch.no_grad():
        return torch.nn.functional.cross_entropy(model(x[start:]), y[start:]).item()


def warned(report, at_least: int = 1) -> dict:
    """The report's findings by kind, of severity rank ``at_least`` or more (0 info, 1 warning, 2 error)."""
    return {f.kind: f for f in report.findings if f.severity.rank >= at_least}


def write_lines(path, lines: list[str]) -> str:
    """``lines`` written to ``path``, one per line (a log file as a trainer leaves it); its path as a string."""
    path.write_text("\n".join(lines) + "\n")
    return str(path)
