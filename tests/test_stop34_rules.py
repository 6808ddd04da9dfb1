"""Rules from the stop-34 study of the benchmark (issue 9), each on a really trained run with a twin:

- overfitting's few-point rule: on three evaluations, a held-out loss that never improved on its
  first reading while the training loss at least halved;
- slow_progress's never-below-the-start rule does not judge a first report of exactly 0 (the floor
  of a loss that is never negative; Vowpal Wabbit's progressive average);
- slow_progress's frozen-term rule does not judge a weight penalty's term (it moves with the weights,
  not the batch);
- a Matthews correlation (or kappa, or a rank correlation) printed on the training lines with no
  split named plays the task metric, so one pinned at 0 is judged;
- slow_progress's stuck-at-chance rule: an accuracy at chance beside a loss above ln K that still
  falls is a warning; beside a flat one, an error;
- divergence's trend rule: a trend back within noise of the level it held before the rise is no
  divergence (its best was a dip);
- readers: Keras' "Epoch 1/1" header of a one-epoch fit called in a loop is no position; bare
  pairs behind a label ("ALL Clients Testing: Loss 0.61 Acc 0.07", its split read from the label);
  a printed nan is a value, not a word of the next name; a federated round is a step axis;
  scikit-learn's gradient-boosting verbose table; frameworks' non-finite messages (detectron2's
  FloatingPointError, Keras' TerminateOnNaN, TensorFlow's) are a NaN loss; bare numbers in a
  folder of losses are the loss; "Cost after iteration 100: 0.69" prints; split words in bare
  pairs ("train loss 0.5 val loss 0.6"); Ray Tune's result blocks, one record each.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

import lrdoctor
from lrdoctor.errors import InputError

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
        held = held_out_loss(model, x, y)
        rows.append(f"{epoch},{train:.5f},{held:.5f}")
    return write_lines(tmp_path / f"fit_{examples}.csv", rows)


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


def _online_table(tmp_path, lr: float, bias: float, name: str) -> str:
    """Vowpal Wabbit's progress table (average loss, since last, example counter at powers of 2,
    ...) of an online logistic regression on digits 0 vs 1 that reports, as VW does, the squared
    loss of each prediction made before its update (progressive validation), over 1024 examples
    (the 360 digits, in turn). ``bias`` is the starting bias towards the first example's class."""
    x, y, _ = digits_mlp(0)
    keep = (y == 0) | (y == 1)
    x, y = x[keep], y[keep].float()
    w = torch.zeros(64, requires_grad=True)
    b = torch.tensor(bias if y[0].item() == 1 else -bias, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr)
    lines = ["average  since         example        example  current  current  current",
             "loss     last          counter         weight    label  predict features"]
    total, since, last_n = 0.0, 0.0, 0
    for n in range(1, 1025):
        xi, yi = x[(n - 1) % len(y)], y[(n - 1) % len(y)]
        loss = (torch.sigmoid(xi @ w + b) - yi) ** 2
        total, since = total + loss.item(), since + loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if n & (n - 1) == 0:
            lines.append(f"{total / n:.6f} {since / (n - last_n):.6f} {n:12d} {float(n):14.1f} {yi.item():8.4f} "
                         f"{torch.sigmoid(xi @ w + b).item():8.4f} {64:8d}")
            since, last_n = 0.0, n
    path = tmp_path / f"{name}.stderr"
    path.write_text("\n".join(lines) + "\n\nfinished run\n")
    return str(path)


def test_a_progressive_loss_that_starts_at_zero_is_not_judged_against_its_start(tmp_path):
    path = _online_table(tmp_path, lr=0.5, bias=12.0, name="learns")
    run = lrdoctor.read(path)
    loss = run.series("loss").values
    assert loss.size >= 10 and loss[0] == 0.0 and loss.max() > 0, loss
    assert "slow_progress" not in warned(lrdoctor.diagnose(run))


def test_a_progressive_loss_that_never_falls_below_a_first_value_above_zero_is_no_learning(tmp_path):
    """The twin: no starting bias (every prediction 0.5) and an LR of 0: the model never changes."""
    path = _online_table(tmp_path, lr=0.0, bias=0.0, name="frozen")
    run = lrdoctor.read(path)
    loss = run.series("loss").values
    assert loss.size >= 10 and loss[0] > 0, loss
    assert "slow_progress" in warned(lrdoctor.diagnose(run))


