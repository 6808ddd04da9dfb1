"""A change of stop 76, on a really trained run, its twin and real logs read in place.

**With K classes in the config and no training loss logged, the first evaluation loss is judged
against ln K.** A skorch epoch table prints only valid_loss and valid_acc (braindecode's
ShallowFBCSPNet on 4 classes: valid_loss 31.54 at epoch 1, 22.8x ln 4), and a log whose training
lines the reader does not take shows only its evaluations (llm.c's char-level GPT-2 on 66
characters: "val loss" 6.44 after ten updates). ``initial_loss_anomaly`` then had no loss to judge
("no training-loss column"). The first evaluation is the earliest loss such a log holds: the weights
it scores have trained for an epoch or a few updates, and training lowers a cross-entropy from the
ln K of the untrained model, so one 1.5x ln K and a nat above it (the rule's bound for a first
training loss) says the start was at least that far off. The "above" side only: an evaluation after
training may be low for good reasons. The Trainer-table rule already judged a first evaluation
logged before any training loss, against the vocabulary bound; this is the same reading where the
config gives K. A run that logs a training loss, even a non-finite one, is judged on it as before."""

from __future__ import annotations

from pathlib import Path

import lrdoctor
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

torch.set_num_threads(1)

_BRAINDECODE = "fresh184/braindecode081-basic-training-random-data-10ep/plot_basic_training_epochs.rst"
_LASAGNE_NAN = "fresh131/lasagne-529-nolearn-train-nan-valid-acc-zero/paste.txt"


def _valid_table(tmp_path: Path, head_scale: float) -> str:
    """Train the 64-32-10 digits MLP with SGD (lr 0.05) for five epochs, its output layer's weights
    and bias multiplied by ``head_scale`` at initialisation, and write a skorch epoch table of the
    held-out accuracy and loss only (no training loss), as braindecode's example prints it. At 60x
    the logits start confidently wrong (held-out loss 14.4 against ln 10 = 2.30) and one epoch leaves
    the loss at 9.0; the twin at 1x starts at 2.32."""
    x, y, model = digits_mlp(0)
    with torch.no_grad():
        model[2].weight.mul_(head_scale)
        model[2].bias.mul_(head_scale)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    lines = ["  epoch    valid_acc    valid_loss     dur", "-------  -----------  ------------  ------"]
    for epoch in range(1, 6):
        fit_epoch(model, opt, x, y)
        with torch.no_grad():
            acc = (model(x[1400:]).argmax(1) == y[1400:]).float().mean().item()
        lines.append(f"{epoch:>7}  {acc:>11.4f}  {held_out_loss(model, x, y):>12.4f}  {0.0100:.4f}")
    return write_lines(tmp_path / "train.log", lines)


def _diagnose(path, k: int):
    return lrdoctor.diagnose(lrdoctor.read(path, config={"num_classes": k}))


def test_a_first_evaluation_far_above_ln_k_is_an_initial_loss_anomaly(tmp_path):
    """The 60x head: held-out loss 9.0 after epoch 1, 3.9x ln 10. Before stop 76 the table had no
    training loss and the check did not run."""
    f = warned(_diagnose(_valid_table(tmp_path, 60.0), 10))["initial_loss_anomaly"]
    assert f.start_step == 1.0 and f.evidence["num_classes"] == 10
    assert f.evidence["first_loss"] > 1.5 * f.evidence["expected_ln_k"]
    assert "first evaluation loss" in f.summary and "no training loss logged" in f.summary


def test_a_first_evaluation_near_ln_k_is_silent(tmp_path):
    """The twin with the default head: held-out loss 2.26 after epoch 1, just under ln 10."""
    report = _diagnose(_valid_table(tmp_path, 1.0), 10)
    assert "initial_loss_anomaly" not in warned(report)
    assert "initial_loss_anomaly" not in report.coverage.skipped


def test_the_braindecode_table_is_an_initial_loss_anomaly():
    """The skorch table read in place: valid_loss 31.5428 at every epoch 1-10 on 4 classes."""
    f = warned(_diagnose(real_log(_BRAINDECODE), 4))["initial_loss_anomaly"]
    assert f.evidence["first_loss"] == 31.5428 and f.start_step == 1.0


def test_a_run_that_logs_a_training_loss_is_not_judged_on_its_evaluations():
    """nolearn's table on 12 classes: train loss nan at every epoch, valid loss 4.51 (1.8x ln 12). A
    training loss is logged, non-finite: the evaluation stands in for no missing one (nonfinite's)."""
    report = _diagnose(real_log(_LASAGNE_NAN), 12)
    assert "initial_loss_anomaly" not in warned(report)
