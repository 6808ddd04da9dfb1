"""Shared plumbing for tabular readers: a pandas frame -> :class:`~lrdoctor.run.Run`."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from lrdoctor.errors import LogFormatError, printable
from lrdoctor.io.guard import text_encoding
from lrdoctor.io.limits import MAX_COLUMNS, MAX_HEADER_CHARS
from lrdoctor.names import STEP_NAMES, normalize
from lrdoctor.run import Run, RunMeta, build_run

__all__ = ["STEP_COLUMNS", "read_frame", "frame_to_run", "numeric_columns"]

#: Columns that index a run, in order of preference, with the unit of one step
#: (matched case- and separator-blind; the table lives in :mod:`lrdoctor.names`).
STEP_COLUMNS: tuple[tuple[str, str], ...] = STEP_NAMES


def read_frame(path: Path, sep: str | None = None) -> pd.DataFrame:
    """Read a delimited file so that empty cells (not logged) stay apart from ``nan`` text (logged NaN).

    Empty cells become NaN in float columns; a column holding ``nan``/``inf`` text or other
    words comes back as text and is sorted out by :func:`numeric_columns`.
    """
    sep = sep if sep is not None else ","
    encoding = text_encoding(path)
    header = _first_line(path, encoding)
    if len(header) > MAX_HEADER_CHARS:
        raise LogFormatError(path, f"first line is longer than {MAX_HEADER_CHARS:,} characters: no CSV header "
                                   "of a training log (a one-line file?)", line=1)
    if header.count(sep) + 1 > MAX_COLUMNS:
        raise LogFormatError(path, f"header has {header.count(sep) + 1:,} columns; more than {MAX_COLUMNS} are refused", line=1)
    # Two options cost real time on big files, so they are used only where needed:
    # skipinitialspace (+30%) only when the header is space-padded (YOLO), and tolerant
    # bad-line handling (2x slower in pandas) only after a strict read failed.
    padded = _header_is_padded(path, sep)
    opts = dict(sep=sep, skipinitialspace=padded, keep_default_na=False, na_values=[""], engine="c",
                encoding=encoding, encoding_errors="replace")
    try:
        try:
            df = pd.read_csv(path, **opts)
        except pd.errors.ParserError:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pd.errors.ParserWarning)
                df = pd.read_csv(path, on_bad_lines="warn", **opts)
            skipped = [
                line.strip()
                for w in caught
                if issubclass(w.category, pd.errors.ParserWarning)
                for line in str(w.message).splitlines()
                if line.strip().startswith("Skipping line")
            ]
            if skipped:
                first = skipped[0].rstrip(".")
                df.attrs["warnings"] = [f"{printable(path.name)}: {len(skipped)} malformed row(s) skipped ({first})"]
    except pd.errors.EmptyDataError:
        raise LogFormatError(path, "file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise LogFormatError(path, f"not a readable CSV ({str(err).splitlines()[0]})") from None
    df.columns = [printable(str(c).strip()) for c in df.columns]
    if len(df) and not _ends_with_newline(path):
        df.attrs.setdefault("warnings", []).append(
            f"{printable(path.name)}: the last row has no line end (cut short while being written?); read as it is")
    torn = _short_rows(path, sep, encoding, len(df.columns))
    if torn:
        df.attrs.setdefault("warnings", []).append(
            f"{printable(path.name)}:{torn[0]}: {len(torn)} row(s) have fewer fields than the header "
            "(torn rows, e.g. a run killed while writing); their missing cells read as not logged")
    return df


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        if fh.tell() == 0:
            return True
        fh.seek(-1, 2)
        return fh.read(1) in (b"\n", b"\r", b"\x00")


def _first_line(path: Path, encoding: str) -> str:
    """The first line, read at most :data:`MAX_HEADER_CHARS` + 1 characters far."""
    with open(path, encoding=encoding, errors="replace") as fh:
        return fh.readline(MAX_HEADER_CHARS + 1).rstrip("\r\n")


def _short_rows(path: Path, sep: str, encoding: str, n_columns: int) -> list[int]:
    """1-based line numbers of non-blank rows with fewer separators than the header.

    pandas fills the missing trailing cells of such a row with NaN, without a word, so a
    row torn by a killed writer would read as "metric not logged". Counted with numpy on the
    raw bytes (about 1 s per 100 MB); skipped for files with quoted fields (a separator or a
    newline inside quotes is not one) and for multi-byte encodings.
    """
    if encoding not in ("utf-8", "utf-8-sig") or len(sep) != 1 or n_columns < 2:
        return []
    buf = np.fromfile(path, dtype=np.uint8)
    if buf.size == 0 or (buf == ord('"')).any():
        return []
    ends = np.flatnonzero(buf == ord("\n"))
    if ends.size == 0 or ends[-1] != buf.size - 1:
        ends = np.r_[ends, buf.size]
        buf = np.r_[buf, np.uint8(ord("\n"))]
    starts = np.r_[0, ends[:-1] + 1]
    # separators per line from their positions (no int64 copy of the whole file: that was
    # 8 bytes per input byte, 320 MB for a 40 MB CSV)
    sep_pos = np.flatnonzero(buf == ord(sep))
    counts = np.searchsorted(sep_pos, ends) - np.searchsorted(sep_pos, starts)
    length = ends - starts
    blank = length - (buf[np.maximum(ends - 1, 0)] == ord("\r")) <= 0
    short = np.flatnonzero((counts < n_columns - 1) & ~blank)
    short = short[short > 0]  # the header itself sets n_columns
    return (short + 1).tolist()


def _header_is_padded(path: Path, sep: str) -> bool:
    """True when the first line has a space right after a separator (``epoch,   train/box_loss``)."""
    try:
        with open(path, "rb") as fh:
            head = fh.readline(1 << 16)
    except OSError:
        return True
    return (sep + " ").encode() in head or (sep + "\t").encode() in head


_NONFINITE_TOKENS = {"nan", "-nan", "+nan", "inf", "+inf", "-inf", "infinity", "-infinity", "+infinity", "none", "null"}


def numeric_columns(
    df: pd.DataFrame, path: Path, meta: RunMeta, header_lines: int = 1
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Split a frame into numeric columns (values + logged masks) and text columns.

    A mostly-numeric column with stray words keeps its numbers; the words are reported once
    as a warning naming the column and the first line, and read as not logged.
    """
    cols: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            vals = s.to_numpy(dtype=np.float64, na_value=np.nan)
            cols[name], masks[name] = vals, ~np.isnan(vals)
            continue
        text = s.astype("string").str.strip()
        empty = text.isna() | (text == "")
        nums = pd.to_numeric(text.where(~empty), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        tokens = text.str.lower().isin(_NONFINITE_TOKENS).fillna(False).to_numpy(bool)
        empty_np = empty.to_numpy(bool)
        bad = np.isnan(nums) & ~tokens & ~empty_np
        n_present = int((~empty_np).sum())
        if n_present == 0:
            continue
        if bad.sum() > 0.5 * n_present:
            meta.text_columns.append(name)
            continue
        if bad.any():
            first = int(np.flatnonzero(bad)[0]) + header_lines + 1
            meta.warnings.append(
                f"{path.name}:{first}: column {name!r} has {int(bad.sum())} non-numeric value(s) "
                f"(first {str(text.iloc[first - header_lines - 1])!r}); read as not logged"
            )
        nums = np.where(tokens, _token_value(text, tokens), nums)
        cols[name], masks[name] = nums, ~empty_np & ~bad
    return cols, masks


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


def frame_to_run(
    df: pd.DataFrame,
    path: Path,
    fmt: str,
    *,
    prefer_step: Sequence[str] = (),
    config: dict | None = None,
) -> Run:
    """Build a run from a frame: numeric columns as metrics, the best step column as the axis."""
    meta = RunMeta(source=str(path), format=fmt)
    meta.warnings.extend(df.attrs.get("warnings", []))
    if len(df) == 0:
        raise LogFormatError(path, "has a header but no rows")
    cols, masks = numeric_columns(df, path, meta)
    if not cols:
        raise LogFormatError(path, "no numeric columns found")
    step_col, unit = pick_step(cols, masks, prefer_step)
    meta.step_unit = unit
    meta.step_column = step_col
    if step_col is None:
        steps = np.arange(len(df), dtype=np.float64)
    else:
        steps = np.where(masks[step_col], cols[step_col], np.nan)
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
