"""Readers: training logs of many tools -> :class:`~lrdoctor.run.Run`.

``read(path)`` sniffs the format from the file name and its first bytes; pass
``format=`` to override. Formats, most common in public repositories first:

========================  ==================================================
format                    files
========================  ==================================================
``yolo``                  Ultralytics ``results.csv`` (v5, v8+)
``text``                  ``training.log``, ``train_log.txt``, captured stdout
``lightning``/``csv``     Lightning CSVLogger ``metrics.csv``, generic CSV
``sb3``                   stable-baselines3 ``progress.csv``
``hf``                    HF ``trainer_state.json``
``jsonl``                 LLaMA-Factory ``trainer_log.jsonl``, JSON Lines
``keras``                 Keras ``history.json``
``matconvnet-info``       MatConvNet's ``info.train`` / ``info.val`` structs as MATLAB displays them, pasted
``printed-history``       a dict of per-epoch lists printed by Python over lines (``print(history.history)``), pasted
``json``                  CatBoost ``catboost_training.json`` (and the JSON kinds above)
``tsv``                   tab-separated tables
``facenet-lfw``           facenet's headerless ``lfw_result.txt`` (step, LFW accuracy, validation rate)
``tensorboard``           event files or a log directory
``mlflow``                an MLflow ``mlruns/`` run (or store/experiment holding one)
``wandb``                 a W&B run folder (``wandb/offline-run-*``) or ``.wandb`` file
``folder``                a folder holding exactly one run (one log file)
========================  ==================================================

Tracker URIs: ``mlflow://HOST:PORT/RUN_ID``, ``mlflow:///RUN_ID``, ``wandb://ENTITY/PROJECT/RUN_ID``
(:mod:`lrdoctor.io.trackers`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable, Mapping

from lrdoctor.errors import InputError, LogFormatError, printable
from lrdoctor.io import csv as _csv
from lrdoctor.io import catboost, dopamine, facenet, hf, jsonl, keras, matconvnet, metric_series, monitor_csv, printed_history, tensorboard, textlog, yolo
from lrdoctor.io import mlflow_store, wandb_run  # tracker run folders; no tracker client is imported
from lrdoctor.io.trackers import parse_tracker_uri, read_tracker_uri
from lrdoctor.io._json import CutDocument, CutRecords, load_json
from lrdoctor.io.records import RecordColumns
from lrdoctor.io.config import load_config
from lrdoctor.io.config_types import config_type_warnings
from lrdoctor.io.budget import release_freed_memory
from lrdoctor.io.guard import require_regular, sniff_encoding
from lrdoctor.io.limits import BoundExceeded
from lrdoctor.names import TRAINING_ROLES
from lrdoctor.run import Run

__all__ = ["read", "detect_format", "FORMATS", "load_config", "training_roles"]


def _read_json(path: Path) -> Run:
    # the parts of a JSON log that grow with the run are never held as Python objects: a
    # trainer_state.json's log_history is streamed into columns while parsing, a Keras
    # history's lists become float arrays as each is parsed
    history = RecordColumns()
    obj = load_json(path, stream={"log_history": hf.history_sink(history)}, compact=True)
    run = _json_run(path, obj, history)
    if isinstance(obj, (CutRecords, CutDocument)):
        run.meta.warnings.append(obj.note)
    return run


def _json_run(path: Path, obj, history: RecordColumns) -> Run:
    if hf.is_trainer_state(obj):
        return hf.read_trainer_state(path, obj, history)
    if keras.is_keras_history(obj):
        return keras.read_keras_history(path, obj)
    if metric_series.is_metric_series(obj):
        return metric_series.read_metric_series(path, obj)
    if dopamine.is_dopamine_records(obj):
        return dopamine.read_dopamine(path, obj)
    if catboost.is_catboost_training(obj):
        return catboost.read_catboost_training(path, obj)
    if isinstance(obj, list) and obj and all(isinstance(r, dict) for r in obj):
        from lrdoctor.io.records import records_to_run
        from lrdoctor.run import RunMeta

        return records_to_run(obj, RunMeta(source=str(path), format="json-records"))
    raise LogFormatError(path, "JSON file is neither a trainer_state.json, a Keras history, per-metric series "
                               "objects, a CatBoost catboost_training.json nor a list of records")


FORMATS: dict[str, Callable[[Path], Run]] = {
    "yolo": yolo.read_yolo,
    "text": textlog.read_textlog,
    "csv": _csv.read_csv,
    "lightning": _csv.read_csv,
    "sb3": _csv.read_csv,
    "tsv": lambda p: _csv.read_csv(p, sep="\t"),
    "hf": hf.read_trainer_state,
    "json": _read_json,
    "keras": keras.read_keras_history,
    "jsonl": jsonl.read_jsonl,
    "tensorboard": tensorboard.read_tensorboard,
    "monitor": lambda p: _read_monitor_dir(p),
    "monitor-csv": monitor_csv.read_monitor_csv,
    "facenet-lfw": facenet.read_lfw_result,
    "printed-history": printed_history.read_printed_history,
    "matconvnet-info": matconvnet.read_info_struct,
    # MLflow file-store runs, W&B run folders, a folder holding one run (docs/reading-logs.md)
    "mlflow": mlflow_store.read_mlflow_run_dir,
    "wandb": wandb_run.read_wandb_run,
    "folder": lambda p: _read_folder(p),
}

#: What ``lrdoctor.Monitor(log_to=DIR)`` writes in DIR (see lrdoctor.monitor.log).
MONITOR_LOG, MONITOR_CONFIG = "lrdoctor.jsonl", "lrdoctor-config.json"


def _read_monitor_dir(path: Path) -> Run:
    """A Monitor's log directory. Its config is context, not data: a config torn by a
    ``kill -9`` (or otherwise unreadable) is a warning, never a reason to refuse the log."""
    d = path if path.is_dir() else path.parent
    run = jsonl.read_jsonl(d / MONITOR_LOG)
    run.meta.format = "monitor"
    cfg = d / MONITOR_CONFIG
    if cfg.is_file():
        try:
            run.config.update(load_config(cfg))
        except InputError as err:
            run.meta.warnings.append(f"{err}; the log was read without its config")
    return run


def _read_folder(path: Path) -> Run:
    """A folder holding exactly one run (one log file, one run subfolder): io/folders.py."""
    from lrdoctor.io.folders import read_single_run

    return read_single_run(path)


def _head(path: Path, n: int = 4096) -> str:
    with open(path, "rb") as fh:
        raw = fh.read(n)
    enc = sniff_encoding(raw)
    if enc != "utf-8":
        # an encoding whose code units are wider than a byte may be cut mid-character
        return raw.decode(enc, errors="replace")
    return raw.decode("utf-8", errors="replace")


#: A line that carries ``key=number`` or ``key: number``: a text log, whatever its commas.
_TEXT_RECORD = re.compile(r"[A-Za-z_)\]]\s*(?:=|:)\s*[-+]?(?:\d|\.\d|nan|inf)", re.I)


def _csv_fields(line: str) -> int:
    """The number of comma-separated fields of ``line``, commas inside double quotes not
    counted (a cell ``"tensor(0.1623, device='cuda:0')"`` is one field)."""
    import csv

    return len(next(csv.reader([line]), []))


def _numeric_row(line: str, sep: str, n_seps: int) -> bool:
    """True when ``line`` has ``n_seps`` separators and every field is a number or empty (a
    table's data row, not "iter 1: loss 4.1, time 29ms")."""
    if line.count(sep) != n_seps:
        return False
    fields = [f.strip().strip('"') for f in line.split(sep)]
    if sep == ";":  # (a decimal comma: "0,776")
        fields = [f.replace(",", ".", 1) for f in fields]
    return any(fields) and all(not f or _NUMBER.fullmatch(f) for f in fields)


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|infinity)", re.I)


