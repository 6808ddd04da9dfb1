"""Rules from the stop-35 study of the benchmark (issue 9), each on a really trained run or a real
log read in place, with a twin:

- loss_spike's last-report rule asks the jump to stand out of the earlier reports' scatter (the
  outlier test of its few-point rule): the per-batch loss of a fitted classifier spans orders of
  magnitude, and one hard batch at the end of an excerpt is no spike;
- divergence: a loss that climbs faster at each report after its best to twice the best and then
  turns NaN for good blew up (the NaN is where the climb went); a rise from a best with under four
  reports before it is weighed against the whole log's scatter; the final blow-up is measured from
  the lowest level the run held, not from one lone low report;
- slow_progress: a correlation score (Pearson, Spearman, MCC, kappa) that never reached 0.1,
  Cohen's "small" effect, over five or more evaluations;
- a score's reversal that peaked at or after an overfitting finding's evaluation-loss minimum is
  that overfitting's symptom, one finding; a run whose training loss never left chance does not
  overfit;
- readers: tables in tabulate's "simple" format (H2O's scoring history), read by position under
  their dashed rule; numbers set in markdown bold in a pasted log; "Acc@1" / "Prec@1" names
  (pytorch/examples' ImageNet script); a borderless HF results table whose metric name is
  several words ("Wer Score"); "wer_score" is an error rate; CatBoost's lone "learn" column;
- a log refused for want of a training metric says why a column named like one was set aside.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

import lrdoctor
from lrdoctor.io import read

torch.set_num_threads(1)


def _batch_losses(epochs: int, lr: float = 0.01) -> list[float]:
    """Per-batch cross-entropy (batch 10) over the last epoch of a digits MLP trained with Adam
    for ``epochs`` epochs: a fitted classifier's batch losses, from 1e-5 to ~0.5."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs - 1):
        fit_epoch(model, opt, x, y, batch=10)
    out: list[float] = []
    fit_epoch(model, opt, x, y, batch=10, losses=out)
    return out


def _imagenet_lines(losses: list[float], epoch: int, first: int, total: int = 140) -> list[str]:
    """pytorch/examples' ImageNet print: "Epoch: [e][i/n]\\tTime ..\\tLoss v (avg)"."""
    lines, seen = [], []
    for k, v in enumerate(losses):
        seen.append(v)
        lines.append(f"Epoch: [{epoch}][{first + k:4d}/{total}]\tTime 0.917 (0.937)\tData 0.484 (0.494)\t"
                     f"Loss {v:.4e} ({sum(seen) / len(seen):.4e})")
    return lines


def test_one_hard_batch_at_the_end_of_a_fitted_classifiers_excerpt_is_no_spike(tmp_path):
    losses = np.array(_batch_losses(25))
    # the first batch at least 3x each of the 8 before it: the excerpt a user pastes ends on it
    end = next(i for i in range(8, losses.size) if losses[i] >= 3 * losses[i - 8:i].max())
    window = losses[end - 8:end + 1]
    assert window[:-1].max() / window[:-1].min() > 20  # the earlier batches already span decades
    path = write_lines(tmp_path / "excerpt.txt", _imagenet_lines(list(window), 24, end - 8))
    report = lrdoctor.diagnose(path)
    # nor divergence: its lone low second batch (8.6e-05) is no best the later batches rose from
    assert "loss_spike" not in warned(report) and "divergence" not in warned(report), report.findings


