"""Rules from the stop-32 study of the benchmark (issue 9), each on a real log or a really trained
run, with a twin:

- a classification error rate (CNTK's ``errTop1``) is one minus an accuracy: at 1 - 1/K it
  confirms a loss at ln K, and its ``top1`` no longer reads it as an accuracy;
- a log with no step column (reports numbered by row) says nowhere that it starts at the start of
  training, so the chance rules judge it rather than calling it too early.
"""

from __future__ import annotations

import pytest
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, warned

import lrdoctor

torch.set_num_threads(1)


_warned, _digits = warned, digits_mlp


# ---------------------------------------------------------------- slow_progress: an error rate at 1 - 1/K

def _cntk_lines(seed: int, shuffled: bool, lr: float) -> str:
    """CNTK's minibatch summary lines (``ce = L * N; errTop1 = E * N``) of a digits MLP: the mean
    cross-entropy and top-1 error of each block of 20 minibatches; ``shuffled`` trains on
    permuted labels, so nothing can be learned. No step column: the reports are rows."""
    x, y, model = _digits(seed)
    g = torch.Generator().manual_seed(seed)
    y = y[torch.randperm(len(y), generator=g)] if shuffled else y
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines, n = [], 0
    for block in range(4):
        ce, err, seen = 0.0, 0.0, 0
        for _ in range(20):
            i = (n * 32) % 1760
            out = model(x[i:i + 32])
            loss = torch.nn.functional.cross_entropy(out, y[i:i + 32])
            opt.zero_grad()
            loss.backward()
            opt.step()
            ce += float(loss.detach()) * 32
            err += float((out.argmax(1) != y[i:i + 32]).float().sum())
            seen += 32
            n += 1
        a, b = block * 20 + 1, block * 20 + 20
        lines.append(f" Epoch[ 1 of 30]-Minibatch[{a:4d}-{b:4d}, {100 * b / 55:.2f}%]: ce = {ce / seen:.8f} * {seen}; "
                     f"errTop1 = {err / seen:.8f} * {seen}; time = 0.69s; samplesPerSecond = 23252.3")
    return "Starting minibatch loop.\n" + "\n".join(lines) + "\n"


def test_an_error_rate_at_chance_confirms_a_loss_at_ln_k(tmp_path):
    """Shuffled labels at a tiny LR: the cross-entropy sits at ln 10 and errTop1 near 0.9 in
    every block. Before, ``errTop1`` read as an accuracy of 0.9 ("it learned") and the rows read
    as the first updates, so the report was silent. The twin on true labels learns."""
    log = tmp_path / "cntk.log"
    log.write_text(_cntk_lines(0, shuffled=True, lr=1e-3))
    f = _warned(lrdoctor.diagnose(log), 2)["slow_progress"]
    assert f.evidence["num_classes"] == 10 and f.evidence["accuracy_metric"] == "err_top1"
    assert abs(f.evidence["error_rate_median"] - 0.9) < 0.06 and abs(f.evidence["accuracy_median"] - 0.1) < 0.06
    assert "err_top1 0.9" in f.summary and "~ 1 - 1/10" in f.summary
    log.write_text(_cntk_lines(0, shuffled=False, lr=0.5))
    assert "slow_progress" not in _warned(lrdoctor.diagnose(log), 0)


