"""Rules from the stop-33 study of the benchmark (issue 9), each on a really trained run with a twin:

- grad_vanishing's exactly-zero rule needs the loss not to fall meanwhile: a model that receives
  no gradient cannot improve, so a logged norm of 0.0 beside a falling loss is the logger's;
- slow_progress's frozen-term rule does not judge the first updates of a log that starts at the
  start, where a head still sits at its initial value;
- slow_progress's finished-schedule rule judges only a log that holds the schedule's start;
- slow_progress's never-left-0 rule does not judge a score carried on every training line of an
  update-level log (its 0 may be the placeholder before the first evaluation);
- divergence on evaluations alone: a last evaluation whose loss jumps beyond its scatter and whose
  score halves (two views of one evaluation agree the weights broke);
- readers: split tags in brackets (MatchZoo), crnn.pytorch's epoch/batch brackets and spelling.
"""

from __future__ import annotations

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

import lrdoctor

torch.set_num_threads(1)


def _trainer_lines(seed: int, reaches_model: bool, tmp_path) -> str:
    """HF Trainer's log lines (``{'loss': ..., 'grad_norm': ..., 'learning_rate': ..., 'epoch': ...}``)
    of a digits MLP trained with Adam on minibatches. With ``reaches_model`` the optimizer holds the
    model's parameters and the logger does not compute the norm (it writes 0.0, as TRL with GaLore
    does); without it the optimizer holds a stray parameter the loss does not use, so the model
    never changes and the norm really measured is exactly 0."""
    x, y, model = digits_mlp(seed)
    stray = torch.nn.Parameter(torch.zeros(3))
    params = list(model.parameters()) if reaches_model else [stray]
    opt = torch.optim.Adam(params, lr=1e-2)
    lines, total, n = [], 0.0, 0
    for step in range(1, 121):
        i = ((step - 1) * 32) % 1760
        loss = torch.nn.functional.cross_entropy(model(x[i:i + 32]), y[i:i + 32]) + 0 * stray.sum()
        opt.zero_grad()
        loss.backward()
        norm = 0.0 if reaches_model else float(torch.nn.utils.clip_grad_norm_(params, 1e9))
        opt.step()
        total, n = total + loss.item(), n + 1
        if step % 20 == 0:
            lines.append(repr({"loss": round(total / n, 4), "grad_norm": norm, "learning_rate": 0.01,
                               "epoch": round(step / 55, 2)}))
            total, n = 0.0, 0
    return write_lines(tmp_path / f"trainer_{reaches_model}.log", lines)


def test_a_zero_grad_norm_beside_a_falling_loss_is_not_vanishing(tmp_path):
    report = lrdoctor.diagnose(_trainer_lines(0, True, tmp_path))
    assert "grad_vanishing" not in warned(report)


def test_a_zero_grad_norm_beside_a_loss_that_cannot_move_is_vanishing(tmp_path):
    report = lrdoctor.diagnose(_trainer_lines(0, False, tmp_path))
    f = warned(report)["grad_vanishing"]
    assert f.evidence["zero_reports"] == 6


# ---------------------------------------------------------------- slow_progress: a frozen term at the start

