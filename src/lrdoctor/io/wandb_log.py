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

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from lrdoctor.errors import LogFormatError

__all__ = ["BLOCK_BYTES", "MAX_RECORDS", "Scan", "scan_records"]

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


@dataclass
class Scan:
    """The records of a transaction log and where (if anywhere) reading stopped early."""

    records: list[bytes] = field(default_factory=list)
    #: why the scan stopped before the end of the file (None: it read to the end)
    stopped: str | None = None


def scan_records(path: Path) -> Scan:
    """Every whole record of the ``.wandb`` file at ``path``."""
    data = path.read_bytes()
    if len(data) < _FILE_HEADER.size:
        raise LogFormatError(path, "W&B transaction log is shorter than its 7-byte header")
    ident, magic, _version = _FILE_HEADER.unpack_from(data)
    if ident != _IDENT or magic != _MAGIC:
        raise LogFormatError(path, "not a W&B transaction log (no ':W&B' header)")
    out = Scan()
    pos, pending = _FILE_HEADER.size, bytearray()
    in_record = False
    while pos < len(data):
        left = BLOCK_BYTES - pos % BLOCK_BYTES
        if left < _HEADER.size:
            pos += left
            continue
        if pos + _HEADER.size > len(data):
            out.stopped = f"the file ends mid-record at byte {pos:,} (a run killed while writing?)"
            break
        crc, length, kind = _HEADER.unpack_from(data, pos)
        if crc == 0 and length == 0 and kind == 0:  # zero padding to the end of the block
            pos += left
            continue
        chunk = data[pos + _HEADER.size: pos + _HEADER.size + length]
        if len(chunk) < length or kind not in _TYPE_CRC:
            out.stopped = f"the file ends mid-record at byte {pos:,} (a run killed while writing?)"
            break
        if zlib.crc32(chunk, _TYPE_CRC[kind]) & 0xFFFFFFFF != crc:
            out.stopped = f"the record at byte {pos:,} is corrupt (crc mismatch)"
            break
        pos += _HEADER.size + length
        if kind == _FULL:
            out.records.append(bytes(chunk))
            in_record = False
        elif kind == _FIRST:
            pending, in_record = bytearray(chunk), True
        elif in_record:
            pending += chunk
            if kind == _LAST:
                out.records.append(bytes(pending))
                in_record = False
        if len(out.records) >= MAX_RECORDS:
            out.stopped = f"more than {MAX_RECORDS:,} records; the rest were not read"
            break
    return out