def test_a_last_epoch_far_above_a_smooth_curve_is_still_said(tmp_path):
    x, y, model = digits_mlp(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rows = ["epoch,loss"]
    for epoch in range(1, 13):
        if epoch == 12:
            for g in opt.param_groups:
                g["lr"] = 3.0  # the LR a config typo sets for the last epoch
        mean, _ = fit_epoch(model, opt, x, y)
        if epoch > 4:  # the log of a run resumed from its epoch-4 checkpoint
            rows.append(f"{epoch},{mean:.5f}")
    values = [float(r.split(",")[1]) for r in rows[1:]]
    assert values[-1] >= 3 * max(values[:-1]) and values[-1] < 1000 * min(values)
    got = warned(lrdoctor.diagnose(write_lines(tmp_path / "epochs.csv", rows)))
    assert "loss_spike" in got and got["loss_spike"].evidence.get("last_report"), got


def test_a_climb_that_ends_in_nan_is_divergence():
    # ssd.pytorch issue 7, default parameters: 26.1, 15.2, 15.5, 17.6, 31.7, then nan for good
    report = lrdoctor.diagnose(real_log("fresh215/ssdpytorch-7-default-params-nan/paste.txt"))
    got = warned(report, 2)
    assert "divergence" in got and "non-finite" in got["divergence"].evidence["rule"], report.findings
    assert "nonfinite" in got


def test_a_nan_with_no_climb_before_it_is_not_divergence():
    # ssd.pytorch issue 408: 11728.9 at iteration 0, then nan at every report
    got = warned(lrdoctor.diagnose(real_log("fresh215/ssdpytorch-408-initial-11728-nan/paste.txt")))
    assert "nonfinite" in got and "divergence" not in got, got


def test_a_trained_run_hit_by_a_nan_batch_is_not_divergence(tmp_path):
    x, y, model = digits_mlp(1)
    x = x.clone()
    x[1000:1010, 5] = float("nan")  # a corrupt batch: every update after it is nan
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rows = ["step,loss"]
    for step in range(0, 140):
        i = (step * 10) % 1400
        loss = torch.nn.functional.cross_entropy(model(x[i:i + 10]), y[i:i + 10])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 5 == 0:
            rows.append(f"{step},{loss.item():.5f}")
    assert rows[-1].endswith("nan")
    got = warned(lrdoctor.diagnose(write_lines(tmp_path / "run.csv", rows)))
    assert "nonfinite" in got and "divergence" not in got, got


def test_a_last_report_far_above_one_lone_low_report_is_no_blow_up():
    # a continual-learning run's five tasks: 6.23e-05 after the first, then 0.0373, 0.0161, 0.00592,
    # 0.0707 (1100x the first report, 12x the lowest level the run held)
    report = lrdoctor.diagnose(real_log("fresh176/gmvandeven-cl-nb-splitmnist-si/example_comparison.output.txt"))
    assert "divergence" not in warned(report), report.findings


def test_ends_non_finite_needs_a_nan_that_never_clears():
    from lrdoctor.detect.divergence import ends_non_finite

    nan = float("nan")
    assert ends_non_finite(np.array([1.0, 2.0, nan, nan]))
    assert not ends_non_finite(np.array([1.0, nan, 2.0, nan, 3.0]))
    assert not ends_non_finite(np.array([nan, nan]))
    assert not ends_non_finite(np.array([1.0, 2.0]))


def _ruled_table(rows: list[list[str]], names: list[str]) -> list[str]:
    """``rows`` under ``names`` in tabulate's "simple" format: columns two blanks apart, each
    underlined by dashes as wide as its widest cell, an empty first column as H2O prints."""
    widths = [max(len(n), *(len(r[i]) for r in rows)) for i, n in enumerate(names)]
    line = lambda cells: "    " + "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return [line(names), "--  " + "  ".join("-" * w for w in widths)] + [line(r) for r in rows]


def test_a_tabulate_table_of_a_trained_run_is_read_by_position(tmp_path):
    x, y, model = digits_mlp(2)
    opt = torch.optim.Adam(model.parameters(), lr=0.003)
    rows, losses = [], []
    for epoch in range(1, 7):
        for i in range(0, 1400, 50):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
            opt.zero_grad()
            loss.backward()
            opt.step()
        losses.append(loss.item())
        rows.append([f"2024-05-0{epoch} 10:00:0{epoch}", f"{epoch * 1.5:.3f} sec", f"{epoch * 28} obs/sec",
                     str(epoch), f"{loss.item():.6f}", f"{held_out_loss(model, x, y):.6f}"])
    lines = _ruled_table(rows, ["timestamp", "duration", "training_speed", "epochs", "training_logloss",
                                "validation_logloss"])
    run = read(write_lines(tmp_path / "scoring_history.txt", ["Scoring History:", ""] + lines))
    assert run.meta.roles["loss"] == "training_logloss" and run.meta.roles["eval_loss"] == "validation_logloss"
    np.testing.assert_allclose(run.series("loss").values, losses, rtol=1e-5)
    np.testing.assert_allclose(run.series("epoch").values, np.arange(1, 7))


def test_h2o_scoring_history_drops_its_placeholder_row_and_reads_past_an_elision():
    # H2O Deep Water LeNet on MNIST: a first row at 0 epochs with every metric nan, then a "---" rule
    # where H2O leaves rows out, then the last five scorings
    run = read(real_log("fresh220/h2o3-demo-deepwater-lenet-mnist/scoring_history.txt"))
    loss = run.series("loss").values
    assert loss.size == 9 and np.isfinite(loss).all()  # 4 scorings, the elision, 5 more
    assert loss[0] == 1.14414733331 and loss[-1] == 0.0182603796823
    report = lrdoctor.diagnose(run)
    assert "nonfinite" not in warned(report, 0)
    # the older H2O layout: names with blanks ("Training MSE"), blank cells, an error rate of 1 at 0 samples
    old = read(real_log("fresh220/h2o3-demo-deeplearning-hadoop-mnist/scoring_history.txt"))
    assert list(old.series("loss").values) == [0.0889725, 0.0489786]


def test_numbers_in_markdown_bold_are_read(tmp_path):
    losses = _batch_losses(2)[::10]
    lines = [f"INFO:tensorflow:global step {k}: loss = **{v:.4f}** (0.93 sec/step)" for k, v in enumerate(losses, 1)]
    run = read(write_lines(tmp_path / "paste.txt", lines))
    np.testing.assert_allclose(run.series("loss").values, np.round(losses, 4))


def test_a_loss_that_counts_like_a_step_is_refused_with_its_reason():
    # Magenta's NSynth WaveNet, issue 607: "loss = **2510.0000**" at global step 2511, then 2511, 2512, ...
    path = real_log("fresh217/magenta-607-nsynth-wavenet-loss-equals-step/paste.txt")
    out = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(path)], capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    line = out.stderr.strip()
    assert len(line.splitlines()) == 1 and "counts up by exactly 1" in line and "'loss'" in line, line


