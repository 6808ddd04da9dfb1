"""Changes of stop 75, each on real logs read in place and on tables written here.

**A results-table row with empty cells is a row with missing values.** The reader took a bordered
row's cells after ``str.strip("|")``, which also took the empty cells that end a row: a PII
tagger's card leaves the F1 of an entity absent from its evaluation set empty ("| 0.8065 | 0.0 |
|||"), so three of its five evaluations had fewer cells than the header and were dropped, and
the run read as two evaluations (too few to call its F1 of 0 at all five a floor)."""

from __future__ import annotations

from pathlib import Path

from bench_logs import real_log
from trained_digits import write_lines

import lrdoctor

_PII_CARD = "fresh959/burkelive-distilbert-pii-200/training_results.md"


def _card(tmp_path: Path, rows: list[str]) -> str:
    return write_lines(tmp_path / "training_results.md", [
        "| Training Loss | Epoch | Step | Validation Loss | F1 | City F1 | Email F1 |",
        "|:---:|:---:|:---:|:---:|:---:|:---:|:---:|",
        *rows,
    ])


def test_a_row_whose_last_cells_are_empty_keeps_its_other_values(tmp_path):
    # epoch 3's City and Email cells are empty: the row is read, those two columns are absent there
    run = lrdoctor.read(_card(tmp_path, [
        "| No log | 1.0 | 10 | 2.5786 | 0.0 | 0.0 | 0.0 |",
        "| No log | 2.0 | 20 | 2.3959 | 0.1 | 0.2 | 0.0 |",
        "| No log | 3.0 | 30 | 2.0696 | 0.3 | | |",
    ]))
    assert run.n_steps == 3
    assert list(run.series("eval_loss").values) == [2.5786, 2.3959, 2.0696]
    [city] = [c for c in run.names if c.endswith("city_f1")]
    assert list(run.series(city).steps) == [10, 20]


def test_a_row_cut_short_is_still_no_row(tmp_path):
    # twin: a row with fewer cells than the header (a paste cut mid-line) is not read as a row
    run = lrdoctor.read(_card(tmp_path, [
        "| No log | 1.0 | 10 | 2.5786 | 0.0 | 0.0 | 0.0 |",
        "| No log | 2.0 | 20 | 2.3959 | 0.1 | 0.2 | 0.0 |",
        "| No log | 3.0 | 30 | 2.0696 |",
    ]))
    assert run.n_steps == 2


def test_the_pii_card_reads_all_five_evaluations():
    run = lrdoctor.read(real_log(_PII_CARD))
    assert run.n_steps == 5
    report = lrdoctor.diagnose(run)
    [f] = [f for f in report.findings if f.kind == "slow_progress"]
    assert "never left 0 over 5 evaluations" in f.summary
