"""One change of stop 75, on really trained runs, their twins and real logs read in place.

**A blow-up into a NaN is a divergence, on however few reports.** A loss that turned NaN for good was
``nonfinite``'s alone when the log held fewer than three finite reports (divergence's rules need
three), and a loss term that blew up beside a total printed as NaN was read by no rule at all: the
detector judged only the total. Two of divergence's rules now judge them, with their own bars:

- ``final_jump``: the last finite report before the loss turns non-finite for good is 1000x its best
  (three decades, far beyond any noise of a logged average), on two reports or more; and the last
  report of a training loss term up to that step, since a term is a lower bound of the sum it is part
  of (SSD with focal loss: 393 -> 1.7e6 -> NaN; FCOS: loss_cls 1.55 -> 13,795 where the total is NaN);
- ``absurd_loss``: a non-finite report after one of 1e15 or more stays at that scale (the float
  overflowed past it), and a training loss term at that scale counts as the total would (YOLACT:
  conf_loss 6.4e35 and 7.6e35 beside a total of NaN).

A NaN with no such jump before it (a numerical fault: a NaN input, a log of zero) stays
``nonfinite``'s alone."""

from __future__ import annotations

from pathlib import Path

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, warned, write_lines

import lrdoctor
from lrdoctor.finding import Severity
from series_helpers import divergence_findings as _divergence

torch.set_num_threads(1)

_SSD_FOCAL = "fresh1229/chuanqi305-focalloss-issue8-ssd-focal-nan/log.txt"
_FCOS_GIOU = "fresh119/mmdet-4377-fcos-giou-nan-250/train.log"
_YOLACT_500 = "fresh152/yolact-42-loss-explosion-iter500/paste.txt"


def _regression_log(tmp_path: Path, raise_at: int | None, nan_input_at: int | None = None) -> str:
    """Fit a linear regression of the digit's value on its 64 pixels with SGD (lr 0.01, MSE, batches
    of 50) for 41 iterations, and write Caffe's solver lines every 10 iterations ("Iteration N, loss =
    X", the batch's loss). With ``raise_at``, the LR is raised to 1.0 from that iteration on, far above
    2 / the largest curvature of the pixels' covariance: the weights grow geometrically, and the loss
    with them until it overflows. With ``nan_input_at``, that iteration's batch carries a NaN pixel (a
    corrupt example): the weights turn NaN at once, with no blow-up before."""
    x, y, _ = digits_mlp(0)
    torch.manual_seed(0)
    model = torch.nn.Linear(64, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    lines = []
    for it in range(41):
        if it == raise_at:
            for group in opt.param_groups:
                group["lr"] = 1.0
        i = (it * 50) % 1400
        batch = x[i:i + 50].clone()
        if it == nan_input_at:
            batch[0, 0] = float("nan")
        loss = torch.nn.functional.mse_loss(model(batch).squeeze(1), y[i:i + 50].float())
        if it % 10 == 0:
            lines.append(f"I1112 16:14:25.373922 12274 solver.cpp:243] Iteration {it}, loss = {loss.item():.6g}")
        opt.zero_grad()
        loss.backward()
        opt.step()
    return write_lines(tmp_path / "log.txt", lines)



def test_a_loss_that_jumps_a_thousandfold_and_then_turns_nan_diverged(tmp_path):
    """The LR raised to 1.0 at iteration 5: loss 33.7 at iteration 0, 1.4e14 at iteration 10, then
    inf and NaN. Two finite reports, too few for the other rules: a divergence error from iteration
    10, beside the NaN's own nonfinite error."""
    run = lrdoctor.read(_regression_log(tmp_path, raise_at=5))
    v = run.series("loss").values
    assert v[1] >= 1000 * v[0] and v[1] < 1e15 and not torch.isfinite(torch.tensor(v[2:])).any()
    report = lrdoctor.diagnose(run)
    [f] = _divergence(report)
    assert f.severity is Severity.ERROR and f.start_step == 10.0
    assert f.evidence["ratio_to_best"] >= 1000 and "blew up into a NaN" in f.summary
    assert "nonfinite" in warned(report, 2)


def test_a_nan_from_a_corrupt_batch_is_no_divergence(tmp_path):
    """The twin at lr 0.01 whose batch at iteration 15 carries a NaN pixel: the loss falls 33.7 ->
    about 5 and is NaN from iteration 20 on, with no jump before it. ``nonfinite``'s alone."""
    run = lrdoctor.read(_regression_log(tmp_path, raise_at=None, nan_input_at=15))
    v = run.series("loss").values
    assert v[1] < v[0] and not torch.isfinite(torch.tensor(v[2:])).any()
    report = lrdoctor.diagnose(run)
    assert _divergence(report) == [] and "nonfinite" in warned(report, 2)


def test_the_same_regression_at_a_sane_lr_is_silent(tmp_path):
    """The twin at lr 0.01 throughout: the loss falls and stays finite; no divergence, no NaN."""
    report = lrdoctor.diagnose(_regression_log(tmp_path, raise_at=None))
    assert _divergence(report) == [] and "nonfinite" not in warned(report, 1)


def test_the_ssd_focal_loss_log_diverged_before_its_nan():
    """The Caffe log read in place: loss 393.183 at iteration 0, 1.70709e+06 at 10, NaN from 20."""
    report = lrdoctor.diagnose(real_log(_SSD_FOCAL))
    [f] = _divergence(report)
    assert f.severity is Severity.ERROR and f.start_step == 10.0 and f.evidence["best_loss"] == 393.183
    assert "nonfinite" in warned(report, 2)


def test_a_loss_term_that_blew_up_beside_a_nan_total_diverged():
    """FCOS read in place: loss_cls 1.229 -> 1.548 over iterations 50-200, then 13794.6 at 250,
    where the total, loss_bbox and loss_centerness print NaN."""
    [f] = _divergence(lrdoctor.diagnose(real_log(_FCOS_GIOU)))
    assert f.severity is Severity.ERROR and f.start_step == 250.0 and f.evidence["metric"] == "loss_cls"


def test_a_loss_term_at_an_absurd_scale_diverged():
    """YOLACT read in place: conf_loss 6.4e35 and 7.6e35 at iterations 500 and 510, the total NaN."""
    [f] = _divergence(lrdoctor.diagnose(real_log(_YOLACT_500)))
    assert f.severity is Severity.ERROR and f.evidence["metric"] == "conf_loss" and f.evidence["loss_at_onset"] >= 1e35
