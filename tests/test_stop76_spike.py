"""A change of stop 76 to ``loss_spike``, on really trained runs, their twin and a real log read in place.

**An info blip of the training loss no longer hides a spike of the evaluation loss.** The evaluation
rule (an evaluation 3x both its neighbours, an outlier against the other evaluations) was read only
where the training loss showed no spike at all. A blip of the training loss that the detector itself
calls info (one spike under 3x its level that undoes little of the progress, or one under a tenth of
the first report) returned that info finding, and the evaluation spike beside it, a warning by its
own measure, was never looked at. A Keras date-format seq2seq with scheduled sampling: training loss
0.0241 -> 0.0705 -> 0.0182 (a blip near the floor: info), val_loss 0.0205 -> 0.0823 -> 0.0117 (4x
both neighbours). The evaluation rule is now read whenever the training loss gives no warning.

**Evaluation-loss spikes under 3x warn when they recur.** The evaluation rule warned only of a spike
3x both neighbours; ``warn_count`` (3) spikes, each 1.5x both neighbours and an outlier by the
few-point test, which make the training rules warn (PaLM's recurrent spikes), said nothing when
they were evaluations. A wav2vec2-base on LibriSpeech: validation loss 0.41, 0.34, 0.78 and 0.59 at
steps 3500, 5500, 7500 and 9000, 1.6-2.8x the evaluations on either side each time and back at
0.19-0.22 by the next, with the WER bumping with them, while the training loss falls smoothly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, held_out_loss, warned, write_lines

import lrdoctor
from lrdoctor.detect import loss_spike
from lrdoctor.finding import Severity

torch.set_num_threads(1)

_SCHEDULED_SAMPLER = "fresh106/handsonml2-ch16-date-scheduled-sampler/train.log"
_W2V2_LIBRI = "fresh246/w2v2-libri-train100-12896305417/training_results.md"
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


def test_recurring_evaluation_spikes_under_3x_are_a_warning():
    """The wav2vec2 card read in place: four validation-loss spikes of 1.75x, 1.59x, 2.78x and 2.66x
    the evaluations beside them (steps 3500-9000), none 3x; four make a warning, from the first."""
    [f] = _spike(lrdoctor.diagnose(real_log(_W2V2_LIBRI)))
    assert f.severity is Severity.WARNING and f.evidence["spikes"] == 4
    assert f.evidence["spike_steps"] == [3500.0, 5500.0, 7500.0, 9000.0] and f.start_step == 3500.0
    assert f.evidence["largest"]["loss"] == 0.7752


def test_a_single_evaluation_spike_under_3x_stays_silent(tmp_path):
    """The rule counts: a card whose validation loss has one evaluation 2x both its neighbours (the
    others falling by a few percent) beside a smoothly falling training loss is one spike, under
    ``warn_count``, and no warning."""
    e = [1.0, 0.8, 0.7, 0.65, 1.3, 0.6, 0.58, 0.57, 0.56, 0.55]
    lines = ["| Training Loss | Epoch | Step | Validation Loss |", "|:---:|:---:|:---:|:---:|"]
    lines += [f"| {1.2 * 0.85 ** k:.4f} | {k + 1:.1f} | {100 * (k + 1)} | {v:.4f} |" for k, v in enumerate(e)]
    assert loss_spike.few_point_spikes(np.array(e))
    assert "loss_spike" not in warned(lrdoctor.diagnose(write_lines(tmp_path / "README.md", lines)))
