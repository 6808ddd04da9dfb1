"""lrdoctor.testing: assert_converges on a really flaky training test (a small transformer at
10x its good LR), the seeding fixture, and the pytest plugin in a real pytest subprocess."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from importlib.metadata import entry_points

import numpy as np
import pytest
import torch

from lrdoctor import KINDS
from lrdoctor.testing import assert_converges, seeded

torch.set_num_threads(1)

GOOD_LR = 0.045
"""SGD(momentum 0.9) LR at which the transformer below trains on every seed (tuned by hand:
10/10 seeds end below their first loss). At 10x, 6 seeds in 10 converge: the post-mortem's 60%."""


class TinyTransformer(torch.nn.Module):
    def __init__(self, vocab=16, d=16, layers=2, classes=4, length=8):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Parameter(torch.randn(length, d) * 0.02)
        block = torch.nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, batch_first=True)
        self.enc = torch.nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.head = torch.nn.Linear(d, classes)

    def forward(self, x):
        return self.head(self.enc(self.emb(x) + self.pos).mean(1))


def _data(n=128):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 16, (n, 8), generator=g)
    return x, x[:, 0] % 4


def train(seed: int, lr: float, steps: int = 40) -> list[float]:
    """A plain training loop (full batch): the kind of test that was flaky in post-mortem #1.
    assert_converges seeds the RNGs with ``seed`` before calling it."""
    x, y = _data()
    model = TinyTransformer()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_assert_converges_catches_the_transformer_at_10x_its_good_lr():
    seen: dict[int, list[float]] = {}

    def train_fn(seed):
        seen[seed] = train(seed, 10 * GOOD_LR)
        return seen[seed]

    with pytest.raises(AssertionError) as err:
        assert_converges(train_fn, seeds=10, min_success=0.9)
    msg = str(err.value)
    failing = sorted(s for s, l in seen.items() if not (math.isfinite(l[-1]) and l[-1] < l[0]))
    assert 0 < len(failing) < 10, "not flaky: the case must fail on some seeds and pass on others"
    assert f"converged for {10 - len(failing)}/10 seeds" in msg
    listed = [int(line.split()[1].rstrip(":")) for line in msg.splitlines() if line.strip().startswith("seed ")]
    assert listed == failing  # exactly the failing seeds, each with first -> last and a finding
    for s in failing:
        assert f"seed {s}: loss {seen[s][0]:.4g} -> {seen[s][-1]:.4g}; lrdoctor: " in msg
    kinds = [line.split("lrdoctor: ")[1].split(" ")[0] for line in msg.splitlines() if "lrdoctor: " in line]
    assert any(k in KINDS for k in kinds), msg  # the detectors name what went wrong on at least one seed


def test_assert_converges_passes_at_the_good_lr():
    outcomes = assert_converges(lambda seed: train(seed, GOOD_LR), seeds=10, min_success=0.9)
    assert [o.seed for o in outcomes] == list(range(10)) and all(o.ok for o in outcomes)
    assert all(o.last < o.first for o in outcomes)


def test_criterion_and_seeding_make_runs_repeatable():
    calls = []
    out = assert_converges(lambda s: calls.append(torch.rand(1).item()) or [2.0, 1.0], seeds=[5, 5],
                           criterion=lambda losses: losses[-1] < 1.5)
    assert calls[0] == calls[1] and len(out) == 2  # each call seeded with its seed
    with pytest.raises(AssertionError, match="final below 0.5"):
        def crit(losses):
            """final below 0.5"""
            return losses[-1] < 0.5
        assert_converges(lambda s: [2.0, 1.0], seeds=2, criterion=crit)


def test_seeded_restores_every_rng():
    random.seed(123), np.random.seed(123), torch.manual_seed(123)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(123), np.random.seed(123), torch.manual_seed(123)
    with seeded(7):
        inside = (random.random(), np.random.rand(), torch.rand(1).item())
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected
    random.seed(7), np.random.seed(7), torch.manual_seed(7)
    assert inside == (random.random(), np.random.rand(), torch.rand(1).item())


PLUGIN_TESTS = '''
import random, torch, pytest

@pytest.mark.lrdoctor_training(seed=3)
def test_blows_up(lrdoctor_losses):
    a = torch.rand(1).item(); torch.manual_seed(3); assert a == torch.rand(1).item()  # seeded by the marker
    w = torch.nn.Parameter(torch.tensor([1.0]))
    opt = torch.optim.SGD([w], lr=1.5)          # 1.5 > 2 / curvature(2): diverges
    for _ in range(30):
        loss = (w ** 2).sum()
        opt.zero_grad(); loss.backward(); opt.step()
        lrdoctor_losses.append(loss.item())
    assert lrdoctor_losses[-1] < lrdoctor_losses[0]

def test_fixture_seeds_and_restores(lrdoctor_seed):
    assert lrdoctor_seed == 0
    a = torch.rand(1).item(); torch.manual_seed(0); assert a == torch.rand(1).item()
'''


def test_pytest_plugin_entry_point_marker_and_fixture(tmp_path):
    assert any(ep.value == "lrdoctor.pytest_plugin" for ep in entry_points(group="pytest11"))
    (tmp_path / "test_user.py").write_text(PLUGIN_TESTS)
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert "1 failed, 1 passed" in p.stdout, p.stdout[-3000:]
    report = p.stdout.split("lrdoctor diagnosis")[1]
    assert "seed 3: loss 1 -> " in report and "over 30 steps" in report
    assert "divergence" in report  # the detectors' finding, not a bare assert
