"""Rules from the stop-37 study of the benchmark (issue 9), each on a really trained run with a twin:

- loss_spike: fewer than ``warn_count`` spikes whose peak stays below a tenth of the log's first
  report are info, however tall against the converged trend (a few mislabelled examples in one
  epoch of a fitted classifier); a spike that gives back a real share of the descent still warns.
"""

from __future__ import annotations

import torch
from trained_digits import digits_mlp, fit_epoch, warned, write_lines

import lrdoctor

torch.set_num_threads(1)


def _epoch_losses(mislabelled: int, epochs: int = 40, bad_epoch: int = 36) -> list[float]:
    """Per-epoch mean training loss of a 64-256-10 MLP fitted to 1,400 digits with Adam; during
    ``bad_epoch`` alone, ``mislabelled`` examples carry a wrong label (a corrupted shard)."""
    x, y, _ = digits_mlp(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    out = []
    for epoch in range(1, epochs + 1):
        labels = y.clone()
        if epoch == bad_epoch:
            g = torch.Generator().manual_seed(1)
            idx = torch.randperm(1400, generator=g)[:mislabelled]
            labels[idx] = (labels[idx] + 1 + torch.randint(0, 9, (mislabelled,), generator=g)) % 10
        out.append(fit_epoch(model, opt, x, labels)[0])
    return out


def _csv(tmp_path, losses: list[float]) -> str:
    return write_lines(tmp_path / "history.csv", ["epoch,loss"] + [f"{i + 1},{v:.5f}" for i, v in enumerate(losses)])


def test_a_blip_of_a_converged_loss_is_info(tmp_path):
    losses = _epoch_losses(mislabelled=4)
    peak, before = losses[35], losses[34]
    assert peak >= 3 * before  # tall against the trend: the rule that used to warn
    assert peak < losses[0] / 10 and losses[36] < 2 * before  # a blip near the floor, gone at once
    report = lrdoctor.diagnose(_csv(tmp_path, losses))
    spikes = [f for f in report.findings if f.kind == "loss_spike"]
    assert spikes and spikes[0].severity.rank == 0, report.findings  # seen, and said at info
    assert "loss_spike" not in warned(report)


def test_a_spike_that_gives_back_the_descent_still_warns(tmp_path):
    losses = _epoch_losses(mislabelled=150)
    assert losses[0] / 10 <= losses[35] < losses[0]
    report = lrdoctor.diagnose(_csv(tmp_path, losses))
    assert "loss_spike" in warned(report), report.findings
