"""What every text-log line rule shares: the number pattern (thousands separators, nan/inf,
PaddleOCR's x padding), reading a number while keeping its printed decimals, the step-like
key names, and the :class:`LineRule` type."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from lrdoctor.io._printed import NUM, printed_number as _num


_NUM_RE = re.compile(NUM, re.IGNORECASE)

#: Every digit as "9": two lines with the same translation differ only in the values of
#: their digits, never in where numbers start and end or which pattern matches them (the line
#: shape caches of the reader and of the header reader key on it).
DIGITS_AS_9 = bytes.maketrans(b"012345678", b"999999999")  # (on the line's UTF-8 bytes: a C table, 14x a str's)

#: Keys whose value carries a time unit: timing fields, kept but never judged as metrics. A
#: throughput's unit after a blank ("Speed: 6.44 samples/sec", MXNet's Speedometer) belongs to its
#: number too: read as the start of the next key it made "samples/sec Train-CrossEntropy" one name.
_UNIT = r"(?P<unit>ms|s|sec|%|it/s|\s?(?:samples?|images?|imgs?|tokens?|toks?|examples?|sentences?|words?|seqs?|sequences?|frames?)/s(?:ec)?)?"


@dataclass(frozen=True)
class LineRule:
    """One line shape: a name (for error messages) and a parser returning a record or None."""

    name: str
    parse: Callable[[str, dict], dict | None]


_STEPLIKE = re.compile(r"^(step|iter|iteration|it|global_step|epoch|update)$", re.I)

_NUM_FULL = re.compile(rf"^{NUM}$", re.I)
