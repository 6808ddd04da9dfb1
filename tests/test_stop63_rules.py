"""Coverage from the stop-63 study (issue 9): a check that cannot conclude says so.

``plateau`` is reported only while the LR stays high (``min_plateau_lr``): the run spent half its
budget without a new best where a decay would have helped. Without a logged LR a flat stretch is
neither a finding nor cleared, yet the check was listed as run and silent, as if it had found the
run healthy. It now says it could not tell, with the flat stretch it saw, and stays "checked" on a
loss that kept improving, which needs no LR to judge. Both curves are trained here: a linear
classifier on digits whose labels are half noise (its loss settles at the noise's floor within a
fifth of the run, at a constant SGD LR of 1.0), and a hidden-layer MLP on the clean digits whose
loss keeps falling.
"""

from __future__ import annotations

import json
import subprocess
import sys

import torch

from trained_digits import digits_mlp

import lrdoctor

torch.set_num_threads(1)


def _batches(model: torch.nn.Module, noise: float, lr: float = 1.0, epochs: int = 30) -> list[tuple[int, float, float]]:
    """(step, batch loss, lr) every 7 minibatches of 64 over the digits at a constant SGD ``lr``, a share
    ``noise`` of the labels replaced by random ones (generator seed 1)."""
    x, y, _ = digits_mlp(3)
    if noise:
        g = torch.Generator().manual_seed(1)
        flip = torch.rand(len(y), generator=g) < noise
        y = y.clone()
        y[flip] = torch.randint(0, 10, (int(flip.sum()),), generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    rows, step = [], 0
    for _ in range(epochs):
        for b in range(0, 1792, 64):
            loss = torch.nn.functional.cross_entropy(model(x[b:b + 64]), y[b:b + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % 7 == 0:
                rows.append((step, loss.item(), lr))
    return rows


def _csv(path, rows, with_lr: bool) -> str:
    head = "step,loss,lr" if with_lr else "step,loss"
    path.write_text(head + "\n" + "".join(",".join(f"{v:.6g}" for v in (r if with_lr else r[:2])) + "\n" for r in rows))
    return str(path)


def _flat_run() -> list[tuple[int, float, float]]:
    torch.manual_seed(3)
    return _batches(torch.nn.Linear(64, 10), noise=0.5)


def _learning_run() -> list[tuple[int, float, float]]:
    torch.manual_seed(3)
    return _batches(torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)), noise=0.0, lr=0.5)


def test_a_plateau_without_a_logged_lr_is_not_checked_and_says_what_it_saw(tmp_path):
    rows = _flat_run()
    v = [r[1] for r in rows]
    first, middle, last = (sum(p) / len(p) for p in (v[:5], v[30:75], v[75:]))
    assert first > 1.1 * last and abs(middle / last - 1) < 0.03  # it learned, then sat at its floor
    with_lr = lrdoctor.diagnose(_csv(tmp_path / "lr.csv", rows, with_lr=True))
    assert "plateau" in with_lr.coverage.ran
    f = next(f for f in with_lr.findings if f.kind == "plateau")
    assert f.evidence["lr_share_of_peak"] == 1.0 and f.severity.value == "info"
    blind = lrdoctor.diagnose(_csv(tmp_path / "nolr.csv", rows, with_lr=False))
    assert "plateau" not in blind.coverage.ran and "plateau" not in {g.kind for g in blind.findings}
    why = blind.coverage.skipped["plateau"]
    assert why.startswith(f"the loss made no new best after step {f.start_step:g}") and "no learning-rate column" in why
    assert "oscillation" in blind.coverage.ran  # the other window checks still judge the same 120 reports


def test_a_loss_that_keeps_improving_is_checked_without_an_lr(tmp_path):
    rows = _learning_run()
    assert rows[-1][1] < 0.5 * rows[0][1]
    r = lrdoctor.diagnose(_csv(tmp_path / "learn.csv", rows, with_lr=False))
    assert "plateau" in r.coverage.ran and "plateau" not in r.coverage.skipped


def test_the_json_report_carries_the_reason(tmp_path):
    p = _csv(tmp_path / "nolr.csv", _flat_run(), with_lr=False)
    out = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", p, "--format", "json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    cov = json.loads(out.stdout)["coverage"]
    assert "plateau" not in cov["ran"] and "no learning-rate column" in cov["skipped"]["plateau"]
