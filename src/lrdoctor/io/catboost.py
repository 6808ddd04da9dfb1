"""CatBoost's ``catboost_info/catboost_training.json``: the per-iteration metrics file every CatBoost
fit writes (Python, R and CLI alike; about ten thousand public repositories commit one).

Layout (CatBoost docs, "Metrics and time information")::

    {"meta": {"learn_metrics": [{"name": "Logloss", "best_value": "Min"}],
              "test_metrics": [{"name": "AUC", "best_value": "Max"}, {"name": "Logloss", "best_value": "Min"}],
              "learn_sets": ["learn"], "test_sets": ["test"], "iteration_count": 10000, ...},
     "iterations": [{"iteration": 0, "learn": [0.6578], "test": [0.9207, 0.6579],
                     "passed_time": 0.042, "remaining_time": 419.9}, ...]}

Each ``learn``/``test`` array holds, set after set, one value per metric of that side. A column is
named ``<set>_<metric>`` (``learn_Logloss``, ``test_AUC``; a second evaluation set is ``test1_``).
The first learn metric is the objective CatBoost optimises (its ``loss_function``): where the
names alone do not make it the training loss (``MultiClass``, ``Quantile:alpha=0.9``), and it is
minimised, it plays ``loss`` and the same metric on the first evaluation set ``eval_loss``. The
file is written while the fit runs, so a copy may end inside ``iterations``; the JSON loader
closes it at its last complete iteration and says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from lrdoctor.io._json import NumberArray, number
from lrdoctor.io.records import records_to_run
from lrdoctor.run import Run, RunMeta, apply_roles

__all__ = ["BOOSTING_ROUND", "is_catboost_training", "read_catboost_training"]

#: The step unit of a gradient booster's log: each CatBoost iteration adds one tree, a boosting
#: round as XGBoost's and LightGBM's (``names.STEP_NAMES``' ``boosting_round``). A booster's losses
#: stop moving when later trees add nothing (a converged fit, not dead weights: the frozen rules
#: of ``slow_progress`` leave such a run alone).
BOOSTING_ROUND = "round"


def is_catboost_training(obj: Any) -> bool:
    """A JSON object with a ``meta`` object naming learn or test metrics and an ``iterations`` list."""
    if not isinstance(obj, Mapping) or not isinstance(obj.get("meta"), Mapping):
        return False
    meta = obj["meta"]
    return (isinstance(obj.get("iterations"), list)
            and any(isinstance(meta.get(k), list) for k in ("learn_metrics", "test_metrics")))


def _names(meta: Mapping[str, Any], side: str) -> list[str]:
    """The metric names of ``side`` (``learn``/``test``), in the order of the value arrays."""
    out = []
    for m in meta.get(f"{side}_metrics") or []:
        name = m.get("name") if isinstance(m, Mapping) else None
        out.append(name if isinstance(name, str) and name else f"metric{len(out)}")
    return out


def _sets(meta: Mapping[str, Any], side: str) -> list[str]:
    sets = meta.get(f"{side}_sets")
    if isinstance(sets, list) and sets and all(isinstance(s, str) and s for s in sets):
        return list(sets)
    return [side]


def _values(x: Any) -> list[float | None]:
    if isinstance(x, NumberArray):
        return [float(v) if p else None for v, p in zip(x.values, x.present)]
    return [number(v) for v in x] if isinstance(x, list) else []


def read_catboost_training(path: Path, obj: Mapping[str, Any]) -> Run:
    meta = obj["meta"]
    names = {side: _names(meta, side) for side in ("learn", "test")}
    columns = {side: [f"{s}_{n}" for s in _sets(meta, side) for n in names[side]] for side in names}
    records = []
    for it in obj["iterations"]:
        if not isinstance(it, Mapping):
            continue
        rec: dict[str, Any] = {"iteration": it.get("iteration")}
        for side, cols in columns.items():
            for col, v in zip(cols, _values(it.get(side))):
                if v is not None:
                    rec[col] = v
        records.append(rec)
    run = records_to_run(records, RunMeta(source=str(path), format="catboost"))
    run.meta.step_unit = BOOSTING_ROUND
    return _objective_roles(run, meta, names, columns)


def _objective_roles(run: Run, meta: Mapping[str, Any], names: dict[str, list[str]], columns: dict[str, list[str]]) -> Run:
    """The objective (the first learn metric, when minimised) as ``loss``, and the same metric on
    the first evaluation set (the first of the test columns that name it) as ``eval_loss``, where the
    names alone did not give the loss role."""
    learn = meta.get("learn_metrics") or []
    if "loss" in run.meta.roles or not learn or not isinstance(learn[0], Mapping) or learn[0].get("best_value") != "Min":
        return run
    objective = names["learn"][0]
    roles = {"loss": columns["learn"][0]}
    if "eval_loss" not in run.meta.roles and objective in names["test"]:
        roles["eval_loss"] = columns["test"][names["test"].index(objective)]
    roles = {r: c for r, c in roles.items() if c in run.metrics}
    return apply_roles(run, roles) if roles else run
