"""Stop 76's plateau rule, on a really trained run, its twin and a real log read in place.

**A frozen evaluation of a model whose loss sits under a tenth of ln 2 is a plateau after learning.**
An evaluation loss that prints one value from its first evaluation on was slow_progress's error (the
model never learned) unless a report before the freeze saw a loss fall, or the first training
report stood a tenth above the later ones. A log that starts with an already-trained model shows
neither: a Keras NER fine-tune printed a training loss of 0.0226 at its first epoch and a validation
loss of 0.0519 at all three. No untrained model and no constant predictor of the labels sits under a
tenth of ln 2 (``learned_floor``): the level alone says the model learned, so the frozen evaluation
is a plateau (a warning: the rest of the run bought nothing), not a run that never learned.

**A training loss frozen after the run learned is a plateau too.** The evaluation rule's reading
(the run learned, then every later report printed one value) now holds for the training loss: a
loss that fell by a tenth of its first report before it froze adds a plateau warning beside
slow_progress's frozen-loss error (dead weights stay an error; the plateau says the run had learned
first). A TF1 Siamese MLP under plain gradient descent: epoch cost 0.472 -> 0.258, then 0.250 at the
last three epochs."""

from __future__ import annotations

from pathlib import Path

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

import lrdoctor
from lrdoctor.finding import Severity

torch.set_num_threads(1)

_KERAS_NER = "fresh252/cs577-sgrannemann-bert-finetuned-ner/training_results.md"
_SIAMESE = "fresh15/rasbt-tf1-siamese-stuck/"


def _continued_card(tmp_path: Path, lr: float) -> str:
    """Train the 64-32-10 digits MLP with Adam (lr 0.003, weight decay 1e-3) for 50 epochs on the
    first 1400 digits (its training loss falls to about 0.04, the held-out loss to about 0.3), then continue it for four logged epochs with Adam at ``lr``,
    each on 28 batches of 50 drawn at random from the same digits, and write a Keras card's table:
    each logged epoch's mean training loss and the held-out loss, 4 decimals. At lr 1e-9 the weights
    move under the printed digits and the held-out loss prints one value at every epoch."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.003, weight_decay=1e-3)
    for _ in range(50):
        fit_epoch(model, opt, x, y)
    for group in opt.param_groups:
        group["lr"] = lr
    draw = torch.Generator().manual_seed(0)
    lines = ["| Train Loss | Validation Loss | Epoch |", "|:----------:|:---------------:|:-----:|"]
    for epoch in range(4):
        idx = torch.randint(0, 1400, (1400,), generator=draw)
        train, _ = fit_epoch(model, opt, x[idx], y[idx])
        lines.append(f"| {train:.4f} | {held_out_loss(model, x, y):.4f} | {epoch} |")
    return write_lines(tmp_path / "README.md", lines)


def test_a_frozen_evaluation_of_a_model_under_a_tenth_of_ln2_is_a_plateau(tmp_path):
    """The run continued at lr 1e-9: training loss about 0.04 at every logged epoch, the held-out loss
    one value at all four. A plateau warning witnessed by the training loss's level, and slow_progress's
    "never learned" error stands aside."""
    run = lrdoctor.read(_continued_card(tmp_path, lr=1e-9))
    ev, tr = run.series("eval_loss").values, run.series("loss").values
    assert (ev == ev[0]).all() and tr.max() < 0.069 and tr.max() > tr.min()
    found = warned(lrdoctor.diagnose(run))
    f = found["plateau"]
    assert f.severity is Severity.WARNING and f.evidence["learned_metric"] == "train_loss"
    assert f.evidence["learned_below"] < 0.07 and "under a tenth of ln 2" in f.summary
    assert "slow_progress" not in found


def test_the_twin_that_keeps_training_is_silent(tmp_path):
    """The same model continued at lr 1e-3: the held-out loss moves at every epoch, nothing is frozen."""
    run = lrdoctor.read(_continued_card(tmp_path, lr=1e-3))
    assert len(set(run.series("eval_loss").values)) > 1
    found = warned(lrdoctor.diagnose(run))
    assert "plateau" not in found and "slow_progress" not in found


def test_the_keras_ner_card_is_a_plateau():
    """The card read in place: training loss 0.0226, 0.0229, 0.0225 and validation loss 0.0519 at all
    three epochs; the frozen value itself is the witness."""
    found = warned(lrdoctor.diagnose(real_log(_KERAS_NER)))
    f = found["plateau"]
    assert f.severity is Severity.WARNING and f.evidence["learned_to"] == 0.0519
    assert "slow_progress" not in found


def _decayed_epochs(tmp_path: Path, decay_epochs: int) -> str:
    """Train the 64-32-10 digits MLP with Adam (lr 0.01) for six epochs over the first 1400 digits in a
    fixed order, its LR decayed linearly to 0 over the first ``decay_epochs`` epochs (a PolynomialDecay
    sized by ``decay_steps``) and held there, and write each epoch's mean training loss (4 decimals) as
    a CSV. Once the LR is 0 the weights stop, and the same batches give the same mean every epoch."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    updates = 28 * decay_epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: max(0.0, 1.0 - k / updates))
    lines = ["epoch,loss"]
    for epoch in range(1, 7):
        train, _ = fit_epoch(model, opt, x, y, on_step=sched.step)
        lines.append(f"{epoch},{train:.4f}")
    return write_lines(tmp_path / "history.csv", lines)


def test_a_training_loss_frozen_after_it_learned_is_a_plateau(tmp_path):
    """The LR decayed to 0 within two epochs of six: the loss falls by more than half, then prints one
    value at the last four epochs. A plateau warning beside slow_progress's frozen-loss error."""
    run = lrdoctor.read(_decayed_epochs(tmp_path, decay_epochs=2))
    v = run.series("loss").values
    assert (v[2:] == v[-1]).all() and v[-1] < 0.5 * v[0]
    found = warned(lrdoctor.diagnose(run))
    f = found["plateau"]
    assert f.severity is Severity.WARNING and f.start_step == 3.0
    assert f.evidence["learned_from"] == v[0] and "the training loss printed" in f.summary
    assert found["slow_progress"].severity is Severity.ERROR


def test_the_twin_whose_decay_spans_the_run_is_silent(tmp_path):
    """The same run with the decay sized for all six epochs: the loss keeps falling, nothing is frozen."""
    run = lrdoctor.read(_decayed_epochs(tmp_path, decay_epochs=6))
    assert len(set(run.series("loss").values)) == 6
    found = warned(lrdoctor.diagnose(run))
    assert "plateau" not in found and "slow_progress" not in found


def test_the_siamese_mlp_is_a_plateau():
    """The TF1 Siamese MLP read in place: 0.472 -> 0.258 -> 0.250 x 3. Both kinds its labeller gave."""
    [path] = real_log(_SIAMESE).iterdir()
    found = warned(lrdoctor.diagnose(path))
    assert found["plateau"].evidence["learned_from"] == 0.472 and "slow_progress" in found
