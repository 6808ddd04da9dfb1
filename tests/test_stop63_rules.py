"""Coverage from the stop-63 study (issue 9): a check that cannot conclude says so.

An audit ran every check on the benchmark's logs and asked, per kind, whether it ever reported
anything without a column its needs did not ask for, or on fewer points than its needs allowed.
Two kinds were listed as checked where their rules could not conclude:

``plateau`` is reported only while the LR stays high (``min_plateau_lr``): the run spent half its
budget without a new best where a decay would have helped. Without a logged LR a flat stretch is
neither a finding nor cleared, yet the check was listed as run and silent, as if it had found the
run healthy. It now says it could not tell, with the flat stretch it saw, and stays "checked" on a
loss that kept improving, which needs no LR to judge. Both curves are trained here: a linear
classifier on digits whose labels are half noise (its loss settles at the noise's floor within a
fifth of the run, at a constant SGD LR of 1.0), and a hidden-layer MLP on the clean digits whose
loss keeps falling.

``lr_beyond_stability`` reads the loss's answer to an LR cut ("nothing learned at the initial LR,
then a drop right after the cut"): it returned nothing on fewer than 10 loss reports and on a
log whose LR was never cut (a constant LR, a smooth cosine), yet both read "checked". Its needs now
ask for the reports and the cut, with the thresholds named (``min_points``, ``min_before``,
``min_after``).

The same audit, read in the code of the rarer kinds, found the others whose rules return nothing
below a length their needs did not ask for: ``objective_mismatch`` (20 reports of the loss and of
the task metric), ``entropy_collapse`` (two 5-report windows), ``cycle_degradation`` (4 cycles) and
``label_smoothing_floor`` (5 loss reports). Asking ``objective_mismatch``'s need for the task curve
exposed an order-dependent cache: ``task_curve(run, min_points)`` kept the first caller's answer
whatever the later caller's ``min_points``. Four more read nothing below a minimum their needs did
not ask for: ``kl_exceeded`` (2 updates), ``q_divergence`` (3 reports), ``value_collapse`` (5),
``grad_norm_unstable`` (10 positive gradient norms, the curve its rule reads) and
``schedule_overridden`` (5 LR reports to drop and snap back twice, or 2 beside a ``scheduled_lr``),
and ``update_ratio_high`` (5 measurements after the first tenth of the run, which it leaves out).
"""

from __future__ import annotations

import json
import subprocess
import sys

import torch

from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch

import lrdoctor
from lrdoctor.detect.rl import task_curve

torch.set_num_threads(1)


def _batches(model: torch.nn.Module, noise: float, lr: float = 1.0, epochs: int = 30) -> list[tuple[int, float, float]]:
    """(step, batch loss, lr) every 7 minibatches of 64 over the digits at a constant SGD ``lr``, a share
    ``noise`` of the labels replaced by random ones (generator seed 1)."""
    x, y, _ = digits_mlp(3)
    if noise:
        g = torch.Generator().manual_seed(1)
        flip = torch.rand(len(y), generator=g) < noise
        y = y.clone()
        y[flip] = torch.randint(0, 10, (int(flip.sum()),), generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses: list[float] = []
    for _ in range(epochs):
        fit_epoch(model, opt, x, y, end=1792, batch=64, losses=losses)
    return [(step, losses[step - 1], lr) for step in range(7, len(losses) + 1, 7)]


def _csv(path, rows, with_lr: bool) -> str:
    head = "step,loss,lr" if with_lr else "step,loss"
    path.write_text(head + "\n" + "".join(",".join(f"{v:.6g}" for v in (r if with_lr else r[:2])) + "\n" for r in rows))
    return str(path)


def _flat_run() -> list[tuple[int, float, float]]:
    torch.manual_seed(3)
    return _batches(torch.nn.Linear(64, 10), noise=0.5)


def _learning_run() -> list[tuple[int, float, float]]:
    torch.manual_seed(3)
    return _batches(torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)), noise=0.0, lr=0.5)


