"""Delimited logs: generic CSV/TSV, Lightning CSVLogger, stable-baselines3 ``progress.csv``.

They share one reader; the flavour only changes the format name and which column is the
step (SB3 counts environment timesteps, Lightning steps, CleanRL-like files episodes).
"""

from __future__ import annotations

import re
from pathlib import Path

from lrdoctor.io._table import Table, read_table, table_to_run
from lrdoctor.io.catboost import BOOSTING_ROUND
from lrdoctor.names import SPLIT_WORDS, normalize
from lrdoctor.run import Run

__all__ = ["read_csv", "flavour", "CATBOOST_SET_TABLES", "catboost_set"]


def flavour(header: list[str]) -> str:
    """Name the CSV flavour from its header."""
    low = {h.strip().lower() for h in header}
    if "time/total_timesteps" in low or any(h.startswith(("rollout/", "time/")) for h in low):
        return "sb3-progress"
    if {"epoch", "step"} <= low:
        return "lightning-csv"
    return "csv"


_TB_EXPORT = {"wall_time", "step", "value"}
_TB_TAG = re.compile(r"(?:^|[-_])tag[-_](?P<tag>.+)$", re.I)


#: a run name that ends with an evaluation split: Keras' TensorBoard callback writes its scalars to
#: the runs ``train`` and ``validation`` under one tag (``epoch_loss``), so the download of the
#: validation curve is ``run-validation-tag-epoch_loss.csv``
_SPLIT_RUN = re.compile(r"(?:^|[-_.])(?P<split>validation|valid|val|eval|test)$", re.I)

def tensorboard_export_tag(path: Path, header: list[str]) -> str | None:
    """The scalar tag of a TensorBoard CSV export (header ``Wall time,Step,Value``), from its
    file name (``run-PPO_1-tag-rollout_ep_rew_mean.csv`` -> ``rollout_ep_rew_mean``); None
    when the file is not one. Without a ``tag`` in the name, the file's stem is the tag. A run
    named for an evaluation split gives the tag that split (``run-validation-tag-epoch_loss``
    -> ``validation_epoch_loss``): read alone, ``epoch_loss`` would be the training loss."""
    if {normalize(h) for h in header} != _TB_EXPORT:
        return None
    m = _TB_TAG.search(path.stem)
    if m is None:
        return path.stem
    tag, split = m["tag"], _SPLIT_RUN.search(path.stem[:m.start()])
    if split and not SPLIT_WORDS & set(normalize(tag).split("_")):
        return f"{split['split'].lower()}_{tag}"
    return tag


#: CatBoost's per-set metric tables in ``catboost_info/`` (file name -> the set its columns measure):
#: header ``iter`` and the metric names alone (``iter	Logloss``), the set given only by the file's
#: name (CatBoost docs, "Output data: learn_error.tsv, test_error.tsv"). Read alone, a
#: ``test_error.tsv`` would put the evaluation set's loss in the training loss's place.
CATBOOST_SET_TABLES = {"learn_error.tsv": "learn", "test_error.tsv": "test"}


def catboost_set(path: Path, header: list[str]) -> str | None:
    """The set (``learn``/``test``) whose metrics a CatBoost per-set table holds, else None."""
    got = CATBOOST_SET_TABLES.get(path.name.lower())
    return got if got and header and normalize(header[0]) == "iter" else None


def _rename(table: Table, names: dict[str, str]) -> None:
    """Rename ``table``'s columns by ``names`` (old -> new), in place."""
    table.columns = [names.get(c, c) for c in table.columns]
    table.cols = {names.get(c, c): v for c, v in table.cols.items()}
    table.masks = {names.get(c, c): v for c, v in table.masks.items()}


def read_csv(path: Path, sep: str | None = None) -> Run:
    table = read_table(path, sep)
    part = catboost_set(path, table.columns)
    if part is not None:
        # named as catboost_training.json's columns are (``test_Logloss``), so the roles follow
        names = {c: f"{part}_{c}" for c in table.columns[1:] if not SPLIT_WORDS & set(normalize(c).split("_"))}
        _rename(table, names)
        run = table_to_run(table, path, "catboost-tsv")
        run.meta.step_unit = BOOSTING_ROUND  # (each ``iter`` adds one tree)
        if names:
            run.meta.warnings.append(f"CatBoost {path.name}: metric columns read as the {part} set's "
                                     f"({', '.join(names.values())}, from the file name)")
        return run
    tag = tensorboard_export_tag(path, table.columns)
    if tag is not None:
        _rename(table, {next(c for c in table.columns if normalize(c) == "value"): tag})
        run = table_to_run(table, path, "tensorboard-csv")
        run.meta.warnings.append(f"TensorBoard CSV export: column 'Value' read as tag {tag!r} (from the file name)")
        return run
    fmt = flavour(table.columns)
    prefer = ("time/total_timesteps",) if fmt == "sb3-progress" else ()
    return table_to_run(table, path, fmt if sep != "\t" else "tsv", prefer_step=prefer)
