"""Two changes of stop 73, each on really trained runs, their twins and real logs read in place.

**A results-table header naming a column by its operating point.** Many phishing classifiers'
Hugging Face cards end their "Training results" header with "Tpr At Fpr 0.01" (the true positive
rate at a 1% false positive rate). A cell of words and a number also reads as a "key value" pair
(pytorch/examples prints "| valid loss 5.72 |"), so the whole card was refused as "no training
metric recognised (numeric columns seen: tpr_at_fpr)". A header now takes such cells when they are
fewer than half of its cells and every other cell is a plain name: a line of "key value" cells puts a
number in every cell.

**performance_reversal when an error rate's best is its first evaluation.** An error rate (WER,
CER) at twice its best or more at the last three or more evaluations is a reversal. The best had
to come after the first evaluation; but a fine-tune is evaluated after its first interval of
training, so its first error rate is already a learned level that later updates can lose
(Whisper-small: WER 22.5 at step 1000, 98.0 at steps 2000-4000). A first evaluation at exactly
100%, the error rate of an empty output (an untrained CTC head emitting blanks), is still no learned
best."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

import lrdoctor

torch.set_num_threads(1)

_PHISHING = "fresh1211/austincarthy-onlyphish-100kp-bfall-fromb-10kgen-topp-0.75/training_results.md"


def _operating_point_card(tmp_path, epochs: int = 5) -> tuple[str, list[list[float]]]:
    """Train a 64-32-2 MLP to tell the digit 0 from the rest (digits 0-1399 to train, 1400-1796 held
    out) and write its results as an HF card's table, "Tpr At Fpr 0.01" last: each epoch's mean
    training loss, validation loss, accuracy, the F1 of class 1 (a name ending in an index), and the
    true positive rate at a 1% false positive rate read from scikit-learn's ROC curve of the
    held-out scores."""
    from sklearn.metrics import f1_score, roc_curve

    x, y, _ = digits_mlp(0)
    target = (y == 0).long()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    lines = ["Training Loss | Epoch | Step | Validation Loss | Accuracy | F1 Class 1 | Tpr At Fpr 0.01 |",
             "---|---|---|---|---|---|---|"]
    rows = []
    for epoch in range(1, epochs + 1):
        train, _ = fit_epoch(model, opt, x, target)
        with torch.no_grad():
            logits = model(x[1400:])
            val = torch.nn.functional.cross_entropy(logits, target[1400:]).item()
            score = torch.softmax(logits, 1)[:, 1].numpy()
        truth = target[1400:].numpy()
        acc = float(((score > 0.5) == truth).mean())
        f1 = float(f1_score(truth, score > 0.5))
        fpr, tpr, _ = roc_curve(truth, score)
        tpr_at = float(np.interp(0.01, fpr, tpr))
        rows.append([train, float(epoch), 28.0 * epoch, val, acc, f1, tpr_at])
        lines.append(f"{train:.4f} | {epoch:.1f} | {28 * epoch} | {val:.4f} | {acc:.4f} | {f1:.4f} | {tpr_at:.4f} |")
    return write_lines(tmp_path / "README.md", lines), rows


def test_a_header_naming_a_column_by_its_operating_point_is_read(tmp_path):
    """The card of a really trained detector: all five rows are read, the training and validation
    losses take their roles, and the operating-point column keeps its number in its name."""
    path, rows = _operating_point_card(tmp_path)
    run = lrdoctor.read(path)
    assert run.n_steps == 5 and run.meta.roles["loss"] == "training_loss" and run.meta.roles["eval_loss"] == "validation_loss"
    [tpr] = [c for c in run.metrics if c.startswith("eval_tpr_at_fpr") or c.startswith("tpr_at_fpr")]
    assert "0.01" in tpr or "001" in tpr
    assert np.allclose(run.series(tpr).values, [round(r[6], 4) for r in rows])
    assert np.allclose(run.series("eval_f1_class_1").values, [round(r[5], 4) for r in rows])
    assert np.allclose(run.series("loss").values, [round(r[0], 4) for r in rows])
    report = lrdoctor.diagnose(path)
    assert "overfitting" in report.coverage.ran and "slow_progress" in report.coverage.ran


def test_the_real_card_with_that_header_is_diagnosed_not_refused():
    """AustinCarthy's phishing card (Apache-2.0), read in place: a healthy run, diagnosed (it was
    refused as having no training metric before)."""
    run = lrdoctor.read(real_log(_PHISHING))
    assert run.n_steps == 5 and run.meta.roles["eval_loss"] == "validation_loss"
    assert not warned(lrdoctor.diagnose(real_log(_PHISHING)))


def test_key_value_cells_with_a_number_in_every_cell_stay_key_value_pairs(tmp_path):
    """Twin: pytorch/examples' word-language-model lines ("| end of epoch 1 | time: 32.39s | valid
    loss 5.72 | valid ppl 304.40") are pairs, not a header; the same words as a header beside plain
    names are a header."""
    pairs = write_lines(tmp_path / "wlm.log", [
        f"| end of epoch {e:3d} | time: {30 + e:.2f}s | valid loss {v:5.2f} | valid ppl {np.exp(v):8.2f}"
        for e, v in enumerate([5.72, 5.41, 5.25, 5.16, 5.10], start=1)])
    run = lrdoctor.read(pairs)
    assert run.n_steps == 5 and np.allclose(run.series("eval_loss").values, [5.72, 5.41, 5.25, 5.16, 5.10])
    # a header whose every cell carries a number is no header either: all its cells would be parameters
    many = write_lines(tmp_path / "many.md", ["Precision At 0.5 | Recall At 0.5 | F1 At 0.5 |", "---|---|---|",
                                              "0.9 | 0.8 | 0.85 |", "0.91 | 0.82 | 0.86 |", "0.92 | 0.83 | 0.87 |"])
    try:
        got = lrdoctor.read(many)
    except lrdoctor.InputError:
        got = None
    assert got is None or got.n_steps < 3


def _cer_run(tmp_path, *, raise_lr: bool) -> tuple[str, list[float]]:
    """A digit recogniser (the 64-32-10 MLP, Adam at 0.01) evaluated every epoch for five epochs by
    its character error rate on the held-out digits: one character per image and no insertions or
    deletions, so the CER is the share of substitutions, in percent. With ``raise_lr`` the LR is set
    to 0.3 after the first evaluation (a restart far too large for the trained weights: CER 16.6% at
    the first evaluation, 48-57% after); the training
    loss and CER are written as the run logs them."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    lines, cers = ["step,loss,eval_cer"], []
    for epoch in range(1, 6):
        if raise_lr and epoch == 2:
            for g in opt.param_groups:
                g["lr"] = 0.3
        train, _ = fit_epoch(model, opt, x, y)
        with torch.no_grad():
            cer = 100.0 * float((model(x[1400:]).argmax(1) != y[1400:]).float().mean())
        cers.append(cer)
        lines.append(f"{28 * epoch},{train:.4f},{cer:.2f}")
    return write_lines(tmp_path / "cer.csv", lines), cers