def test_a_plateau_without_a_logged_lr_is_not_checked_and_says_what_it_saw(tmp_path):
    rows = _flat_run()
    v = [r[1] for r in rows]
    first, middle, last = (sum(p) / len(p) for p in (v[:5], v[30:75], v[75:]))
    assert first > 1.1 * last and abs(middle / last - 1) < 0.03  # it learned, then sat at its floor
    with_lr = lrdoctor.diagnose(_csv(tmp_path / "lr.csv", rows, with_lr=True))
    assert "plateau" in with_lr.coverage.ran
    f = next(f for f in with_lr.findings if f.kind == "plateau")
    # a constant LR has not decayed (``plateau_undecayed_lr``): a warning since stop 77, an info before
    assert f.evidence["lr_share_of_peak"] == 1.0 and f.severity.value == "warning"
    blind = lrdoctor.diagnose(_csv(tmp_path / "nolr.csv", rows, with_lr=False))
    assert "plateau" not in blind.coverage.ran and "plateau" not in {g.kind for g in blind.findings}
    why = blind.coverage.skipped["plateau"]
    assert why.startswith(f"the loss made no new best after step {f.start_step:g}") and "no learning-rate column" in why
    assert "oscillation" in blind.coverage.ran  # the other window checks still judge the same 120 reports


def test_a_loss_that_keeps_improving_is_checked_without_an_lr(tmp_path):
    rows = _learning_run()
    assert rows[-1][1] < 0.5 * rows[0][1]
    r = lrdoctor.diagnose(_csv(tmp_path / "learn.csv", rows, with_lr=False))
    assert "plateau" in r.coverage.ran and "plateau" not in r.coverage.skipped


