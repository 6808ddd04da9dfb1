"""Three false divergences of stop 76, each on really trained runs, their twins and real logs read in place.

**A trend whose end only copies a spike's window is no divergence.** The trend rule smooths the
loss with a rolling median and pads its last ``window // 2`` points with the last full window's
median. A spike in the last window then reaches "the end" through that padding, though the reports
the padding stands for are back at the loss's level (OLMo-1B: 0.15 for ten reports, 0.24, 0.30,
2.17, 1.00, then 0.163 and 0.156; "did not recover"). When every report of the padded tail is back
within the rule's own threshold of the best, the rise is a transient, as one that ends before the log.

**The last-report rule asks the give-back of its siblings.** A training loss at its floor that moves
by factors at the last report, beside an evaluation loss that doubled, is overfitting's picture, not
weights that blew up (Whisper-tiny on Hindi: training 0.36 -> 0.0004 -> 0.0018, 0.4% of its descent
given back, as the validation loss went 0.34 -> 0.71). The stay, jump, decade and runaway rules
already asked that a divergence give back a tenth of the descent (``give_back``); the last-report
rule now does too.

**A log whose epoch column restarts begins a new stage.** An epoch counter never goes back within one
run: a table whose epoch falls while its step runs on joins a second run resumed from the first's
weights (a Whisper-small card: epoch 9.95 at step 4000, 2.02 at step 5000, where the training loss
went 0.0064 -> 0.197 and the validation loss fell). The first reports of that stage meet its data and
optimiser afresh, as a restarted warm-up's do, which ``_new_stage`` already clears."""

from __future__ import annotations

from pathlib import Path

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

import lrdoctor
from lrdoctor.finding import Severity
from series_helpers import divergence_findings as _divergence

torch.set_num_threads(1)

_OLMO_SPIKE = "fresh889/litzy619-olmo1b-o0503hma10/training_results.md"
_KERAS_DIVERGE = "fresh2/keras-keras-issue21-diverge/issue21.log"
_WHISPER_FLOOR = "fresh1304/velocity-ai-velocity-whisper-hi-tiny/training_results.md"
_NNUNET_BLOWUP = "fresh4/text-nnunet-issue2290-2d-blowup/issue2290.log"
_WHISPER_RESUMED = "fresh694/qmeeus-whisper-small-nl-793067e/training_results.md"



def _shard_log(tmp_path: Path, recover: bool) -> str:
    """Train the 64-32-10 digits MLP with Adam (lr 0.003) for 17 epochs and write a Keras log of each
    epoch's mean training loss and held-out loss. Epochs 12-14 train on a corrupted shard (half the
    labels redrawn at random); with ``recover`` the clean data is back for the last three epochs,
    without it the corruption lasts to the end."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.003)
    g = torch.Generator().manual_seed(1)
    lines = []
    for epoch in range(1, 18):
        labels = y
        if 12 <= epoch <= 14 or (not recover and epoch > 14):
            labels = y.clone()
            bad = torch.rand(y.numel(), generator=g) < 0.5
            labels[bad] = torch.randint(0, 10, (int(bad.sum()),), generator=g)
        train, _ = fit_epoch(model, opt, x, labels)
        lines.append(f"Epoch {epoch}/17 - loss: {train:.4f} - val_loss: {held_out_loss(model, x, y):.4f}")
    return write_lines(tmp_path / "train.log", lines)


def test_a_spike_whose_last_reports_came_back_is_no_divergence(tmp_path):
    """The corrupted shard: the loss jumps from 0.16 to 3.2 and falls back to 0.34 and 0.24 at the last
    two epochs, while the rolling median of the last window still reads 1.8."""
    report = lrdoctor.diagnose(_shard_log(tmp_path, recover=True))
    assert _divergence(report) == []


def test_a_rise_that_lasts_to_the_end_is_still_a_divergence(tmp_path):
    """The twin, corrupted to the end: the loss stays at 1.8 from epoch 12 on."""
    [f] = _divergence(lrdoctor.diagnose(_shard_log(tmp_path, recover=False)))
    assert f.severity is Severity.ERROR and f.start_step == 12.0


def test_the_olmo_spike_card_is_no_divergence():
    """The card read in place: training loss 2.17 at step 140, back to 0.163 and 0.156; the spike is
    loss_spike's."""
    report = lrdoctor.diagnose(real_log(_OLMO_SPIKE))
    assert _divergence(report) == [] and "loss_spike" in warned(report)


def test_the_keras_issue_21_log_still_diverges():
    """A rise that holds to the end (0.79 -> 26.6): the padded tail's reports are high too."""
    [f] = _divergence(lrdoctor.diagnose(real_log(_KERAS_DIVERGE)))
    assert f.severity is Severity.ERROR


