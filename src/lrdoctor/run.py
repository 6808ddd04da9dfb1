"""The Run: a training run as step-indexed metric series, plus its config and metadata.

Every reader produces a :class:`Run`; every detector reads one. Metrics are numpy arrays
aligned on one sorted, unique ``steps`` array, with NaN where a metric was not logged at a
step. Because a logged value may itself be NaN or inf (that is what ``nonfinite`` looks
for), each metric also carries a ``logged`` mask that tells the two apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from lrdoctor.errors import InputError
from lrdoctor.names import GAN_ROLES, GAN_TERMS, RL_MARKERS, ROLES, STEP_NAMES, normalize, perplexity_column, resolve_aliases, tokens

__all__ = ["Run", "RunMeta", "Series", "build_run", "apply_roles"]


@dataclass(frozen=True)
class Series:
    """One metric's logged points: ``steps`` and ``values`` of equal length (values may be non-finite)."""

    name: str
    steps: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return int(self.steps.size)

    def finite(self) -> "Series":
        """The points whose value is finite (computed once; the series itself when all are)."""
        cached = self.__dict__.get("_finite")
        if cached is None:
            ok = np.isfinite(self.values)
            cached = self if ok.all() else Series(self.name, self.steps[ok], self.values[ok])
            object.__setattr__(self, "_finite", cached)
        return cached

    def at_or_after(self, step: float) -> "Series":
        ok = self.steps >= step
        return Series(self.name, self.steps[ok], self.values[ok])


@dataclass
class RunMeta:
    """Where a run came from and what the reader noticed while reading it."""

    source: str = ""
    format: str = "unknown"
    #: what one step counts: "step", "epoch", "timestep", "episode", "update", "row"
    step_unit: str = "step"
    #: canonical name -> raw column it was taken from
    aliases: dict[str, str] = field(default_factory=dict)
    #: usable-data problems the reader worked around (one line each)
    warnings: list[str] = field(default_factory=list)
    #: columns that held no numbers (dates, comments) and were not kept as metrics
    text_columns: list[str] = field(default_factory=list)
    #: role -> raw column for every role filled (``loss`` -> ``Loss/train``; identity when the
    #: column already has the role's name); the report lists it
    roles: dict[str, str] = field(default_factory=dict)
    #: roles the user named (``roles=`` / ``--metric``), which inference never overrides
    explicit_roles: dict[str, str] = field(default_factory=dict)
    #: canonical columns the alias pass added beside the raw ones (dropped on a rebuild)
    added: list[str] = field(default_factory=list)
    #: the raw column the step axis came from (None: row order)
    step_column: str | None = None
    #: raw column -> most decimals printed, for text-log columns (a float forgets trailing
    #: zeros: "4.600" reads as 4.6, "lr: 0.00000000" as 0.0): the printed resolution the
    #: "frozen", "LR is 0" and "zero gradient" rules judge
    printed_decimals: dict[str, int] = field(default_factory=dict)
    #: raw text-log columns read from a Python repr (HF Trainer's ``{'grad_norm': 0.0, ...}``):
    #: a repr shows a float's own digits, not a fixed number of decimals, so its 0.0 is 0
    repr_fields: list[str] = field(default_factory=list)
    #: the layout of the table a text log was read from, where it tells what the columns hold
    #: (:data:`lrdoctor.io.textlog.tables.SENTENCE_TRANSFORMERS_LAYOUT`); "" for any other
    layout: str = ""


def _a_gan_term(column: str) -> bool:
    """True for a column named as one of a GAN generator's extra terms (feature matching, VGG
    perceptual: GauGAN's ``feat_loss``, pix2pixHD's ``G_GAN_Feat``), which the loss-word rules
    would otherwise take for the run's objective."""
    return bool(GAN_TERMS & set(tokens(column)))


