"""Rules from the stop-39 study of the benchmark (issue 9), each on a really trained run or a real
log read in place, with a twin:

- readers: PaddlePaddle's v2 event lines ("Pass 0, Batch 100, Cost 2.30, {...}") are read with the
  pass as the epoch; a pandas frame printed with its index (``DataFrame.to_string``) is read by
  its header;
- roles: the training column named as the evaluation loss less its split word is the loss
  ("SmoothL1Loss" beside "SmoothL1Loss_val"), before a regression error (MAE) is taken for it;
- slow_progress: a "reg" loss term at exactly 0 beside no classification term is a switched-off
  regulariser, not a detector's box term that matched nothing; per-batch accuracies that scatter
  by their binomial noise around 1/K do not "climb" (a level, not a range);
- performance_reversal: a fall of an accuracy within 3 binomial standard errors of its peak, on
  an evaluation set whose size shows in its printed values, is sampling noise.
"""

from __future__ import annotations

import numpy as np
import torch
from trained_digits import digits_mlp, fit_epoch, warned, write_lines

import lrdoctor

torch.set_num_threads(1)


def test_a_paddle_v2_log_stuck_at_ln_10_is_chance():
    # PaddlePaddle's MNIST CNN in Baidu's course: Cost 2.29-2.32 for ten passes, test error 0.89
    from bench_logs import real_log

    run = lrdoctor.read(real_log("fresh301/baidu-optimization-mnist-cnn-stuck/train_output.txt"))
    assert run.meta.roles["loss"] == "cost" and run.meta.roles["eval_loss"] == "test_cost"
    assert run.series("loss").values[:2].tolist() == [3.024604, 2.308956]
    assert (np.diff(run.steps) > 0).all()  # the batch counter restarts with each pass: pass + batch
    f = warned(lrdoctor.diagnose(run), 2).get("slow_progress")
    assert f is not None and f.evidence["num_classes"] == 10, f


