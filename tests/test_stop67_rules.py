"""slow_progress says when its chance rule could not conclude (stop 67): a loss that sits at ln K
with the accuracy at 1/K is the no-learning picture, but a log that ends within the first
``min_steps`` updates, or while the LR is still warming up, is too early to call the run stuck.
Before, the report listed slow_progress as checked and silent there, which reads as "learning
fine" (issue 9: where a log is too short to judge a kind, the report says so for that kind).
Really trained linear classifiers on scikit-learn's digits, some with labels drawn at random."""

import math

import torch

import lrdoctor

torch.set_num_threads(1)


def _digits(k):
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = torch.tensor(d.target) < k
    return torch.tensor(d.data / 16.0, dtype=torch.float32)[keep], torch.tensor(d.target)[keep]


def _linear_log(path, lr, *, k=6, steps=600, every=30, first=1, accuracy=False, random_labels=False):
    """Fit a linear softmax classifier on the digits of classes 0..k-1 by SGD at ``lr``, from zero
    weights and bias (uniform outputs: the loss starts at ln k exactly); write step,loss (and the
    batch accuracy when ``accuracy``) every ``every`` of ``steps`` updates, from update ``first``.
    With ``random_labels`` the labels are drawn at random, independent of the images (a data
    pipeline that pairs images with the wrong labels): nothing can be learned, and the batch loss
    wanders around ln k."""
    torch.manual_seed(0)
    x, y = _digits(k)
    if random_labels:
        y = torch.randint(0, k, y.shape)
    model = torch.nn.Linear(64, k)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    rows = ["step,loss" + (",accuracy" if accuracy else "")]
    for step in range(1, steps + 1):
        i = torch.randint(0, len(y), (32,))
        out = model(x[i])
        loss = torch.nn.functional.cross_entropy(out, y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step >= first and (step - first) % every == 0:
            acc = float((out.argmax(1) == y[i]).float().mean())
            rows.append(f"{step},{float(loss.detach()):.4f}" + (f",{acc:.4f}" if accuracy else ""))
    path.write_text("\n".join(rows) + "\n")


def test_a_run_at_chance_too_short_to_call_stuck_says_so_and_a_long_one_is_stuck(tmp_path):
    short = tmp_path / "short.csv"
    _linear_log(short, 0.01, steps=60, every=6, accuracy=True, random_labels=True)  # 10 reports, updates 1-55
    report = lrdoctor.diagnose(short, config={"num_classes": 6})
    assert not report.findings and "slow_progress" not in report.coverage.ran
    why = report.coverage.skipped["slow_progress"]
    assert "ln 6" in why and "500" in why and "spans only 54 updates" in why
    long = tmp_path / "long.csv"
    _linear_log(long, 0.01, steps=600, every=60, accuracy=True, random_labels=True)
    stuck = lrdoctor.diagnose(long, config={"num_classes": 6})
    assert [(f.kind, f.severity.value) for f in stuck.findings] == [("slow_progress", "error")]
    assert math.isclose(stuck.findings[0].evidence["ln_k"], math.log(6))


def test_a_short_run_that_learns_is_checked_and_silent(tmp_path):
    log = tmp_path / "learns.csv"
    _linear_log(log, 0.5, steps=60, every=6, accuracy=True)
    report = lrdoctor.diagnose(log, config={"num_classes": 6})
    assert "slow_progress" in report.coverage.ran and not report.findings


def test_a_run_at_chance_in_its_warmup_says_so(tmp_path):
    """The same stuck run logged with its LR, still rising at the last report (a warm-up longer than
    the log): too early to call stuck, and the report says why."""
    log = tmp_path / "warming.csv"
    _linear_log(log, 0.01, steps=600, every=60, accuracy=True, random_labels=True)
    rows = log.read_text().splitlines()
    rows = [rows[0] + ",lr"] + [f"{r},{1e-5 * int(r.split(',')[0]):.6g}" for r in rows[1:]]  # linear warm-up
    log.write_text("\n".join(rows) + "\n")
    report = lrdoctor.diagnose(log, config={"num_classes": 6})
    assert not [f for f in report.findings if f.kind == "slow_progress"]
    assert "warming up" in report.coverage.skipped["slow_progress"]
