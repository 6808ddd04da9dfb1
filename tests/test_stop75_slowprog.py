"""slow_progress at the class prior, on really trained runs, their twins and real logs read in place.

A two-class model that answers every input with the class prior scores the majority share ``a`` of
the evaluation set at every evaluation, exactly (its predictions never change), and a cross-entropy
of the labels' entropy, H(a) = -a ln a - (1 - a) ln(1 - a). The two readings name one constant
predictor, as a loss at ln K and an accuracy at 1/K name one uniform guess (ln 2 = H(1/2) is the
balanced case).

**An accuracy printed exactly at every one of 3+ evaluations is a constant predictor whatever the
size of the evaluation set when the evaluation loss sits at H(a)** (``prior_entropy_tol``). On its
own, one value printed three times needed an evaluation set of 50+ examples (``pinned_denominator``):
a converged model on a tiny set repeats 0.8 (4 of 5) for no reason. An error, as the pinned rule's.

**A run that sat at the class prior for the first half of its evaluations, then learned, is a
slow_progress warning** (``prior_prefix_share``): half its budget bought nothing (MobileBERT on
MRPC: 0.6838, the all-positive share, at 7 of 11 epochs beside a validation loss of 0.622-0.625 =
H(0.6838)). A warning: the set-up works, the start was slow.
"""

from __future__ import annotations

from pathlib import Path

import torch
from bench_logs import real_log
from trained_digits import digits_mlp, fit_epoch, write_lines

import lrdoctor
from lrdoctor.finding import Severity

torch.set_num_threads(1)

_MRPC_PRIOR_FIRST = "fresh965/gokuls-mobilebert-sa-mrpc-128/training_results.md"
_BEIT_PRIOR = "fresh137/hfcard-horcruxno13-beit-b7b0f4c/readme_diff.txt"


def _prior_card(tmp_path: Path, lrs: list[float], held_out: int = 397) -> str:
    """Train a 64-32-2 MLP to tell the digits 0-2 from the rest (about 30% positives) with SGD, one
    epoch at each LR of ``lrs``, and write an HF card's table: the epoch's mean training loss, the
    loss and the accuracy on the first ``held_out`` digits after the 1400 trained on. The output
    layer starts at the class prior (zero weights, the log-prior as its bias), as a head initialised
    to the prior does: every input is first answered with the majority class."""
    x, y, _ = digits_mlp(0)
    target = (y <= 2).long()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    share = float(target[:1400].float().mean())
    with torch.no_grad():
        model[2].weight.zero_()
        model[2].bias.copy_(torch.log(torch.tensor([1.0 - share, share])))
    opt = torch.optim.SGD(model.parameters(), lr=lrs[0])
    xe, ye = x[1400:1400 + held_out], target[1400:1400 + held_out]
    lines = ["Training Loss | Epoch | Step | Validation Loss | Accuracy |", "---|---|---|---|---|"]
    for epoch, lr in enumerate(lrs, start=1):
        for group in opt.param_groups:
            group["lr"] = lr
        train, _ = fit_epoch(model, opt, x, target)
        with torch.no_grad():
            logits = model(xe)
            val = torch.nn.functional.cross_entropy(logits, ye).item()
            acc = (logits.argmax(1) == ye).float().mean().item()
        lines.append(f"{train:.4f} | {epoch:.1f} | {28 * epoch} | {val:.4f} | {acc:.4f} |")
    return write_lines(tmp_path / "README.md", lines)


def _slow(report):
    return [f for f in report.findings if f.kind == "slow_progress"]


def test_a_run_at_the_class_prior_for_half_its_evaluations_is_a_warning(tmp_path):
    """Six epochs at SGD lr 1e-3 leave the prior head where it started (the majority share at every
    evaluation, the held-out loss at its entropy), then four at lr 0.5 learn the task: a warning
    that names the six evaluations and the prior's entropy."""
    report = lrdoctor.diagnose(_prior_card(tmp_path, [1e-3] * 6 + [0.5] * 4))
    [f] = _slow(report)
    assert f.severity is Severity.WARNING and f.evidence["points"] == 6
    assert 0.6 < f.evidence["value"] < 0.8 and f.start_step == 28.0 and f.end_step == 168.0
    assert "class prior" in f.summary


def test_a_run_that_leaves_the_prior_at_once_is_silent(tmp_path):
    """The twin at lr 0.5 from the first epoch: the accuracy climbs from the first evaluation on."""
    report = lrdoctor.diagnose(_prior_card(tmp_path, [0.5] * 10))
    assert _slow(report) == []


def test_a_tiny_evaluation_at_the_prior_at_every_evaluation_is_an_error(tmp_path):
    """Three epochs at lr 1e-3, evaluated on 40 digits: the majority share (a fraction of 40, which
    a converged model might repeat) at all three, and the loss at its entropy: the two readings
    make the constant predictor an error."""
    report = lrdoctor.diagnose(_prior_card(tmp_path, [1e-3] * 3, held_out=40))
    [f] = _slow(report)
    assert f.severity is Severity.ERROR and f.evidence["points"] == 3
    assert "class_prior_entropy" in f.evidence


def test_a_tiny_evaluation_that_learns_is_silent(tmp_path):
    """Its twin at lr 0.5: the same 40 digits, an accuracy that moves."""
    report = lrdoctor.diagnose(_prior_card(tmp_path, [0.5] * 3, held_out=40))
    assert _slow(report) == []


def test_the_mrpc_card_at_the_prior_for_seven_epochs_is_a_warning():
    """MobileBERT on MRPC read in place: accuracy 0.6838 at epochs 1-7 of 11, validation loss
    0.622-0.625 = H(0.6838) = 0.6239, then it learns and overfits."""
    report = lrdoctor.diagnose(real_log(_MRPC_PRIOR_FIRST))
    [f] = _slow(report)
    assert f.severity is Severity.WARNING and f.evidence["value"] == 0.6838 and f.evidence["points"] == 7
    assert abs(f.evidence["class_prior_entropy"] - 0.6239) < 1e-3


def test_the_beit_card_at_the_prior_is_an_error():
    """BEiT read in place: accuracy 0.725 (29 of 40) at all three epochs, validation loss median
    0.5894 against H(0.725) = 0.5892."""
    [f] = _slow(lrdoctor.diagnose(real_log(_BEIT_PRIOR)))
    assert f.severity is Severity.ERROR and f.evidence["value"] == 0.725
