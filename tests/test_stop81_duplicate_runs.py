"""bench/duplicate_runs.py: the same run gathered twice is found by its numbers, whatever its format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "duplicate_runs.py"

#: twelve epochs of a Trainer table: training loss, validation loss, accuracy
ROWS = [(0.6931 - 0.0213 * i, 0.7012 - 0.0187 * i, 0.5104 + 0.0311 * i) for i in range(12)]


def _pipe_table(rows) -> str:
    head = "| Training Loss | Epoch | Validation Loss | Accuracy |\n|---|---|---|---|\n"
    return head + "".join(f"| {a:.4f} | {i + 1}.0 | {b:.4f} | {c:.4f} |\n" for i, (a, b, c) in enumerate(rows))


def _spaced_table(rows) -> str:
    head = "Training Loss Epoch Validation Loss Accuracy\n"
    return head + "".join(f"{a:.4f} {i + 1}.0 {b:.4f} {c:.4f}\n" for i, (a, b, c) in enumerate(rows))


def _write(root: Path, slice_: str, entries: list[tuple[str, str, str]]) -> None:
    manifest = []
    for log_id, label, text in entries:
        path = root / slice_ / log_id / "training_results.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        manifest.append({"id": log_id, "file": f"{slice_}/{log_id}/training_results.md", "label": label})
    (root / f"manifest_{slice_}.yaml").write_text(yaml.safe_dump(manifest))


def _run(root: Path) -> str:
    out = subprocess.run([sys.executable, str(SCRIPT), "--root", str(root)], capture_output=True, text=True, check=True)
    return out.stdout


def test_a_copy_in_another_format_and_slice_is_found_and_its_split_label_counted(tmp_path):
    other = [(a + 0.0007, b - 0.0011, c) for a, b, c in ROWS]
    _write(tmp_path, "s1", [("card", "healthy", _pipe_table(ROWS)), ("other-run", "healthy", _pipe_table(other))])
    _write(tmp_path, "s2", [("mirror-copy", "edge", _spaced_table(ROWS))])
    out = _run(tmp_path)
    assert "identical: s1/card [healthy] = s2/mirror-copy [edge]" in out
    assert "other-run" not in out
    assert "3 entries compared; 1 groups of identical numbers (2 entries, 1 with labels that differ); 0 contained pairs" in out


def test_a_copy_cut_earlier_is_contained_in_the_longer_one(tmp_path):
    longer = ROWS + [(0.4, 0.45, 0.88), (0.39, 0.46, 0.881)]
    _write(tmp_path, "s1", [("first-epochs", "healthy", _pipe_table(ROWS)), ("whole-run", "edge", _pipe_table(longer))])
    out = _run(tmp_path)
    assert "contained: s1/first-epochs [healthy] opens s1/whole-run [edge]" in out
    assert "0 groups of identical numbers" in out


def test_the_holdout_slice_and_a_repeated_constant_are_not_compared(tmp_path):
    _write(tmp_path, "s1", [("card", "healthy", _pipe_table(ROWS))])
    _write(tmp_path, "holdout", [("held", "edge", _pipe_table(ROWS))])
    constant = "".join(f"| epoch {i} | lr 20.0000 | loss {5 + i % 3:.2f} |\n" for i in range(40))
    _write(tmp_path, "s3", [("rnn-a", "healthy", constant), ("rnn-b", "unhealthy", constant)])
    out = _run(tmp_path)
    assert "held" not in out and "rnn-" not in out
    assert "3 entries compared; 0 groups of identical numbers" in out