@dataclass
class Run:
    """A training run: metric series on a shared step axis, the config, and metadata."""

    steps: np.ndarray
    metrics: dict[str, np.ndarray]
    logged: dict[str, np.ndarray]
    config: dict[str, Any] = field(default_factory=dict)
    meta: RunMeta = field(default_factory=RunMeta)
    #: derived values detectors share (series, the loss trend), computed once per run; a
    #: run is treated as immutable once built, so nothing here is ever invalidated
    derived: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def __contains__(self, name: str) -> bool:
        return name in self.metrics and bool(self.logged[name].any())

    @property
    def names(self) -> list[str]:
        return list(self.metrics)

    def series(self, name: str) -> Series | None:
        """The logged points of ``name`` (canonical or raw), or None if it was never logged."""
        key = ("series", name)
        if key in self.derived:
            return self.derived[key]
        out = None
        if name in self:
            mask = self.logged[name]
            if mask.all():  # views, no copy: the common case of a dense log
                out = Series(name, self.steps, self.metrics[name])
            else:
                out = Series(name, self.steps[mask], self.metrics[name][mask])
        self.derived[key] = out
        return out

    @property
    def is_rl(self) -> bool:
        """True for reinforcement-learning runs (returns, KL, Q-values logged)."""
        return any(m in self for m in RL_MARKERS)

    @property
    def is_gan(self) -> bool:
        """True for a GAN run that logs both players' losses and no objective of its own: its
        losses are a game (each rises when the other player gains), not curves to minimise."""
        return all(r in self for r in GAN_ROLES) and ("loss" not in self or _a_gan_term(self.meta.roles.get("loss", "")))

    @property
    def n_steps(self) -> int:
        return int(self.steps.size)

    def summary(self) -> dict[str, Any]:
        """The ``run`` object of the JSON report."""
        return {
            "source": self.meta.source,
            "format": self.meta.format,
            "step_unit": self.meta.step_unit,
            "steps": self.n_steps,
            "first_step": int(self.steps[0]) if self.n_steps else None,
            "last_step": int(self.steps[-1]) if self.n_steps else None,
            "metrics": sorted(self.metrics),
            "aliases": dict(self.meta.aliases),
            "roles": dict(self.meta.roles),
            "step_column": self.meta.step_column,
            "warnings": list(self.meta.warnings),
            "config": _jsonable(self.config),
        }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and obj != obj:  # JSON has no NaN/inf: strings, as documented
        return "nan"
    if isinstance(obj, float) and obj in (float("inf"), float("-inf")):
        return "inf" if obj > 0 else "-inf"
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def build_run(
    steps: np.ndarray,
    columns: Mapping[str, np.ndarray],
    logged: Mapping[str, np.ndarray] | None = None,
    *,
    meta: RunMeta | None = None,
    config: Mapping[str, Any] | None = None,
    rows_in_order: bool = True,
    roles: Mapping[str, str] | None = None,
) -> Run:
    """Turn raw rows (possibly unsorted, duplicated, sparse) into a :class:`Run`.

    ``steps`` and each column are row-aligned. Rows that share a step are merged, each
    metric keeping the last value logged at that step (resumed runs re-log steps; Lightning
    writes step and epoch rows at the same step). Canonical names from the alias table are
    added beside the raw columns, which are all kept.
    """
    meta = meta or RunMeta()
    steps = np.asarray(steps, dtype=np.float64)
    finite_step = np.isfinite(steps)
    if not finite_step.all():
        meta.warnings.append(f"{int((~finite_step).sum())} rows without a step were dropped")
    if rows_in_order and steps.size > 1:
        fs = steps[finite_step]
        backs = np.flatnonzero(np.diff(fs) < 0)
        seg = np.diff(np.r_[-1, backs, fs.size - 1])  # rows per ascending stretch
        # a restart: back to the log's first step, between two stretches of 2+ rows each (a
        # file written in reverse, or one stray row, is no new run)
        restarts = np.array([b for j, b in enumerate(backs) if fs[b + 1] <= fs[0] and seg[j] >= 2 and seg[j + 1] >= 2], dtype=int)
        if restarts.size:
            # the axis went back to where the log began: not a resume from a checkpoint (that
            # goes back part of the way) but a new run in the same file (a second training
            # phase, the next fold). Overlaid, "later rows win" would splice the runs into one
            # curve that none of them drew (a 19-epoch phase under a 5-epoch one reads as a
            # jump at epoch 6); the last run is judged, and the report says so.
            cut = int(np.flatnonzero(finite_step)[restarts[-1] + 1])
            meta.warnings.append(
                f"the steps restart from {fs[0]:g} {restarts.size} time(s): the log holds {restarts.size + 1} runs "
                f"(training phases or folds); the last one (from row {cut + 1}) is judged")
            steps, finite_step = steps[cut:], finite_step[cut:]
            columns = {k: np.asarray(v)[cut:] for k, v in columns.items()}
            if logged is not None:
                logged = {k: np.asarray(v)[cut:] for k, v in logged.items()}
        back = np.flatnonzero(np.diff(steps[finite_step]) < 0)
        if back.size:
            first = steps[finite_step][back[0] + 1]
            meta.warnings.append(
                f"steps go backwards {back.size} time(s) (first at step {first:g}): "
                "treated as a resumed run, later rows win"
            )
    # Most logs are already one row per step, in order: then no sort and no gather is needed.
    in_order = bool(finite_step.all()) and (steps.size < 2 or bool((steps[1:] > steps[:-1]).all()))
    if in_order:
        order = None
        sorted_steps = uniq = steps
    else:
        order = np.argsort(steps, kind="stable")
        order = order[finite_step[order]]
        sorted_steps = steps[order]
        uniq = np.unique(sorted_steps)
    n_rows = sorted_steps.size
    metrics: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for name, col in columns.items():
        col = np.asarray(col, dtype=np.float64)
        m = np.ones(col.size, dtype=bool) if logged is None or name not in logged else np.asarray(logged[name], bool)
        col_s, m_s = (col, m) if order is None else (col[order], m[order])
        if uniq.size == n_rows:
            vals = col_s if m_s.all() else np.where(m_s, col_s, np.nan)
            metrics[name], masks[name] = vals, m_s
            continue
        idx = np.flatnonzero(m_s)
        s = sorted_steps[idx]
        last = np.r_[s[1:] != s[:-1], True] if s.size else np.zeros(0, bool)
        pos = np.searchsorted(uniq, s[last])
        vals = np.full(uniq.size, np.nan)
        mk = np.zeros(uniq.size, dtype=bool)
        vals[pos] = col_s[idx[last]]
        mk[pos] = True
        metrics[name], masks[name] = vals, mk
    # Canonical names (roles): explicit ones first, then aliases, then inference
    explicit = {k: v for k, v in (roles or meta.explicit_roles or {}).items() if k != "step"}
    meta.explicit_roles.update(explicit)
    never_finite = [n for n in metrics if masks[n].any() and not np.isfinite(metrics[n][masks[n]]).any()]
    empty = [n for n in metrics if not masks[n].any() and n not in explicit.values()]
    for canon, (raw, scale) in resolve_aliases(list(metrics), explicit, never_finite, empty).items():
        if raw not in metrics:
            continue
        if canon in metrics and canon not in explicit and (masks[canon].any() or canon == raw):
            # (a raw column under the canonical name with no row kept yields to the alias)
            if canon == raw or canon in meta.aliases:
                meta.roles.setdefault(canon, meta.aliases.get(canon, raw))
            continue
        if not masks[raw].any() and canon not in explicit:
            continue
        if canon == raw:
            meta.roles[canon] = raw
            continue
        metrics[canon] = metrics[raw] * scale if scale != 1.0 else metrics[raw]
        masks[canon] = masks[raw]
        meta.aliases[canon] = raw
        meta.roles[canon] = raw
        meta.added.append(canon)
    # a log printing only perplexity: its logarithm is the cross-entropy it exponentiates
    for canon, evaluation in (("loss", False), ("eval_loss", True)):
        if canon in metrics or canon in meta.roles:
            continue
        ppl = perplexity_column([n for n in metrics if n not in meta.added], evaluation)
        if ppl is None or not masks[ppl].any():
            continue
        derived = f"ln_{normalize(ppl)}"
        with np.errstate(divide="ignore", invalid="ignore"):
            metrics[derived] = np.log(metrics[ppl])
        masks[derived] = masks[ppl].copy()
        metrics[canon], masks[canon] = metrics[derived], masks[derived]
        meta.aliases[canon] = meta.roles[canon] = derived
        meta.added.extend([derived, canon])
    for canon in ALIAS_SELF:
        if canon in metrics and canon not in meta.roles and masks[canon].any():
            meta.roles[canon] = canon
    # A column that is NaN in every logged row was never really computed (e.g. YOLOv8's
    # val losses when validation ran without loss): keep it, but as not logged.
    # (values are NaN wherever not logged, so "finite somewhere" needs no masking)
    train_ok = "loss" in metrics and bool(np.isfinite(metrics["loss"]).any())
    for name, vals in metrics.items():
        mk = masks[name]
        if train_ok and mk.any() and not np.isfinite(vals).any() and _is_never_computed(name, vals[mk], meta.format) \
                and not _zero_beside(metrics["loss"], masks.get("loss"), mk) \
                and not _zero_at_every(metrics.get("eval_accuracy"), masks.get("eval_accuracy"), mk):
            masks[name] = np.zeros_like(mk)
            meta.warnings.append(f"column {name!r} is NaN in every row: treated as never computed")
    zeros = _zeros_after_blow_up(metrics, masks)
    if zeros is not None:
        metrics["loss"] = np.where(zeros, np.nan, metrics["loss"])
        meta.warnings.append(f"training loss {meta.roles.get('loss', 'loss')!r} is exactly 0 at every report after the "
                             f"evaluation loss went non-finite (step {uniq[np.flatnonzero(zeros)[0]]:g} on): read as "
                             "non-finite (CTC's zero_infinity reports an infinite loss as 0)")
    if "loss" in metrics and "loss" not in explicit and _is_counter(metrics["loss"][masks["loss"]]):
        masks["loss"] = np.zeros_like(masks["loss"])
        meta.warnings.append(f"column {meta.roles.get('loss', 'loss')!r} counts up by exactly 1 at every report "
                             "(a loop index printed as the loss): not judged as a loss")
    for canon in list(meta.aliases):
        if not masks[canon].any():
            del meta.aliases[canon]
    for canon in list(meta.roles):
        if canon not in explicit and not masks[canon].any():
            del meta.roles[canon]
    return Run(
        # whole steps become ints, unless one is too big for int64 to hold exactly (a fuzzed 1e300)
        steps=uniq.astype(np.int64) if np.all(uniq == np.round(uniq)) and (uniq.size == 0 or np.abs(uniq).max() < 2.0**53) else uniq,
        metrics=metrics,
        logged=masks,
        config=dict(config or {}),
        meta=meta,
    )


