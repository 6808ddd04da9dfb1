"""Per-step records (dicts) -> Run. Shared by HF, JSON Lines and text-log readers."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from lrdoctor.errors import printable
from lrdoctor.io._json import number
from lrdoctor.io._printed import Printed
from lrdoctor.io._table import duplicate_steps
from lrdoctor.names import STEP_NAMES, normalize
from lrdoctor.run import Run, RunMeta, build_run

__all__ = ["records_to_run", "RecordColumns"]

_STEP_KEYS: tuple[tuple[str, str], ...] = STEP_NAMES

#: How deep a record's nested groups are read (``{"eval": {"squad": {"f1": 88.1}}}`` is 2): a
#: logger nests by split and task, not deeper; a bound keeps a hostile record's cost linear.
MAX_NESTING = 4


#: mmcv's and mmengine 0.x's ``log.json`` name the loop that wrote each record in its ``"mode"``
#: field (``{"mode": "val", "epoch": 18, "iter": 19, "lr": 0.0004, "accuracy_top-1": 85.3}``), and
#: so does MACE's MetricsLogger (``"mode": "opt"`` for a training batch, ``"eval"`` for the
#: validation): the fields of a record of one of these modes are that evaluation's, not the training's
_EVAL_MODES = frozenset({"val", "test", "eval"})

#: a mode record's fields that say when it was written, not what it measured: they stay bare
_MODE_STAMPS = frozenset({"mode", "epoch", "iter", "lr"})


def _mode_fields(r: Mapping[str, Any]) -> Mapping[str, Any]:
    """``r`` with its measurements filed under its mode (``val/accuracy_top-1``) when its
    ``"mode"`` names an evaluation loop (:data:`_EVAL_MODES`); other records as they are."""
    mode = r.get("mode")
    if type(mode) is not str or mode not in _EVAL_MODES:
        return r
    return {(k if k in _MODE_STAMPS else f"{mode}/{k}"): v for k, v in r.items()}


class RecordColumns:
    """Records (dicts) turned into columns as they arrive, so that a reader never holds a
    list of millions of dicts: per numeric key, the rows and values it was logged at in
    typed arrays (16 bytes per value), plus the key statistics that choose the step key.
    :func:`records_to_run` is ``add`` for each record, then :meth:`to_run`."""

    def __init__(self) -> None:
        self.n = 0
        self.present: dict[str, Any] = {}
        self.first_at: dict[str, int] = {}
        self._norm: dict[Any, str] = {}
        self.rows_of: dict[Any, array] = {}
        self.vals_of: dict[Any, array] = {}
        #: per raw key: [records that had it, its rows' append, its values' append]; one
        #: dict lookup per field is the whole per-field cost (the parser's hot loop)
        self._slots: dict[Any, list] = {}
        #: the text reader's cached line shapes (``append_spans``) -> their keys' sinks
        self._span_sinks: dict[tuple, tuple] = {}
        #: raw key -> most decimals a text reader saw printed (from ``Printed`` values, and
        #: noted once per line shape by the text reader's cache)
        self.decimals: dict[Any, int] = {}
        #: raw keys a text reader read from a Python repr (exact values: ``RunMeta.repr_fields``)
        self.repr_keys: set[Any] = set()
        #: what a reader noticed while filling the columns, for ``RunMeta.warnings``
        self.warnings: list[str] = []
        #: False when the records are not in the order they were logged (a listing of checkpoint
        #: files is in name order, "epoch=10" before "epoch=2"): their steps are sorted, and a
        #: step that goes back is no restart
        self.rows_in_order = True
        #: the table layout a text-log reader recognised (``RunMeta.layout``)
        self.layout = ""

    def __len__(self) -> int:
        return self.n

    @property
    def count(self) -> dict[str, int]:
        """Records that had each normalized key."""
        out: dict[str, int] = {}
        for k, slot in self._slots.items():
            nk = self._norm[k]
            out[nk] = out.get(nk, 0) + slot[0]
        return out

    def append(self, r: Mapping[str, Any]) -> None:
        """Add one record (named ``append`` so a reader can fill it like a list)."""
        i = self.n
        self.n = i + 1
        slots = self._slots
        if "mode" in r:
            r = _mode_fields(r)
        for k, v in r.items():
            t = type(v)
            if t is dict:
                self._nested(k, v, i, 1)
                continue
            slot = slots.get(k)
            if slot is None:
                slot = self._new_key(k, i)
            slot[0] += 1
            if t is float:
                x = v
            elif t is int:
                x = float(v)
            elif t is Printed:
                x = float(v)
                if v.decimals > self.decimals.get(k, -1):
                    self.decimals[k] = v.decimals
            else:
                x = number(v)
                if x is None:
                    continue
            if slot[1] is None:
                rows, vals = self.rows_of[k], self.vals_of[k] = array("q"), array("d")
                slot[1], slot[2] = rows.append, vals.append
            slot[1](i)
            slot[2](x)

    def _nested(self, prefix: Any, group: dict, i: int, depth: int) -> None:
        """File a nested group's numbers as ``prefix/key`` fields of record ``i`` (``{"train":
        {"loss": 2.3}}`` is ``train/loss``, as TensorBoard and W&B name it), down to
        :data:`MAX_NESTING` levels."""
        if depth > MAX_NESTING:
            return
        for k, v in group.items():
            key = f"{prefix}/{k}"
            if type(v) is dict:
                self._nested(key, v, i, depth + 1)
                continue
            x = float(v) if type(v) in (float, int) else number(v)
            if x is None:
                continue
            slot = self._slots.get(key)
            if slot is None:
                slot = self._new_key(key, i)
            slot[0] += 1
            if slot[1] is None:
                rows, vals = self.rows_of[key], self.vals_of[key] = array("q"), array("d")
                slot[1], slot[2] = rows.append, vals.append
            slot[1](i)
            slot[2](x)

    def append_spans(self, spans: tuple[tuple[str, int, int], ...], line: str) -> bool:
        """Add the record whose fields are the numbers at ``spans`` ((key, start, end), ...) of
        ``line``: the text reader's fast path for a line shape it has read before, whose keys
        all hold numbers already. False (nothing added) when a key is new or a span is not a
        plain float; the caller then builds the record and calls :meth:`append`."""
        sinks = self._span_sinks.get(spans)
        if sinks is None:
            sinks = self._span_sinks[spans] = self._sinks_of(spans)
        if not sinks:
            return False
        try:
            xs = [float(line[a:b]) for _, a, b in spans]
        except ValueError:  # "1,000", "nanxxx": the caller's general path reads them
            return False
        i = self.n
        self.n = i + 1
        for (slot, rows, vals), x in zip(sinks, xs):
            slot[0] += 1
            rows(i)
            vals(x)
        return True

    def append_block(self, spans: tuple[tuple[str, int, int], ...], lines: list[str]) -> bool:
        """:meth:`append_spans` for many lines of one shape at once: lines of one cached shape
        are the same characters but for their digits, so the same length, and their fields sit
        in the same columns of the block they make; numpy reads each column's numbers in C.
        ASCII lines only. False (nothing added) where :meth:`append_spans` would refuse one."""
        sinks = self._span_sinks.get(spans)
        if sinks is None:
            sinks = self._span_sinks[spans] = self._sinks_of(spans)
        if not sinks:
            return False
        m, width = len(lines), len(lines[0])
        grid = np.frombuffer("".join(lines).encode("ascii"), dtype=np.uint8)
        if grid.size != m * width:
            return False
        grid = grid.reshape(m, width)
        try:
            cols = [np.ascontiguousarray(grid[:, a:b]).view(f"S{b - a}").ravel().astype(np.float64) for _, a, b in spans]
        except ValueError:  # "1,000", "nanxxx": the caller's line-by-line path reads them
            return False
        i = self.n
        self.n = i + m
        rows = np.arange(i, i + m, dtype=np.int64).tobytes()
        for (k, _, _), (slot, _, _), col in zip(spans, sinks, cols):
            slot[0] += m
            self.rows_of[k].frombytes(rows)
            self.vals_of[k].frombytes(col.tobytes())
        return True

    def _sinks_of(self, spans: tuple[tuple[str, int, int], ...]) -> tuple:
        """Per span, (its key's slot, rows' append, values' append); () when a key has no numeric
        column yet."""
        out = []
        for k, _, _ in spans:
            slot = self._slots.get(k)
            if slot is None or slot[1] is None:
                return ()
            out.append((slot, slot[1], slot[2]))
        return tuple(out)

    def _new_key(self, k: Any, i: int) -> list:
        nk = self._norm[k] = normalize(str(k))
        if nk not in self.present:
            self.present[nk], self.first_at[nk] = k, i
        slot = self._slots[k] = [0, None, None]
        return slot

    def refile_before(self, key: Any, row: int, new_key: str) -> bool:
        """File the values of raw ``key`` logged at rows before ``row`` under the new raw key
        ``new_key``, keeping the later ones under ``key``. False (nothing moved) when ``key`` has
        no numeric value on either side of ``row`` or ``new_key`` is taken."""
        if key not in self.rows_of or new_key in self._slots:
            return False
        rows, vals = self.rows_of[key], self.vals_of[key]
        cut = bisect_left(rows, row)
        if cut == 0 or cut == len(rows):
            return False
        early = self._new_key(new_key, rows[0])
        r0, v0, r1, v1 = rows[:cut], vals[:cut], rows[cut:], vals[cut:]
        self.rows_of[new_key], self.vals_of[new_key] = r0, v0
        early[0], early[1], early[2] = cut, r0.append, v0.append
        self.rows_of[key], self.vals_of[key] = r1, v1
        slot = self._slots[key]
        slot[0], slot[1], slot[2] = max(slot[0] - cut, len(r1)), r1.append, v1.append
        nk = self._norm[key]
        if self.present.get(nk) == key:
            self.first_at[nk] = r1[0]
        if key in self.decimals:
            self.decimals[new_key] = self.decimals[key]
        return True

    def release(self) -> None:
        """Drop the appenders (they hold the arrays), so that each array is freed as soon
        as its column is built."""
        for slot in self._slots.values():
            slot[1] = slot[2] = None
        self._span_sinks.clear()

    def has_raw_key(self, key: str) -> bool:
        """True when some record had exactly this field name."""
        return key in self._norm

    def epochs_from_trailers(self, marker: Any) -> None:
        """Turn the epoch trailers in ``marker`` into an ``epoch`` field of every record, in place:
        a trailer closes its epoch, so each record takes the epoch of the next trailer at or after
        it, and the records after the last trailer the epoch after it (an epoch cut short: FuxiCTR
        stops early without a closing line). A log that prints its own ``epoch`` field keeps it,
        and the trailers are dropped."""
        if marker not in self.rows_of:
            return
        rows = np.frombuffer(self.rows_of.pop(marker), dtype=np.int64)
        vals = np.frombuffer(self.vals_of.pop(marker), dtype=np.float64)
        nk = self._norm.pop(marker)
        self._slots.pop(marker, None)
        if self.present.get(nk) == marker:
            del self.present[nk], self.first_at[nk]
        if rows.size == 0:
            return
        ep = np.full(self.n, np.nan)
        ep[rows] = vals
        ep = _carried(ep[::-1])[::-1]  # each record: the next trailer's epoch
        ep[rows[-1] + 1:] = vals[-1] + 1
        own = self.present.get("epoch")
        if own is not None:
            if own not in self.rows_of:
                return
            at = np.frombuffer(self.rows_of[own], dtype=np.int64)
            if not np.array_equal(ep[at], np.frombuffer(self.vals_of[own], dtype=np.float64)):
                return  # the log's own epoch field says otherwise: it stays the axis
            # (FuxiCTR prints "Epoch=1 start" once, then closes every epoch with a trailer)
        else:
            own = "epoch"
            self._new_key(own, 0)
        self._slots[own][0] = self.n
        self.rows_of[own], self.vals_of[own] = array("q", range(self.n)), array("d", ep.tolist())

    def to_run(
        self,
        meta: RunMeta,
        *,
        config: Mapping[str, Any] | None = None,
        step_keys: Iterable[tuple[str, str]] = _STEP_KEYS,
        check_duplicates: bool = False,
        lines: Sequence[int] | None = None,
    ) -> Run:
        """The run; see :func:`records_to_run` for the arguments."""
        return _columns_to_run(self, meta, config, list(step_keys), check_duplicates, lines)


def records_to_run(
    records: Iterable[Mapping[str, Any]],
    meta: RunMeta,
    *,
    config: Mapping[str, Any] | None = None,
    step_keys: Iterable[tuple[str, str]] = _STEP_KEYS,
    check_duplicates: bool = False,
    lines: Sequence[int] | None = None,
) -> Run:
    """Each record is one logging event; numeric fields become metrics, others are ignored.

    Field names are shown through :func:`~lrdoctor.errors.printable` (no escape codes reach a
    terminal). ``check_duplicates`` reports a record that repeats the previous record's
    step with a different value (JSON Lines loggers write one record per step; text logs
    carry steps forward and legitimately repeat them).
    """
    if isinstance(records, RecordColumns):
        acc = records
    else:
        acc = RecordColumns()
        for r in records:
            acc.append(r)
    return acc.to_run(meta, config=config, step_keys=step_keys, check_duplicates=check_duplicates, lines=lines)


def _constant(acc: "RecordColumns", key: str) -> bool:
    """A key holding one value on three or more records (HF's ``epoch: 0.0`` on every row of a
    run shorter than an epoch's first hundredth) indexes nothing: rows stay in log order."""
    vals = acc.vals_of.get(key)
    if vals is None:
        return False
    v = np.frombuffer(vals, dtype=np.float64)
    return v.size >= 3 and bool(np.all(v == v[0]))


def _repeats(acc: "RecordColumns", key: str) -> bool:
    """True when ``key`` holds the same value on consecutive records of one metric (other
    than the step keys themselves): it does not tell those records apart."""
    if key not in acc.rows_of:
        return False
    steps = _dense(acc, key)
    for other, rows in acc.rows_of.items():
        if other == key or len(rows) < 3 or _constant(acc, other):
            continue  # a constant column (MXNet's ``Node[0]`` on every line) tells no records apart
        at = steps[np.frombuffer(rows, dtype=np.int64)]
        at = at[~np.isnan(at)]
        if at.size >= 3 and bool((at[1:] == at[:-1]).any()):
            return True
    return False


def _carried(x: np.ndarray) -> np.ndarray:
    """``x`` with each NaN replaced by the last value before it (NaN where there is none)."""
    idx = np.where(np.isnan(x), 0, np.arange(x.size))
    np.maximum.accumulate(idx, out=idx)
    return x[idx]


def _dense(acc: "RecordColumns", key: Any) -> np.ndarray:
    """``key``'s values on every record (NaN where a record lacks it)."""
    out = np.full(acc.n, np.nan)
    out[np.frombuffer(acc.rows_of[key], dtype=np.int64)] = np.frombuffer(acc.vals_of[key], dtype=np.float64)
    return out


def _restarts_with_epoch(acc: "RecordColumns", key: Any, epoch_key: Any) -> bool:
    """True when ``key`` goes back only where the epoch key goes forward (or repeats, an epoch
    printed twice, as long as it goes forward somewhere): a counter within the epoch ("Epoch 2,
    Step 0"), which as the axis would file epoch 2's reports over epoch 1's.
    A counter that never goes forward where the epoch does (flair's "epoch 28 - iter 1/1",
    "epoch 29 - iter 1/1": one batch per epoch) counts within the epoch as well."""
    if key == epoch_key or key not in acc.rows_of or epoch_key not in acc.rows_of:
        return False
    st = _dense(acc, key)
    ep = _carried(_dense(acc, epoch_key))  # an epoch on a header line ("epoch 2/10") holds for the lines below it
    both = np.isfinite(st) & np.isfinite(ep)
    s, e = st[both], ep[both]
    back = np.flatnonzero(np.diff(s) < 0)
    if back.size:
        # (an epoch printed twice goes back without the epoch moving: UWARG's bootcamp terminal
        # shows "Epoch [1/10], Step [2000/12500]" ... twice over; later rows win at each step)
        return bool((e[back + 1] >= e[back]).all() and (e[back + 1] > e[back]).any())
    turn = np.flatnonzero(np.diff(e) > 0)  # each epoch change, where a within-epoch counter restarts
    return turn.size > 0 and bool((np.diff(s)[turn] == 0).all())


def _epoch_and_counter(acc: "RecordColumns", epoch_key: Any, within: Any) -> np.ndarray | None:
    """One step axis from an epoch and a counter that restarts with it: (epoch - first epoch) x
    N + counter, N the counter's largest value (+1 when it counts from 0). Filed under the epoch
    alone, every report of an epoch would fall on one step and all but its last be lost (MONAI's
    "1/243, train_loss: 0.9906" lines under "epoch 1/10"). Records without the counter get NaN
    (the step is carried forward to them)."""
    e, b = _dense(acc, epoch_key), _dense(acc, within)
    if not np.isfinite(b).any() or not np.isfinite(e).any():
        return None
    e = _carried(e)  # the epoch carried forward from its header line
    lo, hi = float(np.nanmin(b)), float(np.nanmax(b))
    n = hi + (1.0 if lo == 0 else 0.0)
    out = (e - float(np.nanmin(e))) * n + b
    return out if np.isfinite(out).any() else None


def _alone(acc: "RecordColumns", key: Any) -> bool:
    """True when the records that have ``key`` hold no field that other records have too: a
    heading line ("Starting training from iteration 0" is {starting_training_from_iteration: 0,
    iteration: 0}), not a report (fairseq's one line with ``num_updates`` beside its losses)."""
    raw = [k for k in acc.rows_of if normalize(str(k)) == normalize(str(key))]
    rows = {int(r) for k in raw for r in acc.rows_of[k]}
    for k, rs in acc.rows_of.items():
        if k in raw or len(rs) <= len(rows):
            continue  # (a field no other record has is part of the heading)
        for r in rows:
            j = bisect_left(rs, r)
            if j < len(rs) and rs[j] == r:
                return False
    return True


def _pick_step(acc: "RecordColumns", usable: list[tuple[Any, str]]) -> tuple[Any, str] | None:
    """The step key among ``usable`` (in order of preference). A key that repeats on
    consecutive records of one metric is too coarse to index them when another one does not
    (LitGPT prints ``iter`` per micro-batch and ``step`` per optimizer step: ``step`` would
    merge four losses into one row). An epoch key that repeats with no finer key beside it
    (HF Trainer's dicts with the epoch rounded to two decimals, four rows at 0.17) indexes
    nothing: rows stay in log order. Any other repeated key is a duplicate to warn about
    (``check_duplicates``), not a coarse axis."""
    if not usable:
        return None
    # a step key on one record only, that record holding nothing else, beside a key on many, is a
    # heading, not the axis ("[STEP 2] Training the autoencoder..." above MATLAB's table of iterations)
    counts = acc.count
    many = [(k, u) for k, u in usable if counts.get(normalize(str(k)), 0) > 1 or not _alone(acc, k)]
    if many and len(many) < len(usable):
        usable = many
    elif not many and acc.n > 2 and any(c > 1 for c in counts.values()):
        return None  # the log's only step key is one heading above rows that repeat a field
        # ("********* Iteration 10 ****" above baselines' table of optimisation epochs): it indexes
        # nothing, rows stay in log order. (Fields printed once each are one report at that step:
        # nnU-Net's "Epoch 195" with its train_loss, val_loss and pseudo Dice lines.)
    fine = [(k, u) for k, u in usable if not _repeats(acc, k)] if len(usable) > 1 or usable[0][1] == "epoch" else usable
    if fine:
        return fine[0]
    return None if usable[0][1] == "epoch" else usable[0]


#: column names that are only a split's name ("Train: 0.5455, Val: 0.5342"); "dev" is the held-out split
#: of Kaldi, ESPnet and GLUE (funcwj's Conv-TasNet: "train = -3.6581 | dev = -5.9427"; since stop 77)
BARE_SPLITS = ("train", "learn", "val", "valid", "dev", "test")


def resolve_bare_splits(cols: dict, masks: dict) -> None:
    """Name columns that a log printed under a split's name alone, in place. Two or more such
    columns are one metric per split: accuracies when the training one rises over the run
    (PyG and DGL examples: "Train: 0.5455, Val: 0.5342, Test: 0.4670"), losses when it falls
    (LLMs-from-scratch: "Train: 9.535, Val: 9.609"; CatBoost: "learn: 0.68  test: 0.69"). The direction compares the medians of
    the first and last thirds; with fewer than 3 values it stays an accuracy (the PyG case,
    which this reader knew first)."""
    bare = [k for k in cols if isinstance(k, str) and k.lower() in BARE_SPLITS]
    if len(bare) < 2 and not (bare and bare[0].lower() == "learn"):
        return  # (CatBoost's "learn" stands alone when no eval set is given: no other trainer prints the word bare)
    lead = next((k for k in bare if k.lower() in ("train", "learn")), bare[0])  # CatBoost says "learn"
    x = cols[lead][masks[lead]]
    x = x[np.isfinite(x)]
    third = x.size // 3
    falls = third >= 1 and float(np.median(x[-third:])) < float(np.median(x[:third]))
    suffix = "_loss" if falls else "_acc"
    for k in bare:
        if k + suffix in cols:
            continue  # a column the log named itself ("train acc: 0.0754") is not overwritten by a guess
        cols[k + suffix], masks[k + suffix] = cols.pop(k), masks.pop(k)


def resolve_gan_letters(cols: dict, masks: dict) -> None:
    """Name a GAN's two losses printed as single letters, in place: lucidrains' GAN trainers
    (stylegan2-pytorch, lightweight-gan) print "G: 1.09 | D: 0.42 | GP: 69.44" on their progress
    bar. Only when both letters are there: a lone "d" or "g" names nothing."""
    g = next((k for k in cols if isinstance(k, str) and k.lower() == "g"), None)
    d = next((k for k in cols if isinstance(k, str) and k.lower() == "d"), None)
    if g is None or d is None or "g_loss" in cols or "d_loss" in cols:
        return
    for old, new in ((g, "g_loss"), (d, "d_loss")):
        cols[new], masks[new] = cols.pop(old), masks.pop(old)


#: separation scores in dB that a trainer may log negated as its loss
_SEPARATION_SCORES = ("snr", "sdr", "sisnr", "sisdr")


def resolve_negated_scores(cols: dict, masks: dict) -> None:
    """Name a separation score that is logged negated, as the loss it is, in place: SpeechBrain's
    separation recipes (SepFormer, DPRNN, Conv-TasNet) log their objective, the *negative*
    SI-SNR, under the score's name ("train si-snr: -1.22e+01 - valid si-snr: -1.21e+01"), so a
    model that separates better prints a lower number. A score in dB is negative only for an
    output worse than its input, which no trained separator holds on average, so a column named
    after SI-SNR/SDR whose median over the run is negative is that loss: it becomes
    ``<name>_loss`` (the evaluation's when the name carries a split word). A positive median is
    the score itself and keeps its name."""
    from lrdoctor.names import tokens

    for k in list(cols):
        t = tokens(str(k)) if isinstance(k, str) else []
        if not any(w in _SEPARATION_SCORES for w in t) or any("loss" in w for w in t):
            continue
        x = cols[k][masks[k]]
        x = x[np.isfinite(x)]
        if x.size and float(np.median(x)) < 0:
            cols[f"{k}_loss"], masks[f"{k}_loss"] = cols.pop(k), masks.pop(k)


def _runs(x: np.ndarray) -> np.ndarray:
    """Lengths of the runs of exactly equal consecutive values of ``x``."""
    cut = np.flatnonzero(x[1:] != x[:-1]) + 1
    return np.diff(np.r_[0, cut, x.size])


def drop_carried(cols: dict, masks: dict, meta: RunMeta) -> None:
    """Keep a loss column only where it changed, when it repeats in runs of one regular length:
    a loss logged every L reports and printed on every report in between, as HF Trainer's
    results table does when ``logging_steps`` exceeds ``eval_steps`` ("3.1829" on five rows,
    then "0.2215" on five). The repeats are one measurement carried along, not the same loss
    measured again, and read as measurements they make a learning model look frozen. Judged
    on the logged values: at least three runs, every run but the first and last exactly L >= 2
    long, the first and last at most L (cut by the log's ends). A loss frozen for the whole log
    is one run and stays as it is; repeats by coarse rounding come in runs of irregular length."""
    from lrdoctor.names import loss_term_kind

    for k in list(cols):
        if loss_term_kind(str(k)) is None:
            continue
        rows = np.flatnonzero(masks[k] & np.isfinite(cols[k]))
        x = cols[k][rows]
        if x.size < 4 or not bool((x[1:] == x[:-1]).any()):
            continue  # (the usual case: no value repeats on the next report)
        runs = _runs(x)
        if runs.size < 3:
            continue
        period = int(runs[1])
        if period < 2 or bool((runs[1:-1] != period).any()) or runs[0] > period or runs[-1] > period:
            continue
        starts = np.r_[0, np.cumsum(runs)[:-1]]
        keep = np.zeros_like(masks[k])
        keep[rows[starts]] = True
        masks[k] = masks[k] & keep
        cols[k] = np.where(keep, cols[k], np.nan)
        meta.warnings.append(f"{printable(str(k))!r} repeats each value on {period} consecutive reports: read as "
                             f"logged once every {period} reports and carried along ({x.size - runs.size} repeat(s) dropped)")


#: The fewest different values at which a training loss must print the evaluation loss's value, to
#: every digit, to be read as a copy of it (:func:`drop_copied_loss`): three, the fewest points of a
#: curve the detectors judge (as ``diffview.DIFF_MIN_ROWS``). Different values, not rows: two
#: losses rounded to 0.0001 and then 0.0 agree by their rounding (Whisper memorising a tiny set,
#: its evaluation set inside the training one), not by a copy
COPIED_LOSS_MIN_ROWS = 3


#: a Hugging Face Trainer results table's two loss columns, as the text reader names them
_TRAINER_LOSSES = ("training_loss", "validation_loss")


def drop_copied_loss(cols: dict, masks: dict, meta: RunMeta) -> None:
    """Drop, in place, the "Training Loss" column of a Hugging Face Trainer results table that
    repeats its "Validation Loss": logged at the same rows and equal to every printed digit at
    each, over at least :data:`COPIED_LOSS_MIN_ROWS` different values. The Trainer's training
    loss is the mean of the training batches' losses since the last log (dropout on, weights
    moving), its validation loss one pass over the evaluation set: the two never agree to every
    digit evaluation after evaluation, so the column is a copy (a hand-edited card: XLS-R
    Assamese's prints "1.584065 | NA | 400 | 1.584065" on all 12 rows), and read as the training
    loss it made the evaluation's rise a training loss that diverged. Only the Trainer's pair:
    a loop that evaluates its training points in full (DeepXDE's "Train loss" and "Test loss",
    the same when the test points are the training ones) prints two equal losses of its own."""
    t, e = _TRAINER_LOSSES
    if t not in cols or e not in cols or not np.array_equal(masks[t], masks[e]):
        return
    x, y = cols[t][masks[t]], cols[e][masks[e]]
    fin = np.isfinite(x) & np.isfinite(y)
    if np.unique(x[fin]).size < COPIED_LOSS_MIN_ROWS or not np.array_equal(x[fin], y[fin]):
        return
    del cols[t], masks[t]
    meta.warnings.append(f"{t!r} repeats {e!r} at every row: read as a copy of the evaluation loss, not a training loss")


#: Swapped evaluation columns (:func:`unswap_columns`): both columns move at least this factor at
#: one row, each onto the other's level. Three times in both at once, in opposite directions, is no
#: evaluation-to-evaluation change of a trained model's loss and accuracy (a fine-tune's best epoch
#: moves its validation loss by tens of percent), while the trade of a loss near 0.05 and an accuracy
#: near 0.98 is 20x either way.
SWAP_JUMP = 3.0

#: ...each landing within this factor of the other column's value at the row before, and the two
#: rows before it within this factor of each other in each column (the columns had settled: a
#: first-epoch jump from 0.71 to 0.09 beside a precision from 0.13 to 0.96 is learning, not a trade).
#: 3, not 2: a loss that still improves 2.7x as it trades places (BreakHis ConvNeXt-V2: 0.1375, then
#: 0.0511 in the accuracy's cell) is the same trade.
SWAP_MATCH = 3.0

#: column names of a results table's evaluation columns (HF Trainer cards)
_EVAL_PREFIXES = ("eval_", "validation_", "val_", "valid_")


def _within(a: float, b: float, factor: float) -> bool:
    return a > 0 and b > 0 and max(a / b, b / a) <= factor


def unswap_columns(cols: dict, masks: dict, meta: RunMeta) -> None:
    """Put back evaluation values that a model card's table printed under each other's heading, in
    place. Hugging Face's card generator writes the header from the first evaluation's metric names
    and each row in its own evaluation's key order, so after a resumed run the values of two columns
    can trade places on every later row (a SMILES DeBERTa: "Accuracy" 0.9882 and "Validation Loss"
    0.0293 at 400k steps, then 0.0277 under "Accuracy" and 0.9887 under "Validation Loss"). Read as
    printed, the held-out loss jumps 30x and the accuracy collapses: an overfitting or a reversal that
    never happened. Judged on the values: at a row where two evaluation columns, at levels at least
    ``SWAP_JUMP`` x apart on the row before, each move at least ``SWAP_JUMP`` x, each onto the
    other's previous value within ``SWAP_MATCH``, after two rows on which each column held its level
    within ``SWAP_MATCH``, the two cells are swapped back. The order
    then holds: each later row is read swapped when that puts both cells nearer the (repaired) row
    before it."""
    if "validation_loss" not in cols:
        return  # only a results table under the card generator's "Validation Loss" heading (a Keras log
        # prints each key by name on every line: its val_loss and val_precision, both near 0.1, can cross)
    names = [k for k in cols if isinstance(k, str) and k.startswith(_EVAL_PREFIXES)]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            rows = np.flatnonzero(masks[a] & masks[b] & np.isfinite(cols[a]) & np.isfinite(cols[b]))
            if rows.size < 3:
                continue
            x, y = cols[a][rows].copy(), cols[b][rows].copy()
            with np.errstate(divide="ignore", invalid="ignore"):
                jx, jy = np.abs(np.diff(np.log(np.abs(x)))), np.abs(np.diff(np.log(np.abs(y))))
            if not bool(((jx >= np.log(SWAP_JUMP)) & (jy >= np.log(SWAP_JUMP))).any()):
                continue  # (the usual case, judged at numpy speed: no row where both columns jump)
            swapped: list[int] = []
            for j in range(2, rows.size):
                pa, pb = x[j - 1], y[j - 1]
                if swapped and min(x[j], y[j], pa, pb) > 0:
                    # once the order changed it holds (the key order of every later evaluation): a
                    # row is read swapped when that puts it nearer the row before (a loss that
                    # spiked as it traded places: 0.0398 then 0.3474 under "Accuracy")
                    keep = abs(np.log(x[j] / pa)) + abs(np.log(y[j] / pb))
                    if abs(np.log(y[j] / pa)) + abs(np.log(x[j] / pb)) < keep:
                        x[j], y[j] = y[j], x[j]
                        swapped.append(j)
                    continue
                if not (_within(x[j - 2], pa, SWAP_MATCH) and _within(y[j - 2], pb, SWAP_MATCH)) or _within(pa, pb, SWAP_JUMP):
                    continue  # (columns on one level, a Keras val_loss and val_precision both near 0.1: no trade to see)
                if not (_within(x[j], pb, SWAP_MATCH) and _within(y[j], pa, SWAP_MATCH)):
                    continue
                if max(x[j] / pa, pa / x[j]) < SWAP_JUMP or max(y[j] / pb, pb / y[j]) < SWAP_JUMP:
                    continue
                x[j], y[j] = y[j], x[j]
                swapped.append(j)
            if swapped:
                cols[a][rows] = x
                cols[b][rows] = y
                meta.warnings.append(f"{printable(a)!r} and {printable(b)!r} trade places on {len(swapped)} row(s) from "
                                     f"record {int(rows[swapped[0]]) + 1} (each jumped {SWAP_JUMP:g}x or more onto the other's "
                                     "level): read swapped back, as the table's own key order misprinted them")


#: Most evaluation columns whose key order :func:`reorder_resumed_rows` searches: the orders of the
#: columns after the loss are (n-1)! (720 for 7), each judged at every row of the table; a card
#: with more evaluation columns is read as printed.
MAX_REORDERED = 7


def _trainer_key(name: str) -> str:
    """The Trainer's log key a results-table column was printed from, without its ``eval_``
    prefix ("validation_loss" was ``eval_loss``, "eval_gen_len" was ``eval_gen_len``)."""
    for prefix in _EVAL_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _reads_as_reordered(prev: np.ndarray, cur: np.ndarray, loss: int) -> bool:
    """Whether the row ``cur`` (log values, in the header's order) reads as the row ``prev``'s
    metrics in another order with the loss (column ``loss``) first: some such order brings every
    column it moves strictly nearer its value in ``prev`` than the cell printed under its heading."""
    from itertools import permutations

    printed = np.abs(cur - prev)
    for rest in permutations([i for i in range(cur.size) if i != loss]):
        back = np.argsort(np.array((loss, *rest)))  # column c's value is the row's cell back[c]
        moved = back != np.arange(cur.size)
        if bool((np.abs(cur[back] - prev)[moved] < printed[moved]).all()):
            return True
    return False


def reorder_resumed_rows(cols: dict, masks: dict, meta: RunMeta) -> None:
    """Put back, in place, the evaluation cells of a model card's results table whose later rows
    print the evaluation's keys in another order than the header. Hugging Face's card generator
    writes the header from the first evaluation's keys and each row in its own evaluation's key
    order; ``TrainerState.save_to_json`` writes ``trainer_state.json`` with ``sort_keys=True``, so
    after a run resumes from a checkpoint the evaluations logged before it come back with their keys
    sorted, and those logged after it keep the Trainer's own order, ``eval_loss`` first (the
    evaluation loop adds the loss and then moves every ``compute_metrics`` key behind it). The
    header then lists the keys sorted with the validation loss not first ("Gen Len | Validation Loss
    | Rouge1 ..."), and from one row on every row prints the loss first and the rest in the metrics'
    own order (a FLAN-T5 paraphraser: its validation loss read as 53.5, the ROUGE-1 score). Judged
    structurally: only such a header (keys in sorted order, the loss not first, three to
    ``MAX_REORDERED`` of them: two that trade places are :func:`unswap_columns`'). The order changes
    where the "Validation Loss" column takes its largest step (in log, larger than every other: a
    resume is the table's one break), and an order read back there puts the loss first and brings
    every column it moves strictly nearer its value on the row before than the cell printed under
    its heading (:func:`_reads_as_reordered`). From that row the loss is read from the first cell;
    the other metrics follow ``compute_metrics``' own order, which the file does not give (nearness
    does not settle it: an accuracy and an F1 both near 0.86), so their cells from that row are
    dropped rather than read under a guessed name."""
    if "validation_loss" not in cols:
        return
    names = [k for k in cols if isinstance(k, str) and k.startswith(_EVAL_PREFIXES)]
    keys = [_trainer_key(n).lower() for n in names]
    if not 3 <= len(names) <= MAX_REORDERED or keys != sorted(keys) or keys[0] == "loss":
        return  # (two columns that trade places are unswap_columns' to judge)
    ok = np.ones(next(iter(cols.values())).size, dtype=bool)
    for n in names:
        ok &= masks[n] & np.isfinite(cols[n]) & (cols[n] > 0)
    rows = np.flatnonzero(ok)
    if rows.size < 3:
        return  # (the order changes at the loss's one jump that stands out: two steps to compare at least)
    x = np.log(np.stack([cols[n][rows] for n in names], axis=1))
    loss = names.index("validation_loss")
    jumps = np.abs(np.diff(x[:, loss]))
    t = int(np.argmax(jumps))
    if int((jumps == jumps[t]).sum()) > 1:
        return
    prev, cur = x[t], x[t + 1]
    if not _reads_as_reordered(prev, cur, loss):
        return
    block = rows[t + 1:]
    # the loss is the row's first cell; the other metrics' order is ``compute_metrics``' own, which
    # the file does not give (a seqeval tagger's recall 0.7172 beside its accuracy 0.7698 fits the
    # row before either way): their cells in the block carry no name and are dropped
    cols["validation_loss"][block] = cols[names[0]][block]
    for n in names:
        if n != "validation_loss":
            cols[n][block] = np.nan
            masks[n][block] = False
    meta.warnings.append(f"the results table's rows from record {int(block[0]) + 1} print the evaluation's keys in the "
                         "Trainer's own order (the loss first) under a header of sorted keys (a run resumed from "
                         "its checkpoint): the loss read from the first cell, the other metrics' cells dropped "
                         "(their order is not in the file)")


#: Rows a pair of columns must take turns on before their "nan" cells read as empty ones: three
#: turns each way (fewer is no pattern: one NaN in each of two columns can be two real events).
MIN_TURNS = 3


def nan_as_empty(cols: dict, masks: dict, meta: RunMeta) -> None:
    """Read the "nan" cells of a sparse table as empty cells, in place: a table that prints one row
    per report, training rows and validation rows alike, fills the columns a row does not report
    with "nan" (pandas' ``to_string`` of a log history; casanovo: "20000 nan 1.594399" then
    "33440 1.816622 nan"). Judged by structure, not value: two columns that *take turns*, never
    both a number on one row, one a number and the other NaN on at least ``MIN_TURNS`` rows each
    way. The NaN beside the other's number is an empty cell; a row where both are NaN is a real
    NaN (a run that blows up stops reporting numbers in either column)."""
    fin = {k: np.isfinite(cols[k]) & masks[k] for k in cols}
    nan = {k: np.isnan(cols[k]) & masks[k] for k in cols}
    # (a column takes turns only with MIN_TURNS+ of each; most columns have no NaN at all)
    keys = [k for k in cols if int(nan[k].sum()) >= MIN_TURNS and int(fin[k].sum()) >= MIN_TURNS]
    empty: dict = {}
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            a_only, b_only = fin[a] & nan[b], fin[b] & nan[a]
            if (fin[a] & fin[b]).any() or int(a_only.sum()) < MIN_TURNS or int(b_only.sum()) < MIN_TURNS:
                continue
            # the "nan" beside the other column's number is an empty cell; a row where both are
            # NaN stays NaN (the run blew up: from then on neither column reports a number)
            empty[a] = empty.get(a, False) | b_only
            empty[b] = empty.get(b, False) | a_only
    for k, cells in empty.items():
        masks[k] = masks[k] & ~cells
    if empty:
        meta.warnings.append(f"columns {', '.join(sorted(repr(printable(str(k))) for k in empty))} take turns "
                             "(each row reports one of them, 'nan' in the other): read the 'nan' cells as empty")


def _columns_to_run(acc: RecordColumns, meta: RunMeta, config: Mapping[str, Any] | None,
                    keys: list[tuple[str, str]], check_duplicates: bool, lines: Sequence[int] | None) -> Run:
    present, first_at, count, rows_of, vals_of = acc.present, acc.first_at, acc.count, acc.rows_of, acc.vals_of
    acc.release()
    # a step key must index the run: present from early on, or on most records (a test
    # phase's "Episode 1: reward ..." lines at the end of a log index nothing before them)
    n_rec = max(1, acc.n)
    usable = [(present[normalize(k)], u) for k, u in keys if normalize(k) in present
              and (first_at[normalize(k)] <= 0.2 * n_rec or count[normalize(k)] >= 0.5 * n_rec)
              and not _constant(acc, present[normalize(k)])]
    epoch_key = present.get("epoch")
    within = None  # a counter that restarts with each epoch ("epoch 2/10" then "1/243, train_loss: ...")
    if epoch_key is not None:
        restarting = [(k, u) for k, u in usable if u != "epoch" and _restarts_with_epoch(acc, k, epoch_key)]
        usable = [(k, u) for k, u in usable if (k, u) not in restarting]
        within = restarting[0][0] if restarting else None
    step_key, unit = _pick_step(acc, usable) or (None, "record")
    combined = _epoch_and_counter(acc, epoch_key, within) if within is not None and step_key in (epoch_key, None) else None
    if combined is not None:
        step_key, unit = f"{epoch_key}+{within}", "step"
    meta.step_unit = unit
    meta.step_column = step_key
    meta.warnings.extend(acc.warnings)
    meta.printed_decimals.update({str(k): d for k, d in acc.decimals.items()})
    meta.repr_fields.extend(sorted(str(k) for k in acc.repr_keys))
    n = acc.n
    cols: dict[Any, np.ndarray] = {}
    masks: dict[Any, np.ndarray] = {}
    # each key's typed arrays are released as soon as its column is built, so the peak is
    # the columns plus one key's arrays, not the columns plus all of them (the accumulator
    # is spent: a run is built from it once)
    for k in list(rows_of):
        rows, vals = rows_of.pop(k), vals_of.pop(k)
        idx = np.frombuffer(rows, dtype=np.int64)
        if idx.size == n:  # logged on every record: rows are 0..n-1 in order
            col = np.frombuffer(vals, dtype=np.float64).copy()
            mk = np.ones(n, dtype=bool)
        else:
            col = np.full(n, np.nan)
            col[idx] = np.frombuffer(vals, dtype=np.float64)
            mk = np.zeros(n, dtype=bool)
            mk[idx] = True
        del idx, rows, vals
        cols[k], masks[k] = col, mk
    if combined is not None:
        cols[step_key], masks[step_key] = combined, np.isfinite(combined)
    from lrdoctor.io.yolo import add_totals, is_yolo_header

    if is_yolo_header([str(k) for k in cols]):
        add_totals(cols, masks, meta)  # YOLO's results columns pasted as text: its loss is their sum
    rank_key = next((k for k in cols if normalize(str(k)) in ("rank", "local_rank", "global_rank")), None)
    if rank_key is not None:
        r, rm = cols[rank_key], masks[rank_key]
        ranks = np.unique(r[rm & np.isfinite(r)])
        if ranks.size >= 2:
            # several processes print the same report (WeNet's "... rank 0" / "rank 1" lines):
            # keep the lowest rank's records (the one that logs), and records with no rank
            keep = ~rm | (r == ranks[0])
            meta.warnings.append(f"records of {ranks.size} ranks interleave: kept rank {ranks[0]:g}'s "
                                 f"({int((~keep).sum())} other-rank record(s) dropped)")
            cols = {k: v[keep] for k, v in cols.items()}
            masks = {k: v[keep] for k, v in masks.items()}
            n = int(keep.sum())
            if step_key in cols and masks[step_key].sum() == 0:
                step_key = None
    if step_key is None:
        # with rows as steps, a row identical to the one before it in every column is the same
        # report printed again (every host of a multi-node job prints it): keep one
        if n > 1 and cols:
            same = np.ones(n - 1, dtype=bool)
            for k in cols:
                c, mk = cols[k], masks[k]
                same &= (mk[1:] == mk[:-1]) & ((c[1:] == c[:-1]) | (np.isnan(c[1:]) & np.isnan(c[:-1])) | ~mk[1:])
            if same.any():
                keep = np.r_[True, ~same]
                meta.warnings.append(f"{int(same.sum())} row(s) repeat the row before them exactly "
                                     "(a report printed by several processes): kept once")
                cols = {k: v[keep] for k, v in cols.items()}
                masks = {k: v[keep] for k, v in masks.items()}
                n = int(keep.sum())
        steps = np.arange(n, dtype=np.float64)
    elif step_key in cols:
        steps = cols[step_key].copy()
    else:
        steps = np.full(n, np.nan)
    if check_duplicates and step_key:
        dup = duplicate_steps(steps, cols, masks, skip=step_key)
        if dup is not None:
            row, repeats, step, col = dup
            where = f"{printable(meta.source.rsplit('/', 1)[-1])}:{lines[row]}" if lines else f"record {row + 1}"
            meta.warnings.append(f"{where}: step {step:g} is logged again with a different {col!r} "
                                 f"({repeats} such repeated step(s)); the last record at each step wins")
    if step_key and np.isnan(steps).any():
        # carry the last known step forward (e.g. text lines without their own counter)
        filled = _carried(steps)
        lost = int(np.isnan(filled).sum())
        if lost:
            meta.warnings.append(f"{lost} record(s) before the first {step_key!r} were dropped")
        steps = filled
    resolve_bare_splits(cols, masks)
    resolve_negated_scores(cols, masks)
    resolve_gan_letters(cols, masks)
    drop_carried(cols, masks, meta)
    drop_copied_loss(cols, masks, meta)
    nan_as_empty(cols, masks, meta)
    reorder_resumed_rows(cols, masks, meta)
    unswap_columns(cols, masks, meta)
    shown = {k: printable(str(k)) for k in cols}
    if any(k != v for k, v in shown.items()):
        cols = {shown[k]: v for k, v in cols.items()}
        masks = {shown[k]: v for k, v in masks.items()}
    return build_run(steps, cols, masks, meta=meta, config=config, rows_in_order=acc.rows_in_order)