#: A head that opens a JSON array: ``[`` then a value. ``[2022-05-01 10:00:00,123] [INFO]``
#: (DeepSpeed, many loggers) opens a text line, not an array.
_JSON_ARRAY_HEAD = re.compile(r'\[\s*(?:[\[{"\]]|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*[,\]]|true\b|false\b|null\b)')


#: A line opened by a bracketed counter and words: XGBoost's "[0]\ttrain-rmse:17.1" and many
#: "[step] loss ..." prints, LightGBM's R "[5]:    train's l2:0.095"; "[0]" alone would read as a JSON array
_COUNTER_LINE = re.compile(r"^\s*\[\d+\]:?\s+[A-Za-z_]")


def detect_format(path: Path) -> str:
    """The reader for ``path``, from its name and first bytes."""
    if path.is_dir():
        if (path / MONITOR_LOG).is_file():
            return "monitor"
        if mlflow_store.is_run_dir(path) or mlflow_store.is_experiment_dir(path) or mlflow_store.is_store(path):
            return "mlflow"
        if wandb_run.is_run_dir(path):
            return "wandb"
        if tensorboard.event_files(path):
            from lrdoctor.io.folders import find_runs

            # event files of several runs (run1/, run2/) are not one run to merge; a Keras
            # train/ + validation/ pair is one run (io/folders.py tells them apart)
            return "tensorboard" if len(find_runs(path).runs) <= 1 else "folder"
        return "folder"  # one log file or one run below it; none or several is refused there
    if path.suffix == ".wandb":
        return "wandb"
    if tensorboard.EVENT_MARK in path.name:
        return "tensorboard"
    if path.name.endswith("monitor.csv"):
        return "monitor-csv"
    head = _head(path)
    if not head.strip():
        raise LogFormatError(path, "file is empty")
    if "\x00" in head[:1024]:
        raise LogFormatError(path, "unknown format: binary file that is not a TensorBoard event file")
    if sum(not (c.isprintable() or c.isspace()) for c in head[:1024]) > 0.3 * min(len(head), 1024):
        raise LogFormatError(path, "unknown format: binary file (mostly non-text bytes) that is not a TensorBoard event file")
    if facenet.is_lfw_result(path, head):
        return "facenet-lfw"  # headerless: by its name and row shape, before the table sniffing below
    suffix = path.suffix.lower()
    first = next((ln for ln in head.splitlines() if ln.strip()), "")
    stripped = head.lstrip()
    if suffix == ".jsonl" or (stripped.startswith("{") and first.strip().endswith("}") and suffix != ".json"):
        return "jsonl"
    if suffix == ".json" or stripped.startswith("{") or (_JSON_ARRAY_HEAD.match(stripped) and not _COUNTER_LINE.match(first)):
        return "json"
    if matconvnet.is_info_struct(head):
        return "matconvnet-info"  # "info.train =" over "objective: [1.56 1.15 ...": MATLAB's display of cnn_train's stats
    if printed_history.is_printed_history(head):
        return "printed-history"  # a printed dict of lists over lines, pasted: its numbers would sniff as a CSV column
    if suffix == ".tsv" or (first.count("\t") >= 1 and first.count(",") == 0):
        return "tsv"
    lines = [ln for ln in head.splitlines() if ln.strip()]
    second = lines[1] if len(lines) > 1 else ""
    if first.startswith("#{") and '"t_start"' in first and second.replace(" ", "").startswith("r,l,t"):
        return "monitor-csv"  # a Monitor file by its content, whatever its name (monitor_0.csv, ...)
    for sep in (",", ";"):
        if first.count(sep) >= 2 and _numeric_row(second, sep, first.count(sep)) and not (sep == ";" and "," in first):
            # a header over a row of numbers is a table whatever its names say: pandas writes its
            # unnamed index as "Unnamed: 0", which reads like a "key: value" record; a table
            # saved in a locale whose decimal mark is the comma is separated by semicolons
            return "yolo" if yolo.is_yolo_header([h.strip().strip('"') for h in first.split(sep)]) else "csv"
    if _TEXT_RECORD.search(first):
        return "text"  # "iter 0: loss 4.2, time 30ms" has commas but is no CSV header
    if first.count(",") >= 1 and (not second or _csv_fields(second) == first.count(",") + 1) and not first.lstrip().startswith("Namespace("):
        header = [h.strip().strip('"') for h in first.split(",")]
        if yolo.is_yolo_header(header):
            return "yolo"
        return "csv"
    return "text"


