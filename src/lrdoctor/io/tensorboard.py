"""TensorBoard event files (or a directory of them), read with tensorboard's own reader.

Scalars written as ``simple_value`` (torch's SummaryWriter, HF, SB3, Ultralytics) and as
rank-0 tensors (TF2 ``tf.summary.scalar``) are both read. Several event files in one
directory (a resumed run) are merged; later values win at a shared step. A text summary
holding a ``|param|value|`` table (CleanRL's hyperparameters) becomes the run's config.
"""

from __future__ import annotations

import ast
import logging
import struct
from pathlib import Path
from typing import Sequence

import numpy as np

from lrdoctor.errors import LogFormatError, printable
from lrdoctor.io.tfrecord import scan_events
from lrdoctor.run import Run, RunMeta, build_run

__all__ = ["read_tensorboard", "event_files"]

EVENT_MARK = "tfevents"


def event_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob(f"*{EVENT_MARK}*") if p.is_file())


def _table_config(text: str) -> dict[str, object]:
    """``|param|value|`` markdown rows (CleanRL's ``writer.add_text("hyperparameters", ...)``)
    -> a config dict; values read with ``ast.literal_eval`` where they are literals."""
    out: dict[str, object] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0] or set(cells[0]) <= set("-: ") or cells[0] == "param":
            continue
        try:
            out[cells[0]] = ast.literal_eval(cells[1])
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            out[cells[0]] = cells[1]
    return out


class _DataLoss(logging.Handler):
    """Catches the loader's "Truncated record" message: tensorboard stops reading a file at
    a truncated or corrupt record (a CRC mismatch) and says so only at DEBUG level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if "Truncated record" in msg or "DataLoss" in msg:
            self.messages.append(msg)


def record_framing(file: Path) -> tuple[int, int | None]:
    """``(records, torn_at)``: how many whole TFRecord frames the file holds, walking only
    their 12-byte headers (8-byte length + CRC), and the byte offset where the file ends
    mid-record (None when it ends on a record boundary)."""
    size = file.stat().st_size
    n, pos = 0, 0
    with open(file, "rb") as fh:
        while pos < size:
            head = fh.read(12)
            if len(head) < 12:
                return n, pos
            (length,) = struct.unpack("<Q", head[:8])
            end = pos + 12 + length + 4
            if end > size:
                return n, pos
            n, pos = n + 1, end
            fh.seek(pos)
    return n, None


def _load(file: Path, config: dict[str, object], warnings: list[str]) -> dict[str, tuple[Sequence[float], Sequence[float]]]:
    """The scalars of one event file, with a warning when reading stopped early.

    The fast reader (:mod:`lrdoctor.io.tfrecord`, 5x faster, same results on real files)
    is tried first; tensorboard's ``EventAccumulator`` reads what it cannot."""
    try:
        scan = scan_events(file)
    except Exception:  # an odd file: tensorboard's own reader is the reference
        return _load_accumulator(file, config, warnings)
    for text in scan.texts:
        config.update(_table_config(text))
    if scan.torn_at is not None or scan.corrupt_record is not None:
        last = max((max(st) for st, _ in scan.scalars.values() if st), default=None)
        upto = f"after step {last:g}" if last is not None else "before any scalar"
        why = (f"record {scan.corrupt_record + 1:,} of {scan.records:,} is corrupt (CRC mismatch)"
               if scan.corrupt_record is not None else
               f"the file ends mid-record at byte {scan.torn_at:,} of {file.stat().st_size:,} (a run killed while writing?)")
        warnings.append(f"{printable(file.name)}: reading stopped {upto}: {why}; the scalars after it are missing")
    return scan.scalars


