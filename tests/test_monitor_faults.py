"""Fault injection for the Monitor and the Guard (issue 10): every reproduction of the report
is a regression test here, each inside a real training loop that must never see an exception.

Junk metrics, a full disk (/dev/full), a log directory that cannot be created, is not writable
or is deleted mid-run, two optimizers, 50 unclosed Monitors, the Guard's LR arithmetic against
its documentation, and kill -9 of a real training process. Plus the split's contract:
``Monitor.report()`` and ``lrdoctor diagnose`` of the written log give the same findings.
"""

import gc
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

import lrdoctor
from lrdoctor.monitor import Every, MonitorConfig

torch.set_num_threads(1)

LOG = "lrdoctor.jsonl"


def data(seed=0, n=1024, classes=10):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, 32, generator=g) * 2
    y = torch.randint(0, classes, (n,), generator=g)
    return centers[y] + torch.randn(n, 32, generator=g), y


def mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))


def rows_of(d):
    return [json.loads(line) for line in (d / LOG).read_text().splitlines()]


def warnings_with(caplog, text):
    return [r for r in caplog.records if text in r.getMessage()]


def train(model, opt, mon, steps, *, per_sample=False, extra=None, hook=None):
    """A plain loop; ``hook(i)`` runs before step i (fault injection)."""
    x, y = data()
    for i in range(steps):
        if hook is not None:
            hook(i)
        idx = torch.randint(0, len(y), (32,))
        losses = torch.nn.functional.cross_entropy(model(x[idx]), y[idx], reduction="none")
        loss = losses.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        mon.step(losses if per_sample else loss, **(extra(i) if extra else {}))


# --- 1. junk metrics: one bad column never costs the others ----------------------------------

def test_per_sample_loss_is_reduced_once_loudly_and_every_column_flows(tmp_path, caplog):
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    guard = lrdoctor.Guard(every=20)
    mon = lrdoctor.Monitor(opt, model=model, log_to=tmp_path, guard=guard)
    losses_seen = []
    x, y = data()
    with caplog.at_level(logging.WARNING, logger="lrdoctor"):
        for i in range(300):
            if i == 150:  # a blow-up the Guard must see through the per-sample loss
                with torch.no_grad():
                    model[0].weight[0, 0] = float("inf")
            idx = torch.randint(0, len(y), (32,))
            losses = torch.nn.functional.cross_entropy(model(x[idx]), y[idx], reduction="none")  # no .mean()
            opt.zero_grad()
            losses.mean().backward()
            opt.step()
            losses_seen.append(float(losses.detach().mean()))
            mon.step(losses, acc=torch.tensor(0.5))
        mon.close()
    rows = rows_of(tmp_path)
    assert guard.rewinds == 1
    lost = guard.findings[0].evidence["detected_at_step"] - guard.findings[0].evidence["restored_step"]
    assert len(rows) == mon.steps == 300 - lost  # every step the Guard did not undo is in the log
    assert all({"loss", "lr", "acc"} <= set(r) for r in rows)
    assert rows[3]["loss"] == pytest.approx(losses_seen[3], rel=1e-6)  # the mean of the per-sample losses
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert len(warnings_with(caplog, "'loss' is a tensor of shape (32,)")) == 1


def test_numpy_and_junk_metrics(tmp_path, caplog):
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with caplog.at_level(logging.WARNING, logger="lrdoctor"):
        with lrdoctor.Monitor(opt, model=model, log_to=tmp_path) as mon:
            train(model, opt, mon, 60, extra=lambda i: {
                "f32": np.float32(i / 2), "i64": np.int64(i), "flag": np.bool_(i % 2), "arr": np.array([i, i + 2.0]),
                "text": "hello", "obj": object(), "empty": torch.tensor([]), "cplx": torch.tensor(1 + 2j)})
    rows = rows_of(tmp_path)
    assert len(rows) == 60
    assert [r["f32"] for r in rows[:3]] == [0.0, 0.5, 1.0] and rows[7]["i64"] == 7 and rows[7]["flag"] == 1.0
    assert rows[5]["arr"] == 6.0
    assert not any(k in rows[0] for k in ("text", "obj", "empty", "cplx"))
    for name in ("arr", "text", "obj", "empty", "cplx"):
        assert len(warnings_with(caplog, f"metric {name!r}")) == 1, name  # once per column, naming it
    assert not warnings_with(caplog, "'f32'") and not warnings_with(caplog, "'i64'")


# --- 2. the log: the loop always survives, no row it could write is lost --------------------