def _two_head_lines(seed: int, first: int, every: int, n: int, tmp_path) -> str:
    """mmcv's iteration lines (``Epoch [1][i/N] lr: ..., loss_cls: ..., loss_aux: ..., loss: ...``) of a
    digits MLP with a second, dead head: a binary head whose weights are zero and frozen, so its
    logit is 0 and its BCE is ln 2 at every batch, while the classifier learns. ``n`` reports, one
    every ``every`` iterations from iteration ``first``."""
    x, y, model = digits_mlp(seed)
    aux = torch.nn.Linear(10, 1)
    torch.nn.init.zeros_(aux.weight), torch.nn.init.zeros_(aux.bias)
    aux.requires_grad_(False)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    lines, it = [], 0
    while len(lines) < n:
        it += 1
        i = ((it - 1) * 32) % 1760
        out = model(x[i:i + 32])
        cls = torch.nn.functional.cross_entropy(out, y[i:i + 32])
        bce = torch.nn.functional.binary_cross_entropy_with_logits(aux(out).squeeze(1), (y[i:i + 32] % 2).float())
        opt.zero_grad()
        (cls + bce).backward()
        opt.step()
        if it >= first and (it - first) % every == 0:
            lines.append(f"2021-06-23 22:02:43,229 - mmocr - INFO - Epoch [1][{it}/4258]\tlr: 1.000e-01, "
                         f"loss_cls: {cls.item():.4f}, loss_aux: {bce.item():.4f}, loss: {cls.item() + bce.item():.4f}")
    return write_lines(tmp_path / f"two_head_{first}.log", lines)


def test_a_term_at_its_initial_value_in_the_first_updates_is_not_frozen(tmp_path):
    report = lrdoctor.diagnose(_two_head_lines(0, 1, 1, 3, tmp_path))
    assert "slow_progress" not in warned(report)


def test_a_term_that_stays_at_its_initial_value_for_hundreds_of_updates_is_frozen(tmp_path):
    report = lrdoctor.diagnose(_two_head_lines(0, 1, 100, 8, tmp_path))
    f = warned(report)["slow_progress"]
    assert f.evidence["metric"] == "loss_aux" and f.evidence["value"] == 0.6931


# ---------------------------------------------------------------- readers: split tags in brackets