def test_top_k_accuracy_names_with_an_at_sign_are_read(tmp_path):
    x, y, model = digits_mlp(3)
    shares: list[float] = []
    fit_epoch(model, torch.optim.SGD(model.parameters(), lr=0.1), x, y, accuracies=shares)
    accs = [round(100.0 * a, 3) for a in shares]
    # (a time that grows at every line, so no two lines print the same record)
    lines = [f"Epoch-(1): [{k}/28]\tTime {0.1 + 0.01 * k:.3f} (0.144)\tAcc@1 {a:.3f} ({np.mean(accs[:k]):.3f})"
             for k, a in enumerate(accs, 1)]
    run = read(write_lines(tmp_path / "train.log", lines))
    assert run.meta.roles.get("task_metric") == "acc@1"
    np.testing.assert_allclose(run.series("task_metric").values, accs)
    # the older spelling, beside a loss (pytorch/examples issue 377)
    old = read(real_log("fresh214/pytorch-examples-377-imagenet-resnet50-epoch52/paste.txt"))
    assert list(old.metrics["prec@1"])[:2] == [100.0, 100.0]


def _digits_regression(seed: int, shuffled: bool, epochs: int = 8) -> list[tuple[int, float, float, float]]:
    """(epoch, training MSE, held-out MSE, held-out Pearson r) of a small MLP regressing the digit's
    value (0-9) from its pixels; with ``shuffled`` the training targets are permuted (nothing to learn)."""
    x, y, _ = digits_mlp(seed)
    target = y.float()
    train_t = target[:1400][torch.randperm(1400, generator=torch.Generator().manual_seed(seed))] if shuffled else target[:1400]
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.003)
    rows = []
    for epoch in range(1, epochs + 1):
        total = 0.0
        for i in range(0, 1400, 50):
            loss = torch.nn.functional.mse_loss(model(x[i:i + 50]).squeeze(1), train_t[i:i + 50])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        with torch.no_grad():
            pred = model(x[1400:]).squeeze(1)
        held = torch.nn.functional.mse_loss(pred, target[1400:]).item()
        r = float(np.corrcoef(pred.numpy(), target[1400:].numpy())[0, 1])
        rows.append((epoch, total / 28, held, r))
    return rows


def _hf_table(rows: list[tuple[int, float, float, float]], metric: str) -> list[str]:
    """HF Trainer's results table as a rendered model page shows it with its borders lost."""
    return [f"Training Loss Epoch Step Validation Loss {metric}"] + [
        f"{t:.4f} {e:.1f} {28 * e} {v:.4f} {r:.4f}" for e, t, v, r in rows]


def test_a_correlation_that_never_reaches_a_tenth_is_no_learning(tmp_path):
    rows = _digits_regression(0, shuffled=True)
    assert max(r for *_, r in rows) < 0.1  # permuted targets: the predictions carry nothing
    got = warned(lrdoctor.diagnose(write_lines(tmp_path / "card.txt", _hf_table(rows, "Pearson"))), 2)
    assert "slow_progress" in got and "negligible" in got["slow_progress"].evidence["rule"], got


