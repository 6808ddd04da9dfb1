"""slow_progress's stuck-at-chance rule (stop 80, chance2): an accuracy far *below* 1/K no longer
vetoes a K the loss names when that loss is ln K to three digits at every report (within
``chance_two_reports_fixed`` = 0.5%): the output is uniform, its arg max breaks a tie and names one
class, so the accuracy is that class's share of the batch, not 1/K (``_uniform_output``). A loss
merely near ln K keeps the veto: there an accuracy far under 1/K says the loss is no K-way
cross-entropy, and so does an evaluation loss, whose fixed set would print one tie-broken share.
Real logs read in place: PointNet's show_cls at ln 8 (found), the same tool's batch print on a run
that learned (edge, silent), and BERT's validation loss at ln 2 beside a moving accuracy (the
held-out rule's warning, unchanged)."""

from __future__ import annotations

import math

import numpy as np
from bench_logs import real_log

import lrdoctor
from lrdoctor.detect._progress.chance import _stuck_at_chance, _uniform_output
from lrdoctor.detect.progress import DEFAULTS
from lrdoctor.finding import Severity


def _slow(report):
    return next((f for f in report.findings if f.kind == "slow_progress"), None)


def _show_cls(tmp_path, losses, accuracies):
    """A log in pointnet.pytorch's show_cls print: ``i:N loss: L accuracy: A`` per batch."""
    path = tmp_path / "show_cls.txt"
    path.write_text("".join(f"i:{i} loss: {l:.6f} accuracy: {a:.6f}\n"
                            for i, (l, a) in enumerate(zip(losses, accuracies), start=1)))
    return path


ACC = [1 / 32, 0, 2 / 32, 0, 0, 0, 0, 0, 2 / 32, 1 / 32]  # batches of 32, far under 1/8


def test_uniform_output_is_ln_k_within_half_a_percent_at_every_report():
    ln8 = math.log(8)
    assert _uniform_output(np.array([2.079445, 2.079467, 2.079412]), ln8, DEFAULTS)
    assert _uniform_output(np.full(5, ln8 * 1.0049), ln8, DEFAULTS)
    assert not _uniform_output(np.full(5, ln8 * 1.0051), ln8, DEFAULTS)
    assert not _uniform_output(np.array([ln8, ln8, ln8 * 0.99]), ln8, DEFAULTS)  # one report off is enough


def test_a_loss_at_ln_8_to_three_digits_is_stuck_whatever_the_tie_broken_accuracy(tmp_path):
    losses = [math.log(8) + d for d in (1e-6, 2e-5, -6e-6, 3e-5, 2e-5, 0, 2e-5, 4e-5, -2e-5, -3e-5)]
    f = _slow(lrdoctor.diagnose(lrdoctor.read(_show_cls(tmp_path, losses, ACC))))
    assert f is not None and f.severity is Severity.ERROR
    assert f.evidence["num_classes"] == 8 and f.evidence["uniform_output"] is True


def test_a_loss_only_near_ln_8_keeps_the_below_chance_veto(tmp_path):
    """0.6% above ln 8 (give or take 0.003) names K = 8 (within 0.02 nats) but is no uniform output: the accuracy far
    under 1/8 says the loss may be another quantity, and the rule stays silent as before; the
    same scatter a tenth as wide around ln 8 itself is found."""
    losses = [math.log(8) * 1.006 + d for d in (1e-3, -2e-3, 0, 3e-3, -1e-3, 2e-3, -3e-3, 1.5e-3, 5e-4, -2.5e-3)]
    assert _stuck_at_chance(lrdoctor.read(_show_cls(tmp_path, losses, ACC)), DEFAULTS) is None
    uniform = [math.log(8) + d / 10 for d in (1e-3, -2e-3, 0, 3e-3, -1e-3, 2e-3, -3e-3, 1.5e-3, 5e-4, -2.5e-3)]
    assert _stuck_at_chance(lrdoctor.read(_show_cls(tmp_path, uniform, ACC)), DEFAULTS) is not None


def test_pointnet_show_cls_at_ln_8_is_stuck_at_chance():
    """fxia22/pointnet.pytorch issue 29: loss 2.079412-2.079488 = ln 8 at all ten batches, accuracy
    0 to 2/32 (labelled unhealthy, slow_progress)."""
    run = lrdoctor.read(real_log("fresh171/pointnetpytorch-29-showcls-ln8/paste.txt"))
    f = _slow(lrdoctor.diagnose(run))
    assert f is not None and f.severity is Severity.ERROR
    assert f.evidence["num_classes"] == 8 and f.evidence.get("uniform_output") is True


def test_pointnet_batch_print_of_a_learned_model_stays_silent():
    """The same tool's batch print, accuracy 0 or 1 per batch, on a model whose loss is 0.002-0.08
    (labelled edge, no kind): nothing near ln K, nothing stuck."""
    run = lrdoctor.read(real_log("fresh171/pointnetpytorch-11-cls-batch-acc-binary/paste.txt"))
    assert _slow(lrdoctor.diagnose(run)) is None


def test_an_evaluation_loss_at_ln_2_keeps_the_veto_and_the_held_out_warning():
    """On one fixed evaluation set a tie-broken arg max would print one value; BERT on a SWAG-style
    set moves its accuracy (0.38, 0.36, 0.41) beside a validation loss of 0.6935-0.6945 = ln 2 to
    three digits: the exemption is not read there, and the held-out rule's warning stands."""
    run = lrdoctor.read(real_log("fresh605/zlxi-bert-swag-ln2-chance/training_results.md"))
    assert _stuck_at_chance(run, DEFAULTS) is None
    f = _slow(lrdoctor.diagnose(run))
    assert f is not None and f.severity is Severity.WARNING