def test_matchzoo_split_tags_keep_test_and_valid_apart(tmp_path):
    """MatchZoo prints each evaluation split on its own line, tagged ``[Eval:test]`` or
    ``[Eval:valid]`` after the logger's stamp. A digits MLP evaluated on two held-out halves:
    each split's accuracy lands in its own column, with the values printed."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    lines, printed = [], {"valid": [], "test": []}
    for it in range(1, 7):
        _, last = fit_epoch(model, opt, x, y)
        lines.append(f"[05-20-2018 11:57:{50 + it}]\t[Train:train] Iter:{it}\tloss={last:.6f}")
        with torch.no_grad():
            for split, sl in (("test", slice(1400, 1600)), ("valid", slice(1600, 1797))):
                acc = (model(x[sl]).argmax(1) == y[sl]).float().mean().item()
                printed[split].append(round(acc, 6))
                lines.append(f"[05-20-2018 11:57:{50 + it}]\t[Eval:{split}] Iter:{it}\tacc={acc:.6f}")
    path = tmp_path / "matchzoo.log"
    path.write_text("\n".join(lines) + "\n")
    run = lrdoctor.read(str(path))
    assert "acc" not in run.metrics
    assert list(run.series("test_acc").values) == printed["test"]
    assert list(run.series("valid_acc").values) == printed["valid"]
    assert printed["test"] != printed["valid"]


def test_crnn_pytorch_prints_read_with_their_steps_and_accuracy(tmp_path):
    """crnn.pytorch (and its many forks) print ``[e/E][i/N] Loss: x`` every few batches, epochs from
    0, and ``Test loss: %f, accuray: %f`` after each evaluation (the misspelling is theirs). A
    digits MLP printed so: the steps are e * N + i, and the misspelt accuracy plays its role."""
    x, y, model = digits_mlp(1)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    lines, steps, n = [], [], 35
    for ep in range(3):
        for i in range(1, n + 1):
            b = (i - 1) * 40
            loss = torch.nn.functional.cross_entropy(model(x[b:b + 40]), y[b:b + 40])
            opt.zero_grad(), loss.backward(), opt.step()
            if i % 7 == 0:
                lines.append(f"[{ep}/3][{i}/{n}] Loss: {loss.item():f}")
                steps.append(ep * n + i)
        with torch.no_grad():
            out = model(x[1400:])
            acc = (out.argmax(1) == y[1400:]).float().mean().item()
            lines.append(f"Test loss: {torch.nn.functional.cross_entropy(out, y[1400:]).item():f}, accuray: {acc:f}")
    path = tmp_path / "crnn.log"
    path.write_text("\n".join(lines) + "\n")
    run = lrdoctor.read(str(path))
    assert list(run.steps) == steps
    assert "accuray" in run.meta.roles.values()


# ---------------------------------------------------------------- slow_progress: a window past the LR's peak

def _cosine_batches(lr: float, epochs: int = 30) -> list[tuple]:
    """(step, loss, accuracy, lr) of a digits MLP trained with SGD under a cosine decay from ``lr`` to
    0 over ``epochs`` epochs of 28 minibatches of 64, one report every 7 batches: the batch's own
    loss and accuracy, as mmengine prints ``decode.loss_ce`` and ``decode.acc_seg``."""
    x, y, model = digits_mlp(3)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    rows, step = [], 0
    for _ in range(epochs):
        now = opt.param_groups[0]["lr"]
        for b in range(0, 1792, 64):
            out = model(x[b:b + 64])
            loss = torch.nn.functional.cross_entropy(out, y[b:b + 64])
            opt.zero_grad(), loss.backward(), opt.step()
            step += 1
            if step % 7 == 0:
                rows.append((step, loss.item(), (out.argmax(1) == y[b:b + 64]).float().mean().item(), now))
        sched.step()
    return rows


def _csv(path, rows, accuracy: str = "accuracy") -> str:
    path.write_text(f"step,loss,{accuracy},lr\n" + "".join(",".join(f"{v:.6g}" for v in r) + "\n" for r in rows))
    return str(path)


def test_a_window_deep_into_the_decay_of_a_run_that_learned_is_not_a_spent_schedule(tmp_path):
    rows = _cosine_batches(0.1, epochs=40)
    assert min(r[2] for r in rows[-20:]) > 0.9  # it learned
    late = lrdoctor.diagnose(_csv(tmp_path / "late.csv", rows[80:]))  # its second half: the LR from half its peak to ~0
    assert "slow_progress" not in warned(late)
    # a real one: MTP's change detection, epochs 136-150 at an LR already 1e-6 and falling
    mtp = lrdoctor.diagnose(real_log("fresh183/mtp-levir-rvsa-b-mae-epochs136-150/rvsa-b-mae.log"))
    assert "slow_progress" not in warned(mtp)


def test_a_spent_schedule_that_holds_its_start_is_still_judged(tmp_path):
    """The twin: a run at 1e-5 that never learns, logged from its first epoch, the LR's peak."""
    stuck = lrdoctor.diagnose(_csv(tmp_path / "stuck.csv", _cosine_batches(1e-5)))
    assert "slow_progress" in warned(stuck)


# ---------------------------------------------------------------- slow_progress: a score carried on every line

def _exact_match_rows(seed: int, shuffled: bool) -> list[tuple]:
    """(step, loss, exact_match) every 20 SGD steps of a digits MLP at a small LR: the mean training
    loss since the last report and the share of held-out blocks of 25 digits all classified right,
    a score (like BLEU or mAP) that needs a well-trained model before it leaves 0."""
    x, y, model = digits_mlp(seed)
    if shuffled:
        y = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))]
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    rows, total = [], 0.0
    for step in range(1, 201):
        b = ((step - 1) * 32) % 1504
        loss = torch.nn.functional.cross_entropy(model(x[b:b + 32]), y[b:b + 32])
        opt.zero_grad(), loss.backward(), opt.step()
        total += loss.item()
        if step % 20 == 0:
            with torch.no_grad():
                right = (model(x[1500:1775]).argmax(1) == y[1500:1775]).reshape(11, 25).all(1)
            rows.append((step, total / 20, right.float().mean().item()))
            total = 0.0
    return rows


