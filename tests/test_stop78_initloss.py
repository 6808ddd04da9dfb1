"""initial_loss_anomaly (stop 78): two scales the log itself fixes, without the config's K.

**A first loss at -ln(FLT_MIN) = 87.3365 is a float32 softmax that underflowed.** Caffe's
``SoftmaxWithLoss`` clamps the true class's probability at FLT_MIN (2^-126) before the log, so one
example's loss is at most 87.3365 nats, and a batch mean equal to it says the probability underflowed
for every example: logits huge and wrong at the start, whatever K (Caffe, iteration 0: "loss =
87.3366", test accuracy 0.00028). The value is judged at the start only; a run that reaches it later
diverged, which is another finding's to report.

**A Vowpal Wabbit progress table is not judged against ln K.** Its "average loss" is the loss
function VW was given (squared by default) or, for a multiclass reduction, the 0/1 loss: with
``--oaa 10`` the first example scores 0.0 and the second 0.5 (each class unseen until then), which
the "below" side read as labels leaking.

The arithmetic on small synthetic logs, then real logs of the benchmark read in place."""

from pathlib import Path

import numpy as np
import pytest
import torch
from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor
from lrdoctor.detect import initial_loss_anomaly as ila
from lrdoctor.io.textlog.tables import VOWPAL_WABBIT_LAYOUT

torch.set_num_threads(1)

_CAFFE_87 = "fresh30/caffe-issue1255-stuck-after-87/caffe_solver.log"


def _finding(path, config=None):
    report = lrdoctor.diagnose(lrdoctor.read(path, config=config or {}))
    return next((f for f in report.findings if f.kind == "initial_loss_anomaly"), None)


def _caffe_clamped_loss(scale: float) -> float:
    """The mean of Caffe's ``SoftmaxWithLoss`` over a batch of 64 examples of 10 classes whose logits
    are ``scale`` x N(0, 1) (generator seed 0), each true class the one with the lowest logit: float32,
    the probability clamped at FLT_MIN before the log, as Caffe computes it."""
    g = torch.Generator().manual_seed(0)
    logits = (scale * torch.randn(64, 10, generator=g)).float()
    prob = torch.softmax(logits, dim=1)
    target = logits.argmin(dim=1)
    p_true = prob[torch.arange(64), target].clamp_min(float(np.finfo(np.float32).tiny))
    return float((-torch.log(p_true)).mean())


def _caffe_log(tmp_path: Path, first: float) -> str:
    """A Caffe solver log from iteration 0: the first loss ``first``, then a run that learns."""
    lines = [f"I1010 17:36:51.521034 24907 solver.cpp:191] Iteration 0, loss = {first:.6g}",
             "I1010 17:36:51.521077 24907 solver.cpp:403] Iteration 0, lr = 0.001"]
    for i, loss in ((100, 2.1), (200, 1.7), (300, 1.4), (400, 1.2)):
        lines += [f"I1010 17:40:30.682349 24907 solver.cpp:191] Iteration {i}, loss = {loss}",
                  f"I1010 17:40:30.682417 24907 solver.cpp:403] Iteration {i}, lr = 0.001"]
    return write_lines(tmp_path / "caffe.log", lines)


# (a) the arithmetic on small synthetic logs

def test_the_underflow_value_is_minus_ln_flt_min():
    assert ila.SOFTMAX_UNDERFLOW_LOSS == pytest.approx(126 * np.log(2))
    assert f"{ila.SOFTMAX_UNDERFLOW_LOSS:.6g}" == "87.3365"  # what glog prints


def test_a_clamped_softmax_of_huge_wrong_logits_gives_the_underflow_value():
    """Logits of spread 1000 put the lowest class's probability far below FLT_MIN for every example:
    the clamped mean is the bound itself. A spread of 10 gives a loss no clamp touches."""
    assert _caffe_clamped_loss(1000.0) == pytest.approx(ila.SOFTMAX_UNDERFLOW_LOSS, rel=ila.UNDERFLOW_REL_TOL)
    assert _caffe_clamped_loss(10.0) < 0.5 * ila.SOFTMAX_UNDERFLOW_LOSS


def test_a_first_loss_at_the_underflow_value_is_flagged_without_k(tmp_path):
    f = _finding(_caffe_log(tmp_path, _caffe_clamped_loss(1000.0)))
    assert f is not None and f.start_step == 0.0 and "expected_ln_k" not in f.evidence
    assert f.evidence["underflow_loss"] == pytest.approx(87.3365, abs=1e-4)
    assert "underflowed" in f.summary


