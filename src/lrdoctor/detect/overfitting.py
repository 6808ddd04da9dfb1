"""``overfitting``: the training loss keeps falling while the evaluation loss rises from
its minimum. Reports the evaluation minimum's step: where early stopping would have stopped."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect._common import error_rates, is_error_rate
from lrdoctor.detect._stats import diff2_sigma, diff_sigma, trend_p_up, value_at
from lrdoctor.detect import needs
from lrdoctor.detect._classes import num_classes
from lrdoctor.detect._progress.chance import at_ln_k
from lrdoctor.names import is_preference_statistic
from lrdoctor.detect.progress import ProgressThresholds
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.config import config_value
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.run import Run, Series

__all__ = ["OverfittingThresholds", "detect"]


@dataclass(frozen=True)
class OverfittingThresholds(Thresholds):
    generalization_loss: float = 0.05
    """Eval loss above its minimum by this share at the end: Prechelt's GL_5 criterion
    ("Early Stopping — But When?", 1998)."""
    min_after: int = 3
    """Evaluation points after the minimum, all above it (a single bad eval is noise)."""
    noise_k: float = 3.0
    """And the rise exceeds 3 robust sigmas of eval-to-eval noise."""
    local_noise_points: int = 5
    """The GL rule also measures that noise on the evaluations from two before the minimum to
    the end, when they are at least 5 (4 differences, the fewest a robust spread is taken from):
    where the rise is judged, not only over the whole curve, whose fast early fall is smooth. A log
    of fewer evaluations has no scatter to measure apart from its rise: there the never-beaten rule
    reads GL_5 from a first-evaluation minimum without the guard (``_gl_without_scatter``)."""
    up_strips: int = 3
    """Few-point rule: the eval loss rose at each of the last 3 evaluations while the training
    loss fell: Prechelt's UP_3 criterion ("stop when the generalization error increased in s
    successive strips", 1998). Under exchangeable noise 4 values rise in a row with p = 1/24."""
    up_min_undo: float = 0.05
    """...unless the rise is immaterial on both scales: under ``up_min_gl`` of the level and
    under 5% of the progress the evaluation loss made from its first evaluation to its best
    (GL_5's 5%, taken of the progress). UP_s is a stopping rule, and a smooth held-out loss
    turns up at its minimum by a hair as it settles (FuxiCTR AFM on Criteo: logloss 0.4574 ->
    0.44743, then 0.44755 three epochs later: 0.03% of the level, 1.2% of the progress undone).
    Either scale alone fails: a real memorisation of 40 digits turns up by 0.8% of its level
    and 1.7% of its progress, and a held-out loss carrying a huge constant term can undo half
    its progress in the seventh significant digit (a CapsNet whose 1e9-weighted reconstruction
    term keeps val_loss at 561220.37)."""
    up_min_gl: float = 0.001
    """...the level scale of ``up_min_undo``: a rise that does not reach the third significant
    digit of the loss (0.1%)."""
    train_fall: float = 0.01
    """The training loss's fall that every rule asks beside the held-out rise (:func:`_fell`): at
    least 1% of its level from the held-out minimum to the end. GL_1, the smallest generalisation
    loss Prechelt evaluated ("Early Stopping - But When?", 1998) and the detector's ``trend_gl``, by
    which a held-out loss that moved less than 1% has settled, not turned; a training loss read at
    the same two reports (the minimum's and the last) that moved less than that has settled too, and a
    settled training loss is no training set being fitted (a distilled WNLI model at 0.3477 -> 0.3472,
    0.14%, beside an accuracy pinned at the majority class; a Helsinki-NLP translator fine-tuned at
    100x its usual rate, 1.991 -> 1.979, 0.6%, BLEU at 0 throughout; an XLS-R restarted on new data
    mid-run, 1.052 -> 1.051). A held-out rise is judged by its order as well as its size (the UP
    rules), but the training loss is read at two reports only, so its size alone must carry it."""
    up_noise_points: int = 6
    """The UP rule also asks its rise to beat ``noise_k`` sigmas of the eval curve's scatter
    (from second differences, so the turn itself is not counted as noise) once the curve has
    6 points, 4 second differences to estimate it from; on fewer it stands on the ordering."""
    doubled: float = 2.0
    """Two-evaluation rule: the last evaluation loss at least doubles the best before it while
    the training loss at that report is at most half what it was at the best. An evaluation
    loss is an average over a held-out set, and one that doubles is far beyond its noise (the
    same 2x as ``divergence``'s few-point factor); a training loss that halves meanwhile is
    being fitted. Judges logs that print only the first and last epochs (bert-sentiment issue 1:
    train 0.048 -> 0.001, val 0.038 -> 0.092 between epochs 1 and 29)."""
    gap_train_p: float = 0.01
    """Generalisation-gap rule (accuracies, no evaluation loss): over the second half of the
    evaluations the training accuracy still rises with a Mann-Kendall trend at this one-sided
    level (the same 1% as divergence's climb rule)..."""
    gap_eval_p: float = 0.05
    """...while the evaluation accuracy shows no rise at the usual 5% level: training still
    improves, validation has stopped. This is the accuracy form of the textbook picture of
    overfitting (Goodfellow, Bengio and Courville 2016, fig. 7.3: the training curve keeps
    improving after the validation curve turned): Prechelt's criteria need an evaluation
    loss, and notebooks that print only accuracies (rasbt's deeplearning-models: train 96.7%,
    valid 72% after 40 epochs) have none."""
    gap_share: float = 0.1
    """...and at the end the training accuracy exceeds the evaluation accuracy by at least a
    tenth of the scale (10 points): a gap of that size is no sampling noise of an evaluation
    set of a few hundred examples or more (a binomial SE at 0.75 on 500 examples is 2 points),
    and a tenth of the examples the model gets right in training it gets wrong on new data."""
    gap_points: int = 12
    """...judged on at least 12 shared evaluations: 6 in the second half, the fewest on which a
    Mann-Kendall test reaches 1% with a pair out of order (exact p = 6/720; on 5 only a rise in
    perfect order does, 1/120)."""
    up_strips_with_gl: int = 2
    """...or at each of the last 2 evaluations with GL above ``generalization_loss``: UP_2 and
    GL_5 at once (3 ordered values: p = 1/6, and a 5% excess on top of it)."""
    late_share: float = 0.6
    """The UP_3 rule's scatter guard measures the scatter on the last 60% of the evaluations (at
    least ``up_noise_points``): past the fast early fall, where the curve is near its floor and
    the turn is judged. Three fifths keeps 4 second differences on a 10-evaluation log. UP_2
    (3 ordered values, p = 1/6) keeps the whole curve's scatter: with the later part's, two
    healthy digits MLPs of bench/false_alarms.py (seeds 14, 86) read as overfitting."""
    up_ordered: int = 4
    """A rise at each of the last 4 evaluations (5 values in increasing order) with GL above
    ``generalization_loss`` needs no scatter guard: under exchangeable noise 5 values come in
    increasing order with p = 1/5! = 1/120, below the usual 1% (the same bound as
    ``divergence``'s ``few_rises``). The guard estimates the scatter from the whole curve, and
    a steep early descent inflates it (Keras GAT on Cora: val_loss 1.51 -> 0.669 at epoch 7,
    then 0.730, 0.755, 0.767, 0.773 while the training loss fell 0.097 -> 0.022)..."""
    held_share: float = 0.8
    """Evaluations-only rule (no training loss logged, or one value carried on every row, as
    HF's results table prints a run shorter than ``logging_steps``): an evaluation loss that
    rose by the UP rules is overfitting when the evaluation accuracy of the same evaluations
    ends at or above 80% of its best: the predictions did not collapse, they grew over-confident
    where they are wrong. A diverged model's accuracy falls with its loss; 80% is the 20%
    materiality of ``performance_reversal``'s ``min_gain_share`` (HF card, distilbert at lr
    2e-4: validation loss 0.410 -> 0.903 over three epochs, accuracy 0.827 -> 0.818)."""
    memorised_gap: float = 10.0
    """Memorisation rule: GL_5 with every later evaluation above the minimum (``min_after``+ of
    them) stands without the scatter guard when, at the last evaluation, the evaluation loss is
    at least 10x the training loss: an order of magnitude between the loss on seen and unseen
    examples is the fitted-the-training-set picture itself, not eval noise around a floor (a
    PEFT notebook's MLP: train 0.0008, eval 0.26, 27% above its minimum and swinging
    0.22-0.36)... The same gap also stands in for the training loss's fall that the UP and undone
    rules ask: a training loss fitted to its floor may tick up by a few units of its last digit
    while the held-out loss rises (an AI-text detector: training loss 0.0003, 0.0002, 0.0016, the
    validation loss 2.83 -> 3.22 -> 3.52)."""
    memorised_fit: float = 0.5
    """...and the training loss at least halved since the evaluation minimum: the training set is
    still being fitted while the held-out loss stays worse (one halving, the ``doubled`` factor
    read the other way)..."""
    floor_gap: float = 2.0
    """The GL rule's "training loss stayed near its floor" reading (a training loss that did not
    fall after the evaluation minimum, but did not rise beyond its noise either) needs the
    training set fitted: at the last evaluation the evaluation loss is at least 2x the training
    loss (the ``doubled`` factor). Memorisation is the gap between the two (Goodfellow, Bengio and
    Courville 2016, fig. 7.3), and a training loss as high as the held-out one is no floor but a
    run that stopped learning while both drift (a LoRA fine-tune whose training loss went 0.82 ->
    0.97 beside an evaluation loss of 0.92 -> 1.02; timm at train 0.50-0.55, eval 0.30 -> 0.43).
    A training loss printed as 0 (under the log's last decimal) is fitted to its floor: Whisper-small
    at 0.0 for 178 epochs while its validation loss rose 0.0047 -> 0.0054 at every evaluation."""
    memorised_after_share: float = 1 / 3
    """...and at least a third of the evaluations come after the minimum, all above it: without
    the scatter guard, the rise must persist for a material share of the run. A minimum late in
    the run followed by three noisy evaluations is the scatter's case (Whisper on Flemish CGN:
    minimum at the 12th of 15 evaluations, the last three 8-15% above it, each within the
    eval-to-eval swings of the run)."""
    min_quanta: float = 10.0
    """The evaluation loss's minimum must be at least 10 steps of its printing resolution (one unit
    of the last decimal any of its values prints) for any rule to read a rise against it: the rules
    are relative (GL_5 is a 5% rise, the UP rules' doubling a 100% one), and a minimum printed
    with one significant digit is known to +-50% (a digits MLP whose held-out loss, printed to 5
    decimals, touched 0.00001 and ended at 0.00012 beside a training loss of 0.00011: "12x").
    Ten quanta bound the minimum's rounding to 5%, GL_5's own threshold."""
    few_points: int = 3
    """The few-point rule (``_never_beaten``) judges at least 3 evaluations: the few-point rules'
    minimum, a best and two readings after it that both stayed above it."""
    level_few_points: int = 50
    """The never-beaten rule's level form (a minimum after the first evaluation, held by the one
    before it) drops the scatter guard only on logs of at most 50 evaluations, divergence's
    ``few_points``: the epoch logs and pasted excerpts on which a scatter cannot be measured apart
    from the rise. On a longer curve the GL rule's guard (``noise_k`` sigmas of :func:`_gl_scatter`)
    applies: a BERT on Amazon polarity evaluated 88 times swings by +-15% around its floor, and
    the last ten evaluations all lay 10% above its lowest."""
    up_ordered_gl: float = 0.10
    """...when GL is at least 10%, twice GL_5 (also the bar of the few-point ``_undone`` rule on one rise with no training loss, ``_undone_bar``, and of every later evaluation in the never-beaten rule). The
    ordering argument assumes independent evaluations, and smooth curves are autocorrelated: a depth-1 XGBoost's eval logloss
    saw-tooths and rose 6 rounds in a row by 5.4% without overfitting (its rises and falls
    are of one size), so the ordering alone may drop the guard only for a rise twice GL_5."""
    trend_after: int = 5
    """Trend rule: a held-out loss that stays above its minimum at each of at least 5 later
    evaluations and climbs from it with a Mann-Kendall trend (``trend_p``) is overfitting below
    GL_5 too. Five after the minimum make 6 values, the fewest on which the test reaches 1% with
    one pair out of order (exact p = 6/720); on 5 only a climb in perfect order does (1/5! = 1/120),
    which is the ``up_ordered`` rule's case, with its own bar. A persistent, monotone drift is
    what a practitioner reads as "the validation loss turned", whatever its size (speecht5 TTS:
    validation loss 0.4964 at step 800, then above it at all 7 later evaluations, 0.5092 ->
    0.5202, 4% up, while the training loss fell 0.4721 -> 0.4357)."""
    highest_last_p: float = 0.05
    """Highest-last rule: the last ``m`` (``min_after`` or more) evaluations are the run's ``m``
    highest, every one above every evaluation before them (the first included), at least
    ``up_ordered_gl`` above the best, while the training loss fell. Under exchangeable noise the
    ``m`` largest of ``n`` values all come last with p = 1 / C(n, m); the rule stands at the
    conventional one-sided 5% (six evaluations with the last three highest: 1/20), looser than
    divergence's step rule (``shift_p`` = 1%, a training loss's own order alone) because two more
    witnesses stand beside it here: the rise of twice GL_5 and a training loss that fell. It needs no
    scatter guard and no rise at each evaluation: a noisy held-out loss whose whole last stretch
    lies above everything before it has moved to a worse level (BERT-mini on IMDB: validation loss
    0.230, 0.318, 0.216, then 0.468, 0.489, 0.394 while the training loss fell 0.354 -> 0.043)."""
    trend_after_share: float = 1 / 3
    """...and those evaluations are at least a third of the run's after the first (the
    ``memorised_after_share`` of the memorisation rule, which also drops the scatter guard): the
    drift persisted for a material share of the run, not its last few wobbles around a floor."""
    chance_tol: float = ProgressThresholds.chance_tol
    """Chance rule: no overfitting is read from a held-out loss that lies within this share of ln K
    at every evaluation (K from the config or a preference-tuning log, :func:`_chance_k`): slow_progress's ``chance_tol`` (5%
    of ln K, the band that counts as "at ln K"; Karpathy 2019, "verify loss @ init"), taken from its
    thresholds so the two detectors agree on what chance is. A model whose held-out predictions never
    left the uniform guess has learned nothing to lose, and a rise inside that band is the uniform
    output's own wobble, not lost generalisation, however far the training loss falls (SetFit on
    SUBJ with 8 examples a class: validation loss 0.679 -> 0.7178 around ln 2 = 0.693 while the
    training loss fell 0.71 -> 0.22; slow_progress reports the run)."""
    trend_p: float = 0.01
    """...the trend's one-sided Mann-Kendall level over the minimum and every evaluation after it:
    the same 1% as ``gap_train_p`` and divergence's climb rule."""
    trend_p_fitted: float = 0.05
    """...or at the conventional one-sided 5% when the training set is fitted apart from the held-out
    one: at the last evaluation the training loss is at most half the evaluation loss (``floor_gap``,
    the GL rule's fitted-training-set gap) and fell from the minimum to the end (:func:`_fell`). The
    gap is a second witness beside the climb that its order does not enter, the textbook picture of
    overfitting (Goodfellow, Bengio and Courville 2016, fig. 7.3), and with it the trend's level may
    be the conventional 5%, as ``highest_last_p`` stands at 5% beside its two further witnesses. A T5
    fine-tune: validation loss 1.2447 at step 920, then above it at all 6 later evaluations, 1.2913 at
    the end (3.7%, MK p = 0.015, three pairs of 21 out of order), while the training loss fell 0.0497 -> 0.0265,
    49x below it. With no training loss logged there is no gap to read, and ``trend_p`` stays."""
    trend_gl: float = 0.01
    """...and the last evaluation is at least 1% above the minimum: GL_1, the smallest of the
    generalisation-loss thresholds Prechelt evaluated (GL_1, GL_2, GL_3, GL_5; "Early Stopping -
    But When?", 1998). A significant drift under 1% is a converged curve settling, not lost
    generalisation. A held-out score logged beside it (accuracy, F1, WER) must end worse than it
    was at the loss minimum: a loss that drifts up while the score still improves, or holds its
    best, is growing over-confidence (Guo et al. 2017), as in ``_still_improving`` (a digits MLP
    under a cosine schedule annealed to 0: validation loss 0.2684 -> 0.2753 in steps of a few
    thousandths while its accuracy held its best 0.9345)."""


