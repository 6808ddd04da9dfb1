"""Rules and readers from studying the blind slices fresh20 and fresh22 (issue 9), each with a
really trained run or a real public log, and a healthy twin:

- pasted dicts with typographic quotes, and a training loss that climbs steadily after its best
  (few-point ``divergence``, Mann-Kendall);
- segments separated by three spaces, and by two after a NaN (arcface_torch's prints);
- a 3-report log with a point two orders of magnitude above both neighbours (``loss_spike``);
- overfitting from two evaluations: the eval loss doubles while the training loss halves;
- a return that falls after its peak with a downward trend (``performance_reversal``);
- the slow-progress rate rule is not judged on fewer than 20 reports.
"""

import numpy as np
import pytest
import torch

import lrdoctor
from bench_logs import LOGS, real_log
from lrdoctor.detect.loss_spike import few_point_spikes
from lrdoctor.detect._stats import trend_p_up

torch.set_num_threads(1)


def _warned(report) -> dict:
    return {f.kind: f for f in report.findings if f.severity.rank >= 1}


def _digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)


def _train(corrupt_from: int | None, steps: int = 1300, every: int = 100, seed: int = 0) -> list[tuple[int, float]]:
    """SGD on the digits MLP; from ``corrupt_from`` on, a growing share of each batch gets a
    wrong label (a data pipeline that degrades), so the clean training loss climbs steadily.
    Returns (step, mean training loss over the last ``every`` batches, on clean labels)."""
    x, y = _digits()
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(seed)
    out, acc = [], []
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(x), (64,), generator=g)
        target = y[idx].clone()
        if corrupt_from is not None and step > corrupt_from:
            share = min(0.25, (step - corrupt_from) / 4000)
            flip = torch.rand(64, generator=g) < share
            target[flip] = (target[flip] + 1) % 10
        logits = net(x[idx])
        loss = torch.nn.functional.cross_entropy(logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        acc.append(torch.nn.functional.cross_entropy(logits.detach(), y[idx]).item())
        if step % every == 0:
            out.append((step, float(np.mean(acc))))
            acc = []
    return out


def _hf_lines(rows, curly: bool) -> str:
    q = ("\u2018", "\u2019") if curly else ("'", "'")
    return "".join(f"{{{q[0]}loss{q[1]}: {loss:.4f}, {q[0]}learning_rate{q[1]}: 0.1, {q[0]}epoch{q[1]}: {s / 100:.2f}}}\n"
                   for s, loss in rows)


def test_typographic_quotes_read_like_ascii_ones(tmp_path):
    rows = _train(None)
    a, b = tmp_path / "ascii.log", tmp_path / "curly.log"
    a.write_text(_hf_lines(rows, curly=False))
    b.write_text(_hf_lines(rows, curly=True))
    ra, rb = lrdoctor.read(a), lrdoctor.read(b)
    assert list(rb.series("loss").values) == list(ra.series("loss").values) == [round(v, 4) for _, v in rows]


def test_a_loss_that_climbs_after_its_best_is_divergence_and_a_clean_run_is_not(tmp_path):
    bad_rows = _train(corrupt_from=300)
    loss = np.array([v for _, v in bad_rows])
    best = int(np.argmin(loss))
    assert loss[-1] > 1.1 * loss[best] and best < len(loss) - 6  # it climbed, read from the run itself
    bad = tmp_path / "climb.log"
    bad.write_text(_hf_lines(bad_rows, curly=True))
    found = _warned(lrdoctor.diagnose(bad))
    assert "divergence" in found  # (on this many reports the trend rule sees it first)
    good = tmp_path / "clean.log"
    good.write_text(_hf_lines(_train(None), curly=True))
    assert "divergence" not in _warned(lrdoctor.diagnose(good))


def test_real_hf_paste_with_curly_quotes_climbing():
    r = lrdoctor.diagnose(real_log("fresh20/hf-issue33336-rising/issue33336.log"))
    assert r.run.series("loss").values[1] == 1.406  # {‘loss’: 1.406, ...} as pasted
    found = _warned(r)
    assert found["divergence"].evidence["best_loss"] == 1.406
    assert "Mann-Kendall" in found["divergence"].evidence["rule"]  # +15% over 10 reports: only the climb rule sees it


def test_mann_kendall_arithmetic():
    assert trend_p_up(np.arange(10.0)) < 1e-4
    assert trend_p_up(np.arange(10.0)[::-1]) > 0.99
    rng = np.random.default_rng(0)
    ps = [trend_p_up(rng.normal(size=12)) for _ in range(2000)]
    assert 0.005 < np.mean(np.array(ps) < 0.01) < 0.02  # about its level under noise


def _arcface_lines(rows, nan_from=None) -> str:
    out = []
    for i, (s, loss) in enumerate(rows):
        shown = "nan" if nan_from is not None and i >= nan_from else f"{loss:.4f}"
        out.append(f"Training: 2023-03-14 09:08:43,293-Speed 2178.40 samples/sec   Loss {shown}   "
                   f"LearningRate 0.100000   Epoch: 0   Global Step: {s}   Fp16 Grad Scale: 65536   Required: 19 hours")
    return "\n".join(out) + "\n"


def test_three_spaces_separate_segments_and_nan_is_read(tmp_path):
    rows = _train(None, steps=800)
    ok = tmp_path / "arcface.log"
    ok.write_text(_arcface_lines(rows))
    run = lrdoctor.read(ok)
    assert list(run.series("loss").values) == [round(v, 4) for _, v in rows]
    assert list(run.steps) == [s for s, _ in rows]
    assert not _warned(lrdoctor.diagnose(run)).get("nonfinite")
    bad = tmp_path / "arcface_nan.log"
    bad.write_text(_arcface_lines(rows, nan_from=4))
    found = _warned(lrdoctor.diagnose(bad))
    assert found["nonfinite"].start_step == rows[4][0]


def test_real_arcface_fp16_nan_paste():
    found = _warned(lrdoctor.diagnose(real_log("fresh20/insightface-issue2262-fp16nan/issue2262.log")))
    assert found["nonfinite"].severity.value == "error"


def test_three_report_spike_by_orders_of_magnitude():
    assert few_point_spikes(np.array([0.2586, 3.2e14, 0.2525]))[0][0] == 1
    assert few_point_spikes(np.array([0.26, 20.0, 0.25])) == []  # 77x: not two orders of magnitude
    r = lrdoctor.diagnose(real_log("fresh20/mmdet-issue2061-spike/issue2061.log"))
    assert _warned(r)["loss_spike"].evidence["largest"]["loss"] > 1e14


def test_three_reports_of_a_real_run_have_no_spike(tmp_path):
    rows = _train(None, steps=300)
    path = tmp_path / "three.log"
    path.write_text("".join(f"iter {s} loss {v:.4f}\n" for s, v in rows))
    assert len(rows) == 3
    assert "loss_spike" not in _warned(lrdoctor.diagnose(path))


def _fit(n_train: int, epochs: int, wd: float, lr: float = 3e-3) -> list[tuple[int, float, float]]:
    """Adam on ``n_train`` digits; (epoch, train loss, held-out loss) per epoch."""
    x, y = _digits()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=wd)
    xt, yt, xv, yv = x[:n_train], y[:n_train], x[1000:], y[1000:]
    out = []
    for ep in range(1, epochs + 1):
        loss = torch.nn.functional.cross_entropy(net(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            out.append((ep, torch.nn.functional.cross_entropy(net(xt), yt).item(),
                        torch.nn.functional.cross_entropy(net(xv), yv).item()))
    return out


def _first_and_last(rows) -> str:
    return "".join(f"epoch {e} | train_loss {t:.4g} | val_loss {v:.4f}\n" for e, t, v in rows)


def test_two_evaluations_eval_doubles_while_train_halves(tmp_path):
    rows = _fit(n_train=20, epochs=800, wd=0.0, lr=3e-2)  # 20 examples: memorised
    best = min(rows, key=lambda r: r[2])
    last = rows[-1]
    assert last[1] < best[1] / 2 and last[2] >= 2 * best[2]  # read from the run: train halves, eval doubles
    bad = tmp_path / "two.log"
    bad.write_text(_first_and_last([best, last]))  # a user printing the epoch of the best model and the last
    assert "overfitting" in _warned(lrdoctor.diagnose(bad))
    good_rows = _fit(n_train=1000, epochs=60, wd=0.01)
    assert good_rows[-1][2] < good_rows[0][2]  # a run with enough data: held-out loss fell
    good = tmp_path / "two_good.log"
    good.write_text(_first_and_last([good_rows[0], good_rows[-1]]))
    assert "overfitting" not in _warned(lrdoctor.diagnose(good))


def test_real_two_epoch_bert_paste_is_overfitting():
    found = _warned(lrdoctor.diagnose(real_log("fresh22/bertsentiment-issue1-overfit/issue1.log")))
    assert found["overfitting"].evidence["eval_last"] == pytest.approx(0.0916)


def test_return_that_peaks_and_trends_down_is_a_reversal_and_steady_learners_are_not():
    hc = lrdoctor.diagnose(real_log("fresh22/angela-lunarlander-hc/lunarlander_hc.log"))
    assert _warned(hc)["performance_reversal"].evidence["peak"] == pytest.approx(-20.62)
    for healthy in ("fresh22/angela-banana-dqn", "fresh22/angela-crawler-ddpg", "fresh22/angela-halfcheetah-ddpg"):
        path = next(real_log(healthy).iterdir())
        assert "performance_reversal" not in _warned(lrdoctor.diagnose(path)), healthy


def test_rate_rule_needs_twenty_reports_and_all_loss_is_the_total():
    r = lrdoctor.diagnose(real_log("fresh20/dface-issue24-bboxspike/issue24.log"))
    assert r.run.meta.roles["loss"] == "all_loss"
    assert "slow_progress" not in _warned(r)  # 7 reports, one a 15x spike: no rate to read


def test_prec1_is_the_accuracy_and_dg_loss_the_generator():
    timm = lrdoctor.read(real_log("fresh20/timm-issue58-summary/summary.csv"))
    assert timm.meta.roles["eval_accuracy"] == "eval_prec1"
    paddle = lrdoctor.read(real_log("fresh11/paddle-issue15762-dcgan-mnist/issue15762.log"))
    assert paddle.is_gan and paddle.meta.roles["g_loss"] == "dg-loss"


def _three_class_epochs(shuffled: bool, epochs: int = 6) -> list[tuple[int, float, float, float]]:
    """Digits 0-2 only (3 classes), Adam; with ``shuffled`` the training labels are a random
    permutation (nothing to learn). (epoch, train loss, test loss, test accuracy) per epoch,
    on 30 held-out examples with their true labels."""
    x, y = _digits()
    keep = y < 3
    x, y = x[keep], y[keep]
    g = torch.Generator().manual_seed(0)
    ytr = y[:400][torch.randperm(400, generator=g)] if shuffled else y[:400]
    xtr, xte, yte = x[:400], x[400:430], y[400:430]
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    out = []
    for ep in range(1, epochs + 1):
        for i in range(0, 400, 40):
            loss = torch.nn.functional.cross_entropy(net(xtr[i:i + 40]), ytr[i:i + 40])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            tr = torch.nn.functional.cross_entropy(net(xtr), ytr).item()
            te_logits = net(xte)
            te = torch.nn.functional.cross_entropy(te_logits, yte).item()
            acc = (te_logits.argmax(1) == yte).float().mean().item()
        out.append((ep, tr, te, acc))
    return out


def _epoch_lines(rows) -> str:
    return "".join(f"Epoch: {e} | train_loss: {tr:.4f} | test_loss: {te:.4f} | test_acc: {acc:.4f}\n" for e, tr, te, acc in rows)


def test_stuck_at_chance_is_not_excused_by_an_accuracy_below_chance(tmp_path):
    rows = _three_class_epochs(shuffled=True)
    assert all(abs(tr - np.log(3)) < 0.05 * np.log(3) for _, tr, _, _ in rows)  # the run sits at ln 3
    path = tmp_path / "chance.log"
    # the held-out accuracy as a model at chance can print it on a small set: below 1/3
    path.write_text(_epoch_lines([(e, tr, te, min(acc, 0.2)) for e, tr, te, acc in rows]))
    found = _warned(lrdoctor.diagnose(path, config={"num_classes": 3}))
    assert found["slow_progress"].evidence["num_classes"] == 3
    good = tmp_path / "learns.log"
    good.write_text(_epoch_lines(_three_class_epochs(shuffled=False)))
    assert "slow_progress" not in _warned(lrdoctor.diagnose(good, config={"num_classes": 3}))


def test_real_tinyvgg_at_ln3():
    r = lrdoctor.diagnose(real_log("fresh21/learnpytorch-tinyvgg-script-chance/train_output.txt"),
                          config={"num_classes": 3})
    assert _warned(r)["slow_progress"].severity.value == "error"


def test_a_frozen_metric_beside_a_falling_eval_loss_is_no_finding(tmp_path):
    rows = _fit(n_train=1000, epochs=30, wd=0.01)
    assert rows[-1][2] < 0.5 * rows[0][2]  # the evaluated predictions changed
    lines = "".join(f"epoch {e} | val_loss {v:.5f} | val_accuracy 0.0135\n" for e, _, v in rows[::3])
    path = tmp_path / "frozen_metric.log"
    path.write_text(lines)
    assert "slow_progress" not in _warned(lrdoctor.diagnose(path))
    # the same frozen metric with an evaluation loss that does not move is a frozen model
    still = tmp_path / "frozen_model.log"
    still.write_text("".join(f"epoch {e} | val_loss {rows[0][2]:.5f} | val_accuracy 0.0135\n" for e, _, _ in rows[::3]))
    assert "slow_progress" in _warned(lrdoctor.diagnose(still))


def test_real_unet_with_a_broken_accuracy_column_is_healthy():
    r = lrdoctor.diagnose(real_log("fresh21/mri-unet-10epochs/2-train_10_epochs.md"))
    assert not [f for f in r.findings if f.severity.rank >= 1]


def test_climb_from_a_lucky_single_batch_low_is_no_divergence(tmp_path):
    """A healthy digits run that prints one batch per report (bench/false_alarms.py, seed 63):
    after a lucky 0.023 its batch losses read 0.05-0.075, a Mann-Kendall climb, but within the
    scatter of single-batch losses; the climb rule must beat 5 sigma of the log's scatter."""
    import csv
    import sys

    sys.path.insert(0, str(LOGS.parents[1] / "bench"))
    import false_alarms

    path = false_alarms.train(63, tmp_path)
    loss = np.array([float(r["loss"]) for r in csv.DictReader(path.open())])
    assert loss[-1] > 3 * loss.min() and int(np.argmin(loss)) < loss.size - 6  # the climb is there
    assert "divergence" not in _warned(lrdoctor.diagnose(path))


def _masked_run(mask_all: bool) -> str:
    """A digits classifier whose collator masks every label (-100) when ``mask_all``: the loss,
    a sum over unmasked targets divided by their count (or 1), is exactly 0.0 at every step.
    Logged as HF Trainer prints its dicts."""
    x, y = _digits()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    lines = []
    for step in range(1, 201):
        idx = torch.randint(0, len(x), (32,), generator=g)
        target = torch.full((32,), -100) if mask_all else y[idx]
        n = int((target != -100).sum())
        loss = torch.nn.functional.cross_entropy(net(x[idx]), target, ignore_index=-100, reduction="sum") / max(1, n)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 20 == 0:
            lines.append(f"{{'loss': {round(loss.item(), 4)}, 'learning_rate': 0.001, 'epoch': {step / 200:.2f}}}")
    return "\n".join(lines) + "\n"


def test_a_loss_that_is_exactly_zero_throughout_is_no_learning(tmp_path):
    bad = tmp_path / "masked.log"
    bad.write_text(_masked_run(mask_all=True))
    assert set(lrdoctor.read(bad).series("loss").values) == {0.0}
    assert _warned(lrdoctor.diagnose(bad))["slow_progress"].severity.value == "error"
    good = tmp_path / "unmasked.log"
    good.write_text(_masked_run(mask_all=False))
    assert "slow_progress" not in _warned(lrdoctor.diagnose(good))
    real = lrdoctor.diagnose(real_log("fresh23/llamafactory-qwen15-14b-full-loss-zero/train.log"))
    assert "exactly 0" in _warned(real)["slow_progress"].summary


def test_a_fit_that_leaves_the_chance_band_by_its_last_report_is_not_stuck():
    r = lrdoctor.diagnose(real_log("fresh24/skorch-doctor-tiny-fit/history.txt"), config={"num_classes": 2})
    assert "slow_progress" not in _warned(r)  # 0.691 ... 0.650: its last report is 6% under ln 2


def test_stuck_at_chance_to_the_end_is_still_found(tmp_path):
    rows = _three_class_epochs(shuffled=True)
    assert abs(rows[-1][1] - np.log(3)) < 0.05 * np.log(3)  # still in the band at the end
    path = tmp_path / "chance_end.log"
    path.write_text(_epoch_lines(rows))
    assert "slow_progress" in _warned(lrdoctor.diagnose(path, config={"num_classes": 3}))


def test_rate_rule_judges_only_logs_from_the_start(tmp_path):
    rows = _train(None, steps=6000, every=100)  # a healthy run, logged every 100 steps
    late = tmp_path / "late.log"  # the last third only: a converged window deep into training
    late.write_text("".join(f"step {s} loss {v:.4f}\n" for s, v in rows[40:]))
    assert "slow_progress" not in _warned(lrdoctor.diagnose(late))
    real = lrdoctor.diagnose(real_log("fresh24/pytorch-tutorials-speechcommand-m5/train.log"))
    assert "slow_progress" not in _warned(real)


def test_borderless_baselines_tables_are_one_record_each_and_a_nan_kl_is_nonfinite(tmp_path):
    rows = _train(None, steps=500, every=100)
    text = "".join(f"Iteration {i}\n\n| loss      | {v:.5f} |\n| KL        | {0.001 * (i + 1):.5f} |\n\n"
                   for i, (_, v) in enumerate(rows))
    path = tmp_path / "acktr.log"
    path.write_text(text)
    run = lrdoctor.read(path)
    assert list(run.series("loss").values) == [round(v, 5) for _, v in rows]  # one value per iteration
    assert list(run.series("KL").steps) == list(range(len(rows)))
    bad = tmp_path / "acktr_nan.log"
    bad.write_text(text + f"Iteration {len(rows)}\n\n| loss      | nan |\n| KL        | 0.1 |\n")
    found = _warned(lrdoctor.diagnose(bad))
    assert found["nonfinite"].start_step == len(rows)  # the last table's own iteration
    real = _warned(lrdoctor.diagnose(real_log("fresh25/baselines-issue127-acktr-nan/acktr_console.log")))
    assert real["nonfinite"].start_step == 3027


def test_a_jump_at_the_last_report_is_said_not_silenced(tmp_path):
    x, y = _digits()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    rows = []
    for step in range(1, 1001):
        # the last update is on an outlier batch (inputs 30x too large, labels shifted): a blow-up
        xb, yb = (x[:512], y[:512]) if step < 1000 else (30 * x[:512], (y[:512] + 1) % 10)
        loss = torch.nn.functional.cross_entropy(net(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 and step >= 300:  # an excerpt from step 300 on
            with torch.no_grad():
                rows.append((step, torch.nn.functional.cross_entropy(net(x[:512]), y[:512]).item()))
    vals = np.array([v for _, v in rows])
    assert 3 * vals[:-1].max() <= vals[-1] < 1000 * vals[:-1].min()  # the run's own last report jumped
    path = tmp_path / "last.log"
    path.write_text("".join(f"step {s} loss {v:.4f}\n" for s, v in rows))
    spike = _warned(lrdoctor.diagnose(path))["loss_spike"]
    assert spike.evidence["last_report"] and spike.start_step == 1000
    healthy = tmp_path / "healthy.log"
    healthy.write_text("".join(f"step {s} loss {v:.4f}\n" for s, v in rows[:-1]))
    assert "loss_spike" not in _warned(lrdoctor.diagnose(healthy))
    # a reranker's per-batch loss at 0.001-0.06, then 0.67 at the last report: from the loss alone that is
    # within the scatter such batches show (stop 35: a fitted digits classifier's batches span 2e-05 to
    # 0.19 the same way); its gradient norms (0.0 to 99, ten orders of magnitude) carry the finding
    real = _warned(lrdoctor.diagnose(real_log("fresh23/flagembedding-reranker-gradnorm-erratic/train.log")))
    assert "loss_spike" not in real and {"grad_explosion", "grad_norm_unstable"} <= set(real)


def _epochs_with_eval(stale_eval: bool, frozen_head: bool, epochs: int = 8) -> str:
    """A digits MLP with two heads (a 10-way classifier and an auxiliary parity head), Keras-style
    epoch lines. ``stale_eval``: the validation loss is computed on a copy of the initial model
    (a stale checkpoint); ``frozen_head``: the parity head is dead (its parameters frozen and its
    input features all zero, as behind dead ReLUs), so its loss is a constant."""
    import copy

    x, y = _digits()
    torch.manual_seed(0)
    body = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU())
    cls, par = torch.nn.Linear(32, 10), torch.nn.Linear(32, 2)
    if frozen_head:
        par.requires_grad_(False)
    params = [p for m in (body, cls, par) for p in m.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=3e-3)
    stale = copy.deepcopy((body, cls))
    lines = []
    for ep in range(1, epochs + 1):
        tot = part = 0.0
        for i in range(0, 1000, 100):
            h = body(x[i:i + 100])
            lc = torch.nn.functional.cross_entropy(cls(h), y[i:i + 100])
            lp = torch.nn.functional.cross_entropy(par(h.detach() * 0), y[i:i + 100] % 2) if frozen_head else \
                torch.nn.functional.cross_entropy(par(h), y[i:i + 100] % 2)
            opt.zero_grad()
            (lc + lp).backward()
            opt.step()
            tot += (lc + lp).item() / 10
            part += lp.item() / 10
        with torch.no_grad():
            b, c = stale if stale_eval else (body, cls)
            val = torch.nn.functional.cross_entropy(c(b(x[1000:])), y[1000:]).item()
        lines.append(f"Epoch {ep}/{epochs}\n10/10 - 0s - loss: {tot:.4f} - aux_loss: {part:.4f} - val_loss: {val:.4f}")
    return "\n".join(lines) + "\n"


def test_a_frozen_evaluation_loss_is_a_model_that_does_not_change(tmp_path):
    stale = tmp_path / "stale.log"
    stale.write_text(_epochs_with_eval(stale_eval=True, frozen_head=False))
    run = lrdoctor.read(stale)
    assert len(set(run.series("eval_loss").values)) == 1 and len(set(run.series("loss").values)) > 1
    assert "frozen" in _warned(lrdoctor.diagnose(stale))["slow_progress"].summary
    live = tmp_path / "live.log"
    live.write_text(_epochs_with_eval(stale_eval=False, frozen_head=False))
    assert "slow_progress" not in _warned(lrdoctor.diagnose(live))


def test_a_frozen_loss_term_is_a_dead_head(tmp_path):
    dead = tmp_path / "dead_head.log"
    dead.write_text(_epochs_with_eval(stale_eval=False, frozen_head=True))
    run = lrdoctor.read(dead)
    assert len(set(run.series("aux_loss").values)) == 1  # the head's loss never moves
    found = _warned(lrdoctor.diagnose(dead))["slow_progress"]
    assert found.evidence["metric"] == "aux_loss" and found.severity.value == "warning"
    real = _warned(lrdoctor.diagnose(real_log("fresh20/centernet-issue342-frozenhm/issue342.log")))
    assert real["slow_progress"].evidence["metric"] == "hm_loss"


def test_an_evaluation_that_stops_moving_at_the_end_of_a_decay_is_no_frozen_model(tmp_path):
    """bench/false_alarms.py seed 71: a cosine schedule to ~0; the last 3 epochs print val_loss
    0.3472 at 0.6% of the peak LR. A finished decay explains it."""
    import csv
    import sys

    sys.path.insert(0, str(LOGS.parents[1] / "bench"))
    import false_alarms

    path = false_alarms.train(71, tmp_path)
    rows = list(csv.DictReader(path.open()))
    assert len({r["val_loss"] for r in rows[-3:]}) == 1  # frozen at the printed resolution
    assert "slow_progress" not in _warned(lrdoctor.diagnose(path))


def test_elegantrl_early_console_reads_its_smoothed_return():
    run = lrdoctor.read(real_log("fresh25/elegantrl-history-ddpg/terminal_log.txt"))
    assert run.meta.roles["ep_return"] == "smo_r"
    assert run.series("ep_return").values[:3].tolist() == [-106, -105, -107]  # "SmoR: -106" ...


def test_a_run_that_learns_nothing_is_not_told_to_raise_its_lr(tmp_path):
    dead = tmp_path / "dead_head.log"
    dead.write_text(_epochs_with_eval(stale_eval=False, frozen_head=True))
    f = _warned(lrdoctor.diagnose(dead))["slow_progress"]
    params = [fx.parameter for fx in f.fixes]
    assert "lr" not in params and "trainable parameters" in params
    masked = tmp_path / "masked.log"
    masked.write_text(_masked_run(mask_all=True))
    assert "labels / loss inputs" in [fx.parameter for fx in _warned(lrdoctor.diagnose(masked))["slow_progress"].fixes]


def test_an_lr_decayed_to_zero_is_told_to_floor_its_schedule(tmp_path):
    rows = _train(None, steps=1200, every=100)  # a real run; the log shows it from step 500 at lr 0
    path = tmp_path / "lr0.log"
    path.write_text("".join(f"step {s} loss {v:.4f} lr {0.0:.8f}\n" for s, v in rows if s >= 500))
    f = _warned(lrdoctor.diagnose(path))["slow_progress"]
    assert [fx.parameter for fx in f.fixes] == ["min_lr"]
