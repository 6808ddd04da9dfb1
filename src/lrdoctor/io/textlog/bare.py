"""Files of bare numbers: one value per line, or ``step value`` rows, with no name anywhere
(``np.savetxt("loss.txt", losses)``, a script that appends ``f"{step} {loss}"`` to a file).

The file's own name is the only name such a file has, as a TensorBoard CSV export's is (its
tag): ``train_loss.txt`` holds a training loss, and ``issue7.log`` holds a column the user can
name with ``--metric loss=issue7``. Read only when no line of the file reads as a record.
"""

from __future__ import annotations

import re
from array import array
from pathlib import Path
from typing import Callable

import numpy as np

from lrdoctor.errors import printable
from lrdoctor.io.guard import bounded_lines, text_encoding
from lrdoctor.io.limits import MAX_LINE_CHARS
from lrdoctor.io.records import RecordColumns, records_to_run
from lrdoctor.run import Run, RunMeta

__all__ = ["read_bare_columns", "MIN_ROWS", "MAX_BARE_FIELDS", "MIN_SHARE"]

#: Fewest rows of numbers that make a file of bare columns: the few-point rules judge 3 points.
MIN_ROWS = 3
#: Most numbers on a row: a bare file holds a step and a few values, not a matrix.
MAX_BARE_FIELDS = 8
#: Share of the non-blank lines that must be rows of the same number of numbers (a header-less
#: file may still carry a comment or a blank separator line).
MIN_SHARE = 0.9

_FIELD = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|infinity)", re.I)
_SPLIT = re.compile(r"[\s,;]+")
#: a wall-clock stamp among the numbers ("2025-04-24 02:23:42.481256", RWKV-LM's train_log.txt):
#: when the row was written, no value of the run
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}:\d{2}(?:\.\d+)?")
#: Perplexity beside its loss: a column equal to exp of another to this relative tolerance at every
#: row (4+ significant digits, what a log prints) is that column's perplexity, by definition
PPL_REL = 1e-3


def _row(line: str) -> list[float] | None:
    """The numbers of a line that holds only numbers (at most ``MAX_BARE_FIELDS``), else None;
    a Python tuple of them too ("(50, 2176.6125)": a script that prints ``(step, loss)``). A
    bracketed row stays refused: a numpy array's print ("[ 3.  0.5  0.6 ]") is no log's row."""
    line = line.strip()
    if line[:1] == "(" and line[-1:] == ")":
        line = line[1:-1]
    fields = [f for f in _SPLIT.split(line) if f and not _STAMP.fullmatch(f)]
    if not fields or len(fields) > MAX_BARE_FIELDS or not all(_FIELD.fullmatch(f) for f in fields):
        return None
    return [float(f) for f in fields]


#: a folder named for the losses it holds ("losses", "loss", "train_losses")
_LOSS_FOLDER = re.compile(r"(?i)(?:train(?:ing)?[_-]?)?loss(?:es)?")


def _names(stem: str, n: int, first_is_step: bool) -> list[str]:
    if n == 1:
        return [stem]
    if first_is_step:
        return ["step", stem] if n == 2 else ["step", *(f"{stem}_{j}" for j in range(1, n))]
    return [f"{stem}_{j}" for j in range(1, n + 1)]


def read_bare_columns(path: Path, strip: Callable[[str], str] = str.strip) -> Run | None:
    """The file as columns of bare numbers, or None when it is not one (see the module).
    ``strip`` takes off what precedes a line's content (the text reader's prefixes).

    Memory: the numbers in typed arrays (8 bytes each, one array per row width), never a list
    of rows: a ``np.savetxt`` file of millions of values costs what its values do."""
    flat: dict[int, array] = {}  # row width -> its rows' numbers, row after row
    other = 0
    with open(path, encoding=text_encoding(path), errors="replace") as fh:
        for _, line in bounded_lines(fh, MAX_LINE_CHARS):
            if line is None:
                other += 1
                continue
            if not line.strip():
                continue
            r = _row(strip(line))
            if r is None:
                if not flat:
                    return None  # a header (or prose) above the numbers: a table of another format, not bare numbers
                other += 1
            else:
                flat.setdefault(len(r), array("d")).extend(r)
    counts = {w: len(a) // w for w, a in flat.items()}
    if sum(counts.values()) < MIN_ROWS:
        return None
    width = max(counts, key=counts.__getitem__)
    kept = counts[width]
    if kept < MIN_SHARE * (sum(counts.values()) + other):
        return None
    table = np.frombuffer(flat[width], dtype=np.float64).reshape(kept, width)
    first = table[:, 0]
    # an increasing integer first column is the step (a NaN or inf in it is no step)
    first_is_step = width >= 2 and bool(np.isfinite(first).all() and (first == np.round(first)).all()
                                        and (np.diff(first) > 0).all())
    stem = re.sub(r"[^\w.-]+", "_", path.stem).strip("_") or "value"
    if _LOSS_FOLDER.fullmatch(path.parent.name) and not _LOSS_FOLDER.fullmatch(stem):
        # a file of bare numbers in a folder of losses (torchtitan's tests/assets/losses/llama3_cuda.txt:
        # "1 8.1376" per step) names its run, not its quantity: the folder says what the numbers are
        stem = "loss"
    names = _names(stem, width, first_is_step)
    pair = _loss_and_perplexity(table)
    if pair is not None:
        names[pair[0]], names[pair[1]] = "loss", "ppl"
    records = RecordColumns()
    for row in table.tolist():
        records.append(dict(zip(names, row)))
    meta = RunMeta(source=str(path), format="bare-columns")
    meta.warnings.append(f"{printable(path.name)}: no names in the file: its column(s) are named after the file "
                         f"({', '.join(names)}); rename one with --metric ROLE=COLUMN")
    if pair is not None:
        meta.warnings.append(f"{printable(path.name)}: column {pair[1] + 1} equals exp(column {pair[0] + 1}) at every row: "
                             "read as a cross-entropy loss and its perplexity")
    skipped = sum(counts.values()) + other - kept
    if skipped:
        meta.warnings.append(f"{printable(path.name)}: {skipped} line(s) that are no row of "
                             f"{width} number(s) were skipped")
    return records_to_run(records, meta)


def _loss_and_perplexity(table: np.ndarray) -> tuple[int, int] | None:
    """(loss column, perplexity column) when one column is exp of another at every row within
    :data:`PPL_REL`: a perplexity is exp of the cross-entropy it is printed beside, so the pair
    names itself (RWKV-LM's "0 4.875856 131.0863 0.00059975 ...": exp(4.875856) = 131.086).
    Constant columns are left out (exp(0) = 1 beside a column of ones proves nothing)."""
    with np.errstate(over="ignore", invalid="ignore"):
        e_all = np.exp(table)  # (a loss above ~709 prints an infinite perplexity, as float64 overflows)
    for i in range(table.shape[1]):
        x, e = table[:, i], e_all[:, i]
        ok = np.isfinite(e)
        if int(ok.sum()) < MIN_ROWS or np.ptp(x[ok]) == 0 or x[ok].min() <= 0:
            continue
        for j in range(table.shape[1]):
            if j == i:
                continue
            y = table[:, j]
            # where exp overflows or the loss is NaN, the printed perplexity is the same inf or NaN
            same_off = np.array_equal(np.isnan(y), np.isnan(e)) and np.array_equal(np.isinf(y), np.isinf(e))
            if same_off and np.all(np.abs(y[ok] - e[ok]) <= PPL_REL * e[ok]):
                return i, j
    return None