def test_disk_full_degrades_to_memory_with_one_warning_then_catches_up(tmp_path, caplog):
    d = tmp_path / "log"
    d.mkdir()
    (d / LOG).symlink_to("/dev/full")  # every write fails with ENOSPC
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)

    def free_space(i):
        if i == 120:
            (d / LOG).unlink()  # the disk has room again

    with caplog.at_level(logging.WARNING, logger="lrdoctor"):
        with lrdoctor.Monitor(opt, model=model, log_to=d, settings=MonitorConfig(flush_every=10)) as mon:
            train(model, opt, mon, 100)
            assert mon.run().n_steps == 100  # kept in memory
            train(model, opt, mon, 100, hook=lambda i: free_space(i + 100))
    assert len(warnings_with(caplog, "cannot write the log")) == 1
    assert [r["step"] for r in rows_of(d)] == list(range(200))  # nothing lost, nothing twice


def test_close_and_with_never_raise_on_a_full_disk(tmp_path):
    (tmp_path / LOG).symlink_to("/dev/full")
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with lrdoctor.Monitor(opt, model=model, log_to=tmp_path, config={"lr": 0.05}) as mon:
        train(model, opt, mon, 30)
    mon.close()  # twice
    assert mon.report().run.n_steps == 30
    torch.save(model.state_dict(), tmp_path / "after.pt")  # the code after the loop runs


@pytest.mark.parametrize("fault", ["uncreatable", "log_is_a_directory"])
def test_unusable_log_dir_never_raises_and_is_retried(tmp_path, caplog, fault):
    blocker = tmp_path / "blocker"
    if fault == "uncreatable":
        blocker.write_text("a file where the log directory should go")
        d = blocker / "run"
    else:
        d = tmp_path / "run"
        (d / LOG).mkdir(parents=True)  # the log path exists and cannot be opened for writing
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)

    def repair(i):
        if i == 50:
            if fault == "uncreatable":
                blocker.unlink()
            else:
                (d / LOG).rmdir()

    with caplog.at_level(logging.WARNING, logger="lrdoctor"):
        mon = lrdoctor.Monitor(opt, model=model, log_to=d, config={"lr": 0.05})  # does not raise
        train(model, opt, mon, 100, hook=repair)
        mon.close()
    assert len(warnings_with(caplog, "cannot write the log")) == 1
    assert [r["step"] for r in rows_of(d)] == list(range(100))
    assert json.loads((d / "lrdoctor-config.json").read_text()) == {"lr": 0.05}


def test_log_directory_deleted_mid_run_is_recreated_in_full(tmp_path, caplog):
    d = tmp_path / "run"
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)

    def delete(i):
        if i == 100:
            shutil.rmtree(d)

    with caplog.at_level(logging.WARNING, logger="lrdoctor"):
        with lrdoctor.Monitor(opt, model=model, log_to=d, config={"lr": 0.05}) as mon:
            train(model, opt, mon, 200, hook=delete)
    assert [r["step"] for r in rows_of(d)] == list(range(200))
    assert (d / "lrdoctor-config.json").is_file()
    assert len(warnings_with(caplog, "disappeared mid-run")) == 1


# --- 3. cross-talk: two optimizers, only D clipped ------------------------------------------

def test_gan_style_two_monitors_each_log_their_own_norm():
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 16))
    D = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    og, od = torch.optim.Adam(G.parameters(), 1e-3), torch.optim.Adam(D.parameters(), 1e-3)
    every = MonitorConfig(grad_norm=Every(1))
    mg, md = lrdoctor.Monitor(og, model=G, settings=every), lrdoctor.Monitor(od, model=D, settings=every)
    ref_g, ref_d = [], []
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    for _ in range(40):
        real, z = torch.randn(32, 16) * 100, torch.randn(32, 8)  # large inputs: D's norm is far above G's
        d_loss = bce(D(real), torch.ones(32, 1)) + bce(D(G(z).detach()), torch.zeros(32, 1))
        od.zero_grad()
        d_loss.backward()
        ref_d.append(float(torch.nn.utils.clip_grad_norm_(D.parameters(), 1.0)))  # only D is clipped
        od.step()
        md.step(d_loss)
        g_loss = bce(D(G(z)), torch.ones(32, 1))
        og.zero_grad()
        g_loss.backward()
        ref_g.append(float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in G.parameters()]))))
        og.step()
        mg.step(g_loss)
    rg, rd = mg.run(), md.run()
    np.testing.assert_allclose(rg.series("grad_norm").values, ref_g, rtol=1e-4)
    assert rg.series("max_grad_norm") is None  # G was never clipped
    np.testing.assert_allclose(rd.series("grad_norm").values, ref_d, rtol=1e-5)  # D's pre-clip norm
    assert set(rd.series("max_grad_norm").values) == {1.0}
    assert max(ref_d) > 10 * max(ref_g)  # the cross-talk would have been visible
    mg.close()
    md.close()


