"""The memory a log will take to read, estimated before it is read, and the refusal when
that is over the limit.

Every reader keeps the whole run in memory (the detectors need every point), so memory
grows with the log; no reader streams in constant memory. Peak memory is estimated from
what the first :data:`SAMPLE_BYTES` of the file hold, scaled to its size:

* tables (CSV, TSV, YOLO, gym Monitor): cells (rows x header columns): each becomes a
  float64 and a "logged" flag, plus pandas' work per chunk;
* text logs and JSON Lines: the records and fields the real parser finds in the sample
  (values are held as the parser collects them, then every field becomes a column as long
  as the run);
* JSON documents (trainer_state.json, Keras history): the text itself (held while parsed)
  and the numbers in it;
* TensorBoard event files: the bytes (read whole) and the records.

The per-unit costs are measured peaks of ``lrdoctor diagnose`` (interpreter, imports, read,
detectors, report) on ``bench/reader_scaling.py``'s files; the comparison with measured
peaks at 100 MB to 1 GB is in docs/reliability.md ("Memory budget"). The estimate is for
logs whose first MiB is like the rest; a file that changes shape after its first MiB can
be off by the ratio of its densities.
"""

from __future__ import annotations

import json
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from lrdoctor.errors import InputError

__all__ = [
    "DEFAULT_MAX_MEMORY_MB",
    "MAX_MEMORY_ENV",
    "SAMPLE_BYTES",
    "BASE_BYTES",
    "BASE_BYTES_NO_PANDAS",
    "base_bytes",
    "Estimate",
    "estimate_peak",
    "check_budget",
    "memory_limit_mb",
    "release_freed_memory",
]

MB = 1 << 20

#: Issue 10's bound: ``lrdoctor diagnose`` reads any input within 2 GB of memory or
#: refuses it in one line.
DEFAULT_MAX_MEMORY_MB = 2048

#: The environment variable that sets the limit when ``--max-memory-mb`` is not given
#: (for wrappers and CI that run many ``diagnose`` calls). ``0`` turns the check off.
MAX_MEMORY_ENV = "LRDOCTOR_MAX_MEMORY_MB"

#: How much of the file is sampled for its density (rows, fields, numbers per byte).
#: 1 MiB is thousands of rows of any real log and is parsed in ~0.1 s.
SAMPLE_BYTES = 1 << 20

#: Memory that does not grow with the log: ``lrdoctor diagnose`` of a 3-row CSV peaks at
#: 130 MB (interpreter, numpy, pandas, typer, the detectors; 86 MB without pyarrow, which
#: pandas 3 imports when it is installed), and the readers' fixed working buffers (one
#: pandas chunk of :data:`~lrdoctor.io._table.CHUNK_CELLS`, a 16 MB torn-row block) bring
#: a 6 MB CSV to 160 MB (Python 3.11, pandas 3.1, 2026-12-01).
BASE_BYTES = 160 * MB

#: The same for the readers that do not use pandas (text logs, JSON, JSON Lines, Keras,
#: TensorBoard): pandas is imported only where a table is read, so ``lrdoctor diagnose`` of a
#: 3-row JSON Lines file peaks at 54 MB (2026-12-01); 80 MB leaves the same ~25 MB for the
#: readers' fixed buffers as the table base does.
BASE_BYTES_NO_PANDAS = 80 * MB


def base_bytes(fmt: str) -> int:
    """The fixed part of the estimate for a reader of format ``fmt``."""
    return BASE_BYTES if fmt in _TABLE_FORMATS else BASE_BYTES_NO_PANDAS

#: Bytes of peak memory per table cell (CSV family): the float64 and the flag each cell
#: becomes (9 B), pandas' chunk, and the detectors' work. Measured with
#: ``bench/reader_scaling.py`` (CLI peak RSS less the 160 MB base, 2026-12-01): a 389 MB
#: CSV of 57 M cells, 15.5 B/cell; a 492 MB YOLO results.csv of 22 M cells, 15.6 B/cell;
#: +13%.
TABLE_CELL_BYTES = 17.5
#: The gym Monitor reader adds columns (cumulative steps, the 100-episode mean): a 369 MB
#: file of 73 M cells, 19.6 B/cell; +12%.
MONITOR_CELL_BYTES = 22.0

#: Bytes per value collected by the record parsers (text logs, JSON Lines: 16 B in typed
#: arrays, released key by key) and per cell of the columns they become (8 B value + 1 B
#: flag). Measured (as above): a 441 MB text log of 37 M values (= cells), 16.8 B per
#: value+cell; a 407 MB JSON Lines file of 28 M, 30.7 B (``json.loads`` per line). The
#: estimate is 20 and 35 B.
RECORD_VALUE_BYTES = {"text": 11.0, "jsonl": 26.0}
RECORD_CELL_BYTES = 9.0

