"""JSON Lines logs (LLaMA-Factory ``trainer_log.jsonl``, many custom loggers).

A file that ends mid-record (a run killed while writing) is still read; the broken line
is reported as a warning. A broken line in the middle is skipped and reported the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

from lrdoctor.errors import LogFormatError
from lrdoctor.io.records import records_to_run
from lrdoctor.run import Run, RunMeta

__all__ = ["read_jsonl"]


def read_jsonl(path: Path) -> Run:
    meta = RunMeta(source=str(path), format="jsonl")
    records: list[dict] = []
    bad: list[int] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                bad.append(lineno)
                continue
            if isinstance(obj, dict):
                records.append(obj)
            else:
                bad.append(lineno)
    if not records:
        if bad:
            raise LogFormatError(path, "no line is a JSON object", line=bad[0])
        raise LogFormatError(path, "file is empty")
    if bad:
        meta.warnings.append(f"{path.name}:{bad[0]}: {len(bad)} line(s) are not JSON objects and were skipped")
    if "current_steps" in records[0]:
        meta.format = "llamafactory-jsonl"
    return records_to_run(records, meta)
