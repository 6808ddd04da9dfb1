"""A change of stop 81 to ``initial_loss_anomaly``, on synthetic logs and real logs read in place.

**A Trainer table judged by the vocabulary bound starts at its first evaluation.** Without K in the
config, a Hugging Face Trainer results table whose generation or classification score shows its loss
to be a mean cross-entropy is judged against 1.5 ln 2^18 = 18.7 nats, worse than a uniform guess over
any vocabulary or label set in use. That bound holds at any report of a run, so the table's first row
counts as the start once it is the run's first evaluation (the first of evenly spaced steps, or at
epoch 1 or before), as it already did for a table whose first evaluation precedes every training
loss: a first evaluation at epoch 1.43 (step 200 of rows every 200 steps) is no row pasted from the
middle. No new threshold.

**A classification score beside an error rate proves no cross-entropy.** A speech recogniser's
table (WER, CER) that also carries an accuracy may log a CTC loss, which Hugging Face's CTC heads sum
over each utterance by default (``ctc_loss_reduction="sum"``), so no label set bounds it."""

from __future__ import annotations

from pathlib import Path

import lrdoctor
from bench_logs import real_log
from lrdoctor.detect.initial_loss_anomaly import DEFAULTS, _vocabulary_bound_table, classification_table_score

_MT5_BS12 = "fresh779/mt5-textsimp-lt-bs12-lr5e-5/training_results.md"
_MT5_HEALTHY = "fresh1051/mqy-mt5-small-finetuned/training_results.md"
_XLSR_NEPALI = "fresh1292/ashwini1412-asr-nepali/training_results.md"


def _initial(path: Path) -> tuple[list, str | None]:
    report = lrdoctor.diagnose(lrdoctor.read(path))
    return ([f for f in report.findings if f.kind == "initial_loss_anomaly"],
            report.coverage.skipped.get("initial_loss_anomaly"))


def _rouge_table(tmp_path: Path, train: list[float], name: str = "rouge.md") -> Path:
    """A Trainer results table of generated text evaluated every 200 steps of a 140-step epoch: its
    first row at epoch 1.43, step 200 (the end of no first logging period of a step counter)."""
    lines = ["| Training Loss | Epoch | Step | Validation Loss | Rouge1 | Gen Len |", "|:---:|:---:|:---:|:---:|:---:|:---:|"]
    lines += [f"| {t:.4f} | {200 * (i + 1) / 140:.2f} | {200 * (i + 1)} | {0.8 * t:.4f} | {0.1 + 0.01 * i:.4f} | 40.0 |"
              for i, t in enumerate(train)]
    path = tmp_path / name
    path.write_text("### Training results\n\n" + "\n".join(lines) + "\n")
    return path


def test_the_bound_is_the_arithmetic_of_the_finding(tmp_path):
    """1.5 ln 2^18 = 18.71 nats: a first loss of 28.0 at the first evaluation (epoch 1.43) is above it
    and found, 2.24x ln 2^18; 4.0, a normal seq2seq start, is below it and silent. Both tables are
    judged (nothing skipped), where before the first row's step, 200, was no start."""
    bound = DEFAULTS.above * float(__import__("numpy").log(DEFAULTS.lm_vocab_max))
    assert 18.7 < bound < 18.72
    high = _rouge_table(tmp_path, [28.0, 3.0, 2.5, 2.2], "high.md")
    run = lrdoctor.read(high)
    assert float(run.series("epoch").finite().values[0]) > 1 and _vocabulary_bound_table(run)
    found, skipped = _initial(high)
    assert skipped is None and len(found) == 1
    assert found[0].start_step == 200.0 and abs(found[0].evidence["ratio"] - 28.0 / (bound / 1.5)) < 1e-9
    low = _rouge_table(tmp_path, [4.0, 3.0, 2.5, 2.2], "low.md")
    found, skipped = _initial(low)
    assert skipped is None and found == []


def test_an_accuracy_beside_a_word_error_rate_is_no_classifier(tmp_path):
    """A speech table with WER, CER and an accuracy: no classification score bounds its loss, so a
    first loss of 451.5 (a summed CTC loss) is not judged against ln 2^18; without the error-rate
    columns the same accuracy makes it a classifier's table."""
    rows = [(451.5, 43.3, 1.0, 0.97, 0.03), (194.5, 40.1, 1.0, 0.99, 0.01), (120.0, 35.0, 0.98, 0.9, 0.05)]
    speech = tmp_path / "speech.md"
    speech.write_text("### Training results\n\n| Training Loss | Epoch | Step | Validation Loss | Wer | Cer | Accuracy |\n"
                      "|:---:|:---:|:---:|:---:|:---:|:---:|:---:|\n"
                      + "".join(f"| {t} | {i + 1}.0 | {100 * (i + 1)} | {e} | {w} | {c} | {a} |\n"
                                for i, (t, e, w, c, a) in enumerate(rows)))
    run = lrdoctor.read(speech)
    assert classification_table_score(run) is None and not _vocabulary_bound_table(run)
    assert _initial(speech)[0] == []
    plain = tmp_path / "plain.md"
    plain.write_text("### Training results\n\n| Training Loss | Epoch | Step | Validation Loss | Accuracy |\n"
                     "|:---:|:---:|:---:|:---:|:---:|\n"
                     + "".join(f"| {t} | {i + 1}.0 | {100 * (i + 1)} | {e} | {a} |\n" for i, (t, e, _, _, a) in enumerate(rows)))
    assert classification_table_score(lrdoctor.read(plain)) is not None


def test_mt5_textsimp_bs12_first_row_is_found():
    """mt5-base text simplification at batch 12 (labelled initial_loss_anomaly at step 200): training
    loss 28.05 and validation loss 21.43 at step 200, epoch 1.43, the first of rows every 200 steps,
    beside its ROUGE columns; then 0.0 and NaN. Skipped before ("does not start at step 0/1"), now
    found at its first row."""
    found, skipped = _initial(real_log(_MT5_BS12))
    assert skipped is None and len(found) == 1 and found[0].start_step == 200.0
    assert abs(found[0].evidence["first_loss"] - 28.0514) < 1e-9


def test_xlsr_nepali_accuracy_beside_wer_stays_unjudged():
    """XLS-R 300m on Nepali (labelled nonfinite and slow_progress, not initial_loss_anomaly): 451.5 at its
    first row beside WER, CER and an accuracy. Its table is no classifier's, so the new start rule does
    not judge its CTC loss against the vocabulary bound."""
    run = lrdoctor.read(real_log(_XLSR_NEPALI))
    assert classification_table_score(run) is None and not _vocabulary_bound_table(run)
    assert _initial(real_log(_XLSR_NEPALI))[0] == []


def test_healthy_mt5_twin_is_judged_and_silent():
    """mt5-small fine-tune labelled healthy, the same shape (ROUGE table, rows every 500 steps from
    epoch past 1): now judged from its first row, 4.72 nats, far under the bound, and silent."""
    path = real_log(_MT5_HEALTHY)
    run = lrdoctor.read(path)
    assert _vocabulary_bound_table(run) and float(run.series("epoch").finite().values[0]) > 1
    found, skipped = _initial(path)
    assert skipped is None and found == []