def _mcc_lines(tmp_path, lr: float) -> str:
    """A custom loop's lines ("Ep 1/3 Step 50:  Loss= 0.61  LR=1e-02  mcc= 0.000000,") of a digits
    MLP told apart even from odd digits, scored with scikit-learn's Matthews correlation on the
    held-out digits at each report. At LR 0 the freshly initialised model predicts one class for
    every held-out digit, so its correlation is exactly 0 (scikit-learn's convention)."""
    from sklearn.metrics import matthews_corrcoef

    x, y, _ = digits_mlp(1)
    y = y % 2
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    with torch.no_grad():
        model[2].weight.zero_()
        model[2].bias.copy_(torch.tensor([1.0, 0.0]))  # starts out predicting "even" everywhere
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines = []
    for epoch in (1, 2, 3):
        for step in range(1, 29):
            i = ((step - 1) * 50) % 1400
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 7 == 0:
                with torch.no_grad():
                    pred = model(x[1400:]).argmax(1)
                mcc = matthews_corrcoef(y[1400:].numpy(), pred.numpy())
                lines.append(f"Ep {epoch}/3 Step {step:5d}:  Loss= {loss.item():9.6f}  LR={lr:e}   mcc= {mcc:9.6f},")
    return write_lines(tmp_path / f"mcc_{lr}.log", lines)


def test_a_matthews_correlation_at_zero_on_the_training_lines_is_no_learning(tmp_path):
    run = lrdoctor.read(_mcc_lines(tmp_path, lr=0.0))
    assert run.meta.roles.get("task_metric") == "mcc"
    assert (run.series("task_metric").values == 0).all()
    found = warned(lrdoctor.diagnose(run), at_least=2)
    assert "slow_progress" in found and found["slow_progress"].evidence["metric"] == "mcc"


def test_a_matthews_correlation_that_rises_is_learning(tmp_path):
    run = lrdoctor.read(_mcc_lines(tmp_path, lr=0.5))
    assert run.series("task_metric").values.max() > 0.5
    assert "slow_progress" not in warned(lrdoctor.diagnose(run))


def _facenet_lines(tmp_path, penalty_name: str) -> str:
    """facenet's batch lines ("Epoch: [3][97/100]\\tTime 0.392\\tLoss 3.418\\tRegLoss 2.291") of a digits
    MLP trained with an explicit L2 penalty (1e-3 x the squared weights) at a small LR after it has
    learned: the penalty, printed to 4 digits, stays put while the batch loss moves. The penalty's
    column is named ``penalty_name``."""
    x, y, model = digits_mlp(2)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(30):
        fit_epoch(model, opt, x, y)
    for g in opt.param_groups:
        g["lr"] = 1e-3
    lines = []
    for i in range(1, 29):
        j = ((i - 1) * 50) % 1400
        data = torch.nn.functional.cross_entropy(model(x[j:j + 50]), y[j:j + 50])
        reg = 1e-3 * sum((p ** 2).sum() for p in model.parameters())
        loss = data + reg
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 25:
            lines.append(f"Epoch: [31][{i}/28]\tTime 0.392\tLoss {loss.item():.3f}\t{penalty_name} {reg.item():.3f}")
    return write_lines(tmp_path / f"{penalty_name}.log", lines)


def test_a_weight_penalty_that_prints_the_same_late_in_a_run_is_not_a_frozen_term(tmp_path):
    run = lrdoctor.read(_facenet_lines(tmp_path, "RegLoss"))
    reg = run.series("reg_loss").values
    assert reg.size == 4 and (reg == reg[0]).all() and float(np.ptp(run.series("loss").values)) > 0, reg
    assert "slow_progress" not in warned(lrdoctor.diagnose(run))


def test_a_data_term_that_prints_the_same_while_the_total_moves_is_still_frozen(tmp_path):
    """The twin: the same printed values under a data term's name (a head's loss depends on the
    batch, so equal prints while the total moves mean the head stopped)."""
    run = lrdoctor.read(_facenet_lines(tmp_path, "AuxLoss"))
    assert "slow_progress" in warned(lrdoctor.diagnose(run))