def test_an_error_rate_that_doubled_from_its_first_evaluation_is_a_reversal(tmp_path):
    """The LR raised after a first evaluation at a learned CER: every later CER at least twice it."""
    path, cers = _cer_run(tmp_path, raise_lr=True)
    assert cers[0] < 20 and min(cers[1:]) >= 2 * cers[0]  # read from the run
    f = warned(lrdoctor.diagnose(path))["performance_reversal"]
    assert f.evidence["peak_step"] == 28 and f.evidence["rise_factor"] >= 2


def test_the_same_recogniser_at_its_lr_is_no_reversal(tmp_path):
    """Twin: the LR left alone, the CER falls after its first evaluation."""
    path, cers = _cer_run(tmp_path, raise_lr=False)
    assert cers[-1] < cers[0]
    assert "performance_reversal" not in warned(lrdoctor.diagnose(path))


def test_a_real_whisper_card_whose_first_wer_was_its_best_is_a_reversal():
    """Whisper-small on a custom set (chrisd108, read in place): WER 22.5 at step 1000, 98.0 at the
    three later evaluations."""
    f = warned(lrdoctor.diagnose(real_log("fresh1046/chrisd108-whisper-small-smith-and-brock/training_results.md")))[
        "performance_reversal"]
    assert f.evidence["peak"] == 22.549 and f.evidence["peak_step"] == 1000


def test_a_first_wer_of_exactly_an_empty_output_is_no_learned_best():
    """XLS-R on Chinese (read in place): WER 1.0 at the first two evaluations (blanks), then
    1.4-2.3 while both losses fall: no reversal."""
    report = lrdoctor.diagnose(real_log("fresh372/samitizerxu-xls-r-300m-zh-cn/training_results.md"))
    assert "performance_reversal" not in warned(report)