# --- 4. the Guard against its documentation -------------------------------------------------

def blow_up(model):
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = float("inf")


def test_guard_lr_cuts_follow_the_documentation_and_report_the_start_lr(tmp_path):
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    seen = []
    guard = lrdoctor.Guard(every=20, on_rewind=seen.append)
    mon = lrdoctor.Monitor(opt, model=model, log_to=tmp_path, guard=guard)
    x, y = data()
    injected = set()
    # blow up 5 steps after each snapshot (a healthy snapshot between two blow-ups), once right after
    # a rewind (no new snapshot: the Guard goes one snapshot further back), and once more after the
    # last allowed rewind
    plan = [25, 45, 50, 85, 105, 145]
    for _ in range(260):
        s = mon.steps
        if plan and s == plan[0] and s not in injected:
            injected.add(plan.pop(0))
            blow_up(model)
        idx = torch.randint(0, len(y), (32,))
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        mon.step(loss)
    mon.close()
    lrs = [f.evidence["lr_after"][0] for f in guard.findings]
    assert guard.rewinds == 5 == len(seen)
    assert lrs == pytest.approx([0.01 * 0.5 ** k for k in range(1, 6)], rel=1e-12)  # 0.005, 0.0025, ... 0.03x
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5 ** 5)  # the 6th blow-up: no 6th cut
    for k, f in enumerate(guard.findings, start=1):
        assert f.evidence["lr_at_start"] == [0.01] and f.evidence["lr_scale"] == 0.5 ** k
        assert f.fixes[0].old == 0.01 and f.fixes[0].new == pytest.approx(0.01 * 0.5 ** k)
        assert f.kind == "nonfinite" and f.evidence["metric"] == "loss"
    # each rewind is in the events file beside the log; the log (cut back to the restored step, as
    # the model was) marks the rewinds whose restored step it still holds
    events = [json.loads(line) for line in (tmp_path / "lrdoctor-events.jsonl").read_text().splitlines()]
    assert [e["rewind"] for e in events] == [1, 2, 3, 4, 5]
    assert [e["restored_step"] for e in events] == [f.evidence["restored_step"] for f in guard.findings]
    assert [e["lr_after"][0] for e in events] == lrs
    marks = {r["step"]: int(r["guard_rewind"]) for r in rows_of(tmp_path) if "guard_rewind" in r}
    assert marks and all(guard.findings[k - 1].evidence["restored_step"] == s for s, k in marks.items())


def test_guard_skip_batches_means_steps():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    mon = lrdoctor.Monitor(opt, model=model, guard=lrdoctor.Guard(every=20, skip_batches=3))
    x, y = data()
    answers = []
    for i in range(40):
        if i == 25:
            blow_up(model)
        loss = torch.nn.functional.cross_entropy(model(x[:32]), y[:32])
        opt.zero_grad()
        loss.backward()
        opt.step()
        answers.append(mon.step(loss))
    # the rewind at the flush of step 30 (call 30), then the next 3 calls: as documented, in steps
    assert [i for i, a in enumerate(answers) if a] == [29, 30, 31, 32]
    mon.close()


def test_guard_without_model_restores_the_optimizers_parameters():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    guard = lrdoctor.Guard(every=20)
    mon = lrdoctor.Monitor(opt, guard=guard)  # no model=
    saved = {}

    def hook(i):
        if mon.steps == 20 and not saved:
            saved.update({n: p.detach().clone() for n, p in model.named_parameters()})
        if i == 25:
            blow_up(model)

    train(model, opt, mon, 26, hook=hook)
    train(model, opt, mon, 5)  # the flush at step 30 sees the NaN and rewinds to step 20
    assert guard.rewinds == 1 and mon.steps == 21
    assert all(torch.isfinite(p).all() for p in model.parameters())
    train(model, opt, mon, 40)
    assert guard.rewinds == 1 and np.isfinite(mon.run().series("loss").values[-1])
    mon.close()


def test_exceptions_in_callbacks_never_reach_the_loop(caplog):
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)

    def boom(f):
        raise RuntimeError("user callback bug")

    guard = lrdoctor.Guard(every=20, on_rewind=boom)
    mon = lrdoctor.Monitor(opt, model=model, guard=guard, on_finding=boom)
    with caplog.at_level(logging.WARNING, logger="lrdoctor"):
        train(model, opt, mon, 60, hook=lambda i: blow_up(model) if i == 25 else None)
        mon.check()
    assert guard.rewinds == 1
    assert warnings_with(caplog, "on_rewind callback failed")


