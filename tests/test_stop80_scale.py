"""Stop 80, the scale/role pool: a training-split error rate is not judged as a held-out score.

wav2letter prints a training WER ("train-WER") beside the held-out one ("validation.lst-WER");
performance_reversal's error-rate rules judge an evaluation's error rate (one deterministic pass over
a fixed set), so a training-split column is no longer among them. (The pool's other change, dropping a
"Training Loss" column that copies the "Validation Loss", duplicated the roles pool's
``drop_copied_loss`` and was not merged; see tests/test_stop80_roles.py.)"""

from __future__ import annotations

from pathlib import Path

import lrdoctor
from lrdoctor.detect.rl.returns import TRAINING_SPLIT_WORDS, _error_rates

LOGS = Path(__file__).resolve().parents[1] / "bench" / "detection_logs"


def _kinds(path: Path) -> set[str]:
    return {f.kind for f in lrdoctor.diagnose(path).findings}


def _wav2letter_log(tmp_path: Path, train_wer: list[float], valid_wer: list[float]) -> Path:
    path = tmp_path / "train.log"
    losses = [844.3, 470.1, 379.6, 330.2, 301.5]
    path.write_text("".join(
        f"epoch: {i + 1:8d} | nupdates: {1 + 3000 * i:12d} | lr: 0.050000 | loss: {losses[i]:10.5f} | "
        f"train-WER: {tw:6.2f} | validation.lst-loss: {losses[i] * 0.7:10.5f} | validation.lst-WER: {vw:6.2f}\n"
        for i, (tw, vw) in enumerate(zip(train_wer, valid_wer))))
    return path


def test_the_training_wer_is_not_among_the_held_out_error_rates(tmp_path):
    run = lrdoctor.read(_wav2letter_log(tmp_path, [0.0, 116.15, 122.69], [100.0, 98.1, 96.4]))
    assert [n for n, _, _ in _error_rates(run)] == ["validation.lst-wer"]
    assert "train" in TRAINING_SPLIT_WORDS


def test_a_training_wer_from_10_to_past_100_is_no_reversal_but_a_held_out_collapse_still_is(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    quiet = _wav2letter_log(tmp_path / "a", [10.0, 116.15, 122.69], [100.0, 98.1, 96.4])
    assert "performance_reversal" not in _kinds(quiet)
    collapsed = _wav2letter_log(tmp_path / "b", [40.0, 35.0, 33.0], [30.0, 25.0, 104.0])
    assert "performance_reversal" in _kinds(collapsed)


def test_the_wav2letter_log_whose_train_wer_started_at_0_has_no_false_reversal():
    # fresh929 (edge, leaning slow_progress): "train-WER: 0.00" after 4 updates, then 116.15 and
    # 122.69 while both losses fall; the held-out WER 100.00 -> 186.14 -> 100.57 never learned
    path = LOGS / "fresh929" / "wav2letter-i667-early-ler-stuck" / "paste.log"
    assert "performance_reversal" not in _kinds(path)
