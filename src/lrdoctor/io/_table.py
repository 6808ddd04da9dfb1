"""Shared plumbing for tabular readers: a pandas frame -> :class:`~lrdoctor.run.Run`."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # pandas is imported where a table is read: `import lrdoctor` stays light
    import pandas as pd

from lrdoctor.errors import LogFormatError, printable
from lrdoctor.io.guard import text_encoding
from lrdoctor.io.limits import MAX_COLUMNS, MAX_HEADER_CHARS
from lrdoctor.io.tensor_repr import TENSOR_CELL_RE, TENSOR_OPENERS
from lrdoctor.names import STEP_NAMES, normalize
from lrdoctor.run import Run, RunMeta, build_run

__all__ = ["STEP_COLUMNS", "Table", "read_table", "table_to_run", "CHUNK_CELLS"]

#: Columns that index a run, in order of preference, with the unit of one step
#: (matched case- and separator-blind; the table lives in :mod:`lrdoctor.names`).
STEP_COLUMNS: tuple[tuple[str, str], ...] = STEP_NAMES


#: Cells (rows x columns) pandas parses per chunk: 4M cells are ~32 MB of float64, so a
#: table's transient memory stays that size whatever the file's length (the whole-file
#: ``pd.read_csv`` held ~3x the numeric payload at its peak: 416 MB for a 76 MB CSV;
#: chunked, 230 MB: docs/benchmarks.md, reader scaling).
CHUNK_CELLS = 1 << 22
#: Fewest rows per chunk (a table with thousands of columns still reads in sizeable chunks).
MIN_CHUNK_ROWS = 1024

#: Bytes of the file examined at once by the torn-row count (a few arrays of this size).
TORN_BLOCK_BYTES = 16 << 20


@dataclass
class Table:
    """A delimited file's numeric content, column by column: float64 values and "logged"
    masks of ``n_rows`` each (empty cells are not logged; ``nan``/``inf`` text is a logged
    non-finite value). Columns mostly of words are not kept: they are named in
    ``text_columns``. ``warnings`` come first from reading (malformed, torn, unterminated
    rows), then from the columns (stray words)."""

    columns: list[str]
    cols: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    n_rows: int
    warnings: list[str] = field(default_factory=list)
    text_columns: list[str] = field(default_factory=list)


@dataclass
class _ColumnAcc:
    """One column's values and counts, until the whole file is read. The arrays are
    allocated once for the file's line count (an upper bound of its rows, counted before
    parsing), so a column is never joined from its chunks (a second copy of it)."""

    vals: np.ndarray | None = None
    masks: np.ndarray | None = None
    present: int = 0
    bad: int = 0
    first_bad: tuple[int, str] | None = None  # (row index in the file, the text)
    #: every chunk came out of pandas as numbers: such a column is kept even when it is
    #: all empty (as the whole-file reader kept it); a text column of only blanks is not
    numeric_dtype: bool = True

    def put(self, offset: int, vals: np.ndarray, mask: np.ndarray, capacity: int) -> None:
        """Store a chunk's values at rows ``offset``...; grows (by half) only when the
        rows outnumber the counted lines (lines ended by a lone ``\\r``)."""
        end = offset + vals.size
        if self.vals is None:
            self.vals, self.masks = np.empty(max(capacity, end)), np.empty(max(capacity, end), dtype=bool)
        elif end > self.vals.size:
            size = max(end, self.vals.size + self.vals.size // 2)
            grown, grown_m = np.empty(size), np.empty(size, dtype=bool)
            grown[:offset], grown_m[:offset] = self.vals[:offset], self.masks[:offset]  # type: ignore[index]
            self.vals, self.masks = grown, grown_m
        self.vals[offset:end] = vals
        self.masks[offset:end] = mask  # type: ignore[index]


def read_table(path: Path, sep: str | None = None, skiprows: int = 0) -> Table:
    """Read a delimited file chunk by chunk into numeric columns (see :class:`Table`).

    Memory: the numeric payload (9 bytes per cell) plus one chunk (:data:`CHUNK_CELLS`),
    never a whole-file frame of Python objects. ``skiprows`` lines before the header are
    skipped (a gym Monitor file's ``#{json}`` line).
    """
    import pandas as pd

    encoding = text_encoding(path)
    header = _first_line(path, encoding, skiprows)
    # a table saved where the comma is the decimal mark (Excel, pandas with sep=";") is separated by
    # semicolons: a header with semicolons and no comma is read that way
    sep = sep if sep is not None else ";" if ";" in header and "," not in header else ","
    if len(header) > MAX_HEADER_CHARS:
        raise LogFormatError(path, f"first line is longer than {MAX_HEADER_CHARS:,} characters: no CSV header "
                                   "of a training log (a one-line file?)", line=1 + skiprows)
    if header.count(sep) + 1 > MAX_COLUMNS:
        raise LogFormatError(path, f"header has {header.count(sep) + 1:,} columns; more than {MAX_COLUMNS} are refused",
                             line=1 + skiprows)
    # Two options cost real time on big files, so they are used only where needed:
    # skipinitialspace (+30%) only when the header is space-padded (YOLO), and tolerant
    # bad-line handling (2x slower in pandas) only after a strict read failed.
    padded = _header_is_padded(path, sep, skiprows)
    decimal = "," if sep == ";" and _comma_decimals(path, encoding, skiprows) else "."
    opts = dict(sep=sep, decimal=decimal, skipinitialspace=padded, keep_default_na=False, na_values=[""], engine="c",
                encoding=encoding, encoding_errors="replace", skiprows=skiprows,
                chunksize=max(MIN_CHUNK_ROWS, CHUNK_CELLS // (header.count(sep) + 1)))
    warns: list[str] = []
    n_lines, torn = _scan_lines(path, sep, encoding, header.count(sep) + 1, skiprows)
    capacity = max(1, n_lines - skiprows - 1)
    try:
        try:
            columns, accs, n_rows = _read_chunks(path, opts, capacity)
        except pd.errors.ParserError:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pd.errors.ParserWarning)
                columns, accs, n_rows = _read_chunks(path, dict(opts, on_bad_lines="warn"), capacity)
            skipped = [
                line.strip()
                for w in caught
                if issubclass(w.category, pd.errors.ParserWarning)
                for line in str(w.message).splitlines()
                if line.strip().startswith("Skipping line")
            ]
            if skipped:
                first = skipped[0].rstrip(".")
                warns.append(f"{printable(path.name)}: {len(skipped)} malformed row(s) skipped ({first})")
    except pd.errors.EmptyDataError:
        raise LogFormatError(path, "file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise LogFormatError(path, f"not a readable CSV ({str(err).splitlines()[0]})") from None
    if n_rows and not _ends_with_newline(path):
        warns.append(f"{printable(path.name)}: the last row has no line end (cut short while being written?); read as it is")
    if torn:
        warns.append(f"{printable(path.name)}:{torn[0]}: {len(torn)} row(s) have fewer fields than the header "
                     "(torn rows, e.g. a run killed while writing); their missing cells read as not logged")
    table = Table(columns, {}, {}, n_rows, warns)
    for name in list(accs):
        _finish_column(table, name, accs.pop(name), path, 1 + skiprows, n_rows)
    return table


def _read_chunks(path: Path, opts: dict, capacity: int) -> tuple[list[str], dict[str, _ColumnAcc], int]:
    """Every chunk's columns converted to numbers as it arrives; the column names, their
    accumulators and the number of rows. Of columns whose names are equal once stripped,
    the last one is kept (as a dict of columns keeps it)."""
    import pandas as pd

    accs: dict[str, _ColumnAcc] = {}
    columns: list[str] = []
    keep: list[bool] = []
    n_rows = 0
    with pd.read_csv(path, **opts) as reader:
        for chunk in reader:
            if not columns:
                columns = [printable(str(c).strip()) for c in chunk.columns]
                last = {name: i for i, name in enumerate(columns)}
                keep = [last[name] == i for i, name in enumerate(columns)]
                accs = {name: _ColumnAcc() for name in last}
            for name, use, (_, s) in zip(columns, keep, chunk.items()):
                if use:
                    _add_chunk(accs[name], s, n_rows, capacity)
            n_rows += len(chunk)
    if not columns:  # a header and no rows: pandas yields no chunk
        head = pd.read_csv(path, **{k: v for k, v in opts.items() if k != "chunksize"}, nrows=0)
        columns = [printable(str(c).strip()) for c in head.columns]
    return columns, accs, n_rows


def _add_chunk(acc: _ColumnAcc, s: pd.Series, offset: int, capacity: int) -> None:
    """One chunk of one column: numbers, the logged mask and the stray words counted."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        vals = s.to_numpy(dtype=np.float64, na_value=np.nan)
        mask = ~np.isnan(vals)
        acc.put(offset, vals, mask, capacity)
        acc.present += int(mask.sum())
        return
    acc.numeric_dtype = False
    text = s.astype("string").str.strip()
    if text.str.startswith(TENSOR_OPENERS).any():
        # a script that wrote its tensors to the file ("tensor(0.1623, device='cuda:0')"): the repr's number
        text = text.str.replace(TENSOR_CELL_RE, r"\1", regex=True)
    empty = text.isna() | (text == "")
    nums = pd.to_numeric(text.where(~empty), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    tokens = text.str.lower().isin(_NONFINITE_TOKENS).fillna(False).to_numpy(bool)
    empty_np = empty.to_numpy(bool)
    bad = np.isnan(nums) & ~tokens & ~empty_np
    n_bad = int(bad.sum())
    if n_bad and acc.first_bad is None:
        i = int(np.flatnonzero(bad)[0])
        acc.first_bad = (offset + i, str(text.iloc[i]))
    if tokens.any():
        nums = np.where(tokens, _token_value(text, tokens), nums)
    acc.put(offset, nums, ~empty_np & ~bad, capacity)
    acc.present += int((~empty_np).sum())
    acc.bad += n_bad


def _finish_column(table: Table, name: str, acc: _ColumnAcc, path: Path, header_lines: int, n_rows: int) -> None:
    """Keep a column's first ``n_rows`` values (a view: the unused tail of its arrays was
    never written, so it holds no memory) or name it a text column."""
    if acc.present == 0 and not acc.numeric_dtype:
        return
    if acc.bad > 0.5 * acc.present:
        table.text_columns.append(name)
        return
    if acc.first_bad is not None:
        row, text = acc.first_bad
        table.warnings.append(
            f"{path.name}:{row + header_lines + 1}: column {name!r} has {acc.bad} non-numeric value(s) "
            f"(first {text!r}); read as not logged"
        )
    if acc.vals is None or acc.masks is None:  # no rows
        table.cols[name], table.masks[name] = np.zeros(0), np.zeros(0, dtype=bool)
        return
    table.cols[name], table.masks[name] = acc.vals[:n_rows], acc.masks[:n_rows]


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        if fh.tell() == 0:
            return True
        fh.seek(-1, 2)
        return fh.read(1) in (b"\n", b"\r", b"\x00")


def _first_line(path: Path, encoding: str, skiprows: int = 0) -> str:
    """The header line (after ``skiprows`` lines), read at most :data:`MAX_HEADER_CHARS` + 1 characters far."""
    with open(path, encoding=encoding, errors="replace") as fh:
        for _ in range(skiprows):
            fh.readline(MAX_HEADER_CHARS + 1)
        return fh.readline(MAX_HEADER_CHARS + 1).rstrip("\r\n")


#: a number written with a decimal comma ("0,776"), as a semicolon-separated table carries them
_COMMA_DECIMAL = re.compile(r"(?:^|;)\s*-?\d+,\d+\s*(?:;|$)")


def _comma_decimals(path: Path, encoding: str, skiprows: int = 0) -> bool:
    """True when the first data row of a semicolon-separated table holds a decimal comma."""
    with open(path, encoding=encoding, errors="replace") as fh:
        for _ in range(skiprows + 1):
            fh.readline(MAX_HEADER_CHARS + 1)
        return bool(_COMMA_DECIMAL.search(fh.readline(MAX_HEADER_CHARS + 1).rstrip("\r\n")))


def _scan_lines(path: Path, sep: str, encoding: str, n_columns: int, skiprows: int = 0) -> tuple[int, list[int]]:
    """``(lines, torn)``: the number of line ends + 1 (an upper bound of the rows, for
    :class:`_ColumnAcc`), and the 1-based line numbers of non-blank rows with fewer
    separators than the header.

    pandas fills the missing trailing cells of such a row with NaN, without a word, so a
    row torn by a killed writer would read as "metric not logged". Counted with numpy on the
    raw bytes, :data:`TORN_BLOCK_BYTES` at a time (about 1 s per 100 MB); not counted for
    files with quoted fields (a separator or a newline inside quotes is not one) and for
    multi-byte encodings (their line ends are still counted: each is one 0x0A byte).
    """
    check = encoding in ("utf-8", "utf-8-sig") and len(sep) == 1 and n_columns >= 2
    short_lines: list[np.ndarray] = []
    lines_before = 0
    carry = b""
    with open(path, "rb") as fh:
        while True:
            block = fh.read(TORN_BLOCK_BYTES)
            last = not block
            if not check:
                if last:
                    break
                lines_before += block.count(b"\n")
                continue
            data = carry + block
            if not last:
                cut = data.rfind(b"\n")
                if cut < 0:
                    carry = data
                    continue
                data, carry = data[: cut + 1], data[cut + 1:]
            if data:
                buf = np.frombuffer(data, dtype=np.uint8)
                if (buf == ord('"')).any():
                    check, short_lines = False, []
                    lines_before += data.count(b"\n")
                    continue
                found, _ = _short_in_block(buf, sep, n_columns)
                short_lines.append(found + lines_before)
                lines_before += data.count(b"\n")
            if last:
                break
    if not check:
        return lines_before + 1, []
    short = np.concatenate(short_lines) if short_lines else np.zeros(0, np.int64)
    short = short[short > skiprows]  # the header itself (and lines before it) set n_columns
    return lines_before + 1, (short + 1).tolist()


def _short_in_block(buf: np.ndarray, sep: str, n_columns: int) -> tuple[np.ndarray, int]:
    """0-based indices (within the block) of non-blank lines with fewer than
    ``n_columns - 1`` separators, and how many lines the block holds."""
    ends = np.flatnonzero(buf == ord("\n"))
    if ends.size == 0 or ends[-1] != buf.size - 1:
        ends = np.r_[ends, buf.size]
    starts = np.r_[0, ends[:-1] + 1]
    # separators per line from their positions (no int64 copy of the block)
    sep_pos = np.flatnonzero(buf == ord(sep))
    counts = np.searchsorted(sep_pos, ends) - np.searchsorted(sep_pos, starts)
    length = ends - starts
    last_char = buf[np.clip(ends - 1, 0, buf.size - 1)]
    blank = length - (last_char == ord("\r")) <= 0
    return np.flatnonzero((counts < n_columns - 1) & ~blank), int(ends.size)


def _header_is_padded(path: Path, sep: str, skiprows: int = 0) -> bool:
    """True when the header line has a space right after a separator (``epoch,   train/box_loss``)."""
    try:
        with open(path, "rb") as fh:
            for _ in range(skiprows):
                fh.readline(1 << 16)
            head = fh.readline(1 << 16)
    except OSError:
        return True
    return (sep + " ").encode() in head or (sep + "\t").encode() in head


_NONFINITE_TOKENS = {"nan", "-nan", "+nan", "inf", "+inf", "-inf", "infinity", "-infinity", "+infinity", "none", "null"}


def _token_value(text: pd.Series, tokens: np.ndarray) -> np.ndarray:

    low = text.str.lower().fillna("").to_numpy(dtype=object)
    out = np.full(low.size, np.nan)
    out[tokens & np.array([t.lstrip("+").startswith("inf") for t in low])] = np.inf
    out[tokens & np.array([t.startswith("-inf") for t in low])] = -np.inf
    return out


def pick_step(cols: dict[str, np.ndarray], masks: dict[str, np.ndarray], prefer: Sequence[str] = ()) -> tuple[str | None, str]:
    """The step column and its unit; ``(None, 'row')`` when the file has none."""
    lower: dict[str, str] = {}
    for c in cols:
        lower.setdefault(normalize(c), c)
    candidates = [(p, u) for p, u in STEP_COLUMNS if p in prefer] + list(STEP_COLUMNS)
    for cand, unit in candidates:
        raw = lower.get(normalize(cand))
        if raw is not None and masks[raw].mean() > 0.5 and _non_decreasing_mostly(cols[raw], masks[raw]):
            return raw, unit
    return None, "row"


def _non_decreasing_mostly(vals: np.ndarray, mask: np.ndarray) -> bool:
    """A step axis goes forward: it goes back at most twice, or on at most 10% of its
    changes (a resumed run goes back a few times; a per-epoch batch counter that restarts
    does it every epoch)."""
    v = vals[mask & np.isfinite(vals)]
    if v.size < 3:
        return True
    back = int((np.diff(v) < 0).sum())
    if back <= max(2, 0.1 * (v.size - 1)):
        return True
    # rows merely out of order (or reversed) keep unique steps; a restarting counter repeats them
    return np.unique(v).size >= 0.9 * v.size


def table_meta(table: Table, path: Path, fmt: str, **kw: object) -> RunMeta:
    """A run's metadata carrying the table's warnings and text columns."""
    meta = RunMeta(source=str(path), format=fmt, **kw)  # type: ignore[arg-type]
    meta.warnings.extend(table.warnings)
    meta.text_columns.extend(table.text_columns)
    return meta


def table_to_run(
    table: Table,
    path: Path,
    fmt: str,
    *,
    prefer_step: Sequence[str] = (),
    config: dict | None = None,
) -> Run:
    """Build a run from a table: numeric columns as metrics, the best step column as the axis."""
    if table.n_rows == 0:
        raise LogFormatError(path, "has a header but no rows")
    meta = table_meta(table, path, fmt)
    cols, masks = table.cols, table.masks
    if not cols:
        raise LogFormatError(path, "no numeric columns found")
    step_col, unit = pick_step(cols, masks, prefer_step)
    meta.step_unit = unit
    meta.step_column = step_col
    if step_col is None:
        steps = np.arange(table.n_rows, dtype=np.float64)
    else:
        m = masks[step_col]
        steps = cols[step_col] if m.all() else np.where(m, cols[step_col], np.nan)
        missing = int((~masks[step_col]).sum())
        if missing:
            meta.warnings.append(f"{missing} row(s) without a {step_col!r} value were dropped")
        dup = duplicate_steps(steps, cols, masks, skip=step_col)
        if dup is not None:
            row, n, step, col = dup
            meta.warnings.append(
                f"{printable(path.name)}:{row + 2}: step {step:g} is logged again with a different {col!r} "
                f"({n} such repeated step(s)); the last row at each step wins")
    return build_run(steps, cols, masks, meta=meta, config=config)


def duplicate_steps(
    steps: np.ndarray, cols: dict[str, np.ndarray], masks: dict[str, np.ndarray], skip: str | None = None
) -> tuple[int, int, float, str] | None:
    """The first row that repeats the previous row's step with a different value of a metric
    logged on both, as ``(row index, number of such rows, step, column)``; None when there is none.

    Only for a step axis that never goes back: a resumed run (steps going back) is already
    reported as such when the run is built. Rows that share a step but log different metrics
    (Lightning's step and epoch rows) merge without loss and are not reported.
    """
    ok = np.isfinite(steps)
    s = steps[ok]
    if s.size < 2 or (np.diff(s) < 0).any():
        return None
    rows = np.flatnonzero(ok)
    same = s[1:] == s[:-1]
    if not same.any():
        return None
    conflict = np.zeros(s.size - 1, dtype=bool)
    first_col: dict[int, str] = {}
    for name, vals in cols.items():
        if name == skip:
            continue
        v, m = vals[ok], masks[name][ok]
        both = same & m[1:] & m[:-1]
        if not both.any():
            continue
        a, b = v[1:], v[:-1]
        differ = both & ~((a == b) | (np.isnan(a) & np.isnan(b)))
        if differ.any():
            first = int(np.flatnonzero(differ)[0])
            first_col.setdefault(first, name)
            conflict |= differ
    if not conflict.any():
        return None
    i = int(np.flatnonzero(conflict)[0])
    return int(rows[i + 1]), int(conflict.sum()), float(s[i + 1]), first_col.get(i, next(iter(first_col.values())))