# --- 5. hooks do not leak -------------------------------------------------------------------

def hooks(opt):
    # torch keeps an optimizer's step hooks in these dicts (no public count)
    return len(opt._optimizer_step_pre_hooks), len(opt._optimizer_step_post_hooks)


def test_fifty_unclosed_monitors_leave_no_hooks(tmp_path):
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    before = hooks(opt)
    for i in range(50):  # a notebook cell run 50 times, never closing
        mon = lrdoctor.Monitor(opt, model=model, log_to=tmp_path / f"r{i}", guard=lrdoctor.Guard(every=10),
                               on_finding=lambda f: None)
        train(model, opt, mon, 3)
    assert hooks(opt) == (before[0] + 1, before[1] + 1)  # only the newest one is hooked
    del mon
    assert hooks(opt) == before
    kept = []
    for i in range(3):  # kept alive by the caller, all logging to one place: each replaces the last
        kept.append(lrdoctor.Monitor(opt, model=model, log_to=tmp_path / "same"))
    assert hooks(opt) == (before[0] + 1, before[1] + 1)
    train(model, opt, kept[-1], 12)
    del kept
    gc.collect()
    assert hooks(opt) == before
    # the unclosed Monitors flushed their rows when they went
    assert [r["step"] for r in rows_of(tmp_path / "r7")] == [0, 1, 2]
    assert [r["step"] for r in rows_of(tmp_path / "same")] == list(range(12))


# --- 6. Monitor.report() == lrdoctor diagnose of the Monitor's log --------------------------

def cli_json(d):
    p = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", str(d), "--format", "json"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode in (0, 1), p.stderr
    return json.loads(p.stdout)


def key(findings):
    return [(f["kind"], f["severity"], f["start_step"]) for f in findings]


def test_report_and_cli_agree_on_a_diverging_run(tmp_path):
    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    lr_up = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 if s < 150 else 100.0)  # the LR jumps 100x
    mon = lrdoctor.Monitor(opt, model=model, scheduler=lr_up, log_to=tmp_path, config={"lr": 0.05, "num_classes": 10})
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(10, 32, generator=g)
    y = torch.randint(0, 10, (1024,), generator=g)
    x = centers[y] + 2 * torch.randn(1024, 32, generator=g)  # overlapping classes: the loss stays well above 0
    for _ in range(300):
        idx = torch.randint(0, len(y), (32,))
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        lr_up.step()
        mon.step(loss)
    live = mon.report().to_dict()
    mon.close()
    offline = cli_json(tmp_path)
    assert {"divergence", "grad_explosion", "nonfinite"} <= {f["kind"] for f in live["findings"]}  # the pathology
    assert key(live["findings"]) == key(offline["findings"])
    assert live["coverage"] == offline["coverage"]


def test_report_and_cli_agree_on_the_overwritten_schedule(tmp_path):
    """Post-mortem #4: the live overwrite check (runtime) and the offline detector (log) agree."""
    x, y = data()
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    mon = lrdoctor.Monitor(opt, model=model, scheduler=sched, log_to=tmp_path)
    step = 0
    for _ in range(6):
        for _ in range(25):
            for g in opt.param_groups:
                g["lr"] = 3e-3 * min(1.0, (step + 1) / 40)  # the bug: assigns over the scheduler
            idx = torch.randint(0, len(y), (32,))
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            mon.step(loss)
            step += 1
        sched.step()
    live = mon.report().to_dict()
    mon.close()
    offline = cli_json(tmp_path)
    assert key(live["findings"]) == key(offline["findings"])
    ov = next(f for f in live["findings"] if f["kind"] == "schedule_overridden")
    off = next(f for f in offline["findings"] if f["kind"] == "schedule_overridden")
    assert "param_group" in ov["evidence"]  # the runtime finding, not the detector's
    shared = {"first_step", "applied_lr", "scheduled_lr", "disagreeing_points", "compared_points",
              "last_applied_lr", "last_scheduled_lr"}
    assert shared <= set(ov["evidence"]) and shared <= set(off["evidence"])
    assert ov["evidence"]["first_step"] == off["evidence"]["first_step"]
    assert ov["evidence"]["applied_lr"] == pytest.approx(off["evidence"]["applied_lr"])
    assert ov["evidence"]["scheduled_lr"] == pytest.approx(off["evidence"]["scheduled_lr"])


