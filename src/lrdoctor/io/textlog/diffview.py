"""A log read from a diff view: the lines of a file as a commit page shows them.

A Hugging Face model card's training table is often only on the page of the commit that changed
it (a card rewritten by a later run), and GitHub's and the Hub's diff views put a one-character
marker and a space in front of every line: "  " for a line both versions share, "- " for one
the commit removed, "+ " for one it added. A table of removed rows is the earlier run's whole
table; one of added rows is the later run's. Read with the markers, "- | 0.1753 | 0.0211 | 13 |"
is a markdown bullet and no table row.

:func:`undiff` takes the markers off when the first lines of the file prove it a diff view (every
line carries a marker, and rows of a table carry "-" or "+"), and keeps one version: the added
lines with the shared ones (the file after the commit), or, when the commit added none, the
removed lines with the shared ones (the file before it). A line holding only a number is the
view's line number, where the page's text was stored one cell per line. A line of the other version reads as a
blank line, so the line numbers of the reader's messages stay the file's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import chain, islice

__all__ = ["undiff", "DIFF_PROBE_LINES", "DIFF_MIN_ROWS"]

#: How many lines of the file's start decide whether it is a diff view: enough for a card's
#: header, its separator and the first rows of its table, few enough that a log is not held.
DIFF_PROBE_LINES = 40

#: How many marked table rows ("- |", "+ |") the probed lines must hold: three, the fewest points
#: of a curve the detectors judge, so that a log of a few "- " bullets is never taken for a diff.
DIFF_MIN_ROWS = 3

_MARKED = re.compile(r"[-+ ] ")
_ROW = re.compile(r"[-+] \|")
#: a line number of the view, on a line of its own where the page's text was stored line by line
_LINE_NUMBER = re.compile(r"\s*\d+\s*$")


def undiff(lines: Iterable[str | None]) -> Iterator[str | None]:
    """``lines`` as they read without a diff view's markers (see the module's docstring), or
    unchanged when their first :data:`DIFF_PROBE_LINES` do not prove a diff view."""
    it = iter(lines)
    head = list(islice(it, DIFF_PROBE_LINES))
    text = [ln for ln in head if ln is not None and ln.strip()]
    rows = [ln[0] for ln in text if _ROW.match(ln)]
    if len(rows) < DIFF_MIN_ROWS or not all(_MARKED.match(ln) or _LINE_NUMBER.match(ln) for ln in text):
        yield from chain(head, it)
        return
    drop = "-" if "+" in rows else "+"
    for ln in chain(head, it):
        if ln is not None and _LINE_NUMBER.match(ln):
            yield ""  # the view's line number
        elif ln is None or not _MARKED.match(ln):
            yield ln  # (past the probe a line without a marker is read as it stands)
        elif ln[0] == drop:
            yield ""
        else:
            yield ln[2:]
