"""Find the same run gathered twice: benchmark logs whose printed numbers are the same sequence.

Gatherers copy logs from many places, and one training run often lives in several: a Hugging
Face model card, a GitHub mirror of model cards, the Hub's TensorBoard page, a later revision of
the same card, a blog post quoting it. Names and formats differ (pipes or spaces, a leading
``|`` or not), so a check on ``source:`` misses such copies. The numbers do not differ: a copy
keeps every printed value in order. A run counted twice weighs twice in every figure, and two
copies that carry different labels are two readings of one log, not two logs.

For every manifest entry (the holdout slice is left out: nobody reads it to tune), this reads the
entry's file and takes the sequence of its numbers printed with at least
:data:`MIN_DECIMALS` decimal places (metric values, not steps or epochs). Entries whose sequences
are equal form a group (*identical*); an entry whose whole sequence opens another's longer one is
listed apart (*contained*: a copy cut earlier, or the first stage of a longer run). Sequences with
fewer than :data:`MIN_NUMBERS` different values are not compared.

Usage: ``python bench/duplicate_runs.py [--root DIR]`` (default: ``bench/detection_logs``).
Prints each group with its entries' slice, id and label, then one summary line.
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["Entry", "MIN_DECIMALS", "MIN_NUMBERS", "entries", "identical_groups", "contained_pairs", "main"]

HERE = Path(__file__).resolve().parent

MIN_DECIMALS = 3
"""Decimal places a printed number needs to count (a loss, accuracy or WER as logs print them:
0.6931, 12.4169). Steps, epochs and integers repeat across unrelated runs of one recipe; values
printed to three or more places do not."""

MIN_NUMBERS = 12
"""Distinct numbers a sequence needs before it is compared. Two unrelated runs can share a few
values (a first loss of ln 2 = 0.6931 printed at four places, an accuracy pinned at a class prior, a
learning rate printed as 20.0000 on every line of two runs of one recipe); twelve different values in
the same order at three or more decimal places do not happen by chance."""

_NUMBER = re.compile(r"\d+\.\d{%d,}" % MIN_DECIMALS)


@dataclass(frozen=True)
class Entry:
    """One manifest entry, with the numbers of its file in order."""

    slice: str
    id: str
    label: str
    file: str
    numbers: tuple[str, ...]


def _manifest_entries(path: Path) -> list[dict]:
    data = yaml.safe_load(path.read_text()) or []
    return data.get("logs", []) if isinstance(data, dict) else data


def entries(root: Path) -> list[Entry]:
    """Every non-holdout manifest entry under ``root`` whose file exists, with its numbers."""
    out: list[Entry] = []
    for manifest in sorted(root.glob("manifest_*.yaml")):
        default_slice = manifest.stem.removeprefix("manifest_")
        for e in _manifest_entries(manifest):
            slice_ = str(e.get("slice", default_slice))
            file = e.get("file")
            if slice_ == "holdout" or not file or not (root / file).is_file():
                continue
            text = (root / file).read_text(errors="replace")
            out.append(Entry(slice_, str(e["id"]), str(e.get("label", "")), str(file), tuple(_NUMBER.findall(text))))
    return out


def _comparable(e: Entry) -> bool:
    return len(set(e.numbers)) >= MIN_NUMBERS


def identical_groups(items: list[Entry]) -> list[list[Entry]]:
    """Groups of two or more entries whose number sequences are equal (and varied enough)."""
    by_numbers: dict[tuple[str, ...], list[Entry]] = defaultdict(list)
    for e in items:
        if _comparable(e):
            by_numbers[e.numbers].append(e)
    return [group for group in by_numbers.values() if len(group) > 1]


def contained_pairs(items: list[Entry]) -> list[tuple[Entry, Entry]]:
    """(shorter, longer) pairs: the shorter sequence is the longer one's opening, and not equal."""
    by_head: dict[tuple[str, ...], list[Entry]] = defaultdict(list)
    for e in items:
        if _comparable(e):
            by_head[e.numbers[:MIN_NUMBERS]].append(e)
    pairs = []
    for group in by_head.values():
        for a in group:
            for b in group:
                if len(a.numbers) < len(b.numbers) and b.numbers[: len(a.numbers)] == a.numbers and len(set(a.numbers)) >= MIN_NUMBERS:
                    pairs.append((a, b))
    return pairs


def _show(e: Entry) -> str:
    return f"{e.slice}/{e.id} [{e.label}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HERE / "detection_logs", help="folder of manifest_*.yaml files")
    args = parser.parse_args(argv)
    items = entries(args.root)
    groups = identical_groups(items)
    pairs = contained_pairs(items)
    for group in groups:
        print("identical:", " = ".join(_show(e) for e in group))
    for shorter, longer in pairs:
        print("contained:", _show(shorter), "opens", _show(longer))
    split = sum(len({e.label for e in g}) > 1 for g in groups)
    print(f"{len(items)} entries compared; {len(groups)} groups of identical numbers "
          f"({sum(map(len, groups))} entries, {split} with labels that differ); {len(pairs)} contained pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