def _memorised_card(tmp_path: Path, corrected: int, lr_jump: float) -> str:
    """A 64-256-10 MLP memorises 300 digits of which 30% carry a random label (Adam, lr 0.01, 150
    epochs), and an HF card's table is written every 10 epochs: mean training loss and the held-out
    loss on the clean digits from 1400 on, which climbs as the noise is memorised. In the last epoch
    ``corrected`` of the random labels are set right, and the LR is multiplied by ``lr_jump``."""
    x, y, _ = digits_mlp(0)
    g = torch.Generator().manual_seed(1)
    noisy = y.clone()
    flip = torch.rand(300, generator=g) < 0.3
    noisy[:300][flip] = torch.randint(0, 10, (int(flip.sum()),), generator=g)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    lines = ["Training Loss | Epoch | Step | Validation Loss |", "---|---|---|---|"]
    for epoch in range(1, 151):
        labels = noisy
        if epoch == 150:
            labels = noisy.clone()
            fixed = flip.nonzero().squeeze(1)[:corrected]
            labels[fixed] = y[fixed]
            for group in opt.param_groups:
                group["lr"] *= lr_jump
        train, _ = fit_epoch(model, opt, x, labels, end=300)
        if epoch % 10 == 0:
            lines.append(f"{train:.4f} | {epoch:.1f} | {6 * epoch} | {held_out_loss(model, x, y):.4f} |")
    return write_lines(tmp_path / "README.md", lines)


def test_a_last_report_that_moves_at_the_floor_is_no_divergence(tmp_path):
    """One label corrected before the last epoch: the training loss goes 0.0040 -> 0.042 (10x, 4% of
    its descent from 0.88) while the memorising run's held-out loss is 3x its best. Overfitting, not
    a blow-up."""
    report = lrdoctor.diagnose(_memorised_card(tmp_path, corrected=1, lr_jump=1.0))
    assert _divergence(report) == [] and "overfitting" in warned(report)


def test_a_last_report_that_blew_up_is_still_a_divergence(tmp_path):
    """The twin: the LR multiplied by 30 for the last epoch, the training loss 0.004 -> 44."""
    [f] = _divergence(lrdoctor.diagnose(_memorised_card(tmp_path, corrected=0, lr_jump=30.0)))
    assert f.severity is Severity.ERROR and f.start_step == 900.0


def test_a_memorising_run_without_a_jump_is_no_divergence(tmp_path):
    """The healthy twin of the data: no label corrected, no LR change; only overfitting."""
    report = lrdoctor.diagnose(_memorised_card(tmp_path, corrected=0, lr_jump=1.0))
    assert _divergence(report) == [] and "overfitting" in warned(report)


def test_the_whisper_hindi_card_is_no_divergence():
    """The card read in place: training 0.0004 -> 0.0018 at the last row, validation 0.34 -> 0.71."""
    report = lrdoctor.diagnose(real_log(_WHISPER_FLOOR))
    assert _divergence(report) == [] and "overfitting" in warned(report)


def test_the_nnunet_blowup_still_diverges_at_the_last_report():
    """nnU-Net issue 2290: train 0.12 -> 0.60, val 0.48 -> 3.64 at the last epoch, 2x its descent back."""
    [f] = _divergence(lrdoctor.diagnose(real_log(_NNUNET_BLOWUP)))
    assert f.severity is Severity.ERROR and "the last report" in f.evidence["rule"]


def _resumed_card(tmp_path: Path, restart: bool) -> str:
    """The digits MLP (Adam, lr 0.01) trained 8 epochs on the digits 0-4 only, then resumed with a fresh
    optimiser on all ten classes for 4 epochs; an HF card's table of mean training loss and held-out
    loss (all classes) at each epoch. With ``restart`` the epoch column starts again at 1 for the
    second run, as a resumed Trainer writes it; without it, it runs on (9, 10, ...)."""
    x, y, model = digits_mlp(0)
    few = (y[:1400] < 5).nonzero().squeeze(1)
    lines = ["Training Loss | Epoch | Step | Validation Loss |", "---|---|---|---|"]
    step = 0
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(1, 9):
        train, _ = fit_epoch(model, opt, x[few], y[few], end=few.numel())
        step += 14
        lines.append(f"{train:.4f} | {epoch:.1f} | {step} | {held_out_loss(model, x, y):.4f} |")
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(1, 5):
        train, _ = fit_epoch(model, opt, x, y)
        step += 28
        lines.append(f"{train:.4f} | {float(epoch if restart else 8 + epoch):.1f} | {step} | {held_out_loss(model, x, y):.4f} |")
    return write_lines(tmp_path / "README.md", lines)


def test_a_rise_where_the_epoch_column_restarts_is_no_divergence(tmp_path):
    """The resumed run: training loss 0.039 -> 2.18 at the first epoch of the second run (classes it
    never saw), the held-out loss 6.3 -> 1.4 -> 0.62."""
    report = lrdoctor.diagnose(_resumed_card(tmp_path, restart=True))
    assert _divergence(report) == []


def test_the_same_rise_with_the_epoch_running_on_is_still_reported(tmp_path):
    """The twin, the same training with the epoch column running on: the rule that reads the rise is
    unchanged, only the restart clears it."""
    [f] = _divergence(lrdoctor.diagnose(_resumed_card(tmp_path, restart=False)))
    assert f.start_step == 140.0


def test_the_resumed_whisper_card_is_no_divergence():
    """The card read in place: epoch 9.95 at step 4000, 2.02 at step 5000, training loss 0.0064 -> 0.197."""
    assert _divergence(lrdoctor.diagnose(real_log(_WHISPER_RESUMED))) == []