DEFAULTS = OverfittingThresholds()


class OverfittingEvidence(Evidence):
    """What a ``overfitting`` finding proves itself with (keys absent when not measured)."""

    eval_min_step: float
    eval_min: float
    eval_last: float
    generalization_loss: float
    train_at_eval_min: float
    train_last: float
    successive_rises: int
    highest_last: int
    eval_best: float
    metric: str
    accuracy_gap: float


@detector("overfitting", thresholds=DEFAULTS, evidence=OverfittingEvidence, needs=needs.overfitting)
def detect(run: Run, th: OverfittingThresholds = DEFAULTS) -> list[Finding]:
    if run.is_rl:
        return []
    return _judge(run, th) or [f for stage in _stages(run) for f in _judge(stage, th)][-1:]


def _stages(run: Run) -> list[Run]:
    """The runs a log joins where its epoch column falls while the step column runs on, each as a
    run of its own (none when the epoch never goes back). An epoch counter never goes back within
    one training run: the log goes on with a second run resumed from the first one's weights, with
    a new data loader and schedule (``divergence``'s ``_epoch_restarts`` reads the same), and each
    run's held-out curve is its own (a Whisper-small card: validation loss 0.3194 -> 0.419 over the
    first run's four evaluations while its training loss fell 0.2045 -> 0.0064; at step 5000 the
    epoch went 9.95 -> 2.02 and a second run's validation loss fell 0.3298 -> 0.3034)."""
    ep = run.series("epoch")
    if ep is None:
        return []
    f = ep.finite()
    cuts = f.steps[1:][np.diff(f.values) < 0]
    if not cuts.size:
        return []
    bounds = np.r_[-np.inf, cuts, np.inf]
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        keep = (run.steps >= lo) & (run.steps < hi)
        out.append(replace(run, steps=run.steps[keep], metrics={k: v[keep] for k, v in run.metrics.items()},
                           logged={k: v[keep] for k, v in run.logged.items()}, derived={}))
    return out


def _judge(run: Run, th: OverfittingThresholds) -> list[Finding]:
    """The overfitting rules on one training run (see :func:`detect`)."""
    ev_s, tr = run.series("eval_loss"), run.series("loss")
    if ev_s is not None and _evaluated_at_chance(run, ev_s.finite(), th):
        return []  # a model at chance has nothing to overfit: slow_progress's finding
    if ev_s is not None and (tr is None or np.unique(tr.finite().values).size < 2):
        return _evaluations_only(run, ev_s.finite(), th)
    if ev_s is None or tr is None:
        return _accuracy_rises(run, th)
    e = ev_s.finite()
    if _below_resolution(e.values, th) or _untrained_after_minimum(e, tr):
        return []
    if e.values.size < th.min_after + 2:
        return _loss_rises(run, e, tr, th)
    # the last time the minimum was reached: a tie repeats the best, and the rise starts after it
    # (a GIT captioner's validation loss 0.0361 at two evaluations, then 0.0381 ... 0.0434)
    i = int(e.values.size - 1 - np.argmin(e.values[::-1]))
    after = e.values[i + 1:]
    if after.size < th.min_after:
        return _loss_rises(run, e, tr, th)
    # Prechelt's GL(t) = E_va(t) / E_opt(t) - 1 at the current (last) evaluation; noise is
    # guarded by every point after the minimum being above it and by ``noise_k``
    emin, elast = float(e.values[i]), float(e.values[-1])
    gl = (elast - emin) / abs(emin) if emin else np.inf
    if gl < th.generalization_loss or (after <= emin).any():
        return _loss_rises(run, e, tr, th)
    if elast - emin < th.noise_k * _gl_scatter(e.values, i, th):
        # within the first-difference scatter: the UP rules, or a memorised training set, may still judge it
        # (the highest-last rule after the memorisation rules: a memorised training set is the more
        # telling reading of the same rise, with its own fix)
        return (_loss_rises(run, e, tr, th, highest_last=False) or _memorised(run, e, tr, i, gl, th)
                or _accuracy_confirms(run, e, tr, i, gl, th) or _memorised_turn(run, e, tr, i, gl, th)
                or (_highest_last(e, tr, th) if _successive_rises(e.values, th) is None else [])
                or _persisted_rise(e, tr, i, gl, th) or _score_confirms(run, e, tr, i, gl, th)
                or _fitted_apart(run, e, tr, i, gl, th))
    t_at_min, t_end = _train_from(tr, float(e.steps[i])), value_at(tr, float(e.steps[-1]))
    if t_at_min is None or t_end is None:
        return []
    tv = tr.finite()
    since = tv.values[tv.steps >= float(e.steps[i])]
    t_noise = diff_sigma(since) if since.size >= 4 else 0.0
    if t_end - t_at_min > max(th.noise_k * t_noise, th.generalization_loss * abs(t_at_min)):
        return []  # the training loss rose too: that is divergence, not overfitting
    # (a training loss that fell, or sits at its floor within its noise, is memorising:
    # a Keras MLP at 0.004-0.012 while val_loss doubles 0.113 -> 0.226)
    if not _fell(t_at_min, t_end, th) and not 0 <= th.floor_gap * t_end <= elast:
        return []  # no fall and no gap to the held-out loss: a stalled run, not a fitted training set
    ev = _gl_evidence(e, i, gl, t_at_min, t_end)
    trend = "fell" if _fell(t_at_min, t_end, th) else "stayed near its floor,"
    summary = (f"eval loss rose {gl:.0%} above its minimum {fmt(emin)} (step {fmt(ev['eval_min_step'])}) "
               f"while training loss {trend} {fmt(t_at_min)} -> {fmt(t_end)}")
    cause = "The model memorises the training data after the eval minimum: too many steps for the data, too little regularisation, or an LR that stays high."
    return [Finding("overfitting", Severity.WARNING, float(e.steps[i]), float(e.steps[-1]), summary, ev, cause)]


