"""``slow_progress`` and ``plateau``: the loss is not going down fast enough.

slow_progress: over the first half of the run, where a healthy run learns fastest, the
trend drops less than ``min_drop_per_100`` per 100 steps while the LR is not ~0 (LR too
low: improved-diffusion at lr 1e-7). plateau: the run did learn, then made no new best for
the last ``patience_fraction`` of the run while the LR stayed high (it needs decay).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect._stats import run_curve, tail_start
from lrdoctor.detect._trend import objective_trend
from lrdoctor.detect.rl.grpo import all_groups_degenerate
from lrdoctor.detect._common import is_error_rate, objective, perplexity_beside, zero_is_exact
from lrdoctor.names import loss_term_kind
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import SLOW_LR_RAISE, WATCH_LOSS, lr_fix
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.config import config_value
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.run import Run, Series

__all__ = ["ProgressThresholds", "chance_accuracy", "detect_slow_progress", "detect_plateau"]


@dataclass(frozen=True)
class ProgressThresholds(Thresholds):
    min_drop_per_100: float = 0.01
    """Relative loss drop per 100 steps below which progress is slow (post-mortem #1, yellow flag: < 1% per 100 steps)."""
    max_total_drop: float = 0.5
    """A run whose loss fell by more than half overall is learning, whatever its late rate."""
    min_steps: int = 500
    """Steps the first half must span before a rate per 100 steps means anything; also the
    updates a from-the-start log must span before "never below its first report" is judged
    (DistDepth's first 275 batches of a 230-hour run are too early to call a stall)."""
    rate_min_points: int = 20
    """The rate rule needs this many reports: below 50 its start and end levels are single
    reports (``n // 50`` rounds to 1) and its half-way level a rolling median of 5, so one noisy
    report sets the rate (DFace: a 7-report excerpt whose middle report spiked 15x read as a
    loss that "fell only -3% per 100 steps"). 20 reports give the half-way trend at least two
    independent 5-point windows on each half."""
    rate_start_share: float = 0.05
    """The rate rule judges only a log that covers its run from (near) the start: its first step
    within the first 5% of its last. A window deep into training measures convergence, not
    the LR (the torchaudio SpeechCommands tutorial pasted from step 1.18M to 1.24M: batch losses
    0.46-0.60 around a plateau at 81% test accuracy)."""
    max_front_share: float = 0.4
    """Share of the total drop made in the first quarter of the run below which the curve
    is still a straight line. A run at a workable LR front-loads its progress (power-law
    loss curves: 0.57-0.86 on the healthy reference logs); improved-diffusion at lr 1e-7 made 0.20."""
    lr_zero: float = 0.01
    """LR below this share of its peak counts as ~0 (a finished decay explains no progress)."""
    patience_fraction: float = 0.3
    """Plateau: share of the run at the end without a new best. Like ReduceLROnPlateau's
    ``patience`` (torch default 10 epochs), as a share so it fits any length."""
    new_best: float = 0.01
    """Plateau: improvement (share of the total progress) that counts as a new best
    (ReduceLROnPlateau ``threshold`` is 1e-4 relative; we ask 1% of progress to beat noise)."""
    min_plateau_lr: float = 0.3
    """Plateau is only reported while the LR is still at least this share of its peak."""
    min_plateau_points: int = 20
    """Plateau needs this many logged points: on fewer, 30% of the run is a handful of reports."""
    plateau_min_budget: float = 0.5
    """Plateau is reported only when the flat stretch is at least this share of the run: the
    run spent half its budget without progress at a high LR, a cost worth a note. A run
    that converged late (a shorter flat tail) is not a finding."""
    chance_tol: float = 0.05
    """Stuck at chance: the loss stays within 5% of ln K (K classes; Karpathy 2019, "verify
    loss @ init": an untrained classifier's cross-entropy is ln K)."""
    chance_infer_tol: float = 0.02
    """Without K in the config, K is inferred only when the flat loss is within 0.02 nats of
    ln K for some K in 2..10 (the spacing of ln K is 1/K, so larger K would match by chance),
    and only when a logged accuracy confirms it (near 1/K): a fine-tune resting at its floor
    can sit near some ln K by coincidence (HF T5 summarisation at 1.78 ~ ln 6)."""
    chance_flat: float = 0.1
    """...and the loss never went more than 10% below ln K (it never learned)."""
    chance_drift: float = 0.05
    """...and its second half does not keep falling: its last reports are not more than
    ``chance_drift`` x ln K below its first ones (a loss falling *through* ln K is learning;
    Keras issue 12707: 1.88 -> 1.72 over epochs 5-9, passing ln 6 = 1.79 on the way down). The
    same 5% as ``chance_tol``: the band that counts as "at ln K"."""
    chance_warmup_rise: float = 1.05
    """...nor one whose logged LR is still rising over the reports (last >= 1.05x first, never
    falling): the warm-up has not reached the LR the run trains at, and a model near chance
    then is expected (mmcls on ImageNet in its warm-up: lr 5.8e-5 -> 7.2e-5, loss 6.704 ->
    6.618 near ln 1000). 5%: above the printed rounding of an LR, far below a warm-up's rise."""
    chance_acc_margin: float = 0.1
    """When an accuracy is logged it must not sit more than 0.1 (or 10 points) above 1/K (below
    chance is no sign of learning: a small test set of a model at chance often reads lower)."""
    uniform_rel: float = 1e-5
    """Uniform over K: the last ``frozen_points`` reports all equal ln K to this relative
    tolerance (5-6 significant digits), K a power of two, one less than one (SimCLR's NT-Xent
    collapses to ln(2N - 1)) or a power of ten, from 16 up. A softmax over K prototypes,
    negatives or classes that outputs the same score for each sits exactly at ln K: the
    collapse of contrastive and clustering objectives (lightly's SwAV with 512 prototypes:
    6.23839, 6.23837, 6.23836 against ln 512 = 6.238325). Those K are about 0.7 apart in ln K,
    so a flat loss that lands within 1e-5 of one by chance has odds near 1 in 10,000; smaller
    K are the class counts :func:`_stuck_at_chance` infers."""
    frozen_points: int = 3
    """Frozen loss: the last this-many reports print exactly the same loss. A logged loss is
    an average over batches, so while any weight moves its printed value changes at 3+
    significant digits; three identical reports in a row mean the updates no longer change
    the model (a saturated output, dead units, an LR of 0). Keras issue 2392: 5.7257 on
    three epochs in a row at Adagrad lr 1.0."""
    frozen_digits: int = 3
    """...printed with at least this many significant digits (2-digit logs repeat by rounding)."""
    frozen_rel_spread: float = 1e-6
    """...or the last reports agree to 6 significant digits (max - min below 1e-6 of the
    value) when printed with more: a learning model's average loss moves in its 3rd-4th digit
    between reports (DMRGCN: 0.35977894 on five epochs, then 0.35977891)."""
    frozen_other_moves: float = 1e-3
    """...unless another loss column of the run (a loss part or the eval loss) moves by more than
    0.1% of its level over the same reports: the model is changing, and the total is pinned by
    a huge constant term (a CapsNet whose 1e9-weighted reconstruction term keeps the total at
    564007.87 +- 0.01 while its capsule loss falls 0.41 -> 0.21)."""
    lr_zero_decimals: int = 8
    """An LR read from a text log counts as 0 only when printed with at least 8 decimals
    (below 5e-9: three decades under the smallest fine-tuning LRs in use, ~1e-6); "lr: 0.0000"
    may be a rounded 2e-5."""
    lr_nil: float = 1e-12
    """An LR below this is 0 for every purpose: an Adam-style update is about the LR itself, and
    1e-12 is under float32's resolution (2^-24 ~ 6e-8 relative) of any weight larger than 2e-5,
    so no weight can change (Coqui-TTS's generator LR decayed to 7.05e-111; a Time-Series-Library
    LR halved every epoch down to 1.1e-24)."""
    zero_loss_points: int = 3
    """Collapse to zero: a training loss that drops to exactly 0 and stays there on this many
    reports (the frozen rule's ``frozen_points``), from a report at least ``frozen_floor`` of its
    largest value. A cross-entropy cannot reach float 0 by learning, and a loss of exactly 0
    sends no gradient: the sudden collapse is a numeric failure (fp16 overflow, every label
    masked), not convergence (Transformers4Rec under fp16: 12.6, then 0.0 on every report)."""
    no_match_points: int = 2
    """No box matched: a detector's box-regression loss term (box, IoU/GIoU, DFL, bbox) that is
    exactly 0 on at least 2 reports while its classification term is not. These terms are
    averaged over the predictions matched to a ground-truth box (YOLO's assigners, RetinaNet's
    positives), so exactly 0 means no prediction was matched: the labels were not found or do
    not fit the images, and the detector learns only background (YOLOv6 issue 614: iou_loss 0
    and dfl_loss 0 for epochs 43-51, mAP 0.0; ultralytics issue 1086: box_loss 0, dfl_loss 0,
    mAP 0). Two reports, since a zero at one report can be a batch without objects."""
    frozen_floor: float = 0.01
    """...and at least this share of the log's largest loss (a loss converged to its floor
    prints the same value for a reason)."""
    recur_window: int = 50
    """Recurring losses: judged on the last 50 reports, a window in which a learning model's
    batch losses keep changing."""
    recur_p: float = 1e-3
    """Recurring losses: the model is not changing when exact repeats of printed loss values are
    far more frequent than noise at the printed resolution allows: the pairs of equal values
    have a Poisson tail probability below 1e-3 against the pairs expected when the values
    spread like a normal of the window's robust sigma over bins of the printed resolution
    (sqrt(2 pi e) sigma / resolution equally likely bins: the normal's entropy). The same batch
    through the same weights gives the same loss: litgpt issue 834 (DDP) printed 3.5073 six
    times and four other values 2-3 times in 22 iterations, where noise predicts 0.03 pairs."""
    recur_min_pairs: int = 3
    """...and at least 3 such pairs (one or two coincidences prove nothing)."""
    finished_lr: float = 0.01
    """No gain over a finished schedule: the LR ended below this share of its peak (the
    schedule ran its course)..."""
    finished_band: float = 2.0
    """...and the task metric never left a band this many times the spread of its first
    third (the run's whole range within twice its early noise), its best coming in that
    first third: the run spent its schedule without learning (LLaMA-Factory PPO: reward
    0.12-0.14 from step 10 to 1260 while the LR decayed 1e-5 -> 1e-8)."""
    zero_acc_max_loss: float = 2.302585
    """An accuracy that never left 0 is not judged when the median training loss is below
    ln 10: read as a cross-entropy, the true class then gets e^-CE >= 10% of the probability
    on average, and some argmax would be right (see ``_loss_says_some_right``)."""
    pinned_points: int = 5
    """A task metric (accuracy, mAP) that takes one single value over at least this many
    evaluations below 90% of its scale never changed its predictions: a constant predictor."""
    worse_than_uniform_points: int = 3
    """Worse than uniform: a per-token cross-entropy (the log shows it: a perplexity equal to
    exp(loss)) above ``initial_loss_anomaly``'s bound, 1.5 x ln of the largest vocabulary in use
    (18.7 nats), at every one of at least 3 reports (the frozen rule's count): the model never
    got as good as a uniform guess over any vocabulary, let alone learned (OpenNMT-py at Adam lr
    1.0: perplexity printed at its cap, e^100, on every report)."""
    start_points: int = 10
    """No learning from the start: a log that begins at the start of training (step or epoch
    0/1) and whose loss never falls below its first report over at least 10 reports. A
    model that learns anything lowers its loss below its initial value within a few updates;
    for a loss that only wanders (no learning), the first of n exchangeable reports is the
    lowest with p = 1/n, so 10 reports make the rule a 1-in-10 test of a flat run and a
    near-impossible event for a learning one (DINO issue 246: 10.38 -> 11.00 over 12 epochs)."""
    start_max_step: float = 1.0
    """...the first logged step/epoch must be at most 1: an excerpt from the middle of training
    starts at its floor and proves nothing."""
    return_floor_points: int = 5
    """A return (RL) that prints exactly the same negative value at its last 5+ reports, the
    lowest value of the log: every episode in those reports ended the same way, at the floor
    of a sparse or time-out reward, and nothing better came after (baselines deepq on Pong:
    "mean 100 episode reward" -21, every point lost, in five tables after 6M steps; a
    MountainCar agent at -200 never reaches the goal). Five, not the frozen rule's three: a
    per-episode return repeats by chance when a sparse-reward task fails a few times in a row.
    Only a negative value: a frozen positive return is the ceiling of a solved task
    (CartPole's 200 or 500), and 0 is success in goal-reaching tasks that pay -1 per step."""
    zero_return_points: int = 10
    """A return exactly 0 at every one of at least 10 reports: not one episode in the whole
    log earned or lost anything, so the agent never met the reward it should learn from (DQN on
    Montezuma's Revenge: 0.0 at all 199 iterations). Ten, twice ``return_floor_points``: a whole
    run, not a stretch (a sparse-reward task fails a few times in a row by chance), and unlike
    the floor rule it needs no sign: a return of exactly 0 on every report is no solved task in a
    reward that pays -1 per step either, which would need every episode to end at its first step."""
    pinned_denominator: int = 50
    """...judged even while the training loss falls when the value is a fraction of at least
    50 (an evaluation set of 50+ examples whose every prediction stayed put: LSTM-HAR's test
    accuracy 0.18052256107330322 on 15 iterations while its loss fell 3x); a value like 0.8
    (4/5) repeats on a tiny evaluation set for no reason."""
    error_floor: float = 0.99
    """An error rate (WER, CER) read as a fraction that never went below 99% over at least 3
    evaluations, at least 2 of them exactly 1.0: at most one word in a hundred right, which
    an output of a few stray tokens also scores (an empty transcript scores exactly 100%), so
    the model recognises nothing (SEW-D mid on LibriSpeech: WER 0.99-1.13 at all 26
    evaluations). The exact 1.0 prints tell a fraction from a percentage: a WER of exactly
    1.00% at two evaluations of a 4-decimal table is no accident of a good model."""


DEFAULTS = ProgressThresholds()


def _lr_share(run: Run, a: float, b: float) -> float | None:
    c = run_curve(run, "lr")  # bin medians: an LR share needs no per-step precision
    if c is None or c.hi.max() <= 0:
        return None
    m = (c.step >= a) & (c.first <= b)
    vals = c.mid[m] if m.any() else c.mid
    return float(np.median(vals) / c.hi.max())


_CHANCE_CAUSE = ("The model never learned: its predictions carry no information about the labels. Usual causes: "
                 "an LR far too high or too low, labels that do not match the inputs (shuffled, wrong class ids, "
                 "a class-count mismatch), a frozen or detached model, or a loss applied to the wrong outputs.")


def _stuck_at_chance(run: Run, th: ProgressThresholds) -> Finding | None:
    from lrdoctor.detect._classes import num_classes

    f = _live_loss(run)
    if f is None:
        return None
    x = f.values
    if x.size < 3 or (x <= 0).any():
        return None
    if _too_early(run, f, th):
        return None  # ImageNet's first 121 batches sit near ln 1000 while the loss is already falling
    late = float(np.median(x[x.size // 2:]))
    given = num_classes(run)
    above = False
    if given is not None:
        k, source = given[1], f"config {given[0]}"
        # at ln K, or above it with an accuracy at chance (confirmed below): worse than a
        # uniform guess and never better (ViT on ImageNet: 27.8 -> 6.94 at iteration 6527, acc 0-1 of 192)
        above = late > (1 + th.chance_tol) * np.log(k) and x[-1] >= (1 - th.chance_tol) * np.log(k)
        if abs(late - np.log(k)) > th.chance_tol * np.log(k) and not above:
            return None
    else:
        if not 0.5 < late < 2.5:  # ln 2 .. ln 10
            return None
        k = int(round(float(np.exp(late))))
        if not 2 <= k <= 10 or abs(late - np.log(k)) > th.chance_infer_tol:
            return None
        source = "inferred: the loss sits at ln K"
    ln_k = float(np.log(k))
    if x.min() < (1 - th.chance_flat) * ln_k:
        return None  # it did learn at some point
    if not above and x[-1] < (1 - th.chance_tol) * ln_k:
        return None  # its last report has left the chance band downwards: still learning (a
        # 5-epoch fit of 100 samples ending at 0.650, 6% under ln 2, its lowest report)
    half = x[x.size // 2:]
    ends = max(1, half.size // 3)
    if not above and float(np.median(half[:ends]) - np.median(half[-ends:])) > th.chance_drift * ln_k:
        return None  # still falling through ln K
    if _in_warmup(run, f, th):
        return None  # the LR is still warming up: too early to call the run stuck
    ev = {"num_classes": k, "num_classes_source": source, "ln_k": ln_k, "loss_median_late": late,
          "loss_min": float(x.min()), "points": int(x.size)}
    for name in ("eval_accuracy", "task_metric"):
        acc = run.series(name)
        if acc is None or acc.finite().values.size == 0:
            continue
        a = float(np.median(acc.finite().values))
        scale = 100.0 if acc.finite().values.max() > 1.0 else 1.0
        off = a / scale - chance_accuracy(run.meta.roles.get(name, name), k)
        if off > th.chance_acc_margin or (given is None and -off > th.chance_acc_margin):
            return None  # accuracy says it learned (or the loss is not K-way cross-entropy); one
            # *below* chance says no such thing (TinyVGG on 3 classes: test accuracy 0.198 at ln 3)
        if "accuracy_metric" not in ev:  # every logged accuracy must be at chance; the first is quoted
            ev.update(accuracy_metric=run.meta.roles.get(name, name), accuracy_median=a)
    if (given is None or above) and "accuracy_metric" not in ev:
        return None  # a flat loss near ln K by coincidence (a fine-tune at its floor: T5 at 1.78 ~ ln 6),
        # or a loss above ln K that may hold other terms (a detector's box + class loss)
    where = "at or above" if above else "at"
    summary = (f"stuck at chance: the loss stayed {where} ln {k} = {fmt(ln_k)} (median {fmt(late)}, lowest "
               f"{fmt(ev['loss_min'])}) over all {x.size} points" +
               (f"; {ev['accuracy_metric']} {fmt(ev['accuracy_median'])} ~ 1/{k}" if "accuracy_metric" in ev else ""))
    return Finding("slow_progress", Severity.ERROR, float(f.steps[0]), float(f.steps[-1]), summary, ev, _CHANCE_CAUSE)


def _never_below_start(run: Run, th: ProgressThresholds) -> Finding | None:
    """The loss never fell below its first report, on a log that starts at the start of training."""
    f = _live_loss(run)
    if f is None:
        return None
    x = f.values
    if x.size < th.start_points or f.steps[0] > th.start_max_step or not (x[1:] >= x[0]).all():
        return None
    if _too_early(run, f, th):
        return None
    ev = {"metric": run.meta.roles.get("loss", "loss"), "first": float(x[0]), "lowest_after": float(x[1:].min()),
          "last": float(x[-1]), "points": int(x.size), "rule": "never below its first report"}
    share = _lr_share(run, float(f.steps[0]), float(f.steps[-1]))
    if share is not None:
        ev["lr_median_share_of_peak"] = share
    summary = (f"no learning: over {x.size} reports from the start of training the loss never fell below "
               f"its first value {fmt(float(x[0]))} (lowest later {fmt(ev['lowest_after'])}, last {fmt(float(x[-1]))})")
    return Finding("slow_progress", Severity.WARNING, float(f.steps[0]), float(f.steps[-1]), summary, ev, _CHANCE_CAUSE)


def _worse_than_uniform(run: Run, th: ProgressThresholds) -> Finding | None:
    """See ``ProgressThresholds.worse_than_uniform_points``."""
    from lrdoctor.detect.initial_loss_anomaly import DEFAULTS as IL, cross_entropy_shown

    ppl = cross_entropy_shown(run)
    s = run.series("loss")
    if ppl is None or s is None:
        return None
    v = s.finite().values
    bound = IL.above * float(np.log(IL.lm_vocab_max))
    if v.size < th.worse_than_uniform_points or not bool((v > bound).all()):
        return None
    col = run.meta.roles.get("loss", "loss")
    ev = {"metric": col, "value": float(np.min(v)), "points": int(v.size),
          "rule": f"a per-token cross-entropy above {bound:.3g} nats (1.5 x ln {IL.lm_vocab_max}) at every report"}
    shown = "ln of the printed perplexity" if ppl == col else f"{ppl} = exp(loss)"
    summary = (f"{col} stayed above {bound:.3g} nats at all {v.size} reports (lowest {fmt(float(np.min(v)))}; {shown}): "
               "worse than a uniform guess over any vocabulary, so the model never learned")
    return Finding("slow_progress", Severity.ERROR, float(s.finite().steps[0]), float(s.finite().steps[-1]), summary, ev, _CHANCE_CAUSE)


def _in_warmup(run: Run, f: Series, th: ProgressThresholds) -> bool:
    """True when the logged LR over the reports of ``f`` never falls and ends at least
    ``chance_warmup_rise`` x where it started: a warm-up still under way."""
    lr = run.series("lr")
    if lr is None:
        return False
    g = lr.finite()
    v = g.values[(g.steps >= f.steps[0]) & (g.steps <= f.steps[-1])]
    return bool(v.size >= 2 and v[0] > 0 and (np.diff(v) >= 0).all() and v[-1] >= th.chance_warmup_rise * v[0])


def _uniform_counts() -> np.ndarray:
    """The K of :attr:`ProgressThresholds.uniform_rel`: 2^n and 2^n - 1 (n = 4..20), 10^n (n = 2..6)."""
    twos = 2.0 ** np.arange(4, 21)
    return np.unique(np.r_[twos, twos - 1, 10.0 ** np.arange(2, 7)])


def _at_uniform(run: Run, th: ProgressThresholds) -> Finding | None:
    """See ``ProgressThresholds.uniform_rel``."""
    f = _live_loss(run)
    if f is None or f.values.size < th.frozen_points or (f.values <= 0).any():
        return None
    tail = f.values[-th.frozen_points:]
    ks = _uniform_counts()
    ln = np.log(ks)
    hit = np.flatnonzero(np.all(np.abs(tail[:, None] - ln[None, :]) <= th.uniform_rel * ln[None, :], axis=0))
    if hit.size == 0:
        return None
    k, ln_k = int(ks[hit[0]]), float(ln[hit[0]])
    x = f.values
    start = tail_start(np.abs(x - ln_k) <= th.uniform_rel * ln_k)  # the stretch at ln K that reaches the end
    ev = {"num_classes": k, "num_classes_source": "inferred: the loss equals ln K to 5+ significant digits", "ln_k": ln_k,
          "loss_median_late": float(np.median(tail)), "loss_min": float(x.min()), "points": int(x.size - start),
          "rule": f"the last {th.frozen_points}+ reports equal ln {k} to a relative {th.uniform_rel:g}"}
    summary = (f"the loss sits at ln {k} = {ln_k:.6g} (last {float(x[-1]):.6g}): the model gives the same score to each "
               f"of {k} choices, a uniform output that carries no information")
    cause = ("The representation collapsed: a contrastive or clustering objective (SwAV prototypes, InfoNCE negatives) "
             "whose outputs are identical for every input, or a K-way softmax fed a constant. Check the LR, the "
             "temperature and the augmentations, and that the projection head is trained.")
    return Finding("slow_progress", Severity.ERROR, float(f.steps[start]), float(f.steps[-1]), summary, ev, cause)


def _too_early(run: Run, f: Series, th: ProgressThresholds) -> bool:
    """True when a log that starts at the start of training spans fewer than ``min_steps``
    updates: too early to call a stall (epochs are many updates each, so epoch logs pass)."""
    return (run.meta.step_unit != "epoch" and float(f.steps[0]) <= th.start_max_step
            and float(f.steps[-1] - f.steps[0]) < th.min_steps)


_TOP_K = re.compile(r"(?:top|acc@|@)[_\-]?(\d+)", re.I)


def chance_accuracy(column: str, k: int) -> float:
    """The accuracy of a uniform guess over ``k`` classes: 1/k, or min(1, n/k) for a top-n
    accuracy (``accuracy_top5``, ``Acc@5``: with 2 classes top-5 is always 1)."""
    m = _TOP_K.search(column)
    n = int(m[1]) if m else 1
    return min(1.0, max(1, n) / k)


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


def _lr_stays_zero(run: Run, th: ProgressThresholds) -> Finding | None:
    """The LR is 0 (or below ``lr_nil``) on every report of a log that does not start at the start
    of training: no update can change the model. Text logs must print it with ``lr_zero_decimals``+ decimals
    (PaddleSpeech's ``lr: 0.00000000``); a coarser "0.0000" may hide a real 2e-5."""
    lr = run.series("lr")
    if lr is None:
        return None
    f = lr.finite()
    v = f.values
    if v.size < th.frozen_points or (np.abs(v) >= th.lr_nil).any() or float(f.steps[0]) <= th.start_max_step:
        return None
    if (v == 0).all() and not zero_is_exact(run, "lr", th.lr_zero_decimals):
        return None
    top = float(np.abs(v).max())
    ev = {"metric": run.meta.roles.get("lr", "lr"), "value": top, "points": int(v.size),
          "rule": "the LR is 0 on every report" if top == 0 else f"the LR is below {th.lr_nil:g} on every report"}
    what = "0" if top == 0 else f"at most {fmt(top)} (below float32's resolution of any weight)"
    summary = (f"the learning rate is {what} on all {v.size} reports (steps {fmt(float(f.steps[0]))}-{fmt(float(f.steps[-1]))}): "
               "no update changes the model, so nothing is learned")
    cause = ("The schedule reached 0 (or was configured with a 0 peak, or a scheduler bug zeroed it) while "
             "training continues: the remaining steps are spent without learning.")
    return Finding("slow_progress", Severity.ERROR, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)


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
    if _perplexity_moves(run, name, float(f.steps[start]), float(f.steps[-1])):
        return None
    return start


def _perplexity_moves(run: Run, name: str, a: float, b: float) -> bool:
    """True when the perplexity printed beside the ``name`` loss moves over steps ``a``..``b``
    (more than float noise, ``frozen_rel_spread`` of its level): exp(loss) shows changes below the
    loss's printed resolution, so a loss that prints the same value there is rounded, not frozen
    (GluonNLP's AWD-LSTM: valid loss 5.27 on four epochs while valid ppl went 195.06 -> 194.62)."""
    ppl = perplexity_beside(run, name)
    if ppl is None:
        return False
    p = run.series(ppl).finite()
    v = p.values[(p.steps >= a) & (p.steps <= b)]
    return bool(v.size >= 2 and np.ptp(v) > DEFAULTS.frozen_rel_spread * float(np.abs(v).max()))


_FROZEN_CAUSE = ("Training is dead: saturated outputs or dead units give zero gradients, the LR is 0 or far too "
                 "high (a blow-up into a saturated regime), or the optimizer is not connected to the model's parameters.")


def _frozen_loss(run: Run, th: ProgressThresholds) -> Finding | None:
    if run.meta.step_unit == "round":
        return None  # a booster whose training loss stops changing has converged: later rounds
        # add trees without gain (a plateau), no weights are "dead" (xgb.cv at 0.528952 for 15 rounds)
    f = _live_loss(run)
    if f is None:
        return None
    run_len = _frozen_tail(run, f.name, f, th)
    if run_len is None:
        return None
    if _another_loss_moves(run, f.name, float(f.steps[run_len]), th):
        return None  # the model changes: the total is pinned by a huge constant term (CapsNet's 5.6e5)
    x, v = f.values, float(f.values[-1])
    ev = {"metric": run.meta.roles.get("loss", "loss"), "value": v, "points": int(x.size - run_len),
          "rule": f"frozen: the last {x.size - run_len} reports print {v!r} (to 6 significant digits)"}
    summary = (f"the loss is frozen at {fmt(v)}: the last {x.size - run_len} reports print the same value, "
               "so the updates no longer change the model")
    return Finding("slow_progress", Severity.ERROR, float(f.steps[run_len]), float(f.steps[-1]), summary, ev, _FROZEN_CAUSE)


def _converged_with_training(run: Run, since: float, th: ProgressThresholds) -> bool:
    """True when the training loss is frozen over the same reports (from ``since``), at less than
    ``frozen_floor`` of its largest value: the whole model reached a fixed point at its optimum,
    the frozen-loss rule's converged case, and its evaluation stops with it (learnpytorch's
    nn.Linear fit: train 0.555 -> 0.0012645035749301314 and test 0.0138018... identical to 17
    digits at every print from epoch 200 to 900)."""
    s = run.series("loss")
    if s is None:
        return False
    f = s.finite()
    start = _same_tail(f.values, th, exact=True)
    return bool(start is not None and f.steps[start] <= since
                and abs(float(f.values[-1])) < th.frozen_floor * float(np.abs(f.values).max()))


def _frozen_eval(run: Run, th: ProgressThresholds) -> Finding | None:
    """The evaluation loss prints the same value at its last ``frozen_points``+ evaluations. An
    evaluation of the same data through changed weights changes in its 3rd-4th digit; one that
    does not evaluates an unchanged (or saturated) model (Keras binary classifier: val_loss
    3.6992 from epoch 6 to 50; Chainer CIFAR: validation loss 2.30259 = ln 10 at every epoch).
    Not when another evaluation loss column moves (a total pinned by a huge constant term)."""
    e = run.series("eval_loss")
    if e is None or run.meta.step_unit == "round":
        return None
    f = e.finite()
    run_len = _frozen_tail(run, "eval_loss", f, th)
    if run_len is None:
        return None
    since, raw = float(f.steps[run_len]), run.meta.roles.get("eval_loss", "eval_loss")
    if raw in run.meta.added:
        return None  # derived (the log of a printed perplexity): it has the source's resolution, not its own
    share = _lr_share(run, since, float(f.steps[-1]))
    if share is not None and share < th.lr_zero:
        return None  # a finished decay: at ~0 LR a converged model's evaluation stops moving at the
        # printed resolution (a cosine to 0: val_loss 0.3472 on the last 3 epochs at 0.6% of the peak LR)
    if run.meta.step_unit != "epoch" and f.values.size >= needs.points(run, "loss"):
        return None  # an evaluation on every training report is the last one carried along
        # (LitGPT prints the latest "val loss" on each iteration line)
    if _another_loss_moves(run, raw, since, th, role="eval_loss", kind="eval"):
        return None
    if _converged_with_training(run, since, th):
        return None
    v, n = float(f.values[-1]), int(f.values.size - run_len)
    ev = {"metric": raw, "value": v, "points": n, "rule": f"frozen evaluation: the last {n} evaluations print {v!r}"}
    summary = (f"the evaluation loss is frozen at {fmt(v)}: the last {n} evaluations print the same value, so the "
               "evaluated model does not change")
    return Finding("slow_progress", Severity.ERROR, since, float(f.steps[-1]), summary, ev,
                   _FROZEN_CAUSE + " Or the evaluation loads a stale checkpoint.")


def _frozen_term(run: Run, th: ProgressThresholds) -> Finding | None:
    """A training loss term other than the objective prints exactly the same value at the last
    ``frozen_points``+ reports while the objective still moves: the head that produces it no
    longer changes (CenterNet's hm_loss 9.208497 at every epoch from 2 on while wh_loss moved;
    YOLO-World's loss_dfl 66.5625). Exact equality, not 6 digits: a huge constant-weighted term
    moves only in its 9th digit (a CapsNet's 1.128e9 reconstruction term) and is no dead head."""
    obj = objective(run)
    if obj is None:
        return None
    raw_obj = run.meta.roles.get("loss", "loss")
    for name in run.metrics:
        if name in (raw_obj, "loss") or name in run.meta.roles.values() or loss_term_kind(name) != "train":
            continue
        f = run.series(name).finite()
        run_len = _frozen_tail(run, name, f, th, exact=True)
        if run_len is None:
            continue
        o = obj.finite().at_or_after(float(f.steps[run_len])).values
        if o.size < 2 or float(np.ptp(o)) <= th.frozen_other_moves * float(np.abs(o).max()):
            continue  # the objective is frozen too: the frozen-loss rule's case
        v, n = float(f.values[-1]), int(f.values.size - run_len)
        ev = {"metric": name, "value": v, "points": n, "rule": f"frozen term: the last {n} reports print {v!r} exactly"}
        summary = (f"the loss term {name} is frozen at {fmt(v)} on the last {n} reports while the total moves: "
                   "the part of the model that produces it no longer learns")
        cause = ("A dead head: its outputs saturated (a sigmoid/focal heatmap pinned at 0 or 1), its parameters are "
                 "frozen or detached, or its targets are empty so its loss is a constant.")
        return Finding("slow_progress", Severity.WARNING, float(f.steps[run_len]), float(f.steps[-1]), summary, ev, cause)
    return None


def _frozen_game(run: Run, th: ProgressThresholds) -> Finding | None:
    """A GAN whose two players' losses both print the same values on the last
    ``frozen_points`` reports (one of them with ``frozen_digits``+ digits): neither network
    changes, so the game is dead (StudioGAN's DCGAN: Gen_loss -0.0 and Dis_loss 13.82 from
    step 100 on). A living GAN's losses move at every report, whichever player is winning."""
    tails = []
    for name in ("d_loss", "g_loss"):
        s = run.series(name)
        f = s.finite() if s is not None else None
        start = None if f is None else _same_tail(f.values, th)
        if start is None:
            return None
        tails.append((name, f, float(f.steps[start])))
    if max(_printed_digits(run, n, float(f.values[-1])) for n, f, _ in tails) < th.frozen_digits:
        return None
    since = max(t[2] for t in tails)
    (dn, d, _), (gn, g, _) = tails
    dcol, gcol = run.meta.roles.get(dn, dn), run.meta.roles.get(gn, gn)
    ev = {"metric": f"{dcol}, {gcol}", "value": float(d.values[-1]), "points": int((d.steps >= since).sum()),
          "rule": "frozen game: both GAN losses print the same values"}
    summary = (f"the GAN is frozen: {dcol} = {fmt(float(d.values[-1]))} and {gcol} = {fmt(float(g.values[-1]))} on every "
               f"report since step {fmt(since)}, so neither network changes")
    cause = ("Training is dead: a saturated discriminator output (its loss at a constant like 13.8 = -log of a "
             "clamped probability) passes no gradient, an LR of 0, or optimizers not connected to the networks.")
    return Finding("slow_progress", Severity.ERROR, since, float(d.steps[-1]), summary, ev, cause)


def _collapsed_to_zero(run: Run, th: ProgressThresholds) -> Finding | None:
    f = _live_loss(run)
    if f is None:
        return None
    x = f.values
    k = th.zero_loss_points
    # zero at float32's resolution of the loss's own scale (Caffe's DetectNet: 317.7, then
    # -6.43825e-20 on every report)
    eps = float(np.finfo(np.float32).eps)
    zero = np.abs(x) <= eps * float(np.abs(x).max())
    if x.size < k + 1 or not zero[-k:].all() or zero.all():
        return None
    j = tail_start(zero) - 1  # the report the loss "collapsed" from
    if j >= 1 and eps * abs(float(x[j])) > float(np.abs(x[:j]).max()):
        # that report alone is beyond 1/eps of every report before it: a lone blow-up sets the
        # scale, and every sane value after it is "zero" beside it (qlearning4k: 2214, 6.05e21,
        # then 7.36, 11.0, 33.2). Judged at the scale of the reports before the blow-up instead.
        zero = np.abs(x) <= eps * float(np.abs(np.delete(x, j)).max())
        if not zero[-k:].all():
            return None
    if (x[-k:] == 0).all() and not zero_is_exact(run, "loss", th.lr_zero_decimals):
        return None
    i = tail_start(zero)
    if abs(float(x[i - 1])) < th.frozen_floor * float(np.abs(x).max()):
        return None  # a loss that converged towards 0 and now rounds to it is a fit, not a collapse
    ev = {"metric": run.meta.roles.get("loss", "loss"), "value": float(x[-1]), "points": int(x.size - i),
          "rule": f"collapsed: the loss fell from {float(x[i - 1])!r} to 0 (at float32 resolution) in one report and stayed there"}
    summary = (f"the loss dropped from {fmt(float(x[i - 1]))} to {'exactly ' if x[-1] == 0 else ''}0 at step {fmt(float(f.steps[i]))} and stayed "
               f"there ({x.size - i} reports): a zero loss sends no gradient, so nothing is learned")
    cause = ("A numeric collapse, not learning: fp16 overflow or underflow in the loss, every label of the batch "
             "masked (-100), or a loss whose inputs were zeroed.")
    return Finding("slow_progress", Severity.ERROR, float(f.steps[i]), float(f.steps[-1]), summary, ev, cause)


def _zero_throughout(run: Run, th: ProgressThresholds) -> Finding | None:
    """The training loss is exactly 0 on every one of at least ``zero_loss_points`` reports. A
    cross-entropy cannot be 0 by learning and a zero loss sends no gradient, so whichever it
    is, a loss whose targets are all masked or a NaN the logger wrote as 0.0 (HF Trainer does),
    nothing is being learned (LLaMA-Factory SFT of Qwen1.5-14B: 'loss': 0.0 on seven logs in
    a row at lr 1e-5)."""
    f = _live_loss(run)
    if f is None:
        return None
    x = f.values
    if x.size < th.zero_loss_points or (x != 0).any() or not zero_is_exact(run, "loss", th.lr_zero_decimals):
        return None
    ev = {"metric": run.meta.roles.get("loss", "loss"), "value": 0.0, "points": int(x.size),
          "rule": "the loss is exactly 0 on every report"}
    summary = (f"the loss is exactly 0 on all {x.size} reports: a zero loss sends no gradient (or the logger "
               "wrote a NaN as 0.0), so nothing is learned")
    cause = ("Every label of the batch is masked (-100), the loss is computed on an empty selection, or it "
             "is NaN and logged as 0.0 (HF Trainer); check the data collator and the loss inputs.")
    return Finding("slow_progress", Severity.ERROR, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)


#: the words of a detector's box-regression loss term (matched predictions only)
_BOX_TERMS = ("box", "bbox", "iou", "giou", "ciou", "dfl", "reg")


def _box_terms(run: Run) -> list[str]:
    """The run's box-regression training loss terms (``_BOX_TERMS`` words)."""
    from lrdoctor.names import tokens

    return [n for n in run.metrics if n in run and loss_term_kind(n) == "train" and any(w in tokens(n) for w in _BOX_TERMS)]


def _fine_print(run: Run, names: list[str]) -> bool:
    """True when one of the loss terms ``names`` shows the log prints at least 3 decimals (a
    value that 2 decimals cannot hold: 0.1831, 0.01125). Then a box-regression term at 0.001 or
    more would have shown; a matched prediction's box loss is far above that (its IoU loss is
    1 - IoU of a box that is never perfect)."""
    for n in names:
        v = run.series(n).finite().values
        if (np.abs(np.round(v, 2) - v) > 1e-9).any():
            return True
    return False


def _no_box_matched(run: Run, th: ProgressThresholds) -> Finding | None:
    """See ``ProgressThresholds.no_match_points``."""
    boxes = _box_terms(run)
    if not boxes:
        return None
    # the other training terms (a classification loss) that stay positive, the total left out
    live = [n for n in run.metrics if n in run and n not in boxes and n not in (run.meta.roles.get("loss"), "loss")
            and loss_term_kind(n) == "train" and (run.series(n).finite().values > 0).all()]
    for name in boxes:
        f = run.series(name).finite()
        if f.values.size < th.no_match_points or (f.values != 0).any():
            continue
        if not live or not (zero_is_exact(run, name, th.lr_zero_decimals) or _fine_print(run, live)):
            continue
        ev = {"metric": name, "value": 0.0, "points": int(f.values.size),
              "rule": f"no box matched: {name} is exactly 0 on every report while {live[0]} is not"}
        summary = (f"{name} is exactly 0 on all {f.values.size} reports while {live[0]} is not: no prediction was "
                   "matched to a ground-truth box, so the detector learns only background")
        cause = ("The labels were not found or do not fit the images: empty or misplaced label files, boxes in the "
                 "wrong format or scale (pixels instead of normalised xywh), or class ids outside the model's range.")
        return Finding("slow_progress", Severity.ERROR, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)
    return None


def _another_loss_moves(run: Run, objective_name: str, since: float, th: ProgressThresholds,
                        role: str = "loss", kind: str | None = None) -> bool:
    """True when another loss column of the run (a loss part, an eval loss; with ``kind``, only
    those :func:`~lrdoctor.names.loss_term_kind` calls so) changes by more than
    ``frozen_other_moves`` of its level over the reports from ``since`` on: the model is still
    changing, so a ``role`` that prints the same value is pinned by a constant term."""
    same = {objective_name, role, run.meta.roles.get(role)}  # the role and its raw column
    for name in run.names:
        if name in same or "loss" not in name.lower() or (kind is not None and loss_term_kind(name) != kind):
            continue
        o = run.series(name)
        if o is None:
            continue
        v = o.finite().at_or_after(since).values
        if v.size >= 2 and float(np.ptp(v)) > th.frozen_other_moves * float(np.abs(v).max()):
            return True
    return False


def _resolution(x: np.ndarray) -> float:
    """The finest printing step among the values: 3.5073 -> 1e-4, 1.25e-05 -> 1e-7."""
    out = np.inf
    for v in x:
        if v == 0:
            continue
        out = min(out, 10.0 ** (np.floor(np.log10(abs(v))) - _sig_digits(float(v)) + 1))
    return float(out)


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


def _poisson_tail(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam)."""
    import math

    if k <= 0:
        return 1.0
    term, cdf = math.exp(-lam), 0.0
    for i in range(k):
        cdf += term
        term *= lam / (i + 1)
    return max(0.0, 1.0 - cdf)


def _recurring_loss(run: Run, th: ProgressThresholds) -> Finding | None:
    from lrdoctor.detect._common import objective
    from lrdoctor.detect._stats import robust_sigma

    s = objective(run)
    if s is None or _lr_is_zero(run):
        return None
    f = s.finite()
    x = f.values[-th.recur_window:]
    # HF logs a NaN loss as 0.0; and a loss converged to its floor (a deterministic full-batch
    # fit) repeats for a reason: like the frozen rule, only values >= frozen_floor x the largest
    x = x[(x != 0) & (np.abs(x) >= th.frozen_floor * float(np.abs(f.values).max()))]
    if x.size < 10:
        return None
    sigma = robust_sigma(x - np.median(x))
    q = max(_resolution(x), _bf16_step(x, run.meta.printed_decimals.get(run.meta.roles.get("loss", "loss"))) or 0.0)  # bfloat16 values repeat on its coarse grid
    if not (sigma > 0 and np.isfinite(q) and q > 0):
        return None  # all equal: the frozen-loss rule's case
    bins = np.sqrt(2 * np.pi * np.e) * sigma / q
    expected = x.size * (x.size - 1) / 2 / bins
    _, counts = np.unique(x, return_counts=True)
    pairs = int((counts * (counts - 1) // 2).sum())
    if pairs < th.recur_min_pairs or _poisson_tail(pairs, expected) >= th.recur_p:
        return None
    top = float(np.unique(x)[np.argmax(counts)])
    ev = {"metric": run.meta.roles.get("loss", "loss"), "value": top, "points": int(x.size),
          "repeated_pairs": pairs, "expected_pairs": float(expected),
          "rule": "recurring: exact repeats of printed losses far beyond noise at the printed resolution"}
    summary = (f"the same loss values recur exactly: {pairs} pairs of equal values among the last {x.size} reports "
               f"({fmt(top)} {int(counts.max())} times), where noise at the printed resolution gives "
               f"{expected:.2g}; the same batches through unchanged weights give the same losses")
    cause = ("The weights are not being updated: the optimizer is not stepping (a DDP/accumulation "
             "setup that never calls step, an LR of 0, parameters not handed to the optimizer or frozen), "
             "and the data loader cycles through the same batches.")
    return Finding("slow_progress", Severity.ERROR, float(f.steps[-x.size]), float(f.steps[-1]), summary, ev, cause)


def _no_gain_over_finished_schedule(run: Run, th: ProgressThresholds) -> Finding | None:
    lr = run.series("lr")
    if lr is None:
        return None
    lv = lr.finite().values
    if lv.size < 2 or lv.max() <= 0 or lv[-1] > th.finished_lr * lv.max():
        return None
    if _loss_learned(run, th):
        return None  # the loss fell by more than half: it learned, before the metric's first report
    for name in ("ep_return", "eval_return", "task_metric", "eval_accuracy"):
        s = run.series(name)
        if s is None:
            continue
        v = s.finite().values
        if v.size < 4:
            continue
        third = max(2, v.size // 3)
        early = v[:third]
        spread = float(np.ptp(early))
        if spread == 0 or float(np.ptp(v)) > th.finished_band * spread or int(np.argmax(v)) >= third:
            continue
        col = run.meta.roles.get(name, name)
        ev = {"metric": col, "value": float(v[-1]), "points": int(v.size), "lr_median_share_of_peak": float(lv[-1] / lv.max()),
              "rule": f"no gain over a finished schedule: {col} stayed within {th.finished_band:g}x its early spread"}
        summary = (f"{col} never improved: it stayed between {fmt(float(v.min()))} and {fmt(float(v.max()))} (best in the "
                   f"first third) while the LR schedule ran to {lv[-1] / lv.max():.1%} of its peak")
        cause = ("The run used its whole schedule without learning: the LR is too low for this model, the reward or "
                 "labels carry no signal, or the trained parameters do not reach the output.")
        return Finding("slow_progress", Severity.WARNING, float(s.steps[0]), float(s.steps[-1]), summary, ev, cause)
    return None


def _degenerate_groups(run: Run, th: ProgressThresholds) -> Finding | None:
    """GRPO batches with no advantage at all (:func:`lrdoctor.detect.rl.grpo.all_groups_degenerate`)."""
    return all_groups_degenerate(run)


def _return_at_floor(run: Run, th: ProgressThresholds) -> Finding | None:
    """See ``ProgressThresholds.return_floor_points`` and ``zero_return_points``."""
    for name in ("ep_return", "eval_return"):
        s = run.series(name)
        if s is None:
            continue
        f = s.finite()
        v = f.values
        if v.size >= th.zero_return_points and bool((v == 0).all()):
            col = run.meta.roles.get(name, name)
            ev = {"metric": col, "value": 0.0, "points": int(v.size), "rule": "the return is exactly 0 at every report"}
            summary = (f"{col} is exactly 0 at all {v.size} reports: no episode ever earned (or lost) a reward, so the "
                       "agent has nothing to learn from")
            cause = ("The reward never reaches the agent: a sparse reward that exploration never finds (Montezuma's "
                     "Revenge under epsilon-greedy), or a reward that is not wired to the environment's.")
            return Finding("slow_progress", Severity.WARNING, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)
        start = _same_tail(v, th, exact=True)
        if start is None or v.size - start < th.return_floor_points or v[-1] >= 0 or v[-1] > v.min():
            continue
        col = run.meta.roles.get(name, name)
        n = v.size - start
        ev = {"metric": col, "value": float(v[-1]), "points": int(n),
              "rule": f"the return is the same negative value, its lowest, at the last {n} reports"}
        summary = (f"{col} is exactly {fmt(float(v[-1]))} at each of the last {n} reports (from step "
                   f"{fmt(float(f.steps[start]))}), the lowest value of the run: every episode ends the same way, at the "
                   "floor of the reward")
        cause = ("The agent is stuck at the reward's floor: exploration never reaches a reward (a sparse or time-out "
                 "reward), the policy collapsed to one action, or the learning signal is broken (reward scale, done "
                 "handling, an LR of ~0).")
        return Finding("slow_progress", Severity.WARNING, float(f.steps[start]), float(f.steps[-1]), summary, ev, cause)
    return None


def _needs(run: Run) -> str | None:
    """A training loss, or (RL runs too) a task metric with a logged LR for the finished-schedule rule,
    or ``pinned_points`` evaluations of a task metric for the pinned-metric rule."""
    why = needs.loss(run)
    if why is None or run.is_gan:
        return None  # (a GAN: its frozen-game rule judges the two players' losses)
    if "lr" in run and any(n in run for n in ("ep_return", "eval_return", "task_metric", "eval_accuracy")):
        return None
    if any(is_error_rate(n) for n in run.metrics):
        return None  # an error rate (WER, CER) is judged on its own
    if run.is_rl and any(needs.points(run, n) >= DEFAULTS.return_floor_points for n in ("ep_return", "eval_return")):
        return None  # a return alone can show the agent stuck at the reward's floor
    if needs.points(run, "lr") >= DEFAULTS.frozen_points:
        return None  # an LR alone can show that nothing is learned (it stays 0)
    if _box_terms(run) and needs.points(run, "loss") >= DEFAULTS.no_match_points:
        return None  # a zero box-regression term on two reports shows no box was ever matched
    if needs.points(run, "eval_loss") >= DEFAULTS.frozen_points:
        return None  # evaluations alone can show that the evaluated model never changes
    if not run.is_rl and any(needs.points(run, n) >= DEFAULTS.pinned_points for n in ("eval_accuracy", "task_metric", "success_rate")):
        return None  # a task metric alone can show it never changed (MXNet's Validation-accuracy greps)
    return why


def _loss_learned(run: Run, th: ProgressThresholds) -> bool:
    """True when the training loss fell by more than ``max_total_drop`` of its first level:
    then a task metric pinned at 0 measures something this model does not do (an accuracy
    logged for a regression: R keras issue 296, loss 0.158 -> 0.029 with acc 0.0000)."""
    s = objective(run)
    if s is None:
        return False
    v = s.finite().values
    if v.size < 3 or v[0] <= 0:
        return False
    with np.errstate(over="ignore", invalid="ignore"):  # losses near 1e300 overflow harmlessly to inf
        return bool(1.0 - float(np.median(v[-3:])) / v[0] > th.max_total_drop)


def _error_rate_at_max(run: Run, th: ProgressThresholds | None = None) -> Finding | None:
    """An error rate (WER, CER) that is exactly 100% at every evaluation (at least 3), or above
    100% (a percentage) at every one: the model outputs nothing right, typically empty transcripts (wav2vec2 fine-tunes whose CTC
    head collapsed to blanks: WER 1.000000 at every step). Pinned columns are named first."""
    series = {n: run.series(n).finite() for n in run.metrics if is_error_rate(n) and n in run}
    values = {n: s.values for n, s in series.items()}
    rates = list(series)
    # exactly 100% (a fraction's 1.0 or a percentage); then a percentage above 100 at every
    # evaluation: worse than an empty output, never better (whisper-tiny: WER 143.8, 158.3,
    # 134.3, 143.8%). A fraction above 1 is not judged: 1.4 may be a percentage's 1.4%.
    pinned = [n for n in rates if values[n].size >= 3 and (np.all(values[n] == 1.0) or np.all(values[n] == 100.0))]
    above = [n for n in rates if values[n].size >= 3 and values[n].min() > 100.0]
    th = th or DEFAULTS
    near = [n for n in rates if n not in pinned and values[n].size >= 3 and int((values[n] == 1.0).sum()) >= 2
            and values[n].min() >= th.error_floor and values[n].max() < 100.0 * th.error_floor]
    for name in pinned + above + near:
        v = values[name]
        rule = ("error rate pinned at 100%" if name in pinned else "error rate above 100% at every evaluation"
                if name in above else f"error rate (a fraction) never below {th.error_floor:.0%}")
        ev = {"metric": name, "value": float(v.min()), "points": int(v.size), "rule": rule}
        s = series[name]
        text = (f"{name} was {fmt(float(v[0]))} (100% errors) at every one of {v.size} evaluations" if name in pinned else
                f"{name} stayed above 100% (best {fmt(float(v.min()))}) at every one of {v.size} evaluations, worse than "
                "an empty output" if name in above else
                f"{name} never went below {fmt(float(v.min()))} ({th.error_floor:.0%}+ errors) over {v.size} evaluations, "
                f"{int((v == 1.0).sum())} of them exactly 1.0")
        return Finding("slow_progress", Severity.ERROR, float(s.steps[0]), float(s.steps[-1]),
                       f"{text}: the model recognises nothing", ev, _CHANCE_CAUSE)
    return None


def _loss_says_some_right(run: Run, th: ProgressThresholds) -> bool:
    """True when the training loss, read as a cross-entropy, puts on average at least 10% on
    the true class (e^-CE >= 0.1 by Jensen, i.e. a median loss below ln 10): an accuracy of
    exactly 0 beside it is a broken metric, not a model that learned nothing (MLPerf ResNet:
    cross-entropy 1.4-2.0 with train_accuracy 0 on every row)."""
    s = objective(run)
    if s is None or s.finite().values.size == 0:
        return False
    return float(np.median(s.finite().values)) < th.zero_acc_max_loss


def _granularity(share: float) -> int:
    """The smallest denominator of a fraction within 1e-9 of ``share`` (0.8 -> 5, 76/421 ->
    421): a lower bound on the evaluation set's size."""
    from fractions import Fraction

    f = Fraction(share).limit_denominator(100_000)
    return f.denominator if abs(float(f) - share) <= 1e-9 else 100_000


def _eval_loss_moves(run: Run, metric: Series, th: ProgressThresholds) -> bool:
    """True when the evaluation loss, over the steps of the pinned ``metric``'s evaluations, fell by
    more than ``max_total_drop`` of its first value there: the evaluated predictions changed, so a
    metric that printed one value throughout is a reporting artefact (a U-Net whose val_loss fell
    0.66 -> 0.20 and Dice moved 0.72-0.79 while its "val_accuracy" read 0.0135 at all 10 epochs)."""
    e = run.series("eval_loss")
    if e is None:
        return False
    f = e.finite()
    x = f.values[(f.steps >= metric.steps[0]) & (f.steps <= metric.steps[-1])]
    return bool(x.size >= 2 and x[0] > 0 and 1.0 - float(x[-1]) / float(x[0]) > th.max_total_drop)


def _pinned_task_metric(run: Run, th: ProgressThresholds) -> Finding | None:
    """Accuracy or mAP that never left 0, or that never changed at all (below its ceiling),
    while the training loss did not fall by more than half (then the metric is not this task's);
    (Error rates are judged by :func:`_error_rate_at_max`.)"""
    learned = _loss_learned(run, th)
    for name in ("eval_accuracy", "task_metric", "success_rate"):
        s = run.series(name)
        if s is None:
            continue
        v = s.finite().values
        if v.size < 3 or v.min() < 0:
            continue
        scale = 100.0 if v.max() > 1.0 else 1.0
        at_zero = bool(v.max() <= 1e-3 * scale) and not _loss_says_some_right(run, th)
        constant = v.size >= th.pinned_points and float(np.ptp(v)) == 0.0 and v[0] < 0.9 * scale
        if learned and not (constant and _granularity(float(v[0]) / scale) >= th.pinned_denominator):
            continue  # the loss fell by half: this metric is not the task's (or its eval set is tiny)
        if constant and _eval_loss_moves(run, s, th):
            continue  # the same evaluations' loss fell by half: the predictions changed, the metric is broken
        if not (at_zero or constant):
            continue
        col = run.meta.roles.get(name, name)
        ev = {"metric": col, "value": float(v[0]) if constant else float(v.max()), "points": int(v.size),
              "rule": "never left 0" if at_zero else "one single value over the whole run"}
        summary = (f"{col} never left {fmt(ev['value'])} over {v.size} evaluations: the model never learned the task"
                   if at_zero else
                   f"{col} was exactly {fmt(ev['value'])} at every one of {v.size} evaluations: the predictions never changed")
        return Finding("slow_progress", Severity.ERROR, float(s.steps[0]), float(s.steps[-1]), summary, ev, _CHANCE_CAUSE)
    return None


class SlowProgressEvidence(Evidence):
    """What a ``slow_progress`` finding proves itself with (keys absent when not measured)."""

    num_classes: float
    num_classes_source: str
    ln_k: float
    loss_median_late: float
    loss_min: float
    points: int
    metric: str
    value: float
    rule: str
    loss_start: float
    loss_mid: float
    loss_end: float
    drop_per_100_steps: float
    total_drop: float
    first_quarter_share_of_drop: float
    steps: float
    lr_median_share_of_peak: float
    accuracy_metric: str
    accuracy_median: float
    repeated_pairs: int
    expected_pairs: float
    first: float
    lowest_after: float
    last: float


@detector("slow_progress", thresholds=DEFAULTS, evidence=SlowProgressEvidence, needs=_needs)
def detect_slow_progress(run: Run, th: ProgressThresholds = DEFAULTS) -> list[Finding]:
    rules = (_lr_stays_zero, _stuck_at_chance, _worse_than_uniform, _at_uniform, _collapsed_to_zero, _zero_throughout, _frozen_loss, _frozen_eval, _frozen_term, _recurring_loss, _error_rate_at_max, _pinned_task_metric, _no_box_matched, _never_below_start,
             _no_gain_over_finished_schedule) if not run.is_rl \
        else (_lr_stays_zero, _degenerate_groups, _return_at_floor, _no_gain_over_finished_schedule)
    if run.is_gan:
        rules = (_lr_stays_zero, _frozen_game)
    elif needs.loss(run) is not None and not run.is_rl:
        rules = (_lr_stays_zero, _error_rate_at_max, _pinned_task_metric, _no_box_matched, _frozen_eval, _no_gain_over_finished_schedule)  # no training loss: only these can judge
    for rule in rules:
        got = rule(run, th)
        if got is not None:
            return [got]
    if run.is_rl or needs.loss(run) is not None:
        return []
    if run.meta.step_unit not in ("step", "timestep"):
        return []
    t = objective_trend(run)
    if t is None:
        return []
    steps, sm = t.c.step, t.smooth
    span = steps[-1] - steps[0]
    half = int(np.searchsorted(steps, steps[0] + span / 2))
    if half < 3 or steps[half] - steps[0] < th.min_steps or t.n < th.rate_min_points:
        return []
    if steps[0] > th.rate_start_share * steps[-1]:
        return []
    head = max(1, t.n // 50)
    start = float(np.median(t.c.mid[:head]))
    mid = float(sm[half])
    end = float(np.median(t.c.mid[-head:]))
    if start == 0:
        return []
    rate = (start - mid) / abs(start) / (steps[half] - steps[0]) * 100
    total = (start - end) / abs(start)
    share = _lr_share(run, steps[0], steps[half])
    quarter = int(np.searchsorted(steps, steps[0] + span / 4))
    front = (start - float(sm[quarter])) / (start - end) if start > end else 0.0
    if (rate >= th.min_drop_per_100 or total >= th.max_total_drop or front >= th.max_front_share
            or (share is not None and share < th.lr_zero)):
        return []
    ev = {"loss_start": start, "loss_mid": mid, "loss_end": end, "drop_per_100_steps": rate,
          "total_drop": total, "first_quarter_share_of_drop": front, "steps": float(span)}
    if share is not None:
        ev["lr_median_share_of_peak"] = share
    summary = (f"loss fell only {rate:.2%} per 100 steps over the first half (from {fmt(start)} to "
               f"{fmt(mid)}), {total:.0%} over the whole run")
    cause = ("The learning rate is too low for this model (or the model barely trains: frozen "
             "parameters, data or labels wrong). Fine-tuning a pretrained model can also start near its floor.")
    return [Finding("slow_progress", Severity.WARNING, float(steps[0]), float(steps[-1]), summary, ev, cause)]


class PlateauEvidence(Evidence):
    """What a ``plateau`` finding proves itself with (keys absent when not measured)."""

    last_improvement_step: float
    best_loss: float
    plateau_steps: float
    lr_share_of_peak: float


@detector("plateau", thresholds=DEFAULTS, evidence=PlateauEvidence, needs=needs.loss)
def detect_plateau(run: Run, th: ProgressThresholds = DEFAULTS) -> list[Finding]:
    t = objective_trend(run)
    if t is None or t.n < th.min_plateau_points:
        return []
    sm, steps = t.smooth, t.c.step
    total = sm.max() - sm.min()
    if total <= 0 or (sm[0] - sm.min()) < 0.1 * abs(sm[0]):
        return []
    target = np.minimum.accumulate(sm)
    # a new best beats the best *as of the last improvement* by new_best x total: a loss
    # that creeps down a little at every point keeps improving (9.0 -> 6.0 at a constant LR)
    eps = th.new_best * total
    last, ref = 0, float(sm[0])
    for i in range(1, t.n):
        if sm[i] < ref - eps:
            last, ref = i, float(sm[i])
    flat = t.n - 1 - last
    if flat < max(th.patience_fraction, th.plateau_min_budget) * t.n:
        return []
    share = _lr_share(run, steps[last], steps[-1])
    if share is None or share < th.min_plateau_lr:
        return []
    ev = {"last_improvement_step": float(steps[last]), "best_loss": float(target[-1]),
          "plateau_steps": float(steps[-1] - steps[last]), "lr_share_of_peak": share}
    summary = (f"no new best loss since step {fmt(steps[last])} ({flat / t.n:.0%} of the run) "
               f"while the LR stayed at {share:.0%} of its peak")
    cause = "The LR is too high to settle into a lower loss; a decay (cosine, step, or on plateau) would let it."
    return [Finding("plateau", Severity.INFO, float(steps[last]), float(steps[-1]), summary, ev, cause)]


@fix_rule("slow_progress")
def fix_slow_progress(run: Run, f: Finding) -> Prescription:
    """Only the rate rule (a loss that falls, slowly) is cured by a larger LR. An LR that reached
    0 needs its schedule's floor; a run that learns nothing at all (frozen, collapsed, stuck at
    chance, pinned) needs its data, loss and trainable parameters checked first: a 3x LR on a
    model whose gradients are 0 changes nothing."""
    ev = f.evidence
    if "drop_per_100_steps" in ev:
        return Prescription([lr_fix(run, f, SLOW_LR_RAISE, "< 1% loss drop per 100 steps: raise the LR 3x; confirm with an LR range test")], [Watch("loss", "> 1% drop per 100 steps early in the run", "still slower means the LR is not the limit: check data and frozen layers")])
    if ev.get("metric") == run.meta.roles.get("lr", "lr") and "lr" in run:
        return Prescription([Fix("min_lr", config_value(run.config, ("min_lr", "eta_min", "lr_end", "end_lr")), None,
                                 "the schedule decayed the LR to ~0 while training goes on",
                                 note="stop training where the schedule ends, or give the decay a floor (eta_min / min_lr ~ 1% of the peak)")],
                            [Watch("lr", "above 1% of its peak while training continues", "an LR of ~0 spends steps without learning")])
    return Prescription([
        Fix("labels / loss inputs", None, None, "a loss that cannot move has no signal in it",
            note="check that targets are not all masked (-100), match the outputs (class ids, shapes), and that the loss is computed on the model's outputs"),
        Fix("trainable parameters", None, None, "no gradient reaches weights that are frozen, detached or missing from the optimizer",
            note="count parameters with requires_grad and in optimizer.param_groups; check for .detach() / no_grad in the forward"),
        Fix("output saturation", None, None, "saturated sigmoids/softmaxes and dead ReLUs pass no gradient",
            note="check the output layer's init and scale, and the fraction of dead units"),
    ], [Watch(str(ev.get("metric", "loss")), "changes from report to report from the first steps", "a value that does not move means nothing is learned")])


@fix_rule("plateau")
def fix_plateau(run: Run, f: Finding) -> Prescription:
    return Prescription([Fix("lr_scheduler", config_value(run.config, ("lr_scheduler_type", "scheduler", "lr_scheduler")), None, f"no new best since step {fmt(f.evidence.get('last_improvement_step'))} at a high LR: decay it",
                             note="cosine to 1% of peak (or ReduceLROnPlateau factor 0.1)")], [WATCH_LOSS])
