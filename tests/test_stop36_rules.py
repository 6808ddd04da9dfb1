"""Rules from the stop-36 study of the benchmark (issue 9), each on a really trained run with a twin
or on a real log read in place:

- slow_progress: an accuracy that prints one single value at each of three evaluations of a log
  that starts at the start of training, a fraction of an evaluation set of 50+ examples, is a
  constant predictor (a network whose hidden ReLUs are all dead predicts the majority class);
- readers: a borderless HF results table whose metric is "Matthews Correlation" (or another name
  ending in correlation, coefficient, macro, micro or weighted);
- overfitting on 2 to 4 evaluations: a held-out loss that rose at every evaluation after its best,
  ended above its first evaluation and 10% above its best while the training loss fell (or, with
  no training loss logged, while the evaluation accuracy held).
"""

from __future__ import annotations

import torch
from trained_digits import digits_mlp, fit_epoch, held_out_loss, noisy_label_fit, warned, write_lines

import lrdoctor

torch.set_num_threads(1)


def _binary_run(dead: bool, epochs: int = 3) -> list[tuple[int, float, float, float]]:
    """(epoch, training loss, validation loss, validation accuracy) of a digits "0-2 vs the rest"
    classifier (70% of the held-out digits are "the rest"). ``dead``: the hidden layer's bias
    starts at -10 (an init bug), so no ReLU ever fires and only the output bias learns."""
    x, y, model = digits_mlp(0)
    y = (y < 3).long()
    model[2] = torch.nn.Linear(32, 2)
    if dead:
        with torch.no_grad():
            model[0].bias.fill_(-10.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rows = []
    for epoch in range(1, epochs + 1):
        train, _ = fit_epoch(model, opt, x, y)
        with torch.no_grad():
            acc = (model(x[1400:]).argmax(1) == y[1400:]).float().mean().item()
        rows.append((epoch, train, held_out_loss(model, x, y), acc))
    return rows


def _card(rows, steps_per_epoch: int = 28, first_epoch: int = 1) -> list[str]:
    """An HF Trainer model card's "Training results" table."""
    lines = ["| Training Loss | Epoch | Step | Validation Loss | Accuracy |",
             "|:-------------:|:-----:|:----:|:---------------:|:--------:|"]
    for k, (_, train, val, acc) in enumerate(rows):
        epoch = first_epoch + k
        lines.append(f"| {train:.4f} | {epoch:.1f} | {epoch * steps_per_epoch} | {val:.4f} | {acc:.4f} |")
    return lines


def test_an_accuracy_that_never_moves_from_the_start_is_a_constant_predictor(tmp_path):
    rows = _binary_run(dead=True)
    accs = {r[3] for r in rows}
    assert len(accs) == 1 and 0.6 < accs.pop() < 0.8  # the majority rate, at all three epochs
    assert rows[0][2] != rows[-1][2]  # while the validation loss moves (it is no frozen evaluation)
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", _card(rows)))
    f = warned(report, 2).get("slow_progress")
    assert f is not None and "every one of 3 evaluations" in f.summary, report.findings


def test_an_accuracy_that_moves_is_learning(tmp_path):
    rows = _binary_run(dead=False)
    assert len({r[3] for r in rows}) > 1
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", _card(rows)))
    assert "slow_progress" not in warned(report), report.findings


def test_three_equal_accuracies_deep_into_a_run_may_be_a_converged_model(tmp_path):
    # the same three evaluations printed as epochs 5-7 of an excerpt: a model can settle before
    # the window starts, so three prints alone do not prove it never moved
    rows = _binary_run(dead=True)
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", _card(rows, first_epoch=5)))
    assert "slow_progress" not in warned(report), report.findings


def _noisy_label_run(evaluate_at: tuple[int, ...], noise: float = 0.4, card: bool = False) -> list[str]:
    """A 64-256-10 MLP fitted with Adam on 300 digits of which ``noise`` carry a random label;
    "epoch,train_loss,val_loss" at the epochs ``evaluate_at`` (held-out loss on the clean digits
    1400 on). It learns the signal first, then memorises the noise: the held-out loss falls to
    ~1.03 by epoch 8, then climbs past 1.7 by epoch 60. ``card``: an HF results table of the same
    evaluations with their accuracy, whose training loss reads "No log" (a run shorter than its
    logging interval)."""
    x, y, _ = digits_mlp(0)
    lines = ["| Training Loss | Epoch | Step | Validation Loss | Accuracy |", "|:---:|:---:|:---:|:---:|:---:|"] if card \
        else ["epoch,train_loss,val_loss"]
    for epoch, train, model in noisy_label_fit(noise, max(evaluate_at)):
        if epoch in evaluate_at:
            with torch.no_grad():
                acc = (model(x[1400:]).argmax(1) == y[1400:]).float().mean().item()
            lines.append(f"| No log | {epoch}.0 | {epoch * 6} | {held_out_loss(model, x, y):.4f} | {acc:.4f} |" if card
                         else f"{epoch},{train:.4f},{held_out_loss(model, x, y):.4f}")
    return lines


def test_a_held_out_loss_that_ends_above_its_first_evaluation_overfits(tmp_path):
    lines = _noisy_label_run((3, 33, 63))
    val = [float(line.split(",")[2]) for line in lines[1:]]
    assert val[1] < val[0] < val[2]  # down to its best, then above where it started
    report = lrdoctor.diagnose(write_lines(tmp_path / "metrics.csv", lines))
    f = warned(report).get("overfitting")
    assert f is not None and f.evidence["eval_min_step"] == 33, report.findings


def test_a_rise_that_stays_below_the_first_evaluation_is_not_judged_on_three(tmp_path):
    # the same run printed at epochs 3, 13 and 38: its held-out loss turned up 10%+ from its best,
    # but three points cannot tell that from noise unless it undid all its progress
    lines = _noisy_label_run((3, 13, 38))
    val = [float(line.split(",")[2]) for line in lines[1:]]
    assert val[1] < val[2] < val[0] and val[2] > 1.1 * val[1]
    report = lrdoctor.diagnose(write_lines(tmp_path / "metrics.csv", lines))
    assert "overfitting" not in warned(report), report.findings


def test_a_clean_run_does_not_overfit(tmp_path):
    lines = _noisy_label_run((3, 33, 63), noise=0.0)
    report = lrdoctor.diagnose(write_lines(tmp_path / "metrics.csv", lines))
    assert "overfitting" not in warned(report), report.findings


def test_evaluations_alone_that_undo_their_progress_while_accuracy_holds_overfit(tmp_path):
    lines = _noisy_label_run((5, 20, 150), noise=0.2, card=True)
    val = [float(line.split("|")[4]) for line in lines[2:]]
    acc = [float(line.split("|")[5]) for line in lines[2:]]
    assert val[1] < val[0] < val[2] and acc[-1] >= 0.8 * max(acc)  # over-confident, not collapsed
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", lines))
    f = warned(report).get("overfitting")
    assert f is not None and "no training loss logged" in f.summary, report.findings


def test_evaluations_alone_below_their_first_are_not_judged_on_three(tmp_path):
    lines = _noisy_label_run((5, 20, 45), noise=0.2, card=True)
    val = [float(line.split("|")[4]) for line in lines[2:]]
    assert val[1] < val[2] < val[0] and val[2] > 1.1 * val[1]
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", lines))
    assert "overfitting" not in warned(report), report.findings


def test_a_borderless_card_table_whose_metric_is_matthews_correlation_is_read():
    # an HF results table copied from a rendered page with its borders lost: "Training Loss Epoch
    # Step Validation Loss Matthews Correlation" over rows of five numbers (GLUE CoLA's metric)
    from bench_logs import real_log

    from lrdoctor.io import read

    run = read(real_log("fresh236/hf-cola-hashemghanem-distilbert/training_results.md"))
    assert run.meta.roles.get("eval_accuracy") == "eval_matthews_correlation"
    assert run.series("eval_loss").values.size == run.series("eval_accuracy").values.size >= 4
