"""Detectors: pure functions ``Run -> list[Finding]``, one home module per finding kind.

Every module of this package (and of ``rl/``) is imported here; each registers its kinds
with :func:`lrdoctor.detect.registry.detector` and :func:`~lrdoctor.detect.registry.fix_rule`,
so a new kind needs only its own module (see CONTRIBUTING.md). The same functions serve
offline diagnosis and the live Monitor. Pass your own thresholds through
``check(run, thresholds={"divergence": DivergenceThresholds(...)})``.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from typing import Any, Callable, Mapping

from lrdoctor.detect._progress.chance import NEVER_LEFT_ZERO_RULE, RECALL_ONE_CLASS_RULE, UNCHANGED_RULE
from lrdoctor.detect.coverage import Coverage
from lrdoctor.detect.registry import FIX_RULES, SPECS, CannotJudge, KindSpec, Thresholds
from lrdoctor.finding import Finding, Severity, all_kinds
from lrdoctor.names import TEXT_SCORE_WORDS, tokens
from lrdoctor.run import Run

__all__ = ["DETECTORS", "THRESHOLDS", "SPECS", "FIX_RULES", "KindSpec", "Thresholds", "detect_all", "check",
           "Coverage", "CannotJudge", "EXPLAINED_BY_ERROR", "BLOWUP_KINDS", "filter_findings", "STRICT_ENV"]

#: Set (to anything) to let a rule's exception propagate instead of turning into a skipped check:
#: the test suite and the benchmark set it, so a rule's bug fails them rather than hiding.
STRICT_ENV = "LRDOCTOR_STRICT"

#: modules of this package that hold no kind
_INFRA = {"registry", "needs", "coverage", "reference"}


def _import_kind_modules() -> None:
    for pkg_name, path in ((__name__, __path__), (f"{__name__}.rl", [p + "/rl" for p in __path__])):
        for info in pkgutil.iter_modules(path):
            if not info.name.startswith("_") and info.name not in _INFRA:
                importlib.import_module(f"{pkg_name}.{info.name}")


_import_kind_modules()

#: kind -> (detector, its default thresholds), in the order of ``all_kinds()`` (kept for callers of
#: the first release; :data:`SPECS` is the registry itself). A detector called directly may raise
#: :class:`CannotJudge` where its data cannot support a conclusion; :func:`check` handles it.
DETECTORS: dict[str, tuple[Callable[..., list[Finding]], Any]] = {
    k: (SPECS[k].detect, SPECS[k].defaults) for k in all_kinds() if k in SPECS
}
THRESHOLDS = {k: v[1] for k, v in DETECTORS.items()}

#: Findings a confirmed blow-up explains: once the loss diverged or went non-finite,
#: "slow progress" or a plateau over the same run adds nothing.
EXPLAINED_BY_ERROR = frozenset({"slow_progress", "plateau"})
#: The error kinds that explain them.
BLOWUP_KINDS = frozenset({"divergence", "nonfinite", "lr_beyond_stability"})


def _check_thresholds(thresholds: Mapping[str, Any]) -> None:
    for kind, th in thresholds.items():
        if kind not in SPECS:
            raise ValueError(f"The 'thresholds' parameter has an unknown kind {kind!r}; valid kinds: {', '.join(DETECTORS)}.")
        want = type(SPECS[kind].defaults)
        if not isinstance(th, want):
            raise TypeError(f"The 'thresholds[{kind!r}]' parameter must be a {want.__name__}. Got {type(th).__name__} instead.")


def filter_findings(findings: list[Finding]) -> list[Finding]:
    """The one post-processing step of raw findings (used by ``diagnose`` and the Monitor):
    drop what a confirmed blow-up explains (not a metric's NaN beside finite losses, which the
    metric's own computation gave: no blow-up), a score's reversal that overfitting explains, an
    overfitting of a run that never left chance, and a reversal of a score that a constant
    predictor printed, a loss spike inside an oscillating stretch, one of its swings, and a loss spike
    at the last report that a divergence finding ending there already names."""
    blowups = [f for f in findings if f.severity is Severity.ERROR and f.kind in BLOWUP_KINDS and not f.evidence.get("losses_finite")]
    if blowups:
        onset = min(f.start_step for f in blowups) if all(f.kind == "divergence" for f in blowups) else float("-inf")
        findings = [f for f in findings if f.kind not in EXPLAINED_BY_ERROR or _before_the_blowup(f, onset) or _text_frozen_above_zero(f)
                    or _stuck_with_finite_weights(f, blowups)]
    return [f for f in findings if not _overfitting_explains(f, findings) and not _never_learned(f, findings)
            and not _oscillation_explains(f, findings) and not _divergence_explains(f, findings)]


def _before_the_blowup(f: Finding, onset: float) -> bool:
    """True for an error-level ``slow_progress`` that starts before the first blow-up: a blow-up
    explains what came after it, not a model that was stuck before it (RemBERT on a two-class set:
    F1 of the minority class 0 from the first evaluation, both losses jumping one evaluation later).
    The warning-level rates and plateaus measured over the whole run are the blow-up's own doing."""
    return f.kind == "slow_progress" and f.severity is Severity.ERROR and f.start_step < onset


def _text_frozen_above_zero(f: Finding) -> bool:
    """True for the ``slow_progress`` error that a score of generated text (BLEU, ROUGE, chrF, METEOR:
    :data:`~lrdoctor.names.TEXT_SCORE_WORDS`) printed one value above 0 at every evaluation. A blow-up
    does not explain it: a network whose weights went non-finite emits NaN logits, whose argmax is
    token 0 (T5's pad) at every position, an empty decode that every one of these scores rates
    exactly 0. A score held above 0 says the decoder wrote real text, the same text at every
    evaluation: finite weights that no update changed, so the model never trained at all, which
    the non-finite loss beside it (an fp16 overflow of the loss, whose every step the loss scaler
    skips) does not say (flan-t5-base on XSum: validation loss nan at every epoch, ROUGE-1 exactly
    37.215 at all nine; t5-large: BLEU 0.5945 at all five evaluations beside a nan validation loss).
    An accuracy pinned at one value is no such proof: a non-finite network answers class 0 for
    every input and prints that class's share at every evaluation."""
    if f.kind != "slow_progress" or f.severity is not Severity.ERROR or f.evidence.get("rule") != UNCHANGED_RULE:
        return False
    value, metric = f.evidence.get("value"), f.evidence.get("metric")
    return (isinstance(value, (int, float)) and value > 0 and isinstance(metric, str)
            and bool(TEXT_SCORE_WORDS & set(tokens(metric))))


def _stuck_with_finite_weights(f: Finding, blowups: list[Finding]) -> bool:
    """True for an error-level ``slow_progress`` when every blow-up beside it is a non-finite training
    column whose run's evaluation loss stayed finite at every evaluation from its first non-finite
    report on (the ``eval_loss_finite`` evidence of :mod:`lrdoctor.detect.nonfinite`). An evaluation
    is of the weights as they stand: finite there, the weights never blew up, and the non-finite
    value is the training column's own computation (CTC's inf for an utterance shorter than its
    transcript, numpy's mean of an empty list), which explains no model stuck at chance. The
    stuck error is then the run's own story (nolearn/Lasagne on 12 classes: train loss nan at every
    epoch after numpy's "Mean of empty slice", valid loss 4.51024 and valid accuracy 0 at all five;
    XLS-R on Turkish: training loss inf, then nan, validation loss 9.15 -> 8.55 and WER 1.0 at every
    evaluation). A NaN that reached the evaluation too is the blow-up's, and still explains it."""
    return (f.kind == "slow_progress" and f.severity is Severity.ERROR
            and all(b.kind == "nonfinite" and b.evidence.get("eval_loss_finite") for b in blowups))


#: slow_progress errors that say the evaluated predictions never changed or never left 0
_UNCHANGED_RULES = frozenset({UNCHANGED_RULE, NEVER_LEFT_ZERO_RULE})


def _never_learned(f: Finding, findings: list[Finding]) -> bool:
    """True for a ``performance_reversal`` beside the error that every prediction was one class at
    every evaluation (the macro recall exactly 1/K), and for an ``overfitting`` finding of a run
    whose training loss is still at chance when the finding ends (``train_last`` within
    slow_progress's ``chance_flat`` band of ln K, the ``ln_k`` of its stuck-at-chance error): a model
    that learned nothing memorised nothing, and its held-out loss drifting by a percent is noise
    around chance (wav2vec2 on the 14 intents of
    MInDS-14: training loss 2.634 -> 2.612, validation 2.636 -> 2.654, ln 14 = 2.639, accuracy
    0.04-0.10). The stuck-at-chance error says it all. So, for an overfitting judged from
    evaluations alone, does an error that the evaluated predictions never changed (an accuracy
    printing one value at every evaluation) or never left 0: with no training loss to show the
    model fitted anything, its held-out loss moves with its confidence alone (a classifier at
    accuracy 0.8333 at all ten evaluations while its validation loss went 0.155 -> 0.551); and so
    does the stuck-at-chance error, when the evaluation loss's own minimum is within that band of
    ln K (:func:`_at_chance`). Neither holds once the held-out loss ended above that band
    (:func:`_above_chance`): confident wrong answers on held-out data are a model that fitted something."""
    if f.kind == "performance_reversal":
        # a score that a constant predictor printed moves only as the one class it answers changes
        # (a dead network's accuracy 0.149 -> 0.073 while its macro recall stays exactly 1/10): no
        # learning was undone
        return any(o.kind == "slow_progress" and o.severity is Severity.ERROR and o.evidence.get("rule") == RECALL_ONE_CLASS_RULE
                   for o in findings)
    if f.kind != "overfitting":
        return False
    if not isinstance(f.evidence.get("train_last"), (int, float)):
        # judged from evaluations alone: beside an error that the predictions never changed, nothing
        # shows the model fitted anything (with a training loss that fell, it memorised: Keras issue
        # 13908, val_accuracy 0.5676 at all 8 epochs while val_loss rose 2.73 -> 6.6 and the
        # training loss fell 0.51 -> 0.20, stays overfitting); so, beside the stuck-at-chance error,
        # does a held-out loss whose minimum stayed within its band of ln K (:func:`_at_chance`)
        return any(o.kind == "slow_progress" and o.severity is Severity.ERROR
                   and (o.evidence.get("rule") in _UNCHANGED_RULES
                        or (_at_chance(f.evidence.get("eval_min"), o) and not _above_chance(f.evidence.get("eval_last"), o)))
                   for o in findings)
    return any(o.kind == "slow_progress" and o.severity is Severity.ERROR and _at_chance(f.evidence["train_last"], o)
               and not _above_chance(f.evidence.get("eval_last"), o) for o in findings)


def _at_chance(loss: object, stuck: Finding) -> bool:
    """True when ``loss`` is within slow_progress's ``chance_flat`` band of the ``ln_k`` of its
    stuck-at-chance error ``stuck``: no better than a uniform guess over K classes. For an
    overfitting judged from evaluations alone, ``loss`` is the evaluation loss's minimum: a held-out
    loss that never got below chance had no generalisation to lose, and with no training loss to
    show that anything was fitted, its rise from there is the confidence of a model that learned
    nothing (ALBERT-large on WNLI: validation loss 0.6919 -> 0.7343 beside ln 2 = 0.6931, accuracy
    0.44-0.54 on a two-class set)."""
    from lrdoctor.detect.progress import DEFAULTS as PROGRESS

    ratio = _over_ln_k(loss, stuck)
    return ratio is not None and ratio >= 1 - PROGRESS.chance_flat


def _above_chance(loss: object, stuck: Finding) -> bool:
    """True when the held-out ``loss`` ended above slow_progress's ``chance_flat`` band of the ``ln_k`` of
    the stuck-at-chance error ``stuck``: more than that share above ln K, the band of :func:`_at_chance`
    read upwards. A model that learned nothing answers near-uniform probabilities, whose cross-entropy
    is ln K whatever the labels, and drifts around it by a few percent (wav2vec2 on MInDS-14: 2.636 ->
    2.654 beside ln 14 = 2.639). A held-out loss beyond the band is confident, wrong predictions on
    the held-out set: the model fitted something of its training set that does not carry over (if only
    its class balance), the widening gap that is overfitting, however close to chance its training loss
    still is (RoBERTa-large on a two-class fake-news set: training loss 0.714 -> 0.669 beside ln 2 =
    0.693, validation loss 0.695 -> 1.570, 2.3x ln 2, accuracy 0.4766 from the second epoch on). The
    band is the same ten percent that defines "at ln K" below it: no new threshold."""
    from lrdoctor.detect.progress import DEFAULTS as PROGRESS

    ratio = _over_ln_k(loss, stuck)
    return ratio is not None and ratio > 1 + PROGRESS.chance_flat


def _over_ln_k(loss: object, stuck: Finding) -> float | None:
    """``loss`` as a multiple of the ``ln_k`` of the stuck-at-chance error ``stuck`` (the scale
    :func:`_at_chance` and :func:`_above_chance` read their band on); None when either is missing."""
    ln_k = stuck.evidence.get("ln_k")
    if not isinstance(loss, (int, float)) or not isinstance(ln_k, (int, float)) or ln_k <= 0:
        return None
    return float(loss) / float(ln_k)


def _oscillation_explains(f: Finding, findings: list[Finding]) -> bool:
    """True for a ``loss_spike`` whose whole span (first to last spike) lies inside the stretch of an
    ``oscillation`` finding of the same run, at a severity no higher than the oscillation's. The
    oscillation's own definition counts a spike and its return as one swing each way and calls the
    repeat of such swings an oscillation (:mod:`lrdoctor.detect.oscillation`): a spike inside the
    stretch is one of those swings, not a transient of an otherwise stable run, and the step at the
    edge of stability that the oscillation names explains it (a ConvNeXt-V2 card: the validation loss
    swings 0.054, 0.088, 0.138, 0.051, 0.083, 0.040, 0.347, 0.085 from step 1791 to 2587, and its jump
    to 0.347 at step 2587 was reported once more as a spike; a clinical BERT card: a training-loss
    spike at step 288 inside validation swings from step 216 to 360). One cause, one finding: the
    oscillation's, whose fix (halve the LR) is the spike's first one. A spike outside the stretch, or
    one at a higher severity, is its own event and stays. No threshold: inside the stretch, or not."""
    if f.kind != "loss_spike" or f.start_step is None or f.end_step is None:
        return False
    return any(o.kind == "oscillation" and o.severity.rank >= f.severity.rank
               and o.start_step is not None and o.end_step is not None
               and o.start_step <= f.start_step and f.end_step <= o.end_step for o in findings)


def _divergence_explains(f: Finding, findings: list[Finding]) -> bool:
    """True for a ``loss_spike`` of the last-report rule (evidence ``last_report``: the last report jumped,
    and no later report shows whether it recovers, a spike, or stays, divergence) beside a ``divergence``
    finding of the same run, at a severity no lower, whose stretch reaches that last report. The rule
    exists so that such a jump is said rather than left silent, and hedges between the two kinds; once
    divergence names the jump (the loss rose faster at each report since its best, or training and
    evaluation loss jumped together), the hedge is answered and a second finding for the same report
    only contradicts it (SSD on VOC: 25.61, 39.68, 148.2, then nan; wav2vec2 on espeak: 0.76, 1.05,
    7.55 beside an infinite validation loss; w2v-BERT: 27.08, 26.91, 165.6 while its validation loss
    went 26.98 -> 176.3 -> 376.3). One cause, one finding: the divergence's. No threshold: the
    divergence reaches the report, or not."""
    if f.kind != "loss_spike" or not f.evidence.get("last_report") or f.end_step is None:
        return False
    return any(o.kind == "divergence" and o.severity.rank >= f.severity.rank
               and o.end_step is not None and o.end_step >= f.end_step for o in findings)


def _overfitting_explains(f: Finding, findings: list[Finding]) -> bool:
    """True for a ``performance_reversal`` whose score began to fall after the evaluation-loss
    minimum of an ``overfitting`` finding of the same run: the held-out score falls because the
    model overfits (a regression fine-tune: validation loss 0.740 -> 0.795 from epoch 2 while the
    training loss fell 0.668 -> 0.253, and its accuracy 0.469 -> 0.446 over the same epochs). One
    cause, one finding: the overfitting's, whose fix (early stopping, regularisation) is the one.
    The fall begins at the report after the peak (the peak at or after the minimum), or, where the
    rule reports it (since stop 79), at its ``fall_step``: the first report below every one from the
    peak up to it. A top held or bettered for a few reports falls from the last of them, wherever
    the rule placed its peak (an IMDB dense net: val_acc 0.8870, 0.8897, 0.8899 at epochs 4-6, the
    rolling median's tied top read as a peak at epoch 4, then down to 0.8617 from epoch 7 as the
    validation loss rose from its minimum at epoch 6)."""
    if f.kind != "performance_reversal" or not isinstance(f.evidence.get("peak_step"), (int, float)):
        return False
    if _beyond_overfitting(f):
        return False
    fall = f.evidence.get("fall_step")
    return any(o.kind == "overfitting" and o.severity.rank >= f.severity.rank
               and isinstance(o.evidence.get("eval_min_step"), (int, float))
               and (fall > o.evidence["eval_min_step"] if isinstance(fall, (int, float))
                    else f.evidence["peak_step"] >= o.evidence["eval_min_step"]) for o in findings)


def _beyond_overfitting(f: Finding) -> bool:
    """True for a ``performance_reversal`` whose score ended a factor ``error_rise_factor`` (2) from its
    best on its ratio scale: an error rate (WER, CER) whose last evaluation is at least twice its best,
    any other score at most half its best. Overfitting erodes a held-out score as the model grows
    over-confident where it is wrong (Guo et al. 2017: the loss climbs while the accuracy slides by a
    few points); a score that halves, or an error rate that doubles, is the model losing what it had
    learned, which overfitting does not explain by itself, so the reversal is reported beside it
    (a Whisper-small card: WER 91.7 at steps 1000-3000, then 277.8 at the last two evaluations, while its
    validation loss rose from its first evaluation; SetFit distilbert on SST-2, 8 examples a class: accuracy
    0.75, then 0.25 for ten epochs). The factor is the reversal's own ``error_rise_factor``, ``divergence``'s doubling
    read on the task's ratio scale (0 is nothing right, or no error), upwards for an error rate and
    downwards for a score: the same distance in the log domain. A score whose peak is not positive or
    whose end is negative (a return on an interval scale) has no such ratio and is never kept."""
    from lrdoctor.detect._common import is_error_rate
    from lrdoctor.detect.rl.returns import DEFAULTS as REVERSAL

    peak, end, metric = f.evidence.get("peak"), f.evidence.get("end"), f.evidence.get("metric")
    if not (isinstance(peak, (int, float)) and isinstance(end, (int, float)) and isinstance(metric, str)) or peak <= 0 or end < 0:
        return False
    factor = REVERSAL.error_rise_factor
    return end >= factor * peak if is_error_rate(metric) else end * factor <= peak


def detect_all(run: Run, thresholds: Mapping[str, Any] | None = None) -> list[Finding]:
    """Run every detector whose needs the run meets (see :mod:`lrdoctor.detect.needs`)."""
    return check(run, thresholds)[0]


def check(run: Run, thresholds: Mapping[str, Any] | None = None) -> tuple[list[Finding], Coverage]:
    """Findings and coverage: each kind runs when the run has what it needs, else it is
    listed as skipped with the reason; a kind that ran silent while some of its rules could not
    run is listed as checked in part, with what those rules need. Findings a blow-up explains
    are dropped."""
    thresholds = thresholds or {}
    _check_thresholds(thresholds)
    strict = bool(os.environ.get(STRICT_ENV))
    cov, out = Coverage(), []
    # the registry at call time: a kind module imported after lrdoctor (a plugin) runs too
    for kind in (k for k in all_kinds() if k in SPECS):
        th = thresholds.get(kind, SPECS[kind].defaults)
        found, why = _judge(run, SPECS[kind], th, strict)
        if why is not None:
            cov.skipped[kind] = why
            continue
        cov.ran.append(kind)
        out.extend(found)
        part = None if found else _unmet_part(run, SPECS[kind], th, strict)
        if part is not None:
            cov.partial[kind] = part
    return filter_findings(out), cov


def _unmet_part(run: Run, spec: KindSpec, th: Any, strict: bool) -> str | None:
    """For a kind that ran and found nothing: which of its rules could not run on ``run`` and what
    they need (:meth:`KindSpec.unmet_part`), or None. Asked of a silent kind only, since its silence is
    what the note qualifies (a finding speaks for itself). A note that raises is itself reported, as
    a check that fails is (``strict`` re-raises): the kind did run, but the report cannot vouch that
    every rule did."""
    try:
        return spec.unmet_part(run, th)
    except Exception as err:
        if strict:
            raise
        return f"could not tell which of its rules ran on this log ({type(err).__name__}: {err}); please report it"


def _judge(run: Run, spec: KindSpec, th: Any, strict: bool) -> tuple[list[Finding], str | None]:
    """One kind on one run: its findings, or why it was not checked. Three ways not to be
    checked: the requirement names what the run lacks (a column, a config key); the rule raises
    :class:`CannotJudge` (its data cannot support a conclusion under ``th``); or the requirement
    or the rule raises anything else -- a log no one foresaw can trip either, and the report keeps
    every other check and says this one did not run, so its silence is not read as "checked and
    healthy" (``strict``, from ``LRDOCTOR_STRICT``, re-raises instead)."""
    try:
        why = spec.requirement(run, th)
        return ([], why) if why is not None else (spec.detect(run, th), None)
    except CannotJudge as cannot:
        return [], str(cannot)
    except Exception as err:
        if strict:
            raise
        return [], f"the check failed on this log ({type(err).__name__}: {err}); please report it"