def _load_accumulator(file: Path, config: dict[str, object], warnings: list[str]) -> dict[str, tuple[list[float], list[float]]]:
    # Imported here: tensorboard's import costs ~0.5 s and most runs are not event files.
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.util import tensor_util

    tb_log = logging.getLogger("tensorboard")
    catcher = _DataLoss()
    old_level, old_propagate = tb_log.level, tb_log.propagate
    tb_log.setLevel(logging.DEBUG)
    tb_log.propagate = False  # the DEBUG chatter goes to our catcher only
    tb_log.addHandler(catcher)
    acc = ea.EventAccumulator(str(file), size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
    try:
        acc.Reload()
    except Exception as err:  # tensorboard raises several types for corrupt records
        raise LogFormatError(file, f"corrupt TensorBoard event file ({type(err).__name__}: {err})") from None
    finally:
        tb_log.removeHandler(catcher)
        tb_log.setLevel(max(old_level, logging.ERROR) if old_level else logging.ERROR)
        tb_log.propagate = old_propagate
    out: dict[str, tuple[list[float], list[float]]] = {}
    tags = acc.Tags()
    for tag in tags.get(ea.SCALARS, []):
        evs = acc.Scalars(tag)
        out[tag] = ([e.step for e in evs], [e.value for e in evs])
    for tag in tags.get(ea.TENSORS, []):
        steps, vals = [], []
        for e in acc.Tensors(tag):
            arr = tensor_util.make_ndarray(e.tensor_proto)
            if arr.dtype == object and arr.size == 1:  # a text summary: maybe a hyperparameter table
                raw = arr.reshape(()).item()
                config.update(_table_config(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)))
                continue
            if arr.size == 1 and np.issubdtype(arr.dtype, np.number):
                steps.append(e.step)
                vals.append(float(arr.reshape(())))
        if steps:
            out.setdefault(tag, (steps, vals))
    frames, torn_at = record_framing(file)
    if catcher.messages or torn_at is not None:
        last = max((max(s) for s, _ in out.values() if s), default=None)
        upto = f"after step {last:g}" if last is not None else "before any scalar"
        why = (f"the file ends mid-record at byte {torn_at:,} of {file.stat().st_size:,} (a run killed while writing?)"
               if torn_at is not None else f"a record is corrupt (CRC mismatch) among its {frames:,} records")
        warnings.append(f"{printable(file.name)}: reading stopped {upto}: {why}; the scalars after it are missing")
    return out


def read_tensorboard(path: Path) -> Run:
    files = event_files(path)
    if not files:
        raise LogFormatError(path, "no TensorBoard event files (*tfevents*) found")
    meta = RunMeta(source=str(path), format="tensorboard", step_unit="step")
    # per tag, the (steps, values) of each file in order: joined once below, never by
    # list concatenation (a copy of every point per file)
    tags: dict[str, list[tuple[Sequence[float], Sequence[float]]]] = {}
    config: dict[str, object] = {}
    # Event files in several subfolders of one run (Keras' TensorBoard callback writes train/
    # and validation/, both with "epoch_loss"): each tag is named by its subfolder, so the
    # validation curve is not merged into the training one
    dirs = {f.parent for f in files}
    split = path.is_dir() and len(dirs) > 1
    for f in files:
        prefix = f"{f.parent.relative_to(path).as_posix()}/" if split and f.parent != path else ""
        for tag, (s, v) in _load(f, config, meta.warnings).items():
            tags.setdefault(printable(prefix + tag), []).append((s, v))
    if not tags:
        if path.is_file() and path.stat().st_size > 0:
            raise LogFormatError(path, "no scalar summaries in this event file (corrupt or not a scalar log)")
        raise LogFormatError(path, "TensorBoard log holds no scalars")
    if any(t.startswith(("rollout/", "time/")) for t in tags):
        meta.format, meta.step_unit = "tensorboard-sb3", "timestep"
    # One row per (tag, point): build_run merges rows by step.
    names = list(tags)
    lengths = [sum(len(s) for s, _ in tags[t]) for t in names]
    total = sum(lengths)
    steps = np.empty(total)
    cols = {t: np.full(total, np.nan) for t in names}
    masks = {t: np.zeros(total, dtype=bool) for t in names}
    pos = 0
    for t in names:
        for s, v in tags.pop(t):
            n = len(s)
            steps[pos : pos + n] = s
            cols[t][pos : pos + n] = v
            masks[t][pos : pos + n] = True
            pos += n
    return build_run(steps, cols, masks, meta=meta, config=config, rows_in_order=False)
