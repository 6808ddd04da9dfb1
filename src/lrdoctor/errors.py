"""Errors lrdoctor raises for unusable input.

The CLI turns :class:`InputError` into one line on stderr and exit code 2; nothing else
about the input should ever surface as a traceback. The line shows the file name through
:func:`printable`, so a name holding terminal escape codes or a newline can neither repaint
the terminal nor break the one-line promise.
"""

from __future__ import annotations

__all__ = ["InputError", "LogFormatError", "ConfigError", "printable"]


def printable(text: object) -> str:
    """``text`` with every non-printable character (ESC, newline, BEL, bidi overrides ...)
    shown as a Python escape (``\\x1b``, ``\\n``, ``\\u202e``), so it is safe to print."""
    s = str(text)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in s)


class InputError(Exception):
    """Input that lrdoctor cannot use. ``str(err)`` is the one-line reason for the user."""

    def __init__(self, source: object, problem: str, line: int | None = None) -> None:
        self.source = str(source)
        self.problem = problem
        self.line = line
        where = printable(self.source) + (f":{line}" if line is not None else "")
        super().__init__(f"{where}: {printable(problem)}")


class LogFormatError(InputError):
    """A training log that no reader can turn into a usable run."""


class ConfigError(InputError):
    """A run configuration file that cannot be read."""
