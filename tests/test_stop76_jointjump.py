"""A change of stop 76 to ``loss_spike``, on a really trained run, its twin and real logs read in place.

**Both losses jump together and come back.** The few-point rule asks one report to stand above
*both* its neighbours, so a blow-up that stays up for two or three reports before it recovers was
nobody's: not a spike (no single report stands out), not divergence (it came back). When the training
loss and the evaluation loss both reach ``warn_ratio`` (3x) their best at the same report and a later
evaluation is back down by the same factor, the weights broke for a while and recovered, and it is
a ``loss_spike`` warning (``_joint_jump``). One witness is not enough: the training loss alone jumps
on an outlier batch, the evaluation loss alone climbs by overfitting. A ConvNeXt-V2 on a histopathology
set: training loss 0.2522, 0.1579, then 1.1016 and 1.0934, validation loss 0.1288, 0.1211, then 1.1018
and 1.0787 (accuracy 0.96 -> 0.32), both back to 0.33 by the seventh epoch."""

from __future__ import annotations

from pathlib import Path

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

import lrdoctor
from lrdoctor.finding import Severity

torch.set_num_threads(1)

_BREAKHIS = "fresh615/alm-convnextv2-breakhis/training_results.md"
_VIT_FLOWERS = "fresh1129/kietzer0-vit-flower102-4/training_results.md"
_JOLTED = (4, 5)


def _keras_log(tmp_path: Path, jolt: bool) -> str:
    """Train the 64-32-10 digits MLP with Adam (lr 0.01) for 12 epochs and write Keras's fit() lines.
    With ``jolt``, three updates in the middle of epochs 4 and 5 run at lr 0.3 (a scheduler glitch):
    both the epoch-mean training loss and the held-out loss at the epoch's end jump several-fold and
    stay up for two epochs, then the run recovers at lr 0.01."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    lines = []
    for epoch in range(1, 13):
        losses: list[float] = []
        if jolt and epoch in _JOLTED:
            fit_epoch(model, opt, x, y, end=1000, losses=losses)
            for group in opt.param_groups:
                group["lr"] = 0.3
            fit_epoch(model, opt, x[1000:], y[1000:], end=150, losses=losses)
            for group in opt.param_groups:
                group["lr"] = 0.01
            fit_epoch(model, opt, x[1150:], y[1150:], end=250, losses=losses)
            train = sum(losses) / len(losses)
        else:
            train, _ = fit_epoch(model, opt, x, y)
        lines += [f"Epoch {epoch}/12",
                  f"28/28 [==============================] - 0s 2ms/step - loss: {train:.4f} - val_loss: {held_out_loss(model, x, y):.4f}"]
    return write_lines(tmp_path / "train.log", lines)


def test_both_losses_jumping_together_and_recovering_is_a_loss_spike(tmp_path):
    """The jolted run: at epoch 4 the training loss is over 3x its best and the held-out loss over
    3x its own, both stay up at epoch 5 (no report stands above both neighbours), and the held-out
    loss is back below a third of its peak by the end."""
    run = lrdoctor.read(_keras_log(tmp_path, jolt=True))
    e, t = run.series("eval_loss").values, run.series("loss").values
    assert e[3] > 3 * e[:3].min() and t[3] > 3 * t[:3].min() and e[4] > e[3] / 1.5 and e[-1] < e[3] / 3
    f = warned(lrdoctor.diagnose(run))["loss_spike"]
    assert f.severity is Severity.WARNING and f.start_step == 4.0 and f.evidence["training_jump"] > 3


def test_the_twin_without_the_glitch_has_no_loss_spike(tmp_path):
    report = lrdoctor.diagnose(_keras_log(tmp_path, jolt=False))
    assert "loss_spike" not in {f.kind for f in report.findings}
    assert "loss_spike" in report.coverage.ran


def test_the_convnext_breakhis_card_is_a_loss_spike():
    """A ConvNeXt-V2 on BreakHis: both losses jump about 12x at one evaluation and come back."""
    assert warned(lrdoctor.diagnose(real_log(_BREAKHIS)))["loss_spike"].evidence["training_jump"] > 3


def test_the_vit_flowers_card_is_a_loss_spike():
    """A ViT on Flowers-102 whose training loss jumps 80x and validation loss 7.6x at one evaluation."""
    assert "loss_spike" in warned(lrdoctor.diagnose(real_log(_VIT_FLOWERS)))