#: JSON documents are held as text while parsed (bytes and str together for a moment: 2x
#: the file), then as text plus the numbers: a Keras history's lists become float arrays
#: as each is parsed (32 B per Python float of the one list being converted, 9 B per
#: element kept); a trainer_state.json's log_history is streamed into typed arrays
#: (16 B per value) and then columns. Measured (as above): a 509 MB trainer_state.json of
#: 28 M numbers, 1 B/byte + 20 B/number; a 124 MB Keras history of 13 M numbers,
#: 1 B/byte + 29 B/number; +10-20%.
JSON_TRANSIENT_PER_BYTE = 2.0
JSON_VALUE_BYTES = {"keras": 32.0, "hf": 24.0}
#: Bytes per array or object a JSON document holds as Python objects until its run is
#: built (a list of records: each a dict). Measured: a 31 MB list of 400 k four-number
#: records peaked 160 MB over the base, 322 B per record with its numbers (counted
#: apart at 32 B). A trainer_state.json's log_history entries are streamed, not held.
JSON_CONTAINER_BYTES = 300.0

#: TensorBoard: the file is read whole (1 B per byte), then 16 B per record for the frame
#: index and 16 B per scalar, then the columns. Measured (as above): a 500 MB event file
#: of 12.5 M records, 1 B/byte + 34 B/record; +30% (the frame walk's Python ints).
TB_RECORD_BYTES = 45.0

#: When the sample cannot be read the way its format says (the reader will then refuse
#: the file or read little of it): peak per file byte, the highest measured (Keras JSON,
#: 6.3x; whole-file pandas was 4.5x), so the estimate errs towards refusing.
FALLBACK_PER_BYTE = 7.0

_TABLE_FORMATS = {"csv", "lightning", "sb3", "tsv", "yolo", "monitor-csv"}
_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|NaN|-?Infinity")


@dataclass(frozen=True)
class Estimate:
    """Peak memory of reading and diagnosing a log, and what it was estimated from."""

    bytes: int
    file_bytes: int
    #: how it was worked out, for the message and the docs ("9.4 M cells")
    basis: str


def memory_limit_mb(option: float | None) -> float:
    """The limit in MiB: the option when given, else :data:`MAX_MEMORY_ENV`, else
    :data:`DEFAULT_MAX_MEMORY_MB`. ``0`` (or less) means no limit."""
    if option is not None:
        return option
    raw = os.environ.get(MAX_MEMORY_ENV, "").strip()
    if raw:
        try:
            return float(raw)
        except ValueError:
            raise InputError(MAX_MEMORY_ENV, f"expected a number of MiB, got {raw!r}") from None
    return float(DEFAULT_MAX_MEMORY_MB)