def _top1_error_epochs(seed: int) -> str:
    """``epoch E loss L val_top1_err R`` of a digits MLP that learns (SGD 0.5): the top-1 error
    on 397 held-out images falls from ~0.29 to ~0.11 over six epochs."""
    x, y, model = _digits(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    rows = []
    for epoch in range(1, 7):
        mean, _ = fit_epoch(model, opt, x, y)
        with torch.no_grad():
            err = float((model(x[1400:]).argmax(1) != y[1400:]).float().mean())
        rows.append(f"epoch {epoch} loss {mean:.4f} val_top1_err {err:.4f}")
    return "\n".join(rows) + "\n"


def test_a_falling_top1_error_is_no_accuracy(tmp_path):
    """``val_top1_err`` is the share of wrong answers: its ``top1`` had given it the evaluation
    accuracy's role, and its fall read as a performance reversal (a warning on a model that
    learns). Its complement, printed as an accuracy, is the healthy twin."""
    text = _top1_error_epochs(0)
    errors = [float(r.split()[-1]) for r in text.splitlines()]
    assert errors[-1] < errors[0] - 0.1  # it learned
    log = tmp_path / "train.log"
    log.write_text(text)
    report = lrdoctor.diagnose(log)
    assert "eval_accuracy" not in report.run.meta.roles and not _warned(report, 1)
    log.write_text("".join(f"epoch {e + 1} loss {r.split()[3]} val_top1_acc {1 - v:.4f}\n"
                           for e, (r, v) in enumerate(zip(text.splitlines(), errors))))
    report = lrdoctor.diagnose(log)
    assert report.run.meta.roles["eval_accuracy"] == "val_top1_acc" and not _warned(report, 1)


@pytest.mark.parametrize("path, config", [("fresh131/cntk-638-tutorial2-mnist-ce-stuck/paste.txt", None),
                                          ("fresh17/cntk-issue1143-cifar-chance/train.log", {"num_classes": 10})])
def test_real_cntk_pastes_at_chance(path, config):
    """Two CNTK logs with no step column: MNIST at ce 2.3026 with errTop1 0.89 over minibatches
    1-1500 (K inferred from the two); CIFAR-10's cross-entropy 2.29-2.32 (K from the config)."""
    f = _warned(lrdoctor.diagnose(lrdoctor.read(real_log(path), config=config)), 2)["slow_progress"]
    assert f.evidence["num_classes"] == 10


# ---------------------------------------------------------------- divergence: the accuracy held

def _contexts(seed: int, lr: float) -> str:
    """A continual-learning notebook's end-of-context lines (GMvandeVen's "<CLASSIFIER> | Context:
    k/5 | training loss: L | training accuracy: A |: 100%|...") of a digits MLP fitting five
    two-class tasks in turn with Adam: each task's loss and accuracy after 300 updates on it."""
    x, y, model = _digits(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    lines = []
    for t in range(5):
        m = (y == 2 * t) | (y == 2 * t + 1)
        xt, yt = x[m], y[m]
        for it in range(300):
            i = (it * 32) % len(xt)
            loss = torch.nn.functional.cross_entropy(model(xt[i:i + 32]), yt[i:i + 32])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            out = model(xt)
            ce, acc = float(torch.nn.functional.cross_entropy(out, yt)), float((out.argmax(1) == yt).float().mean())
        lines.append(f"<CLASSIFIER> | Context: {t + 1}/5 | training loss: {ce:.3g} | training accuracy: {acc:.3g} |: "
                     "100%|##########| 300/300 [00:10<00:00, 47.20it/s]")
    return "\n".join(lines) + "\n"


def test_a_tiny_loss_that_rises_while_the_accuracy_holds_is_no_divergence(tmp_path):
    """Five tasks fitted in turn at Adam 3e-3: the end-of-task loss goes 0.004 -> 0.07 (a rise of
    15x over its best) while the training accuracy stays at 0.99-1.0. Before, a divergence error.
    The twin at 3e-2 loses the later tasks (loss at ln 2, accuracy 0.5): still a divergence."""
    log = tmp_path / "contexts.log"
    log.write_text(_contexts(2, 3e-3))
    assert "divergence" not in _warned(lrdoctor.diagnose(log), 0)
    log.write_text(_contexts(2, 3e-2))
    assert _warned(lrdoctor.diagnose(log), 2)["divergence"].evidence["final_loss"] > 0.69


def test_real_continual_learning_notebook_and_an_exploding_detector():
    """GMvandeVen's naive fine-tuning (loss 1.05e-05 -> 0.0128, accuracy 0.992-1.0) is quiet; an
    mmdet RCNN whose loss went 1.4 -> 4421 beside a 99% background accuracy still diverges, and a
    running best (``best_val_acc``) clears nothing (a ResNet-50 fine-tune whose train_acc fell 25 -> 0.2)."""
    quiet = lrdoctor.diagnose(real_log("fresh176/gmvandeven-cl-nb-splitmnist-naive/example_comparison.output.txt"))
    assert "divergence" not in _warned(quiet, 0)
    assert "divergence" in _warned(lrdoctor.diagnose(real_log("fresh65/mmdet-issue4299-rpn-explosion/train.log")), 2)
    assert "divergence" in _warned(lrdoctor.diagnose(real_log("fresh97/spark-27-resnet50-finetune-collapse/train.log")), 2)


# ---------------------------------------------------------------- readers: printed tensors, tutorial prints, bare pairs

def _printed_tensor_losses(seed: int, poison: bool) -> str:
    """What ``print(loss)`` then ``print(i, loss)`` write for a digits MLP, every other step (the
    tensor's own repr); with ``poison`` a NaN pixel in the 5th batch makes every later loss NaN."""
    x, y, model = _digits(seed)
    if poison:
        x = x.clone()
        x[4 * 32 + 3, 7] = float("nan")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    out = []
    for i in range(12):
        loss = torch.nn.functional.cross_entropy(model(x[i * 32:(i + 1) * 32]), y[i * 32:(i + 1) * 32])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i % 2 == 0:
            out.append(str(loss))
            out.append(f"{i} {loss!s}")  # (print(i, loss) writes the repr; a format spec would not)
    return "\n".join(out) + "\n"


def test_printed_loss_tensors_are_read(tmp_path):
    """``tensor(2.3143, grad_fn=<NllLossBackward0>)``: the autograd node names a loss. Before,
    "no line looks like a training log"."""
    log = tmp_path / "out.txt"
    log.write_text(_printed_tensor_losses(0, poison=False))
    assert "grad_fn=<NllLossBackward0>" in log.read_text()
    run = lrdoctor.read(log)
    assert list(run.steps) == [0, 2, 4, 6, 8, 10] and run.series("loss").values[0] > 2.0
    assert "nonfinite" not in _warned(lrdoctor.diagnose(run), 0)
    log.write_text(_printed_tensor_losses(0, poison=True))
    assert _warned(lrdoctor.diagnose(log), 2)["nonfinite"].start_step == 4


def _tutorial_lines(seed: int, poison: bool) -> str:
    """The PyTorch char-RNN tutorial's print, ``'%d %d%% (%s) %.4f %s / %s %s'`` (iteration,
    share, elapsed time, loss, then a sample and its guess), of a digits MLP trained one example
    at a time; with ``poison`` the 300th example carries a NaN pixel."""
    x, y, model = _digits(seed)
    if poison:
        x = x.clone()
        x[300, 9] = float("nan")
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    lines, total = [], 0.0
    for it in range(1, 601):
        loss = torch.nn.functional.cross_entropy(model(x[it:it + 1]), y[it:it + 1])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if it % 50 == 0:
            guess = int(model(x[it:it + 1]).argmax())
            mark = "✓" if guess == int(y[it]) else f"✗ ({int(y[it])})"
            lines.append(f"{it} {it * 100 // 600}% (0m {it // 50}s) {float(loss.detach()):.4f} digit{it} / {guess} {mark}")
    return "\n".join(lines) + "\n"


def test_pytorch_tutorial_progress_prints(tmp_path):
    log = tmp_path / "paste.txt"
    log.write_text(_tutorial_lines(0, poison=False))
    run = lrdoctor.read(log)
    assert run.steps[0] == 50 and run.steps[-1] == 600 and run.meta.roles["loss"] == "loss"
    assert "nonfinite" not in _warned(lrdoctor.diagnose(run), 0)
    log.write_text(_tutorial_lines(0, poison=True))
    assert _warned(lrdoctor.diagnose(log), 2)["nonfinite"].start_step == 300
    real = lrdoctor.diagnose(real_log("fresh173/pttutorials-847-char-rnn-nan/paste.txt"))
    assert _warned(real, 2)["nonfinite"].start_step == 35000


@pytest.mark.parametrize("text, loss", [
    ("0m 6s (5000 5%) 3.1506\n0m 12s (10000 10%) 2.5063\n0m 18s (15000 15%) 2.3012\n", [3.1506, 2.5063, 2.3012]),
    ("1m 47s (- 25m 1s) (5000 6%) 2.8632\n3m 30s (- 22m 47s) (10000 13%) 2.2804\n", [2.8632, 2.2804]),
])
def test_the_other_tutorial_prints(tmp_path, text, loss):
    """The char-RNN generator's and the seq2seq translator's ``'%s (%d %d%%) %.4f'``."""
    log = tmp_path / "paste.txt"
    log.write_text(text)
    run = lrdoctor.read(log)
    assert list(run.series("loss").values) == loss and run.steps[0] == 5000


def test_bare_pairs_beside_a_progress_share_and_a_lone_colon():
    """RWKV-LM's "miniE 1 s 833 prog 20.00% : ppl 5.41 loss 1.69 lr 3.3e-04: 100%|...| 833/833 [...]",
    the pairs in a tqdm bar's description. Before, "no numeric columns found"."""
    run = lrdoctor.read(real_log("fresh172/rwkvlm-266-v4-enwik8-scratch/paste.txt"))
    assert list(run.series("loss").values[:2]) == [1.687660, 1.251349]
    assert run.series("lr").values[0] == pytest.approx(3.330213e-04)


# ---------------------------------------------------------------- readers: LIBMF's table, a CSV of tensor reprs

def _libmf_table(seed: int, l2: float) -> str:
    """LIBMF's iteration table ("iter  tr_rmse  va_rmse  obj") of a rank-20 matrix factorisation
    trained with Adam on 30% of a noisy rank-3 rating matrix, validated on another 15%; without
    ``l2`` it memorises the noise and its validation RMSE turns up, with it it does not."""
    g = torch.Generator().manual_seed(seed)
    u, v = torch.randn(60, 3, generator=g), torch.randn(50, 3, generator=g)
    r = u @ v.T + torch.randn(60, 50, generator=g)
    seen = torch.rand(60, 50, generator=g) < 0.3
    held = (torch.rand(60, 50, generator=g) < 0.15) & ~seen
    torch.manual_seed(seed)
    p, q = torch.nn.Parameter(0.1 * torch.randn(60, 20)), torch.nn.Parameter(0.1 * torch.randn(50, 20))
    opt = torch.optim.Adam([p, q], lr=0.02)
    lines = ["iter      tr_rmse      va_rmse          obj"]
    for it in range(25):
        for _ in range(5):
            obj = ((p @ q.T - r)[seen] ** 2).sum() + l2 * (p.pow(2).sum() + q.pow(2).sum())
            opt.zero_grad()
            obj.backward()
            opt.step()
        with torch.no_grad():
            err = p @ q.T - r
            tr, va = float(err[seen].pow(2).mean().sqrt()), float(err[held].pow(2).mean().sqrt())
        lines.append(f"{it:4d}   {tr:10.4f}   {va:10.4f}   {float(obj.detach()):.4e}")
    return "\n".join(lines) + "\n"


def test_a_table_headed_by_its_step_column(tmp_path):
    """A whitespace table whose header starts with ``iter`` is a table whatever its other names;
    ``va_`` is LIBMF's validation split beside ``tr_``. Before, "no line looks like a training log"."""
    log = tmp_path / "train.log"
    log.write_text(_libmf_table(0, l2=0.0))
    report = lrdoctor.diagnose(log)
    assert report.run.meta.roles["eval_loss"] == "va_rmse" and "overfitting" in _warned(report)
    log.write_text(_libmf_table(0, l2=3.0))
    assert "overfitting" not in _warned(lrdoctor.diagnose(log), 0)
    real = lrdoctor.diagnose(real_log("fresh118/libmf-49-mf-overfitting/train.log"))
    assert _warned(real)["overfitting"].start_step == 4  # va_rmse's minimum 0.6599 at iteration 4


def test_a_csv_whose_cells_are_tensor_reprs(tmp_path):
    """``csv.writer`` handed tensors writes their repr ("tensor(0.1623)"), quoted where it holds a
    comma; the cells are the numbers. Before, the file read as text and was refused. In the twin a
    validation image with a NaN pixel from the third epoch on makes the validation loss NaN."""
    import csv

    for poison in (False, True):
        x, y, model = _digits(0)
        xv = x[1500:].clone()
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        path = tmp_path / f"log_train_{poison}"
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["epoch", "train_loss", "val_loss"])
            for epoch in range(1, 5):
                if poison and epoch == 3:
                    xv[3, 10] = float("nan")  # a corrupt validation image from the third epoch on
                for i in range(0, 1500, 100):
                    loss = torch.nn.functional.cross_entropy(model(x[i:i + 100]), y[i:i + 100])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                with torch.no_grad():
                    w.writerow([epoch, loss.detach(), torch.nn.functional.cross_entropy(model(xv), y[1500:])])
        assert "tensor(" in path.read_text()
        report = lrdoctor.diagnose(path)
        assert report.run.meta.format == "csv" and list(report.run.steps) == [1, 2, 3, 4]
        assert ("nonfinite" in _warned(report, 1)) is poison
    real = lrdoctor.read(real_log("fresh175/reproduce-chexnet-pretrained-log-train-tensor/log_train"))
    assert real.series("loss").values[0] == pytest.approx(0.1623) and real.series("eval_loss").values[0] == pytest.approx(0.1541)


def _nll_lines(seed: int, lr: float) -> str:
    """TFP's notebook print, "Epoch E" then "Training negative log-likelihood: X", of a digits MLP
    trained with a summed NLL (reduction="sum" over batches of 100); at a huge ``lr`` it blows up
    and never recovers."""
    x, y, model = _digits(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    lines = []
    for epoch in range(6):
        total = 0.0
        for i in range(0, 1500, 100):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 100]), y[i:i + 100], reduction="sum")
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
        lines += [f"Epoch {epoch}", f"Training negative log-likelihood: {total / 15:.3f}"]
    return "\n".join(lines) + "\n"


