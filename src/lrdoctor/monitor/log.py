"""Where the Monitor writes: an append-only JSON Lines log that ``lrdoctor diagnose`` reads,
its config beside it, optionally mirrored to a TensorBoard SummaryWriter.

The contract (docs/reliability of issue 10): **the loop always survives**. Nothing here raises.

* A crash (``kill -9``) loses at most the rows not yet flushed (``flush_every``); a file that
  ends mid-line is still read (the JSONL reader keeps the complete lines and warns).
* The config is written atomically (a temp file, then ``os.replace``): it is either the old
  file, the new one, or absent, never torn.
* A write that fails (disk full, a directory that is read-only, cannot be created or was
  deleted) keeps the unwritten bytes in memory, warns once, and is retried at the next flush:
  the directory is recreated, and a log file that disappeared is rewritten from the Monitor's
  history. Rows written before a failure are never written twice.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["CONFIG_NAME", "EVENTS_NAME", "LOG_NAME", "JsonlLog", "write_atomic"]

log = logging.getLogger("lrdoctor")

#: File names inside ``log_to``; ``lrdoctor diagnose DIR`` looks for them.
LOG_NAME = "lrdoctor.jsonl"
CONFIG_NAME = "lrdoctor-config.json"
#: Interventions (the Guard's rewinds), one JSON object a line, append-only: the main log is
#: cut back to the restored step at a rewind, so the record of the rewind itself lives here.
EVENTS_NAME = "lrdoctor-events.jsonl"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file in the same directory and ``os.replace``
    (atomic on POSIX and Windows): a reader, or a process killed mid-write, never sees a torn file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def _encode(rows: Iterable[Mapping[str, Any]]) -> bytes:
    # NaN/Infinity as bare tokens, as HF writes them (the reader accepts them)
    return "".join(json.dumps(dict(r)) + "\n" for r in rows).encode("utf-8")


class JsonlLog:
    """``write(rows)`` appends; ``close()`` flushes what it can. See the module docstring.

    ``backfill`` returns every row the Monitor still holds: used when the log file vanished
    (its directory was deleted mid-run) to rewrite it in full.
    """

    def __init__(self, directory: str | Path, config: Mapping[str, Any] | None = None, tensorboard: Any = None,
                 backfill: Callable[[], Iterable[Mapping[str, Any]]] | None = None) -> None:
        self.dir = Path(directory)
        self.path = self.dir / LOG_NAME
        self.config = dict(config or {})
        self.tb = tensorboard
        self.backfill = backfill
        self.healthy = True
        self._fd: int | None = None
        self._ino: tuple[int, int] | None = None
        self._backlog = bytearray()
        self._written = 0  # bytes in the current file
        self._warned: set[str] = set()
        self._closed = False
        self._rewrite = False  # the backlog is the whole file, to be written atomically
        self._config_due = True  # this run's config replaces an older one in the same directory
        self._drain()  # creates the directory and the file now, when it can

    # ---- public ------------------------------------------------------------------------------
    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows or self._closed:
            return
        try:
            self._backlog += _encode(rows)
        except Exception as err:  # a value json cannot write: should not happen (rows are floats)
            self._warn("encode", f"a row could not be encoded ({type(err).__name__}: {err})")
            return
        self._drain()
        if self.tb is not None:
            try:
                for r in rows:
                    step = int(r["step"])
                    for k, v in r.items():
                        if k != "step" and isinstance(v, (int, float)):
                            self.tb.add_scalar(k, v, step)
            except Exception as err:
                self._warn("tensorboard", f"the TensorBoard mirror failed ({type(err).__name__}: {err}); it is off")
                self.tb = None

    def event(self, row: Mapping[str, Any]) -> None:
        """Append one line to :data:`EVENTS_NAME` (rare: opened and closed each time). Never raises."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            with open(self.dir / EVENTS_NAME, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(dict(row), default=str) + "\n")
        except Exception as err:
            self._warn("event", f"cannot write {self.dir / EVENTS_NAME} ({type(err).__name__}: {err})")

    def rewrite(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Replace the whole file with ``rows``, atomically (the Guard went back to a snapshot:
        the log must hold the rows the Monitor kept, as a reader of it would otherwise merge
        the abandoned steps in). Rare: at most once per rewind."""
        if self._closed:
            return
        try:
            self._backlog = bytearray(_encode(rows))
        except Exception as err:
            self._warn("encode", f"a row could not be encoded ({type(err).__name__}: {err})")
            return
        self._rewrite = True
        self._drain()

    @property
    def unwritten_bytes(self) -> int:
        """Bytes kept in memory because the last write failed."""
        return len(self._backlog)

    def close(self) -> None:
        """Write what can be written, close the file. Never raises; safe to call twice."""
        if self._closed:
            return
        self._drain()
        self._closed = True
        self._close_fd()
        if self._backlog:
            self._warn("close", f"{len(self._backlog)} bytes of log could not be written to {self.path}; "
                                "the rows stay in Monitor.run()")
        if self.tb is not None:
            try:
                self.tb.flush()
            except Exception:
                pass

    # ---- internals ---------------------------------------------------------------------------
    def _warn(self, key: str, msg: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("lrdoctor Monitor: %s; training continues", msg)

    def _close_fd(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def _file_lost(self) -> bool:
        """The open file was deleted or replaced (its directory removed mid-run)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return True
        return (st.st_dev, st.st_ino) != self._ino

    def _open(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists()
        if self.config and (self._config_due or fresh or not (self.dir / CONFIG_NAME).exists()):
            # before the log file: whoever finds the log finds its config
            self._config_due = False
            try:
                write_atomic(self.dir / CONFIG_NAME, json.dumps(self.config, default=str, indent=1))
            except Exception as err:  # a config that cannot be written never blocks the log
                self._warn("config", f"cannot write {self.dir / CONFIG_NAME} ({type(err).__name__}: {err})")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        st = os.fstat(fd)
        self._fd, self._ino = fd, (st.st_dev, st.st_ino)
        if fresh and self._written and self.backfill is not None and not self._rewrite:
            # the file we were appending to is gone: rewrite everything the Monitor still holds
            self._backlog = bytearray(_encode(self.backfill()))
            self._warn("lost", f"{self.path} disappeared mid-run; recreated it from the Monitor's history")
        self._written = 0 if fresh else st.st_size

    def _drain(self) -> None:
        try:
            if self._fd is not None and self._file_lost():
                self._close_fd()
            if self._fd is None:
                self._open()
            if self._rewrite:
                self._close_fd()
                write_atomic(self.path, self._backlog.decode("utf-8"))
                self._written, self._backlog, self._rewrite = len(self._backlog), bytearray(), False
                self._open()
            while self._backlog:
                n = os.write(self._fd, self._backlog[: 1 << 20])  # type: ignore[arg-type]
                del self._backlog[:n]
                self._written += n
            if not self.healthy:
                self.healthy = True
                log.warning("lrdoctor Monitor: writing %s again", self.path)
        except Exception as err:
            self._close_fd()  # reopened at the next flush: a recreated directory is picked up
            if self.healthy:
                self.healthy = False
                log.warning("lrdoctor Monitor: cannot write the log %s (%s: %s); keeping the rows in memory and "
                            "retrying at each flush; training continues", self.path, type(err).__name__, err)
