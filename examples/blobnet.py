"""BlobNet: the network of post-mortem #1 (an AlphaZero-style card-game transformer), as a
sweep task on dummy data.

    lrdoctor experiments examples/blobnet.py:make                 # the four experiments, full size
    lrdoctor sweep examples/blobnet.py:make --lrs 1e-3,1e-2 --seeds 10 --steps 100

Architecture (from the post-mortem): a 256-dim state embedded to d_model 256, 6 encoder
layers (8 heads, feed-forward 1024, dropout 0.1, ReLU), Xavier-uniform init, a policy head
over 52 actions and a scalar value head. Parameters per part (``parameter_breakdown``):
input embedding 65,792; transformer 4,738,560; policy head 79,156; value head 33,025 -- the
post-mortem's numbers exactly. Their sum is 4,916,533; the post-mortem's total (4,917,301)
is 768 (= 3 x 256) more than its own parts, which no listed part contains (see
docs/reproductions/blobnet.md).

The dummy data follows the post-mortem's tests: a fixed set of random states with a policy
target (a distribution over the 52 actions) and a value target in [-1, 1], the same for every
seed (``DATA_SEED``); the seed changes the initial weights and the dropout masks.
``d_model``/``layers``/``ff``/``heads`` shrink the network for the reduced CI run.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from lrdoctor.experiments import Task

STATE, ACTIONS = 256, 52
DATA_SEED = 0
"""The dummy data do not depend on the run's seed: seed sensitivity then measures the init and
dropout, as in the post-mortem's flaky tests (fixed fixtures, varying seeds)."""


class BlobNet(nn.Module):
    def __init__(self, state: int = STATE, d_model: int = 256, layers: int = 6, heads: int = 8,
                 ff: int = 1024, dropout: float = 0.1, actions: int = ACTIONS) -> None:
        super().__init__()
        self.embed = nn.Linear(state, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout, activation="relu", batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.policy = nn.Sequential(nn.Linear(d_model, d_model), nn.ReLU(), nn.Linear(d_model, actions))
        self.value = nn.Sequential(nn.Linear(d_model, d_model // 2), nn.ReLU(), nn.Linear(d_model // 2, 1))
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.transformer(self.embed(state).unsqueeze(1)).squeeze(1)  # one token per state
        return self.policy(h), torch.tanh(self.value(h)).squeeze(-1)


def parameter_breakdown(model: BlobNet) -> dict[str, int]:
    """Parameters per part, named as in the post-mortem."""
    count = lambda m: sum(p.numel() for p in m.parameters())
    return {"input embedding": count(model.embed), "transformer": count(model.transformer),
            "policy head": count(model.policy), "value head": count(model.value)}


def dummy_batches(n_batches: int = 8, batch: int = 32, state: int = STATE, actions: int = ACTIONS):
    g = torch.Generator().manual_seed(DATA_SEED)
    out = []
    for _ in range(n_batches):
        x = (torch.rand(batch, state, generator=g) < 0.2).float()  # sparse card/state features
        pi = torch.softmax(2 * torch.randn(batch, actions, generator=g), dim=-1)
        v = torch.rand(batch, generator=g) * 2 - 1
        out.append((x, pi, v))
    return out


def loss_fn(model: BlobNet, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """AlphaZero loss: policy cross-entropy against the target distribution + value MSE; also
    logs the post-mortem's red-flag signals: the policy's entropy (-> 0 or -> ln 52) and the
    value head's explained variance (<= 0: constant value predictions)."""
    x, pi, v = batch
    logits, value = model(x)
    logp = F.log_softmax(logits, dim=-1)
    loss = -(pi * logp).sum(-1).mean() + F.mse_loss(value, v)
    with torch.no_grad():
        entropy = -(logp.exp() * logp).sum(-1).mean()
        explained = 1 - (v - value).var() / v.var().clamp_min(1e-12)
    return loss, {"entropy": entropy, "explained_variance": explained}


def make(d_model: int = 256, layers: int = 6, heads: int = 8, ff: int = 1024, batch: int = 32,
         n_batches: int = 8) -> Task:
    """The sweep task: BlobNet, Adam at the LR under test, static dummy data cycled."""
    data = dummy_batches(n_batches, batch)
    return Task(model_fn=lambda: BlobNet(d_model=d_model, layers=layers, heads=heads, ff=ff),
                optimizer_fn=lambda params, lr: torch.optim.Adam(params, lr=lr),
                batches=data, loss_fn=loss_fn, config={"n_actions": ACTIONS})


def make_reduced() -> Task:
    """The CI-sized BlobNet (REDUCED: d_model 32, 2 layers, ff 64): same shape of problem, seconds per run."""
    return make(d_model=32, layers=2, heads=4, ff=64, batch=16, n_batches=4)
