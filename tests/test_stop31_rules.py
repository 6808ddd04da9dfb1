"""Rules from the stop-31 study of the benchmark (issue 9), each on a real log or a really trained
run, with a twin:

- a text log that prints an evaluation loss as ``nan`` computed it: NaN on every row is a
  blow-up there (a machine-written file's NaN column still reads as never computed: the
  YOLOv8 case of test_stop23_rules);
- a loss that prints 0.0000 from the first epoch on is no working objective (a warning: the
  print is rounded), while the same zeros in a tail excerpt are left alone.
"""

from __future__ import annotations

import math

import numpy as np

import pytest
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, warned

import lrdoctor

torch.set_num_threads(1)


_warned, _digits = warned, digits_mlp


def _ce_epoch(model, opt, x, y, batch: int) -> float:
    """One pass of cross-entropy SGD over ``x``, ``y`` in batches of ``batch``: the mean batch loss."""
    losses = []
    for i in range(0, len(x), batch):
        loss = torch.nn.functional.cross_entropy(model(x[i:i + batch]), y[i:i + batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return sum(losses) / len(losses)


# ---------------------------------------------------------------- nonfinite: a printed nan evaluation

def _train_with_validation(seed: int, poison: bool, epochs: int = 4) -> list[tuple[float, float]]:
    """(train loss, validation loss) per epoch of a digits MLP; with ``poison`` one validation
    image carries a NaN pixel, as an unchecked preprocessing step leaves it, so every
    validation pass really computes a NaN mean loss."""
    x, y, model = _digits(seed)
    xv, yv = x[1500:].clone(), y[1500:]
    if poison:
        xv[3, 10] = float("nan")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for _ in range(epochs):
        train = _ce_epoch(model, opt, x[:1500], y[:1500], 100)
        with torch.no_grad():
            val = float(torch.nn.functional.cross_entropy(model(xv), yv))
        out.append((train, val))
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_a_printed_nan_validation_loss_was_computed(tmp_path, seed):
    """The run's own print, `epoch: E, val_loss: nan`, at every epoch: the trainer computed the
    loss and it is NaN. Before, a column NaN on every row was taken as never computed and the
    report was silent."""
    rows = _train_with_validation(seed, poison=True)
    assert all(math.isnan(v) for _, v in rows) and rows[-1][0] < rows[0][0]  # really NaN, training learned
    log = tmp_path / "train.log"
    log.write_text("".join(f"epoch: {e}, train loss: {t:.4f}, val_loss: {v:.4f}\n" for e, (t, v) in enumerate(rows)))
    f = _warned(lrdoctor.diagnose(log))["nonfinite"]
    assert f.evidence["metric"] == "eval_loss" and f.start_step == 0
    # twin: the clean validation set prints finite losses and nothing is found
    clean = _train_with_validation(seed, poison=False)
    log.write_text("".join(f"epoch: {e}, train loss: {t:.4f}, val_loss: {v:.4f}\n" for e, (t, v) in enumerate(clean)))
    twin = lrdoctor.diagnose(log)
    assert "nonfinite" not in _warned(twin, 0) and "nonfinite" in twin.coverage.ran


def test_transtab_paste_nan_validation():
    """transtab issue 1: `epoch: 0, test val_loss: nan` at both epochs while the train loss falls."""
    f = _warned(lrdoctor.diagnose(real_log("fresh132/transtab-1-fasttrain-val-nan/paste.txt")))["nonfinite"]
    assert f.evidence["metric"] == "eval_loss"


# ---------------------------------------------------------------- slow_progress: zero from the first epoch

def _masked_epochs(seed: int, epochs: int = 4) -> list[float]:
    """Per-epoch loss of a digits MLP whose loss mask drops every sample (a collator that masks
    all labels): the summed masked loss is exactly 0 and nothing is learned."""
    x, y, model = _digits(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    first = [p.detach().clone() for p in model.parameters()]
    out = []
    for _ in range(epochs):
        total, n = 0.0, 0
        for i in range(0, 1500, 100):
            per = torch.nn.functional.cross_entropy(model(x[i:i + 100]), y[i:i + 100], reduction="none")
            loss = (per * torch.zeros_like(per)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, n = total + float(loss.detach()), n + 1
        out.append(total / n)
    assert all(torch.equal(a, b) for a, b in zip(first, model.parameters()))  # nothing moved
    return out


def test_a_loss_printing_zero_from_the_first_epoch(tmp_path):
    """RecBole's print (`epoch 0 training [time: 1.2s, train loss: 0.0000]`) of a run whose mask
    drops every label: a warning (the print is rounded below 5e-5, so not an error)."""
    losses = _masked_epochs(0)
    log = tmp_path / "train.log"
    log.write_text("".join(f"INFO  epoch {e} training [time: 1.20s, train loss: {v:.4f}]\n" for e, v in enumerate(losses)))
    f = _warned(lrdoctor.diagnose(log))["slow_progress"]
    assert f.severity.name == "WARNING" and "first epoch" in f.evidence["rule"]
    # twin: the same zeros printed from epoch 40 on (the tail of a long run) are no evidence
    log.write_text("".join(f"INFO  epoch {e} training [time: 1.20s, train loss: {v:.4f}]\n" for e, v in enumerate(losses, 40)))
    assert "slow_progress" not in _warned(lrdoctor.diagnose(log), 0)


def test_recbole_mamo_zero_loss():
    """RecBole issue 1533: MAMO's train loss 0.0000 at epochs 0-3."""
    f = _warned(lrdoctor.diagnose(real_log("fresh35/recbole-1533-mamo-zero-loss/train.log")))["slow_progress"]
    assert f.evidence["points"] == 4


# ---------------------------------------------------------------- readers: formats from the stop-31 slices

def _l1_epochs(seed: int, lr: float, poison_epoch: int | None = None) -> list[list[float]]:
    """Per-report L1 losses (4 reports an epoch, 3 epochs) of a tiny digits regressor trained
    with an L1 objective, as EDSR trains; from ``poison_epoch`` on its inputs carry a NaN."""
    x, _, _ = _digits(seed)
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 64))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    out = []
    for epoch in range(3):
        xs = x.clone()
        if poison_epoch is not None and epoch >= poison_epoch:
            xs[::7, 5] = float("nan")
        reports = []
        for k in range(4):
            total = 0.0
            for i in range(k * 400, k * 400 + 400, 50):
                loss = torch.nn.functional.l1_loss(net(xs[i:i + 50]), x[i:i + 50]) * 255
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach())
            reports.append(total / 8)
        out.append(reports)
    return out


def _edsr_log(path, epochs: list[list[float]]):
    lines = []
    for e, reports in enumerate(epochs, 1):
        lines.append(f"[Epoch {e}]\tLearning rate: 1.00e-4\n")
        lines += [f"[{(k + 1) * 400}/1600]\t[L1: {v:.4f}]\t20.0+60.3s\n" for k, v in enumerate(reports)]
    path.write_text("".join(lines))
    return path


def test_edsr_prints_its_loss_by_the_function_name(tmp_path):
    """EDSR's trainer prints `[L1: 5.9633]`: L1 is the objective (the only loss the log has), not
    one term of several. A really trained L1 regressor whose inputs turn NaN in epoch 2 blows up;
    its clean twin is read with the same loss and is quiet."""
    bad = _edsr_log(tmp_path / "bad.log", _l1_epochs(0, 1e-3, poison_epoch=1))
    run = lrdoctor.read(bad)
    assert run.meta.roles["loss"] == "l1_loss"
    assert "nonfinite" in _warned(lrdoctor.diagnose(run), 2)
    good = lrdoctor.read(_edsr_log(tmp_path / "good.log", _l1_epochs(0, 1e-3)))
    assert good.meta.roles["loss"] == "l1_loss" and not _warned(lrdoctor.diagnose(good))


def test_one_loss_term_among_several_is_still_no_objective(tmp_path):
    """The fallback takes a lone term only: a YOLOX-style line of several terms and no total keeps
    its terms as terms (their sum is the loss)."""
    log = tmp_path / "yolox.log"
    log.write_text("".join(f"iter: {i}/100, cls_loss: {3.9 - i / 100:.2f}, l1_loss: {2.5 - i / 200:.2f}\n"
                           for i in range(10, 60, 10)))
    run = lrdoctor.read(log)
    assert run.meta.roles.get("loss") not in ("l1_loss", "cls_loss")


def test_real_edsr_pastes():
    """EDSR issue 21 (L1 NaN from epoch 2), issue 214 (L1 5.96 -> 2948 within an epoch) and
    issue 317 (`PSNR: nan (Best: nan @epoch 1)`: a text log's printed NaN metric was computed)."""
    f = _warned(lrdoctor.diagnose(real_log("fresh156/edsr-21-l1-nan-from-epoch2/paste.txt")), 2)
    assert f["nonfinite"].start_step == 2
    jump = lrdoctor.read(real_log("fresh156/edsr-214-l1-jump-epoch26/paste.txt"))
    assert jump.series("loss").values.max() == pytest.approx(3150.1106)
    psnr = _warned(lrdoctor.diagnose(real_log("fresh156/edsr-317-psnr-nan-epoch1/paste.txt")))
    assert psnr["nonfinite"].evidence["metric"] == "eval_accuracy"


def test_camel_case_after_a_digit_splits():
    """Trax prints `train L2Loss |  7.69807005`: l2 + loss. An all-capital word stays whole."""
    from lrdoctor.names import tokens

    assert tokens("train_L2Loss") == ["train", "l2", "loss"]
    assert tokens("E2E") == ["e2e"] and tokens("mAP50") == ["map50"]
    run = lrdoctor.read(real_log("fresh157/trax-earlystop-linear-patience1/notebook_output.txt"))
    assert run.meta.roles["loss"] == "train_L2Loss" and run.meta.roles["eval_loss"] == "eval_L2Loss"


def test_real_spacy_outputs():
    """spaCy v2's `spacy train` table (`Itn  Dep Loss  NER Loss  UAS ...`: the loss is the two
    components' sum, one row per epoch), its training loops' `Losses {'ner': 9.899}`, and v3's
    SCORE column, the dev-set score."""
    v2 = lrdoctor.read(real_log("fresh160/spacy-3082-nb-core-v2-table/paste.txt"))
    assert v2.meta.step_unit == "epoch" and v2.n_steps == 11
    assert v2.series("loss").values[0] == pytest.approx(125910.684 + 7581.375)
    loop = lrdoctor.read(real_log("fresh160/spacy-5034-train-ner-example-gpu/paste.txt"))
    assert loop.meta.roles["loss"] == "ner_loss" and loop.series("loss").values[0] == pytest.approx(9.899998903274536)
    v3 = lrdoctor.read(real_log("fresh160/spacy-6233-ner-tok2vec-v3/paste.txt"))
    assert v3.meta.roles["eval_accuracy"] == "dev_score"


def test_insightface_lossvalue():
    """insightface's MXNet metric `lossvalue=0.174548` is its loss."""
    run = lrdoctor.read(real_log("fresh161/insightface-283-triplet-reset-spikes/paste.txt"))
    assert run.meta.roles["loss"] == "lossvalue"


# ---------------------------------------------------------------- slow_progress: a frozen term in running averages

def _two_head_batches(seed: int, dead: bool) -> list[tuple[float, float]]:
    """(total, aux term) per batch of a digits MLP trained one sample at a time on cross-entropy
    plus a 0.1-weighted second head; ``dead`` feeds the second head a constant and detaches it."""
    x, y, model = _digits(seed)
    torch.manual_seed(seed)
    aux = torch.nn.Linear(64, 10)
    opt = torch.optim.SGD(list(model.parameters()) + list(aux.parameters()), lr=0.01)
    out = []
    for i in range(1200):
        xi, yi = x[i:i + 1], y[i:i + 1]
        if dead:  # a head fed a constant, its output detached: the same term on every batch
            a = 0.1 * torch.nn.functional.cross_entropy(aux(torch.zeros_like(xi)).detach(), torch.zeros_like(yi))
        else:
            a = 0.1 * torch.nn.functional.cross_entropy(aux(xi), yi)
        loss = torch.nn.functional.cross_entropy(model(xi), yi) + a
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append((float(loss.detach()), float(a.detach())))
    return out


def _fairmot_lines(rows, first: int) -> str:
    return "".join(f"mot/default| train: [1][{first + k}/1200]|Tot: 0:15:44 |ETA: 0:00:00 |loss {t:.4f} |aux_loss {a:.4f} |\n"
                   for k, (t, a) in enumerate(rows))


def test_running_averages_late_in_an_epoch_freeze_no_term(tmp_path):
    """FairMOT prints running averages (AverageMeter): at batch 1100 of an epoch every term moves
    by about one printed step, so a term printing the same value five times is no dead head."""
    b = _two_head_batches(0, dead=False)
    tot, aux = np.cumsum([t for t, _ in b]), np.cumsum([a for _, a in b])
    n = np.arange(1, len(b) + 1)
    running = list(zip(tot / n, aux / n))[1100:1106]
    log = tmp_path / "avg.log"
    log.write_text(_fairmot_lines(running, 1100))
    run = lrdoctor.read(log)
    assert len(set(f"{a:.4f}" for _, a in running)) <= 2  # the averaged term does print (nearly) one value
    assert "slow_progress" not in _warned(lrdoctor.diagnose(run), 0)
    # twin: per-batch values of a dead second head (a constant input) beside a moving total
    dead = _two_head_batches(0, dead=True)[1100:1106]
    log.write_text(_fairmot_lines(dead, 1100))
    f = _warned(lrdoctor.diagnose(log))["slow_progress"]
    assert f.evidence["metric"] == "aux_loss"


def test_real_fairmot_running_averages():
    """FairMOT issue 390: off_loss 0.1891 on five running-average lines while the total -0.5303 ..
    -0.5300 moves by 0.06% a line."""
    rep = lrdoctor.diagnose(real_log("fresh158/fairmot-390-negative-loss-iters/paste.txt"))
    assert "slow_progress" not in _warned(rep, 0) and "slow_progress" in rep.coverage.ran


# ---------------------------------------------------------------- divergence: the evaluation kept improving

def _summed_interval_losses(seed: int) -> list[tuple[float, float]]:
    """(loss summed over the interval's batches, dev accuracy) at six evaluations of a digits MLP,
    after 30 warm batches, whose batch count per interval grows 8 -> 36 (spaCy's compounding batch
    sizes): the summed loss rises while the model keeps improving."""
    x, y, model = _digits(seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    i = 0

    def batch() -> float:
        nonlocal i
        j = (i * 20) % 1400
        loss = torch.nn.functional.cross_entropy(model(x[j:j + 20]), y[j:j + 20], reduction="sum")
        opt.zero_grad()
        (loss / 20).backward()
        opt.step()
        i += 1
        return float(loss.detach())

    for _ in range(30):
        batch()
    for g in opt.param_groups:
        g["lr"] = 5e-4
    out = []
    for n in (8, 11, 15, 20, 27, 36):
        total = sum(batch() for _ in range(n))
        with torch.no_grad():
            acc = float((model(x[1400:]).argmax(1) == y[1400:]).float().mean())
        out.append((total, acc))
    return out


def test_a_summed_loss_that_rises_while_the_dev_score_improves(tmp_path):
    """The loss rises at every evaluation because each sums more batches, while the dev score
    sets a new best each time: no divergence. The twin, the same log without its dev score,
    is reported (the guard is what withdraws it)."""
    rows = _summed_interval_losses(0)
    accs = [a for _, a in rows]
    assert all(accs[k] > max(accs[:k]) for k in range(2, len(accs)))  # the model really kept improving
    log = tmp_path / "spacy.log"
    log.write_text("".join(f"step {200 * k} loss {t:.2f} dev_score {a:.4f}\n" for k, (t, a) in enumerate(rows)))
    assert "divergence" not in _warned(lrdoctor.diagnose(log), 0)
    log.write_text("".join(f"step {200 * k} loss {t:.2f}\n" for k, (t, _) in enumerate(rows)))
    assert "divergence" in _warned(lrdoctor.diagnose(log))


def test_real_spacy_v3_rise_with_a_rising_score():
    """spaCy issue 6233: NER loss 4601 -> 8976 while the dev score rose 0.59 -> 0.70 at every row."""
    rep = lrdoctor.diagnose(real_log("fresh160/spacy-6233-ner-tok2vec-v3/paste.txt"))
    assert "divergence" not in _warned(rep, 0) and "divergence" in rep.coverage.ran


def test_real_key_value_quirks():
    """StudioGAN's `ada_p: No Discriminator_loss: 4.88613` (No is ada_p's value, not part of the
    next key), MADlib's `Loss: <0.209832004773>` and triplet-reid's `loss min|avg|max:
    0.736|0.973| 3.527` (the batch mean is the loss)."""
    gan = lrdoctor.read(real_log("fresh156/studiogan-40-contragan256-eval-step100000/paste.txt"))
    assert gan.meta.roles["d_loss"] == "discriminator_loss"
    madlib = lrdoctor.read(real_log("fresh17/madlib-pr564-mlp-adam/pr564.log"))
    assert madlib.series("loss").values[0] == pytest.approx(0.209832004773)
    trip = lrdoctor.read(real_log("fresh158/tripletreid-91-market-early-iters/paste.txt"))
    assert trip.meta.roles["loss"] == "avg_loss" and trip.series("loss").values[0] == pytest.approx(0.973)


# ---------------------------------------------------------------- performance_reversal: a drop that holds

def _digits_val_acc(seed: int, lrs: list[float]) -> list[float]:
    """Validation accuracy after each epoch of a digits MLP (plain SGD) at the epoch's LR."""
    x, y, model = _digits(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lrs[0])
    accs = []
    for lr in lrs:
        for g in opt.param_groups:
            g["lr"] = lr
        _ce_epoch(model, opt, x[:1400], y[:1400], 50)
        with torch.no_grad():
            accs.append(float((model(x[1400:]).argmax(1) == y[1400:]).float().mean()))
    return accs


@pytest.mark.parametrize("seed", [0, 2])
def test_an_accuracy_that_drops_and_stays_down(tmp_path, seed):
    """Four epochs at lr 0.3 reach ~0.87 validation accuracy; lr 3.0 from epoch 5 knocks it to
    ~0.1 and it stays there. No fall at every report and no trend after the peak (a flat stretch),
    so only the step-down rule names it. The twin at a constant 0.3 is quiet."""
    bad = _digits_val_acc(seed, [0.3] * 4 + [3.0] * 6)
    assert max(bad[:4]) > 0.8 and max(bad[4:]) < 0.3  # the curve's shape
    log = tmp_path / "val.log"
    log.write_text("".join(f"epoch {e} val_acc {v:.4f}\n" for e, v in enumerate(bad, 1)))
    f = _warned(lrdoctor.diagnose(log))["performance_reversal"]
    assert "stayed down" in f.summary and f.start_step == 4
    good = _digits_val_acc(seed, [0.3] * 10)
    log.write_text("".join(f"epoch {e} val_acc {v:.4f}\n" for e, v in enumerate(good, 1)))
    twin = lrdoctor.diagnose(log)
    assert "performance_reversal" not in _warned(twin, 0) and "performance_reversal" in twin.coverage.ran


def test_real_hill_climber_return_drops_and_stays():
    """angela's hill climber on Pendulum: -4727 -> -866 at episode 400, then -2031 ... -3479."""
    f = _warned(lrdoctor.diagnose(real_log("fresh49/angela-hc-pendulum/hc_pendulum.txt")))["performance_reversal"]
    assert f.evidence["peak_step"] == 400


def test_real_deepmd_lcurve():
    """DeePMD-kit's lcurve.out: a commented header (`#  step  rmse_val  rmse_trn ... lr`), a
    second comment line, then aligned rows. The training RMSE is the loss, the validation one
    the evaluation loss."""
    run = lrdoctor.read(real_log("fresh164/deepmd-kit-root-lcurve-smoke/lcurve.out"))
    assert run.meta.roles["loss"] == "rmse_trn" and run.meta.roles["eval_loss"] == "rmse_val"
    assert run.n_steps == 11 and run.series("loss").values[0] == pytest.approx(16.7)
    tail = lrdoctor.read(real_log("fresh164/deepmd-5159-lcurve-tail/paste.txt"))
    assert tail.steps[0] == 1492000 and "lr" in tail.meta.roles


def test_an_epoch_printed_twice_keeps_the_epoch_axis(tmp_path):
    """`Epoch [1/10], Step [2000/12500]` with every epoch's block printed twice (UWARG's bootcamp
    terminal): the counter still restarts within the epoch, so the axis stays epoch + step (later
    rows win at each step), not twenty runs of which only the last is judged."""
    run = lrdoctor.read(real_log("fresh165/uwarg-bootcamp-torch-per-batch-terminal/terminal_output.txt"))
    assert run.meta.step_column == "epoch+step" and run.n_steps == 60
    # twin: a second run that starts over at epoch 1 is still a new run
    log = tmp_path / "two_runs.log"
    log.write_text("".join(f"Epoch [{e}/2], Step [{s}/300], Loss: {1.0 / (e + s / 300):.4f}\n"
                           for _ in range(2) for e in (1, 2) for s in (100, 200, 300)))
    twice = lrdoctor.read(log)
    assert any("restart" in w for w in twice.meta.warnings)


def test_real_deepxde_rows_with_the_training_terms_alone():
    """DeepXDE prints rows with the training terms alone between test evaluations (an L-BFGS
    stage, a second table after "Best model at step 1500:"): they are reports of the training
    loss, read once the display was seen."""
    two = lrdoctor.read(real_log("fresh164/deepxde-69-batchnorm-two-stage/paste.txt"))
    assert list(two.steps) == [0, 1000, 1500, 1600, 1800, 2000, 2200]
    assert two.series("loss").values[-1] == pytest.approx(3.99e-03 + 6.30e-06 + 3.37e-03)
    lbfgs = lrdoctor.read(real_log("fresh164/deepxde-68-adam-lbfgs-dropout/paste.txt"))
    assert 2000 in set(lbfgs.series("loss").steps) and 2000 not in set(lbfgs.series("test_residual").steps)


# ---------------------------------------------------------------- performance_reversal: far from the printed best

def test_real_studiogan_fid_far_from_its_printed_best():
    """StudioGAN's DCGAN on CIFAR-10: FID 103.6, 103.5, 106.7, 111.0 while every evaluation
    restates "Best FID score (Step: 42000 ...): 49.03" (a step before the excerpt, no new run).
    The healthy BigGAN excerpt of the same project prints its best beside a FID near it."""
    run = lrdoctor.read(real_log("fresh163/studiogan-cifar10-dcgan-steps60k-68k/DCGAN-train-2020_09_15_13_23_51.log"))
    assert not any("restart" in w for w in run.meta.warnings) and run.n_steps == 84
    f = _warned(lrdoctor.diagnose(run))["performance_reversal"]
    assert f.evidence["printed_best"] == "best_fid_score" and f.evidence["peak"] == pytest.approx(49.0297472950507)
    healthy = next(real_log("fresh163/studiogan-cifar10-biggan-steps55k-62k").iterdir())
    assert "performance_reversal" not in _warned(lrdoctor.diagnose(healthy), 0)


@pytest.mark.parametrize("seed", [0, 1])
def test_an_accuracy_far_below_the_best_the_log_printed(tmp_path, seed):
    """A digits MLP whose LR jumps 0.3 -> 3.0 after four epochs, its log printing the running best
    beside each evaluation (`val_acc 0.0980 best_val_acc 0.8690`): the run says it was better.
    The constant-LR twin stays at its best."""
    def log_of(accs):
        best = np.maximum.accumulate(accs)
        return "".join(f"epoch {e} val_acc {a:.4f} best_val_acc {b:.4f}\n" for e, (a, b) in enumerate(zip(accs, best), 1))

    log = tmp_path / "val.log"
    log.write_text(log_of(_digits_val_acc(seed, [0.3] * 4 + [3.0] * 3)))
    f = _warned(lrdoctor.diagnose(log))["performance_reversal"]
    assert f.evidence["printed_best"] == "best_val_acc" and f.start_step == 5
    log.write_text(log_of(_digits_val_acc(seed, [0.3] * 7)))
    assert "performance_reversal" not in _warned(lrdoctor.diagnose(log), 0)


# ---------------------------------------------------------------- slow_progress: evaluations alone at chance

def _eval_table(seed: int, shuffled: bool) -> str:
    """An HF Trainer results table ("No log" training loss: a run shorter than logging_steps) of a
    digits MLP evaluated after each of 5 epochs; ``shuffled`` trains on permuted labels, so the
    held-out predictions carry no information."""
    x, y, model = _digits(seed)
    g = torch.Generator().manual_seed(seed)
    ytr = y[:1400][torch.randperm(1400, generator=g)] if shuffled else y[:1400]
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    rows = ["| Training Loss | Epoch | Step | Validation Loss | Accuracy |", "|:-:|:-:|:-:|:-:|:-:|"]
    for epoch in range(1, 6):
        _ce_epoch(model, opt, x[:1400], ytr, 100)
        with torch.no_grad():
            out = model(x[1400:])
            vl = float(torch.nn.functional.cross_entropy(out, y[1400:]))
            acc = float((out.argmax(1) == y[1400:]).float().mean())
        rows.append(f"| No log | {epoch}.0 | {14 * epoch} | {vl:.4f} | {acc:.4f} |")
    return "\n".join(rows) + "\n"


def test_evaluations_alone_stuck_at_chance(tmp_path):
    """Only evaluations logged: a validation loss at ln 10 with accuracy ~1/10 at every epoch is
    stuck at chance (labels shuffled in training); the twin with true labels learns."""
    card = tmp_path / "results.md"
    card.write_text(_eval_table(0, shuffled=True))
    f = _warned(lrdoctor.diagnose(card), 2)["slow_progress"]
    assert f.evidence["num_classes"] == 10 and "stuck at chance" in f.summary
    card.write_text(_eval_table(0, shuffled=False))
    assert "slow_progress" not in _warned(lrdoctor.diagnose(card), 0)


def test_real_wnli_cards_at_chance():
    """ELECTRA on WNLI: validation loss 0.689-0.704 ~ ln 2 at all five epochs, accuracy 0.38-0.56."""
    f = _warned(lrdoctor.diagnose(real_log("fresh168/hfcard-anirudh21-electra-base-wnli/training_results.md")), 2)
    assert f["slow_progress"].evidence["num_classes"] == 2


def test_recons_is_a_reconstruction_term():
    """MindFlow's KNO prints `recons loss: 0.185899, pred loss: 0.017344`: `recons` abbreviates the
    reconstruction term (an auxiliary word, as `recon` and `reconstruction`), so the prediction
    loss is the objective; the reconstruction term's slow drift is no divergence."""
    from lrdoctor.names import tokens

    assert "recons" in tokens("recons_loss")
    rep = lrdoctor.diagnose(real_log("fresh164/mindflow-kno2d-ns/train_output.txt"))
    assert rep.run.meta.roles["loss"] == "pred_loss" and "divergence" not in _warned(rep, 0)


def test_an_immaterial_slide_of_an_accuracy_is_no_reversal(tmp_path):
    """A reward-model card's accuracy 0.6036, 0.6048, 0.6012, 0.6009, 0.6006: three falls in a row,
    0.7% of its level, under the 3% materiality; the same shape scaled to a 10% slide is one."""
    rep = lrdoctor.diagnose(real_log("fresh159/hfcard-tristan-gpt2-summarization-reward-model-hyphen/training_results.txt"))
    assert "performance_reversal" not in _warned(rep, 0) and "overfitting" in _warned(rep)
    log = tmp_path / "acc.log"
    log.write_text("".join(f"epoch {e} val_acc {a:.4f}\n" for e, a in enumerate([0.6036, 0.6548, 0.6212, 0.6009, 0.5806], 1)))
    assert "performance_reversal" in _warned(lrdoctor.diagnose(log))
