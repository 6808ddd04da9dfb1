"""An evaluation loss frozen from its first evaluation after the run learned in its first interval is a
plateau (stop 75).

Stop 71 split a frozen evaluation loss between slow_progress (the run never learned) and plateau (it
learned, then stopped), reading "learned" from a loss that fell by ``plateau_learned`` (a tenth) up
to the first frozen evaluation. When the evaluation is frozen from its very first report, nothing
before it was read, and every such run stayed "never learned". But the training loss's first report
is the mean over the updates that led to the first evaluation, learning included: a Keras run whose
PolynomialDecay is sized for one epoch learns in epoch 0, and its training loss then prints the
frozen weights' level (gpt2 on Turkish reviews: 6.1956, then 5.4254, 5.4254, 5.4252, 5.4254, the
validation loss 5.4114 at all five epochs). A fall of a tenth from that first report to the later
reports' median, larger than the later reports' own spread, is now a plateau warning. slow_progress's
frozen-evaluation error stays beside it: one interval may have learned only the easy part (a class
prior). Really trained digits classifiers, their twin, and real logs read in place."""

from __future__ import annotations

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

import lrdoctor

torch.set_num_threads(1)


def _one_epoch_decay(path, *, decay_epochs: float, epochs: int = 6, seed: int = 0) -> list[list[float]]:
    """Train a 64-64-10 MLP with dropout 0.2 by SGD at lr 0.5 (batches of 16) on the first 1,400
    digits, its LR decayed linearly to exactly 0 over ``decay_epochs`` epochs and left there (a decay
    sized for one epoch of a longer run, as Keras cards size PolynomialDecay); write
    ``epoch,loss,eval_loss`` per epoch to 4 decimals (the epoch's mean training loss, dropout on; the
    loss on the last 397 digits), no LR column, as model cards print. The rows, as floats."""
    x, y, _ = digits_mlp(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    total = max(1, round(decay_epochs * ((1400 + 15) // 16)))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: max(0.0, 1.0 - k / total))
    rows = []
    for epoch in range(epochs):
        model.train()
        train, _ = fit_epoch(model, opt, x, y, end=1400, batch=16, on_step=sched.step)
        model.eval()
        rows.append([float(epoch), round(train, 4), round(held_out_loss(model, x, y), 4)])
    write_lines(path, ["epoch,loss,eval_loss"] + [f"{int(e)},{t:.4f},{v:.4f}" for e, t, v in rows])
    return rows


def test_an_evaluation_frozen_from_the_first_epoch_after_one_epoch_of_learning_is_a_plateau(tmp_path):
    """The LR reaches 0 at the end of the first of six epochs: the validation loss prints one value
    at all six evaluations, and the first epoch's mean training loss (learning included) sits far
    above the frozen weights' loss at the later epochs."""
    rows = _one_epoch_decay(tmp_path / "one_epoch.csv", decay_epochs=1)
    train, val = [r[1] for r in rows], [r[2] for r in rows]
    assert len(set(val)) == 1 and train[0] > 1.5 * max(train[1:])
    report = lrdoctor.diagnose(str(tmp_path / "one_epoch.csv"))
    f = warned(report).get("plateau")
    assert f is not None and f.severity.value == "warning", [(x.kind, x.severity.value) for x in report.findings]
    assert f.evidence["rule"] == "frozen evaluation after learning" and f.evidence["points"] == 6
    assert f.evidence["learned_metric"] == "loss" and f.evidence["learned_from"] == train[0]
    assert f.evidence["learned_to"] < 0.9 * train[0] and "the run learned" in f.summary
    assert [x.parameter for x in f.fixes] == ["lr schedule length", "early stopping"]
    # the evaluated model never changed: slow_progress's error stays beside the plateau
    assert warned(report, 2).get("slow_progress") is not None


def test_the_same_run_whose_decay_spans_it_stays_silent(tmp_path):
    """Its twin decays over all six epochs: the validation loss changes at every evaluation, and
    neither kind speaks."""
    rows = _one_epoch_decay(tmp_path / "spans.csv", decay_epochs=6)
    assert len({r[2] for r in rows}) == len(rows)
    report = lrdoctor.diagnose(str(tmp_path / "spans.csv"))
    found = warned(report)
    assert "plateau" not in found and "slow_progress" not in found, found


def test_real_keras_gpt2_frozen_after_its_first_epoch_is_a_plateau():
    """gpt2 on Turkish reviews (Keras card, labelled plateau by a reader who never ran lrdoctor):
    training loss 6.1956 at epoch 0, then 5.4254, 5.4254, 5.4252, 5.4254; validation loss 5.4114 at
    all five epochs. Stop 74's code called it only a run that never learned."""
    report = lrdoctor.diagnose(str(real_log("fresh447/kmkarakaya-gpt2-turkish-reviews/training_results.md")))
    f = warned(report).get("plateau")
    assert f is not None and f.severity.value == "warning", [(x.kind, x.severity.value) for x in report.findings]
    assert f.evidence["learned_from"] == 6.1956 and f.evidence["learned_to"] == 5.4254


def test_real_chainer_run_at_chance_from_its_first_epoch_is_no_plateau():
    """A Chainer CIFAR-10 run whose validation loss prints ln 10 (2.30259) at every epoch and whose
    training loss falls only 2.46634 -> 2.30256 (under a tenth: to the uniform guess, nothing
    learned): slow_progress's error alone."""
    report = lrdoctor.diagnose(str(real_log("fresh7/text-chainer-issue4424-cifar-chance/issue4424.log")))
    found = warned(report)
    assert "plateau" not in found and found["slow_progress"].severity.value == "error", found
