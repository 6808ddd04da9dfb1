"""Helpers the slow_progress rules share: the LR's share of its peak, the live loss, printed digits, frozen tails."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import numpy as np

from lrdoctor.detect._common import objective, perplexity_beside
from lrdoctor.detect._stats import run_curve, tail_start, trend_p_down
from lrdoctor.run import Run, Series

if TYPE_CHECKING:
    from lrdoctor.detect.progress import ProgressThresholds


def _lr_share(run: Run, a: float, b: float) -> float | None:
    c = run_curve(run, "lr")  # bin medians: an LR share needs no per-step precision
    if c is None or c.hi.max() <= 0:
        return None
    m = (c.step >= a) & (c.first <= b)
    vals = c.mid[m] if m.any() else c.mid
    return float(np.median(vals) / c.hi.max())


def fell_materially(v: np.ndarray, th: ProgressThresholds) -> bool:
    """True when the ratio-scale series ``v`` (a loss, an error rate: 0 is nothing wrong) ends at least
    ``material_fall`` (a fifth) below its positive first report and falls with a downward Mann-Kendall
    trend at ``rate_trend_p``: a material improvement, and not one lucky report (since stop 81)."""
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    return bool(v.size >= 2 and v[0] > 0 and v[-1] <= (1 - th.material_fall) * v[0]
                and trend_p_down(v) < th.rate_trend_p)


_CHANCE_CAUSE = ("The model never learned: its predictions carry no information about the labels. Usual causes: "
                 "an LR far too high or too low, labels that do not match the inputs (shuffled, wrong class ids, "
                 "a class-count mismatch), a frozen or detached model, or a loss applied to the wrong outputs.")


def _logged(run: Run, names: tuple[str, ...]) -> Iterator[tuple[str, Series]]:
    """``(name, its finite points)`` for each of ``names`` (roles or columns) the run logged, in order."""
    for name in names:
        s = run.series(name)
        if s is not None:
            yield name, s.finite()


def _live_loss(run: Run) -> Series | None:
    """The finite training loss the no-learning rules judge, or None when there is none or the
    logged LR is 0 (a warmup's first steps: nothing can be learned yet)."""
    s = objective(run)
    if s is None or _lr_is_zero(run):
        return None
    return s.finite()


def _lr_is_zero(run: Run) -> bool:
    """True when an LR is logged and is 0 on most points: nothing could be learned yet."""
    lr = run.series("lr")
    if lr is None or lr.finite().values.size == 0:
        return False
    v = lr.finite().values
    return bool(np.mean(v <= 0) > 0.5)


def _sig_digits(x: float) -> int:
    """Significant digits of the shortest repr of ``x`` (5.7257 -> 5, 0.12 -> 2)."""
    mant = repr(abs(float(x))).split("e")[0].replace(".", "").lstrip("0")
    return len(mant.rstrip("0")) or 1


def _printed_digits(run: Run, name: str, v: float) -> int:
    """Significant digits ``v`` was printed with: those of its shortest repr, or more when a
    text reader saw trailing zeros (Lightning's ``train_loss=4.600`` has 4, not the 2 of 4.6)."""
    raw = run.meta.roles.get(name, name)
    dec = run.meta.printed_decimals.get(raw)
    digits = _sig_digits(v)
    if dec is not None and v != 0:
        digits = max(digits, dec + int(np.floor(np.log10(abs(v)))) + 1)
    return digits


def _same_tail(x: np.ndarray, th: ProgressThresholds, exact: bool = False) -> int | None:
    """Index of the first of the last values of ``x`` that all equal the last one (to
    ``frozen_rel_spread``, or exactly with ``exact``), when they are at least ``frozen_points``;
    None otherwise."""
    if x.size < th.frozen_points:
        return None
    v = float(x[-1])
    same = x == v if exact else np.abs(x - v) <= th.frozen_rel_spread * abs(v)
    if not same[-th.frozen_points:].all():
        return None
    return tail_start(same)


def _frozen_tail(run: Run, name: str, f: Series, th: ProgressThresholds, exact: bool = False) -> int | None:
    """:func:`_same_tail` of ``f``, printed with ``frozen_digits``+ significant digits and at
    least ``frozen_floor`` of the series' largest |value|; None otherwise."""
    x = f.values
    start = _same_tail(x, th, exact)
    if start is None:
        return None
    v = float(x[-1])
    if _printed_digits(run, name, v) < th.frozen_digits or abs(v) < th.frozen_floor * float(np.abs(x).max()):
        return None
    if _bf16_step(x, run.meta.printed_decimals.get(run.meta.roles.get(name, name))) is not None:
        return None  # bfloat16 values: under 3 significant digits, equal prints prove nothing
    if _perplexity_moves(run, name, float(f.steps[start]), float(f.steps[-1]), th):
        return None
    if _converged_at_resolution(run, name, x, start, th):
        return None
    if _creeps(x[start:], th):
        return None
    return start


def _creeps(tail: np.ndarray, th: ProgressThresholds) -> bool:
    """True when a tail that agrees only to ``frozen_rel_spread`` (no ``frozen_points`` exactly
    equal prints at its end) moves in one direction at every report that moves, and moves at most
    of them: a curve converging below the tolerance (CatBoost's held-out Logloss at 10 digits:
    1.350728625, .728119, .727825, .727825, .727248), not a dead model's float jitter."""
    d = np.diff(tail)
    if tail.size - tail_start(tail == tail[-1]) >= th.frozen_points or d.size < 2:
        return False
    moving = d[d != 0]
    return moving.size * 2 > d.size and (bool((moving > 0).all()) or bool((moving < 0).all()))


def _converged_at_resolution(run: Run, name: str, x: np.ndarray, start: int, th: ProgressThresholds) -> bool:
    """True when the values just before the frozen tail were already creeping by at most
    ``converged_quanta`` printing steps per report: a curve that converges smoothly down to its
    printed resolution ends on equal prints (a linear probe's val_loss 1.4357, 1.4355, 1.4352,
    1.4352, 1.435, 1.4349, then 1.4348 five times, as its cosine LR reaches 0). A model that died
    stops abruptly: the reports before its frozen value move by far more than the resolution
    (a Keras classifier's val_loss ... 0.69, 2.1, then 3.6992 for 45 epochs).

    The creep is measured before the tail of *exactly* equal prints when that tail holds
    ``frozen_points`` or more: the ``frozen_rel_spread`` tail of a loss printed with more than 6
    significant digits swallows the last creeping prints (Pyro's SVI on a linear model: 147.8847,
    .8827, .8819, .8817, .8816, then .8815 three times, all within 1e-6 of each other; a least-
    squares fit that reaches its optimum at 1212.3402)."""
    exact = tail_start(x == x[-1])
    if x.size - exact >= th.frozen_points and exact > start:
        start = exact
    before = x[max(0, start - th.frozen_points - 2): start + 1]
    if before.size < 3:
        return False
    dec = run.meta.printed_decimals.get(run.meta.roles.get(name, name))
    q = 10.0 ** -dec if dec is not None else _resolution(x)
    if not (np.isfinite(q) and q > 0):
        return False
    steps = np.round(np.abs(np.diff(before)) / q, 6)  # in printing steps (5.6007 - 5.6004 is 3, not 3.000000000002)
    if steps.size >= 3 and float(steps[-2:].max()) <= th.converged_quanta:
        # the last two steps into the tail already crept at the resolution: a geometric approach,
        # whose earlier and larger steps would carry the median (the least-squares fit: 1212.3567,
        # .3452, .3416, .3406, .3403, then .3402 on); a model that dies jumps into its frozen value
        return True
    moves = np.diff(before)[-3:]
    if steps.size >= 3 and float(steps[-1]) <= th.converged_quanta and bool(np.all(np.diff(steps[-3:]) <= 0)) \
            and (bool(np.all(moves < 0)) or bool(np.all(moves > 0))):
        # the last three steps shrink in one direction and the step into the tail is at the
        # resolution: the tail end of a geometric approach, however fast it began (a Phi-3 LoRA's
        # validation loss 0.6671, 0.6661, 0.6654, then 0.6653 four times as its cosine LR ran out)
        return True
    if steps.size < 3:
        # two steps before the tail (a short log): their median is their mean, and a fast first
        # descent hides the creep into the frozen value; the step into it decides (Pyro's MAP of a
        # coin, full-batch: 5.6719, 5.6007, then 5.6004 three times)
        return float(steps[-1]) <= th.converged_quanta
    return float(np.median(steps)) <= th.converged_quanta


def _perplexity_moves(run: Run, name: str, a: float, b: float, th: ProgressThresholds) -> bool:
    """True when the perplexity printed beside the ``name`` loss moves over steps ``a``..``b``
    (more than float noise, ``frozen_rel_spread`` of its level): exp(loss) shows changes below the
    loss's printed resolution, so a loss that prints the same value there is rounded, not frozen
    (GluonNLP's AWD-LSTM: valid loss 5.27 on four epochs while valid ppl went 195.06 -> 194.62)."""
    ppl = perplexity_beside(run, name)
    if ppl is None:
        return False
    p = run.series(ppl).finite()
    v = p.values[(p.steps >= a) & (p.steps <= b)]
    return bool(v.size >= 2 and np.ptp(v) > th.frozen_rel_spread * float(np.abs(v).max()))


_FROZEN_CAUSE = ("Training is dead: saturated outputs or dead units give zero gradients, the LR is 0 or far too "
                 "high (a blow-up into a saturated regime), or the optimizer is not connected to the model's parameters.")


def _value_steps(x: np.ndarray) -> list[float]:
    """Each nonzero value's own printing step: one unit of its last significant digit."""
    return [10.0 ** (np.floor(np.log10(abs(v))) - _sig_digits(float(v)) + 1) for v in x if v != 0]


def _resolution(x: np.ndarray) -> float:
    """The finest printing step among the values: 3.5073 -> 1e-4, 1.25e-05 -> 1e-7."""
    return float(min(_value_steps(x), default=np.inf))


def _typical_resolution(x: np.ndarray) -> float:
    """The printing step of most values: the median of each value's own step. A log that switches
    to scientific notation for its smallest values (Keras prints "loss: 6.2155e-04" beside
    "0.0054") prints those finer; the finest step (:func:`_resolution`) would then be that of a
    few values, and equal prints among the many coarser ones would look like a coincidence of a
    finer grid (a VGG16 fine-tune whose losses 0.001-0.02 repeat at 4 decimals)."""
    steps = _value_steps(x)
    return float(np.median(steps)) if steps else np.inf


def _bf16_step(x: np.ndarray, decimals: int | None = None) -> float | None:
    """The spacing of bfloat16 numbers around the series' median when every value of ``x`` (4+
    distinct ones) is a bfloat16 number as printed: within half a printed decimal of one, on a
    bfloat16 grid at least twice as coarse as the printing (else the test has no power). A loss
    computed in bfloat16 has an 8-bit mantissa: 2.4 significant digits however many decimals are
    printed (2.21875 printed "2.2188", then 2.234375 as "2.2344": steps of 1/64 at 2.2), so equal
    prints are no evidence of an unchanged model (a bf16 model at a slow LR prints one value 6
    times in a row while it learns). None otherwise."""
    v = np.asarray(x, dtype=np.float64)
    v = v[np.isfinite(v) & (v != 0)]
    if np.unique(v).size < 4:
        return None
    half = 0.5 * (10.0 ** -decimals if decimals is not None else _resolution(v)) + 1e-12
    step = 2.0 ** (np.floor(np.log2(np.abs(v))) - 7)  # bf16 spacing at each value
    if float(np.min(step)) <= 2 * 2 * half:
        return None  # the bfloat16 grid is as fine as the printing: no test
    if (np.abs(v - np.round(v / step) * step) > half).any():
        return None
    return float(2.0 ** (np.floor(np.log2(abs(float(np.median(v))))) - 7))


def second_half_ends(x: np.ndarray) -> tuple[float, float]:
    """The levels (medians) of the first and the last third of the second half of ``x``: where a
    curve's later part starts and ends, each a third of that half (one report on fewer than 6), so
    that a loss still falling at the end is told from one that settled."""
    half = x[x.size // 2:]
    ends = max(1, half.size // 3)
    return float(np.median(half[:ends])), float(np.median(half[-ends:]))


def _loss_learned(run: Run, th: ProgressThresholds) -> bool:
    """True when the training loss fell by more than ``max_total_drop`` of its first level:
    then a task metric pinned at 0 measures something this model does not do (an accuracy
    logged for a regression: R keras issue 296, loss 0.158 -> 0.029 with acc 0.0000)."""
    s = objective(run)
    return s is not None and _fell_by_total_drop(s.finite().values, th)


def _fell_by_total_drop(v: np.ndarray, th: ProgressThresholds, share: float | None = None) -> bool:
    """True when the positive series ``v`` (3+ reports) fell by more than ``max_total_drop`` of
    its first report (or by more than ``share`` of it, where given), measured at the median of its
    last three (one low last report is no level)."""
    if v.size < 3 or v[0] <= 0:
        return False
    bar = th.max_total_drop if share is None else share
    with np.errstate(over="ignore", invalid="ignore"):  # losses near 1e300 overflow harmlessly to inf
        return bool(1.0 - float(np.median(v[-3:])) / v[0] > bar)


def _too_early(run: Run, f: Series, th: ProgressThresholds, *, rows_unknown: bool = True) -> bool:
    """True when a log that starts at the start of training spans fewer than ``min_steps``
    updates: too early to call a stall (epochs are many updates each, so epoch logs pass).

    A log with no step column (unit ``record``: the reports are numbered by row) says nowhere
    where it starts. With ``rows_unknown`` (the chance rules) its rows are not taken for the first
    updates: a loss at ln K beside an accuracy at 1/K is chance wherever it sits (CNTK's MNIST
    tutorial at ce 2.3026 and errTop1 0.89 over minibatches 1-1500). Without it (a rule that
    needs the start of training) row 0 is taken for the start, and a short log is too early."""
    if rows_unknown and run.meta.step_unit == "record":
        return False
    return (run.meta.step_unit != "epoch" and float(f.steps[0]) <= th.start_max_step
            and float(f.steps[-1] - f.steps[0]) < th.min_steps)


#: the columns every Hugging Face Trainer "Training results" table holds ("Training Loss", "Epoch",
#: "Step", "Validation Loss", then the metrics), as the text reader names them; not "training_loss",
#: which is "No log" on every row of a run shorter than its logging_steps, and then no column
_TRAINER_TABLE = frozenset({"epoch", "step", "validation_loss"})


def is_trainer_results_table(run: Run) -> bool:
    """True when ``run`` was read from a Hugging Face Trainer "Training results" table (a model
    card's): the Trainer writes the card when training ends, from its whole log history, so the
    table holds every evaluation of the run, its last row the run's end, whether or not the file
    keeps the hyperparameters that planned it."""
    return run.meta.format == "text-log" and _TRAINER_TABLE <= set(run.names)