def test_a_score_at_0_carried_on_every_training_line_is_not_judged(tmp_path):
    """MLPerf's GNMT prints its last BLEU on every training line ("global step 100 ... bleu 0.00"):
    a 0 there may be the placeholder before the first evaluation."""
    rows = _exact_match_rows(0, shuffled=False)
    assert all(r[2] == 0 for r in rows) and rows[-1][1] < 0.8 * rows[0][1]  # the score is 0, the loss falls
    path = tmp_path / "em.log"
    path.write_text("".join(f"  global step {s} lr 0.05 step-time 0.91s loss {l:.4f} exact_match {e:.2f}\n" for s, l, e in rows))
    report = lrdoctor.diagnose(str(path))
    assert report.run.meta.roles.get("eval_accuracy") == "exact_match"
    assert "slow_progress" not in warned(report)
    real = lrdoctor.diagnose(real_log("fresh191/mlcommons-training-100-gnmt-first-steps/paste.txt"))
    assert "slow_progress" not in warned(real)


def test_a_score_at_0_on_evaluation_rows_of_its_own_is_judged(tmp_path):
    """The twin: a model on shuffled labels, its score evaluated every other report (5 evaluations)."""
    rows = _exact_match_rows(0, shuffled=True)
    path = tmp_path / "em_stuck.csv"
    path.write_text("step,loss,exact_match\n" + "".join(f"{s},{l:.5f},{f'{e:.2f}' if s % 40 == 0 else ''}\n" for s, l, e in rows))
    f = warned(lrdoctor.diagnose(str(path)))["slow_progress"]
    assert f.severity.value == "error"


# ---------------------------------------------------------------- readers: Darknet

def _darknet_lines(lr: float, tmp_path) -> str:
    """Darknet's per-iteration lines (``N: loss, avg avg, lr rate, t seconds, n images``) of a digits
    MLP, its running average kept as Darknet keeps it (0.9 avg + 0.1 loss), and between them the
    per-layer lines of a layer assigned no box in that batch, whose averages print as C's -nan."""
    x, y, model = digits_mlp(2)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines, avg = [], -1.0
    for it in range(1, 41):
        b = ((it - 1) * 32) % 1760
        loss = torch.nn.functional.cross_entropy(model(x[b:b + 32]), y[b:b + 32])
        opt.zero_grad(), loss.backward(), opt.step()
        v = loss.item()
        avg = v if avg < 0 else 0.9 * avg + 0.1 * v
        lines.append("Region 16 Avg IOU: -nan, Class: -nan, Obj: -nan, No Obj: 0.000000, .5R: -nan, .75R: -nan,  count: 0")
        lines.append(f"{it}: {v:f}, {avg:f} avg, {lr:f} rate, 0.412000 seconds, {it * 32} images".replace("nan,", "-nan,"))
    return write_lines(tmp_path / f"darknet_{lr}.log", lines)


def test_darknet_iteration_lines_are_read_and_its_layer_lines_set_aside(tmp_path):
    report = lrdoctor.diagnose(_darknet_lines(0.1, tmp_path))
    assert report.run.meta.roles["loss"] == "loss" and report.run.n_steps == 40
    assert "lr" in report.run and report.run.series("avg_loss") is not None
    assert "nonfinite" not in warned(report)


def test_a_darknet_run_that_blows_up_is_caught(tmp_path):
    report = lrdoctor.diagnose(_darknet_lines(1e4, tmp_path))  # the loss goes 2.3 -> 1e18 -> thousands
    assert warned(report)["divergence"].severity.value == "error"


