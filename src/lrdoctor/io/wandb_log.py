"""The framing of a W&B transaction log (``run-<id>.wandb``): records out, no wandb import.

The file is LevelDB's log format with W&B's own 7-byte file header (``:W&B``, magic 0xBEE1,
version 0): 32 KiB blocks of chunks, each ``crc32 (4) | length (2) | type (1) | data``, where
type 1 is a whole record and 2/3/4 the first/middle/last piece of one split across blocks;
a block tail shorter than a chunk header is zero padding. The crc covers the type byte and
the data. Each record is a serialized ``wandb.proto.wandb_internal_pb2.Record``; parsing
those is left to the caller, which imports wandb's protobuf classes.

wandb 0.31 writes and reads this file in its Go core (``wandb-core``) and no longer ships
the Python reader (``wandb.sdk.internal.datastore``) that earlier versions had; this module
follows that reader. A file cut mid-record (a run killed while writing) or a chunk whose
crc does not match stops the scan: the records before it are kept and :class:`Scan` says
where it stopped.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lrdoctor.errors import LogFormatError

__all__ = ["BLOCK_BYTES", "MAX_LOG_BYTES", "MAX_RECORDS", "Scan", "iter_records"]

#: LevelDB's block size, which W&B keeps (``LEVELDBLOG_BLOCK_LEN``).
BLOCK_BYTES = 32768
_HEADER = struct.Struct("<IHB")  # crc32, length, type
_FILE_HEADER = struct.Struct("<4sHB")  # ":W&B", magic, version
_IDENT, _MAGIC = b":W&B", 0xBEE1
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4
_TYPE_CRC = {t: zlib.crc32(bytes([t])) for t in (_FULL, _FIRST, _MIDDLE, _LAST)}

#: Most records scanned from one file. A logged step is one history record plus a summary
#: record or two; 20M covers a run logging every one of several million steps. Past it the
#: scan stops with a warning rather than growing without bound.
MAX_RECORDS = 20_000_000

#: Largest transaction log read (bytes). A logged step of a few metrics costs ~400 bytes
#: (history, summary and telemetry records: 7.9 MiB for 20,000 steps in bench/tracker_reading.py),
#: so 2 GiB is ~5M steps, 50x a 100k-step run logged every step. Larger logs are refused in one line.
MAX_LOG_BYTES = 2 << 30


@dataclass
class Scan:
    """Where (if anywhere) reading a transaction log stopped early, and how many records it gave."""

    records: int = 0
    #: why the scan stopped before the end of the file (None: it read to the end)
    stopped: str | None = None


def iter_records(path: Path, scan: Scan) -> Iterator[bytes]:
    """Every whole record of the ``.wandb`` file at ``path``, one at a time; ``scan`` is
    filled in as it goes. The file is memory-mapped, so only the record being parsed is
    held; a file over :data:`MAX_LOG_BYTES` is refused in one line."""
    size = path.stat().st_size
    if size > MAX_LOG_BYTES:
        raise LogFormatError(path, f"W&B transaction log is {size / 2**20:,.0f} MiB; logs over "
                                   f"{MAX_LOG_BYTES >> 20:,} MiB are refused")
    if size < _FILE_HEADER.size:
        raise LogFormatError(path, "W&B transaction log is shorter than its 7-byte header")
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        ident, magic, _version = _FILE_HEADER.unpack_from(data)
        if ident != _IDENT or magic != _MAGIC:
            raise LogFormatError(path, "not a W&B transaction log (no ':W&B' header)")
        yield from _records(data, size, scan)


def _records(data: mmap.mmap, size: int, scan: Scan) -> Iterator[bytes]:
    pos, pending = _FILE_HEADER.size, bytearray()
    in_record = False
    while pos < size:
        left = BLOCK_BYTES - pos % BLOCK_BYTES
        if left < _HEADER.size:
            pos += left
            continue
        if pos + _HEADER.size > size:
            scan.stopped = f"the file ends mid-record at byte {pos:,} (a run killed while writing?)"
            return
        crc, length, kind = _HEADER.unpack_from(data, pos)
        if crc == 0 and length == 0 and kind == 0:  # zero padding to the end of the block
            pos += left
            continue
        if kind not in _TYPE_CRC:
            scan.stopped = f"unknown chunk type {kind} at byte {pos:,} (a corrupt file?)"
            return
        chunk = data[pos + _HEADER.size: pos + _HEADER.size + length]
        if len(chunk) < length:
            scan.stopped = f"the file ends mid-record at byte {pos:,} (a run killed while writing?)"
            return
        if zlib.crc32(chunk, _TYPE_CRC[kind]) & 0xFFFFFFFF != crc:
            scan.stopped = f"the record at byte {pos:,} is corrupt (crc mismatch)"
            return
        pos += _HEADER.size + length
        record = None
        if kind == _FULL:
            record, in_record = chunk, False
        elif kind == _FIRST:
            pending, in_record = bytearray(chunk), True
        elif in_record:
            pending += chunk
            if kind == _LAST:
                record, in_record = bytes(pending), False
        if record is not None:
            if scan.records >= MAX_RECORDS:
                scan.stopped = f"more than {MAX_RECORDS:,} records; the rest were not read"
                return
            scan.records += 1
            yield record
