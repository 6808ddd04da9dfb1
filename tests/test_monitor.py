"""The Monitor inside real training loops: the seed bug caught at its first overwritten step,
healthy loops stay quiet, the written log is what `lrdoctor diagnose` reads, the Monitor
never breaks the loop, the Guard rewinds bit-identically and rescues a too-high LR."""

import json
import logging
import subprocess
import sys

import numpy as np
import pytest
import torch

import lrdoctor
from lrdoctor import schedules as S
from lrdoctor.monitor import Every, MonitorConfig

torch.set_num_threads(1)


def data(seed=0, n=2000, classes=10):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, 32, generator=g) * 2
    y = torch.randint(0, classes, (n,), generator=g)
    x = centers[y] + torch.randn(n, 32, generator=g)
    return x, y


def mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(32, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


def fit(model, opt, mon, steps, sched=None, clip=None):
    """A plain classification loop with the Monitor's one added line."""
    x, y = data()
    for _ in range(steps):
        idx = torch.randint(0, len(y), (64,))
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if sched is not None:
            sched.step()
        mon.step(loss)


def buggy_loop(mon_kwargs, epochs=6, spe=25, lr=3e-3, warmup=40, overwrite=True):
    """Post-mortem #4: a per-step warmup that assigns param_group['lr'], beside an epoch StepLR."""
    x, y = data()
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    mon = lrdoctor.Monitor(opt, model=model, scheduler=sched, **mon_kwargs)
    step = 0
    for epoch in range(epochs):
        for i in range(spe):
            if overwrite:
                for g in opt.param_groups:
                    g["lr"] = lr * min(1.0, (step + 1) / warmup)  # the bug
            idx = torch.randint(0, len(y), (64,))
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            mon.step(loss)
            step += 1
        sched.step()
    return mon


def test_seed_bug_reported_at_first_overwritten_step(tmp_path):
    mon = buggy_loop({"log_to": tmp_path})
    f = next(f for f in mon.findings if f.kind == "schedule_overridden")
    ev = f.evidence
    # steps 0-39 are the warmup ramp (rising): correct so far. StepLR (recursive) adopted the
    # ramp's 3e-3 * 25/40 at the end of epoch 1; from step 40 the ramp is over and the code
    # still writes 3e-3 over the scheduler's value: the first overwrite outside the window
    assert ev["first_overwritten_step"] == 40
    assert ev["param_group"] == 0
    assert ev["scheduled_lr"] == pytest.approx(3e-3 * 25 / 40) and ev["applied_lr"] == pytest.approx(3e-3)
    # StepLR decays after epoch 2 (step 50); the warmup writes 3e-3 back at the next step
    assert ev["first_decay_undone_step"] == 50
    assert ev["scheduled_lr_then"] == pytest.approx(1.5e-3) and ev["applied_lr_then"] == pytest.approx(3e-3)
    assert f.severity.value == "error"
    assert "multiplies" in f.fixes[0].note  # typed fixes (issue 11): the prose is in the note
    mon.close()
    # the log it wrote is diagnosed offline to the same conclusion
    report = lrdoctor.diagnose(tmp_path)
    assert report.run.meta.format == "monitor"
    assert "schedule_overridden" in {g.kind for g in report.findings}


def test_healthy_loop_with_multiplying_warmup_is_quiet(tmp_path):
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = S.to_torch(opt, S.warmup(40) * S.cosine(300, min_ratio=0.1, start_step=40))
    seen = []
    with lrdoctor.Monitor(opt, model=model, scheduler=sched, log_to=tmp_path, on_finding=seen.append) as mon:
        fit(model, opt, mon, 300, sched=sched, clip=1.0)
        loud = [f"{f.kind}: {f.summary}" for f in mon.findings if f.severity.value != "info"]
    assert loud == [] and [f for f in seen if f.severity.value != "info"] == []
    rows = [json.loads(line) for line in (tmp_path / "lrdoctor.jsonl").read_text().splitlines()]
    assert len(rows) == 300 and rows[-1]["step"] == 299
    assert {"loss", "lr", "scheduled_lr", "grad_norm", "max_grad_norm"} <= set(rows[10])
    assert rows[10]["max_grad_norm"] == 1.0  # the norm was taken from clip_grad_norm_, not recomputed
    assert any("update_ratio" in r for r in rows)
    np.testing.assert_allclose([r["lr"] for r in rows], 3e-3 * sched.schedules[0](np.arange(300)), rtol=1e-12)


def test_grad_norm_fused_pass_every_step_or_sampled():
    x, y = data()
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    mon = lrdoctor.Monitor(opt, model=model, settings=MonitorConfig(grad_norm=Every(1)))
    default = lrdoctor.Monitor(opt)  # no clip_grad_norm_ to reuse, no model for layer norms: every 4th step
    ref = []
    for i in range(20):
        loss = torch.nn.functional.cross_entropy(model(x[:64]), y[:64])
        opt.zero_grad()
        loss.backward()
        ref.append(float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))))
        opt.step()
        mon.step(loss)
        default.step(loss)
    run = mon.run()
    np.testing.assert_allclose(run.series("grad_norm").values, ref, rtol=1e-5)
    sampled = default.run().series("grad_norm")
    assert sampled.steps.tolist() == [0, 4, 8, 12, 16]
    np.testing.assert_allclose(sampled.values, ref[::4], rtol=1e-5)
    mon.close()
    default.close()


