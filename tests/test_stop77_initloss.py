"""initial_loss_anomaly (stop 77): in a Hugging Face Trainer results table, a training loss a
constant factor above the evaluation loss is no weighting but the logged loss mis-scaled, so its
first value is judged against ln K like any other.

The constant-factor guard (``_other_scale``: the training loss above 1.5x the evaluation loss at
every shared report) exists for a weighted training loss (Keras ``class_weight``). The Trainer
computes both losses with one ``compute_loss`` and takes no class weights, so there the factor is
the training loss summed over gradient-accumulation steps instead of averaged (as transformers
4.46 logged it). A synthetic pair for the arithmetic (the same numbers as a plain log stay
silent, as a Trainer table they are flagged), then real logs of the benchmark read in place."""

from pathlib import Path

import pytest
import torch

import lrdoctor
from lrdoctor.detect import initial_loss_anomaly as ila

torch.set_num_threads(1)

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"

#: training and evaluation loss at three epochs: a factor of 4 at every row, the first 4x ln 3
ROWS = [(4.4, 1.1), (2.0, 0.5), (1.2, 0.3)]


def _finding(path, config=None):
    report = lrdoctor.diagnose(lrdoctor.read(path, config=config or {}))
    return next((f for f in report.findings if f.kind == "initial_loss_anomaly"), None)


def _trainer_table(tmp_path, rows):
    p = tmp_path / "training_results.md"
    p.write_text("| Training Loss | Epoch | Step | Validation Loss | Accuracy |\n"
                 "|:-------------:|:-----:|:----:|:---------------:|:--------:|\n"
                 + "".join(f"| {t} | {i + 1}.0 | {16 * (i + 1)} | {e} | 0.9 |\n" for i, (t, e) in enumerate(rows)))
    return p


# (a) the arithmetic on small synthetic series

def test_a_constant_factor_is_a_weighting_in_a_plain_log(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("epoch,loss,val_loss\n" + "".join(f"{i + 1},{t},{e}\n" for i, (t, e) in enumerate(ROWS)))
    run = lrdoctor.read(plain, config={"num_classes": 3})
    assert ila._other_scale(run, ila.DEFAULTS)
    assert _finding(plain, {"num_classes": 3}) is None


def test_the_same_factor_in_a_trainer_table_is_judged_against_ln_k(tmp_path):
    table = _trainer_table(tmp_path, ROWS)
    run = lrdoctor.read(table, config={"num_classes": 3})
    assert not ila._other_scale(run, ila.DEFAULTS)
    f = _finding(table, {"num_classes": 3})
    assert f is not None and f.evidence["first_loss"] == pytest.approx(4.4)
    assert f.evidence["ratio"] == pytest.approx(4.4 / 1.0986, rel=1e-3)


def test_a_trainer_table_whose_first_loss_is_near_ln_k_stays_silent(tmp_path):
    # the same factor of 4, but the first loss 1.5 is within 1.5x ln 3 = 1.65: no anomaly
    assert _finding(_trainer_table(tmp_path, [(1.5, 0.375), (1.0, 0.25), (0.8, 0.2)]), {"num_classes": 3}) is None


# (b) real logs where the change finds the labelled kind

@pytest.mark.parametrize("rel,k,first", [
    ("fresh745/thamer-beit-beans/training_results.md", 3, 4.6571),                 # 4.66 beside 0.39, 4x at every row
    ("fresh245/mdeberta-prompt-injection-vi-en/training_results.md", 2, 2.6836),    # 2.68 beside 0.69, GA 4
    ("fresh998/hubert-ravdess-fused/training_results.md", 8, 4.1153),               # 4.12 beside 1.81, GA 2
])
def test_real_trainer_tables_at_a_constant_factor_are_judged_against_ln_k(rel, k, first):
    f = _finding(LOGS / rel, {"num_classes": k})
    assert f is not None and f.evidence["first_loss"] == pytest.approx(first)


# (c) healthy twins: Trainer tables with K whose training loss sits above the evaluation loss

@pytest.mark.parametrize("rel,k", [
    ("fresh148/hfcard-addy88-wav2vec2-ks/training_results.md", 12),          # 1.102 beside 1.0087, ln 12 = 2.48
    ("fresh101/hfcard-tfbook-distilbert-clinc/training_results.md", 151),    # 4.29 beside 3.29, below ln 151 = 5.02
])
def test_healthy_trainer_tables_stay_silent(rel, k):
    assert _finding(LOGS / rel, {"num_classes": k}) is None