def _keras_loop_lines(tmp_path, one_epoch_fits: bool) -> tuple[str, list[float]]:
    """Keras' fit output of a digits MLP trained for 5 epochs: with ``one_epoch_fits`` as a script
    that calls ``fit(epochs=1)`` in its own loop ("Epoch 0", then Keras' "Epoch 1/1" header), else
    as one ``fit(epochs=5)`` ("Epoch 1/5" ... "Epoch 5/5"). Returns the path and the epoch losses."""
    x, y, model = digits_mlp(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    lines, losses = [], []
    for epoch in range(5):
        train, _ = fit_epoch(model, opt, x, y)
        held = held_out_loss(model, x, y)
        lines += [f"Epoch {epoch}", "Epoch 1/1"] if one_epoch_fits else [f"Epoch {epoch + 1}/5"]
        lines.append(f"28/28 [==============================] - 0s 1ms/step - loss: {train:.4f} - val_loss: {held:.4f}")
        losses.append(round(train, 4))
    path = tmp_path / f"keras_{one_epoch_fits}.log"
    path.write_text("\n".join(lines) + "\n")
    return str(path), losses


def test_keras_one_epoch_fits_in_a_loop_keep_every_epoch(tmp_path):
    path, losses = _keras_loop_lines(tmp_path, one_epoch_fits=True)
    run = lrdoctor.read(path)
    assert run.series("loss").values.tolist() == losses
    assert run.steps.tolist() == [0, 1, 2, 3, 4]


def test_keras_epochs_of_one_fit_keep_their_numbers(tmp_path):
    path, losses = _keras_loop_lines(tmp_path, one_epoch_fits=False)
    run = lrdoctor.read(path)
    assert run.series("loss").values.tolist() == losses
    assert run.steps.tolist() == [1, 2, 3, 4, 5]


def _federated_lines(tmp_path, lr: float) -> str:
    """A client-selection FedAvg loop's prints (">> ROUND 3", "> 3 Clients Training: Loss 0.52 Acc
    0.83", "> ALL Clients Testing: Loss 0.61 Acc 0.80") of a digits MLP: each round, three clients
    train a copy on their own 400 digits for one pass with SGD at ``lr``, the server averages the
    weights and tests on the held-out digits."""
    x, y, server = digits_mlp(4)
    lines = []
    for rnd in range(6):
        states, losses, accs = [], [], []
        for c in range(3):
            client = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
            client.load_state_dict(server.state_dict())
            opt = torch.optim.SGD(client.parameters(), lr=lr)
            loss, _ = fit_epoch(client, opt, x[c * 400:(c + 1) * 400], y[c * 400:(c + 1) * 400], end=400)
            with torch.no_grad():
                accs.append((client(x[c * 400:(c + 1) * 400]).argmax(1) == y[c * 400:(c + 1) * 400]).float().mean().item())
            states.append(client.state_dict())
            losses.append(loss)
        server.load_state_dict({k: sum(s[k] for s in states) / 3 for k in states[0]})
        with torch.no_grad():
            out = server(x[1400:])
            test_loss = torch.nn.functional.cross_entropy(out, y[1400:]).item()
            test_acc = (out.argmax(1) == y[1400:]).float().mean().item()
        lines += [f">> ROUND {rnd}", f"> 3 Clients Training: Loss {sum(losses) / 3:.4f} Acc {sum(accs) / 3:.4f}",
                  f"> ALL Clients Testing: Loss {test_loss:.4f} Acc {test_acc:.4f}", ""]
    path = tmp_path / f"fedavg_{lr}.log"
    path.write_text("\n".join(lines))
    return str(path)


def test_labelled_bare_pairs_of_a_federated_loop_are_read_by_round(tmp_path):
    run = lrdoctor.read(_federated_lines(tmp_path, lr=0.1))
    assert run.meta.step_column == "round" and run.steps.tolist() == [0, 1, 2, 3, 4, 5]
    assert run.meta.roles["eval_loss"] == "test_loss" and run.meta.roles["eval_accuracy"] == "test_acc"
    assert run.series("eval_accuracy").values[-1] > 0.5
    assert not warned(lrdoctor.diagnose(run))


def test_a_federated_loop_whose_loss_prints_nan_is_nonfinite(tmp_path):
    """The twin at an LR that blows the clients up: "Loss nan Acc 0.0981" is a NaN loss beside an
    accuracy, not a column named "loss nan acc"."""
    path = _federated_lines(tmp_path, lr=1e10)
    assert " Loss nan Acc " in open(path).read()
    found = warned(lrdoctor.diagnose(path), at_least=2)
    assert "nonfinite" in found


def test_a_printed_nan_is_a_value_not_a_word_of_the_next_name(tmp_path):
    path = tmp_path / "segments.log"
    path.write_text("".join(f"epoch: {e}, Loss {v} Acc 0.2345\n" for e, v in ((1, "0.71"), (2, "0.65"), (3, "nan"))))
    run = lrdoctor.read(str(path))
    assert "loss_nan_acc" not in run.names
    assert np.isnan(run.series("loss").values[-1]) and run.series("loss").values[0] == 0.71


def _summed_loss_lines(tmp_path, lr: float) -> str:
    """Per-epoch "epoch: 3, loss: 1287.74, acc: 0.098" of a digits MLP whose output bias starts at 30
    for class 0 (it predicts 0 for every digit) trained with a summed cross-entropy (50 per batch,
    far above ln 10) at ``lr``: at 1e-4 the bias comes down and the loss falls every epoch, while
    the prediction, and so the held-out accuracy, stays at class 0's share."""
    x, y, model = digits_mlp(5)
    with torch.no_grad():
        model[2].bias.copy_(torch.tensor([30.0] + [0.0] * 9))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines = []
    for epoch in range(1, 6):
        total = []
        for i in range(0, 1400, 50):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50], reduction="sum")
            opt.zero_grad()
            loss.backward()
            opt.step()
            total.append(loss.item())
        with torch.no_grad():
            acc = (model(x[1400:]).argmax(1) == y[1400:]).float().mean().item()
        lines.append(f"epoch: {epoch}, loss: {sum(total) / len(total):.2f}, acc: {acc:.3f}")
    return write_lines(tmp_path / f"summed_{lr}.log", lines)


