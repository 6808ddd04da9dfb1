"""The bounds every reader keeps, so that no input can hang lrdoctor or exhaust memory.

Each bound is far above what real logs need (the sources are given) and far below what
would cost more than a few seconds or a few hundred MB. Input past a bound is either
skipped with a warning naming the line (one overlong line in a text log) or refused in
one line naming the file and the bound (a 200 MB CSV header). docs/reliability.md lists
them with the tests that hold them.
"""

from __future__ import annotations

from lrdoctor.errors import LogFormatError


class BoundExceeded(LogFormatError):
    """An input refused because it is past one of these bounds. It is final: the reader
    that refused it does not hand the file to another reader (a JSON document past the
    container bound is not then parsed as a text log, which has no such bound)."""


__all__ = [
    "BoundExceeded",
    "MAX_LINE_CHARS",
    "MAX_JSONL_LINE_CHARS",
    "MAX_HEADER_CHARS",
    "MAX_COLUMNS",
    "MAX_JSON_CONTAINERS",
    "MAX_CONFIG_BYTES",
    "MAX_YAML_ALIASES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
]

#: Longest text-log line the pattern rules look at (characters). The longest line in the
#: 80-log real corpus (shared/reallogs + bench/detection_logs) is 873 characters; 16 KiB is
#: ~19x that. Longer lines (a progress bar without newlines, a pasted blob) are skipped with
#: one warning naming the first such line; every pattern is linear-time, so the bound keeps
#: the cost per line small, not merely finite.
MAX_LINE_CHARS = 16_384

#: Longest JSON Lines record read (characters): one record with hundreds of metrics is a few
#: KB; 1 MiB leaves room for records carrying long text fields. Longer lines are skipped
#: with a warning naming the line.
MAX_JSONL_LINE_CHARS = 1 << 20

#: Longest header line of a CSV/TSV (characters). Real headers: at most 480 characters
#: (YOLOv8 ``results.csv``); 64 KiB is > 100x that. A longer first line is no training log
#: header (a 200 MB one-line file) and is refused before pandas builds millions of columns.
MAX_HEADER_CHARS = 1 << 16

#: Most columns (metrics) a table may have. Real logs: at most ~60 (SB3 progress.csv with
#: every logger key); 4096 leaves room for per-layer gradient norms of deep models.
MAX_COLUMNS = 4096

#: Most arrays + objects in one JSON document. Each costs ~70 bytes in Python, so 10M is
#: ~0.7 GB at worst (``[[],[],...]``); a 1M-step trainer_state.json logging every step
#: holds ~1M objects.
MAX_JSON_CONTAINERS = 10_000_000

#: Largest run config file (bytes). Real configs are a few KB (HF TrainingArguments dump:
#: ~6 KB); 4 MiB is 700x that and parses in well under a second.
MAX_CONFIG_BYTES = 4 << 20

#: The YAML bounds live in the leaf module :mod:`lrdoctor.safe_yaml` (schedule specs use
#: them too, without importing the readers).
from lrdoctor.safe_yaml import MAX_YAML_ALIASES, MAX_YAML_DEPTH, MAX_YAML_NODES  # noqa: E402