@pytest.mark.parametrize("first", [87.0, 87.5, 40.0])
def test_another_large_first_loss_without_k_stays_unjudged(tmp_path, first):
    """Off the clamp by more than its rounding (87.0 and 87.5 are 3e-3 and 2e-3 of it away): no K, no
    finding, and the check says it needs the number of classes."""
    path = _caffe_log(tmp_path, first)
    assert _finding(path) is None
    assert "number of classes" in (ila._needs(lrdoctor.read(path)) or "")


def _vw_table(tmp_path: Path) -> str:
    """A Vowpal Wabbit progress table of a 10-class one-against-all run: 0/1 losses, the average over
    the examples so far (0 at the first, 0.5 at the second, each class unseen until it comes)."""
    lines = ["Enabled reductions: gd, scorer, oaa",
             "average  since         example        example  current  current  current",
             "loss     last          counter         weight    label  predict features"]
    for n, (avg, since) in enumerate([(0.0, 0.0), (0.5, 1.0), (0.75, 1.0), (0.875, 1.0), (0.6875, 0.5)]):
        ex = 2 ** n
        lines.append(f"{avg:<8} {since:<13} {ex:>7} {float(ex):>14.1f} {1 + n:>8} {1:>8} {5:>8}")
    lines += ["", "finished run", "average loss = 0.6875"]
    return write_lines(tmp_path / "vw.stderr", lines)


def test_a_vw_table_is_read_as_its_own_layout_and_not_judged_against_ln_k(tmp_path):
    path = _vw_table(tmp_path)
    run = lrdoctor.read(path, config={"num_classes": 10})
    assert run.meta.layout == VOWPAL_WABBIT_LAYOUT and run.series("loss").values[0] == 0.0
    assert "Vowpal Wabbit" in (ila._needs(run) or "")
    assert _finding(path, {"num_classes": 10}) is None


def test_the_same_first_losses_outside_a_vw_table_are_still_judged_below(tmp_path):
    """The numbers of the VW table as a plain per-step CSV with 10 classes: 0.5 at step 1 is below
    half of ln 10, and the "below" side reads it as before."""
    plain = tmp_path / "plain.csv"
    plain.write_text("step,loss\n1,0.5\n2,0.75\n3,0.875\n4,0.6875\n5,0.6\n")
    f = _finding(plain, {"num_classes": 10})
    assert f is not None and f.evidence["first_loss"] < 0.5 * np.log(10)


# (b) the real log where the change finds the labelled kind (the benchmark holds one Caffe run that
# starts at the clamp)

def test_a_caffe_run_that_starts_at_the_clamp_is_flagged():
    """Iteration 0: loss = 87.3366 beside a test accuracy of 0.00028, then 8.26 from iteration 1000 on
    (a large-vocabulary classifier with no K in the log)."""
    f = _finding(real_log(_CAFFE_87))
    assert f is not None and f.start_step == 0.0
    assert f.evidence["first_loss"] == pytest.approx(87.3366)


def test_the_vw_multiclass_reference_run_is_no_longer_flagged():
    """VW's own bootstrap + one-against-all reference output over 10 classes (healthy): 0.0 at the
    first example, 0.5 at the second; with K = 10 the "below" side had flagged it."""
    path = real_log("fresh127/vw-bootstrap-oaa-two-pass/bootstrap_and_oaa.stderr")
    run = lrdoctor.read(path, config={"num_classes": 10})
    assert run.meta.layout == VOWPAL_WABBIT_LAYOUT
    assert _finding(path, {"num_classes": 10}) is None


# (c) twins: Caffe runs of the same shape that stay silent

@pytest.mark.parametrize("rel,config", [
    ("fresh18/caffe-issue5127-kth/issue5127.log", {}),                      # healthy, 1.95 at its first report
    ("fresh194/caffe-2343-binary-pred-at-prior/paste.txt", {"num_classes": 2}),  # edge, 0.61 beside ln 2
    ("fresh194/caffe-5137-softmax-loss-87/paste.txt", {}),              # reaches 87.3365 later: divergence's
])
def test_caffe_runs_that_do_not_start_at_the_clamp_stay_silent(rel, config):
    assert _finding(real_log(rel), config) is None