def _evaluated_at_chance(run: Run, e: Series, th: OverfittingThresholds) -> bool:
    """True when every evaluation loss of ``e`` lies within ``chance_tol`` of ln K, K the class count
    the config gives or 2 on a preference-tuning log (:func:`_chance_k`): the held-out loss of a
    uniform guess over K choices, where the evaluated model sat throughout. Never a K the loss names: a
    fine-tune's held-out loss may settle near some ln K by chance (BERT on MedQA's four options at
    1.32-1.45 around ln 4, overfitting by its training loss's fall to 0.3), and the K a loss names
    needs an accuracy to confirm it (slow_progress's ``chance_infer_tol``)."""
    k = _chance_k(run)
    v = e.values
    if k is None or v.size == 0:
        return False
    return at_ln_k(v, float(np.log(k)), th.chance_tol)


def _chance_k(run: Run) -> int | None:
    """The K whose ln K is the held-out loss of a model at chance: the config's class count, or 2 on a
    preference-tuning log (a column of TRL's DPO family, :func:`~lrdoctor.names.is_preference_statistic`):
    DPO's loss, -log sigmoid(beta x the reward margin), is ln 2 at a zero margin, the model that cannot
    tell the chosen answer from the rejected one (Rafailov et al. 2023), a choice between K = 2. None
    otherwise."""
    got = num_classes(run)
    if got is not None:
        return got[1]
    return 2 if any(is_preference_statistic(c) for c in run.metrics) else None


def _rise_persisted(v: np.ndarray, i: int, th: OverfittingThresholds) -> bool:
    """True when the evaluations after the minimum ``i`` (every one above it, as ``detect``
    found) are at least a third of those after the first (``memorised_after_share``) and at least
    ``min_after``: the rise lasted a material share of the run, not its last wobble around a floor.
    The losses must be positive (the GL ratio's scale). Asked by the rules that lower the scatter
    guard on a corroborated rise (:func:`_persisted_rise`, :func:`_score_confirms`,
    :func:`_fitted_apart`)."""
    return not (v <= 0).any() and v.size - 1 - i >= max(th.min_after, th.memorised_after_share * (v.size - 1))


def _persisted_rise(e: Series, tr: Series, i: int, gl: float, th: OverfittingThresholds) -> list[Finding]:
    """Persisted-rise rule, from the minimum ``i`` of ``detect`` and its GL ``gl`` (every later
    evaluation already above it): the GL rule's rise judged against the scatter of second
    differences instead of first ones, when the rise persisted and is material. First differences
    count a V's turn as noise: the fall into the minimum and the climb out of it are differences
    of opposite sign, and their spread is the turn itself (``diff2_sigma``: a smooth bend adds a
    near-constant to second differences, which their median removes; the UP_2 rule takes the whole
    curve's second differences for the same reason). The guard is lowered only where two of the
    detector's own bars corroborate the rise, with no new threshold:

    - at least a third of the evaluations after the first come after the minimum
      (``memorised_after_share``, ``min_after``+ of them), every one above it: the rise persisted
      for a material share of the run, not its last wobble around a floor;
    - the last evaluation is ``up_ordered_gl`` (twice GL_5) above the minimum;

    and the rise still clears ``noise_k`` sigmas of that scatter while the training loss fell
    (Keras LayoutLM on FUNSD: validation loss 1.4851 -> 1.0104 at epoch 4, then 1.0807, 1.2077,
    1.1902, 18% above it, while the training loss fell 0.9157 -> 0.5937: the first differences'
    scatter, 0.092, swollen by the fall, reads the rise of 0.18 as 2 sigmas; the second differences'
    scatter, 0.013, as 14)."""
    v = e.values
    if gl < th.up_ordered_gl or not _rise_persisted(v, i, th):
        return []
    scatter = diff2_sigma(v)
    if float(v[-1] - v[i]) < th.noise_k * scatter:
        return []
    t_min, t_end = _train_from(tr, float(e.steps[i])), value_at(tr, float(e.steps[-1]))
    if t_min is None or t_end is None or not _fell(t_min, t_end, th):
        return []
    sigmas = f", {float(v[-1] - v[i]) / scatter:.3g} sigmas of its eval-to-eval scatter" if scatter > 0 else ""
    return _stayed_above(e, i, gl, t_min, t_end, sigmas)


def _score_confirms(run: Run, e: Series, tr: Series, i: int, gl: float, th: OverfittingThresholds) -> list[Finding]:
    """Score-confirmed rule, from the minimum ``i`` of ``detect`` and its GL ``gl`` (GL_5, every
    later evaluation already above it): the GL rule's rise stands without the scatter guard when
    a second held-out witness agrees with it, with no new threshold:

    - the rise persisted: at least a third of the evaluations after the first come after the
      minimum (``memorised_after_share``, ``min_after``+ of them), every one above it;
    - every held-out score logged beside the loss (evaluation accuracy, a task metric, an error
      rate such as WER; at least one) is worse at every later evaluation than it was at the loss
      minimum (:func:`_score_held_after` with ``at_any``, as :func:`_memorised_turn` asks): the model
      got worse at the task itself, for as long as the loss stayed up, which a noisy loss around a
      floor does not explain, and which over-confidence does not either (Guo et al. 2017: there the
      loss rises while the score holds or sets a new best);
    - the training loss fell from the minimum to the end, and ends at most half the evaluation loss
      (``floor_gap``, the GL rule's fitted-training-set gap): the training set is being fitted while
      the held-out loss stays worse, not a stalled run whose two losses drift together.

    The scatter guard reads one noisy curve against itself; two held-out figures that both end
    worse after a persistent rise are the textbook picture (Goodfellow, Bengio and Courville 2016,
    fig. 7.3). A wav2vec2 keyword spotter: validation loss 1.256 at its second epoch, then above it
    at all 8 later ones, 8% at the end, while accuracy fell 0.60 -> 0.54 (never above 0.57 again)
    and the training loss 0.85 -> 0.61."""
    v = e.values
    if not _rise_persisted(v, i, th):
        return []
    step = float(e.steps[i])
    if not _has_score_at(run, step) or _score_held_after(run, step, at_any=True) is not None:
        return []
    t_min, t_end = _train_from(tr, step), value_at(tr, float(e.steps[-1]))
    if t_min is None or t_end is None or not _fell(t_min, t_end, th) or not 0 <= th.floor_gap * t_end <= float(v[-1]):
        return []
    return _stayed_above(e, i, gl, t_min, t_end, ", every held-out score logged stayed worse than at that minimum")


def _fitted_apart(run: Run, e: Series, tr: Series, i: int, gl: float, th: OverfittingThresholds) -> list[Finding]:
    """Fitted-apart rule, from the minimum ``i`` of ``detect`` and its GL ``gl`` (every later
    evaluation already above it): the memorisation rule (:func:`_memorised`) with the GL rule's
    fitted-training-set gap (``floor_gap``, 2x) in place of its order of magnitude, when the rise
    itself is twice GL_5. Each bar is one the detector already holds, with no new threshold:

    - the rise persisted: at least a third of the evaluations after the first come after the
      minimum (``memorised_after_share``, ``min_after``+ of them), every one above it;
    - the last evaluation is ``up_ordered_gl`` (twice GL_5) above the minimum: the bar the
      ordering and never-beaten rules ask before they drop the scatter guard;
    - the training loss at least halved since the minimum (``memorised_fit``) and ends at most half
      the evaluation loss (``floor_gap``): the training set went on being fitted, by a factor the
      held-out loss's swings do not explain, while the held-out loss stayed above its best;
    - no held-out score logged beside it (none is needed) is, at any later evaluation, at least as
      good as it was at the minimum (:func:`_score_held_after` with ``at_any``, as the score-confirmed
      and turned-minimum rules ask): a score that came back says the model still improved at the
      task, and the loss's rise is over-confidence (Guo et al. 2017; hubert-base on GTZAN: validation
      loss 0.5399 at its ninth epoch, then 6-37% above it, while accuracy went 0.85 -> 0.86 -> 0.84).

    The scatter guard reads a noisy held-out loss against itself, and a persistent rise whose
    evaluations swing by half of it falls short of ``noise_k`` sigmas though the training set is
    fitted more than twice further meanwhile (Udacity's sentiment RNN: validation loss 0.4232 at step
    800, then 0.43-0.57 at all 8 later reports, 20% above it at the end, while the training loss fell
    0.4396 -> 0.1583; no score logged)."""
    v = e.values
    if gl < th.up_ordered_gl or not _rise_persisted(v, i, th):
        return []
    step = float(e.steps[i])
    t_min, t_end = _train_from(tr, step), value_at(tr, float(e.steps[-1]))
    if t_min is None or t_end is None or t_min <= 0 or not 0 <= t_end <= th.memorised_fit * t_min:
        return []
    if not th.floor_gap * t_end <= float(v[-1]) or _score_held_after(run, step, at_any=True) is not None:
        return []
    return _stayed_above(e, i, gl, t_min, t_end, "", f", {_times_below(float(v[-1]), t_end)} the eval loss: "
                         "the training set is fitted apart from the held-out one")


def _stayed_above(e: Series, i: int, gl: float, t_min: float, t_end: float, why: str, tail: str = "") -> list[Finding]:
    """The warning of the corroborated-rise rules (:func:`_persisted_rise`, :func:`_score_confirms`,
    :func:`_fitted_apart`): the evaluation loss stayed above its minimum ``i`` to the end, ``gl``
    above it at the last, while the training loss fell ``t_min`` -> ``t_end``; ``why`` and ``tail``
    name the corroboration each rule rests on."""
    v = e.values
    summary = (f"eval loss stayed above its minimum {fmt(float(v[i]))} (step {fmt(float(e.steps[i]))}) at all {v.size - 1 - i} "
               f"later evaluations and ends {gl:.0%} above it{why}, while training loss fell {fmt(t_min)} -> {fmt(t_end)}{tail}")
    return [Finding("overfitting", Severity.WARNING, float(e.steps[i]), float(e.steps[-1]), summary,
                    _gl_evidence(e, i, gl, t_min, t_end), _UP_CAUSE)]


def _has_score_at(run: Run, step: float) -> bool:
    """True when a held-out score (evaluation accuracy, task metric, error rate) has a value at
    ``step`` and a later one: :func:`_score_held_after` has something to compare."""
    return any(value_at(s, step) is not None and bool((s.steps > step).any()) for _, s in _held_out_scores(run))