#: roles a column can hold under its own name (``loss`` is the loss without any alias)
ALIAS_SELF = tuple(r for r in ROLES if r != "step")

_EVAL_HINT = ("val", "eval", "test")


def _zero_beside(loss: np.ndarray, loss_mask: np.ndarray | None, rows: np.ndarray) -> bool:
    """True when the training loss is exactly 0 on a row where the evaluation is logged: a loss
    of exactly 0 is no working model (HF Trainer's table prints a NaN training loss as 0.0), so
    the NaN evaluation beside it is the same blow-up, not an evaluation that skipped its loss
    (HF card, flan-t5: training loss 4495794.176, then 0.0, 0.0, with validation loss nan)."""
    on = rows & (loss_mask if loss_mask is not None else np.isfinite(loss))
    return bool((loss[on] == 0).any())


def _zeros_after_blow_up(metrics: dict[str, np.ndarray], masks: dict[str, np.ndarray]) -> np.ndarray | None:
    """The rows where the training loss is a placeholder for a non-finite one: exactly 0 at every
    report (2+) after the first evaluation whose loss is non-finite, when every later evaluation's
    loss is non-finite too and every training report before was positive. A loss that went from
    1.438 to exactly 0.0 at the step its evaluation went NaN did not fit the data perfectly:
    ``CTCLoss(zero_infinity=True)`` (HF's wav2vec2 fine-tunes) reports an infinite loss as 0,
    and HF's table prints a NaN training loss as 0.0 (Norwegian wav2vec2: 0.2103 -> 1.438, then
    0.0 at the five reports where validation loss is nan)."""
    if "loss" not in metrics or "eval_loss" not in metrics:
        return None
    loss, lm, ev, em = metrics["loss"], masks["loss"], metrics["eval_loss"], masks["eval_loss"]
    bad = np.flatnonzero(em & ~np.isfinite(ev))
    if bad.size == 0 or np.isfinite(ev[bad[0]:][em[bad[0]:]]).any():
        return None
    rows = lm.copy()
    rows[:bad[0] + 1] = False  # the reports after the first non-finite evaluation
    before = loss[:bad[0] + 1][lm[:bad[0] + 1]]
    if rows.sum() < 2 or (loss[rows] != 0).any() or before.size < 2 or not (before > 0).all():
        return None
    return rows


