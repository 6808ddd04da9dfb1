"""The sweep's progress bar (rich): cells done / total, elapsed, ETA, failures so far."""

from __future__ import annotations

from typing import Any

__all__ = ["SweepProgress"]


class SweepProgress:
    """A context manager; ``advance(failed=...)`` once per finished cell. Written to stderr,
    so ``lrdoctor sweep ... > table.txt`` keeps the table clean."""

    def __init__(self, total: int, done: int = 0, enabled: bool = True) -> None:
        self.total, self.done, self.enabled, self.failures = total, done, enabled, 0
        self._progress: Any = None

    def __enter__(self) -> "SweepProgress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self._progress = Progress(
                TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("cells"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                TextColumn("{task.fields[failures]} failed"),
                console=Console(stderr=True), transient=False)
            self._progress.start()
            self._task = self._progress.add_task("sweep", total=self.total, completed=self.done, failures=0)
        return self

    def advance(self, failed: bool = False) -> None:
        self.done += 1
        self.failures += int(failed)
        if self._progress is not None:
            self._progress.update(self._task, advance=1, failures=self.failures)

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
