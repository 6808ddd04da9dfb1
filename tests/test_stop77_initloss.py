"""initial_loss_anomaly (stop 77): two rules whose bound needs no tuning.

* A training loss exactly 0 at its first two reports (``zero_reports``) is judged without K: no
  objective starts at its minimum, and a loss of 0 gives no gradient (every label masked, an empty
  batch). Not a regression error, a loss averaged over one or two examples (Vowpal Wabbit's
  progressive validation), or a column beside positive loss terms (a Keras distiller's uncompiled
  ``loss``).
* In a Hugging Face Trainer results table a training loss a constant factor above the evaluation
  loss is no weighting (one ``compute_loss``, no class weights) but the logged loss mis-scaled, so
  its first value is judged against ln K like any other.

Synthetic series for the arithmetic, then real logs of the benchmark read in place."""

from pathlib import Path

import pytest
import torch

import lrdoctor
from lrdoctor.detect import initial_loss_anomaly as ila

torch.set_num_threads(1)

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"


def _finding(path, config=None):
    report = lrdoctor.diagnose(lrdoctor.read(path, config=config or {}))
    return next((f for f in report.findings if f.kind == "initial_loss_anomaly"), None)


def _csv(tmp_path, losses, name="log.csv"):
    p = tmp_path / name
    p.write_text("step,loss\n" + "".join(f"{i},{v}\n" for i, v in enumerate(losses)))
    return p


# (a) the arithmetic on small synthetic series

def test_a_loss_at_exactly_zero_from_its_first_two_reports_is_flagged_without_k(tmp_path):
    f = _finding(_csv(tmp_path, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]))
    assert f is not None and f.evidence["first_loss"] == 0.0 and f.start_step == 0.0
    assert "exactly 0" in f.summary
    assert ila.DEFAULTS.zero_reports == 2


def test_a_single_zero_placeholder_before_a_positive_loss_is_no_zero_start(tmp_path):
    run = lrdoctor.read(_csv(tmp_path, [0.0, 2.3, 2.1, 1.9, 1.7, 1.5]))
    assert not ila.starts_at_zero(run)
    assert _finding(_csv(tmp_path, [0.0, 2.3, 2.1, 1.9, 1.7, 1.5], "b.csv")) is None


def test_a_zero_start_beside_a_logged_regression_error_is_not_judged(tmp_path):
    p = tmp_path / "reg.csv"
    p.write_text("step,loss,mae\n" + "".join(f"{i},0.0,0.01\n" for i in range(6)))
    assert not ila.starts_at_zero(lrdoctor.read(p))


def test_the_trainer_table_exemption_from_the_constant_factor_guard(tmp_path):
    """A constant factor of 4 between training and evaluation loss: a weighting in a plain log (the
    guard holds, nothing is flagged), a mis-scaled logged loss in a Trainer table (flagged)."""
    rows = [(4.4, 1.1), (2.0, 0.5), (1.2, 0.3)]
    plain = tmp_path / "plain.csv"
    plain.write_text("epoch,loss,val_loss\n" + "".join(f"{i + 1},{t},{e}\n" for i, (t, e) in enumerate(rows)))
    assert _finding(plain, {"num_classes": 3}) is None
    table = tmp_path / "training_results.md"
    table.write_text("| Training Loss | Epoch | Step | Validation Loss | Accuracy |\n"
                     "|:-------------:|:-----:|:----:|:---------------:|:--------:|\n"
                     + "".join(f"| {t} | {i + 1}.0 | {16 * (i + 1)} | {e} | 0.9 |\n" for i, (t, e) in enumerate(rows)))
    f = _finding(table, {"num_classes": 3})
    assert f is not None and f.evidence["first_loss"] == pytest.approx(4.4)


# (b) real logs where the rules find the labelled kind

@pytest.mark.parametrize("rel", [
    "fresh30/msswift-issue4711-zero-loss/train.jsonl",                 # ms-swift: loss 0.0 from the first step
    "fresh409/hj-hufs-klue-bert-zero-loss/training_results.md",        # a Trainer table at 0.0 from epoch 1
    "fresh88/alpaca-lora-288-13b-loss-zero-lr-zero/train.log",         # alpaca-lora: 0.0, 0.0, 0.0, then 0.262
])
def test_real_zero_starts_are_found(rel):
    f = _finding(LOGS / rel)
    assert f is not None and f.evidence["first_loss"] == 0.0


@pytest.mark.parametrize("rel,k,first", [
    ("fresh745/thamer-beit-beans/training_results.md", 3, 4.6571),           # 4.66 beside 0.39, 4x at every row
    ("fresh245/mdeberta-prompt-injection-vi-en/training_results.md", 2, 2.6836),  # 2.68 beside 0.69
])
def test_real_trainer_tables_at_a_constant_factor_are_judged_against_ln_k(rel, k, first):
    f = _finding(LOGS / rel, {"num_classes": k})
    assert f is not None and f.evidence["first_loss"] == pytest.approx(first)


# (c) healthy twins of the same shapes stay silent

@pytest.mark.parametrize("rel", [
    "fresh203/vw-ref-bootstrap-and-binary/bootstrap_and_binary.stderr",  # VW: 0/1 loss 0 at examples 1 and 2
    "fresh19/mace-issue646-mae/issue646.log",                            # a fitted potential's loss=0.0000 beside MAEs
    "fresh114/kerasio-deit-flowers-distill-20ep/train.log",              # loss 0.0 beside student_loss 1.8
])
def test_healthy_twins_with_a_zero_start_stay_silent(rel):
    assert _finding(LOGS / rel) is None


def test_a_healthy_trainer_table_near_ln_k_stays_silent():
    # wav2vec2 keyword spotting on 12 classes: 1.102 beside 1.0087 at epoch 1, near ln 12 = 2.48
    assert _finding(LOGS / "fresh148/hfcard-addy88-wav2vec2-ks/training_results.md", {"num_classes": 12}) is None
