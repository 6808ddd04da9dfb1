"""Rules from the stop-34 study of the benchmark (issue 9), each on a really trained run with a twin:

- overfitting's few-point rule: on three evaluations, a held-out loss that never improved on its
  first reading while the training loss at least halved.
"""

from __future__ import annotations

import torch
from trained_digits import digits_mlp, fit_epoch, warned

import lrdoctor

torch.set_num_threads(1)


def _three_epochs(tmp_path, examples: int, decay_last: float) -> str:
    """A CSV of three epochs (mean training loss, held-out loss on the digits after the first 1400)
    of a wide MLP trained with AdamW on the first ``examples`` digits, 15 passes an epoch; the
    third epoch's weight decay is ``decay_last`` (which shrinks the logits, so a memorising run's
    held-out loss dips without reaching its first value)."""
    x, y, _ = digits_mlp(0)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    rows = ["epoch,loss,val_loss"]
    for epoch in (1, 2, 3):
        opt = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=decay_last if epoch == 3 else 0.0)
        for _ in range(15):
            train, _ = fit_epoch(model, opt, x, y, end=examples, batch=20)
        with torch.no_grad():
            held = torch.nn.functional.cross_entropy(model(x[1400:]), y[1400:]).item()
        rows.append(f"{epoch},{train:.5f},{held:.5f}")
    path = tmp_path / f"fit_{examples}.csv"
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def test_a_held_out_loss_that_never_beats_its_first_evaluation_is_overfitting(tmp_path):
    path = _three_epochs(tmp_path, examples=60, decay_last=0.6)
    run = lrdoctor.read(path)
    held = run.series("eval_loss").values
    assert held[1] > held[2] > held[0] * 1.05, held  # the picture the rule is for: a dip, not rises in a row
    found = warned(lrdoctor.diagnose(run))
    assert "overfitting" in found
    assert found["overfitting"].evidence["eval_min_step"] == 1.0


def test_a_held_out_loss_that_improves_after_its_first_evaluation_is_not_overfitting(tmp_path):
    path = _three_epochs(tmp_path, examples=1400, decay_last=0.6)
    run = lrdoctor.read(path)
    held = run.series("eval_loss").values
    assert held.min() < held[0], held
    assert "overfitting" not in warned(lrdoctor.diagnose(run))


def test_the_few_point_rule_needs_the_training_loss_to_halve(tmp_path):
    """The same held-out readings beside a training loss that fell by a third: the training set is
    not being fitted, and three held-out readings are too few to call the rest a turn."""
    fitted, unfitted = tmp_path / "fitted.csv", tmp_path / "unfitted.csv"
    fitted.write_text("epoch,loss,val_loss\n1,0.846,0.825\n2,0.756,0.936\n3,0.295,0.890\n")
    unfitted.write_text("epoch,loss,val_loss\n1,0.846,0.825\n2,0.756,0.936\n3,0.560,0.890\n")
    assert "overfitting" in warned(lrdoctor.diagnose(str(fitted)))
    assert "overfitting" not in warned(lrdoctor.diagnose(str(unfitted)))
