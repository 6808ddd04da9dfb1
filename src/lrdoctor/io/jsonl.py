"""JSON Lines logs (LLaMA-Factory ``trainer_log.jsonl``, many custom loggers).

A file that ends mid-record (a run killed while writing) is still read; the broken line
is reported as a warning. A broken line in the middle is skipped and reported the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

from lrdoctor.io._json import MAX_LITERAL_CHARS
from lrdoctor.errors import LogFormatError, printable
from lrdoctor.io.guard import bounded_lines, text_encoding
from lrdoctor.io.limits import MAX_JSONL_LINE_CHARS
from lrdoctor.io.records import RecordColumns, records_to_run
from lrdoctor.run import Run, RunMeta

__all__ = ["read_jsonl"]


def read_jsonl(path: Path) -> Run:
    meta = RunMeta(source=str(path), format="jsonl")
    records = RecordColumns()  # columns as records arrive: no list of dicts
    first: dict | None = None
    linenos: list[int] = []
    bad: list[int] = []
    long: list[int] = []
    with open(path, encoding=text_encoding(path), errors="replace") as fh:
        for lineno, line in bounded_lines(fh, MAX_JSONL_LINE_CHARS):
            if line is None:
                long.append(lineno)
                continue
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):  # JSONDecodeError, too deep, too many digits
                bad.append(lineno)
                continue
            if isinstance(obj, dict):
                records.append(obj)
                first = obj if first is None else first
                linenos.append(lineno)
            else:
                bad.append(lineno)
    name = printable(path.name)
    if not records:
        if long:
            raise LogFormatError(path, f"no readable record: {len(long)} line(s) are longer than "
                                       f"{MAX_JSONL_LINE_CHARS} characters", line=long[0])
        if bad:
            if path.stat().st_size <= MAX_LITERAL_CHARS:
                # a dict printed by Python on one line (``print(history.history)``): read as the JSON it stands for
                from lrdoctor.io import _read_json

                try:
                    return _read_json(path)
                except LogFormatError:
                    pass
            raise LogFormatError(path, "no line is a JSON object", line=bad[0])
        raise LogFormatError(path, "file is empty")
    if bad:
        meta.warnings.append(f"{name}:{bad[0]}: {len(bad)} line(s) are not JSON objects and were skipped")
    if long:
        meta.warnings.append(f"{name}:{long[0]}: {len(long)} line(s) longer than {MAX_JSONL_LINE_CHARS} "
                             "characters were skipped")
    if first is not None and "current_steps" in first:
        meta.format = "llamafactory-jsonl"
    return records_to_run(records, meta, check_duplicates=True, lines=linenos)