def test_monitor_never_breaks_the_loop(caplog):
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def boom(f):
        raise RuntimeError("user callback bug")

    mon = lrdoctor.Monitor(opt, model=model, on_finding=boom)
    x, y = data()
    with caplog.at_level(logging.WARNING, logger="lrdoctor"):
        for i in range(30):
            loss = torch.nn.functional.cross_entropy(model(x[:64]), y[:64]) * (float("nan") if i > 20 else 1.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
            mon.step(loss, weird_metric=object(), other=torch.tensor([1.0, 2.0]))  # junk metrics
        assert mon.findings is not None
    assert any("training continues" in r.message for r in caplog.records)


def test_report_prints_like_diagnose(tmp_path):
    mon = buggy_loop({"log_to": tmp_path}, epochs=4)
    text = str(mon.report())
    assert "schedule_overridden" in text and "multiplies" in text
    mon.close()
    p = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(tmp_path)], capture_output=True, text=True)
    assert p.returncode == 1 and "schedule_overridden" in p.stdout


# --- Guard -----------------------------------------------------------------------------------

class TinyTransformer(torch.nn.Module):
    """A 2-layer stand-in for post-mortem #1's 6-layer transformer (same block, smaller)."""

    def __init__(self, vocab=16, d=32, layers=2, classes=4, length=8):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Parameter(torch.randn(length, d) * 0.02)
        block = torch.nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, batch_first=True)
        self.enc = torch.nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.head = torch.nn.Linear(d, classes)

    def forward(self, x):
        return self.head(self.enc(self.emb(x) + self.pos).mean(1))