def test_a_correlation_that_rises_past_a_tenth_is_learning(tmp_path):
    rows = _digits_regression(0, shuffled=False)
    assert max(r for *_, r in rows) > 0.5
    got = warned(lrdoctor.diagnose(write_lines(tmp_path / "card.txt", _hf_table(rows, "Pearson"))))
    assert "slow_progress" not in got, got


def test_a_metric_named_in_several_words_joins_up_under_a_borderless_header(tmp_path):
    rows = _digits_regression(1, shuffled=False, epochs=5)
    run = read(write_lines(tmp_path / "card.txt", _hf_table(rows, "Pearson Score")))
    np.testing.assert_allclose(run.series("eval_loss").values, [round(v, 4) for _, _, v, _ in rows])
    assert "eval_pearson_score" in run.metrics
    # GIT fine-tuned on Pokemon captions: "Training Loss Epoch Step Validation Loss Wer Score" over
    # rows of five numbers; the validation loss turns up from 0.0292 while the training loss falls
    report = lrdoctor.diagnose(real_log("fresh223/hfcard-rharris117-git-base-pokemon-7695d97/training_results.md"))
    assert "overfitting" in warned(report)


def test_an_error_rate_named_as_a_score_is_an_error_rate():
    from lrdoctor.detect._common import is_error_rate

    assert is_error_rate("eval_wer_score") and is_error_rate("wer") and not is_error_rate("eval_f1_score")


def test_a_scores_fall_while_the_model_overfits_is_one_finding():
    # a regression fine-tune's card: validation loss 0.7397 (epoch 2) -> 0.7954 while the training
    # loss fell 0.668 -> 0.2532, its accuracy 0.4689 -> 0.4459 over the same epochs
    got = warned(lrdoctor.diagnose(real_log("fresh225/hfcard-dminiotas05-distilbert-ft1500-reg3/training_results.txt")))
    assert "overfitting" in got and "performance_reversal" not in got, got


def test_a_reversal_without_overfitting_is_kept():
    from lrdoctor.detect import filter_findings
    from lrdoctor.finding import Finding, Severity

    rev = Finding("performance_reversal", Severity.WARNING, 4.0, 8.0, "s", {"peak_step": 4.0}, "c")
    early = Finding("overfitting", Severity.WARNING, 6.0, 8.0, "s", {"eval_min_step": 6.0}, "c")
    late = Finding("overfitting", Severity.WARNING, 2.0, 8.0, "s", {"eval_min_step": 2.0}, "c")
    assert filter_findings([rev]) == [rev]
    assert filter_findings([rev, early]) == [rev, early]  # the score fell before the model began to overfit
    assert filter_findings([rev, late]) == [late]


def test_a_run_that_never_left_chance_does_not_overfit():
    # wav2vec2 on MInDS-14's 14 intents: training loss 2.634 -> 2.612, validation 2.636 -> 2.654
    # (ln 14 = 2.639), accuracy 0.04-0.10: stuck at chance, and its held-out loss drifts by 0.6%
    path = real_log("fresh230/hf-w2v2-taurine511-minds14-chance/training_results.md")
    got = warned(lrdoctor.diagnose(path, config={"num_classes": 14}))
    assert got["slow_progress"].evidence["ln_k"] > 2.6 and "overfitting" not in got, got


def test_a_run_that_memorises_beside_a_frozen_score_still_overfits():
    # Keras issue 13908: val_accuracy exactly 0.5676 at all 8 epochs while val_loss rose 2.73 -> 6.6 and
    # the training loss fell 0.51 -> 0.20: the training set is learned, the held-out score frozen
    got = warned(lrdoctor.diagnose(real_log("fresh8/keras-keras-issue13908-val-frozen/issue13908.log")))
    assert {"slow_progress", "overfitting"} <= set(got), got


def test_catboost_learn_alone_is_the_training_loss():
    # CatBoost without an eval set prints "0:\tlearn: 0.6770174\ttotal: 184ms\tremaining: 36.7s"
    run = read(real_log("fresh16/catboost-issue828-learn/issue828.log"))
    assert run.meta.roles["loss"] == "learn_loss"
    assert list(run.series("loss").values[:3]) == [0.6770174, 0.6613447, 0.6461182]
    # with an eval set, "learn" and "test" name the two splits' losses, as before
    both = read(real_log("fresh16/catboost-issue541-tutorial/issue541.log"))
    assert both.meta.roles["loss"] == "learn_loss" and both.meta.roles["eval_loss"] == "test_loss"