def read(
    path: str | Path,
    format: str | None = None,
    config: Mapping[str, Any] | str | Path | None = None,
    *,
    allow_special: bool = False,
) -> Run:
    """Read a training log into a :class:`Run`.

    ``format`` overrides detection (one of :data:`FORMATS`). ``config`` is a mapping or a
    YAML/JSON file of the run's hyperparameters; it is merged over any config the log
    itself carries (an argparse ``Namespace`` line, trainer_state fields).

    Anything but a regular file or a directory (a named pipe, a device) is refused unless
    ``allow_special=True``: reading one may block forever. Every failure is an
    :class:`~lrdoctor.errors.InputError` whose message names the file and the problem.
    """
    p = Path(path)
    if not os.path.lexists(p) and parse_tracker_uri(str(path)) is not None:  # mlflow://, wandb:// (io/trackers.py)
        return _with_config(read_tracker_uri(str(path)), config)
    if not os.path.lexists(p):
        raise LogFormatError(p, "no such file or directory")
    if not p.exists():
        raise LogFormatError(p, "is a broken symbolic link")
    require_regular(p, allow_special)
    try:
        run = _read(p, format, config)
        release_freed_memory()
        return run
    except InputError:
        raise
    except RecursionError:
        raise LogFormatError(p, "nested too deeply to read (JSON/YAML nesting beyond Python's recursion limit)") from None
    except MemoryError:
        raise LogFormatError(p, "too large to read in the available memory") from None
    except Exception as err:  # the reader boundary: one named line, never a traceback
        if os.environ.get("LRDOCTOR_DEBUG"):
            raise
        raise LogFormatError(p, f"cannot read ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no detail'})") from None


