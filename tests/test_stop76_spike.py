"""A change of stop 76 to ``loss_spike``, on really trained runs, their twin and a real log read in place.

**An info blip of the training loss no longer hides a spike of the evaluation loss.** The evaluation
rule (an evaluation 3x both its neighbours, an outlier against the other evaluations) was read only
where the training loss showed no spike at all. A blip of the training loss that the detector itself
calls info (one spike under 3x its level that undoes little of the progress, or one under a tenth of
the first report) returned that info finding, and the evaluation spike beside it, a warning by its
own measure, was never looked at. A Keras date-format seq2seq with scheduled sampling: training loss
0.0241 -> 0.0705 -> 0.0182 (a blip near the floor: info), val_loss 0.0205 -> 0.0823 -> 0.0117 (4x
both neighbours). The evaluation rule is now read whenever the training loss gives no warning."""

from __future__ import annotations

from pathlib import Path

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

import lrdoctor
from lrdoctor.detect import loss_spike
from lrdoctor.finding import Severity

torch.set_num_threads(1)

_SCHEDULED_SAMPLER = "fresh106/handsonml2-ch16-date-scheduled-sampler/train.log"
_JOLT_EPOCH = 8


def _keras_log(tmp_path: Path, jolt: bool) -> str:
    """Train the 64-32-10 digits MLP with Adam (lr 0.01) for 16 epochs and write Keras's fit() lines:
    each epoch's mean training loss and the held-out loss at its end. With ``jolt``, the last update
    of epoch 8 runs at lr 0.2 (a scheduler glitch): the weights the epoch ends with are briefly much
    worse, so its evaluation spikes, while the epoch's mean training loss (its batches' losses are
    taken before their updates) never sees them; the next epoch's mean carries the recovery, a blip
    of the training loss, and the evaluations come back."""
    x, y, model = digits_mlp(0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    lines = []
    for epoch in range(1, 17):
        if jolt and epoch == _JOLT_EPOCH:
            losses: list[float] = []
            fit_epoch(model, opt, x, y, end=1350, losses=losses)
            for group in opt.param_groups:
                group["lr"] = 0.2
            fit_epoch(model, opt, x[1350:], y[1350:], end=50, losses=losses)
            for group in opt.param_groups:
                group["lr"] = 0.01
            train = sum(losses) / len(losses)
        else:
            train, _ = fit_epoch(model, opt, x, y)
        lines += [f"Epoch {epoch}/16",
                  f"28/28 [==============================] - 0s 2ms/step - loss: {train:.4f} - val_loss: {held_out_loss(model, x, y):.4f}"]
    return write_lines(tmp_path / "train.log", lines)


def _spike(report):
    return [f for f in report.findings if f.kind == "loss_spike"]


def test_an_evaluation_spike_beside_an_info_blip_of_the_training_loss_is_a_warning(tmp_path):
    """The jolted run: the held-out loss at the end of epoch 8 is over 3x the evaluations on either
    side, the training loss shows a blip under 3x at epoch 9 that the training rules alone call info;
    the report warns of the evaluation spike."""
    run = lrdoctor.read(_keras_log(tmp_path, jolt=True))
    e, t = run.series("eval_loss").values, run.series("loss").values
    i = _JOLT_EPOCH - 1
    assert e[i] > 3 * max(e[i - 1], e[i + 1]) and t[i + 1] > 1.5 * max(t[i], t[i + 2])
    assert [f.severity for f in loss_spike._detect_training(run, loss_spike.DEFAULTS)] == [Severity.INFO]
    [f] = _spike(lrdoctor.diagnose(run))
    assert f.severity is Severity.WARNING and f.end_step == float(_JOLT_EPOCH)
    assert "evaluation-loss spike" in f.summary


def test_the_unjolted_twin_has_no_loss_spike(tmp_path):
    """The twin, every update at lr 0.01: both losses fall without a spike, and nothing is said."""
    report = lrdoctor.diagnose(_keras_log(tmp_path, jolt=False))
    assert _spike(report) == [] and "oscillation" not in warned(report)


def test_the_scheduled_sampling_log_warns_of_its_evaluation_spike():
    """The Keras log read in place: val_loss 0.0205 -> 0.0823 -> 0.0117 at epochs 11-13, 4x both
    neighbours, beside a training blip 0.0241 -> 0.0705 -> 0.0182 under a tenth of the first 1.68."""
    [f] = _spike(lrdoctor.diagnose(real_log(_SCHEDULED_SAMPLER)))
    assert f.severity is Severity.WARNING and f.end_step == 12.0
    assert f.evidence["largest"]["loss"] == 0.0823