def test_mxnet_speedometer_throughput_unit_is_not_part_of_the_next_name(tmp_path):
    """MXNet's Speedometer prints ``Epoch[e] Batch [b]<TAB>Speed: 6.44 samples/sec<TAB>Train-CrossEntropy=0.58``:
    the throughput's unit ends its field, and the metric after it keeps its own name."""
    x, y, model = digits_mlp(4)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    lines, printed = [], []
    for ep in range(2):
        for b in range(1, 51):
            i = (b - 1) * 32
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 32]), y[i:i + 32])
            opt.zero_grad(), loss.backward(), opt.step()
            if b % 10 == 0:
                printed.append(round(loss.item(), 6))
                sep = "\t" if ep == 0 else " "  # (a paste turns the tabs into blanks)
                lines.append(f"Epoch[{ep}] Batch [{b}]{sep}Speed: {3000 + b:.2f} samples/sec{sep}Train-CrossEntropy={loss.item():f}")
    path = tmp_path / "speedometer.log"
    path.write_text("\n".join(lines) + "\n")
    run = lrdoctor.read(str(path))
    assert run.meta.roles["loss"] == "train-cross_entropy"
    assert list(run.series("loss").values) == printed


# ---------------------------------------------------------------- divergence: one evaluation, two views

def _eval_rows(last_lr: float) -> list[tuple]:
    """(update, val_loss, val_accuracy) after each of 6 epochs of a digits MLP, evaluated on held-out
    digits; the last epoch runs at ``last_lr`` (the others at 0.1)."""
    x, y, model = digits_mlp(5)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rows = []
    for ep in range(6):
        for g in opt.param_groups:
            g["lr"] = last_lr if ep == 5 else 0.1
        fit_epoch(model, opt, x, y)
        with torch.no_grad():
            out = model(x[1400:])
            rows.append(((ep + 1) * 28, torch.nn.functional.cross_entropy(out, y[1400:]).item(),
                         (out.argmax(1) == y[1400:]).float().mean().item()))
    return rows


def _eval_csv(path, rows) -> str:
    path.write_text("step,val_loss,val_accuracy\n" + "".join(f"{s},{l:.5f},{a:.4f}\n" for s, l, a in rows))
    return str(path)


def test_an_evaluation_whose_loss_jumps_and_score_halves_is_divergence(tmp_path):
    rows = _eval_rows(last_lr=1.5)  # the loss 1.6x its best (below the 2x jump rule), the accuracy 0.84 -> 0.40
    assert rows[-1][1] < 2 * min(r[1] for r in rows[:-1]) and rows[-1][2] < 0.5 * max(r[2] for r in rows[:-1])
    f = warned(lrdoctor.diagnose(_eval_csv(tmp_path / "broke.csv", rows)))["divergence"]
    assert f.severity.value == "error" and f.evidence["score_final"] == round(rows[-1][2], 4)


def test_an_evaluation_that_keeps_its_score_is_not_divergence(tmp_path):
    rows = _eval_rows(last_lr=0.1)
    assert "divergence" not in warned(lrdoctor.diagnose(_eval_csv(tmp_path / "fine.csv", rows)))


# ---------------------------------------------------------------- readers: neupy's table

def _neupy_table(lr: float, tmp_path) -> str:
    """neupy's training table (``| Epoch # | Train err | Valid err | Time |`` between dashed rules, its
    "err" the loss function's value) of a digits MLP, 8 epochs of SGD: 0.1, then ``lr`` from epoch 5."""
    x, y, model = digits_mlp(6)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    lines = ["-" * 48, "| Epoch # | Train err | Valid err | Time       |", "-" * 48]
    for ep in range(1, 9):
        for g in opt.param_groups:
            g["lr"] = lr if ep >= 5 else 0.1
        total, _ = fit_epoch(model, opt, x, y)
        val = held_out_loss(model, x, y)
        lines.append(f"| {ep:<7} | {total:<9.6f} | {val:<9.6f} | 00:00:26   |")
    return write_lines(tmp_path / f"neupy_{lr}.txt", lines)


