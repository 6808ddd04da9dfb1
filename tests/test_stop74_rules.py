"""Two changes of stop 74, each on really trained runs, their twins and real logs read in place.

**performance_reversal when a score's best is its first evaluation and it then steps down.** On a
short log, a score that dropped and stayed down was a reversal only after a peak that came later
than the first report (the gain up to the peak was the yardstick of the drop). But a fine-tune is
first evaluated after an epoch of training, and a checkpoint that then loses a fifth of what it
scored has unlearned it (a Danish BERT: F1 0.8129 at epoch 1, then 0.7001 and 0.6259-0.6333 for
eight epochs). A ratio-scale score (0 is nothing right) is now judged against its own level there,
as the many-point trend rule already judged a long log whose best is at its start. A score that
fell when the loss went NaN is left to ``nonfinite``.

**A task metric pinned at its floor within the first updates, while the loss still falls, is a
warning.** A no-learning error read from a task metric was softened to a warning when the loss
beside it still fell, but only on fewer than five evaluations. A card evaluated every five updates
makes five evaluations in 25 updates: the start of training, which the chance rules do not call
stuck either (``min_steps``, 500 updates). Five or more evaluations that all came within the first
500 updates of a log from the start are now calibrated the same way.

**A frozen evaluation loss within the first updates and the first epoch is a warning.** A card
evaluated at each of a GPT-2's first 15 updates at lr 1e-5 printed the validation loss 10.8672 every
time: an error ("the evaluated model does not change"), though weights moved by a warming-up or
small LR stay under the printed digits that early. When every evaluation came within the first 500
updates and before the first epoch ended, the run is at its start, which the chance rules do not
call stuck either; ten epochs of a small set, however few their updates, are no start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

import lrdoctor
from lrdoctor.finding import Severity

torch.set_num_threads(1)

_DANISH_BERT = "fresh1243/yemen2016-dfm-nd/training_results.md"
_KERAS_NAN = "tuning/keras-cnn-sentence-nan/issue7.log"
_CLINICAL_NER = "fresh1276/blaze999-clinical-ner/training_results.md"
_GPT2_FIRST_UPDATES = "fresh743/gpt-train-6-256-gokulsrinivasagan/training_results.md"


def _f1_card(tmp_path: Path, unlearn: bool) -> str:
    """Train the 64-32-10 digits MLP with Adam (lr 0.01) for seven epochs and write an HF card's
    table: each epoch's mean training loss, held-out loss and held-out macro F1. With ``unlearn``,
    epoch 2 trains on shuffled labels and the LR then drops to 1e-5: the checkpoint of epoch 1 is
    lost, and the later epochs barely move."""
    from sklearn.metrics import f1_score

    x, y, model = digits_mlp(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    shuffle = torch.Generator().manual_seed(1)
    lines = ["Training Loss | Epoch | Step | Validation Loss | F1 |", "---|---|---|---|---|"]
    for epoch in range(1, 8):
        if unlearn and epoch == 2:
            train, _ = fit_epoch(model, opt, x, y[torch.randperm(y.numel(), generator=shuffle)])
            for group in opt.param_groups:
                group["lr"] = 1e-5
        else:
            train, _ = fit_epoch(model, opt, x, y)
        with torch.no_grad():
            pred = model(x[1400:]).argmax(1)
        f1 = f1_score(y[1400:].numpy(), pred.numpy(), average="macro")
        lines.append(f"{train:.4f} | {epoch:.1f} | {28 * epoch} | {held_out_loss(model, x, y):.4f} | {f1:.4f} |")
    return write_lines(tmp_path / "README.md", lines)


def _reversal(report):
    return [f for f in report.findings if f.kind == "performance_reversal"]


def test_a_score_that_steps_down_from_its_first_evaluation_is_a_reversal(tmp_path):
    """The unlearned run: macro F1 about 0.84 after epoch 1, about 0.4 for the six epochs after. The
    warning names the first evaluation as the best, and the drop as a share of it."""
    report = lrdoctor.diagnose(_f1_card(tmp_path, unlearn=True))
    [f] = _reversal(report)
    assert f.severity is Severity.WARNING and f.start_step == 28.0
    assert "its best was its first evaluation" in f.summary
    assert f.evidence["peak"] > 0.7 and f.evidence["end"] < 0.6 * f.evidence["peak"]


def test_a_score_that_holds_after_its_first_evaluation_is_no_reversal(tmp_path):
    """The twin, trained on the real labels throughout: F1 climbs past its first evaluation and holds."""
    report = lrdoctor.diagnose(_f1_card(tmp_path, unlearn=False))
    assert _reversal(report) == []


def test_the_danish_bert_card_is_a_reversal():
    """The card read in place: F1 0.8129 at epoch 1, 0.7001, then 0.6259-0.6333 for eight epochs."""
    [f] = _reversal(lrdoctor.diagnose(real_log(_DANISH_BERT)))
    assert f.evidence["peak"] == 0.8129 and f.start_step == 223.0
    assert "its best was its first evaluation" in f.summary


def test_a_score_that_fell_when_the_loss_went_nan_is_left_to_nonfinite():
    """Keras: val_acc 0.7470 at epoch 1, then 0 with the loss NaN from epoch 2: nonfinite's blow-up,
    not a second finding for the same event."""
    report = lrdoctor.diagnose(real_log(_KERAS_NAN))
    assert "nonfinite" in warned(report, 2)
    assert _reversal(report) == []


def _pinned_f1_card(tmp_path: Path, every: int, lr: float, prior: float) -> str:
    """Train the 64-32-2 digits MLP to tell the digit 0 from the rest (10% positives) with SGD at
    ``lr``, its output bias set so that every input starts as "not 0" by ``2 x prior`` logits, and
    write an HF card's table with a row every ``every`` updates (batches of 50): the mean training
    loss since the last row, the held-out loss and the held-out F1 of the digit 0, five rows."""
    from sklearn.metrics import f1_score

    x, y, _ = digits_mlp(0)
    target = (y == 0).long()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    with torch.no_grad():
        model[2].bias.copy_(torch.tensor([prior, -prior]))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines = ["Training Loss | Epoch | Step | Validation Loss | F1 |", "---|---|---|---|---|"]
    since: list[float] = []
    for step in range(1, 5 * every + 1):
        start = ((step - 1) * 50) % 1400
        loss = torch.nn.functional.cross_entropy(model(x[start:start + 50]), target[start:start + 50])
        opt.zero_grad()
        loss.backward()
        opt.step()
        since.append(loss.item())
        if step % every == 0:
            with torch.no_grad():
                logits = model(x[1400:])
                val = torch.nn.functional.cross_entropy(logits, target[1400:]).item()
            f1 = f1_score(target[1400:].numpy(), logits.argmax(1).numpy(), zero_division=0)
            lines.append(f"{np.mean(since):.4f} | {step / 28:.2f} | {step} | {val:.4f} | {f1:.4f} |")
            since = []
    return write_lines(tmp_path / "README.md", lines)


def _slow(report):
    return [f for f in report.findings if f.kind == "slow_progress"]


def test_a_metric_at_its_floor_within_the_first_updates_is_a_warning_while_the_loss_falls(tmp_path):
    """Evaluated every 5 updates: F1 0 at all five evaluations (25 updates) while the held-out loss
    falls by more than half; the run is at its start, so a warning, with the falling loss quoted."""
    path = _pinned_f1_card(tmp_path, every=5, lr=0.1, prior=4.0)
    run = lrdoctor.read(path)
    assert np.all(run.series("eval_f1").values == 0) and run.series("eval_loss").values[-1] < 0.5 * run.series("eval_loss").values[0]
    [f] = _slow(lrdoctor.diagnose(run))
    assert f.severity is Severity.WARNING and f.evidence["loss_still_falling"] == "validation_loss"


def test_a_metric_at_its_floor_past_the_first_updates_stays_an_error(tmp_path):
    """The twin, evaluated every 150 updates at a lower LR: F1 0 at all five evaluations over 750
    updates while the held-out loss still falls (by more than 5% over the second half): a model held at
    the floor this long is broken whatever the loss says."""
    path = _pinned_f1_card(tmp_path, every=150, lr=0.002, prior=6.0)
    run = lrdoctor.read(path)
    e = run.series("eval_loss").values
    assert np.all(run.series("eval_f1").values == 0) and e[-1] < 0.95 * e[2]
    [f] = _slow(lrdoctor.diagnose(run))
    assert f.severity is Severity.ERROR and "loss_still_falling" not in f.evidence


def test_the_clinical_ner_card_is_a_warning():
    """The card read in place: entity F1 0.0003-0.0015 at all five evaluations over 25 updates while
    the validation loss fell 4.77 -> 2.46 and the token accuracy rose 0.02 -> 0.47."""
    [f] = _slow(lrdoctor.diagnose(real_log(_CLINICAL_NER)))
    assert f.severity is Severity.WARNING and f.end_step == 25.0


def _frozen_eval_card(tmp_path: Path, every: int, rows: int) -> str:
    """Train the 64-32-10 digits MLP with SGD at lr 1e-7 on random batches of 50 of the first 1400
    digits (28 updates an epoch), and write an HF card's table with a row every ``every`` updates: the
    mean training loss since the last row, the epoch, the step, and the held-out loss (4 decimals:
    weights moved this little print the same held-out loss at every row)."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.SGD(model.parameters(), lr=1e-7)
    draw = torch.Generator().manual_seed(0)
    lines = ["Training Loss | Epoch | Step | Validation Loss |", "---|---|---|---|"]
    since: list[float] = []
    for step in range(1, every * rows + 1):
        idx = torch.randint(0, 1400, (50,), generator=draw)
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        since.append(loss.item())
        if step % every == 0:
            lines.append(f"{np.mean(since):.4f} | {step / 28:.4f} | {step} | {held_out_loss(model, x, y):.4f} |")
            since = []
    return write_lines(tmp_path / "README.md", lines)