def test_chance_accuracy_beside_a_loss_above_ln_k_that_still_falls_is_a_warning(tmp_path):
    run = lrdoctor.read(_summed_loss_lines(tmp_path, lr=1e-4), config={"num_classes": 10})
    loss = run.series("loss").values
    assert loss[-1] < 0.9 * loss[0] and (np.diff(loss) < 0).all(), loss
    found = warned(lrdoctor.diagnose(run))
    assert found["slow_progress"].severity.rank == 1


def test_chance_accuracy_beside_a_flat_loss_above_ln_k_is_an_error(tmp_path):
    run = lrdoctor.read(_summed_loss_lines(tmp_path, lr=0.0), config={"num_classes": 10})
    found = warned(lrdoctor.diagnose(run))
    assert found["slow_progress"].severity.rank == 2


def test_a_trend_back_at_its_usual_level_after_a_dip_is_not_divergence():
    """A real Lightning metrics.csv (fresh210): a Gaussian NLL of single batches swinging 3-8 whose
    smoothed trend touched -0.35 where three negative draws fell together, then went back to ~4.5,
    the level it held all run."""
    report = lrdoctor.diagnose(real_log("fresh210/makris-gmlp-v10/metrics.csv"))
    assert "divergence" not in warned(report)


def test_a_trend_that_rises_past_its_usual_level_is_still_divergence(tmp_path):
    """The twin: a digits MLP that converged at LR 0.3, then trained on at 10x the LR: its batch
    loss climbs above where it ever was after the first epoch and stays there."""
    x, y, model = digits_mlp(6)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    rows, step = ["step,loss"], 0
    for phase_lr, epochs in ((0.3, 8), (3.0, 4)):
        for g in opt.param_groups:
            g["lr"] = phase_lr
        for _ in range(epochs):
            for i in range(0, 1400, 50):
                loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                if step % 7 == 0:
                    rows.append(f"{step},{loss.item():.5f}")
    path = tmp_path / "raised.csv"
    path.write_text("\n".join(rows) + "\n")
    run = lrdoctor.read(str(path))
    loss = run.series("loss").values
    assert np.isfinite(loss).all() and np.median(loss[-10:]) > 2 * np.median(loss[: len(loss) // 2]), loss
    assert "divergence" in warned(lrdoctor.diagnose(run))


def _sklearn_gb_output(tmp_path, subsample: float) -> str:
    """The real ``verbose=1`` output of scikit-learn's GradientBoostingClassifier on the digits,
    captured from its stdout."""
    import contextlib
    import io

    from sklearn.datasets import load_digits
    from sklearn.ensemble import GradientBoostingClassifier

    d = load_digits()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        GradientBoostingClassifier(n_estimators=30, max_depth=2, subsample=subsample, random_state=0, verbose=1).fit(
            d.data[:600], d.target[:600])
    path = tmp_path / f"gb_{subsample}.txt"
    path.write_text(out.getvalue())
    return str(path)


def test_sklearn_gradient_boosting_verbose_table_is_read(tmp_path):
    path = _sklearn_gb_output(tmp_path, subsample=1.0)
    text = open(path).read()
    assert "Train Loss" in text and "Remaining Time" in text and "OOB Improve" not in text
    run = lrdoctor.read(path)
    loss = run.series("loss").values
    assert run.meta.roles["loss"] == "train_loss" and run.meta.step_column == "iter"
    assert loss.size >= 10 and loss[-1] < loss[0]
    assert not warned(lrdoctor.diagnose(run))


def test_sklearn_gradient_boosting_with_its_oob_column_is_read(tmp_path):
    run = lrdoctor.read(_sklearn_gb_output(tmp_path, subsample=0.5))
    assert "oob_improve" in run.names and run.series("loss").values.size >= 10


def _detectron2_style_run(tmp_path, lr: float) -> str:
    """A digits MLP trained in detectron2's manner: "iter: 19  total_loss: 2.31  lr: 0.1" every 20
    iterations, at LR 0.1 for 100 iterations and ``lr`` after, and detectron2's own check before
    each step (engine/train_loop.py: a non-finite loss raises ``FloatingPointError("Loss became
    infinite or NaN at iteration=...")``), whose traceback ends the captured output as it ends a
    real one."""
    import traceback

    x, y, model = digits_mlp(7)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    lines = []
    try:
        for it in range(300):
            if it == 100:
                for g in opt.param_groups:
                    g["lr"] = lr
            i = (it * 50) % 1400
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
            if not np.isfinite(loss.item()):
                raise FloatingPointError(f"Loss became infinite or NaN at iteration={it}!\nloss_dict = {{'loss_cls': {loss.item()}}}")
            opt.zero_grad()
            loss.backward()
            opt.step()
            if it % 20 == 19:
                lines.append(f"[12/03 12:00:00 d2.utils.events]:  iter: {it}  total_loss: {loss.item():.3f}  "
                             f"lr: {opt.param_groups[0]['lr']:g}")
    except FloatingPointError:
        lines += traceback.format_exc().splitlines()
    return write_lines(tmp_path / f"d2_{lr}.log", lines)


def test_a_frameworks_nan_message_is_a_non_finite_loss(tmp_path):
    path = _detectron2_style_run(tmp_path, lr=1e10)
    assert "Loss became infinite or NaN at iteration=" in open(path).read()
    run = lrdoctor.read(path)
    assert np.isnan(run.series("loss").values[-1]) and np.isfinite(run.series("loss").values[0])
    assert "nonfinite" in warned(lrdoctor.diagnose(run), at_least=2)


def test_a_run_without_the_message_is_not_non_finite(tmp_path):
    path = _detectron2_style_run(tmp_path, lr=0.1)
    assert "FloatingPointError" not in open(path).read()
    assert "nonfinite" not in warned(lrdoctor.diagnose(path), at_least=0)


def test_bare_numbers_in_a_folder_of_losses_are_the_loss(tmp_path):
    """torchtitan keeps reference runs as "step loss" lines under tests/assets/losses/: the folder,
    not the file's name, says what the numbers are. The same file elsewhere names nothing."""
    x, y, model = digits_mlp(8)
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    rows = [f"{epoch} {fit_epoch(model, opt, x, y)[0]:.4f}" for epoch in range(1, 9)]
    for folder in ("losses", "runs"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "llama3_cuda.txt").write_text("\n".join(rows) + "\n")
    run = lrdoctor.read(str(tmp_path / "losses" / "llama3_cuda.txt"))
    assert run.meta.roles["loss"] == "loss" and run.series("loss").values.size == 8
    with pytest.raises(InputError, match="no training metric recognised"):
        lrdoctor.diagnose(str(tmp_path / "runs" / "llama3_cuda.txt"))


def test_cost_after_iteration_prints_are_read_with_their_step(tmp_path):
    """The deeplearning.ai courses' logistic regression prints "Cost after iteration 100: 0.693147"
    (and many notebooks copy it). Read as "cost_after_iteration: 100", the iteration was the cost,
    rising at every report of a healthy run."""
    x, y, _ = digits_mlp(9)
    keep = (y == 0) | (y == 1)
    x, y = x[keep], y[keep].float()
    w = torch.zeros(64, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=0.05)
    lines, costs = [], []
    for it in range(1000):
        cost = torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y)
        opt.zero_grad()
        cost.backward()
        opt.step()
        if it % 100 == 0:
            lines.append(f"Cost after iteration {it}: {cost.item():f}")
            costs.append(float(f"{cost.item():f}"))
    run = lrdoctor.read(write_lines(tmp_path / "cost.txt", lines))
    assert run.steps.tolist() == list(range(0, 1000, 100))
    assert run.series("loss").values.tolist() == costs
    assert not warned(lrdoctor.diagnose(run))


def test_split_words_in_bare_pairs_name_the_figure_that_follows(tmp_path):
    """"epoch 7 train loss 0.0123 val loss 0.4567" of a digits MLP memorising 60 digits: read alone,
    the val loss was a second "loss" and dropped, and the overfitting with it."""
    x, y, _ = digits_mlp(0)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    lines = []
    for epoch in range(1, 9):
        for _ in range(5):
            train, _ = fit_epoch(model, opt, x, y, end=60, batch=20)
        lines.append(f"epoch {epoch} train loss {train:.4f} val loss {held_out_loss(model, x, y):.4f}")
    run = lrdoctor.read(write_lines(tmp_path / "bare.log", lines))
    assert run.meta.roles["loss"] == "train_loss" and run.meta.roles["eval_loss"] == "val_loss"
    assert "overfitting" in warned(lrdoctor.diagnose(run))


_TUNE_SCRIPT = """
import os
os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
import ray
from ray import tune
ray.init(num_cpus=2, include_dashboard=False)
def trainable(config):
    total = 0.0
    for i in range(5):
        total += config["step"]
        tune.report({"episode_reward_mean": total, "loss": 1.0 / (i + 1)})
tune.run(trainable, config={"step": 1.0}, verbose=3, num_samples=1)
"""


def test_ray_tune_result_blocks_keep_each_metric_with_its_iteration(tmp_path):
    """Ray Tune's console ("Result for trainable_00000:" then the result dict as indented YAML, keys
    in alphabetical order) of a real run: the reward sits above ``training_iteration`` in each
    block, and filed line by line it went to the iteration of the block before."""
    pytest.importorskip("ray")
    out = tmp_path / "tune.txt"
    with open(out, "w") as fh:
        subprocess.run([sys.executable, "-c", _TUNE_SCRIPT], stdout=fh, stderr=subprocess.STDOUT, timeout=240, check=True)
    text = out.read_text()
    assert "Result for trainable_" in text
    # whole, and as an issue paste keeps it: each block's header and the lines that matter, verbatim
    keep = ("Result for ", "  episode_reward_mean:", "  training_iteration:")
    pasted = write_lines(tmp_path / "paste.txt", [ln for ln in text.splitlines() if ln.startswith(keep)])
    for path in (str(out), pasted):
        run = lrdoctor.read(path)
        it, reward = run.series("training_iteration"), run.series("ep_return")
        pairs = {float(i): float(r) for i, r in zip(it.values, reward.values) if np.isfinite(i) and np.isfinite(r)}
        assert pairs and all(r == i for i, r in pairs.items()), (path, pairs)  # the reward after i iterations is i
