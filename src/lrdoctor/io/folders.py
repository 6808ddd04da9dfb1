"""Folders of runs: which runs a directory holds, found by a bounded walk.

A directory is one run when it holds a run's own files: a Monitor log (``lrdoctor.jsonl``),
TensorBoard event files, a tool's log whose name says what it is (:data:`RUN_FILES`), an
MLflow run (or store, or experiment: each of its runs), a W&B run folder. The walk stops at
a run; elsewhere every log-like file (:data:`LOG_SUFFIXES`, minus :data:`NOT_LOG_WORDS`) is
a run of its own and subfolders are walked, :data:`MAX_DEPTH` deep, at most
:data:`MAX_DIRS` folders and :data:`MAX_RUNS` runs. Symbolic links to folders are not
followed (``wandb/latest-run`` points at a run already found; a link may loop).

Two layouts of one run that spread over subfolders are kept whole: TensorBoard splits
(Keras writes ``logs/train/`` and ``logs/validation/``) and HF checkpoints
(``checkpoint-500/``, ``checkpoint-1000/`` each hold the ``trainer_state.json`` so far: only
the last is the run).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lrdoctor.errors import LogFormatError
from lrdoctor.io import mlflow_store, tensorboard, wandb_run
from lrdoctor.run import Run

__all__ = [
    "LOG_SUFFIXES",
    "MAX_DEPTH",
    "MAX_DIRS",
    "MAX_RUNS",
    "NOT_LOG_WORDS",
    "RUN_FILES",
    "SPLIT_DIRS",
    "FolderScan",
    "RunLocation",
    "find_runs",
    "read_single_run",
]

#: How deep below the given folder runs are looked for. ``project/mlruns/<exp>/<run>`` is 3
#: deep and ``sweeps/<sweep>/<trial>/lightning_logs/version_0`` 4; a run deeper than 4 is
#: rare enough to name its folder directly, and the bound keeps a walk of a home directory short.
MAX_DEPTH = 4

#: Most folders visited. A sweep of a few hundred trials with a few folders each is ~2,000;
#: 5,000 folders list in well under a second on a local disk, and the walk stops there with
#: a note rather than crawling a whole file system.
MAX_DIRS = 5000

#: Most runs diagnosed from one folder. Diagnosing a run takes ~0.1-1 s, so 500 is minutes,
#: already more than one table should hold; pass a subfolder for more.
MAX_RUNS = 500

#: Files that make their folder a run (the first present is read), by the tool that writes them.
RUN_FILES = ("trainer_state.json", "results.csv", "metrics.csv", "progress.csv", "trainer_log.jsonl",
             "catboost_training.json")

#: Files a run file's tool writes beside it with the same numbers in another layout: parts of that
#: one run, not runs of their own (CatBoost's ``catboost_info/``: the per-set metric tables and the
#: time left beside ``catboost_training.json``).
RUN_FILE_PARTS = {"catboost_training.json": ("learn_error.tsv", "test_error.tsv", "time_left.tsv")}

#: Suffixes of files that may be a run's log when they sit loose in a folder.
LOG_SUFFIXES = (".log", ".txt", ".out", ".csv", ".tsv", ".json", ".jsonl")

#: Words in a file name that say it is no training log: configs, metadata, a repository's
#: text, HF's ``all_results.json`` / ``eval_results.json`` (final numbers, no history).
NOT_LOG_WORDS = ("config", "hparams", "hyperparam", "args", "requirements", "readme", "license",
                 "metadata", "summary", "vocab", "tokenizer", "labels", "_results")

#: Subfolders that are parts of one TensorBoard run (Keras, TF Estimator, SB3 eval), not runs.
SPLIT_DIRS = ("train", "training", "validation", "valid", "val", "eval", "evaluation", "test")

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


@dataclass(frozen=True)
class RunLocation:
    """One run in a folder: what :func:`lrdoctor.read` takes and its name in the table."""

    path: Path
    name: str
    kind: str  # "tensorboard", "monitor", "mlflow", "wandb", "file"


@dataclass
class FolderScan:
    runs: list[RunLocation] = field(default_factory=list)
    #: why the walk stopped before the end (None: every folder within MAX_DEPTH was seen)
    truncated: str | None = None


def _is_log_file(p: Path) -> bool:
    low = p.name.lower()
    return (p.suffix.lower() in LOG_SUFFIXES and not low.startswith(".")
            and not any(w in low for w in NOT_LOG_WORDS))


def _dirs(path: Path) -> list[Path]:
    try:
        subs = sorted(c for c in path.iterdir() if c.is_dir() and not c.is_symlink() and not c.name.startswith((".", "__")))
    except OSError:
        return []
    ckpts = [c for c in subs if _CHECKPOINT.match(c.name)]
    if len(ckpts) > 1:  # HF: only the last checkpoint's trainer_state.json is the whole run
        last = max(ckpts, key=lambda c: int(_CHECKPOINT.match(c.name).group(1)))  # type: ignore[union-attr]
        subs = [c for c in subs if c not in ckpts or c == last]
    return subs


def _direct_events(path: Path) -> bool:
    try:
        return any(tensorboard.EVENT_MARK in c.name and c.is_file() for c in path.iterdir())
    except OSError:
        return False


def _other_logs(d: Path, marker: Path) -> bool:
    parts = RUN_FILE_PARTS.get(marker.name, ())
    try:
        return any(c.is_file() and c != marker and c.name not in parts and _is_log_file(c) for c in d.iterdir())
    except OSError:
        return False


def _run_here(path: Path) -> tuple[str, Path] | None:
    """``(kind, what to read)`` when ``path`` itself is one run."""
    from lrdoctor.io import MONITOR_LOG

    if (path / MONITOR_LOG).is_file():
        return "monitor", path
    if mlflow_store.is_run_dir(path):
        return "mlflow", path
    if wandb_run.is_run_dir(path):
        return "wandb", path
    if _direct_events(path):
        return "tensorboard", path
    for name in RUN_FILES:
        if (path / name).is_file():
            return "file", path / name
    splits = [c for c in _dirs(path) if _direct_events(c)]
    if splits and all(c.name.lower() in SPLIT_DIRS for c in splits):
        return "tensorboard", path
    return None


def find_runs(root: Path) -> FolderScan:
    """The runs under ``root`` (``root`` itself when it is one run), in walk order."""
    scan = FolderScan()
    visited = 0

    def name_of(p: Path) -> str:
        rel = p.relative_to(root).as_posix()
        return rel if rel != "." else p.name

    def add(kind: str, p: Path, shown: Path | None = None) -> bool:
        if len(scan.runs) >= MAX_RUNS:
            scan.truncated = f"more than {MAX_RUNS} runs; the rest were not diagnosed (pass a subfolder)"
            return False
        label = name_of(shown or p)
        if kind == "mlflow":
            run = mlflow_store.run_name(p)
            label += f" ({run})" if run else ""
        scan.runs.append(RunLocation(p, label, kind))
        return True

    def walk(d: Path, depth: int) -> bool:
        nonlocal visited
        visited += 1
        if visited > MAX_DIRS:
            scan.truncated = f"more than {MAX_DIRS} folders; the walk stopped there (pass a subfolder)"
            return False
        if mlflow_store.is_store(d) or mlflow_store.is_experiment_dir(d):
            return all(add("mlflow", r) for r in mlflow_store.run_dirs(d))
        here = _run_here(d)
        if here is not None and here[0] == "file" and d == root and _other_logs(d, here[1]):
            here = None  # metrics.csv beside other logs in the given folder: one run among several
        if here is not None:
            kind, p = here
            return add(kind, p, shown=p if kind == "file" and d == root else d)
        subs = _dirs(d)
        try:
            files = sorted(c for c in d.iterdir() if c.is_file() and _is_log_file(c))
        except OSError:
            files = []
        if any(wandb_run.is_run_dir(c) for c in subs):
            files = []  # a wandb/ folder: its loose files are W&B's debug logs
        for f in files:
            if not add("file", f):
                return False
        if depth >= MAX_DEPTH:
            return True
        return all(walk(c, depth + 1) for c in subs)

    walk(root, 0)
    return scan


def read_single_run(root: Path) -> Run:
    """The one run a folder holds (``lrdoctor.read(DIR)``); a folder with none or several is
    refused in one line (``lrdoctor diagnose DIR`` diagnoses each of several)."""
    from lrdoctor.io import MONITOR_LOG, read

    runs = find_runs(root).runs
    if not runs:
        raise LogFormatError(root, f"directory holds no {MONITOR_LOG}, no TensorBoard event files, "
                                   "no MLflow or W&B run and no log file; pass a log file")
    if len(runs) > 1:
        names = ", ".join(r.name for r in runs[:4]) + (", ..." if len(runs) > 4 else "")
        raise LogFormatError(root, f"holds {len(runs)} runs ({names}); read one of them, or run "
                                   "`lrdoctor diagnose` on the folder to diagnose each")
    if runs[0].path == root:
        raise LogFormatError(root, "cannot tell how to read this folder; pass a log file")
    return read(runs[0].path)
