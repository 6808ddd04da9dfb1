"""Rules from the stop-32 study of the benchmark (issue 9), each on a real log or a really trained
run, with a twin:

- a classification error rate (CNTK's ``errTop1``) is one minus an accuracy: at 1 - 1/K it
  confirms a loss at ln K, and its ``top1`` no longer reads it as an accuracy;
- a log with no step column (reports numbered by row) says nowhere that it starts at the start of
  training, so the chance rules judge it rather than calling it too early.
"""

from __future__ import annotations

import pytest
import torch
from bench_logs import real_log

import lrdoctor

torch.set_num_threads(1)


def _warned(report, at_least: int = 1) -> dict:
    return {f.kind: f for f in report.findings if f.severity.rank >= at_least}


def _digits(seed: int):
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    return x, y, model


# ---------------------------------------------------------------- slow_progress: an error rate at 1 - 1/K

def _cntk_lines(seed: int, shuffled: bool, lr: float) -> str:
    """CNTK's minibatch summary lines (``ce = L * N; errTop1 = E * N``) of a digits MLP: the mean
    cross-entropy and top-1 error of each block of 20 minibatches; ``shuffled`` trains on
    permuted labels, so nothing can be learned. No step column: the reports are rows."""
    x, y, model = _digits(seed)
    g = torch.Generator().manual_seed(seed)
    y = y[torch.randperm(len(y), generator=g)] if shuffled else y
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines, n = [], 0
    for block in range(4):
        ce, err, seen = 0.0, 0.0, 0
        for _ in range(20):
            i = (n * 32) % 1760
            out = model(x[i:i + 32])
            loss = torch.nn.functional.cross_entropy(out, y[i:i + 32])
            opt.zero_grad()
            loss.backward()
            opt.step()
            ce += float(loss.detach()) * 32
            err += float((out.argmax(1) != y[i:i + 32]).float().sum())
            seen += 32
            n += 1
        a, b = block * 20 + 1, block * 20 + 20
        lines.append(f" Epoch[ 1 of 30]-Minibatch[{a:4d}-{b:4d}, {100 * b / 55:.2f}%]: ce = {ce / seen:.8f} * {seen}; "
                     f"errTop1 = {err / seen:.8f} * {seen}; time = 0.69s; samplesPerSecond = 23252.3")
    return "Starting minibatch loop.\n" + "\n".join(lines) + "\n"


def test_an_error_rate_at_chance_confirms_a_loss_at_ln_k(tmp_path):
    """Shuffled labels at a tiny LR: the cross-entropy sits at ln 10 and errTop1 near 0.9 in
    every block. Before, ``errTop1`` read as an accuracy of 0.9 ("it learned") and the rows read
    as the first updates, so the report was silent. The twin on true labels learns."""
    log = tmp_path / "cntk.log"
    log.write_text(_cntk_lines(0, shuffled=True, lr=1e-3))
    f = _warned(lrdoctor.diagnose(log), 2)["slow_progress"]
    assert f.evidence["num_classes"] == 10 and f.evidence["accuracy_metric"] == "err_top1"
    assert abs(f.evidence["error_rate_median"] - 0.9) < 0.06 and abs(f.evidence["accuracy_median"] - 0.1) < 0.06
    assert "err_top1 0.9" in f.summary and "~ 1 - 1/10" in f.summary
    log.write_text(_cntk_lines(0, shuffled=False, lr=0.5))
    assert "slow_progress" not in _warned(lrdoctor.diagnose(log), 0)


def test_a_falling_error_rate_is_no_accuracy_pinned_at_zero(tmp_path):
    """A top-1 error that reaches 0 is perfect: read as an accuracy it was "never above 0"."""
    rows = "\n".join(f"epoch {e} loss {l:.4f} val_top1_err {v:.4f}"
                     for e, (l, v) in enumerate([(1.9, 0.2), (0.9, 0.01), (0.4, 0.0), (0.2, 0.0), (0.1, 0.0)]))
    log = tmp_path / "train.log"
    log.write_text(rows + "\n")
    assert "slow_progress" not in _warned(lrdoctor.diagnose(log), 0)


@pytest.mark.parametrize("path, config", [("fresh131/cntk-638-tutorial2-mnist-ce-stuck/paste.txt", None),
                                          ("fresh17/cntk-issue1143-cifar-chance/train.log", {"num_classes": 10})])
def test_real_cntk_pastes_at_chance(path, config):
    """Two CNTK logs with no step column: MNIST at ce 2.3026 with errTop1 0.89 over minibatches
    1-1500 (K inferred from the two); CIFAR-10's cross-entropy 2.29-2.32 (K from the config)."""
    f = _warned(lrdoctor.diagnose(lrdoctor.read(real_log(path), config=config)), 2)["slow_progress"]
    assert f.evidence["num_classes"] == 10
