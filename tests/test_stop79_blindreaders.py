"""A reader gap that stop 79's blind slices showed, closed after their one measurement.

A Whisper card's table, copied from a rendered page with its borders lost, names "Wer Normalized"
(the WER after Whisper's text normaliser) beside the raw "Wer": the header has one word more than
a row has values, so the table was refused. The blind ledger keeps the refusal as measured."""

from __future__ import annotations

from pathlib import Path

import lrdoctor

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"


def test_a_borderless_whisper_table_with_wer_normalized_is_read(tmp_path):
    path = tmp_path / "training_results.md"
    path.write_text("Training Loss Epoch Step Validation Loss Wer Wer Normalized\n"
                    "0.3716 1.01 400 0.3988 21.8039 17.8916\n"
                    "0.2003 2.02 800 0.4440 22.3350 18.6242\n"
                    "0.0571 3.02 1200 0.4960 22.5982 19.2284\n")
    run = lrdoctor.read(path)
    assert run.series("eval_wer").values.tolist() == [21.8039, 22.3350, 22.5982]
    assert run.series("eval_wer_normalized").values.tolist() == [17.8916, 18.6242, 19.2284]
    assert run.series("eval_loss").values.tolist() == [0.3988, 0.4440, 0.4960]


def test_the_blind_whisper_card_on_fleurs_is_read_and_its_overfitting_found():
    # fresh1450 (blind, stop 79): labelled unhealthy, overfitting from step 800 (validation loss
    # 0.3988 -> 0.4987 while the training loss falls 0.3716 -> 0.03 and the WER never beats its first)
    report = lrdoctor.diagnose(LOGS / "fresh1450" / "thiagobarbosa-whisper-base-google-fleurs-pt-br" / "training_results.md")
    assert report.run.series("eval_wer_normalized").values.tolist()[0] == 17.8916
    assert "overfitting" in {f.kind for f in report.findings}


def test_the_piped_table_with_the_same_header_reads_as_before():
    # the twin: the same column names with the card's pipes kept were always read
    report = lrdoctor.diagnose(LOGS / "fresh1433" / "thiagobarbosa-whisper-small-common-voice-16-pt" / "training_results.md")
    assert report.run.series("eval_wer_normalized").values.tolist()[0] == 13.6707