def _zero_at_every(acc: np.ndarray | None, acc_mask: np.ndarray | None, rows: np.ndarray) -> bool:
    """True when the evaluation accuracy is exactly 0 at every one (2+) of the rows where the
    evaluation is logged: the evaluated model's predictions are NaN too (argmax of NaN scores
    nothing), so its NaN loss was computed, not skipped (a Keras card: val_loss nan and val
    accuracy 0.0 at all five epochs while training learned)."""
    if acc is None:
        return False
    on = rows & (acc_mask if acc_mask is not None else np.isfinite(acc))
    return bool(on.sum() >= 2 and (acc[on] == 0).all())


#: A "loss" that takes the consecutive integers k, k+1, k+2, ... at this many reports in a row is a
#: counter the script printed under the loss's name (ht445/geometric_gnns' R-GCN log: "loss `0`",
#: "loss `1`", ... at epochs 0, 1, ...). A float loss landing on consecutive integers five times
#: running does not happen; five is the length at which a pasted excerpt is first judged by the
#: trend rules (``Trend`` needs 5 points).
COUNTER_POINTS = 5


def _is_counter(values: np.ndarray) -> bool:
    """True when ``values`` (a loss's logged values, in order) count up by exactly 1 from an
    integer at every one of at least :data:`COUNTER_POINTS` reports."""
    if values.size < COUNTER_POINTS or not np.isfinite(values).all():
        return False  # (a counter is finite; inf - inf would warn)
    return bool(values[0] == np.round(values[0]) and np.all(np.diff(values) == 1.0))


