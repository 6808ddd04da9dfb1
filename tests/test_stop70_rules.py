"""slow_progress's chance rule without an accuracy to confirm K (stop 70): a loss that sits within
``chance_infer_tol`` of ln K (K up to ``chance_unconfirmed_max_k``) at every report from the start
of training, its evaluation loss too, never learned. A classifier's loss at initialisation is ln K,
so the start is what tells it from a fine-tune resting at ln K by coincidence. A really trained
digits classifier whose LR is too small to move it, its healthy twin at a working LR, and real
logs of the benchmark read in place: a six-way emotion fine-tune at ln 6 from its first epoch, and
a character language model at 1.39 ~ ln 4 whose excerpt starts 12,500 batches in."""

from pathlib import Path

import math

import pytest
import torch

import lrdoctor

torch.set_num_threads(1)

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"


def _digits_epochs(path, lr, *, epochs=6, seed=0):
    """Train a 64-32-10 MLP with SGD (batches of 64) on the first 1,400 digits, its output layer
    zero-initialised as many heads are (so its first loss is exactly ln 10), and write
    ``epoch,loss,val_loss`` per epoch: the mean training loss of the epoch, the loss on the last 397
    digits. No accuracy is logged."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)
    xt, yt, xv, yv = x[:1400], y[:1400], x[1400:], y[1400:]
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    torch.nn.init.zeros_(model[2].weight)
    torch.nn.init.zeros_(model[2].bias)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    rows = ["epoch,loss,val_loss"]
    for epoch in range(1, epochs + 1):
        perm, total = torch.randperm(len(yt)), []
        for i in range(0, len(yt), 64):
            b = perm[i:i + 64]
            loss = torch.nn.functional.cross_entropy(model(xt[b]), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total.append(loss.item())
        with torch.no_grad():
            val = float(torch.nn.functional.cross_entropy(model(xv), yv))
        rows.append(f"{epoch},{sum(total) / len(total):.4f},{val:.4f}")
    path.write_text("\n".join(rows) + "\n")
    return [float(r.split(",")[1]) for r in rows[1:]], [float(r.split(",")[2]) for r in rows[1:]]


def _slow(report):
    return next((f for f in report.findings if f.kind == "slow_progress"), None)


def test_a_loss_at_ln_k_from_the_first_epoch_is_stuck_at_chance_without_an_accuracy(tmp_path):
    """At lr 1e-4 the six epochs never leave ln 10 = 2.3026 (training and validation); nothing but
    the loss is logged, and the report names K = 10 and says the run never learned."""
    loss, val = _digits_epochs(tmp_path / "stuck.csv", 1e-4)
    assert all(abs(v - math.log(10)) < 0.01 for v in loss + val)
    f = _slow(lrdoctor.diagnose(str(tmp_path / "stuck.csv")))
    assert f is not None and f.severity.value == "error"
    assert f.evidence["num_classes"] == 10 and f.evidence.get("from_the_start") is True
    assert "ln 10" in f.summary and "from the start of training" in f.summary


def test_the_same_classifier_at_a_working_lr_is_silent(tmp_path):
    """The twin at lr 0.5 leaves ln 10 within its first epoch (mean 2.13) and keeps falling."""
    loss, val = _digits_epochs(tmp_path / "learns.csv", 0.5)
    assert loss[0] < math.log(10) - 0.1 and loss[-1] < 0.5 and val[-1] < 0.6
    report = lrdoctor.diagnose(str(tmp_path / "learns.csv"))
    assert "slow_progress" in report.coverage.ran and _slow(report) is None


def test_a_fine_tune_at_ln_6_from_its_first_epoch_is_flagged():
    """MiniLM on a six-way emotion set (cduncanja/emotion_model, labelled unhealthy slow_progress by
    a reader who never ran lrdoctor): training loss 1.7968 -> 1.7833 and validation loss
    1.7804-1.7822 at all five epochs, ln 6 = 1.7918; the only score logged is an F1 at 0.08-0.23."""
    path = LOGS / "fresh1026" / "cduncanja-emotion-model" / "training_results.md"
    f = _slow(lrdoctor.diagnose(str(path)))
    assert f is not None and f.severity.value == "error" and f.evidence["num_classes"] == 6


def test_an_excerpt_from_the_middle_of_a_run_near_ln_4_is_not():
    """Flair character LM (labelled healthy): the pasted lines start at batch 12,500 of split 10
    with the loss at 1.39 ~ ln 4 = 1.386 throughout. With no start of training in the log, nothing
    shows that the model never left ln 4: a converged character LM sits there (perplexity 4)."""
    path = LOGS / "fresh86" / "flair-1537-charlm-split10-plateau"
    report = lrdoctor.diagnose(str(next(path.iterdir())))
    assert "slow_progress" in report.coverage.ran and _slow(report) is None