def seq_task(seed, n, noise=0.2):
    """Predict the first token mod 4, with 20% random labels (a loss floor near 0.6, so a 10%
    comparison of final losses is meaningful)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 16, (n, 8), generator=g)
    y = x[:, 0] % 4
    flip = torch.rand(n, generator=g) < noise
    y[flip] = torch.randint(0, 4, (int(flip.sum()),), generator=g)
    return x, y


def train_transformer(lr, guard=None, steps=400):
    torch.manual_seed(0)
    x, y = seq_task(0, 4096)
    xe, ye = seq_task(1, 2048)
    model = TinyTransformer()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    mon = lrdoctor.Monitor(opt, model=model, guard=guard)
    for _ in range(steps):
        idx = torch.randint(0, len(y), (64,))
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        mon.step(loss)
    with torch.no_grad():
        return torch.nn.functional.cross_entropy(model(xe), ye).item(), mon


def test_guard_rescues_a_transformer_at_10x_its_good_lr():
    tuned, _ = train_transformer(0.1)
    wild, _ = train_transformer(1.0)
    guard = lrdoctor.Guard(every=20)
    rescued, mon = train_transformer(1.0, guard=guard)
    assert not np.isfinite(wild)  # unguarded, 10x the LR blows up
    assert tuned < 0.7 and abs(rescued - tuned) <= 0.1 * tuned
    rewinds = sorted((f for f in mon.report().findings if "guard_rewind" in f.evidence),
                     key=lambda f: f.evidence["guard_rewind"])
    assert len(rewinds) == guard.rewinds >= 1
    lrs = [f.evidence["lr_after"][0] for f in rewinds]
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] < 1.0  # each rewind cut the LR further
    assert all(f.fixes[0].parameter == "lr" for f in rewinds)


@pytest.mark.parametrize("on_disk", [False, True])
def test_guard_restores_bit_identical_state(tmp_path, on_disk):
    x, y = data()
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = S.to_torch(opt, S.warmup(10) * S.cosine(100, start_step=10))
    guard = lrdoctor.Guard(every=5, directory=str(tmp_path) if on_disk else None)
    mon = lrdoctor.Monitor(opt, model=model, scheduler=sched, guard=guard)

    def train(k):
        for _ in range(k):
            idx = torch.randint(0, len(y), (32,))
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            mon.step(loss)

    train(12)
    guard._save(mon, level=1.0)
    saved_model = {k: v.clone() for k, v in model.state_dict().items()}
    saved_opt = opt.state_dict()
    saved_opt = {k: {i: {n: t.clone() for n, t in s.items()} for i, s in v.items()} if k == "state" else v
                 for k, v in saved_opt.items()}
    saved_rng, saved_np = torch.get_rng_state(), np.random.get_state()[1].copy()
    saved_epoch = sched.last_epoch
    train(7)
    guard._rewind(mon, "divergence", 9.0, 1.0)
    assert all(torch.equal(v, saved_model[k]) for k, v in model.state_dict().items())
    for i, st in opt.state_dict()["state"].items():
        assert all(torch.equal(t, saved_opt["state"][i][n]) for n, t in st.items())
    assert torch.equal(torch.get_rng_state(), saved_rng) and np.array_equal(np.random.get_state()[1], saved_np)
    assert sched.last_epoch == saved_epoch and mon.steps == 12
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 * sched.schedules[0](saved_epoch) * 0.5)


def test_amp_skipped_steps_are_recorded_not_called_explosions():
    x, y = data()
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8)
    mon = lrdoctor.Monitor(opt, model=model, scaler=scaler)
    for i in range(60):
        idx = torch.randint(0, len(y), (64,))
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        scaled = scaler.scale(loss)
        if i in (10, 30):
            scaled = scaled * float("inf")  # an overflow, as fp16 produces: the scaler skips the step
        scaled.backward()
        scaler.step(opt)
        scaler.update()
        mon.step(loss)
    run = mon.run()
    skipped = run.series("amp_skipped")
    assert skipped.steps.tolist() == [10, 30]
    scale = run.series("amp_scale")
    assert scale.values[11] == scale.values[9] / 2  # the scaler backed off after the overflow
    assert not [f for f in mon.findings if f.kind in ("nonfinite", "grad_explosion")]
    mon.close()


def test_update_ratio_high_at_a_too_high_adam_lr_and_quiet_at_a_good_one():
    found = {}
    for lr in (1e-3, 1e-1):
        model = mlp()
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        mon = lrdoctor.Monitor(opt, model=model, settings=MonitorConfig(update_ratio=Every(10)))
        fit(model, opt, mon, 300)
        found[lr] = [f for f in mon.findings if f.kind == "update_ratio_high"]
        mon.close()
    assert found[1e-3] == []
    f = found[1e-1][0]
    assert f.evidence["median_ratio"] > 1e-2
    assert f.fixes[0].old == 0.1 and f.fixes[0].new <= 0.05  # lr cut toward a ~1e-3 ratio


def test_per_layer_gradient_norms_on_log_spaced_steps():
    x, y = data()
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    mon = lrdoctor.Monitor(opt, model=model, settings=MonitorConfig(grad_norm=Every(0), top_layers=2))
    ref = []
    for i in range(40):
        loss = torch.nn.functional.cross_entropy(model(x[:64]), y[:64])
        opt.zero_grad()
        loss.backward()
        ref.append({name: float(torch.sqrt(sum(p.grad.norm() ** 2 for p in layer.parameters())))
                    for name, layer in (("0", model[0]), ("2", model[2]))})
        opt.step()
        mon.step(loss)
    run = mon.run()
    s0, s2 = run.series("grad_norm/0"), run.series("grad_norm/2")
    assert s0.steps.tolist()[:5] == [0, 1, 2, 3, 4] and s0.steps.size < 40  # log-spaced, not every step
    for k, v in zip(s0.steps.astype(int), s0.values):
        assert v == pytest.approx(ref[k]["0"], rel=1e-5)
    for k, v in zip(s2.steps.astype(int), s2.values):
        assert v == pytest.approx(ref[k]["2"], rel=1e-5)
    # on those steps the same pass gave the total norm (grad_norm sampling is off here)
    g = run.series("grad_norm")
    assert g.steps.tolist() == s0.steps.tolist()
    assert g.values[0] == pytest.approx((ref[0]["0"] ** 2 + ref[0]["2"] ** 2) ** 0.5, rel=1e-5)
    mon.close()


def test_grad_explosion_names_the_layer():
    _, mon = train_transformer(1.0, steps=60)
    f = next(f for f in mon.findings if f.kind == "grad_explosion")
    layers = f.evidence["largest_layers"]
    assert layers and "layer " + layers[0]["layer"] in f.summary
    assert layers[0]["grad_norm"] >= layers[-1]["grad_norm"]


def _gaussian_nll_run(lr, steps=300, guard=None):
    """A heteroscedastic regression net trained on a Gaussian negative log-likelihood: a healthy
    run's loss goes below 0 (the model becomes confident), which a ratio rule misreads."""
    torch.manual_seed(0)
    x = torch.linspace(-2, 2, 512).unsqueeze(1)
    y = torch.sin(2 * x) + 0.05 * torch.randn_like(x)
    model = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    mon = lrdoctor.Monitor(opt, model=model, guard=guard)
    losses = []
    for _ in range(steps):
        idx = torch.randint(0, 512, (64,))
        mean, log_var = model(x[idx]).unbind(1)
        loss = torch.nn.functional.gaussian_nll_loss(mean, y[idx].squeeze(1), log_var.exp())
        opt.zero_grad()
        loss.backward()
        opt.step()
        mon.step(loss)
        losses.append(loss.item())
    return losses, mon


def test_guard_judges_a_negative_loss_by_its_rise_not_its_ratio():
    from lrdoctor.monitor.guard import blown_up

    losses, _ = _gaussian_nll_run(3e-3)
    assert min(losses[-50:]) < -1.0  # the healthy run's likelihood loss is negative
    guard = lrdoctor.Guard(every=20)
    _, mon = _gaussian_nll_run(3e-3, guard=guard)
    assert guard.rewinds == 0  # -2.1 > 3 x -2.0 would have rewound at every flush
    # the rule's arithmetic: the same relative rise for either sign, and no scale at 0
    assert blown_up(3.5, 1.0, 3.0) and not blown_up(2.5, 1.0, 3.0)
    assert blown_up(0.5, -1.0, 3.0) is False and blown_up(1.5, -0.5, 3.0) is True
    assert not blown_up(0.5, 0.0, 3.0)
