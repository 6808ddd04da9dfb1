"""A frozen evaluation loss after the run learned is a plateau, not a run that never learned (stop 71).

The evaluation loss printing one value at its last evaluations means the evaluated weights no longer
change. From the start (or after a fall under ``plateau_learned`` = a tenth) that is slow_progress's
frozen-evaluation error: the model never learned. After the evaluation or the training loss fell by a
tenth it is a plateau warning: the run learned, then the rest of its budget bought nothing (the
labellers' "after some progress, the loss stops improving while training goes on"). Really trained
digits classifiers whose LR schedule reaches 0 early, their twins, and real logs read in place."""

from pathlib import Path

import pytest
import torch

import lrdoctor
from trained_digits import digits_mlp, fit_epoch, held_out_loss

torch.set_num_threads(1)

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"


def _digits_run(path, *, lr, decay_epochs, epochs=8, seed=0):
    """Train a 64-64-10 MLP with dropout 0.2 by SGD (batches of 64) on the first 1,400 digits, its LR
    decayed linearly from ``lr`` to exactly 0 over ``decay_epochs`` epochs (0: the LR is 0 from the
    first step) and left there, as a decay sized for a shorter run leaves it; write
    ``epoch,loss,eval_loss,eval_accuracy`` per epoch to 4 decimals (the mean training loss of the
    epoch, with dropout on; loss and accuracy on the last 397 digits). No LR is logged, as on most
    model cards."""
    x, y, _ = digits_mlp(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    total_steps = max(1, decay_epochs * ((1400 + 63) // 64))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.0 if decay_epochs == 0 else max(0.0, 1.0 - k / total_steps))
    rows = ["epoch,loss,eval_loss,eval_accuracy"]
    for epoch in range(1, epochs + 1):
        model.train()
        train, _ = fit_epoch(model, opt, x, y, end=1400, batch=64, on_step=sched.step)
        model.eval()
        with torch.no_grad():
            acc = float((model(x[1400:]).argmax(1) == y[1400:]).float().mean())
        rows.append(f"{epoch},{train:.4f},{held_out_loss(model, x, y):.4f},{acc:.4f}")
    path.write_text("\n".join(rows) + "\n")
    return [[float(c) for c in r.split(",")[1:]] for r in rows[1:]]


def _kind(report, kind):
    return next((f for f in report.findings if f.kind == kind), None)


def test_an_evaluation_loss_frozen_after_the_run_learned_is_a_plateau_warning(tmp_path):
    """The LR reaches 0 after 3 of 8 epochs: the validation loss falls from its first epoch, then
    prints one value at epochs 3-8 while the training loss (dropout on) still moves."""
    rows = _digits_run(tmp_path / "stalled.csv", lr=0.5, decay_epochs=3)
    val = [r[1] for r in rows]
    assert val[0] > val[-1] and len(set(val[2:])) == 1 and len({r[0] for r in rows[2:]}) > 1
    report = lrdoctor.diagnose(str(tmp_path / "stalled.csv"))
    f = _kind(report, "plateau")
    assert f is not None and f.severity.value == "warning"
    assert f.evidence["rule"] == "frozen evaluation after learning" and f.evidence["points"] >= 5
    assert f.evidence["value"] == val[-1] and f.evidence["learned_from"] == val[0]
    assert "the run learned" in f.summary and f.start_step <= 4
    assert _kind(report, "slow_progress") is None  # not "never learned": it did
    assert [x.parameter for x in f.fixes] == ["lr schedule length", "early stopping"]  # not "decay the LR"


def test_the_same_run_whose_decay_spans_it_is_no_plateau(tmp_path):
    """Its twin decays over all 8 epochs: the validation loss changes at every evaluation."""
    rows = _digits_run(tmp_path / "spans.csv", lr=0.5, decay_epochs=8)
    assert len({r[1] for r in rows}) == len(rows)
    report = lrdoctor.diagnose(str(tmp_path / "spans.csv"))
    assert _kind(report, "plateau") is None and _kind(report, "slow_progress") is None
    # the frozen rule ran and found nothing; the trend rule's 20 reports are not there, and the coverage says so
    assert "needs 20" in report.coverage.skipped["plateau"]


def test_an_evaluation_loss_frozen_from_the_first_epoch_stays_slow_progress(tmp_path):
    """At an LR of 0 from the first step nothing is learned: the validation loss prints one value at
    all 8 epochs, and the report says the model never changed (an error), not a plateau."""
    rows = _digits_run(tmp_path / "dead.csv", lr=0.5, decay_epochs=0)
    assert len({r[1] for r in rows}) == 1
    report = lrdoctor.diagnose(str(tmp_path / "dead.csv"))
    f = _kind(report, "slow_progress")
    assert f is not None and f.severity.value == "error"  # (the chance rule names it first: ln 10, one class)
    assert _kind(report, "plateau") is None


@pytest.mark.parametrize("rel, kind, severity", [
    # GPT-J-6B SFT on ANLI (tverous/sft-trl-claim): validation loss 1.8749 -> 0.6558 by step 8000, then
    # exactly 0.6558 at all 8 later evaluations; labelled plateau by a reader who never ran lrdoctor
    ("fresh923/tverous-sft-trl-claim", "plateau", "warning"),
    # a Keras DistilBERT whose validation loss falls 4.2482 -> 3.8795 by epoch 2 and then prints
    # 3.8795 to epoch 7, measured blind at stop 70's commit as a slow_progress error; labelled plateau
    ("fresh1159/sumedhuv-my-model", "plateau", "warning"),
    # a delivery-truck classifier whose validation loss is 0.1787 at all 60 evaluations from the
    # first: it never learned (labelled slow_progress), so it keeps the error
    ("fresh1038/jedward7777-delivery-truck-classification-60ep-frozen", "slow_progress", "error"),
])
def test_real_frozen_evaluations_read_in_place(rel, kind, severity):
    path = next(p for p in (LOGS / rel).iterdir() if p.is_file())
    report = lrdoctor.diagnose(str(path))
    f = _kind(report, kind)
    assert f is not None and f.severity.value == severity, [(x.kind, x.severity.value) for x in report.findings]
    other = "slow_progress" if kind == "plateau" else "plateau"
    assert _kind(report, other) is None