def _memorised_at_end(e: Series, t_end: float, th: OverfittingThresholds) -> bool:
    """True when the last evaluation loss is at least ``memorised_gap`` times the training loss at
    that report: a training set fitted to its floor, whose loss may tick up by a few units of its
    last digit while the held-out loss rises (an AI-text detector: training loss 0.0003, 0.0002,
    0.0016 while the validation loss rose 2.83 -> 3.22 -> 3.52), is memorised as surely as one
    that still falls. A training loss printed as 0 (under the log's last decimal) is fitted to its
    floor, as ``floor_gap`` and :func:`_memorised` read it, below any positive evaluation loss by more
    than the gap (AST on ASVspoof5: training loss 0.0042, 0.0, 0.0 while the validation loss went
    1.6954 -> 1.5632 -> 2.2821)."""
    elast = float(e.values[-1])
    return t_end >= 0 and elast > 0 and elast >= th.memorised_gap * t_end


def _untrained_after_minimum(e: Series, tr: Series) -> bool:
    """True when no training report comes at or after the evaluation minimum: the weights were
    not shown to change between the minimum and the later evaluations, so their rise is no
    memorisation. A notebook's validation cell printing the running mean of one pass over the
    held-out batches after training ended (BERT NER: "Validation loss per 100 evaluation steps:
    0.00065" on the first batch, then 0.026-0.029) is one evaluation, not a curve over training."""
    t = tr.finite().steps
    return e.values.size > 0 and t.size > 0 and float(t[-1]) < float(e.steps[int(np.argmin(e.values))])


def _below_resolution(v: np.ndarray, th: OverfittingThresholds) -> bool:
    """True when the minimum of ``v`` is fewer than ``min_quanta`` steps of its printing resolution
    above 0 (see ``OverfittingThresholds.min_quanta``). The step is one unit of the last decimal
    any value prints (0.00012 -> 1e-05); full-precision floats print 15+ decimals, a step too small
    to matter."""
    f = v[np.isfinite(v)]
    if f.size < 2 or f.min() <= 0:
        return False
    decimals = max(len(np.format_float_positional(float(x), trim="-").partition(".")[2]) for x in f)
    return bool(f.min() < th.min_quanta * 10.0 ** -decimals)