def check_budget(path: Path, fmt: str, limit_mb: float, how_to_raise: str) -> Estimate | None:
    """Refuse (one :class:`InputError` line naming the file, its size, the estimate, the
    limit and how to raise it) when the estimated peak is over ``limit_mb``; the estimate
    otherwise (None when there is no limit). ``how_to_raise`` may hold ``{mb}``: a limit
    that would let this file through (the estimate rounded up to 512 MB)."""
    if limit_mb <= 0:
        return None
    est = estimate_peak(path, fmt)
    if est.bytes > limit_mb * MB:
        enough = -(-est.bytes // (512 * MB)) * 512
        raise InputError(path, f"{_mb(est.file_bytes)} {fmt} log would need about {_mb(est.bytes)} of memory "
                               f"to read ({est.basis}), over the {limit_mb:,.0f} MB limit; "
                               + how_to_raise.format(mb=enough))
    return est


def _mb(n: float) -> str:
    return f"{n / MB:,.0f} MB"


def estimate_peak(path: Path, fmt: str) -> Estimate:
    """Estimated peak memory (bytes) of ``lrdoctor diagnose`` on ``path`` read as ``fmt``."""
    if path.is_dir():
        return _estimate_dir(path, fmt)
    size = path.stat().st_size
    try:
        with open(path, "rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
        extra, basis = _payload(sample, size, fmt)
    except Exception:  # a sample the format's parser rejects: the reader will say why
        extra, basis = FALLBACK_PER_BYTE * size, "file size, unrecognised content"
    return Estimate(int(base_bytes(fmt) + extra), size, basis)


def _estimate_dir(path: Path, fmt: str) -> Estimate:
    from lrdoctor.io import MONITOR_LOG
    from lrdoctor.io.tensorboard import event_files

    files = [path / MONITOR_LOG] if fmt == "monitor" else event_files(path)
    parts = [estimate_peak(f, "jsonl" if fmt == "monitor" else "tensorboard") for f in files if f.is_file()]
    inner = "jsonl" if fmt == "monitor" else "tensorboard"
    total = sum(p.bytes - base_bytes(inner) for p in parts)
    return Estimate(int(base_bytes(inner) + total), sum(p.file_bytes for p in parts), f"{len(parts)} file(s)")


def _scale(sample: bytes, size: int) -> float:
    return size / max(1, len(sample))


def _whole_lines(sample: bytes, size: int) -> bytes:
    """The sample cut after its last line end (a whole file is kept as it is)."""
    if len(sample) >= size:
        return sample
    cut = sample.rfind(b"\n")
    return sample[: cut + 1] if cut >= 0 else sample


def _payload(sample: bytes, size: int, fmt: str) -> tuple[float, str]:
    """Bytes over :data:`BASE_BYTES`, and the basis of the estimate."""
    if fmt in _TABLE_FORMATS:
        lines = _whole_lines(sample, size)
        sep = b"\t" if fmt == "tsv" else b","
        rows = lines.split(b"\n")
        header = next((r for r in rows if r.strip() and not r.startswith(b"#")), b"")
        cells = lines.count(b"\n") * (header.count(sep) + 1) * _scale(lines, size)
        per_cell = MONITOR_CELL_BYTES if fmt == "monitor-csv" else TABLE_CELL_BYTES
        return per_cell * cells, f"{cells / 1e6:,.1f} M cells"
    if fmt in ("text", "jsonl", "monitor"):
        lines = _whole_lines(sample, size)
        values, cells = _record_density(lines, fmt)
        k = _scale(lines, size)
        per_value = RECORD_VALUE_BYTES["text" if fmt == "text" else "jsonl"]
        return (per_value * values + RECORD_CELL_BYTES * cells) * k, f"{values * k / 1e6:,.1f} M values"
    if fmt in ("json", "hf", "keras"):
        k = _scale(sample, size)
        numbers = len(_NUMBER.findall(sample)) * k
        if fmt == "hf" or b'"log_history"' in sample:
            held = size + JSON_VALUE_BYTES["hf"] * numbers
        else:
            containers = (sample.count(b"{") + sample.count(b"[")) * k
            held = size + JSON_VALUE_BYTES["keras"] * numbers + JSON_CONTAINER_BYTES * containers
        return max(JSON_TRANSIENT_PER_BYTE * size, held), f"{numbers / 1e6:,.1f} M numbers"
    if fmt == "tensorboard":
        records = _tfrecords(sample) * _scale(sample, size)
        return size + TB_RECORD_BYTES * records, f"{records / 1e6:,.1f} M records"
    return FALLBACK_PER_BYTE * size, "file size"


def _record_density(lines: bytes, fmt: str) -> tuple[int, int]:
    """(values, cells) the record parser makes of the sample: every numeric field, and
    records x distinct fields (each field becomes a column as long as the run)."""
    from lrdoctor.io.guard import sniff_encoding
    from lrdoctor.io.records import RecordColumns

    text = lines.decode(sniff_encoding(lines[:4096]), errors="replace")
    acc = RecordColumns()
    if fmt == "text":
        from lrdoctor.io.textlog import parse_lines

        parse_lines(text.splitlines(), records=acc)
    else:
        for line in text.splitlines():
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(obj, dict):
                acc.append(obj)
    values = sum(len(v) for v in acc.vals_of.values())
    return values, acc.n * len(acc.vals_of)


def _tfrecords(sample: bytes) -> int:
    """Whole TFRecord frames in the sample (their 12-byte headers walked)."""
    n, pos = 0, 0
    while pos + 12 <= len(sample):
        (length,) = struct.unpack_from("<Q", sample, pos)
        end = pos + 12 + length + 4
        if end > len(sample):
            break
        n, pos = n + 1, end
    return max(n, 1)


def release_freed_memory() -> None:
    """Hand the memory a reader freed back to the system (glibc's ``malloc_trim``).

    Parsing frees many chunk-sized blocks (pandas' chunks, per-line strings); glibc keeps
    them in its heap, and the detectors' large arrays are mapped anew beside them, so the
    freed heap counted in the peak: 118 MB of a 304 MB CSV's 632 MB after reading
    (2026-12-01). A no-op where there is no glibc."""
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