def _paddle_lines(epochs: int = 3) -> tuple[list[str], list[float]]:
    """A digits MLP trained for real, printed as Paddle's v2 event handler prints (the batch's cost
    and its classification error every 5 batches, a test line after each pass)."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    lines, printed = [], []
    for p in range(epochs):
        losses, accs = [], []
        fit_epoch(model, opt, x, y, losses=losses, accuracies=accs)
        for b in range(0, len(losses), 5):
            lines.append(f"Pass {p}, Batch {b}, Cost {losses[b]:.6f}, {{'classification_error_evaluator': {1 - accs[b]!r}}}")
            printed.append(round(losses[b], 6))
        with torch.no_grad():
            logits = model(x[1400:])
            test = torch.nn.functional.cross_entropy(logits, y[1400:]).item()
            err = 1 - (logits.argmax(1) == y[1400:]).float().mean().item()
        lines += ["", f"Test with Pass {p}, Cost {test:.6f}, {{'classification_error_evaluator': {err!r}}}", ""]
    return lines, printed


def test_paddle_v2_lines_of_a_learning_model_are_read_and_not_stuck(tmp_path):
    lines, printed = _paddle_lines()
    run = lrdoctor.read(write_lines(tmp_path / "train.log", lines))
    assert run.series("loss").values.tolist() == printed
    assert run.series("eval_loss").finite().values.size == 3 and (np.diff(run.steps) > 0).all()
    assert "slow_progress" not in warned(lrdoctor.diagnose(run))


def _history(epochs: int = 8) -> dict[str, list[float]]:
    x, y, model = digits_mlp(1)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    hist: dict[str, list[float]] = {"loss": [], "val_loss": []}
    for _ in range(epochs):
        hist["loss"].append(fit_epoch(model, opt, x, y)[0])
        with torch.no_grad():
            hist["val_loss"].append(torch.nn.functional.cross_entropy(model(x[1400:]), y[1400:]).item())
    return hist


def test_a_pandas_frame_printed_with_its_index_is_read(tmp_path):
    import pandas as pd

    hist = _history()
    frame = pd.DataFrame(hist)
    plain = lrdoctor.read(write_lines(tmp_path / "a.txt", frame.to_string().splitlines()))
    assert np.allclose(plain.series("loss").values, hist["loss"], atol=1e-6)
    assert np.allclose(plain.series("eval_loss").values, hist["val_loss"], atol=1e-6)
    named = frame.rename_axis("epoch")  # a named index prints its name alone under the header
    run = lrdoctor.read(write_lines(tmp_path / "b.txt", named.to_string().splitlines()))
    assert run.series("epoch").values.tolist() == list(range(8)) and run.meta.step_unit == "epoch"
    # a frame too long to show whole: "..." for the hidden rows, and the shape under it
    cut = lrdoctor.read(write_lines(tmp_path / "c.txt", frame.to_string(max_rows=4).splitlines()
                                    + ["", "[8 rows x 2 columns]"]))
    assert np.allclose(cut.series("loss").values, [hist["loss"][i] for i in (0, 1, 6, 7)], atol=1e-6)


def test_neuralprophet_metrics_frame_names_its_loss_by_the_evaluated_one():
    # NeuralProphet's fit() frame: SmoothL1Loss, MAE, RegLoss, SmoothL1Loss_val, MAE_val; the
    # training loss blew up 57x over epochs 5-15 and came back
    from bench_logs import real_log

    run = lrdoctor.read(real_log("fresh299/np-untitled-ar100-validate/Untitled_cell3_metrics.txt"))
    assert run.meta.roles["loss"] == "SmoothL1Loss" and run.meta.roles["eval_loss"] == "SmoothL1Loss_val"
    assert {"oscillation", "loss_spike"} & set(warned(lrdoctor.diagnose(run)))


def test_a_regulariser_at_zero_is_no_box_term_that_matched_nothing():
    # NeuralProphet with regularisation off prints RegLoss 0.0 at every epoch beside a falling
    # SmoothL1Loss: no detector, nothing to match (the other side, YOLO's box_loss at 0 beside its
    # cls_loss, is test_stop22_rules.test_real_zero_box_losses_mean_no_box_was_matched)
    from bench_logs import real_log

    report = lrdoctor.diagnose(real_log("fresh299/np-demo-auto-regression-ar1/demo_auto_regression_cell3_metrics.txt"))
    assert "slow_progress" not in warned(report), report.findings


def test_the_evaluation_set_size_shows_in_printed_accuracies():
    from lrdoctor.detect._stats import evaluation_set_size

    assert evaluation_set_size(np.array([0.7232, 0.7321, 0.7857, 0.7679, 0.5982]), 4) == 112
    assert evaluation_set_size(np.array([0.81234, 0.8345, 0.8511, 0.87021]), 5) is None  # off any lattice
    assert evaluation_set_size(np.array([0.75, 0.5]), 4) is None  # too few values to tell


def test_a_one_graph_fall_on_a_small_evaluation_set_is_no_reversal():
    # StellarGraph's DGCNN on PROTEINS' 112 test graphs: val_acc 0.7857 at epoch 57, 0.7679 at the end
    from bench_logs import real_log

    report = lrdoctor.diagnose(real_log("fresh300/stellargraph-dgcnn-proteins-keras/training_output.txt"))
    assert "performance_reversal" not in warned(report), report.findings


def test_a_real_fall_on_the_same_size_of_evaluation_set_is_a_reversal(tmp_path):
    # a digits MLP evaluated on 112 held-out digits, then fine-tuned on shifted labels: its
    # accuracy on the original task falls 0.94 -> 0.51, far beyond 3 binomial SEs (0.07)
    x, y, model = digits_mlp(0)
    held = slice(1400, 1512)

    def acc() -> float:
        with torch.no_grad():
            return (model(x[held]).argmax(1) == y[held]).float().mean().item()

    rows = []
    for lr, labels in ((0.5, y), (0.02, (y + 1) % 10)):
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        for _ in range(10):
            fit_epoch(model, opt, x, labels)
            rows.append(acc())
    assert max(rows) - rows[-1] > 0.3
    lines = ["epoch,val_accuracy"] + [f"{i + 1},{a:.4f}" for i, a in enumerate(rows)]
    report = lrdoctor.diagnose(write_lines(tmp_path / "history.csv", lines))
    assert "performance_reversal" in warned(report), report.findings