def _memorised(run: Run, e: Series, tr: Series, i: int, gl: float, th: OverfittingThresholds) -> list[Finding]:
    """The memorisation rule (see ``OverfittingThresholds.memorised_gap``): the GL rule's rise,
    already checked (GL_5, every later evaluation above the minimum ``i``), without its scatter
    guard when the training loss is an order of magnitude below the evaluation loss at the end
    and halved since the minimum. Positive losses, but for a training loss printed as 0 at the end
    (under the log's last decimal: fitted to its floor, as ``floor_gap`` reads it; distilhubert on
    GTZAN: training loss 0.0001 -> 0.0 while the validation loss sat 21% above its minimum)."""
    t_min, t_end = value_at(tr, float(e.steps[i])), value_at(tr, float(e.steps[-1]))
    emin, elast = float(e.values[i]), float(e.values[-1])
    if t_min is None or t_end is None or min(t_min, emin) <= 0 or t_end < 0:
        return []
    if t_end == 0 and _still_improving(run, "eval_accuracy"):
        return []  # a training loss at 0 tells nothing of the held-out set's scores, which still improve
    if elast < th.memorised_gap * t_end or t_end > th.memorised_fit * t_min:
        return []
    if e.values.size - i - 1 < th.memorised_after_share * (e.values.size - 1):
        return []  # a late minimum: the rise has not persisted long enough to stand without the guard
    ev = _gl_evidence(e, i, gl, t_min, t_end)
    summary = (f"eval loss stayed above its minimum {fmt(emin)} (step {fmt(float(e.steps[i]))}) at all "
               f"{e.values.size - i - 1} later evaluations and ends {gl:.0%} above it, while training loss fell "
               f"{fmt(t_min)} -> {fmt(t_end)}, {_times_below(elast, t_end)} the eval loss: the training set is memorised")
    return [Finding("overfitting", Severity.WARNING, float(e.steps[i]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]


def _times_below(eval_last: float, train_last: float) -> str:
    """How far the training loss ends below the evaluation loss, in words."""
    return f"{eval_last / train_last:.3g}x below" if train_last > 0 else "printed as 0, far below"


def _accuracy_confirms(run: Run, e: Series, tr: Series, i: int, gl: float, th: OverfittingThresholds) -> list[Finding]:
    """The GL rule's rise (GL5, every later evaluation above the minimum ``i``) stands without the
    scatter guard when the evaluation accuracy of the same evaluations fell at each of its last
    ``up_strips`` evaluations (Prechelt's UP_3, p = 1/24 under exchangeable noise) to below its
    value at the loss minimum, while the training loss fell: both held-out figures worsen together,
    which noise in the loss alone does not explain (Deep Learning with Python's IMDB conv1d:
    validation loss 0.4040 -> 0.4296 beside a scatter of its fast early fall, validation accuracy
    0.8382 -> 0.8240 -> 0.8098 -> 0.7878 -> 0.7600)."""
    acc = run.series("eval_accuracy")
    if acc is None or not _is_accuracy_name(run):
        return []
    a = acc.finite()
    k = th.up_strips
    if a.values.size < k + 1:
        return []
    last = a.values[-k - 1:]
    if not (np.diff(last) < 0).all():
        return []
    at_min = value_at(a, float(e.steps[i]))
    t_min, t_end = _train_from(tr, float(e.steps[i])), value_at(tr, float(e.steps[-1]))
    if at_min is None or t_min is None or t_end is None or not a.values[-1] < at_min or not _fell(t_min, t_end, th):
        return []
    emin, elast = float(e.values[i]), float(e.values[-1])
    col = run.meta.roles.get("eval_accuracy", "eval_accuracy")
    ev = {**_gl_evidence(e, i, gl, t_min, t_end), "metric": col, "eval_best": float(a.values.max())}
    summary = (f"eval loss {fmt(elast)} is {gl:.0%} above its minimum {fmt(emin)} (step {fmt(float(e.steps[i]))}) "
               f"and {col} fell at each of the last {k} evaluations to {fmt(float(a.values[-1]))} (it was "
               f"{fmt(at_min)} at the minimum), while training loss fell {fmt(t_min)} -> {fmt(t_end)}")
    return [Finding("overfitting", Severity.WARNING, float(e.steps[i]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]


def _is_accuracy_name(run: Run) -> bool:
    """The evaluation accuracy role is filled by a higher-is-better score (not an error rate)."""
    return not is_error_rate(run.meta.roles.get("eval_accuracy", "eval_accuracy"))


def _gl_evidence(e: Series, i: int, gl: float, t_min: float | None = None, t_end: float | None = None) -> dict:
    """The GL rules' evidence: the evaluation minimum ``i``, the last evaluation, GL, and the
    training loss at both ends when one was logged (``t_min``, ``t_end``)."""
    ev = {"eval_min_step": float(e.steps[i]), "eval_min": float(e.values[i]), "eval_last": float(e.values[-1]),
          "generalization_loss": gl}
    if t_min is not None and t_end is not None:
        ev.update(train_at_eval_min=t_min, train_last=t_end)
    return ev


_UP_CAUSE = ("The model starts to memorise the training data: too many steps for the data, too little "
             "regularisation, or an LR that stays high.")


@dataclass(frozen=True)
class _Rise:
    """Where an evaluation curve worsened at each of its last ``strips`` evaluations."""

    strips: int
    start: int  # index of the evaluation the worsening starts from
    best: int  # index of the best evaluation before it
    gl: float  # Prechelt's generalisation loss at the last evaluation


def _late_scatter(worse: np.ndarray, th: OverfittingThresholds) -> float:
    """The eval-to-eval scatter from second differences of the curve's later part, the last
    ``late_share`` of it (at least ``up_noise_points`` evaluations): the early descent bends
    the curve, and its curvature is no noise (seq2seq GRU: val loss 4.357 -> 3.540 over seven
    epochs gives a whole-curve scatter of 0.041, the last six evaluations 0.008)."""
    n = max(th.up_noise_points, int(np.ceil(th.late_share * worse.size)))
    return diff2_sigma(worse[-n:])


def _successive_rises(worse: np.ndarray, th: OverfittingThresholds) -> _Rise | None:
    """Prechelt's UP criteria on ``worse`` (larger is worse): it rose at each of the last
    ``up_strips`` evaluations, or at each of the last ``up_strips_with_gl`` with GL_5."""
    d = np.diff(worse)
    ordered = int(np.argmin(d[::-1] > 0)) if (d <= 0).any() else d.size  # rises in a row to the end
    for s, need_gl in ((th.up_strips, 0.0), (th.up_strips_with_gl, th.generalization_loss)):
        if worse.size < s + 1 or not (np.diff(worse[-s - 1:]) > 0).all():
            continue
        start = worse.size - s - 1
        i = int(np.argmin(worse[:start + 1]))
        best, last = float(worse[i]), float(worse[-1])
        gl = (last - best) / abs(best) if best else np.inf
        if gl <= need_gl:
            continue
        progress = float(worse[0]) - best
        if s >= th.up_strips and progress > 0 and last - best < th.up_min_undo * progress and gl < th.up_min_gl:
            continue  # a hair's turn at the minimum of a settled curve
        # UP_3 (4 ordered values, p = 1/24) is judged against the later part's scatter; UP_2 (3
        # ordered values, p = 1/6) keeps the whole curve's, the stricter guard
        scatter = _late_scatter(worse, th) if s >= th.up_strips else diff2_sigma(worse)
        if worse.size >= th.up_noise_points and last - float(worse[start]) <= th.noise_k * scatter \
                and not (ordered >= th.up_ordered and gl >= th.up_ordered_gl):
            continue  # a rise within the curve's own eval-to-eval scatter
        if last <= best * _recovered_excursion(worse, i):
            continue  # no larger than a rise this curve already made and came back from
        return _Rise(s, start, i, gl)
    return None


def _recovered_excursion(worse: np.ndarray, i: int) -> float:
    """The largest factor by which the curve ``worse`` (larger is worse) rose above its best so far
    at any evaluation up to its best ``i``: every such rise was recovered, since the curve came back
    below it by ``i``. 1.0 when there is none, or when the values are not all positive (an accuracy
    read as ``-acc``, whose rises are not ratios).

    The UP rules read the order of the last evaluations (3 or 4 values rising, p = 1/6 or 1/24 under
    exchangeable noise) and bound their size only by the scatter of differences. A held-out curve
    that already rose as far above its best, and came back below it, has shown that a rise of that
    size is one it recovers from: the run's own record of its held-out set's swings, read on the
    ratio scale of Prechelt's GL (a ratio of the best), where a rise of 10% at a loss of 1.0 and one
    at 0.1 are alike. A rise no larger than that record is within the curve's swings, however it is
    ordered (SpeechBrain's TED-LIUM transformer: valid loss 26.08 -> 26.96 at epoch 76, back to 25.89
    at epoch 78, then 26.47, 26.51, 26.68, 3% above its best against the 3.4% it had recovered from,
    while the valid accuracy held 0.934-0.937). Not a threshold: the rise is compared with the curve's
    own, factor for factor."""
    v = np.asarray(worse[: i + 1], dtype=float)
    if v.size < 2 or not bool((v > 0).all()):
        return 1.0
    return float((v / np.minimum.accumulate(v)).max())


def _fell(t_from: float, t_to: float, th: OverfittingThresholds) -> bool:
    """True when the training loss fell from ``t_from`` to ``t_to`` by more than ``train_fall`` (GL_1,
    1%) of its level. Overfitting is the training set being fitted while the held-out loss rises; a
    training loss that moved less than the smallest generalisation loss Prechelt evaluated between the
    held-out minimum and the end has settled (``trend_gl`` reads a held-out loss the same way), and was
    not being fitted (a German DistilBERT at 0.5067 -> 0.5063 over its two epochs; a distilled WNLI
    model at 0.3477 -> 0.3472 beside an accuracy pinned at the majority class). The rules that read a
    training loss fitted to its floor instead (``floor_gap``, :func:`_memorised_at_end`) ask a gap to
    the held-out loss in its place."""
    return t_from - t_to > th.train_fall * abs(t_from)


def _fell_over_rise(t_start: float, t_best: float | None, t_end: float, th: OverfittingThresholds) -> bool:
    """The UP rule's training witness: the training loss fell over the rising strips (``t_start`` ->
    ``t_end``), by more than the loss's resolution (:func:`_fell`) from the higher of its value there
    and at the held-out minimum (``t_best``, the rise's whole length): a smooth training loss that
    converges while the held-out loss climbs from its minimum still fell by a material share over
    the rise (a BLIP captioner: 1.4285 -> 1.3707, 4%, while its last three strips moved 0.08%)."""
    ref = t_start if t_best is None else max(t_start, t_best)
    return t_end < t_start and _fell(ref, t_end, th)


def _train_from(tr: Series, step: float) -> float | None:
    """The training loss at ``step``; where none was logged yet there (HF's results table: "No
    log" at the first evaluation), its first report after it, when another follows to compare
    with."""
    at = value_at(tr, step)
    if at is not None:
        return at
    f = tr.finite()
    inside = f.values[f.steps >= step]
    return float(inside[0]) if inside.size >= 2 else None


def _still_improving(run: Run, name: str) -> bool:
    """True when a higher-is-better eval metric sets a new best at its last evaluation: a
    rising eval loss with an improving eval accuracy is growing over-confidence, not lost
    generalisation (Guo et al. 2017: NLL overfits while accuracy still improves)."""
    acc = run.series(name)
    if acc is None:
        return False
    v = acc.finite().values
    return v.size >= 2 and float(v[-1]) > float(v[:-1].max())


def _loss_rises(run: Run, e: Series, tr: Series, th: OverfittingThresholds, *, highest_last: bool = True) -> list[Finding]:
    """The UP rule on the eval loss while the training loss falls. Catches the 3-10 epoch logs
    where GL_5's three points after the minimum are not there yet, and slow smooth turns
    (+0.6% over three epochs) below GL_5. ``highest_last`` False leaves the highest-last rule to the
    caller, which tries it after the memorisation rules."""
    r = _successive_rises(e.values, th)
    if r is None:
        return (_doubled(e, tr, th) or _never_beaten(e, tr, th, run) or _undone(run, e, tr, th) or _measured_turn(run, e, tr, th)
                or _rising_trend(run, e, tr, th)
                or (_highest_last(e, tr, th) if highest_last else []))
    if _still_improving(run, "eval_accuracy") and r.gl < th.generalization_loss:
        return []  # below GL_5 a rising eval loss beside a new-best accuracy is over-confidence; past
        # it the held-out loss is materially worse whatever the accuracy does (GLUE CoLA: eval loss
        # 0.568 -> 1.131 while Matthews correlation still rose 0.27 -> 0.43)
    t_start, t_end = _train_from(tr, float(e.steps[r.start])), value_at(tr, float(e.steps[-1]))
    v, t_best = e.values, value_at(tr, float(e.steps[r.best]))
    if t_start is None or t_end is None or not (_fell_over_rise(t_start, t_best, t_end, th) or _memorised_at_end(e, t_end, th)):
        return []  # the training loss must fall while the eval loss rises, or sit memorised
    ev = {"eval_min_step": float(e.steps[r.best]), "eval_min": float(v[r.best]), "eval_last": float(v[-1]),
          "generalization_loss": r.gl, "train_at_eval_min": t_best if t_best is not None else t_start,
          "train_last": t_end, "successive_rises": r.strips}
    summary = (f"eval loss rose at each of the last {r.strips} evaluations, {fmt(float(v[r.start]))} -> {fmt(float(v[-1]))} "
               f"({r.gl:.1%} above its minimum {fmt(float(v[r.best]))}), while training loss fell {fmt(t_start)} -> {fmt(t_end)}")
    return [Finding("overfitting", Severity.WARNING, float(e.steps[r.start]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]


def _rate_at_new_best(run: Run) -> bool:
    """True when a held-out error rate (WER, CER) sets a new best at its last evaluation, below its
    value at every one before it: :func:`_still_improving` read on a lower-is-better score (a
    Whisper card whose validation loss rose 0.3252 -> 0.3549 while its WER went 20.55 -> 20.45)."""
    rates = [s for col, s in _held_out_scores(run) if is_error_rate(col)]
    return any(s.values.size >= 2 and float(s.values[-1]) < float(s.values[:-1].min()) for s in rates)


def _held_out_scores(run: Run) -> list[tuple[str, Series]]:
    """The held-out scores logged beside the evaluation loss, by column name: the evaluation
    accuracy, a task metric and every error rate (WER, CER), but an error rate that says the model
    recognises nothing (slow_progress's finding of :func:`_error_rate_at_max`: exactly 100%, above
    100% at every evaluation, or never below its ``error_floor`` of 90% on a proven scale, or on one
    inferred from the best published WER, its warning). Such a rate sits at its floor, no transcript
    a reader could use at any evaluation, and its moves there (1.6081 -> 1.6295, or back to 1.1408
    from 1.3779) say nothing of the task being learned or lost: it is no witness that the model
    still improved after the loss's minimum, nor one that it got worse (an XLS-R fine-tune on TORGO
    whose validation loss rose 1.544 -> 1.75-1.97 after its minimum while the training loss fell
    0.79 -> 0.27, WER above 1.0 throughout). No new threshold: slow_progress's own rule."""
    from lrdoctor.detect._progress.chance import _error_rate_at_max
    from lrdoctor.detect.progress import DEFAULTS as PROGRESS

    scores = [(run.meta.roles.get(n, n), run.series(n).finite()) for n in ("eval_accuracy", "task_metric") if n in run]
    rates = error_rates(run)
    if rates:
        stuck = _error_rate_at_max(run, PROGRESS)
        floor = stuck.evidence.get("metric") if stuck is not None else None
        scores += [(col, r) for col, r in rates.items() if col != floor]
    # (nor a score that printed one value at every evaluation: ROUGE 0.0 throughout is "as good" at the
    # end as at the loss minimum by construction, and says nothing of the task learned or lost; an
    # AraT5 gloss translator whose validation loss climbed 0.3666 -> 0.391 after its minimum)
    # (and a column with no finite value, an empty score column of a results table, is no score)
    return [(col, s) for col, s in scores if s.values.size and (s.values.size < 2 or float(np.ptp(s.values)) > 0)]


def _score_held_after(run: Run, step: float, *, at_any: bool = False) -> str | None:
    """The first held-out score (the evaluation accuracy, a task metric, an error rate such as WER)
    that ends at least as good as it was at ``step`` (with ``at_any``: that is at least as good at
    some evaluation after it); None when every one logged ended (stayed) worse, or none is logged."""
    for col, s in _held_out_scores(run):
        at = value_at(s, step)
        later = s.values[s.steps > step]
        if at is None or not later.size:
            continue
        lower = is_error_rate(col)
        reached = float((later.min() if lower else later.max()) if at_any else later[-1])
        if (reached <= at) if lower else (reached >= at):
            return col
    return None


def _rising_trend(run: Run, e: Series, tr: Series | None, th: OverfittingThresholds) -> list[Finding]:
    """The trend rule (see ``OverfittingThresholds.trend_after``): the evaluation loss stayed above
    its minimum at each of the last ``trend_after``+ evaluations (a third of the run's or more),
    climbing from it with a Mann-Kendall trend, at least GL_1 at the end, while the training loss
    fell and every held-out score logged ended worse than at the minimum. With no training loss
    logged (``tr`` None: HF's "No log", or one value carried along every row), the climb and the
    scores stand alone, as in :func:`_gl_alone`: a held-out loss that drifts up after its best
    while nothing else is logged is overfitting (distilgpt2 on a small poem corpus: validation loss
    4.6495 at its first epoch, then higher at each of the 14 later ones, 4.8145 at the end, its one
    logged training loss 4.2244 repeated on every row)."""
    v = e.values
    if v.size < th.trend_after + 1 or (v <= 0).any():
        return []
    i = int(v.size - 1 - np.argmin(v[::-1]))
    n_after = v.size - 1 - i
    if n_after < max(th.trend_after, th.trend_after_share * (v.size - 1)):
        return []
    gl = float(v[-1] / v[i] - 1)
    if gl < th.trend_gl or trend_p_up(v[i:]) > _trend_level(e, tr, i, th):
        return []
    if _score_held_after(run, float(e.steps[i])):
        return []
    climb = (f"eval loss stayed above its minimum {fmt(float(v[i]))} (step {fmt(float(e.steps[i]))}) at all {n_after} "
             f"later evaluations, climbing to {fmt(float(v[-1]))} ({gl:.1%} above it, a Mann-Kendall trend)")
    if tr is None:
        ev = _gl_evidence(e, i, gl)
        summary = f"{climb} (no training loss logged to compare)"
        return [Finding("overfitting", Severity.WARNING, float(e.steps[i]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]
    t_min, t_end = _train_from(tr, float(e.steps[i])), value_at(tr, float(e.steps[-1]))
    if t_min is None or t_end is None or not _fell(t_min, t_end, th):
        return []
    ev = _gl_evidence(e, i, gl, t_min, t_end)
    summary = f"{climb}, while training loss fell {fmt(t_min)} -> {fmt(t_end)}"
    return [Finding("overfitting", Severity.WARNING, float(e.steps[i]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]


def _trend_level(e: Series, tr: Series | None, i: int, th: OverfittingThresholds) -> float:
    """The Mann-Kendall level the trend rule (:func:`_rising_trend`) asks of the climb from the minimum
    ``i``: ``trend_p_fitted`` (5%) when the training set is fitted apart from the held-out one (the
    training loss fell from the minimum to the end and ends at most half the last evaluation loss,
    ``floor_gap``), else ``trend_p`` (1%)."""
    if tr is None:
        return th.trend_p
    t_min, t_end = _train_from(tr, float(e.steps[i])), value_at(tr, float(e.steps[-1]))
    if t_min is None or t_end is None or not _fell(t_min, t_end, th):
        return th.trend_p
    return th.trend_p_fitted if 0 <= th.floor_gap * t_end <= float(e.values[-1]) else th.trend_p


def accuracy_held(run: Run, e: Series, th: OverfittingThresholds = DEFAULTS) -> bool:
    """True when an evaluation accuracy logged over the evaluations of ``e`` (2+ of them) ends at
    or above ``held_share`` of its best there: the evaluated predictions did not collapse."""
    acc = run.series("eval_accuracy")
    if acc is None:
        return False
    a = acc.finite()
    v = a.values[(a.steps >= e.steps[0]) & (a.steps <= e.steps[-1])]
    return bool(v.size >= 2 and v.min() >= 0 and v.max() > 0 and v[-1] >= th.held_share * v.max())


def _gl_scatter(v: np.ndarray, i: int, th: OverfittingThresholds) -> float:
    """The eval-to-eval scatter the GL rule's rise must clear: the whole curve's, or, when larger,
    the scatter where the rise is judged (``local_noise_points``+ evaluations from two before the
    minimum ``i``). A curve that falls smoothly and then swings by +-0.1 around its floor has a
    small whole-curve scatter and a large one after its minimum (a Keras baseline: val_loss 1.4656
    -> 1.2327 by epoch 11, then 1.1859, 1.256, 1.1302, 1.2937, 1.267, 1.1418, 1.2535); a steady
    rise has steady differences and a small scatter of them."""
    noise = diff_sigma(v)
    local = v[max(0, i - 2):]
    return max(noise, diff_sigma(local)) if local.size >= th.local_noise_points else noise


def _gl_alone(e: Series, th: OverfittingThresholds) -> list[Finding]:
    """Prechelt's GL rule on evaluations alone (no training loss logged): every one
    of at least ``min_after`` evaluations after the minimum above it, the last ``generalization_loss``
    above it and beyond ``noise_k`` sigmas of the eval-to-eval scatter (measured, as in the GL rule,
    from two evaluations before the minimum when they are ``local_noise_points``+). Overfitting,
    not divergence, because that is what a held-out loss creeping up after its best means when
    nothing else is logged: HF's Trainer prints "No log" for the training loss of a short fine-tune
    (DistilBERT QA on becas: validation loss 4.53 at epoch 3, then 5.25 ... 5.98); a blow-up
    (2x and more) is still divergence's."""
    v = e.values
    i = int(np.argmin(v))
    after = v[i + 1:]
    if after.size < th.min_after or (after <= v[i]).any() or v[i] <= 0:
        return []
    gl = (float(v[-1]) - float(v[i])) / float(v[i])
    if gl < th.generalization_loss or v[-1] - v[i] < th.noise_k * _gl_scatter(v, i, th):
        return []
    ev = _gl_evidence(e, i, gl)
    summary = (f"eval loss {fmt(float(v[-1]))} is {gl:.1%} above its minimum {fmt(float(v[i]))} (step "
               f"{fmt(float(e.steps[i]))}) and stayed above it at all {after.size} later evaluations (no training loss "
               "logged to compare)")
    return [Finding("overfitting", Severity.WARNING, float(e.steps[i]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]


def _evaluations_only(run: Run, e: Series, th: OverfittingThresholds) -> list[Finding]:
    """See ``OverfittingThresholds.held_share``; with no accuracy logged either, :func:`_gl_alone`.
    With an accuracy that held, the UP rule and, when the last evaluations do not all rise,
    Prechelt's GL rule as :func:`_gl_alone` reads it: an accuracy that held does not make a held-out
    loss 75% above its minimum less of an overfitting (a RuBERT classifier: validation loss 0.777 ->
    1.145, 1.369, 1.332, 1.357 while its accuracy ended at its best, 0.754). Last, the trend rule
    with no training loss to compare (:func:`_rising_trend`)."""
    if run.series("eval_accuracy") is None:
        return (_gl_alone(e, th) or (_undone(run, e, None, th) if e.values.size >= 3 else [])
                or _rising_trend(run, e, None, th))
    if not accuracy_held(run, e, th):
        return []
    r = _successive_rises(e.values, th)
    if r is None:
        return (_undone(run, e, None, th) or _never_beaten(e, None, th, run) or _gl_alone(e, th)
                or _rising_trend(run, e, None, th))
    if _still_improving(run, "eval_accuracy") and r.gl < th.generalization_loss:
        return []  # as in _loss_rises: below GL_5 a new-best accuracy makes it over-confidence only
    v = e.values
    acc = run.series("eval_accuracy").finite()
    col = run.meta.roles.get("eval_accuracy", "eval_accuracy")
    ev = {"eval_min_step": float(e.steps[r.best]), "eval_min": float(v[r.best]), "eval_last": float(v[-1]),
          "generalization_loss": r.gl, "successive_rises": r.strips, "metric": col,
          "eval_best": float(acc.values.max())}
    summary = (f"eval loss rose at each of the last {r.strips} evaluations, {fmt(float(v[r.start]))} -> {fmt(float(v[-1]))} "
               f"({r.gl:.1%} above its minimum {fmt(float(v[r.best]))}), while {col} held ({fmt(float(acc.values[-1]))}, "
               f"best {fmt(float(acc.values.max()))}): over-confident where it is wrong (no training loss logged to compare)")
    return [Finding("overfitting", Severity.WARNING, float(e.steps[r.start]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]


def _doubled(e: Series, tr: Series, th: OverfittingThresholds) -> list[Finding]:
    """The two-evaluation rule (see ``OverfittingThresholds.doubled``); positive losses only."""
    v = e.values
    if v.size < 2 or (v <= 0).any():
        return []
    b = int(np.argmin(v[:-1]))
    if v[-1] < th.doubled * v[b]:
        return []
    t_best, t_end = value_at(tr, float(e.steps[b])), value_at(tr, float(e.steps[-1]))
    if t_best is None or t_end is None or t_best <= 0 or t_end > t_best / th.doubled:
        return []
    ev = {"eval_min_step": float(e.steps[b]), "eval_min": float(v[b]), "eval_last": float(v[-1]),
          "generalization_loss": float(v[-1] / v[b] - 1), "train_at_eval_min": t_best, "train_last": t_end}
    summary = (f"eval loss went from {fmt(float(v[b]))} (step {fmt(float(e.steps[b]))}) to {fmt(float(v[-1]))} "
               f"({v[-1] / v[b]:.2g}x) while training loss fell {fmt(t_best)} -> {fmt(t_end)}")
    return [Finding("overfitting", Severity.WARNING, float(e.steps[b]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]


def _undone(run: Run, e: Series, tr: Series | None, th: OverfittingThresholds) -> list[Finding]:
    """Few-point rule: on a log of 2 to ``min_after`` + 1 evaluations (too few for the GL rule's
    three after the minimum), the evaluation loss rose at every evaluation after its best, ended
    above its *first* evaluation (all the held-out progress the run made is undone) and at least
    :func:`_undone_bar` above its best (GL_5 beside a training loss that fell or a rise at two
    evaluations, twice GL_5 for one rise on the held-out curve alone), while the training loss fell
    over the same evaluations. The evaluation set is fixed, so its loss moves only as the model does:
    a model now worse on held-out data than at its first evaluation while it fits the training set
    better is the definition of overfitting (Prechelt's GL; BLOOM-560m dialogue: validation loss
    1.3702 -> 1.3064 -> 1.3982, 7% above its best, while the training loss fell 2.01 -> 0.85). XLM-R
    on chaii: validation loss 0.448 -> 0.323 -> 0.465 while the training loss fell 0.92 -> 0.75. With no training loss logged (``tr`` None), the caller has
    checked that the evaluation accuracy held (``held_share``), as the evaluations-only rule
    does: DistilBERT on QNLI, validation loss 0.293 -> 0.271 -> 0.303 while accuracy went 0.879
    -> 0.891 -> 0.890. Not while the evaluation accuracy sets a new best at the last evaluation:
    on so few points a rising loss beside a task score still improving is over-confidence (Guo
    et al. 2017), as in the UP rule below GL_5 (BERT on CoLA: validation loss 0.528 -> 0.513 -> 0.675 while the Matthews
    correlation rose to its best, 0.596); nor while an error rate (WER, CER) sets a new best there
    (:func:`_rate_at_new_best`)."""
    v = e.values
    if not 2 <= v.size < th.min_after + 2 or (v <= 0).any() or _still_improving(run, "eval_accuracy") or _rate_at_new_best(run):
        return []
    b = int(np.argmin(v[:-1]))
    gl = float(v[-1] / v[b] - 1)
    rises = v.size - 1 - b
    if gl < min(th.trend_gl, _undone_bar(rises, tr is not None, th)) or v[-1] <= v[0] or (np.diff(v[b:]) <= 0).any():
        return []
    if tr is None and gl < _undone_bar(rises, False, th):
        return []
    if tr is None:
        ev = _gl_evidence(e, b, gl)
        why = ("the evaluation accuracy held: over-confident where it is wrong (no training loss logged)"
               if run.series("eval_accuracy") is not None else "no training loss or accuracy was logged to compare")
    else:
        t_best, t_end = _train_from(tr, float(e.steps[b])), value_at(tr, float(e.steps[-1]))
        if t_best is None or t_end is None or not (_fell(t_best, t_end, th) or _memorised_at_end(e, t_end, th)):
            return []
        if gl < _undone_bar(rises, True, th) and not _undone_by_three(rises, t_best, t_end, th):
            return []
        ev = _gl_evidence(e, b, gl, t_best, t_end)
        why = f"training loss fell {fmt(t_best)} -> {fmt(t_end)}"
    summary = (f"eval loss ended at {fmt(float(v[-1]))}, above its first evaluation {fmt(float(v[0]))} and "
               f"{gl:.0%} above its best {fmt(float(v[b]))} (step {fmt(float(e.steps[b]))}), while {why}")
    return [Finding("overfitting", Severity.WARNING, float(e.steps[b]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]


def _measured_turn(run: Run, e: Series, tr: Series, th: OverfittingThresholds) -> list[Finding]:
    """Measured-turn rule: the few-point :func:`_undone` rule carried past its ``min_after`` + 1
    evaluations, where the GL rule's scatter guard becomes measurable. On a log of
    ``local_noise_points`` (5) to 2 x ``min_after`` (6) evaluations whose minimum has fewer than
    ``min_after`` evaluations after it, neither rule judges it: the undone rule stops at 4
    evaluations and the GL rule asks three after the minimum, which on such a log puts the minimum
    in the run's first half, before a fine-tune's held-out loss has usually reached its floor. Here
    the rise is judged by the GL rule's own criteria, none new:

    - the evaluation loss rose at each evaluation after its minimum (the undone rule's order
      witness, Prechelt's UP on the evaluations the log has);
    - the last evaluation is GL_5 (``generalization_loss``) above the minimum;
    - the rise clears ``noise_k`` sigmas of :func:`_gl_scatter`, the GL rule's guard, which stands in
      for the missing third evaluation after the minimum: the undone rule may go without it only
      because a log of ``min_after`` + 1 evaluations has no scatter to measure apart from the rise,
      and from ``local_noise_points`` evaluations on it has;
    - the training loss fell from the minimum to the end (:func:`_fell`);
    - no held-out score sets a new best at the last evaluation (:func:`_still_improving`,
      :func:`_rate_at_new_best`), as in the undone rule.

    CANINE-c on XNLI: validation loss 0.8608, 0.8543, 0.8452, 0.8424, then 0.9519 (13% above it,
    beyond the guard) while the training loss fell 0.576 -> 0.435. Beyond 2 x ``min_after``
    evaluations the GL rule can place its minimum past the middle of the run and this rule does
    not judge (a lone rise at the end of a long curve is the GL rule's ``min_after`` case:
    a single bad evaluation is noise)."""
    v = e.values
    n = v.size
    if not th.local_noise_points <= n <= 2 * th.min_after or (v <= 0).any():
        return []
    i = int(n - 1 - np.argmin(v[::-1]))
    if not 1 <= n - 1 - i < th.min_after or (np.diff(v[i:]) <= 0).any():
        return []
    if _still_improving(run, "eval_accuracy") or _rate_at_new_best(run):
        return []
    gl, scatter = float(v[-1] / v[i] - 1), _gl_scatter(v, i, th)
    if gl < th.generalization_loss or float(v[-1] - v[i]) < th.noise_k * scatter:
        return []
    t_min, t_end = _train_from(tr, float(e.steps[i])), value_at(tr, float(e.steps[-1]))
    if t_min is None or t_end is None or not _fell(t_min, t_end, th):
        return []
    sigmas = f", {float(v[-1] - v[i]) / scatter:.3g} sigmas of its eval-to-eval scatter" if scatter > 0 else ""
    ev = _gl_evidence(e, i, gl, t_min, t_end)
    after = "the evaluation" if n - 1 - i == 1 else f"each of the {n - 1 - i} evaluations"
    summary = (f"eval loss rose at {after} after its minimum {fmt(float(v[i]))} (step "
               f"{fmt(float(e.steps[i]))}) to {fmt(float(v[-1]))}, {gl:.0%} above it{sigmas}, while training loss fell "
               f"{fmt(t_min)} -> {fmt(t_end)}")
    return [Finding("overfitting", Severity.WARNING, float(e.steps[i]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]


def _undone_bar(rises: int, trained: bool, th: OverfittingThresholds) -> float:
    """The generalisation loss the few-point undone rule asks of a rise of ``rises`` evaluations
    after the best: Prechelt's GL_5 (``generalization_loss``) with a second witness beside it, a
    training loss that fell (``trained``) or a rise at each of ``up_strips_with_gl`` evaluations
    (UP_2 and GL_5 at once, the UP rule's own pairing); twice GL_5 (``up_ordered_gl``) on the
    held-out curve alone."""
    return th.generalization_loss if trained or rises >= th.up_strips_with_gl else th.up_ordered_gl


def _undone_by_three(rises: int, t_best: float, t_end: float, th: OverfittingThresholds) -> bool:
    """True when the few-point undone rule may read its rise at GL_1 (``trend_gl``) instead of
    :func:`_undone_bar`'s GL_5: three witnesses stand beside it, none of which the held-out loss's
    size enters, so the size need only clear the smallest generalisation loss Prechelt evaluated
    (GL_1; "Early Stopping - But When?", 1998, tries GL_1 to GL_5):

    - the evaluation loss rose at each of at least ``up_strips_with_gl`` evaluations after its
      best (UP_2, the order the UP rule pairs with GL_5);
    - it ended above its *first* evaluation: all the held-out progress the run made is undone
      (the caller's condition), which a rise inside the scatter of a curve still improving does
      not do;
    - the training loss fell from the best to the end (``t_end`` < ``t_best``; a training loss at
      its floor, :func:`_memorised_at_end`, is no fall): the training set went on being fitted.

    With no more than ``min_after`` + 1 evaluations there is no scatter to measure apart from the
    rise (:func:`_gl_without_scatter`), and GL_5 asks a 3-evaluation fine-tune to undo its progress
    by a margin a settled held-out loss rarely moves in two epochs (GPT-Neo 1.3B: validation loss
    2.6645 at its first epoch, then 2.6694, 2.7338, 2.6% above it, while the training loss fell
    2.7594 -> 1.9628). No new threshold: ``trend_gl`` and ``up_strips_with_gl`` are the detector's."""
    return rises >= th.up_strips_with_gl and t_end < t_best


def _highest_last(e: Series, tr: Series, th: OverfittingThresholds) -> list[Finding]:
    """The highest-last rule (see ``OverfittingThresholds.highest_last_p``): a tail of at least
    ``min_after`` evaluations that all lie above every evaluation before them, improbable under
    exchangeable noise (of the tails that qualify, the least probable; a longer tail is not always
    less probable, since C(n, m) falls past n/2), its last value ``up_ordered_gl`` above the best
    before it, while the training loss fell from that best to the end."""
    v = e.values
    if v.size < th.min_after + 1 or (v <= 0).any():
        return []
    tails = [k for k in range(th.min_after, v.size) if float(v[-k:].min()) > float(v[:-k].max())]
    if not tails:
        return []
    m = max(tails, key=lambda k: (math.comb(v.size, k), k))
    if 1.0 / math.comb(v.size, m) > th.highest_last_p:
        return []
    i = int(np.argmin(v[:-m]))
    gl = float(v[-1] / v[i] - 1)
    if gl < th.up_ordered_gl:
        return []
    t_min, t_end = _train_from(tr, float(e.steps[i])), value_at(tr, float(e.steps[-1]))
    if t_min is None or t_end is None or not _fell(t_min, t_end, th):
        return []
    ev = {**_gl_evidence(e, i, gl, t_min, t_end), "highest_last": m}
    summary = (f"the last {m} evaluations are the run's {m} highest: eval loss {fmt(float(v[-m:].min()))}-"
               f"{fmt(float(v[-m:].max()))}, above all {v.size - m} before them, {gl:.0%} above its best {fmt(float(v[i]))} "
               f"(step {fmt(float(e.steps[i]))}) at the end, while training loss fell {fmt(t_min)} -> {fmt(t_end)}")
    return [Finding("overfitting", Severity.WARNING, float(e.steps[i]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]


def _never_beaten(e: Series, tr: Series | None, th: OverfittingThresholds, run: Run | None = None) -> list[Finding]:
    """Never-beaten rule: the first evaluation is the best and every later one is above it, while
    the training loss fell (the second form below also from a settled minimum after the first
    evaluation, :func:`_level_minimum`). The held-out loss never improved on its first reading while the
    training set was fitted: overfitting from the first evaluation on, the common picture of a
    fine-tune that one epoch already fits (Prechelt's GL at every evaluation after the first).
    Three forms, any of which stands:

    - on a log too short for the GL rule (fewer than ``min_after`` evaluations after the first),
      the last evaluation is GL_5 (``generalization_loss``) above the first while the training loss
      at least halved (``memorised_fit``): fastai's MovieLens learner, val_loss 0.825 -> 0.936 ->
      0.890 while trn_loss 0.846 -> 0.295 (the UP rules need rises in a row, and with two
      evaluations after the best a dip between them says nothing);
    - on a log of any length (``few_points``+ evaluations), every later evaluation is at least
      ``up_ordered_gl`` (twice GL_5) above the first while the training loss fell: no later reading
      came back within the noise band the GL rules allow, so no scatter guard is needed (the GL
      rule's guard measures the scatter of these same readings, and one spike among them inflates
      it: bloomz-560m at lr 5e-4, validation loss 4.40 -> 5.41 -> 14.73 -> 7.44 -> 7.68 while the
      training loss fell 3.31 -> 2.46);
    - on a log of exactly ``min_after`` + 1 evaluations, the first the minimum, every later one above
      it and the last GL_5 above it, while the training loss fell: Prechelt's GL rule as published, on
      a log too short for its scatter guard (:func:`_gl_without_scatter`).

    With no training loss logged (``tr`` None), only the second form, when the caller has checked
    that the evaluation accuracy held (``held_share``) and it sets no new best at the last
    evaluation (``run``): the evaluations-only rule's stand-in for a training loss that fell, as in
    ``_undone`` (a BART summariser fine-tuned again on SAMSum: validation loss 0.9966 at its first
    epoch, then 1.0976, 1.1576, 1.1998, 1.1949, all 10% or more above it, while ROUGE-1 held at
    0.61-0.63)."""
    v = e.values
    if v.size < th.few_points or (v <= 0).any():
        return []
    settled = (0, False) if bool((v[1:] > v[0]).all()) else _level_minimum(v, th)
    if settled is None:
        return []
    i, held = settled
    later = v[i + 1:]
    gl = float(v[-1] / v[i] - 1)
    every = bool((later >= (1.0 + th.up_ordered_gl) * v[i]).all())
    where = (f"improved on its first evaluation {fmt(float(v[0]))} (step {fmt(float(e.steps[0]))})" if i == 0 else
             f"came back to its minimum {fmt(float(v[i]))} (step {fmt(float(e.steps[i]))}, "
             + ("held since the evaluation before it)" if held else "climbing away from it at every later evaluation)"))
    if tr is None:
        if run is None or _still_improving(run, "eval_accuracy") or not every:
            return []
        ev = _gl_evidence(e, i, gl)
        col = run.meta.roles.get("eval_accuracy", "eval_accuracy")
        summary = (f"eval loss never {where}: all {later.size} later evaluations are at least "
                   f"{th.up_ordered_gl:.0%} above it (the last {gl:.0%}), while {col} held: over-confident where it is "
                   "wrong (no training loss logged)")
        return [Finding("overfitting", Severity.WARNING, float(e.steps[i]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]
    t_first, t_end = _train_from(tr, float(e.steps[i])), value_at(tr, float(e.steps[-1]))
    if t_first is None or t_end is None or t_first <= 0 or not _fell(t_first, t_end, th):
        return []
    short = i == 0 and v.size < th.min_after + 1 and gl >= th.generalization_loss and t_end <= th.memorised_fit * t_first
    if not (every or short or _gl_without_scatter(v, i, gl, th, run)):
        return []
    ev = _gl_evidence(e, i, gl, t_first, t_end)
    low = float(later.min() / v[i] - 1)
    summary = (f"eval loss never {where}: all {later.size} later evaluations are above it (the closest "
               f"{low:.0%}, the last {gl:.0%}), while training loss fell {fmt(t_first)} -> {fmt(t_end)}")
    return [Finding("overfitting", Severity.WARNING, float(e.steps[i]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]


def _gl_without_scatter(v: np.ndarray, i: int, gl: float, th: OverfittingThresholds, run: Run | None = None) -> bool:
    """True when the never-beaten rule's third form holds on the evaluation losses ``v`` from their
    minimum ``i`` (the first evaluation) with GL ``gl``: Prechelt's GL rule as he stated it, GL_5
    (``generalization_loss``) at the last evaluation with every one of the GL rule's ``min_after``
    evaluations after the minimum above it, on a log too short to measure the scatter the GL rule's
    guard asks the rise to clear. That guard takes a robust spread from ``local_noise_points - 1``
    differences at the fewest; a log of ``min_after`` + 1 evaluations has ``min_after`` differences,
    and all of them are the rise itself, so there is no scatter to measure apart from it and the
    criterion stands as published (the caller asks the training loss to have fallen). SpeechT5 on a
    tiny VoxPopuli set: validation loss 0.6265 at its first evaluation, then 0.6595, 0.7037, 0.6988
    while the training loss fell 0.4211 -> 0.365. Not while the evaluation accuracy of ``run`` sets
    a new best at the last evaluation: on so few points a rising loss beside a task score still
    improving is over-confidence (Guo et al. 2017), as the few-point undone rule reads it (a NER
    card: validation loss 0.0704, 0.0767, 0.0723, 0.0756 while its accuracy rose to its best,
    0.9849, at the last epoch)."""
    return (i == 0 and v.size - 1 >= th.min_after and v.size < th.local_noise_points
            and gl >= th.generalization_loss and bool((v[1:] > v[0]).all())
            and not (run is not None and _still_improving(run, "eval_accuracy")))


def _memorised_turn(run: Run, e: Series, tr: Series, i: int, gl: float, th: OverfittingThresholds) -> list[Finding]:
    """Turned-minimum rule, from the minimum ``i`` of ``detect`` and its GL ``gl`` (as
    :func:`_memorised` takes them): the never-beaten rule's second form from a minimum that is neither its
    first evaluation nor settled (:func:`_level_minimum`: not held by the evaluation before it, and
    not climbed away from at every later one), a V whose right arm wobbles. A lone low reading may
    be one that every later one is above by selection, so four readings of the run must each
    corroborate what the minimum says, with no new threshold:

    - every later evaluation, ``min_after``+ of them (the GL rule's count), is at least
      ``up_ordered_gl`` (twice GL_5) above it: none came back within the noise band the GL rules
      allow;
    - the training loss at least halved since it (``memorised_fit``, the memorisation rule's
      fit): the training set is being fitted while the held-out loss stays worse;
    - the last evaluation is not the lowest since the minimum: a held-out loss on its way back
      down is a curve to wait for, not one that turned (a tabular MLP under early stopping:
      validation loss 0.0090 at epoch 15, then 0.0169, 0.0141, 0.0123, 0.0121, 0.0111);
    - no held-out score logged beside it is, at any later evaluation, at least as good as it was at
      the minimum (:func:`_score_held_after` with ``at_any``): a score that sets a new best after the loss's
      minimum says the model still improved at the task, and the loss's rise is over-confidence
      (Guo et al. 2017; a wav2vec2 CTC fine-tune whose validation loss sat 15-30% above an early
      minimum while its WER kept improving, 0.0277 -> 0.0195, is healthy; multilingual E5 at 0.2663,
      then 0.2979, 0.3067, 0.3010 while its accuracy went 0.9189 -> 0.9274 -> 0.9181).

    On at most ``level_few_points`` evaluations, where the GL rule's scatter guard measures the
    rise it judges (IndicBERT on paraphrase detection: validation loss 0.5991, 0.5039, 0.4500,
    0.3427, then 0.3923, 0.3913, 0.4789, 0.4538, 14-40% above it, while the training loss fell
    0.2201 -> 0.0457 and accuracy ended below its 0.868)."""
    v = e.values
    if v.size > th.level_few_points or (v <= 0).any():
        return []
    later = v[i + 1:]
    if i < 1 or later.size < th.min_after or not bool((later >= (1.0 + th.up_ordered_gl) * v[i]).all()):
        return []
    if float(later[-1]) <= float(later.min()) or _score_held_after(run, float(e.steps[i]), at_any=True) is not None:
        return []
    t_min, t_end = _train_from(tr, float(e.steps[i])), value_at(tr, float(e.steps[-1]))
    if t_min is None or t_end is None or t_min <= 0 or t_end > th.memorised_fit * t_min:
        return []
    ev = _gl_evidence(e, i, gl, t_min, t_end)
    summary = (f"eval loss turned at its minimum {fmt(float(v[i]))} (step {fmt(float(e.steps[i]))}): all {later.size} "
               f"later evaluations are at least {th.up_ordered_gl:.0%} above it (the last {gl:.0%}), while training "
               f"loss fell {fmt(t_min)} -> {fmt(t_end)}")
    return [Finding("overfitting", Severity.WARNING, float(e.steps[i]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]


def _level_minimum(v: np.ndarray, th: OverfittingThresholds) -> tuple[int, bool] | None:
    """The minimum of the evaluation losses ``v`` that the never-beaten rule may start from when it
    is not the first evaluation: a level, held by the evaluation just before it within GL_5
    (``generalization_loss``), with ``few_points - 1``+ evaluations after it (the caller asks every
    one of them to be ``up_ordered_gl`` above it). Held twice, it is where the held-out loss settled, not one lucky
    low reading that every later one is above by selection (divergence's ``_level_floor`` asks the
    same of a best); no later reading came back within the noise band the GL rules allow, and the
    rule's argument from the first evaluation holds from here (ELECTRA on RTE: validation loss
    0.4824, 0.4793, then 0.7056 and 0.6849, 43-47% above it, while accuracy fell from 0.8231).
    A minimum not held before it also stands when the evaluations after it, ``min_after``+ of them,
    rose at every one: Prechelt's UP rule from the minimum itself, whose ordering (4 values in
    increasing order: p = 1/24 under exchangeable noise) stands in for the level (multilingual E5 on
    a 6-epoch classifier: 1.1118, 0.3434, 0.2663, then 0.2979, 0.3067, 0.3848 while the training
    loss fell 0.28 -> 0.045). Past ``level_few_points`` evaluations the rise must also clear the GL
    rule's scatter guard. Its index, and whether it was held (else climbed away from); None when
    there is no such minimum."""
    i = int(v.size - 1 - np.argmin(v[::-1]))  # the last time the minimum was reached (a tie repeats it)
    later = v[i + 1:]
    if i < 1 or later.size < th.few_points - 1:
        return None
    held = v[i - 1] <= (1.0 + th.generalization_loss) * v[i]
    climbing = later.size >= th.min_after and bool((np.diff(v[i:]) > 0).all())
    if not (held or climbing):
        return None
    if v.size > th.level_few_points and float(later.min() - v[i]) < th.noise_k * _gl_scatter(v, i, th):
        return None
    return i, held


def _accuracy_gap(run: Run, th: OverfittingThresholds) -> list[Finding]:
    """The generalisation-gap rule (see ``OverfittingThresholds.gap_train_p``)."""
    a, b = run.series("eval_accuracy").finite(), run.series("task_metric").finite()
    shared, ia, ib = np.intersect1d(a.steps, b.steps, return_indices=True)
    if shared.size < th.gap_points:
        return []
    v, t = a.values[ia], b.values[ib]
    if (v.max() > 1.5) != (t.max() > 1.5) or min(v.min(), t.min()) < 0:
        return []  # one in percent and one as a fraction, or not accuracies
    scale = 100.0 if v.max() > 1.5 else 1.0
    half = shared.size // 2
    p_train, p_eval = trend_p_up(t[half:]), trend_p_up(v[half:])
    q = max(2, shared.size // 4)
    gap = float(np.median(t[-q:]) - np.median(v[-q:])) / scale
    if p_train >= th.gap_train_p or p_eval < th.gap_eval_p or gap < th.gap_share:
        return []
    col, tcol = run.meta.roles.get("eval_accuracy", "eval_accuracy"), run.meta.roles.get("task_metric", "task_metric")
    best = int(np.argmax(v))
    ev = {"eval_min_step": float(shared[best]), "eval_best": float(v[best]), "eval_last": float(v[-1]),
          "train_last": float(t[-1]), "metric": col, "accuracy_gap": gap}
    summary = (f"{tcol} kept rising over the second half ({fmt(float(t[half]))} -> {fmt(float(t[-1]))}, Mann-Kendall "
               f"p = {p_train:.2g}) while {col} stopped ({fmt(float(v[half]))} -> {fmt(float(v[-1]))}, best "
               f"{fmt(float(v[best]))}): the training accuracy ends {gap * scale:.3g} points above it")
    return [Finding("overfitting", Severity.WARNING, float(shared[half]), float(shared[-1]), summary, ev, _UP_CAUSE)]


def _accuracy_rises(run: Run, th: OverfittingThresholds) -> list[Finding]:
    """The UP rule on an eval accuracy that falls while the training accuracy rises (logs with
    accuracies and no losses: MXNet's ``Train-accuracy`` / ``Validation-accuracy``); else the
    generalisation-gap rule."""
    ea, ta = run.series("eval_accuracy"), run.series("task_metric")
    if ea is None or ta is None:
        return []
    e = ea.finite()
    r = _successive_rises(-e.values, th)
    if r is None:
        return _accuracy_gap(run, th)
    t_start, t_end = value_at(ta, float(e.steps[r.start])), value_at(ta, float(e.steps[-1]))
    if t_start is None or t_end is None or not t_end > t_start:
        return []  # the training accuracy must rise while the eval accuracy falls
    v = e.values
    col, tcol = run.meta.roles.get("eval_accuracy", "eval_accuracy"), run.meta.roles.get("task_metric", "task_metric")
    ev = {"eval_min_step": float(e.steps[r.best]), "eval_best": float(v[r.best]), "eval_last": float(v[-1]),
          "generalization_loss": r.gl, "train_last": t_end, "successive_rises": r.strips, "metric": col}
    summary = (f"{col} fell at each of the last {r.strips} evaluations, {fmt(float(v[r.start]))} -> {fmt(float(v[-1]))} "
               f"(best {fmt(float(v[r.best]))}), while {tcol} rose {fmt(t_start)} -> {fmt(t_end)}")
    return [Finding("overfitting", Severity.WARNING, float(e.steps[r.start]), float(e.steps[-1]), summary, ev, _UP_CAUSE)]


@fix_rule("overfitting")
def fix_overfitting(run: Run, f: Finding) -> Prescription:
    ev = f.evidence
    return Prescription([Fix("max_steps", None, None, "the eval minimum",
                             note=f"stop at step {fmt(ev['eval_min_step'])} (early stopping, patience 3 evals)"),
             Fix("weight_decay", config_value(run.config, ("weight_decay", "wd")), None, "regularise instead of memorising",
                 note="0.01-0.1 (AdamW)")], [Watch("eval_loss", f"stays within 5% of its minimum {fmt(ev['eval_min'])}", "a rise while train falls is overfitting")
              if "eval_min" in ev else
              Watch(str(ev.get("metric", "eval accuracy")), f"stays within 5% of its best {fmt(ev['eval_best'])}",
                    "a fall while the training accuracy rises is overfitting")])
