"""A change of stop 79 to ``initial_loss_anomaly``, on synthetic tables and real logs read in place.

**A Hugging Face Trainer results table's first training loss after its "No log" rows is a report
from the start.** The card's table writes "No log" under "Training Loss" only before the first
training loss of the run's whole log history (it carries the last logged value on every later row),
so a first row without one is the run's first evaluation, never a row pasted from the middle. The
first training loss shown after it is the Trainer's first log, the mean over steps 1 to
``logging_steps``, when the row showing it is no further from the row before it than the first row
is from step 0. Such a table at uneven steps whose first evaluation falls after epoch 1 was skipped
("does not start at step 0/1"); it is now judged against ln K as any first training loss (wav2vec2
on the 14 intents of MInDS-14: "No log" at step 7, then 95.34 at step 11, 36x ln 14)."""

from __future__ import annotations

from pathlib import Path

import lrdoctor
from bench_logs import real_log
from lrdoctor.detect.initial_loss_anomaly import _trainer_loss_after_no_log, reports_from_the_start

_MINDS14 = "fresh598/mind-hughugfacee-wav2vec2-nan/training_results.md"
_SWINV2 = "fresh674/augusto777-swinv2-tiny-dmae-5e-2/training_results.md"
_ROBERTA_TWIN = "fresh239/ncbi-roberta-4-7-contin-learn/training_results.md"
_ART_TWIN = "fresh946/soplac-art-classifier/training_results.md"

_HEAD = ["| Training Loss | Epoch | Step | Validation Loss | Accuracy |",
         "|:-------------:|:-----:|:----:|:---------------:|:--------:|"]


def _table(tmp_path: Path, rows: list[tuple[str, float, int]]) -> Path:
    """A Trainer card table of (training loss cell, epoch, step) rows, the evaluation columns filled."""
    lines = _HEAD + [f"| {loss} | {ep} | {st} | {2.6 - 0.05 * i:.4f} | {0.07 + 0.01 * i:.4f} |"
                     for i, (loss, ep, st) in enumerate(rows)]
    path = tmp_path / "training_results.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _initial(path: Path, k: int | None) -> tuple[list, str | None]:
    run = lrdoctor.read(path, config={"num_classes": k} if k else None)
    report = lrdoctor.diagnose(run)
    found = [f for f in report.findings if f.kind == "initial_loss_anomaly"]
    return found, report.coverage.skipped.get("initial_loss_anomaly")


def test_a_first_training_loss_after_no_log_is_judged_against_ln_k(tmp_path):
    """Rows at uneven steps 7, 11, 15, 18, 22 from epoch 1.87: "No log" at step 7, then 95.34 at
    step 11, 4 steps past a first row 7 steps from the start. 95.34 is 36x ln 14 = 2.64."""
    path = _table(tmp_path, [("No log", 1.87, 7), ("95.3439", 2.93, 11), ("95.3439", 4.0, 15),
                             ("1.2000", 4.8, 18), ("1.1000", 5.87, 22)])
    assert _trainer_loss_after_no_log(lrdoctor.read(path, config={"num_classes": 14}))
    found, skipped = _initial(path, 14)
    assert skipped is None and len(found) == 1
    f = found[0]
    assert f.start_step == 11.0 and f.evidence["num_classes"] == 14
    assert abs(f.evidence["first_loss"] - 95.3439) < 1e-6 and f.evidence["ratio"] > 30


def test_a_loss_row_further_than_the_first_interval_is_not_the_first_log(tmp_path):
    """"No log" at step 7, the first loss only at step 30: the row is 23 steps past the row before
    it, further than the first row is from step 0 (7). ``logging_steps`` may then be anything from 8
    to 30, and the value at step 30 a third log (steps 17-24 at a logging_steps of 8), not the
    first: the start is not proven and the check stays skipped."""
    path = _table(tmp_path, [("No log", 1.87, 7), ("95.3439", 8.0, 30), ("1.2000", 9.87, 37),
                             ("1.1000", 11.73, 44)])
    assert not _trainer_loss_after_no_log(lrdoctor.read(path, config={"num_classes": 14}))
    found, skipped = _initial(path, 14)
    assert found == [] and skipped is not None and "does not start" in skipped


def test_a_table_whose_first_row_has_a_loss_is_still_an_excerpt(tmp_path):
    """The same rows with a training loss at the first row (epoch 1.87, uneven steps): a row pasted
    from the middle of a card looks like this, and stays unjudged."""
    path = _table(tmp_path, [("95.3439", 1.87, 7), ("95.3439", 2.93, 11), ("95.3439", 4.0, 15),
                             ("1.2000", 4.8, 18), ("1.1000", 5.87, 22)])
    run = lrdoctor.read(path, config={"num_classes": 14})
    assert not _trainer_loss_after_no_log(run) and not reports_from_the_start(run)
    found, skipped = _initial(path, 14)
    assert found == [] and "does not start" in (skipped or "")


def test_minds14_wav2vec2_first_loss_after_no_log_is_found():
    """Labelled initial_loss_anomaly at step 11 (config: 14 classes): "No log" at step 7, then a
    training loss of 95.34. Before stop 79 the check was skipped ("does not start at step 0/1")."""
    found, _ = _initial(real_log(_MINDS14), 14)
    assert len(found) == 1 and found[0].start_step == 11.0
    assert found[0].evidence["first_loss"] > 30 * found[0].evidence["expected_ln_k"]


def test_swinv2_no_log_table_reports_from_the_start_and_keeps_its_finding():
    """A SwinV2 card at lr 0.05 labelled initial_loss_anomaly: "No log" at the first evaluation, the
    first training loss a row later. The rule admits its training loss as a report from the start;
    the labelled kind is found (its first evaluation, past the vocabulary bound, is judged first)."""
    run = lrdoctor.read(real_log(_SWINV2))
    assert _trainer_loss_after_no_log(run) and reports_from_the_start(run)
    found, _ = _initial(real_log(_SWINV2), None)
    assert len(found) == 1


def test_healthy_no_log_tables_stay_silent():
    """Healthy twins of the same shape, now admitted by the rule: a RoBERTa NER card on 3 classes
    (config) starting at 0.067 after "No log" rows (the "below" side is judged at step 0/1 only), and
    an art-style image classifier with an accuracy column (first loss 1.03, far under the bound)."""
    for rel, k in ((_ROBERTA_TWIN, 3), (_ART_TWIN, None)):
        run = lrdoctor.read(real_log(rel), config={"num_classes": k} if k else None)
        assert _trainer_loss_after_no_log(run), rel
        found, skipped = _initial(real_log(rel), k)
        assert found == [] and skipped is None, rel