def test_a_frozen_evaluation_within_the_first_updates_and_epoch_is_a_warning(tmp_path):
    """An evaluation at each of the first 15 updates (half an epoch): the held-out loss prints one
    value at all 15 while the training loss moves; a warning that says it is too early."""
    run = lrdoctor.read(_frozen_eval_card(tmp_path, every=1, rows=15))
    assert np.ptp(run.series("eval_loss").values) == 0 and np.ptp(run.series("loss").values) > 0.01
    [f] = _slow(lrdoctor.diagnose(run))
    assert f.severity is Severity.WARNING and f.evidence["within_first_updates"] is True
    assert "too early to call the run stuck" in f.summary


def test_a_frozen_evaluation_over_ten_epochs_stays_an_error(tmp_path):
    """The twin, evaluated at the end of each of ten epochs (280 updates, under 500, but ten passes
    over the data): the same frozen held-out loss is an error."""
    run = lrdoctor.read(_frozen_eval_card(tmp_path, every=28, rows=10))
    assert np.ptp(run.series("eval_loss").values) == 0
    [f] = _slow(lrdoctor.diagnose(run))
    assert f.severity is Severity.ERROR and "within_first_updates" not in f.evidence


def test_the_gpt2_card_of_its_first_updates_is_a_warning():
    """The card read in place: validation loss 10.8672 at each of the first 15 updates (epoch 0.0008)."""
    [f] = _slow(lrdoctor.diagnose(real_log(_GPT2_FIRST_UPDATES)))
    assert f.severity is Severity.WARNING and f.end_step == 15.0
