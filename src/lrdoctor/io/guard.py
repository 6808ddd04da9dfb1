"""Checks made before and while a reader touches a file: what kind of file it is, which text
encoding it uses, how long its lines are, and how its name may be shown.

These are the edges where hostile or accidental input turns into hangs (a named pipe that
never ends, a 200 MB line fed to a regular expression) or into misleading messages (a
UTF-16 file called "binary", escape codes in a file name repainting the terminal).
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path
from typing import IO, Iterator

from lrdoctor.errors import LogFormatError, printable

__all__ = ["require_regular", "text_encoding", "bounded_lines", "whole_lines", "printable", "SPECIAL_FILE_KINDS"]

#: What a non-regular file is called in the refusal message.
SPECIAL_FILE_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}

#: How many bytes are sniffed for a byte-order mark or UTF-16 zero bytes.
_SNIFF_BYTES = 4096


def require_regular(path: Path, allow_special: bool = False) -> None:
    """Refuse anything but a regular file or a directory (unless ``allow_special``).

    Reading a named pipe or ``/dev/zero`` blocks forever or never ends; lrdoctor reads
    finished logs, so it says so instead of waiting. ``stat`` (not ``open``) is used: opening
    a FIFO for reading itself blocks until a writer appears.
    """
    try:
        st = os.stat(path)
    except OSError as err:
        raise LogFormatError(path, f"cannot read ({err.strerror or err})") from None
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) or allow_special:
        return
    kind = SPECIAL_FILE_KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
    raise LogFormatError(path, f"is {kind}, not a log file; lrdoctor reads regular files only "
                               "(pipe a stream in with '-' to read standard input)")


def sniff_encoding(head: bytes) -> str:
    """The codec of a text file from its first bytes: a byte-order mark, or the zero bytes
    that ASCII text has in every other position when stored as UTF-16 (Windows PowerShell's
    ``>`` writes UTF-16 LE). ``'utf-8'`` when neither is seen."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if head.startswith(bom):
            return codec
    sample = head[: len(head) // 2 * 2]
    if len(sample) >= 8:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
            return "utf-16-le"
        if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
            return "utf-16-be"
    return "utf-8"


def text_encoding(path: Path) -> str:
    """:func:`sniff_encoding` of the file's first bytes."""
    with open(path, "rb") as fh:
        return sniff_encoding(fh.read(_SNIFF_BYTES))


def bounded_lines(fh: IO[str], max_chars: int) -> Iterator[tuple[int, str | None]]:
    """``(line_number, line)`` for each line of a text stream, never holding more than
    ``max_chars`` characters of one line: a longer line is consumed in chunks and yielded
    as ``None``, so a 200 MB line costs 200 MB of reading, not 200 MB of memory or a
    regular-expression scan."""
    lineno = 0
    while True:
        line = fh.readline(max_chars + 1)
        if not line:
            return
        lineno += 1
        if line.endswith("\n") or len(line) <= max_chars:
            yield lineno, line
            continue
        while True:  # the rest of the overlong line
            chunk = fh.readline(1 << 20)
            if not chunk or chunk.endswith("\n"):
                break
        yield lineno, None


def whole_lines(path: Path, max_chars: int) -> Iterator[tuple[int, str]]:
    """``(line_number, line)`` of a text file in its sniffed encoding (:func:`text_encoding`), for a
    reader that needs every line whole: a line longer than ``max_chars`` stops the read with a
    :class:`LogFormatError` naming it, where :func:`bounded_lines` would yield it as ``None``."""
    with open(path, encoding=text_encoding(path), errors="replace") as fh:
        for lineno, line in bounded_lines(fh, max_chars):
            if line is None:
                raise LogFormatError(path, f"line longer than {max_chars} characters", line=lineno)
            yield lineno, line
