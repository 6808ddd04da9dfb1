"""Errors lrdoctor raises for unusable input.

The CLI turns :class:`InputError` into one line on stderr and exit code 2; nothing else
about the input should ever surface as a traceback.
"""

from __future__ import annotations

__all__ = ["InputError", "LogFormatError", "ConfigError"]


class InputError(Exception):
    """Input that lrdoctor cannot use. ``str(err)`` is the one-line reason for the user."""

    def __init__(self, source: object, problem: str, line: int | None = None) -> None:
        self.source = str(source)
        self.problem = problem
        self.line = line
        where = f"{self.source}:{line}" if line is not None else self.source
        super().__init__(f"{where}: {problem}")


class LogFormatError(InputError):
    """A training log that no reader can turn into a usable run."""


class ConfigError(InputError):
    """A run configuration file that cannot be read."""