def _ascent_run(tmp_path, *, maximize: bool) -> tuple[str, list[tuple[float, float]]]:
    """The 64-32-10 MLP fitted for six epochs with Adam at 3e-3, then four epochs of SGD at 0.002,
    with ``maximize`` the sign error of a loss negated by mistake (the optimiser ascends). Each epoch's
    mean training loss and held-out loss (digits 1400 on) are written as a per-epoch CSV."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    lines, rows = ["epoch,loss,val_loss"], []
    for epoch in range(1, 11):
        if epoch == 7:
            opt = torch.optim.SGD(model.parameters(), lr=0.0035, maximize=maximize)
        train, _ = fit_epoch(model, opt, x, y)
        val = held_out_loss(model, x, y)
        rows.append((train, val))
        lines.append(f"{epoch},{train:.4f},{val:.4f}")
    return write_lines(tmp_path / "ascent.csv", lines), rows


def test_both_losses_rising_at_each_of_the_last_reports_is_divergence(tmp_path):
    """The optimiser ascends from epoch 7: the training loss rises at each of the last three epochs
    (0.295 -> 0.535) and the held-out loss with it (0.501 -> 0.939), each below twice its best: a
    divergence warning by the joint tail, which the training loss alone (three rises, not the tail
    rule's four) would not give."""
    path, rows = _ascent_run(tmp_path, maximize=True)
    train, val = [r[0] for r in rows], [r[1] for r in rows]
    assert all(b > a for a, b in zip(train[-4:], train[-3:])) and all(b > a for a, b in zip(val[-4:], val[-3:]))
    assert 1.05 * min(train) <= train[-1] < 2 * min(train) and 1.05 * min(val) <= val[-1] < 2 * min(val)
    f = warned(lrdoctor.diagnose(path))["divergence"]
    assert f.severity.value == "warning" and "both rose" in f.evidence["rule"]
    assert f.evidence["eval_final"] == round(val[-1], 4)


def test_the_same_run_descending_is_no_divergence(tmp_path):
    """Twin: the same switch to SGD at 0.0035 with the right sign: both losses keep falling."""
    path, rows = _ascent_run(tmp_path, maximize=False)
    assert rows[-1][0] < rows[5][0]
    assert "divergence" not in warned(lrdoctor.diagnose(path))


def test_a_training_loss_rising_alone_is_no_joint_climb(tmp_path):
    """Twin: the run's training losses beside held-out losses that fall at the end (a report the
    evaluation does not share) are judged by the single-series rules only."""
    _, rows = _ascent_run(tmp_path, maximize=True)
    lines = ["epoch,loss,val_loss"] + [f"{i},{t:.4f},{v:.4f}" for i, (t, v) in enumerate(rows, start=1)]
    lines[-1] = lines[-1].rsplit(",", 1)[0] + f",{min(r[1] for r in rows) * 0.99:.4f}"  # a last evaluation at a new best
    report = lrdoctor.diagnose(write_lines(tmp_path / "alone.csv", lines))
    assert not [f for f in report.findings if f.kind == "divergence" and "both rose" in f.evidence.get("rule", "")]


@pytest.mark.parametrize("rel", [
    "fresh1064/shoksmile-t5-base-v2/training_results.md",
    "fresh111/lightgbm-742-logloss-rising/train.log",
])
def test_real_logs_whose_two_losses_climb_together_are_divergence(rel):
    """A T5-base summariser (training 2.235 -> 2.438, validation 1.955 -> 2.141) and LightGBM issue
    742's four rounds (log loss 0.713 -> 0.771 on both sets), read in place."""
    f = warned(lrdoctor.diagnose(real_log(rel)))["divergence"]
    assert "both rose" in f.evidence["rule"]


_WHISPER_URDU = "fresh1228/pak-speech-processing-urdu-emotions-whisper-medium/training_results.md"


def test_a_rise_while_the_held_out_loss_halved_is_a_divergence_info():
    """Whisper-medium on Urdu speech emotions (read in place): training loss 0.0018, 0.51, 0.69,
    0.0006, 1.52 at five 120-step epochs, while the validation loss fell 2.01 -> 0.63 from the best
    training report's evaluation: a warning at stop 73, info since stop 77 (the weights' own
    evaluation refutes the divergence; tests/test_stop77_precision.py)."""
    f = warned(lrdoctor.diagnose(real_log(_WHISPER_URDU)), at_least=0)["divergence"]
    assert f.severity.value == "info" and "evaluation loss fell from 2.01" in f.summary


def test_the_same_rise_beside_a_held_out_loss_that_did_not_halve_stays_an_error(tmp_path):
    """Twins: the same card with its last validation loss just above half of 2.0096 (1.01), and a
    Mistral-7B LoRA whose evaluation at the best report (8.72, after a blow-up inside its logging
    window) fell only to 5.44 (read in place): errors."""
    lines = open(real_log(_WHISPER_URDU)).read().splitlines()
    lines[-1] = lines[-1].replace("0.6310", "1.0100")
    f = warned(lrdoctor.diagnose(write_lines(tmp_path / "README.md", lines)))["divergence"]
    assert f.severity.value == "error"
    mistral = "fresh1124/imdatta0-mistral-7b-v0.3-metamath-reverse/training_results.txt"
    assert warned(lrdoctor.diagnose(real_log(mistral)))["divergence"].severity.value == "error"
