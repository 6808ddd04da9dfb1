"""Example: a training loop with a composed schedule, the Monitor and the Guard.

Two lines added to a plain loop (create the Monitor; call ``mon.step(loss)``). The LR starts
10x too high for SGD on this model: the Guard rewinds and halves it until training is stable,
and the report lists each rewind. Runs as a test (pytest collects examples/example_*.py).
"""

import tempfile
from pathlib import Path

import torch

import lrdoctor
from lrdoctor import schedules


def main(out: Path, lr: float = 2.0, steps: int = 300) -> lrdoctor.Report:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(2048, 16)
    y = (x[:, :4].sum(1, keepdim=True) > 0).float()
    model = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = schedules.to_torch(opt, schedules.cosine(steps, min_ratio=0.1))          # pure schedule -> LRScheduler
    mon = lrdoctor.Monitor(opt, model=model, scheduler=sched, log_to=str(out),     # line 1
                           guard=lrdoctor.Guard(every=20))
    for _ in range(steps):
        idx = torch.randint(0, len(x), (64,))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        mon.step(loss)                                                             # line 2
    report = mon.report()
    mon.close()
    print(report)
    return report


def test_example_guard_rewinds_and_the_run_ends_healthy():
    with tempfile.TemporaryDirectory() as d:
        report = main(Path(d))
        offline = lrdoctor.diagnose(d)  # the log the Monitor wrote reads back
    rewinds = [f for f in report.findings if "guard_rewind" in f.evidence]
    assert rewinds, [f.summary for f in report.findings]
    last_loss = report.run.series("loss").finite().values[-20:].mean()
    assert last_loss < 0.3
    assert offline.run.n_steps == report.run.n_steps


if __name__ == "__main__":
    main(Path(tempfile.mkdtemp()))