def test_the_json_report_carries_the_reason(tmp_path):
    p = _csv(tmp_path / "nolr.csv", _flat_run(), with_lr=False)
    out = subprocess.run([sys.executable, "-m", "lrdoctor", "diagnose", p, "--format", "json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    cov = json.loads(out.stdout)["coverage"]
    assert "plateau" not in cov["ran"] and "no learning-rate column" in cov["skipped"]["plateau"]


def _stepped(rows: list[tuple[int, float, float]], cut_at: int, factor: float) -> list[tuple[int, float, float]]:
    return [(st, loss, lr if st < cut_at else lr / factor) for st, loss, lr in rows]


def test_lr_beyond_stability_is_not_checked_without_a_cut_or_enough_reports(tmp_path):
    rows = _learning_run()  # a constant LR of 0.5 for 120 reports
    const = lrdoctor.diagnose(_csv(tmp_path / "const.csv", rows, with_lr=True))
    assert "lr_beyond_stability" not in const.coverage.ran
    assert "never cut by 2x" in const.coverage.skipped["lr_beyond_stability"]
    short = lrdoctor.diagnose(_csv(tmp_path / "short.csv", _stepped(rows[:8], rows[4][0], 10), with_lr=True))
    assert "only 8 loss point(s); needs 10" in short.coverage.skipped["lr_beyond_stability"]
    late = lrdoctor.diagnose(_csv(tmp_path / "late.csv", _stepped(rows[:40], rows[38][0], 10), with_lr=True))
    assert "38 loss report(s) before the LR cut" in late.coverage.skipped["lr_beyond_stability"]
    # the twin: the same run with a step decay (x0.1 at report 60) is checked, and healthy
    step = lrdoctor.diagnose(_csv(tmp_path / "step.csv", _stepped(rows, rows[60][0], 10), with_lr=True))
    assert "lr_beyond_stability" in step.coverage.ran and "lr_beyond_stability" not in {f.kind for f in step.findings}


# angela's hill climber on LunarLander (labelled unhealthy, performance_reversal): 15 printed
# 100-episode averages of the return
LUNAR = "fresh22/angela-lunarlander-hc/lunarlander_hc.log"


def test_objective_mismatch_is_not_checked_on_fewer_than_twenty_reports_of_each_curve(tmp_path):
    x, y, _ = digits_mlp(3)
    rows = []
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for epoch in range(1, 31):
        _, last = fit_epoch(model, opt, x, y)
        with torch.no_grad():
            acc = (model(x[1400:]).argmax(1) == y[1400:]).float().mean().item()
        rows.append((epoch, last, acc))
    head = "epoch,loss,val_accuracy\n"
    fmt_rows = lambda rs: "".join(f"{e},{l:.6g},{a:.6g}\n" for e, l, a in rs)
    (tmp_path / "short.csv").write_text(head + fmt_rows(rows[:15]))
    (tmp_path / "full.csv").write_text(head + fmt_rows(rows))
    short = lrdoctor.diagnose(str(tmp_path / "short.csv"))
    assert "objective_mismatch" not in short.coverage.ran
    assert short.coverage.skipped["objective_mismatch"].startswith("15 loss and 15 task-metric point(s); needs 20")
    assert "performance_reversal" in short.coverage.ran  # its few-point rules judge 15 evaluations
    full = lrdoctor.diagnose(str(tmp_path / "full.csv"))
    assert "objective_mismatch" in full.coverage.ran and "objective_mismatch" not in {f.kind for f in full.findings}


def test_the_task_curve_cache_answers_each_minimum_whatever_the_order():
    path = real_log(LUNAR)
    first = lrdoctor.read(path)
    assert task_curve(first, 20) is None and task_curve(first).n == 15  # the longer minimum asked first
    second = lrdoctor.read(path)
    assert task_curve(second).n == 15 and task_curve(second, 20) is None  # and the other way round


def test_entropy_and_cycle_checks_say_when_the_log_is_too_short(tmp_path):
    # stable-baselines PPO2 tables pasted in RLTrader issue 80: policy_entropy at 2 updates
    snap = lrdoctor.diagnose(real_log("fresh9/sb2-rltrader-issue80-entropy-zero/issue80.log"))
    assert snap.coverage.skipped["entropy_collapse"].startswith("only 2 policy-entropy point(s); needs 10")
    long = lrdoctor.diagnose(real_log("tuning/sb3-rl-job-shop-ppo/progress.csv"))  # 25 PPO updates
    assert "entropy_collapse" in long.coverage.ran
    # TensorFlow Federated issue 2820: "Round N" then the round's eval metrics; its first three rounds
    lines = real_log("fresh50/tff-2820-eval-frozen/issue2820.log").read_text().splitlines()
    (tmp_path / "three.log").write_text("\n".join(lines[:6]) + "\n")
    three = lrdoctor.diagnose(str(tmp_path / "three.log"))
    assert three.coverage.skipped["cycle_degradation"] == "only 3 cycle(s); needs 4 (a trend over cycles)"
    assert "cycle_degradation" in lrdoctor.diagnose(real_log("fresh50/tff-2820-eval-frozen/issue2820.log")).coverage.ran


def test_label_smoothing_floor_is_not_checked_on_four_reports(tmp_path):
    rows = _learning_run()
    config = {"num_classes": 10, "label_smoothing": 0.1}
    short = lrdoctor.diagnose(_csv(tmp_path / "short.csv", rows[:4], with_lr=True), config=config)
    assert short.coverage.skipped["label_smoothing_floor"].startswith("only 4 loss point(s); needs 5")
    assert "label_smoothing_floor" in lrdoctor.diagnose(_csv(tmp_path / "long.csv", rows, with_lr=True), config=config).coverage.ran


def test_single_ppo_tables_say_which_rl_checks_they_are_too_short_for():
    # a stable-baselines3 PPO table pasted in SB3 issue 902: one update's statistics (kl_exceeded
    # judges one update beside a clip fraction since stop 72; tests/test_stop72_rules.py)
    r = lrdoctor.diagnose(real_log("fresh14/sb3-issue902-ppo-kl/issue902.log"))
    assert "kl_exceeded" in r.coverage.ran
    assert r.coverage.skipped["value_collapse"].startswith("only 1 explained-variance point(s); needs 5")
    long = lrdoctor.diagnose(real_log("tuning/sb3-rl-job-shop-ppo/progress.csv"))
    assert {"kl_exceeded", "value_collapse"} <= set(long.coverage.ran)


def test_q_divergence_needs_three_q_reports(tmp_path):
    # keras-rl issue 28: a continuous DQN whose mean_q runs to -4e11 over episodes 81-84
    path = real_log("tuning/kerasrl-issue28-cdqn-q-explosion/issue28_log.txt")
    lines = path.read_text().splitlines()
    (tmp_path / "two.txt").write_text("\n".join(lines[:2]) + "\n")
    two = lrdoctor.diagnose(str(tmp_path / "two.txt"))
    assert two.coverage.skipped["q_divergence"].startswith("only 2 Q-value point(s); needs 3")
    full = lrdoctor.diagnose(str(path))
    assert "q_divergence" in full.coverage.ran and "q_divergence" in {f.kind for f in full.findings}


def test_grad_norm_unstable_needs_the_ten_points_of_its_curve(tmp_path):
    x, y, model = digits_mlp(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    rows = []
    for epoch in range(1, 13):
        _, last = fit_epoch(model, opt, x, y)
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")).item()  # the last batch's gradient
        rows.append((epoch, last, norm))

    def write(name: str, rs: list[tuple[int, float, float]]) -> str:
        (tmp_path / name).write_text("epoch,loss,grad_norm\n" + "".join(f"{e},{l:.6g},{g:.6g}\n" for e, l, g in rs))
        return str(tmp_path / name)

    short = lrdoctor.diagnose(write("short.csv", rows[:8]))
    assert short.coverage.skipped["grad_norm_unstable"].startswith("only 8 positive gradient-norm point(s); needs 10")
    assert "grad_vanishing" in short.coverage.ran  # its exactly-zero rule reads two points
    assert "grad_norm_unstable" in lrdoctor.diagnose(write("full.csv", rows)).coverage.ran


def test_schedule_overridden_needs_room_for_two_snapbacks_or_the_scheduled_lr(tmp_path):
    rows = _learning_run()
    four = lrdoctor.diagnose(_csv(tmp_path / "four.csv", rows[:4], with_lr=True))
    assert four.coverage.skipped["schedule_overridden"].startswith("only 4 learning-rate point(s); needs 5")
    paired = tmp_path / "paired.csv"
    paired.write_text("step,loss,lr,scheduled_lr\n" + "".join(f"{st},{loss:.6g},{lr},{lr}\n" for st, loss, lr in rows[:4]))
    assert "schedule_overridden" in lrdoctor.diagnose(str(paired)).coverage.ran  # two signatures: this one reads 2 points
    assert "schedule_overridden" in lrdoctor.diagnose(_csv(tmp_path / "all.csv", rows, with_lr=True)).coverage.ran


def test_update_ratio_high_counts_the_measurements_it_judges(tmp_path):
    """||dw|| / ||w|| of the first layer, measured after each epoch of a digits MLP at SGD lr 0.5."""
    x, y, model = digits_mlp(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    rows = []
    for epoch in range(1, 13):
        before = model[0].weight.detach().clone()
        _, last = fit_epoch(model, opt, x, y)
        after = model[0].weight.detach()
        rows.append((epoch, last, float((after - before).norm() / after.norm())))

    def write(name: str, rs: list[tuple[int, float, float]]) -> str:
        (tmp_path / name).write_text("epoch,loss,update_ratio\n" + "".join(f"{e},{l:.6g},{u:.6g}\n" for e, l, u in rs))
        return str(tmp_path / name)

    five = lrdoctor.diagnose(write("five.csv", rows[:5]))  # the first of five epochs is the first tenth
    assert five.coverage.skipped["update_ratio_high"].startswith("only 4 update-ratio point(s) after the first 10%")
    assert "update_ratio_high" in lrdoctor.diagnose(write("all.csv", rows)).coverage.ran


def test_a_requirement_that_raises_becomes_a_skipped_check(monkeypatch, tmp_path):
    """A requirement that trips on a log no one foresaw lists its kind as not checked, with the
    error, and every other kind is still judged, as a rule's exception is; LRDOCTOR_STRICT re-raises."""
    import dataclasses

    import pytest

    from lrdoctor.detect import SPECS

    p = _csv(tmp_path / "nolr.csv", _flat_run(), with_lr=False)
    ran = set(lrdoctor.diagnose(p).coverage.ran)

    def boom(run):
        raise ZeroDivisionError("a requirement's bug")

    monkeypatch.setitem(SPECS, "plateau", dataclasses.replace(SPECS["plateau"], needs=boom))
    monkeypatch.delenv("LRDOCTOR_STRICT", raising=False)
    report = lrdoctor.diagnose(p)
    assert "ZeroDivisionError: a requirement's bug" in report.coverage.skipped["plateau"]
    assert set(report.coverage.ran) == ran and "divergence" in report.coverage.ran
    monkeypatch.setenv("LRDOCTOR_STRICT", "1")
    with pytest.raises(ZeroDivisionError):
        lrdoctor.diagnose(p)