def test_a_negative_log_likelihood_spelt_out_is_the_loss(tmp_path):
    """Before, "negative log-likelihood" was no loss word and the log was refused."""
    log = tmp_path / "train_output.txt"
    log.write_text(_nll_lines(0, 1e-3))
    report = lrdoctor.diagnose(log)
    assert "likelihood" in report.run.meta.roles["loss"] and not _warned(report, 1)
    log.write_text(_nll_lines(0, 20.0))  # the first epoch blows up to 2e14, then it sits at ~90,000: nothing learned
    assert "slow_progress" in _warned(lrdoctor.diagnose(log), 2)
    real = lrdoctor.read(real_log("fresh180/tfp-sigmoid-belief-network-caltech/train_output.txt"))
    assert real.series("loss").values[0] == pytest.approx(344.790) and real.n_steps == 100


# ---------------------------------------------------------------- readers: a headerless table with a perplexity

def _rwkv_rows(seed: int, lr: float, poison_epoch: int | None = None) -> str:
    """RWKV-LM's train_log.txt rows, ``epoch loss ppl lr date time epoch`` with no header, of a
    digits MLP (one row per epoch: the mean cross-entropy and its exp, the perplexity); from
    ``poison_epoch`` on one training image carries a NaN pixel."""
    import datetime
    import math

    x, y, model = _digits(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    t0 = datetime.datetime(2025, 4, 24, 2, 23, 42, 481256)
    rows = []
    for epoch in range(8):
        if epoch == poison_epoch:
            x = x.clone()
            x[777, 5] = float("nan")
        losses = []
        for i in range(0, 1500, 50):
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        ce = sum(losses) / len(losses)
        ppl = math.exp(ce)
        rows.append(f"{epoch} {ce:.6f} {ppl:.4f} {lr:.8f} {t0 + datetime.timedelta(minutes=5 * epoch)} {epoch}")
    return "\n".join(rows) + "\n"


def test_a_headerless_table_whose_perplexity_names_its_loss(tmp_path):
    """No name anywhere, but one column is exp of another at every row: the pair is a
    cross-entropy and its perplexity (wall-clock stamps among the numbers are set aside). Before,
    "no line looks like a training log". In the twin a NaN pixel from epoch 4 on makes the loss
    (and so its perplexity) NaN."""
    log = tmp_path / "train_log.txt"
    log.write_text(_rwkv_rows(0, 0.1))
    run = lrdoctor.read(log)
    assert run.meta.roles["loss"] == "loss" and run.series("loss").values[0] > 1.0 and run.n_steps == 8
    assert not _warned(lrdoctor.diagnose(run), 1)
    log.write_text(_rwkv_rows(0, 0.1, poison_epoch=4))
    assert "nan nan" in log.read_text()
    assert _warned(lrdoctor.diagnose(log), 2)["nonfinite"].start_step == 4
    real = lrdoctor.read(real_log("fresh172/rwkv7-minipile-reference-train-log/train_log.txt"))
    assert real.series("loss").values[0] == pytest.approx(4.875856) and real.n_steps == 12