# --- 7. kill -9 of a real training process --------------------------------------------------

CHILD = textwrap.dedent("""
    import sys, torch, lrdoctor
    from lrdoctor.monitor import MonitorConfig
    torch.set_num_threads(1)
    torch.manual_seed(0)
    out = sys.argv[1]
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    config = {"lr": 0.05, "notes": "x" * 200_000, "layers": list(range(20_000))}  # a large file: slow to write
    x, y = torch.randn(512, 16), torch.randint(0, 4, (512,))
    print("ready", flush=True)
    for run in range(10_000):  # a new Monitor (and config write) every 5 steps: kills land mid-write
        mon = lrdoctor.Monitor(opt, model=model, log_to=out, config=config, settings=MonitorConfig(flush_every=5))
        for i in range(5):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(); loss.backward(); opt.step()
            mon.step(loss)
        mon.close()
""")


def test_kill_9_leaves_log_and_config_readable(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    rng = random.Random(0)
    for k in range(2):  # random points; the deterministic cut is the next test
        d = tmp_path / f"run{k}"
        child = subprocess.Popen([sys.executable, str(script), str(d)], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.3, 1.2))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        if not (d / LOG).exists():
            continue
        json.loads((d / "lrdoctor-config.json").read_text())  # never torn
        got = cli_json(d)
        assert got["run"]["steps"] >= 1


# --- 8. probes: a custom one logs its column; a failing one is switched off alone ------------

def test_custom_probe_and_a_failing_probe(tmp_path, caplog):
    from dataclasses import dataclass, field

    from lrdoctor.monitor import Probe

    @dataclass
    class WeightNorm(Probe):  # the worked example of CONTRIBUTING.md ("Adding a probe")
        when: object = field(default_factory=lambda: Every(50))
        name: str = "weight_norm"
        cost: str = "one fused norm pass over the weights on its steps"

        def after(self, ctx, row):  # called on the steps `when` selects
            ws = [p.detach() for p in ctx.params()]
            row["weight_norm"] = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(ws)))

    class Broken(Probe):
        name, cost = "broken", "none"

        def before(self, ctx, row):
            raise ZeroDivisionError("probe bug")

    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    mon = lrdoctor.Monitor(opt, model=model, log_to=tmp_path)
    mon.probes += [Broken(), WeightNorm()]
    ref = {}
    x, y = data()
    with caplog.at_level(logging.WARNING, logger="lrdoctor"):
        for i in range(60):
            idx = torch.randint(0, len(y), (32,))
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            mon.step(loss)
            ref[i] = float(torch.sqrt(sum((p.detach() ** 2).sum() for p in model.parameters())))
        mon.close()
    s = mon.run().series("weight_norm")
    assert s.steps.tolist() == [0, 50]
    assert s.values.tolist() == pytest.approx([ref[0], ref[50]], rel=1e-5)
    assert len(warnings_with(caplog, "broken failed")) == 1
    assert len(rows_of(tmp_path)) == 60 and all("lr" in r for r in rows_of(tmp_path))


CUT = textwrap.dedent("""
    import os, resource, signal, sys, torch, lrdoctor
    torch.set_num_threads(1)
    out = sys.argv[1]
    model = torch.nn.Linear(8, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(64, 8), torch.randint(0, 2, (64,))

    def run(config):
        mon = lrdoctor.Monitor(opt, model=model, log_to=out, config=config)
        for _ in range(10):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(); loss.backward(); opt.step()
            mon.step(loss)
        return mon

    run({"lr": 0.05}).close()
    # from here no file may grow past 64 kB: the next config write is cut mid-way (EFBIG),
    # deterministically, where a kill -9 would land only by chance
    resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, 64_000))
    mon = run({"lr": 0.1, "notes": "x" * 200_000})
    mon.flush()
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_config_write_cut_mid_way_never_tears_the_config_nor_blocks_the_log(tmp_path):
    script = tmp_path / "cut.py"
    script.write_text(CUT)
    d = tmp_path / "run"
    p = subprocess.run([sys.executable, str(script), str(d)], capture_output=True, text=True, timeout=60)
    assert p.returncode == -signal.SIGKILL, p.stderr
    assert json.loads((d / "lrdoctor-config.json").read_text()) == {"lr": 0.05}  # the old one, whole
    assert "cannot write" in p.stderr and "lrdoctor-config.json" in p.stderr
    assert [r["step"] for r in rows_of(d)] == list(range(10)) * 2  # the second run's rows were still logged
    assert cli_json(d)["run"]["steps"] == 10