def _is_never_computed(name: str, values: np.ndarray, fmt: str = "") -> bool:
    """An evaluation column that is NaN (not inf) in every row was never computed.

    Only asked when the training loss is finite somewhere; when it is NaN too, the NaN
    evaluation is part of the same blow-up.

    Only evaluation metrics get this benefit of the doubt (YOLOv8 writes ``nan`` val losses
    when validation skipped the loss); a training loss that is NaN everywhere is a real
    blow-up from the first logged step (pytorch/examples word LM, RNN_RELU at lr 20).

    Only machine-written files get it: a text log prints what the trainer computed, so its
    ``val_loss: nan`` is a NaN (transtab issue 1: ``test val_loss: nan`` at both epochs while the
    train loss falls 7.02 -> 6.76).
    """
    if fmt == "text-log":
        return False
    low = name.lower()
    return values.size > 1 and bool(np.isnan(values).all()) and any(h in low for h in _EVAL_HINT)


def step_unit_of(column: str) -> str:
    """The unit of one step for a step column's name (``timesteps`` -> ``timestep``)."""
    n = normalize(column)
    return next((u for name, u in STEP_NAMES if normalize(name) == n), "step")


def apply_roles(run: Run, roles: Mapping[str, str]) -> Run:
    """The run rebuilt with the user's ``role -> column`` choices (``step`` re-indexes it).

    Raises :class:`~lrdoctor.errors.InputError` naming the column when a role or a column
    does not exist, listing what does.
    """
    if not roles:
        return run
    raw = [n for n in run.metrics if n not in run.meta.added]
    for role, col in roles.items():
        if role not in ROLES:
            raise InputError(run.meta.source, f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        if col not in run.metrics:
            raise InputError(run.meta.source, f"--metric {role}={col}: no column {col!r}; columns: {', '.join(raw)}")
    meta = RunMeta(source=run.meta.source, format=run.meta.format, step_unit=run.meta.step_unit,
                   warnings=list(run.meta.warnings), text_columns=list(run.meta.text_columns),
                   explicit_roles=dict(run.meta.explicit_roles), step_column=run.meta.step_column,
                   printed_decimals=dict(run.meta.printed_decimals), repr_fields=list(run.meta.repr_fields))
    meta.explicit_roles.update(roles)
    meta.aliases = {k: v for k, v in run.meta.aliases.items() if k not in run.meta.added}
    steps = run.steps.astype(np.float64)
    cols = {n: run.metrics[n] for n in raw}
    logged = {n: run.logged[n] for n in raw}
    if "step" in roles:
        col = roles["step"]
        steps = np.where(run.logged[col], run.metrics[col], np.nan)
        meta.step_unit, meta.step_column = step_unit_of(col), col
    return build_run(steps, cols, logged, meta=meta, config=run.config, roles=meta.explicit_roles)
