"""Rules from the stop-50 study of the benchmark (issue 9), each on a real log read in place, with
real twins:

- readers: a number printed as a quoted string after its key ("'loss': '24.061707'", "'loss':
  'nan'": the legacy PaddleDetection trainer logs its stats as an OrderedDict of formatted strings)
  is the value; a step counter that a line already names as an evaluation's ("Test iter 0", "Test
  finish iter 5") is not the training step.
"""

from __future__ import annotations

import math

import numpy as np
from bench_logs import real_log
from trained_digits import warned

import lrdoctor
from lrdoctor.io.textlog import RULES


def _parse(line: str) -> dict:
    for rule in RULES:
        rec = rule.parse(line, {})
        if rec is not None:
            return rec
    return {}


def test_a_loss_printed_as_a_quoted_string_is_read():
    # PaddleDetection #548: "iter: 680, lr: 0.000050, 'loss': '7.422760', time: 0.062, eta: 0:19:48"
    run = lrdoctor.read(real_log("fresh611/paddledet-legacy-iter-loss/train.log"))
    assert run.meta.roles["loss"] == "loss"
    loss = run.series("loss")
    assert loss.values.size == 13
    assert loss.values[0] == 7.42276 and loss.values[-1] == 6.573437
    assert loss.steps[0] == 680 and loss.steps[-1] == 920


def test_a_quoted_nan_is_a_nan_loss_not_a_reason_to_judge_the_timer():
    # PaddleDetection #5337 (SSD): 'loss': '24.061707' then 'loss': 'nan' at every later report.
    # Unread, the loss left "batch_cost" (seconds per batch) as the only cost-like column, and its
    # rise from 0.00039 s was called a divergence
    report = lrdoctor.diagnose(real_log("fresh608/paddledet-ssd-nan-5337/train.log"))
    assert report.run.meta.roles["loss"] == "loss"
    assert "nonfinite" in warned(report) and "divergence" not in warned(report)
    f = next(f for f in report.findings if f.kind == "nonfinite")
    assert f.start_step == 20


def test_quoted_text_that_is_no_number_stays_text(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("".join(f"epoch: {i}, 'mode': 'train', 'loss': '{1 / i:.4f}', note: 'run 7'\n" for i in range(1, 5)))
    run = lrdoctor.read(log)
    assert np.allclose(run.series("loss").values, [1.0, 0.5, 0.3333, 0.25])
    assert "mode" not in run.metrics and "note" not in run.metrics


def test_an_evaluation_loop_counter_is_not_the_training_step():
    # PaddleDetection #1444: three all-NaN training reports (iter 760-800), then "Test iter 0" and
    # "Test finish iter 5". Read as steps they restarted the axis and the evaluation was judged
    # (no training metric at all); the run is a NaN from its first report
    report = lrdoctor.diagnose(real_log("fresh611/paddledet-ppyolo-person-all-nan/train.log"))
    assert "nonfinite" in warned(report)
    assert report.run.series("loss").steps.tolist() == [760.0, 780.0, 800.0]
    assert all(math.isnan(v) for v in report.run.series("loss").values)
    # the evaluation's counter is kept under its own name
    assert _parse("Test iter 0") == {"test_iter": 0.0}


def test_a_training_counter_inside_a_line_is_still_the_step():
    # the twin: "Train step 1040 -- Loss: 11.17" and yunjey's "Epoch [1/75], Step [110/464]"
    assert _parse("Train step 1040 -- Loss: 11.17").get("step") == 1040
    rec = _parse("Epoch [1/75], Step [110/464], Loss: 0.3123")
    assert rec.get("loss") == 0.3123 and "test_step" not in rec
