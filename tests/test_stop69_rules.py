"""loss_spike's share of the progress undone (stop 69): a spike is a warning when it gives back half
of the descent the run had made (``warn_undo``), and that descent is measured from the level the
curve started from, its first report, as ``floor_share`` reads it. It was measured from the median
of the trend's first window, which on a few-point log whose descent is done by its second report
already sits at the floor: any blip then "undid" several times the run's progress. A really trained
digits MLP with a few batches of shuffled labels in the middle of the run, and a real log of the
benchmark read in place (a healthy OLMo-1B fine-tune with one small blip)."""

from pathlib import Path

import pytest
import torch

import lrdoctor

torch.set_num_threads(1)

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"


def _digits_log(path, bad, *, at=10, reports=18, every=25, seed=0):
    """Train a 64-64-10 MLP with Adam (lr 0.01, batches of 32) on the digits; the loss on the whole
    training set is written at initialisation and every ``every`` updates. The last ``bad`` updates
    before report ``at`` train on labels drawn at random (outlier batches): the loss jumps and then
    comes back as the clean batches resume."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)

    def full_loss():
        with torch.no_grad():
            return float(torch.nn.functional.cross_entropy(model(x), y))

    rows, step = ["step,loss", f"0,{full_loss():.4f}"], 0
    for r in range(1, reports + 1):
        for k in range(every):
            step += 1
            i = torch.randint(0, len(y), (32,))
            target = torch.randint(0, 10, (32,)) if r == at and k >= every - bad else y[i]
            loss = torch.nn.functional.cross_entropy(model(x[i]), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
        rows.append(f"{step},{full_loss():.4f}")
    path.write_text("\n".join(rows) + "\n")
    return [float(r.split(",")[1]) for r in rows[1:]]


def _spike(report):
    return next((f for f in report.findings if f.kind == "loss_spike"), None)


@pytest.mark.parametrize("bad, undone", [(5, (0.1, 0.4)), (10, (0.5, 0.8))])
def test_progress_undone_is_a_share_of_the_descent_from_the_first_report(tmp_path, bad, undone):
    """The loss falls from ln 10 at initialisation to about 0.1 within a few reports; a few batches
    of shuffled labels then throw it up and it comes back. The share of the descent undone is
    (peak - best) / (first report - best): a fifth for five bad batches, over half for ten. Measured
    from the first window's median (about 0.23) it read 2.2 and 6.4."""
    loss = _digits_log(tmp_path / "digits.csv", bad)
    assert loss[0] > 2.0 and min(loss[1:10]) < 0.12  # the descent is made before the blip
    f = _spike(lrdoctor.diagnose(str(tmp_path / "digits.csv")))
    assert f is not None and f.severity.value == "warning"  # (both peaks are 3x+ their trend: ``warn_ratio``)
    lo, hi = undone
    assert lo <= f.evidence["progress_undone"] <= hi


def test_a_small_blip_after_a_descent_made_at_the_second_report_is_info():
    """OLMo-1B fine-tune (Litzy619/O0428HMA24, labelled healthy): training loss 1.3605, then
    0.17-0.15 for nine reports, 0.1355, one report at 0.2371 (1.75x its neighbours), back to 0.1134
    and down to 0.06. The blip gives back 8% of the descent from 1.36: a note, not a warning (it read
    4.7x the progress from the window's median 0.157, and warned)."""
    path = LOGS / "fresh1089" / "litzy619-o0428hma24" / "training_results.md"
    f = _spike(lrdoctor.diagnose(str(path)))
    assert f is not None and f.severity.value == "info"
    assert f.evidence["progress_undone"] < 0.1
    assert not any(x.severity.rank >= 1 for x in lrdoctor.diagnose(str(path)).findings)


# -- schedule_overridden: the values an undone decay drops to are a schedule's ----------------------


def _lr_log(path, spelling, *, epochs=10, steps=25, base=0.05, seed=0):
    """Train a 64-64-10 MLP with SGD on the digits and print two rows per epoch, ``step,loss,lr``:
    one in the middle of the epoch with the LR that step used, one at the epoch's end with the
    optimizer's LR after the scheduler stepped. ``awd``: each batch has a random size and its LR is
    scaled by size / 32 for that step, then restored (AWD-LSTM's rescaling by the BPTT length).
    ``bug``: a per-step warmup *assigns* base x min(1, step / 20), and an epoch StepLR halves the LR
    at each epoch's end: the post-mortem's overwrite, every decay undone at the next step."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=base)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5) if spelling == "bug" else None
    rows, step = ["step,loss,lr"], 0
    for _ in range(epochs):
        for k in range(steps):
            step += 1
            size = int(torch.randint(8, 33, ()).item()) if spelling == "awd" else 32
            if spelling == "awd":
                opt.param_groups[0]["lr"] = base * size / 32
            else:
                opt.param_groups[0]["lr"] = base * min(1.0, step / 20)
            used = opt.param_groups[0]["lr"]
            i = torch.randint(0, len(y), (size,))
            loss = torch.nn.functional.cross_entropy(model(x[i]), y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if spelling == "awd":
                opt.param_groups[0]["lr"] = base
            if k == steps // 2:
                rows.append(f"{step},{float(loss):.4f},{used:.6g}")
        if sched is not None:
            sched.step()
        rows.append(f"{step},{float(loss):.4f},{opt.param_groups[0]['lr']:.6g}")
    path.write_text("\n".join(rows) + "\n")
    return [float(r.split(",")[2]) for r in rows[1:]]


def test_a_per_batch_lr_rescaling_is_no_undone_schedule(tmp_path):
    """The mid-epoch LR dips by a different amount each epoch (the batch's size / 32) and is back at
    0.05 at every epoch's end: the dips go up as often as down, which no scheduler does."""
    lr = _lr_log(tmp_path / "awd.csv", "awd")
    dips = lr[0::2]
    assert all(v < 0.05 for v in dips) and any(b > a for a, b in zip(dips, dips[1:]))
    report = lrdoctor.diagnose(str(tmp_path / "awd.csv"))
    assert "schedule_overridden" in report.coverage.ran
    assert not [f for f in report.findings if f.kind == "schedule_overridden"]


def test_the_overwrite_still_snaps_back_to_a_decayed_value_each_time(tmp_path):
    """The twin: the StepLR halving shows at each epoch's end (0.025) and the warmup's assignment
    writes 0.05 back at the next step, every epoch: a drop to the same value each time."""
    lr = _lr_log(tmp_path / "bug.csv", "bug")
    assert lr[-1] == pytest.approx(0.025) and lr[-2] == pytest.approx(0.05)
    f = next(f for f in lrdoctor.diagnose(str(tmp_path / "bug.csv")).findings if f.kind == "schedule_overridden")
    assert f.severity.value == "warning" and f.evidence["snapbacks"] >= 8
    assert f.evidence["lr_dropped_to"] == pytest.approx(0.025)
