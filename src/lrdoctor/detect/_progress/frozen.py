"""slow_progress rules for a model that stopped changing: a frozen loss, term, evaluation or game, a loss that
collapsed to 0, a detector whose box terms matched nothing, batch losses that recur exactly."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from lrdoctor.detect import needs
from lrdoctor.detect._common import objective, training_loss_terms, zero_is_exact
from lrdoctor.detect._progress.common import (
    _FROZEN_CAUSE,
    _bf16_step,
    _frozen_tail,
    _live_loss,
    _lr_is_zero,
    _lr_share,
    _printed_digits,
    _same_tail,
    _too_early,
    _typical_resolution,
    is_trainer_results_table,
)
from lrdoctor.detect._stats import tail_start, value_at
from lrdoctor.finding import Finding, Severity
from lrdoctor.fmt import fmt
from lrdoctor.names import loss_term_kind, tokens
from lrdoctor.run import Run, Series

if TYPE_CHECKING:
    from collections.abc import Callable

    from lrdoctor.detect.progress import ProgressThresholds


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
    if _eval_score_moves(run, float(f.steps[run_len])):
        return None  # the evaluated model changes: the printed training loss is a stale copy (an HF
        # card's "Training Loss" repeats the last logged value on rows where logging_steps had not come
        # round: 1.3581 at epochs 3-5 while SacreBLEU went 33.44, 33.52, 33.67)
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


def _memorised_over(run: Run, since: float, eval_value: float) -> bool:
    """True when every training loss reported over the frozen evaluations is an order of
    magnitude below the evaluation loss (overfitting's ``memorised_gap``): the training set is
    memorised, its cross-entropy near 0 sends almost no gradient, and the weights that the
    evaluation reads barely move. The evaluation stops moving because the model converged onto
    its training set (the overfitting rules say so), not because training is dead (Swin on
    food101: validation loss 0.4401 at its last five evaluations while the training loss printed
    0.0007-0.0056)."""
    from lrdoctor.detect.overfitting import DEFAULTS as OVER

    s = run.series("loss")
    if s is None or eval_value <= 0:
        return False
    f = s.finite()
    v = f.values[f.steps >= since]
    return bool(v.size >= 2 and (v >= 0).all() and (v * OVER.memorised_gap <= eval_value).all())


def _eval_score_moves(run: Run, since: float) -> bool:
    """True when the evaluation accuracy (or score) prints more than one value over the evaluations
    from ``since``: the same evaluations through an unchanged model give the same predictions, so
    a score that moves says the model changed, and the loss only sits still at its printed digits
    (skorch's IMDB RNN: valid_loss 0.5429 at epochs 3-5 while valid_acc went 0.7220, 0.7380, 0.7404)."""
    s = run.series("eval_accuracy")
    if s is None:
        return False
    f = s.finite()
    v = f.values[f.steps >= since]
    return bool(v.size >= 2 and np.ptp(v) > 0)


def _frozen_eval(run: Run, th: ProgressThresholds) -> Finding | None:
    """The evaluation loss prints the same value at its last ``frozen_points``+ evaluations of a run
    that never learned (:func:`frozen_evaluation`; after the run learned, the stall is plateau's)."""
    got = frozen_evaluation(run, th)
    return got[0] if got is not None and got[1] is None else None


#: the ``rule`` of a plateau finding whose evaluation loss froze after the run learned
FROZEN_AFTER_LEARNING_RULE = "frozen evaluation after learning"
#: the ``rule`` of a plateau finding whose training loss froze after the run learned
FROZEN_LOSS_AFTER_LEARNING_RULE = "frozen training loss after learning"


def _loss_that_learned(run: Run, step: float, shows: Callable[[np.ndarray, np.ndarray], bool]) -> tuple[str, float, float] | None:
    """The evaluation loss, or else the training loss, for which ``shows(all finite reports, those up to
    step)`` holds, as (its column, its first report, its lowest report up to ``step``); None when neither."""
    for role in ("eval_loss", "loss"):
        s = run.series(role)
        if s is None:
            continue
        f = s.finite()
        v = f.values[f.steps <= step]
        if shows(f.values, v):
            return run.meta.roles.get(role, role), float(v[0]), float(v.min())
    return None


def learned_before(run: Run, step: float, th: ProgressThresholds) -> tuple[str, float, float] | None:
    """The loss that shows the run learned before ``step``: the evaluation loss, or else the
    training loss, whose lowest report up to ``step`` is at least ``plateau_learned`` of its first
    report below it, as (its column, its first report, that lowest); None when neither fell so."""
    return _loss_that_learned(run, step, lambda _, v: bool(v.size >= 2 and v[0] > 0
                                                          and (v[0] - v.min()) >= th.plateau_learned * v[0]))


def learned_below_any_prior(run: Run, step: float, th: ProgressThresholds) -> tuple[str, float, float] | None:
    """The loss that shows, by its level alone, that the model learned before ``step``: the evaluation
    loss, or else the training loss, positive at every report, whose lowest report up to ``step`` is
    under ``learned_floor`` x ln 2. No untrained model and no constant predictor of the labels sits
    there (``learned_floor``), so a frozen evaluation of such a model is a plateau after learning even
    when no earlier report saw the fall (a Keras NER fine-tune: training loss 0.0226 at its first epoch,
    validation loss 0.0519 at all three). Returned as (its column, its first report, that lowest);
    None otherwise. A loss that goes negative (a Gaussian NLL) has no prior level to stand against."""
    bar = th.learned_floor * math.log(2.0)
    return _loss_that_learned(run, step, lambda whole, v: bool(v.size and (whole > 0).all() and float(v.min()) < bar))


def learned_by_the_first_evaluation(run: Run, step: float, th: ProgressThresholds) -> tuple[str, float, float] | None:
    """An evaluation loss frozen from its first evaluation (``step``) leaves one witness of what came
    before it: the training loss's first report, at or before ``step``, is the mean over the updates
    that led to the evaluated weights (a Keras epoch, a Trainer's logging interval), learning
    included. When the training reports after ``step`` (the frozen weights' own loss) sit
    ``plateau_learned`` of that first report below it by their median, and closer to one another than
    to it (a fall larger than their own spread), the model learned within that first interval and
    then stopped (gpt2 on Turkish reviews, Keras: training loss 6.1956 at epoch 0,
    then 5.4254, 5.4254, 5.4252, 5.4254 while the validation loss printed 5.4114 at all five epochs;
    a PolynomialDecay sized for one epoch leaves the LR at 0 after it). A weaker witness than an
    evaluation seen to fall (:func:`learned_before`): what one interval learned may be its easy part
    alone (a class prior, a language model's unigram level: gpt2 left at 6.49 nats), so the plateau
    is reported beside slow_progress's frozen-evaluation error, not instead of it. Returned as
    (the training loss's column, its first report, that median); None otherwise."""
    e, s = run.series("eval_loss"), run.series("loss")
    if e is None or s is None or float(e.finite().steps[0]) < step:
        return None  # an evaluation before the freeze: learned_before read it
    f = s.finite()
    first, after = f.values[f.steps <= step], f.values[f.steps > step]
    if first.size != 1 or after.size == 0 or first[0] <= 0:
        return None  # the first report must be the one interval that led to the first evaluation
    low = float(np.median(after))
    if first[0] - low < max(th.plateau_learned * first[0], float(np.ptp(after))):
        return None  # not a tenth, or within the later reports' own scatter: weights that still move
        # (a Trainer's training loss 0.1421, then 0.1036, 0.1836, 0.0423 beside one validation value)
    return run.meta.roles.get("loss", "loss"), float(first[0]), low


def frozen_evaluation(run: Run, th: ProgressThresholds) -> tuple[Finding, tuple[str, float, float] | None] | None:
    """The evaluation loss prints the same value at its last ``frozen_points``+ evaluations, as
    slow_progress's finding and :func:`learned_before` (or :func:`learned_below_any_prior`) the first
    frozen evaluation. An evaluation of the same data through changed weights changes in its 3rd-4th
    digit; one that does not
    evaluates an unchanged (or saturated) model (Keras binary classifier: val_loss 3.6992 from
    epoch 6 to 50; Chainer CIFAR: validation loss 2.30259 = ln 10 at every epoch). Not when another
    evaluation loss column moves (a total pinned by a huge constant term). Computed once per run:
    slow_progress reads it for a run that never learned, plateau for one that did."""
    key = ("frozen_evaluation", th)
    if key not in run.derived:
        run.derived[key] = _frozen_evaluation(run, th)
    return run.derived[key]


def _frozen_evaluation(run: Run, th: ProgressThresholds) -> tuple[Finding, tuple[str, float, float] | None] | None:
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
    if run.meta.step_unit != "epoch" and f.values.size >= needs.points(run, "loss") > 0 and not is_trainer_results_table(run):
        return None  # an evaluation on every training report is the last one carried along
        # (LitGPT prints the latest "val loss" on each iteration line); with no training loss at all
        # (HF's results table before the first logged loss: "No log") every evaluation is its own, as
        # every row of a Trainer's results table is (one row per evaluation, the training loss beside
        # it: distilgpt2 on wikitext-2, validation loss 3.6436 at all three epochs)
    if _another_loss_moves(run, raw, since, th, role="eval_loss", kind="eval"):
        return None
    if _converged_with_training(run, since, th):
        return None
    if _eval_score_moves(run, since):
        return None
    if _memorised_over(run, since, float(f.values[-1])):
        return None
    v, n = float(f.values[-1]), int(f.values.size - run_len)
    ev = {"metric": raw, "value": v, "points": n, "rule": f"frozen evaluation: the last {n} evaluations print {v!r}"}
    summary = (f"the evaluation loss is frozen at {fmt(v)}: the last {n} evaluations print the same value, so the "
               "evaluated model does not change")
    return (Finding("slow_progress", Severity.ERROR, since, float(f.steps[-1]), summary, ev,
                    _FROZEN_CAUSE + " Or the evaluation loads a stale checkpoint."),
            learned_before(run, since, th) or learned_below_any_prior(run, since, th))


#: the words of a weight penalty's term (facenet's "RegLoss", TF's "regularization_loss",
#: "l2_loss", "weight_decay"): a function of the weights alone, not of the batch, so between
#: reports it moves only as fast as the weights drift (late in a run, under its printed digits
#: for many updates: facenet's RegLoss 2.291 on the last 4 batches of epoch 250 while the batch
#: loss moved 3.22-3.42). The frozen-term rule reads a term against the batch noise of the total,
#: which such a term does not share. ("reg" alone is also a box regression's term in detectors; it
#: is left out of the judgement all the same: equal prints of it prove nothing either way here.)
_PENALTY_WORDS = frozenset({"reg", "regloss", "regularization", "regularisation", "regularizer", "l2", "wd",
                            "weight_decay", "decay", "penalty"})


def _frozen_term(run: Run, th: ProgressThresholds) -> Finding | None:
    """A training loss term other than the objective prints exactly the same value at the last
    ``frozen_points``+ reports while the objective still moves: the head that produces it no
    longer changes (CenterNet's hm_loss 9.208497 at every epoch from 2 on while wh_loss moved;
    YOLO-World's loss_dfl 66.5625). Exact equality, not 6 digits: a huge constant-weighted term
    moves only in its 9th digit (a CapsNet's 1.128e9 reconstruction term) and is no dead head.
    Not judged within the first ``min_steps`` updates of a log that starts at the start: a head
    sits at its initial value until training reaches it (mmocr's TextSnake: loss_text 0.6932, ln 2,
    at iterations 1-3 while its regression terms fall)."""
    obj = objective(run)
    if obj is None:
        return None
    for name in training_loss_terms(run):
        if name in run.meta.roles.values():
            continue
        f = run.series(name).finite()
        if f.values.size == 0:
            continue  # never finite: a dead term is the nonfinite rules' to judge
        if _too_early(run, f, th, rows_unknown=False):
            continue  # the first updates: a head still at its initial value (a heatmap's ln 2) has not started yet
        if _PENALTY_WORDS & set(tokens(name)):
            continue  # a weight penalty: see _PENALTY_WORDS
        run_len = _frozen_tail(run, name, f, th, exact=True)
        if run_len is None:
            continue
        if _epoch_aggregate_within_few_epochs(run, name, f, run_len, th):
            continue  # one epoch's mean carried on the step lines until the next epoch ends
        o = obj.finite().at_or_after(float(f.steps[run_len])).values
        if o.size < 2 or float(np.ptp(o)) <= th.frozen_other_moves * float(np.abs(o).max()):
            continue  # the objective is frozen too: the frozen-loss rule's case
        share = float(np.median(np.abs(np.diff(o)))) / float(np.abs(o).max())
        if share * abs(float(f.values[-1])) < th.frozen_term_quanta * _typical_resolution(f.values):
            continue  # the total barely moves (running averages): the term's equal prints are its rounding
        v, n = float(f.values[-1]), int(f.values.size - run_len)
        ev = {"metric": name, "value": v, "points": n, "rule": f"frozen term: the last {n} reports print {v!r} exactly"}
        summary = (f"the loss term {name} is frozen at {fmt(v)} on the last {n} reports while the total moves: "
                   "the part of the model that produces it no longer learns")
        cause = ("A dead head: its outputs saturated (a sigmoid/focal heatmap pinned at 0 or 1), its parameters are "
                 "frozen or detached, or its targets are empty so its loss is a constant.")
        return Finding("slow_progress", Severity.WARNING, float(f.steps[run_len]), float(f.steps[-1]), summary, ev, cause)
    return None


#: the last word of a logged aggregate over an epoch (PyTorch Lightning's ``self.log(name, on_step=True,
#: on_epoch=True)`` logs ``name_step`` and ``name_epoch``): it changes only when an epoch ends
EPOCH_AGGREGATE_WORD = "epoch"


def _epoch_aggregate_within_few_epochs(run: Run, name: str, f: Series, start: int, th: ProgressThresholds) -> bool:
    """True when ``name`` is an epoch aggregate (its last word :data:`EPOCH_AGGREGATE_WORD`, as
    Lightning's ``train_loss_epoch``) whose frozen tail, from report ``start`` on, spans fewer than
    ``frozen_points`` distinct values of the log's epoch column (or the log has none): the aggregate is
    computed once per epoch and a step-level log prints the last epoch's value on every line until the
    next epoch ends, so its equal prints within an epoch are one measurement carried along, not a
    head that stopped learning (anomalib's progress bar: train_loss_epoch=-7.94e+5 at the end of
    epoch 2 and on the first four batches of epoch 3, while train_loss_step moved). The frozen-term
    rule's count then applies to epochs, the unit the aggregate is measured in."""
    words = tokens(name)
    if not words or words[-1] != EPOCH_AGGREGATE_WORD:
        return False
    epoch = run.series("epoch")
    if epoch is None:
        return True
    seen = {value_at(epoch, float(st)) for st in f.steps[start:]}
    seen.discard(None)
    return len(seen) < th.frozen_points


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
    tail = x[i:]
    if (tail == 0).any() and (tail > 0).any():
        # exact zeros beside a positive residue (1.2e-18): a loss still computed on its targets that
        # underflows as its margins grow, a solved task (Optax's parity MLP at peak LR 1.0: 5.83,
        # then 0.0, 1.23e-18, 0.0, ...); a masked or zeroed loss is 0 on every report
        return None
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
    if x.size < th.zero_loss_points or (x != 0).any():
        return None
    exact = zero_is_exact(run, "loss", th.lr_zero_decimals)
    if not (exact or _zero_from_first_epoch(run, th)):
        return None
    ev = {"metric": run.meta.roles.get("loss", "loss"), "value": 0.0, "points": int(x.size),
          "rule": "the loss is exactly 0 on every report" if exact else
          f"the loss prints 0 at {th.zero_start_decimals}+ decimals on every report from the first epoch"}
    said = "is exactly 0" if exact else "prints 0 (below 5e-5) from the first epoch"
    summary = (f"the loss {said} on all {x.size} reports: a zero loss sends no gradient (or the logger "
               "wrote a NaN as 0.0), so nothing is learned")
    cause = ("Every label of the batch is masked (-100), the loss is computed on an empty selection, or it "
             "is NaN and logged as 0.0 (HF Trainer); check the data collator and the loss inputs.")
    # a rounded 0 (below 5e-5, printed from the first epoch) is a warning: exactly 0 is certain
    sev = Severity.ERROR if exact else Severity.WARNING
    return Finding("slow_progress", sev, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)


def _zero_from_first_epoch(run: Run, th: ProgressThresholds) -> bool:
    """See ``ProgressThresholds.zero_start_decimals``: a text log's 0.0000 counts from epoch 0/1."""
    epoch = run.series("epoch")
    dec = run.meta.printed_decimals.get(run.meta.roles.get("loss", "loss"))
    if epoch is None or dec is None or dec < th.zero_start_decimals:
        return False
    e = epoch.finite().values
    return bool(e.size and e[0] <= 1)


#: the words of a detector's box-regression loss term (matched predictions only)
_BOX_TERMS = ("box", "bbox", "iou", "giou", "ciou", "dfl", "reg")


def _box_terms(run: Run) -> list[str]:
    """The run's box-regression training loss terms (``_BOX_TERMS`` words)."""
    from lrdoctor.names import tokens

    return [n for n in training_loss_terms(run) if any(w in tokens(n) for w in _BOX_TERMS)]


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


#: the words of a detector's classification loss term, which a box term goes along with: a "reg"
#: term beside no such term is a regulariser, 0 when it is switched off (NeuralProphet's "RegLoss"
#: beside its "SmoothL1Loss"), not a box regression
_CLASS_TERMS = ("cls", "class", "classification", "obj", "objectness", "conf", "confidence", "ce", "label",
                "labels", "xent", "focal", "qfl", "vfl", "varifocal", "hm", "heatmap")


def _no_box_matched(run: Run, th: ProgressThresholds) -> Finding | None:
    """See ``ProgressThresholds.no_match_points``."""
    from lrdoctor.names import tokens

    boxes = _box_terms(run)
    if not boxes:
        return None
    # the other training terms (a classification loss) that stay positive, the total left out
    live = [n for n in training_loss_terms(run) if n not in boxes and (run.series(n).finite().values > 0).all()
            and any(w in tokens(n) for w in _CLASS_TERMS)]
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
        first_stage = _box_regressed_elsewhere(run, name, f.steps)
        if first_stage is not None:
            return _second_stage_without_positives(name, first_stage, f, ev)
        return Finding("slow_progress", Severity.ERROR, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)
    return None


#: the words of a box-regression term that witnesses matched boxes (:func:`_box_regressed_elsewhere`):
#: ``_BOX_TERMS`` and a localisation loss (SSD's and CenterPoint's ``loc_loss``, detectron2's
#: ``loss_rpn_loc``), but not a bare "reg", which may be a weight regulariser (see ``_CLASS_TERMS``)
_WITNESS_TERMS = tuple(w for w in _BOX_TERMS if w != "reg") + ("loc",)


def _box_regressed_elsewhere(run: Run, zero: str, steps: np.ndarray) -> str | None:
    """Another box-regression training term of the run (``_WITNESS_TERMS``) above 0 at every
    report of the term ``zero`` that stayed at 0: the term that witnesses that ground-truth boxes
    were found and matched. None when there is none."""
    for n in run.metrics:
        if n == zero or n not in run or loss_term_kind(n) != "train":
            continue
        if not any(w in tokens(n) for w in _WITNESS_TERMS):
            continue
        v = [value_at(run.series(n), float(s)) for s in steps]
        if None not in v and min(v) > 0:
            return n
    return None


def _second_stage_without_positives(name: str, first_stage: str, f: Series, ev: dict) -> Finding:
    """The no-box-matched finding as a warning when another box term (``first_stage``) regresses
    boxes on the same reports. A two-stage detector regresses boxes twice: its first stage
    (a region proposal network, CenterPoint's heatmap head) on the anchors or centres matched to a
    ground-truth box, its second stage (the RoI head) on the proposals that overlap one above its
    IoU threshold. A first-stage box loss above 0 shows the labels were found and matched; a second
    stage at exactly 0 got no positive proposal, which is a first stage not yet good enough (early
    in training) or an RoI sampler that does not suit the objects (its thresholds, or ground-truth
    boxes in another frame than the proposals): a stage to fix or to watch, not the detector that
    learns only background (CenterPoint two-stage on a Waymo subset: roi_reg_loss
    0 on all four reports of its first three epochs while loc_loss stayed near 6.0)."""
    summary = (f"{name} is exactly 0 on all {f.values.size} reports while {first_stage} is not: the first stage "
               "matched ground-truth boxes, but the second stage got no positive proposal to regress")
    cause = ("The second stage sees no proposal that overlaps a ground-truth box above its IoU threshold: the first "
             "stage's boxes are still poor (early in training), the RoI sampler's IoU thresholds do not suit the objects, "
             "or it matches the proposals to ground-truth boxes given in another frame (normalised against pixels).")
    ev = dict(ev, rule=f"no positive proposal: {name} is exactly 0 on every report while {first_stage} is not")
    return Finding("slow_progress", Severity.WARNING, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)


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
    # a value on consecutive reports is one measurement carried along (an HF results table whose
    # training loss is logged every 10 steps and evaluated every 7-8 repeats it on irregular
    # rows) or a frozen model (the frozen rule's case): a recurrence is a value seen again after
    # others, the same batch coming round again
    x = x[np.r_[True, x[1:] != x[:-1]]] if x.size else x
    if x.size < 10:
        return None
    sigma = robust_sigma(x - np.median(x))
    q = max(_typical_resolution(x), _bf16_step(x, run.meta.printed_decimals.get(run.meta.roles.get("loss", "loss"))) or 0.0)  # bfloat16 values repeat on its coarse grid
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