def test_neupy_tables_are_read_with_their_errors_as_losses(tmp_path):
    report = lrdoctor.diagnose(_neupy_table(0.1, tmp_path))
    assert report.run.meta.roles["loss"] == "train_err" and report.run.meta.roles["eval_loss"] == "valid_err"
    assert report.run.n_steps == 8 and not warned(report, 2)


def test_a_neupy_run_that_goes_nan_is_nonfinite(tmp_path):
    path = _neupy_table(1e20, tmp_path)
    assert "nan" in open(path).read()
    assert "nonfinite" in warned(lrdoctor.diagnose(path), 2)  # an error (the training loss's)


# ---------------------------------------------------------------- coverage: windows the log does not have

def test_window_checks_say_not_checked_below_their_windows(tmp_path):
    """Each judges windows of reports (oscillation two of 10, plateau 20, reward_instability 20
    segments of a task metric): on fewer, the report says it could not run instead of listing it
    as checked and silent."""
    rows = _cosine_batches(0.1)
    short = lrdoctor.diagnose(_csv(tmp_path / "short.csv", rows[:8]))
    for kind in ("oscillation", "plateau"):
        assert kind not in short.coverage.ran and "needs 20" in short.coverage.skipped[kind]
    mid = lrdoctor.diagnose(_csv(tmp_path / "mid.csv", rows[:30], "val_accuracy"))  # reward_instability's 20 segments need 40 reports
    assert {"oscillation", "plateau"} <= set(mid.coverage.ran) and "needs 40" in mid.coverage.skipped["reward_instability"]
    full = lrdoctor.diagnose(_csv(tmp_path / "full.csv", rows, "val_accuracy"))
    assert {"oscillation", "plateau", "reward_instability"} <= set(full.coverage.ran)


# ---------------------------------------------------------------- readers: Caffe through glog 0.7

def test_caffe_lines_behind_a_glog_stamp_with_its_year(tmp_path):
    """glog 0.7 prints the year in its stamp (``I20250403 16:40:52.338333 720070 solver.cpp:329]``),
    and Caffe prints each net output on a line of its own: the test net's loss is the evaluation's,
    not a training loss. A digits MLP printed so: training losses at their iterations, the
    evaluations apart."""
    x, y, model = digits_mlp(7)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    stamp = "I20250403 16:40:52.338333 720070 solver.cpp:{}] "
    lines, train, test = [], [], []
    for it in range(0, 500, 100):
        if it % 200 == 0:
            with torch.no_grad():
                out = model(x[1400:])
                tl = torch.nn.functional.cross_entropy(out, y[1400:]).item()
                acc = (out.argmax(1) == y[1400:]).float().mean().item()
            test.append(round(tl, 5))
            lines += [stamp.format(329) + f"Iteration {it}, Testing net (#0)",
                      stamp.format(396) + f"    Test net output #0: accuracy = {acc:.4f}",
                      stamp.format(396) + f"    Test net output #1: loss = {tl:.5f} (* 1 = {tl:.5f} loss)"]
        for k in range(100):
            b = ((it + k) * 16) % 1392
            loss = torch.nn.functional.cross_entropy(model(x[b:b + 16]), y[b:b + 16])
            opt.zero_grad(), loss.backward(), opt.step()
        train.append(round(loss.item(), 5))
        lines += [stamp.format(217) + f"Iteration {it + 100} (11.7357 iter/s, 8.521s/100 iters), loss = {loss.item():.5f}",
                  stamp.format(236) + f"    Train net output #0: loss = {loss.item():.5f} (* 1 = {loss.item():.5f} loss)"]
    path = tmp_path / "caffe.log"
    path.write_text("\n".join(lines) + "\n")
    run = lrdoctor.read(str(path))
    assert run.meta.roles["eval_loss"] == "test_loss" and run.meta.roles["eval_accuracy"] == "test_accuracy"
    assert list(run.series("loss").values) == train and list(run.series("eval_loss").values) == test
    assert "solver.cpp" not in run.metrics
