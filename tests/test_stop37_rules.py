"""Rules from the stop-37 study of the benchmark (issue 9), each on a really trained run with a twin:

- loss_spike: fewer than ``warn_count`` spikes whose peak stays below a tenth of the log's first
  report are info, however tall against the converged trend (a few mislabelled examples in one
  epoch of a fitted classifier); a spike that gives back a real share of the descent still warns;
- slow_progress: an evaluation accuracy of exactly 1/K at three or more evaluations from the start of
  training, beside an evaluation loss at ln K for the same K, is stuck at chance (K inferred from
  both, up to 1000: past the ln 2 .. ln 10 the loss alone may name);
- overfitting: 3 or 4 evaluations with no training loss and no accuracy logged (an HF table whose
  training loss reads "No log") are judged by the undone rule: the held-out loss undid all its
  progress and ended 10% above its best;
- slow_progress: an error rate pinned at or above 100% is not judged while another error rate of
  the run got below 50% (WER of Cantonese beside a CER that learned; a real card read in place).
"""

from __future__ import annotations

import torch
from trained_digits import digits_mlp, fit_epoch, warned, write_lines

import lrdoctor

torch.set_num_threads(1)


def _epoch_losses(mislabelled: int, epochs: int = 40, bad_epoch: int = 36) -> list[float]:
    """Per-epoch mean training loss of a 64-256-10 MLP fitted to 1,400 digits with Adam; during
    ``bad_epoch`` alone, ``mislabelled`` examples carry a wrong label (a corrupted shard)."""
    x, y, _ = digits_mlp(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    out = []
    for epoch in range(1, epochs + 1):
        labels = y.clone()
        if epoch == bad_epoch:
            g = torch.Generator().manual_seed(1)
            idx = torch.randperm(1400, generator=g)[:mislabelled]
            labels[idx] = (labels[idx] + 1 + torch.randint(0, 9, (mislabelled,), generator=g)) % 10
        out.append(fit_epoch(model, opt, x, labels)[0])
    return out


def _csv(tmp_path, losses: list[float]) -> str:
    return write_lines(tmp_path / "history.csv", ["epoch,loss"] + [f"{i + 1},{v:.5f}" for i, v in enumerate(losses)])


def test_a_blip_of_a_converged_loss_is_info(tmp_path):
    losses = _epoch_losses(mislabelled=4)
    peak, before = losses[35], losses[34]
    assert peak >= 3 * before  # tall against the trend: the rule that used to warn
    assert peak < losses[0] / 10 and losses[36] < 2 * before  # a blip near the floor, gone at once
    report = lrdoctor.diagnose(_csv(tmp_path, losses))
    spikes = [f for f in report.findings if f.kind == "loss_spike"]
    assert spikes and spikes[0].severity.rank == 0, report.findings  # seen, and said at info
    assert "loss_spike" not in warned(report)


def test_a_spike_that_gives_back_the_descent_still_warns(tmp_path):
    losses = _epoch_losses(mislabelled=150)
    assert losses[0] / 10 <= losses[35] < losses[0]
    report = lrdoctor.diagnose(_csv(tmp_path, losses))
    assert "loss_spike" in warned(report), report.findings


def _twenty_class_card(dead: bool, first_epoch: int = 1, epochs: int = 3) -> list[str]:
    """An HF results table of a 20-32-20 MLP on 20 Gaussian blobs (scikit-learn), evaluated on a
    balanced held-out set of 25 points per class. ``dead``: the hidden bias starts at -1000 (an
    init bug), so no ReLU fires and only the output bias learns. Twenty classes: ln 20 = 3.00 was
    above the range in which the stuck-at-chance rule inferred K from the loss (ln 2 .. ln 10) until
    stop 49, which took it to ln 24 with the accuracy's confirmation."""
    from sklearn.datasets import make_blobs

    xs, ys = make_blobs(n_samples=[75] * 20, n_features=20, cluster_std=4.0, random_state=0)
    x, y = torch.tensor(xs, dtype=torch.float32), torch.tensor(ys)
    held = torch.cat([torch.nonzero(y == c).flatten()[:25] for c in range(20)])
    train = torch.tensor(sorted(set(range(len(y))) - set(held.tolist())))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 20))
    if dead:
        with torch.no_grad():
            model[0].bias.fill_(-1000.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    lines = ["| Training Loss | Epoch | Step | Validation Loss | Accuracy |",
             "|:-------------:|:-----:|:----:|:---------------:|:--------:|"]
    for k in range(epochs):
        perm = train[torch.randperm(train.numel())]
        mean, _ = fit_epoch(model, opt, x[perm], y[perm], end=perm.numel())
        with torch.no_grad():
            logits = model(x[held])
            val = torch.nn.functional.cross_entropy(logits, y[held]).item()
            acc = (logits.argmax(1) == y[held]).float().mean().item()
        epoch = first_epoch + k
        lines.append(f"| {mean:.4f} | {epoch:.1f} | {epoch * 20} | {val:.4f} | {acc:.4f} |")
    return lines


def test_an_accuracy_of_one_over_k_beside_a_loss_at_ln_k_is_stuck_at_chance(tmp_path):
    lines = _twenty_class_card(dead=True)
    assert all("| 0.0500 |" in row for row in lines[2:])  # one class for every input of a balanced set
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", lines))
    f = warned(report, 2).get("slow_progress")
    assert f is not None and f.evidence["num_classes"] == 20 and "1/20" in f.summary, report.findings


def test_a_live_network_on_the_same_data_is_not_at_chance(tmp_path):
    lines = _twenty_class_card(dead=False)
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", lines))
    assert "slow_progress" not in warned(report), report.findings


def test_the_same_prints_deep_into_a_run_are_not_judged(tmp_path):
    # epochs 5-7 of an excerpt: the log does not show the start, so no rule of the start applies.
    # (Since stop 49 the stuck-at-chance rule, which needs no start, infers K up to 24 from the loss
    # and confirms it by the accuracy: it may call this dead network stuck, by its own evidence.)
    lines = _twenty_class_card(dead=True, first_epoch=5)
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", lines))
    f = warned(report, 2).get("slow_progress")
    assert f is None or f.evidence.get("num_classes_source") == "inferred: the loss sits at ln K", report.findings


def _without_accuracy(lines: list[str]) -> list[str]:
    """An HF results table with its Accuracy column dropped: a card that logs the validation loss only."""
    return ["|".join(line.split("|")[:5] + [""]) for line in lines]


def test_three_evaluations_alone_that_undo_their_progress_overfit(tmp_path):
    from test_stop36_rules import _noisy_label_run

    lines = _without_accuracy(_noisy_label_run((5, 20, 150), noise=0.2, card=True))
    assert lines[0].strip() == "| Training Loss | Epoch | Step | Validation Loss |"
    val = [float(line.split("|")[4]) for line in lines[2:]]
    assert val[1] < val[0] < val[2] and val[2] > 1.1 * val[1]
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", lines))
    f = warned(report).get("overfitting")
    assert f is not None and "no training loss or accuracy" in f.summary, report.findings


def test_three_evaluations_alone_below_their_first_are_not_judged(tmp_path):
    from test_stop36_rules import _noisy_label_run

    lines = _without_accuracy(_noisy_label_run((5, 20, 45), noise=0.2, card=True))
    val = [float(line.split("|")[4]) for line in lines[2:]]
    assert val[1] < val[2] < val[0]
    report = lrdoctor.diagnose(write_lines(tmp_path / "training_results.md", lines))
    assert "overfitting" not in warned(report), report.findings
    assert "overfitting" in report.coverage.ran  # judged, and found healthy: not skipped


def test_wer_over_text_without_spaces_is_not_judged_where_cer_learned(tmp_path):
    # XLS-R on Common Voice zh-HK: WER 1.0-2.3 at all 74 evaluations (a Cantonese sentence has no
    # spaces, so it is one "word"), while CER fell 1.0 -> 0.28: the model recognises characters
    from bench_logs import real_log

    path = real_log("fresh270/w11wo-xlsr300m-zh-hk-lm-v2/training_results.md")
    report = lrdoctor.diagnose(path)
    assert "slow_progress" not in warned(report, 2), report.findings
    # the twin: the same table with its CER column dropped says nothing against the pinned WER
    rows = [line for line in open(path) if line.startswith("|")]
    twin = write_lines(tmp_path / "training_results.md", ["|".join(r.split("|")[:6] + [""]) for r in rows])
    f = warned(lrdoctor.diagnose(twin), 2).get("slow_progress")
    assert f is not None and f.evidence["metric"] == "eval_wer", f
