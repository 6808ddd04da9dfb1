"""Rules from the stop-42 study of the benchmark (issue 9), each on a really trained run or a real
log read in place, with a twin:

- slow_progress: a training loss that prints the same value at its last reports is no frozen model
  when the evaluation score moves over the same reports: an HF Trainer table repeats the last
  logged training loss on every evaluation row until ``logging_steps`` comes round again;
- readers: llm.c's stdout line ("step 61/74 | loss 3.208939 (+nanz)| norm 1.4800 (+nanz)| lr ...")
  with the z-score after each figure.
"""

from __future__ import annotations

import pytest
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, noisy_label_evaluations, warned, write_lines

import lrdoctor

torch.set_num_threads(1)


def _hf_table(lr: float, epochs: int = 7, logging_steps: int = 100, batch: int = 50) -> list[str]:
    """The digits MLP trained for real with SGD at ``lr``, printed as an HF Trainer "Training
    results" table: one row per epoch (28 optimizer steps) with the held-out accuracy (an evaluation
    that computes its metric only, so no held-out loss moves to say the model changed), and the
    training loss as the Trainer shows it, the mean since the previous log, logged every
    ``logging_steps`` steps ("No log" before the first), so rows between two logs repeat it."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines = ["| Training Loss | Epoch | Step | Validation Accuracy |", "|:-------------:|:-----:|:----:|:-------------------:|"]
    step, window, shown = 0, [], "No log"
    for epoch in range(1, epochs + 1):
        for i in range(0, 1400, batch):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + batch]), y[i:i + batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            window.append(loss.item())
            if step % logging_steps == 0:
                shown, window = f"{sum(window) / len(window):.4f}", []
        with torch.no_grad():
            acc = (model(x[1400:]).argmax(1) == y[1400:]).float().mean().item()
        lines.append(f"| {shown} | {float(epoch)} | {step} | {acc:.4f} |")
    return lines


def test_a_stale_training_loss_beside_a_moving_evaluation_is_not_frozen(tmp_path):
    lines = _hf_table(lr=0.05)
    # the table really repeats its training loss over the last four rows (logged at step 100 only)
    assert len({line.split("|")[1] for line in lines[-4:]}) == 1
    assert len({line.split("|")[4] for line in lines[-4:]}) > 1  # while the accuracy moves
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", lines))
    assert "slow_progress" not in warned(report)


def test_a_frozen_model_with_a_frozen_evaluation_is_still_caught(tmp_path):
    lines = _hf_table(lr=0.0)  # no update: the evaluation prints the same figures every epoch
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", lines))
    assert warned(report, 2)["slow_progress"].evidence["value"] > 0


def test_the_stale_hf_card_of_the_benchmark_is_not_called_frozen():
    # opus-mt es-it: "Training Loss" 1.3581 on epochs 3-5 (one log at step 500), SacreBLEU 33.44 -> 33.67
    path = real_log("fresh365/frtna-opus-mt-es-it-ted/training_results.md")
    assert "slow_progress" not in warned(lrdoctor.diagnose(path))


def test_llmc_stdout_lines_with_z_scores_are_read(tmp_path):
    run = lrdoctor.read(real_log("fresh357/llmc-issue796-tinyshakespeare-tail/train.log"))
    assert run.meta.roles["loss"] == "loss" and run.meta.roles["grad_norm"] == "grad_norm"
    assert run.n_steps == 11 and run.series("loss").values[0] == 3.208939
    # once the trainer has history, the z-score is a signed number
    lines = [f"step {i:4d}/100 | loss {4.0 - 0.01 * i:.6f} ({0.1 * i:+.2f}z)| norm {1.0 + 0.01 * i:.4f} (-0.{i % 10}0z)| "
             "lr 3.00e-04 | 44.57 ms | 38.1% bf16 MFU | 91886 tok/s" for i in range(1, 31)]
    run = lrdoctor.read(write_lines(tmp_path / "main.log", lines))
    assert run.n_steps == 30 and abs(run.series("grad_norm").values[-1] - 1.30) < 1e-9
    assert abs(run.series("loss").values[-1] - 3.70) < 1e-9 and run.series("lr").values[0] == 3e-4


def test_a_wer_just_above_one_while_the_loss_fell_is_a_model_that_recognises_nothing():
    # XLS-R on Common Voice hi: WER 0.9999, 1.0002, 1.0222 ... 1.0152 at all 14 evaluations (never
    # exactly 1.0) while the training loss fell 5.18 -> 0.88: read as a fraction, stray tokens
    got = warned(lrdoctor.diagnose(real_log("fresh364/shivam-xlsr-hindi-cv7-wer-stuck/training_results.md")), 2)
    assert got["slow_progress"].evidence["metric"] == "eval_wer"
    # its healthy twin from the same slice: the WER falls from its first evaluation
    healthy = lrdoctor.diagnose(real_log("fresh364/vitouphy-xlsr300m-english-librispeech/training_results.md"))
    assert "slow_progress" not in warned(healthy)


def test_a_percentage_wer_above_the_fraction_band_is_not_read_as_a_fraction(tmp_path):
    # the same shape on a percentage scale (1.3% .. 1.5%, a model near its ceiling) is no stuck model
    rows = ["| Training Loss | Epoch | Step | Validation Loss | Wer |", "|---|---|---|---|---|"]
    for i, (loss, wer) in enumerate([(0.9, 1.31), (0.6, 1.42), (0.42, 1.35), (0.35, 1.48), (0.3, 1.39)]):
        rows.append(f"| {loss} | {i + 1}.0 | {100 * (i + 1)} | {loss + 0.1:.2f} | {wer} |")
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", rows))
    assert "slow_progress" not in warned(report)
    # within the band, but only the training loss halved: a model near 1% errors that keeps fitting
    # its training set, its validation loss flat
    rows = ["| Training Loss | Epoch | Step | Validation Loss | Wer |", "|---|---|---|---|---|"]
    for i, (loss, wer) in enumerate([(0.2, 1.01), (0.14, 1.06), (0.11, 0.99), (0.09, 1.04), (0.08, 1.02)]):
        rows.append(f"| {loss} | {i + 1}.0 | {100 * (i + 1)} | {0.05 + 0.001 * i:.3f} | {wer} |")
    report = lrdoctor.diagnose(write_lines(tmp_path / "fitting.md", rows))
    assert "slow_progress" not in warned(report)


def _one_bad_step_run(bad_lr: float | None) -> list[str]:
    """The digits MLP trained for real with SGD at lr 0.1 for 12 epochs; after epoch 6's last batch,
    one extra step at ``bad_lr`` (an LR schedule's glitch) knocks the weights off, and the next
    epoch's updates bring them back. Printed as Keras' history CSV (epoch-mean training loss, held-out loss)."""
    from trained_digits import fit_epoch, held_out_loss

    x, y, model = digits_mlp(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rows = ["epoch,loss,val_loss"]
    for epoch in range(1, 13):
        mean, _ = fit_epoch(model, opt, x, y)
        if epoch == 6 and bad_lr is not None:
            opt.param_groups[0]["lr"] = bad_lr
            loss = torch.nn.functional.cross_entropy(model(x[:50]), y[:50])
            opt.zero_grad()
            loss.backward()
            opt.step()
            opt.param_groups[0]["lr"] = 0.1
        rows.append(f"{epoch},{mean:.4f},{held_out_loss(model, x, y):.4f}")
    return rows


def test_an_evaluation_loss_spike_the_training_loss_averaged_away_is_a_spike(tmp_path):
    rows = _one_bad_step_run(3.0)
    val = [float(r.split(",")[2]) for r in rows[1:]]
    train = [float(r.split(",")[1]) for r in rows[1:]]
    assert val[5] > 3 * max(val[4], val[6])  # the held-out loss at epoch 6 really jumped and came back
    assert max(train) == train[0] and train[6] < 1.5 * train[5]  # while the epoch means show no spike
    spike = warned(lrdoctor.diagnose(write_lines(tmp_path / "history.csv", rows)))["loss_spike"]
    assert spike.evidence["metric"] == "val_loss" and spike.end_step == 6
    # the same run without the bad step: no spike
    assert "loss_spike" not in warned(lrdoctor.diagnose(write_lines(tmp_path / "twin.csv", _one_bad_step_run(None))))
    # a Trainer table whose training loss was never logged ("No log"): the evaluations alone show it
    table = ["| Training Loss | Epoch | Step | Validation Loss |", "|:---:|:---:|:---:|:---:|"]
    table += [f"| No log | {float(e)} | {28 * e} | {v} |" for e, v in enumerate(val, start=1)]
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", table))
    assert "loss" not in report.run.meta.roles and warned(report)["loss_spike"].end_step == 6 * 28


def test_the_evaluation_spike_of_a_real_keras_run_is_found():
    # California housing at lr 0.05 (Hands-on ML, ch. 10): val_loss 0.39, 7.55, 1.16, 0.45 at epochs 2-5
    got = warned(lrdoctor.diagnose(real_log("fresh308/hml2-ch10-housing-tensorboard-lr0.05/10_neural_nets_with_keras.ipynb.cell90.txt")))
    assert got["loss_spike"].end_step == 3
    healthy = real_log("fresh308/hml2-ch10-housing-sequential-sgd/10_neural_nets_with_keras.ipynb.cell49.txt")
    assert "loss_spike" not in warned(lrdoctor.diagnose(healthy))



def test_a_trainer_results_table_is_its_whole_run():
    # BERT NER on a 50-article split: entity F1 0.0, 0.0005, 0.0010 at the three evaluations of the
    # card's table, with no hyperparameter list kept; the Trainer wrote the table at the end of the
    # run from its whole history, so three evaluations are the delivered model's, not a start
    card = real_log("fresh154/hfcard-dooglak-taggeduni50v2-ner/DOOGLAK_Tagged_Uni_50v2_NER_Model_3Epochs_AUGMENTED_README.md")
    f = warned(lrdoctor.diagnose(card))["slow_progress"]
    assert f.evidence["metric"] == "eval_f1" and f.evidence["points"] == 3
    # a warning since stop 66: on three evaluations, beside a validation loss still falling at its
    # lowest (0.7399 -> 0.6545 -> 0.6159), the floor cannot prove the run broken (``still_falling``)
    assert f.severity.rank == 1 and f.evidence["loss_still_falling"] == "validation_loss"
    # the twin: a NER card of the same kind whose F1 rose (0.92 -> 0.93)
    healthy = lrdoctor.diagnose(real_log("fresh366/hfcard-seishin-distilbert-ner/training_results.md"))
    assert "slow_progress" not in warned(healthy)


def _relabelled_trainer_table(f1_name: str) -> tuple[list[list[str]], list[str]]:
    """The digits MLP with its 9s relabelled as 8s (stop 41), three epochs, as CSV rows and as the
    Trainer's results table whose last column, named ``f1_name``, is the F1 of the 9s."""
    from test_stop41_rules import _nine_relabelled_run

    rows = [r.split(",") for r in _nine_relabelled_run(epochs=3)[1:]]
    table = [f"| Training Loss | Epoch | Step | Validation Loss | Accuracy | {f1_name} |", "|---|---|---|---|---|---|"]
    table += [f"| {r[1]} | {float(r[0]):.1f} | {28 * int(r[0])} | {r[2]} | {r[3]} | {r[4]} |" for r in rows]
    return rows, table


def test_a_trained_run_printed_as_a_trainer_table_is_judged_at_its_end(tmp_path):
    # the F1 (of the 9s) is 0 at all three evaluations of the run the table holds
    rows, table = _relabelled_trainer_table("F1")
    f = warned(lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", table)))["slow_progress"]
    assert f.evidence["rule"].startswith("F-score below")
    assert "loss_still_falling" in f.evidence  # (a warning since stop 66: the validation loss still falls)
    # the same three evaluations as a plain CSV say nothing of the run's end: no finding (stop 41)
    csv = ["epoch,loss,eval_loss,eval_accuracy,eval_f1_9"] + [",".join(r) for r in rows]
    assert "slow_progress" not in warned(lrdoctor.diagnose(write_lines(tmp_path / "start.csv", csv)), 0)


def _least_squares_fit(lr: float) -> list[str]:
    """A 3-feature linear regression on 300 digits (the label as its target), fitted for real by
    full-batch Adam at ``lr`` for 1500 iterations, printed as Pyro's SVI loop prints: the summed
    squared error every 50 iterations with 4 decimals."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data[:300, [20, 21, 42]] / 16.0, dtype=torch.float64)  # (float64: the optimum prints alike on any CPU)
    y = torch.tensor(d.target[:300], dtype=torch.float64)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1).double()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    lines = []
    for it in range(1, 1501):
        loss = ((model(x).squeeze(1) - y) ** 2).sum() / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        if it % 50 == 0:
            lines.append(f"[iteration {it:04d}] loss: {loss.item():.4f}")
    return lines


def test_a_convex_fit_that_reached_its_optimum_is_not_frozen(tmp_path):
    lines = _least_squares_fit(0.05)
    values = [float(line.rsplit(" ", 1)[1]) for line in lines]
    # it creeps down at the 4th decimal, then prints its optimum exactly for the last reports
    assert values[-1] == values[-2] == values[-3] and values[0] > values[-1] + 100
    assert "slow_progress" not in warned(lrdoctor.diagnose(write_lines(tmp_path / "svi.log", lines)))
    # the same loop at lr 0: the weights never move, and that is frozen
    dead = warned(lrdoctor.diagnose(write_lines(tmp_path / "dead.log", _least_squares_fit(0.0))), 2)
    assert dead["slow_progress"].evidence["rule"].startswith("frozen")


def test_pyros_converged_svi_loop_is_not_frozen():
    # Bayesian regression tutorial: 147.8847, .8827, .8819, .8817, .8816, then 147.8815 three times
    report = lrdoctor.diagnose(real_log("fresh376/pyro-bayesian-regression-linear-torch/train.log"))
    assert "slow_progress" not in warned(report)


def test_a_results_table_with_a_per_class_column_is_read_whole(tmp_path):
    # the relabelled-9s run as a Trainer table whose last column is the F1 of one class,
    # "F1 Class 9": the header was read as a "f1_class = 9" pair and every other column lost
    _, table = _relabelled_trainer_table("F1 Class 9")
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", table))
    assert {"training_loss", "validation_loss", "eval_accuracy", "eval_f1_class_9"} <= set(report.run.names)
    assert warned(report)["slow_progress"].evidence["metric"] == "eval_f1_class_9"
    # one word and a number is still a value: a bordered key-value line keeps its pairs
    run = lrdoctor.read(write_lines(tmp_path / "kv.log", [f"| epoch {i} | iter {20 * i} | loss {1 / i:.3f} |" for i in range(1, 6)]))
    assert run.series("loss").values[-1] == 0.2


def test_a_listing_of_lightning_checkpoint_names_is_a_log(tmp_path):
    # 300 digits with a fifth of their labels random, fitted for real: a ModelCheckpoint that keeps
    # every epoch names its files "epoch=E-train_loss=..-val_loss=...ckpt", and "ls -l checkpoints/"
    # lists them in name order (epoch=10 before epoch=2)
    names, val = [], []
    for epoch, train, held_out in noisy_label_evaluations(0.2, 60, 5):
        val.append(held_out)
        names.append(f"epoch={epoch}-train_loss={train:.4f}-val_loss={val[-1]:.4f}.ckpt")
    assert val[-1] > 1.2 * min(val)
    lines = [f"-rw-r--r-- 1 user user 3.5M Feb  4 20:{i:02d} {n}" for i, n in enumerate(sorted(names))]
    report = lrdoctor.diagnose(write_lines(tmp_path / "ls.txt", lines))
    assert report.run.meta.roles["eval_loss"] == "val_loss" and list(report.run.steps) == list(range(5, 61, 5))
    assert "overfitting" in warned(report), report.findings
    # a checkpoint named for its epoch and step alone is no report
    with pytest.raises(lrdoctor.InputError):
        lrdoctor.diagnose(write_lines(tmp_path / "bare.txt", [f"epoch={e}-step={28 * e}.ckpt" for e in range(1, 6)]))


def test_the_real_listing_of_a_blown_up_run_is_read():
    # TorchMD-Net: "epoch=1-val_loss=28354817745406260133494784.0000-test_loss=0.0000.ckpt" ...
    run = lrdoctor.read(real_log("fresh125/torchmd-net-357-ckpt-val-loss-blowup/paste.txt"))
    assert run.n_steps == 8 and run.series("eval_loss").values[0] > 1e25


def test_an_evaluation_spike_on_a_curve_falling_by_decades_is_found():
    # Whisper-tiny on MInDS-14: validation loss 0.0556, 0.0021, 0.0007, 0.0007, then 0.0398 at the
    # LR peak (WER 0.0306 -> 0.0760), then 0.0100, 0.0009 ... 0.0001; the first differences of a
    # curve falling by decades hid the bump, its second differences do not
    got = warned(lrdoctor.diagnose(real_log("fresh367/duccioo-whisper-tiny-minds14-it/training_results.md")))
    assert got["loss_spike"].end_step == 500 and got["loss_spike"].evidence["metric"] == "validation_loss"
    # its sibling on the same set with Whisper-small climbs at every evaluation, with no bump: no spike
    twin = lrdoctor.diagnose(real_log("fresh367/duccioo-whisper-small-minds14-it/training_results.md"))
    assert "loss_spike" not in warned(twin, 0)


def test_a_csv_pasted_without_its_header_is_refused_in_one_line(tmp_path):
    # the noisy-label digits fit as results.csv rows, its header line left out of the paste: the
    # first row was read as column names ("5", "2.0868", ...), and the refusal asked to name one
    import subprocess
    import sys

    rows = [f"{epoch},{train:.4f},{held_out:.4f},{0.001 * epoch:.4f}" for epoch, train, held_out in noisy_label_evaluations(0.2, 30, 5)]
    pasted = write_lines(tmp_path / "results.csv", rows)
    out = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", pasted], capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    line, = out.stderr.strip().splitlines()
    assert "results.csv" in line and "no header row" in line
    # with its header the same rows are a run
    whole = write_lines(tmp_path / "whole.csv", ["epoch,train_loss,val_loss,lr"] + rows)
    assert lrdoctor.diagnose(whole).run.meta.roles["eval_loss"] == "val_loss"
