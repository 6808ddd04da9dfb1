"""Example: existing training code as sweep tasks -- a plain loop's pieces, a Hugging Face
model, a Lightning module -- each a few lines around ``lrdoctor.experiments.Task``.
docs/sweeps.md walks through them. Runs as a test (a 2-cell serial sweep per task).

    lrdoctor sweep examples/example_sweep_tasks.py:plain_task --lrs 1e-3,1e-2 --seeds 5 --steps 100
    lrdoctor sweep examples/example_sweep_tasks.py:hf_task --lrs log:1e-5:1e-3:5 --seeds 3 --steps 50
"""

from __future__ import annotations

import tempfile

import torch
from torch import nn
from torch.nn import functional as F

import lrdoctor
from lrdoctor.experiments import Task


def _classification(n: int = 256, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 20, generator=g)
    return x, (x[:, :5].sum(1) > 0).long()


# 1. A plain loop: the model, the optimizer line, the data and the loss line you already have.
def plain_task() -> Task:
    x, y = _classification()
    return Task(model_fn=lambda: nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2)),
                optimizer_fn=lambda params, lr: torch.optim.AdamW(params, lr=lr, weight_decay=0.01),
                batches=[(x[i:i + 32], y[i:i + 32]) for i in range(0, len(x), 32)],
                loss_fn=lambda model, batch: F.cross_entropy(model(batch[0]), batch[1]),
                eval_fn=lambda model: F.cross_entropy(model(x), y).item())


# 2. A Hugging Face model: the model returns its loss when the batch has labels.
def hf_task() -> Task:
    from transformers import BertConfig, BertForSequenceClassification, get_linear_schedule_with_warmup

    config = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=16, num_labels=2)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 64, (128, 12), generator=g)
    batches = [{"input_ids": ids[i:i + 16], "labels": (ids[i:i + 16, 0] % 2)} for i in range(0, 128, 16)]
    return Task(model_fn=lambda: BertForSequenceClassification(config),
                optimizer_fn=lambda params, lr: torch.optim.AdamW(params, lr=lr),
                batches=batches,
                loss_fn=lambda model, batch: model(**batch).loss,
                scheduler_fn=lambda opt, steps: get_linear_schedule_with_warmup(opt, max(1, steps // 10), steps))


# 3. A Lightning module: its training_step is the loss; the LR under test replaces its optimizer's.
def lightning_task() -> Task:
    import lightning as L

    class LitClassifier(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))

        def training_step(self, batch, batch_idx):
            x, y = batch
            return F.cross_entropy(self.net(x), y)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    x, y = _classification()

    def optimizer_fn(params, lr):  # the module's own optimizer, at the LR under test
        opt = LitClassifier.configure_optimizers(_Params(params))
        for group in opt.param_groups:
            group["lr"] = lr
        return opt

    return Task(model_fn=LitClassifier, optimizer_fn=optimizer_fn,
                batches=[(x[i:i + 32], y[i:i + 32]) for i in range(0, len(x), 32)],
                loss_fn=lambda model, batch: model.training_step(batch, 0))


class _Params:
    """Stands in for ``self`` in ``configure_optimizers`` so it builds over the given parameters."""

    def __init__(self, params):
        self._params = list(params)

    def parameters(self):
        return self._params


def test_each_task_kind_runs_in_a_sweep():
    torch.set_num_threads(1)
    for factory in ("plain_task", "hf_task", "lightning_task"):
        with tempfile.TemporaryDirectory() as out:
            res = lrdoctor.sweep(f"{__file__}:{factory}", [1e-3], 2, 8, backend="serial", out=out, progress=False)
            assert len(res.cells) == 2 and all(len(c.losses) == 9 and not c.error for c in res.cells), factory
            assert res.cells[0].losses != res.cells[1].losses  # seeds 0 and 1 start from different weights
