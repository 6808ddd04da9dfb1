"""loss_spike on a training loss printed down to 0 (stop 75, the nonfinite/loss_spike pool).

**A printed zero is half a printing step, not 0.** A Hugging Face card prints the training loss to
4 decimals, and a fitted classifier's epoch loss prints as 0.0 beside 0.0001. The few-point rule of
``loss_spike`` judges heights on the log scale and gave up on any log holding a 0, so a spike
between two fitted epochs went unjudged (distilhubert on GTZAN: 0.1489, 0.0001, 0.3174, 0.0001,
0.0 ...). A printed 0 is now read as half the printing step, the round-to-nearest bound. A height
measured against that floor is a bound, not a ratio, so such a spike warns only by the existing
rules that do not rest on the ratio (it undoes ``warn_undo`` of the progress, stands above the
first report, or recurs ``warn_count`` times); a blip at the floor stays info (a BART MLM card at
0.0001-0.0018 with one 0.0009)."""

from __future__ import annotations

from pathlib import Path

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, warned, write_lines

import lrdoctor
from lrdoctor.finding import Severity

torch.set_num_threads(1)

_DISTILHUBERT = "fresh758/cryptoque-distilhubert-gtzan-v2/training_results.md"
_BART_MLM_AT_THE_FLOOR = "fresh285/gayanin-bart-mlm-pubmed-medterm/training_results.md"


def _fitted_card(tmp_path: Path, corrupt: bool) -> str:
    """Fit the 64-32-10 digits MLP to 200 digits with Adam (lr 0.03), 60 passes an epoch for 14
    epochs, and write an HF card's table of each epoch's mean training loss to 4 decimals: it
    prints 0.0000 from epoch 6. With ``corrupt``, the first pass of epoch 7 trains on shuffled
    labels (a corrupted shard): the epoch's loss jumps to about 0.5, above the first epoch's, and
    the next epoch is back near 0.004."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    shuffled = y[torch.randperm(y.numel(), generator=torch.Generator().manual_seed(1))]
    lines = ["Training Loss | Epoch | Step | Validation Loss |", "---|---|---|---|"]
    for epoch in range(1, 15):
        losses: list[float] = []
        for p in range(60):
            labels = shuffled if corrupt and epoch == 7 and p == 0 else y
            fit_epoch(model, opt, x, labels, end=200, batch=50, losses=losses)
        lines.append(f"{sum(losses) / len(losses):.4f} | {epoch:.1f} | {240 * epoch} | No log |")
    return write_lines(tmp_path / "README.md", lines)


def _spikes(report):
    return [f for f in report.findings if f.kind == "loss_spike"]


def test_a_spike_in_a_loss_printed_down_to_zero_warns(tmp_path):
    """The corrupted run: 0.0000 at epoch 6, about 0.5 at epoch 7, then 0.004 and falling."""
    path = _fitted_card(tmp_path, corrupt=True)
    assert "0.0000 | 6.0" in Path(path).read_text()
    [f] = _spikes(lrdoctor.diagnose(path))
    assert f.severity is Severity.WARNING and f.start_step == 240.0 * 7
    assert f.evidence["progress_undone"] >= 0.5


def test_a_loss_printed_down_to_zero_without_a_spike_is_silent(tmp_path):
    """The twin, on the true labels throughout: zeros from epoch 6, and no loss_spike at all."""
    path = _fitted_card(tmp_path, corrupt=False)
    assert "0.0000 | 6.0" in Path(path).read_text()
    assert _spikes(lrdoctor.diagnose(path)) == []


def test_the_distilhubert_card_has_a_loss_spike():
    """The card read in place: 0.1489, 0.0001, 0.3174 at step 339, 0.0001, 0.0, ... 0.0."""
    report = lrdoctor.diagnose(real_log(_DISTILHUBERT))
    assert "loss_spike" in warned(report)
    [f] = _spikes(report)
    assert f.start_step == 339.0 and f.evidence["largest"]["loss"] == 0.3174


def test_a_blip_at_the_printing_floor_is_info():
    """A BART MLM card whose training loss is 0.0018 at its first report and 0.0 to 0.0009 after: the
    0.0009 between 0.0001 and 0.0 is 18x the floor read at half a step, a bound and not a ratio, and
    it undoes under half the progress: info, not a warning."""
    report = lrdoctor.diagnose(real_log(_BART_MLM_AT_THE_FLOOR))
    assert "loss_spike" not in warned(report)