#: Largest sniffed table with no training column that is re-read as a text log (below).
#: The re-read holds the table's run and the text reader's records at once, about 2.5x
#: the memory the CLI's budget (:mod:`lrdoctor.io.budget`) estimated for the table; the
#: text logs this catches ("Loss: \t 0.127" blocks) are console captures of a few MB.
MAX_REREAD_BYTES = 64 << 20


def _read(p: Path, format: str | None, config: Mapping[str, Any] | str | Path | None) -> Run:
    fmt = format or detect_format(p)
    if fmt not in FORMATS:
        raise LogFormatError(p, f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    try:
        try:
            run = FORMATS[fmt](p)
        except LogFormatError as err:
            if format is not None or fmt not in ("csv", "tsv", "json", "jsonl") or isinstance(err, BoundExceeded):
                raise
            # a sniffed CSV/JSON that does not parse may still be a text log: commas in
            # "loss 2.3, time 30ms", "[2018-11-26 INFO] Step ...", HF's {'loss': 2.1} lines
            try:
                run = textlog.read_textlog(p)
            except LogFormatError:
                pass
            else:
                if training_roles(run) or run.meta.format == "bare-columns" or (fmt == "jsonl" and run.metrics and _dict_lines(p)):
                    # (bare numbers behind a timestamp with a comma, or Python dicts printed one per
                    # line: columns the user can name with --metric, which a refusal here would forbid)
                    return _with_config(run, config)
            raise
    except (OSError, UnicodeDecodeError) as err:
        raise LogFormatError(p, f"cannot read ({err})") from None
    if format is None and fmt in ("csv", "tsv") and not training_roles(run) and p.stat().st_size <= MAX_REREAD_BYTES:
        # a "table" with no training column may be a text log whose lines hold a tab or a
        # comma ("Loss: \t 0.127" blocks); keep the table unless the text reading finds one
        try:
            text = textlog.read_textlog(p)
        except (LogFormatError, OSError, UnicodeDecodeError):
            pass
        else:
            if training_roles(text):
                return _with_config(text, config)
    return _with_config(run, config)


def _dict_lines(path: Path) -> bool:
    """True when every non-empty line of the file's head is a one-line dict literal, ``{...}``:
    Python's printed dicts (``print(losses)`` in spaCy's training loop: ``{'ner': 11.27}``), which
    the text reader reads as records with the same keys, however little JSON they are."""
    lines = [ln.strip() for ln in _head(path).splitlines()[:-1] if ln.strip()]
    return bool(lines) and all(ln.startswith("{") and ln.endswith("}") for ln in lines)


def _with_config(run: Run, config: Mapping[str, Any] | str | Path | None) -> Run:
    if config is not None:
        cfg = load_config(config) if isinstance(config, (str, Path)) else dict(config)
        run.config.update(cfg)
    source = printable(Path(str(config)).name) if isinstance(config, (str, Path)) else "config"
    run.meta.warnings.extend(config_type_warnings(run.config, source))
    return run


def training_roles(run: Run) -> list[str]:
    """The training-signal roles (:data:`~lrdoctor.names.TRAINING_ROLES`) the run has logged."""
    return [r for r in TRAINING_ROLES if r in run]
