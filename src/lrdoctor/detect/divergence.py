"""``divergence``: the loss rises above its best and stays there.

The seed rule of the classifier post-mortem (#4) was "loss > best + 0.5"; that only fits
cross-entropy in nats. Here the rise is measured against the progress the run had made
and against its own noise, so it works for a 1e13 PINN loss and a negative likelihood:

* trend = rolling median (1/25 of the run), best = running minimum of the trend;
* a point is *above* when ``trend - best > max(rise_fraction x progress, noise_k x sigma,
  relative_floor x |best|)``;
* divergence = an above-stretch that lasts at least ``min_fraction`` of the run and is
  still above at the end (error). One that lasts that long and comes back is a transient:
  ``loss_spike`` reports it (PaLM's and OPT's "loss spikes" last hundreds of steps and
  recover; a run that regains its best has not diverged).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lrdoctor.detect._common import derived_from_perplexity, is_error_rate, lr_at, lr_rising, objective, training_loss_terms
from lrdoctor.fmt import fmt
from lrdoctor.detect._stats import curve, runs_of, tail_start, trend_p_up, value_at
from lrdoctor.detect._trend import Trend, objective_trend
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import DIVERGENCE_LR_CUT, WATCH_LOSS, WATCH_GRAD, lr_fix
from lrdoctor.detect._guard_evidence import GuardRewindEvidence
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.detect._grad import max_grad_norm
from lrdoctor.finding import Finding, Fix, Severity
from lrdoctor.run import GAN_ROLES, Run, Series

__all__ = ["DivergenceThresholds", "detect", "above_best", "sustained_rises"]


@dataclass(frozen=True)
class DivergenceThresholds(Thresholds):
    rise_fraction: float = 0.25
    """Rise above the best trend value, as a share of the progress made so far (start level
    minus best). Source: the GRU word-LM run at lr 20 (pytorch/examples) rose 0.33 of its
    progress and never recovered; the post-mortem's +0.5 nats on a 0.6 loss is far more."""
    noise_k: float = 5.0
    """The rise must also exceed this many robust sigmas of the loss noise around its trend,
    so minibatch noise alone never reads as divergence (5 sigma: < 1e-6 two-sided for
    Gaussian noise). The few-point rule asks the same of its rise, in the log domain, against
    the scatter of the points before the onset."""
    relative_floor: float = 0.10
    """And at least 10% of |best|: a run that made no progress cannot diverge by noise. Since stop 81
    the few-point rules read it on the perplexity of a log that prints one instead of a loss: 10% of
    the perplexity, ``log1p(0.10)`` nats of the loss derived from it (:func:`floor_on_printed_scale`)."""
    min_fraction: float = 0.05
    """Shortest sustained rise, as a share of the run (shorter ones are loss spikes)."""
    min_points: int = 3
    """Shortest sustained rise in logged points."""
    few_points: int = 50
    """Logs with at most this many loss points (epoch logs, pasted excerpts) also get the
    few-point rule below: a rolling trend of 5+ points is most of such a log."""
    improving_evals: int = 2
    """A divergence is withdrawn when the evaluation's score set a new best at every one of at
    least this many evaluations from its onset on (see ``_evaluation_kept_improving``): two, so
    that one lucky evaluation cannot clear a rise. A model that blew up does not improve on
    held-out data; its evaluations fall with it."""
    task_accuracy_floor: float = 0.6
    """A rise across the tasks of a continual-learning run is a warning only while a logged
    accuracy stays above this at every report from the best on (``_across_tasks``): above 1/2, the
    highest chance level of any classification (two classes), by the 0.1 band ``slow_progress``'s
    chance rules allow around 1/K (``chance_acc_margin``). A model whose weights blew up answers at
    chance and loses that accuracy with its loss (a digits MLP at Adam 3e-2 fitting five two-class
    tasks in turn: accuracy 0.503 and 0.508 on the last two, beside a loss at ln 2), and keeps the error."""
    accuracy_held: float = 0.03
    """A divergence is withdrawn when a logged accuracy stays within this share (3 points of
    accuracy) of its best before the onset at every report from there on (see
    ``_accuracy_held``): the materiality ``performance_reversal`` asks of an accuracy's fall
    (about 4 binomial standard errors of an accuracy near 0.9 on 1,500 examples). Since stop 78
    the held accuracy must also stay above ``task_accuracy_floor``: one that may be at chance says
    nothing of what the weights predict."""
    few_factor: float = 2.0
    """Few-point rule: every point from the onset to the end stays at least this multiple of
    the best loss before it (log domain, so it is scale-free). A loss that doubles from its
    best and never comes back is the fine-tuning failure of the LoRA post-mortem (#3: a loss
    that tripled at a constant LR); minibatch noise of a logged *average* is far below 2x."""
    few_after: int = 2
    """Few-point rule: points at or above the factor, to the end (one high report is a spike)."""
    decade_factor: float = 10.0
    """Few-point rule without the scatter guard: every report from an onset with fewer than four
    reports before it stays at least this multiple of the best before the onset (the square of
    it above a lone best, as ``_needed_factor`` asks of ``few_factor``), at ``few_after``+ reports
    to the end: a loss that grew by an order of magnitude within a handful of reports and stayed
    there (issue 9's first failure class). With under four reports before the onset the guard
    can only measure its scatter on the whole log, which then holds the rise itself: a 40x climb
    makes its own noise (mt0-base LoRA at lr 0.005: 0.17, 0.079, then 0.97, 3.37, 3.37 while the
    validation loss rose 0.002 -> 2.3). A decade is no noise of a logged average; with four or
    more reports before the onset the guard measures them and judges as before."""
    joint_jump: float = 0.05
    """Few-point rule on a log with evaluations: both losses rise by at least this share at the
    same report, and from there to the end (``few_after``+ reports) the evaluation loss stays
    above *every* earlier evaluation, the first included, while the training loss never makes a
    new best and ends this share above it (see :func:`joint_jump_and_stay`). The stay is the
    proof: an evaluation is of the weights as they stand, and weights that score worse than at
    every earlier evaluation, with a training loss that went up with them, got worse for good;
    overfitting keeps its training loss falling. The 5% only places the onset at a jump rather
    than a creep: the median joint rise between two reports of the benchmark's healthy runs is
    0.7% and a tenth of them exceed 9%, so it is the stay, not the jump, that no healthy run of
    the benchmark shows (Zekunli's T5-base under fp16: validation 1.76 -> 2.14 -> 2.36-2.37 for
    five evaluations, above its first 1.93, the training loss 1.75 -> 1.90 -> 2.43-2.48)."""
    joint_hold: float = 0.5
    """...and the last evaluation still holds at least this share of the jump, in the log domain,
    over the best evaluation before it: an evaluation loss that gave back more than half of its
    jump by the end is a spike recovering, not a new level (BEiT on a segmentation set: 0.0277 ->
    0.0788 -> 0.0412 gave back 62% of it within one evaluation). Half: the point past which the
    end is nearer the old level than the jump, on the scale-free log axis."""
    joint_rises: int = 3
    """Few-point rule on a log with evaluations: at the reports where both losses were logged, the
    training *and* the evaluation loss each rose at every one of the last 3 and each ends at least
    ``joint_jump`` above its best before its climb. Under exchangeable noise each series comes in
    strictly increasing order over its last four reports with p = 1/4! = 1/24, both together with
    p = 1/576 (0.17%, below the 1/120 that ``few_rises`` asks of one series): two witnesses of one
    climb. A training loss that rises with the evaluation loss is the fit itself getting worse, not
    the generalisation (overfitting keeps its training loss falling): the optimiser is moving away
    from its minimum (a T5-base summariser: training 2.235 -> 2.321 -> 2.391 -> 2.438, validation
    1.955 -> 2.004 -> 2.070 -> 2.119 -> 2.141; LightGBM issue 742: binary log loss 0.7127 -> 0.7322
    -> 0.7517 -> 0.7711 on both sets). The ``joint_jump`` share (5%) keeps a creep of print units out;
    at ``relative_floor`` (10%) both runs above would read as healthy."""
    few_rises: int = 4
    """Few-point rule: the loss rose at each of the last this-many reports and ends above the
    best by more than ``relative_floor``. Under noise alone (exchangeable reports around a flat
    level) the last five points come in strictly increasing order with probability
    1/5! = 1/120, below the usual 1% level, and a loss that is still falling makes it rarer
    still; a logged average that climbs at every report to the end is the optimiser moving
    away from its minimum (Keras cifar10_cnn on TF: 1.093 at epoch 4, then 1.104, 1.140,
    1.186, 1.214, 1.237). Since stop 78 not when the climb ends at or below the median of the level
    the loss held before it (``_above_its_level``): a return from a low draw, not a climb away."""
    runaway_rises: int = 2
    """Few-point rule: the loss rose at each of at least 2 reports after its best, each step up
    larger than the one before in the log domain (accelerating), and ends at least
    ``few_factor`` squared x the best (the factor a lone best must clear, ``_needed_factor``). A
    blow-up still in progress when the log ends: too few reports above 2x for the rise rule,
    too few rises for the tail rule (PaddleDetection PP-YOLOE as its warm-up raises the LR:
    4.83, 4.72, 8.42, 21.5). A running average climbing from a lucky first batch decelerates
    (PaddleClas: 0.0176, 0.051, 0.053, 0.064), and a spike is one report, not an accelerating
    run of them."""
    give_back: float = 0.1
    """Few-point stay, jump, decade, runaway, joint-jump, last-report and climb rules (not the runaway into
    a NaN; the stay, jump and decade rules since stop 66, the last-report rule since stop 76, the climb
    rule since stop 78): the loss's
    climb must also give back at least this share of what it had learned, the fall from its first
    report to its best, in the loss's own units (by the end of the log). A blow-up gives back the learning
    (w2v-BERT on Common Voice: 1.31 -> 0.082 -> 0.37, 24% back; most climb past the first report);
    a loss that fell fifty-fold toward its floor of 0 and then moved 5x is still over 90% of the way
    down, and its ratio measures the noise of a near-zero number (a Trainer log in a transformers
    issue: 0.565 -> 0.0116 -> 0.0175 -> 0.0563, 8% back); an evaluation loss rising beside a
    training loss that wobbles near its floor is overfitting (Whisper on AMI: training 0.27 -> 0.029
    -> 0.053 -> 0.033, 1.4% back, as the validation loss climbed 0.33 -> 0.43; distilbert on a
    3-class task: 0.5547 -> 0.0012 -> 0.0044, "3.7x the best" and 0.6% back, as the validation loss
    tripled). The last-report rule is no exception: its evaluation loss doubling beside a training
    loss at its floor is overfitting's (Whisper-tiny on Hindi: training 0.36 -> 0.0004 -> 0.0018,
    "4.5x its best" and 0.4% back, as the validation loss went 0.34 -> 0.71 over ten evaluations). A
    tenth: one decimal digit of the descent, below any blow-up of the benchmark. The climb rule is no
    exception either: a Mann-Kendall trend from a best near the floor can be the floor's own scatter
    (GPyTorch's ModelList GP regression example, a healthy run: its negative marginal log likelihood
    1.05 -> 0.046, then 0.046-0.086 over 15 iterations, "1.3x the best" and 1.4% of the descent back)."""
    climb_p: float = 0.01
    """Few-point rule: after its best report the loss climbs with a monotone trend that noise
    would give with probability below 1% (Mann-Kendall test, one-sided, on the reports after
    the best; the best itself is left out, since every later report is above it by choice),
    and ends more than ``relative_floor`` above the best. The trend test's usual 1% level; a
    loss that wanders around a level has no such trend (HF Trainer fine-tune: 1.406 at epoch
    0.38, then 1.415, 1.426, 1.459, 1.436, 1.468, 1.503, 1.513, 1.565, 1.562, 1.614 while the
    LR decays: Mann-Kendall p ~ 2e-4, +15%). Since stop 79 the same test reads a joint climb on a log
    with evaluations (:func:`joint_climb`): over ``climb_points``+ reports after the evaluation loss's
    best, the evaluation *and* the training loss each climb at p below 1% (both together below 1e-4),
    the evaluation loss ending at least ``joint_jump`` (the joint rules' 5%, which keeps a creep of print
    units out) above its best. Overfitting is a held-out loss that climbs while the training loss falls
    or holds; a training loss that climbs with it is the fit itself getting worse, so the direction of
    the training loss, which the test establishes, is what tells the two apart, and the held-out loss,
    the quantity the run is for, carries the materiality (a Qwen2-7B LoRA at lr 3e-4: validation loss
    1.989 -> 2.109 over 20 evaluations, p < 1e-4, while the training loss climbed 2.04 -> 2.13-2.23,
    p < 0.001). A warning, as the climb rule."""
    climb_points: int = 6
    """...judged on at least this many reports after the best (with fewer, even a strictly
    increasing run has p = 1/n! above 1% only below 5 points; 6 leaves room for one dip)."""
    shift_p: float = 0.01
    """Few-point rule: a step to a new level. From some report to the end (3+ reports, one more
    than ``few_after``: a level, not a two-report excursion; after 4+ before, the fewest whose
    scatter is measured), every report lies above every report before it and the lowest of them more than
    ``relative_floor`` above the highest before, beyond ``noise_k`` sigmas of the earlier reports'
    log scatter from their best. Under exchangeable noise the last m of n reports are the m highest
    with probability 1/C(n, m): a step counts when that is below 1%, the climb rule's level. A
    warning, as the tail and climb rules: a level 1.4x the old one is no blow-up yet (a Keras LSTM
    regressor at 6340-6947 for ten epochs, then 9485-10976 to the end)."""
    start_level: int = 3
    """Few-point rule on a log with evaluations: from some report to the end (3+ reports, one more
    than ``few_after``, a level as ``shift_p``'s step asks, not a two-report excursion) the training
    loss lies above every report before it and more than ``relative_floor`` above its *first* report,
    and the evaluation loss ends above its first evaluation (:func:`held_above_start`). A stable
    descent does not end above where it started: gradient descent at a step size below the
    curvature's stability bound lowers the training loss it follows (the descent lemma), and a
    logged average over a window of steps carries little noise, so a training loss held above its
    starting level makes net negative progress on the data it fits. Overfitting keeps its training
    loss falling; held-out loss that ends above its own start too says the weights got worse, not the
    batch order (roberta-large on fake news at lr 5e-5: training loss 0.39, then 0.72, 0.70, 0.70,
    0.69 at chance with the validation loss 0.703 -> 0.713; a text classifier, 0.479 then 0.592,
    0.588, 0.582 while its validation loss ended 26% above its first). The end must keep half the
    climb (``joint_hold``): a spike that recovered is ``loss_spike``'s (a ConvNeXt-V2: 0.25, 0.16,
    1.10, 1.09, then back to 0.34), and so is a climb that gave most of itself back (a distilbert
    LoRA: 0.467 -> 0.645 -> 0.542 keeps 46%, and is not read). A warning: a level tens of percent up
    has not blown up. Since stop 78 the same 3-report level is the stay of the joint new level
    (:func:`joint_level`): both losses jump together and hold more than ``relative_floor`` above their
    bests, the training loss at or above the held-out loss's best, a warning as this one."""
    eval_noise_points: int = 4
    """Logs with an evaluation loss and no training loss: the last evaluation's jump is judged
    against the log scatter of at least 4 evaluations before it (``log_noise`` needs 4 points
    to measure any scatter; with fewer the 5-sigma guard would be empty)."""
    final_jump: float = 1000.0
    """Blow-up at the end: a *last* report at least this multiple of the best loss counts even
    alone, at any log length. Three decades is far beyond any minibatch noise of a logged
    average, and with no later point the log ends on weights whose loss is 1000x worse
    (PFNL's video SR run: 0.01 for 30k steps, then 1.5e6 at the last report). The same three
    decades judge the last finite report before a loss that turns non-finite for good, on two
    finite reports or more, and then also on each logged training loss term (``_blowup_into_nan``):
    a NaN that follows a thousand-fold jump is the overflow of a blow-up, not a lone numerical
    fault, and a term is a lower bound of the sum it is part of, so a term 1000x its best puts the
    total there, whose own print already overflowed (SSD with focal loss: 393 -> 1.7e6 -> NaN;
    FCOS: loss_cls 1.55 -> 13,795 at the iteration whose total is NaN)."""
    numerical_floor: float = 1e-3
    """A rise whose highest report stays below a thousandth of the loss's starting level (the
    largest of its first tenth of reports) is no divergence: three decades under where the model
    started (``final_jump``'s three decades) the loss is at its floor, where float rounding and a
    batch's last few examples move it by factors without the weights getting worse (spaCy's NER
    example loop: 11.3 at its first update, 1.6e-15, then 3.4e-9)."""
    memorised_floor_gap: float = 10.0
    """A few-point rise of the training loss is no divergence when it is a wobble at the floor of a
    memorised training set: at every evaluation from the onset on the evaluation loss is at least
    10x the training loss (overfitting's ``memorised_gap``) and no worse than ``relative_floor``
    above its best before the onset. Divergence is weights that got worse, and held-out data says
    they did not; a training loss fitted to 1/30 of the held-out one moves by factors on nothing
    (BERT on multilingual STS-B: training MSE 0.032 -> 0.079 while the validation MSE went 2.79 ->
    2.74 -> 2.65)."""
    gan_factor: float = 1e6
    """GAN runs: a player's loss rises when the other player gains, but only as far as its loss
    function reaches: a saturated BCE term sits at some 16-100 nats (log clamped at float eps, the
    logit range) from a best of 0.01-0.1, three to four decades. Six decades (``final_jump``'s
    three, squared), held to the end on ``few_after``+ reports, is beyond any game: the player's
    weights blew up (PNGAN's generator L1 loss: 4260 at epoch 28, 1.1e11-1.4e12 from epoch 73)."""
    rl_bound_factor: float = 100.0
    """RL runs: their TD/value loss may rise while the agent learns, so only a loss beyond
    anything a sane critic can produce counts. The root of an MSE loss is the typical TD
    error, and no true value exceeds the largest |return| logged: a loss whose root stays
    above 100x that bound (two decades of margin for reward scaling and n-step sums) while
    it keeps at least ``few_factor`` x its best is a diverging critic (keras-rl CDQN: TD
    loss 3.6e23 -> 1.2e26 with episode returns of at most 752)."""
    absurd_loss: float = 1e15
    """Blown up beyond any scale: a loss whose every report from some point to the end (at least
    ``few_after`` of them) is at least 1e15, in a log that does not show it there from the start of
    training (a first training loss that large is ``initial_loss_anomaly``'s; a first evaluation is
    made after training began). The largest losses a working run prints come from
    unnormalised regression targets: house prices of ~3e5 make a squared error of ~1e11 per example
    at initialisation, ~1e13 summed over a batch of 100. Two decades above that, a mean per-example
    loss needs prediction errors above 3e7 (squared error) or logit gaps of 1e15 (cross-entropy):
    weights that diverged, whatever the log's excerpt shows of the way there (astroNN's Keras fit:
    loss 2.26e18 at epochs 10-12; YOLACT: class loss 6.4e35 at iteration 500; TF Faster R-CNN:
    2.4e20; TorchMD-Net: validation loss 2.8e25 from its first epoch). Every benchmark log at that
    scale is labelled divergence. A non-finite report after an absurd one stays at that scale (the
    float overflowed past it), and a training loss term at that scale puts the total there too (a
    term is a lower bound of the sum), when the total itself prints NaN (YOLACT: conf_loss 6.4e35
    and 7.6e35 beside a total of NaN)."""
    warmup_rise: float = 1.05
    """A divergence is a warning while the warm-up still raises the LR over the whole rise (last LR
    at least 1.05x the first, never falling) and the loss ends below ``few_factor`` x its best
    (``_warmup_warning``). 5%: above the printed rounding of an LR, far below a warm-up's rise, the same
    bar as ``slow_progress``'s ``chance_warmup_rise``."""
    restart_cut: float = 0.5
    """A new stage: the LR at the rise's onset is at most half its level just before and rises at
    the next report (``_new_stage``): a halving, the smallest cut a step schedule makes
    (ReduceLROnPlateau's default factor is 0.1, StepLR's usual gamma 0.1-0.5), followed by a rise
    that no decay makes: a warm-up starting again."""
    restart_window: int = 3
    """...its level just before: the largest of the 3 LR reports before the onset."""


DEFAULTS = DivergenceThresholds()


def _needs(run: Run) -> str | None:
    """A supervised training loss, or an RL run with a loss and a task metric to bound it."""
    if run.is_rl:
        if not any(n in run for n in ("loss", "value_loss")):
            return "RL run with no TD/value loss column"
        return None if any(n in run for n in ("ep_return", "eval_return")) else \
            "RL run: its TD/value loss is judged against the returns, and none is logged"
    if run.is_gan:
        return None  # a GAN: only a player's blow-up beyond any game is judged (``gan_factor``)
    why = needs.loss(run)
    if why and needs.points(run, "loss") >= 2 and needs.points(run, "eval_loss") >= 2:
        return None  # two reports of both losses: the joint last-report rule can judge them
    if why and "loss" not in run and needs.points(run, "eval_loss") >= needs.MIN_LOSS_POINTS:
        return None  # evaluations only: the few-point rules judge the eval loss
    if why and needs.cumulative(run, "loss") is None and _nan_witnesses(run):
        return None  # a blow-up into NaN, or loss terms, the blow-up rules judge on fewer reports
    if why and _absurd_witness(run):
        return None  # a loss at the absurd scale to the end: ``absurd_loss``'s rule judges it on fewer reports
    return why


def _loss_terms(run: Run) -> list[str]:
    """The logged training loss terms other than the objective (``loss_term_kind`` "train"), less
    PaddlePaddle's timers ``batch_cost``, ``data_cost`` and ``reader_cost`` (seconds per batch, named
    with the loss word "cost")."""
    from lrdoctor.names import tokens

    return [n for n in training_loss_terms(run) if n not in run.meta.roles.values() and not _TIMER_WORDS & set(tokens(n))]


#: the words that make a PaddlePaddle "cost" a timer (``batch_cost: 0.52 sec``), not a loss
_TIMER_WORDS = frozenset({"batch", "data", "reader"})


def _nan_witnesses(run: Run) -> bool:
    """True when a log too short for the loss rules holds what the blow-up rules judge: a training
    loss that turned non-finite for good after two finite reports, or one never finite beside a loss
    term with ``few_after``+ finite reports (the total prints NaN; its terms still print)."""
    s = objective(run)
    if s is None:
        return False
    finite = int(np.isfinite(s.values).sum())
    if ends_non_finite(s.values) and finite >= 2:
        return True
    return finite == 0 and any(run.series(n).finite().values.size >= DEFAULTS.few_after for n in _loss_terms(run))


def _absurd_witness(run: Run) -> bool:
    """True when the training loss ends on a stretch that ``absurd_loss``'s rule judges (:func:`_absurd_onset`:
    ``few_after``+ reports from a finite one at 1e15 or more, each at that scale or non-finite), however few
    of its reports are finite. That rule counts a non-finite report after an absurd one as still at the
    scale (the float overflowed past it), so the finite points the other rules need are no requirement of
    it (YOLACT: loss NaN, then 2.2e31, then NaN, between "Moving average ignored a value of inf" warnings)."""
    s = objective(run)
    return s is not None and _absurd_onset(np.asarray(s.values, dtype=float), DEFAULTS) is not None


def above_best(t: Trend, th: DivergenceThresholds = DEFAULTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(above mask, rise, threshold) per trend point; shared with ``loss_spike``."""
    sm = t.smooth
    best = np.minimum.accumulate(sm)
    start = np.maximum.accumulate(sm)
    progress = start - best
    rise = sm - best
    thr = np.maximum.reduce([
        th.rise_fraction * progress,
        np.full(sm.shape, th.noise_k * t.sigma),
        th.relative_floor * np.abs(best),
    ])
    return rise > thr, rise, thr


#: the fewest reports :func:`log_noise` measures a scatter on (3 successive ratios; on fewer it
#: has no evidence of noise and returns 0, which would empty a scatter guard)
SCATTER_POINTS = 4


def log_noise(x: np.ndarray) -> float:
    """Per-point scatter of a positive series in the log domain: the robust sigma of its
    successive log-ratios over sqrt(2) (each ratio carries two points' noise); 0 with fewer
    than :data:`SCATTER_POINTS` points (no evidence of noise)."""
    from lrdoctor.detect._stats import diff_sigma

    return diff_sigma(np.log(x)) if x.size >= SCATTER_POINTS else 0.0


def few_point_rise(values: np.ndarray, factor: float, after: int, noise_k: float = 0.0,
                   lone_best_squared: bool = True) -> tuple[int, int] | None:
    """(index of the best point, index of the onset) when every point from the onset to the
    end is at least ``factor`` x the best point before it, for at least ``after`` points;
    positive values only (log domain). With ``noise_k``, the rise must also exceed that many
    sigmas of the log-domain scatter of the points before the onset: on a log of single-batch
    losses the best is a lucky low draw, and 2x above it is noise (a healthy digits MLP,
    batch 16: best 0.044, later batches 0.11-0.22); with under 4 points before the onset, of the
    whole log (a fitted classifier's batches: 0.021, 8.6e-05, then 5e-04 to 0.19). ``lone_best_squared=False`` asks ``factor`` of
    a best seen once too (see :func:`_needed_factor`; a factor already squared needs no margin). None
    otherwise."""
    x = values
    if x.size < after + 1 or (x <= 0).any():
        return None
    best = np.minimum.accumulate(x)
    high = x >= factor * best
    if not high[-1]:
        return None
    # the stretch of high points that reaches the end
    low = np.flatnonzero(~high)
    onset = int(low[-1]) + 1 if low.size else 0
    if x.size - onset < after or onset == 0:
        return None
    need = _needed_factor(x[:onset], factor) if lone_best_squared else factor
    if x[onset:].min() < need * x[:onset].min():
        return None
    ib = int(np.argmin(x[:onset]))
    # with under 4 reports before the onset their scatter cannot be measured: the whole log's stands in
    # (the robust sigma of successive log ratios is blind to one level shift, the divergence itself)
    scatter = local_log_noise(x[:onset], ib) if onset >= SCATTER_POINTS else log_noise(x)
    if noise_k and np.log(x[onset:].min() / x[ib]) < noise_k * scatter:
        return None
    return ib, onset


def decade_rise(values: np.ndarray, th: DivergenceThresholds) -> tuple[int, int] | None:
    """(index of the best point, index of the onset) of :func:`few_point_rise` at
    ``decade_factor`` with no scatter guard, when fewer than four reports precede the onset (see
    ``DivergenceThresholds.decade_factor``). None otherwise."""
    got = few_point_rise(values, th.decade_factor, th.few_after)
    return got if got is not None and got[1] < 4 else None


def local_log_noise(before: np.ndarray, ib: int) -> float:
    """The log scatter a rise from the best ``ib`` must clear: of all the reports ``before`` the
    onset, or, when larger, of those from two before the best on (4+ of them), where the rise is
    judged (the overfitting GL rule's local scatter, ``overfitting._gl_scatter``). A loss that fell
    three decades smoothly and then scatters by 10x near zero (a Keras classifier at 0.003-0.04 over
    its last 30 epochs of 50) has a small scatter over the whole log, and a 4x "rise" there is its
    noise."""
    local = before[max(0, ib - 2):]
    whole = log_noise(before)
    return max(whole, log_noise(local)) if local.size >= 4 else whole


def without_dips(x: np.ndarray, steps: np.ndarray, factor: float, noise_k: float) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``steps`` without the isolated dips of a positive series of 5+ reports: a report
    at most 1/``factor`` of *both* its neighbours and below them by more than ``noise_k`` sigmas
    of the log scatter of the other reports. One such report is no level a loss can diverge
    from: a Lightning log whose loss is summed over the batch prints the short last batch of an
    epoch 20x low (a trajectory model: 311, 16.4, 273 at steps 399-499 of a log that moves by
    ~10% otherwise), and every later report then stands "17x the best". On a log of noisy
    single-batch losses a deep low draw is the noise's own (a reranker's 0.0331, 0.002, 0.0142).
    A dip with a report that is no dip within ``factor`` of it is no isolated dip: it returns to a
    level the loss held (Whisper on Bashkir: 0.0023, 0.0621, 0.0022, 0.0199; without its 0.0022 the
    0.0023 was a best that "every later report" stayed 3.6x above). Dips that recur at one level
    (a summed loss's short last batch, every epoch) are still dips: no other report holds it."""
    if x.size < 5 or (x <= 0).any():
        return x, steps
    lx = np.log(x)
    depth = np.full(x.size, -np.inf)
    depth[1:-1] = np.minimum(lx[:-2], lx[2:]) - lx[1:-1]
    deep = depth >= np.log(factor)
    held = x[~deep]
    dips = [i for i in np.flatnonzero(deep)
            if depth[i] > noise_k * log_noise(np.delete(x, i)) and not (held < factor * x[i]).any()]
    if not dips:
        return x, steps
    keep = np.ones(x.size, dtype=bool)
    keep[dips] = False
    return x[keep], steps[keep]


def _level_floor(before: np.ndarray, factor: float) -> float:
    """The lowest level the reports ``before`` held: their minimum when another report lies within
    ``factor`` of it, else the second lowest. One report far below all others is no level a blow-up
    is measured from (a continual-learning run's first task ending at 6.2e-05, the next four at
    0.006-0.07: the last is 1100x the first, and 12x the lowest level the run held)."""
    low = np.sort(before)
    return float(low[0]) if low.size < 2 or low[1] < factor * low[0] else float(low[1])


def _needed_factor(before: np.ndarray, factor: float) -> float:
    """The multiple of the best a rise must clear, given the reports ``before`` it. The old level
    is the reports within ``factor`` of the best; seen at least twice it is a level and
    ``factor`` suffices. Seen once, the best may be one lucky report (a running average's
    first batch: PaddleClas 0.0176, then epoch averages of 0.05-0.07), so the rise must clear
    it twice over, ``factor**2`` (LitGPT's 1.70 -> 10.0-12.2 does; a first batch 3x below
    the epoch's average does not)."""
    level = int((before < factor * before.min()).sum())
    return factor if level >= 2 else factor * factor


def jump_and_stay(values: np.ndarray, factor: float, after: int, noise_k: float = 0.0) -> tuple[int, int] | None:
    """(index of the best point, index of the jump) when one report jumps to at least
    ``factor`` x the best before it and every report from the jump on stays above every
    report before it (a new level, not noise around the old one: on a noisy log the old
    range already holds the highs), with at least ``after`` points from the jump on and at
    least 2 before it (one report is no level: a DQN's TD loss 0.009 then 0.023-0.085 is
    noise); positive values only. With ``noise_k``, the new level must also clear that many
    sigmas of the log scatter of the 4+ reports before the jump (:func:`local_log_noise`; of the
    whole log with fewer, as :func:`few_point_rise` asks): a fitted classifier's single-batch losses span two decades
    (9.2e-05 to 0.012 over seven batches), and two batches that land just above the highest of
    them are that scatter, not a new level. The last such jump wins. None otherwise."""
    x = values
    if x.size < after + 1 or (x <= 0).any():
        return None
    best = np.minimum.accumulate(x)
    high = np.maximum.accumulate(x)
    low_after = np.minimum.accumulate(x[::-1])[::-1]
    for j in range(x.size - after, 1, -1):  # at least 2 reports before the jump
        if x[j] >= _needed_factor(x[:j], factor) * best[j - 1] and low_after[j] > high[j - 1]:
            ib = int(np.argmin(x[:j]))
            scatter = local_log_noise(x[:j], ib) if j >= SCATTER_POINTS else log_noise(x)  # (as few_point_rise measures it)
            if noise_k and np.log(low_after[j] / x[ib]) < noise_k * scatter:
                continue
            return ib, j
    return None


def rising_tail(values: np.ndarray, rises: int, floor: float) -> tuple[int, int] | None:
    """(index of the best point, index of the onset) when each of the last ``rises`` reports
    is above the one before and the last one ends more than ``floor`` (a share of |best|)
    above the best before the climb; the onset is the first rising report. None otherwise."""
    x = values
    if x.size < rises + 1 or (x <= 0).any() or not (np.diff(x[-rises - 1:]) > 0).all():
        return None
    # the whole climb to the end
    d = np.diff(x) > 0
    start = x.size - 1
    while start > 0 and d[start - 1]:
        start -= 1
    if start == 0:
        # the log opens with the climb: its first report is no level to climb from. A running
        # average from its first batch also climbs, but its steps shrink like 1/n (PaddleClas:
        # 0.0176, 0.051, 0.053, 0.064, 0.067); a divergence accelerates (BigScience tr8-104B:
        # 6.37, 6.60, 7.31, 9.12, 10.24). Judged only when the last step up beats the first.
        d = np.diff(x)
        if not d[-1] > d[0]:
            return None
    ib = int(np.argmin(x[: start + 1]))
    b = float(x[ib])
    if x[-1] - b <= floor * abs(b):
        return None
    return ib, start + 1


def runaway(values: np.ndarray, factor: float, rises: int) -> tuple[int, int] | None:
    """(index of the best point, index of the first rise) when every report after the best rises,
    at least ``rises`` of them, each log-step up larger than the one before, and the last report
    is at least ``factor`` x the best; positive values only. None otherwise."""
    x = values
    if x.size < rises + 1 or (x <= 0).any():
        return None
    ib = int(np.argmin(x))
    up = np.diff(np.log(x[ib:]))
    if up.size < rises or not (up > 0).all() or not (np.diff(up) > 0).all() or x[-1] < factor * x[ib]:
        return None
    return ib, ib + 1


def level_shift(values: np.ndarray, p: float, floor: float, noise_k: float, after: int) -> tuple[int, int] | None:
    """(index of the best point, index of the step) of ``DivergenceThresholds.shift_p``'s step to a
    new level, with ``after``+ reports from the step on and :data:`SCATTER_POINTS`+ before it (their
    scatter is the guard's); positive values only; the last such step wins. None otherwise."""
    from math import comb

    x = values
    if x.size < SCATTER_POINTS + after or (x <= 0).any():
        return None
    high_before = np.maximum.accumulate(x)
    low_after = np.minimum.accumulate(x[::-1])[::-1]
    for j in range(x.size - after, SCATTER_POINTS - 1, -1):
        if low_after[j] <= (1.0 + floor) * high_before[j - 1] or 1.0 / comb(x.size, x.size - j) >= p:
            continue
        ib = int(np.argmin(x[:j]))
        if np.log(low_after[j] / x[ib]) >= noise_k * local_log_noise(x[:j], ib):
            return ib, j
    return None


def held_above_start(values: np.ndarray, floor: float, after: int, hold: float) -> tuple[int, int] | None:
    """(index of the best point before the onset, index of the onset) when, from some report after
    the first to the end (``after``+ reports), every report lies above every report before it and
    more than ``floor`` (a share) above the *first* report, the level the logged training started
    from, and the last report keeps at least ``hold`` of the peak's rise over the first in the log
    domain (``DivergenceThresholds.joint_hold``: a loss that gave back more than half of its climb
    by the end is a spike recovering, not a new level); positive values only; the earliest such
    onset wins. None otherwise. See ``DivergenceThresholds.start_level``."""
    x = values
    if x.size < after + 1 or (x <= 0).any():
        return None
    if np.log(x[-1] / x[0]) < hold * np.log(x.max() / x[0]):
        return None
    high_before = np.maximum.accumulate(x)
    low_after = np.minimum.accumulate(x[::-1])[::-1]
    for j in range(1, x.size - after + 1):
        if low_after[j] > (1.0 + floor) * x[0] and low_after[j] > high_before[j - 1]:
            return int(np.argmin(x[:j])), j
    return None


def eval_ends_above_first(run: Run) -> bool:
    """True when the run logged two or more evaluation losses, all positive, and the last is above
    the first: the held-out loss, too, ends worse than where the log started."""
    e = run.series("eval_loss")
    if e is None:
        return False
    v = e.finite().values
    return v.size >= 2 and bool((v > 0).all()) and bool(v[-1] > v[0])


def ends_non_finite(values: np.ndarray) -> bool:
    """True when the series turns non-finite at some report and stays so to the end (a NaN that
    never clears: the weights themselves are gone), after at least one finite report."""
    bad = ~np.isfinite(np.asarray(values, dtype=float))
    if not bad[-1] or bad.all():
        return False
    return bool(bad[int(np.argmax(bad)):].all())


def climb_after_best(values: np.ndarray, p: float, points: int, floor: float, noise_k: float = 0.0) -> tuple[int, int] | None:
    """(index of the best point, index of the first report after it) when the reports after the
    best climb with a Mann-Kendall trend of one-sided p below ``p`` over at least ``points``
    reports and the last one ends more than ``floor`` (a share of |best|) above the best, and,
    with ``noise_k``, more than that many sigmas of the log's scatter (single-batch losses: the
    best is a lucky low draw, and a climb from it can be the noise band's upper half; a healthy
    digits run printing one batch per report went 0.023 -> 0.05-0.075 at a decaying LR).
    Positive values only. None otherwise."""
    x = values
    if x.size < points + 1 or (x <= 0).any():
        return None
    ib = int(np.argmin(x))
    after = x[ib + 1:]
    if after.size < points or x[-1] - x[ib] <= floor * abs(float(x[ib])):
        return None
    if noise_k and np.log(x[-1] / x[ib]) <= noise_k * log_noise(x):
        return None
    if trend_p_up(after) >= p:
        return None
    return ib, ib + 1


def joint_last_jump(run: Run, factor: float, noise_k: float = 0.0) -> tuple[int, int] | None:
    """(index of the best training loss, index of the last) when the last report of the
    training loss *and* the evaluation loss at that same report are each at least
    ``factor`` x their best before it. One bad batch can spike a training loss, but the
    evaluation loss is measured on the weights as they stand: both jumping together means
    the weights themselves got worse (nnU-Net issue 2290: train 0.12 -> 0.60, val 0.48 ->
    3.64 at epoch 2, NaN after). With ``noise_k`` the training loss's jump must also beat that
    many sigmas of its log-domain scatter before (a converged Keras loss bouncing 0.0036-0.012
    is not 2x worse at 0.0085). None otherwise."""

    s, e = objective(run), run.series("eval_loss")
    if s is None or e is None:
        return None
    f, g = s.finite(), e.finite()
    x, ev = f.values, g.values
    if x.size < 2 or ev.size < 2 or (x <= 0).any() or (ev <= 0).any():
        return None  # (two reports suffice: the evaluation confirms the training loss's jump)
    gap = float(f.steps[-1] - f.steps[-2])
    if abs(float(g.steps[-1] - f.steps[-1])) > gap:
        return None  # the last evaluation is not of the last report's weights
    if x[-1] >= factor * x[:-1].min() and ev[-1] >= factor * ev[:-1].min() and \
            np.log(x[-1] / x[:-1].min()) >= noise_k * log_noise(x[:-1]) and not eval_came_back_from(ev, factor):
        return int(np.argmin(x[:-1])), x.size - 1
    return None


def eval_came_back_from(ev: np.ndarray, factor: float) -> bool:
    """True when an evaluation before the last was at least as high as the last one and a later
    evaluation, still before the last, came back below ``factor`` x the best of the evaluations
    before the last. The last evaluation then confirms nothing of :func:`joint_last_jump`: the
    weights scored that badly before and recovered, so a jump to that level is within the
    evaluations' own swings, not weights that broke (a class-weighted fraud MLP whose validation
    loss read 0.2156 at epoch 20 and 0.0097 at epoch 23 reads 0.1205 at its last, 30th, epoch).
    The training loss's own rise at that report is left to the rules that read the training loss
    alone. No new threshold: the level is the last evaluation's own, the way back the few-point
    ``factor`` that made the jump."""
    before = ev[:-1]
    high = np.flatnonzero(before >= ev[-1])
    return bool(high.size) and bool((before[int(high[0]) + 1:] < factor * float(before.min())).any())


def _shared_reports(run: Run, least: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(indices into the training loss's finite reports, training loss, evaluation loss) at the
    steps where both losses were logged, when there are at least ``least`` such reports and every
    value is positive; None otherwise: the reports the joint rules compare."""
    s, e = objective(run), run.series("eval_loss")
    if s is None or e is None:
        return None
    f, g = s.finite(), e.finite()
    shared, fi, gi = np.intersect1d(f.steps, g.steps, return_indices=True)
    if shared.size < least:
        return None
    x, ev = f.values[fi], g.values[gi]
    if (x <= 0).any() or (ev <= 0).any():
        return None
    return fi, x, ev


def joint_jump_and_stay(run: Run, jump: float, after: int, hold: float = 0.0) -> tuple[int, int] | None:
    """(index of the best training loss before the onset, index of the onset) in the training
    loss's finite reports, when at one report both the training and the evaluation loss rose by
    at least ``jump`` (a share) over the report before, and from there on, for at least
    ``after`` shared reports to the end, the evaluation loss stayed above every earlier
    evaluation while the training loss never went below its best before the onset and ended
    ``jump`` above it (``DivergenceThresholds.joint_jump``), the last evaluation keeping at least
    ``hold`` of the jump in the log domain (``DivergenceThresholds.joint_hold``). Only reports where
    both losses were logged count. Positive values only; None otherwise."""
    both = _shared_reports(run, after + 1)
    if both is None:
        return None
    fi, x, ev = both
    up = 1.0 + jump
    for j in range(1, fi.size - after + 1):
        if (ev[j] >= up * ev[j - 1] and x[j] >= up * x[j - 1] and ev[j:].min() > ev[:j].max()
                and x[j:].min() > x[:j].min() and x[-1] >= up * x[:j].min()
                and np.log(ev[-1] / ev[:j].min()) >= hold * np.log(ev[j] / ev[:j].min())):
            return int(fi[int(np.argmin(x[:j]))]), int(fi[j])
    return None


def joint_level(run: Run, jump: float, floor: float, after: int, hold: float) -> tuple[int, int] | None:
    """(index of the best training loss before the onset, index of the onset) in the training loss's
    finite reports, when at one report (after 2+ shared reports, a level to leave) both the training
    and the evaluation loss rose by at least ``jump`` (a share) over the report before, and from there
    to the end (``after``+ shared reports) each stays more than ``floor`` (a share) above its own best
    before the onset, the training loss at or above the evaluation loss's best before it, and the last
    evaluation keeps at least ``hold`` of the jump in the log domain. Only reports where both losses
    were logged count; positive values only; the earliest such onset wins. None otherwise. See
    ``DivergenceThresholds.start_level``: the joint new level.

    The evaluation loss is of the weights as they stand, and their best held-out loss is what the model
    achieved; a generalisation gap keeps the training loss *below* it (overfitting: the training loss
    falls or wobbles near its floor while the held-out one rises). A training loss that climbs to at
    least that best, together with the held-out loss, and holds there has lost fit on its own data,
    not generalisation: the weights got worse (XLS-R on Estonian: training 0.315 -> 0.446, 0.645, then
    0.49-0.55 to the end, validation 0.176 -> 0.421, then 0.29-0.33; a Phi-3 LoRA after its second
    spike: training 0.097 -> 1.19, 0.235, then 0.164-0.168, validation 0.086 -> 0.170, then 0.164-0.166). The
    "every report above every earlier one" of :func:`joint_jump_and_stay` cannot see these: the
    descent's first reports stay the highest of the log."""
    both = _shared_reports(run, after + 2)
    if both is None:
        return None
    fi, x, ev = both
    up = 1.0 + jump
    for j in range(2, fi.size - after + 1):
        if x[j] < up * x[j - 1] or ev[j] < up * ev[j - 1]:
            continue  # no joint jump at this report
        best_x, best_ev = x[:j].min(), ev[:j].min()
        if (x[j:].min() > (1.0 + floor) * best_x and ev[j:].min() > (1.0 + floor) * best_ev
                and x[j:].min() >= best_ev
                and np.log(ev[-1] / best_ev) >= hold * np.log(ev[j] / best_ev)):
            return int(fi[int(np.argmin(x[:j]))]), int(fi[j])
    return None


def joint_rising_tail(run: Run, rises: int, floor: float) -> tuple[int, int] | None:
    """(index of the best training loss before its climb, index of the climb's first report) in
    the training loss's finite reports, when at the reports where both losses were logged the
    training and the evaluation loss each rose at every one of the last ``rises`` and each ends at
    least ``floor`` (a share) above its best before its climb (``DivergenceThresholds.joint_rises``).
    Positive values only; None otherwise."""
    both = _shared_reports(run, rises + 1)
    if both is None:
        return None
    fi, x, ev = both
    climb = None  # the training loss's (best, onset): the finding's steps are the training reports
    for v in (x, ev):
        if not (np.diff(v[-rises - 1:]) > 0).all():
            return None
        d = np.diff(v) > 0
        start = v.size - 1
        while start > 0 and d[start - 1]:
            start -= 1  # back to where the climb to the end began
        ib = int(np.argmin(v[: start + 1]))
        if v[-1] < (1.0 + floor) * v[ib]:
            return None
        if climb is None:
            climb = (ib, start + 1)
    ib, onset = climb
    return int(fi[ib]), int(fi[onset])


def joint_climb(run: Run, p: float, points: int, rise: float) -> tuple[int, int] | None:
    """(index of the best training loss up to the evaluation loss's best, index of the first report after
    that best) in the training loss's finite reports, when at the reports where both losses were logged,
    over the ``points``+ reports after the evaluation loss's best, the evaluation *and* the training loss
    each climb with a Mann-Kendall trend of one-sided p below ``p`` (``climb_p``), and the last evaluation
    ends at least ``rise`` (a share, ``joint_jump``) above that best. See ``DivergenceThresholds.climb_p``:
    the joint climb. Positive values only; None otherwise."""
    from lrdoctor.detect._stats import trend_p_up

    both = _shared_reports(run, points + 1)
    if both is None:
        return None
    fi, x, ev = both
    ie = int(np.argmin(ev))
    if ev.size - ie - 1 < points or ev[-1] < (1.0 + rise) * ev[ie]:
        return None
    if trend_p_up(ev[ie + 1:]) >= p or trend_p_up(x[ie + 1:]) >= p:
        return None
    return int(fi[int(np.argmin(x[: ie + 1]))]), int(fi[ie + 1])


def last_eval_jump(values: np.ndarray, factor: float, noise_k: float, min_before: int) -> tuple[int, int] | None:
    """(index of the best evaluation, index of the last) when the last evaluation loss is at
    least ``factor`` x the best before it and its log-ratio beats ``noise_k`` sigmas of the
    log scatter of the ``min_before``+ evaluations before it. An evaluation is of the weights
    as they stand, not of one batch: a converged eval loss at 0.147-0.150 that reads 0.712 at
    the next evaluation means the weights got worse (apex AMP issue 493, after eight gradient
    overflows). Positive values only; None otherwise."""
    x = values
    if x.size < min_before + 1 or (x <= 0).any():
        return None
    best = float(x[:-1].min())
    if x[-1] < factor * best or np.log(x[-1] / best) < noise_k * log_noise(x[:-1]):
        return None
    return int(np.argmin(x[:-1])), x.size - 1


def eval_collapse(run: Run, x: np.ndarray, st: np.ndarray, th: DivergenceThresholds) -> tuple[int, int] | None:
    """(index of the best evaluation, index of the last) when the last evaluation's loss is more
    than ``relative_floor`` above the best before it and beyond ``noise_k`` sigmas of the log
    scatter of the ``eval_noise_points``+ evaluations before it, while the evaluation's score at
    that same evaluation fell to at most 1/``few_factor`` of its best before: two views of one
    evaluation agree that the weights broke (marian-dev 512: cross-entropy 52.1 -> 75.2 and BLEU
    27.4 -> 12.0 at update 120000). A loss that rises while the score holds is over-confidence
    (overfitting's), and is left to it."""
    if x.size < th.eval_noise_points + 1 or (x <= 0).any():
        return None
    best = float(x[:-1].min())
    if x[-1] <= (1 + th.relative_floor) * best or np.log(x[-1] / best) < th.noise_k * log_noise(x[:-1]):
        return None
    score = _score_at(run, float(st[-1]))
    if score is None or score[0] <= 0 or score[1] > score[0] / th.few_factor:
        return None
    return int(np.argmin(x[:-1])), x.size - 1


def _wobble_at_a_memorised_floor(run: Run, x: np.ndarray, st: np.ndarray, onset: int, th: DivergenceThresholds) -> bool:
    """See ``DivergenceThresholds.memorised_floor_gap``: the training loss ``x`` (at steps ``st``)
    rose from report ``onset`` while every evaluation from there on stayed at least that gap above
    it and within ``relative_floor`` of the evaluations' best before the onset."""
    e = run.series("eval_loss")
    if e is None:
        return False
    e = e.finite()
    on = float(st[onset])
    before, after = e.values[e.steps < on], e.values[e.steps >= on]
    if before.size == 0 or after.size == 0 or float(before.min()) <= 0:
        return False
    if float(after.max()) > (1 + th.relative_floor) * float(before.min()):
        return False  # the held-out loss got worse too: the weights did
    train = [value_at(Series("loss", st, x), float(s)) for s in e.steps[e.steps >= on]]
    return all(t is not None and 0 < th.memorised_floor_gap * t <= v for t, v in zip(train, after))


def _score_at(run: Run, step: float) -> tuple[float, float] | None:
    """(the evaluation score's best before ``step``, its value at ``step``), or None when the run
    has no such score or none before or exactly one at that step."""
    acc = run.series("eval_accuracy")
    if acc is None:
        return None
    a = acc.finite()
    at, before = a.values[a.steps == step], a.values[a.steps < step]
    return (float(before.max()), float(at[0])) if at.size == 1 and before.size else None


def _rise(x: np.ndarray, st: np.ndarray, ib: int, onset: int) -> dict:
    """The evidence every point-wise divergence rule gives: best, onset, peak, end, ratio."""
    return {"best_loss": float(x[ib]), "best_step": float(st[ib]), "onset_step": float(st[onset]),
            "loss_at_onset": float(x[onset]), "peak_loss": float(x[onset:].max()), "final_loss": float(x[-1]),
            "ratio_to_best": float(x[onset:].min() / x[ib])}


def _gave_back(x: np.ndarray, got: tuple[int, int] | None, share: float) -> tuple[int, int] | None:
    """``got`` (best, onset) when the climb from the best to the end gave back at least ``share`` of
    the fall from the first report to the best (``give_back``); None otherwise."""
    if got is None:
        return None
    learned = float(x[0] - x[got[0]])
    return got if learned <= 0 or float(x[-1] - x[got[0]]) >= share * learned else None


def _above_its_level(x: np.ndarray, got: tuple[int, int] | None, factor: float) -> tuple[int, int] | None:
    """``got`` (best, onset) unless the last report is at or below the median of the level the loss held
    before the onset: the reports before it within ``factor`` of the best (``_needed_factor``'s old
    level), when there are two or more. A climb that ends no higher than the middle of that level is the
    loss back where it usually was, and its best was a low draw, not a level it left (the trend rule's
    own guard, ``_trend_rule``, read on the reports: PaddleDetection's single-iteration loss between
    6.06 and 7.42 dips to 5.64, then climbs 5.78, 6.08, 6.49, 6.57, below the 6.66 it held). None
    otherwise."""
    if got is None:
        return None
    before = x[: got[1]]
    level = before[before < factor * float(x[got[0]])]
    return None if level.size >= 2 and float(x[-1]) <= float(np.median(level)) else got


def floor_on_printed_scale(run: Run, role: str, x: np.ndarray, floor: float) -> float:
    """``relative_floor`` (``floor``, a share of |best|) as the few-point rules apply it to ``x``, the
    ``role`` loss: on a loss the log prints, that share; on one the reader derived as the logarithm of
    the perplexity the log prints instead (:func:`derived_from_perplexity`), the same share of the
    perplexity, ``log1p(floor)`` nats, as a share of the lowest loss (the best any rule measures from,
    so no rise is asked less than those nats). The floor is a materiality of the quantity the user
    reads: a perplexity 10% above its best is 0.095 nats above it at any level, while 10% of a loss
    of 4.1 nats is a perplexity 1.5x its best (GPT-2 fine-tuned on PTB as the warm-up raised the LR:
    validation perplexity 61.7 -> 90.8 at every report, +47%, a loss only 9.4% above its best)."""
    if not derived_from_perplexity(run, role) or x.size == 0 or float(x.min()) <= 0:
        return floor
    return min(floor, float(np.log1p(floor)) / float(x.min()))


def _few_point(run: Run, th: DivergenceThresholds) -> list[Finding]:

    s = objective(run)
    eval_only = s is None and not run.is_rl and run.series("eval_loss") is not None
    if eval_only:  # only evaluations logged: the same few-point rules judge the eval loss
        s = run.series("eval_loss")
        from lrdoctor.detect.overfitting import accuracy_held

        if accuracy_held(run, s.finite()):
            return []  # the evaluated predictions held: a rising eval loss is over-confidence (overfitting's)
    if s is None:
        return []
    f = s.finite()
    x, st = without_dips(f.values, f.steps, th.few_factor, th.noise_k)
    printed = th.relative_floor
    th = replace(th, relative_floor=floor_on_printed_scale(run, "eval_loss" if eval_only else "loss", x, printed))
    # (name, finder, severity, rule text), tried in order; the name picks the summary below
    rules = (
        ("rise", lambda: _gave_back(x, few_point_rise(x, th.few_factor, th.few_after, th.noise_k), th.give_back), Severity.ERROR,
         f"few-point: every point from the onset on >= {th.few_factor:g}x the best"),
        ("jump", lambda: _gave_back(x, jump_and_stay(x, th.few_factor, th.few_after, th.noise_k), th.give_back), Severity.ERROR,
         f"few-point: a jump to >= {th.few_factor:g}x the best, every later report above all earlier ones"),
        ("decade", lambda: None if eval_only else _gave_back(x, decade_rise(x, th), th.give_back), Severity.ERROR,
         f"few-point: every point from an early onset on >= {th.decade_factor:g}x the best (an order of magnitude)"),
        # a climb of tens of percent that is still going: a warning, it has not blown up yet
        # (on evaluations alone with no accuracy a creep is overfitting's GL rule, ``overfitting._gl_alone``;
        # with an accuracy that did not hold, the model itself broke)
        ("runaway", lambda: _gave_back(x, runaway(x, th.few_factor ** 2, th.runaway_rises), th.give_back), Severity.ERROR,
         f"few-point: the loss rose at every report after its best, faster each time, to >= {th.few_factor ** 2:g}x the best"),
        # the same acceleration into a NaN that never clears: the loss reached infinity, so the factor a
        # blow-up in progress must clear squared is met by its end; the climb need only have doubled
        ("nan_runaway", lambda: runaway(x, th.few_factor, th.runaway_rises) if ends_non_finite(s.values) else None,
         Severity.ERROR, f"few-point: the loss rose at every report after its best, faster each time, to >= "
         f"{th.few_factor:g}x the best, then went non-finite and stayed so"),
        ("tail", lambda: None if eval_only and "eval_accuracy" not in run
         else _above_its_level(x, rising_tail(x, th.few_rises, th.relative_floor), th.few_factor), Severity.WARNING,
         f"few-point: the loss rose at each of the last {th.few_rises}+ reports, ending more than "
         f"{th.relative_floor:.0%} above the best"),
        ("climb", lambda: None if eval_only
         else _gave_back(x, climb_after_best(x, th.climb_p, th.climb_points, th.relative_floor, th.noise_k), th.give_back),
         Severity.WARNING, f"few-point: after its best the loss climbs (Mann-Kendall p < {th.climb_p:g} over "
         f"{th.climb_points}+ reports), ending more than {th.relative_floor:.0%} and {th.noise_k:g} sigma of its log scatter above the best"),
        ("shift", lambda: None if eval_only else level_shift(x, th.shift_p, th.relative_floor, th.noise_k, th.few_after + 1), Severity.WARNING,
         f"few-point: from one report to the end every report above all earlier ones and {th.relative_floor:.0%} above "
         f"the highest, a step noise gives with p < {th.shift_p:g}"),
        ("joint", lambda: None if x.size != f.values.size else _gave_back(x, joint_last_jump(run, th.few_factor, th.noise_k), th.give_back), Severity.ERROR,
         f"the last report: training and evaluation loss both >= {th.few_factor:g}x their best"),
        ("joint_stay", lambda: None if eval_only or x.size != f.values.size else _gave_back(x, joint_jump_and_stay(run, th.joint_jump, th.few_after, th.joint_hold), th.give_back),
         Severity.ERROR, f"few-point: training and evaluation loss both rose >= {th.joint_jump:.0%} at one report, and the "
         "evaluation loss stayed above every earlier evaluation to the end"),
        ("joint_tail", lambda: None if eval_only or x.size != f.values.size else _gave_back(x, joint_rising_tail(run, th.joint_rises, th.joint_jump), th.give_back),
         Severity.WARNING, f"few-point: training and evaluation loss both rose at each of the last {th.joint_rises} reports, "
         f"each ending >= {th.joint_jump:.0%} above its best"),
        ("joint_climb", lambda: None if eval_only or x.size != f.values.size
         else _gave_back(x, joint_climb(run, th.climb_p, th.climb_points, th.joint_jump), th.give_back), Severity.WARNING,
         f"few-point: after the evaluation loss's best both losses climb (Mann-Kendall p < {th.climb_p:g} each over "
         f"{th.climb_points}+ reports), the evaluation loss ending >= {th.joint_jump:.0%} above its best"),
        ("eval_last", lambda: last_eval_jump(x, th.few_factor, th.noise_k, th.eval_noise_points) if eval_only else None,
         Severity.ERROR, f"the last evaluation >= {th.few_factor:g}x the best, beyond {th.noise_k:g} sigma of the evaluations' scatter"),
        ("eval_collapse", lambda: eval_collapse(run, x, st, th) if eval_only else None, Severity.ERROR,
         f"the last evaluation's loss > {1 + th.relative_floor:g}x its best beyond {th.noise_k:g} sigma of the evaluations' "
         f"scatter, and its score at most 1/{th.few_factor:g} of its best"),
        # last: a creep above the start is a warning, after every rule that could call it an error
        ("start", lambda: None if eval_only or x.size != f.values.size or not eval_ends_above_first(run)
         else held_above_start(x, th.relative_floor, th.start_level, th.joint_hold), Severity.WARNING,
         f"few-point: from one report to the end every report above all earlier ones and {th.relative_floor:.0%} above "
         "the first, the level the log started from, and the evaluation loss ends above its first too"),
        # a joint step to a new level, both losses above their best and the training loss above the held-out
        # loss's best: a warning, as the start rule (tens of percent up has not blown up)
        ("joint_level", lambda: None if eval_only or x.size != f.values.size
         else joint_level(run, th.joint_jump, th.relative_floor, th.start_level, th.joint_hold), Severity.WARNING,
         f"few-point: training and evaluation loss both rose >= {th.joint_jump:.0%} at one report and stayed more than "
         f"{th.relative_floor:.0%} above their best to the end, the training loss at or above the evaluation loss's best"),
    ) if x.size <= th.few_points else ()
    got = None
    for name, find, sev, rule in rules:
        got = find()
        if got is not None:
            break
    if got is None and x.size >= 3 and bool((x > 0).all()) and x[-1] >= th.final_jump * _level_floor(x[:-1], th.few_factor):
        got, name, sev = (int(np.argmin(x[:-1])), x.size - 1), "final", Severity.ERROR
        rule = f"final blow-up: the last report >= {th.final_jump:g}x the best"
    if got is None or (not eval_only and _wobble_at_a_memorised_floor(run, x, st, got[1], th)):
        return []
    ib, onset = got
    ev = {**_rise(x, st, ib, onset), "points_above": int(x.size - onset), "rule": rule}
    if th.relative_floor != printed:  # the floor read on the printed perplexity (``floor_on_printed_scale``)
        ev["relative_floor"] = th.relative_floor
        ev["rule"] = f"{rule} ({printed:.0%} of the perplexity the log prints: {np.log1p(printed):.3g} nats)"
    noun = "evaluation loss" if eval_only else "loss"
    if eval_only:
        ev["metric"] = run.meta.roles.get("eval_loss", "eval_loss")
    lr = lr_at(run, float(st[onset]))
    if lr is not None:
        ev["lr_at_onset"] = lr
    if name == "joint":
        e = run.series("eval_loss").finite().values
        ev.update(eval_best=float(e[:-1].min()), eval_final=float(e[-1]))
        summary = (f"at the last report (step {fmt(ev['onset_step'])}) the training loss jumped to "
                   f"{fmt(ev['final_loss'])} ({ev['ratio_to_best']:.2g}x its best {fmt(ev['best_loss'])}) and the "
                   f"evaluation loss to {fmt(ev['eval_final'])} ({ev['eval_final'] / ev['eval_best']:.2g}x its best): "
                   f"the weights themselves got worse")
    elif name == "joint_stay":
        g = run.series("eval_loss").finite()
        shared = np.isin(g.steps, st)  # the evaluations the rule compared: those at a training report
        e_steps, e = g.steps[shared], g.values[shared]
        k = int(np.searchsorted(e_steps, st[onset]))
        ev.update(eval_before=float(e[k - 1]), eval_at_onset=float(e[k]), eval_worst_before=float(e[:k].max()))
        summary = (f"at step {fmt(ev['onset_step'])} the training loss rose to {fmt(ev['loss_at_onset'])} and the evaluation "
                   f"loss to {fmt(ev['eval_at_onset'])} (from {fmt(ev['eval_before'])}), and the evaluation loss never came back "
                   f"below any earlier evaluation (worst {fmt(ev['eval_worst_before'])}): the weights got worse for good")
    elif name == "joint_level":
        g = run.series("eval_loss").finite()
        e_steps, e = g.steps[np.isin(g.steps, st)], g.values[np.isin(g.steps, st)]
        k = int(np.searchsorted(e_steps, st[onset]))
        ev.update(eval_best=float(e[:k].min()), eval_final=float(e[-1]))
        summary = (f"both losses stepped up at step {fmt(ev['onset_step'])} and stayed there: the training loss from its "
                   f"best {fmt(ev['best_loss'])} to {fmt(ev['final_loss'])} at the end ({ev['ratio_to_best']:.2g}x or more at "
                   f"every report), the evaluation loss from {fmt(ev['eval_best'])} to {fmt(ev['eval_final'])}, and the "
                   "training loss above the best the held-out loss had reached: the fit itself got worse, not the generalisation")
    elif name in ("joint_tail", "joint_climb"):
        g = run.series("eval_loss").finite()
        e = g.values[np.isin(g.steps, st)]  # the evaluations the rule compared: those at a training report
        ev.update(eval_best=float(e.min()), eval_final=float(e[-1]))
        if name == "joint_tail":
            summary = (f"both losses are climbing: the training loss rose at every report from step {fmt(ev['onset_step'])} "
                       f"to {fmt(ev['final_loss'])} ({ev['final_loss'] / ev['best_loss']:.2g}x its best {fmt(ev['best_loss'])}), and "
                       f"the evaluation loss with it to {fmt(ev['eval_final'])} ({ev['eval_final'] / ev['eval_best']:.2g}x its best): "
                       "the fit itself is getting worse, not only the generalisation")
        else:
            summary = (f"both losses are climbing: after the evaluation loss's best {fmt(ev['eval_best'])} it rose with a steady "
                       f"trend to {fmt(ev['eval_final'])} ({ev['eval_final'] / ev['eval_best']:.2g}x), and the training loss with it, "
                       f"from step {fmt(ev['onset_step'])} to {fmt(ev['final_loss'])} (best {fmt(ev['best_loss'])}): "
                       "the fit itself is getting worse, not only the generalisation")
    elif name == "eval_last":
        summary = (f"the last evaluation (step {fmt(ev['onset_step'])}) jumped to {fmt(ev['final_loss'])}, "
                   f"{ev['ratio_to_best']:.2g}x the best evaluation {fmt(ev['best_loss'])} (step {fmt(ev['best_step'])}): "
                   f"the weights themselves got worse")
    elif name == "eval_collapse":
        col = run.meta.roles.get("eval_accuracy", "eval_accuracy")
        ev["score_best"], ev["score_final"] = _score_at(run, float(st[-1]))
        summary = (f"at the last evaluation (step {fmt(ev['onset_step'])}) the evaluation loss jumped to "
                   f"{fmt(ev['final_loss'])} ({ev['ratio_to_best']:.2g}x its best {fmt(ev['best_loss'])}) and {col} fell "
                   f"to {fmt(ev['score_final'])} from {fmt(ev['score_best'])}: the weights themselves got worse")
    elif name == "climb":
        summary = (f"{noun} is climbing: after its best {fmt(ev['best_loss'])} (step {fmt(ev['best_step'])}) it rose "
                   f"with a steady trend over {ev['points_above']} reports to {fmt(ev['final_loss'])} "
                   f"({ev['final_loss'] / ev['best_loss']:.2g}x the best)")
    elif name == "nan_runaway":
        summary = (f"{noun} blew up: after its best {fmt(ev['best_loss'])} (step {fmt(ev['best_step'])}) it rose "
                   f"faster at each of the last {ev['points_above']} finite reports, to {fmt(ev['final_loss'])} "
                   f"({ev['final_loss'] / ev['best_loss']:.2g}x the best), and then became non-finite for good")
    elif name == "runaway":
        summary = (f"{noun} is blowing up: after its best {fmt(ev['best_loss'])} (step {fmt(ev['best_step'])}) it rose "
                   f"faster at each of the last {ev['points_above']} reports, to {fmt(ev['final_loss'])} "
                   f"({ev['final_loss'] / ev['best_loss']:.2g}x the best)")
    elif name == "shift":
        summary = (f"{noun} stepped up to a new level at step {fmt(ev['onset_step'])}: every report from there on "
                   f"({ev['points_above']}) is above every earlier one, from best {fmt(ev['best_loss'])} (step "
                   f"{fmt(ev['best_step'])}) to {fmt(ev['final_loss'])} at the end")
    elif name == "start":
        summary = (f"{noun} ended above where the log started: from step {fmt(ev['onset_step'])} every report "
                   f"({ev['points_above']}) stayed above all earlier ones and above the first report "
                   f"{fmt(float(x[0]))}, to {fmt(ev['final_loss'])} at the end, and the evaluation loss ended above "
                   "its first evaluation too")
    elif name == "tail":
        summary = (f"{noun} is climbing: from best {fmt(ev['best_loss'])} (step {fmt(ev['best_step'])}) it rose at "
                   f"every one of the last {ev['points_above']} reports, to {fmt(ev['final_loss'])} "
                   f"({ev['final_loss'] / ev['best_loss']:.2g}x the best)")
    else:
        summary = (f"{noun} diverged from step {fmt(ev['onset_step'])}: from best {fmt(ev['best_loss'])} (step "
                   f"{fmt(ev['best_step'])}) to {fmt(ev['loss_at_onset'])}, and every later report stayed at least "
                   f"{ev['ratio_to_best']:.2g}x the best (final {fmt(ev['final_loss'])})")
    cause = ("The learning rate is above what this model and batch size tolerate (the loss left its best and "
             "never came back), or the LR schedule never decays.")
    return [Finding("divergence", sev, ev["onset_step"], float(st[-1]), summary, ev, cause)]


def _absurd_scale(run: Run, th: DivergenceThresholds) -> list[Finding]:
    """See ``DivergenceThresholds.absurd_loss``: the training loss, or the evaluation loss of a log
    with none; then each training loss term (:func:`_loss_terms`) where the total prints no finite
    report from the term's onset on."""
    from lrdoctor.detect.initial_loss_anomaly import starts_at_the_start

    s = objective(run)
    noun = "loss"
    if s is None:
        s, noun = run.series("eval_loss"), "evaluation loss"
    series = [(run.meta.roles.get("loss" if noun == "loss" else "eval_loss", noun), s, noun)] if s is not None else []
    total = objective(run)
    series += [(n, run.series(n), "loss term") for n in _loss_terms(run)] if total is not None else []
    for col, t, noun in series:
        x, st = np.asarray(t.values, dtype=float), np.asarray(t.steps, dtype=float)
        onset = _absurd_onset(x, th)
        if onset is None:
            continue
        if noun == "loss term" and np.isfinite(total.values[total.steps >= st[onset]]).any():
            continue  # the total prints from there on, and the rule judged it: a term is read only beside a NaN total
        if not np.isfinite(x[:onset]).any() and noun != "evaluation loss" and starts_at_the_start(run):
            continue  # (a first evaluation is made after training began: at that scale, it blew up on the way)
        fin = x[onset:][np.isfinite(x[onset:])]
        ev = {"onset_step": float(st[onset]), "loss_at_onset": float(x[onset]), "final_loss": float(fin[-1]),
              "points_above": int(x.size - onset), "metric": col,
              "rule": f"absurd scale: every report from the onset on >= {th.absurd_loss:g} (or non-finite after it)"}
        before = x[:onset][np.isfinite(x[:onset])]
        if before.size:
            ib = int(np.flatnonzero(np.isfinite(x[:onset]))[np.argmin(before)])
            ev.update(best_step=float(st[ib]), best_loss=float(x[ib]),
                      ratio_to_best=float(fin.min() / x[ib]) if x[ib] > 0 else float("inf"))
        nan = " then non-finite" if fin.size < x.size - onset else ""
        summary = (f"{col} blew up: from step {fmt(ev['onset_step'])} every report is at least {th.absurd_loss:g}{nan} "
                   f"({fmt(ev['loss_at_onset'])}, last finite {fmt(ev['final_loss'])}), a scale no working run's {noun} reaches")
        cause = ("The weights diverged: the learning rate is far above what this model tolerates (or the inputs or "
                 "targets are unnormalised by many orders of magnitude, or a loss term is unbounded).")
        return [Finding("divergence", Severity.ERROR, ev["onset_step"], float(st[-1]), summary, ev, cause)]
    return []


def _absurd_onset(x: np.ndarray, th: DivergenceThresholds) -> int | None:
    """The first finite report of the stretch that reaches the end of ``x`` with every report at
    least ``absurd_loss`` or non-finite (a NaN after an absurd report overflowed past it), when that
    stretch holds ``few_after``+ reports from it; None otherwise. On a series with no non-finite
    report, the absurd stretch itself (the rule as it stood)."""
    high = ~np.isfinite(x) | (x >= th.absurd_loss)
    start = tail_start(high)
    seen = np.flatnonzero(np.isfinite(x[start:]))
    if not seen.size:
        return None
    onset = start + int(seen[0])
    return onset if x.size - onset >= th.few_after else None


def _blowup_into_nan(run: Run, th: DivergenceThresholds) -> list[Finding]:
    """See ``DivergenceThresholds.final_jump``: the training loss turned non-finite for good, and its
    last finite report, or the last report of a training loss term up to that step, is at least
    ``final_jump`` x the level before it (``_level_floor``), on two reports or more."""
    s = objective(run)
    if s is None or not ends_non_finite(s.values):
        return []
    v = np.asarray(s.values, dtype=float)
    k = int(np.argmax(~np.isfinite(v)))
    nan_step = float(s.steps[k])
    series = [(run.meta.roles.get("loss", "loss"), v[:k], np.asarray(s.steps[:k], dtype=float))]
    for n in _loss_terms(run):
        f = run.series(n).finite()
        upto = f.steps <= nan_step
        series.append((n, f.values[upto], f.steps[upto]))
    for col, x, st in series:
        if x.size < 2 or (x <= 0).any() or x[-1] < th.final_jump * _level_floor(x[:-1], th.few_factor):
            continue
        ib, onset = int(np.argmin(x[:-1])), x.size - 1
        ev = {**_rise(x, st, ib, onset), "points_above": 1, "metric": col,
              "rule": f"blow-up into NaN: the last finite report >= {th.final_jump:g}x the best, then non-finite for good"}
        summary = (f"{col} blew up into a NaN: {fmt(ev['loss_at_onset'])} at step {fmt(ev['onset_step'])}, "
                   f"{ev['ratio_to_best']:.2g}x its best {fmt(ev['best_loss'])} (step {fmt(ev['best_step'])}), and the "
                   f"loss is non-finite from step {fmt(nan_step)} to the end")
        cause = ("The weights diverged before the NaN: the learning rate is far above what this model tolerates (or "
                 "a loss term is unbounded), and the loss overflowed.")
        return [Finding("divergence", Severity.ERROR, ev["onset_step"], float(s.steps[-1]), summary, ev, cause)]
    return []


def _rl_bound(run: Run, th: DivergenceThresholds) -> list[Finding]:
    """An RL run's TD/value loss that diverged: ``rl_bound_factor``'s bound (its root beyond any true
    value), or since stop 79 ``final_jump``'s blow-up at the last report beside the same bound
    (:func:`_rl_last_jump`), or a step to a new level while the return collapses
    (:func:`return_collapse`)."""
    loss = next((run.series(n) for n in ("loss", "value_loss") if n in run), None)
    ret = next((run.series(n) for n in ("ep_return", "eval_return") if n in run), None)
    if loss is None or ret is None:
        return []
    f, r = loss.finite(), ret.finite()
    if f.values.size < 2 or r.values.size == 0 or (f.values <= 0).any():
        return []
    bound = float(np.abs(r.values).max())
    if bound <= 0:
        return []
    x, st = f.values, f.steps
    got = few_point_rise(x, th.few_factor, th.few_after)
    if got is not None and (np.sqrt(x[got[1]:]) >= th.rl_bound_factor * bound).all():
        ib, onset = got
        ev = {**_rise(x, st, ib, onset), "max_abs_return": bound, "metric": f.name,
              "rule": f"RL: sqrt(loss) >= {th.rl_bound_factor:g}x the largest |return|, and >= {th.few_factor:g}x its best to the end"}
        summary = (f"{f.name} diverged from step {fmt(ev['onset_step'])}: {fmt(ev['best_loss'])} -> {fmt(ev['peak_loss'])}, "
                   f"a typical TD error of {fmt(float(np.sqrt(x[onset:].min())))} against returns of at most {fmt(bound)}")
        return [_rl_finding(ev, float(st[-1]), summary)]
    return _rl_last_jump(f, bound, th) or _rl_collapse(f, r, th)


#: why an RL run's TD/value loss diverges (every RL divergence rule gives it)
_RL_CAUSE = ("The critic's targets feed on their own errors: LR too high for the TD update, a target network "
             "that follows too fast, or unclipped gradients; no true value is that large.")


def _rl_finding(ev: dict, end: float, summary: str) -> Finding:
    """An RL divergence finding (an error) from its evidence, the step of its last report and its summary."""
    return Finding("divergence", Severity.ERROR, ev["onset_step"], end, summary, ev, _RL_CAUSE)


def _rl_last_jump(f: Series, bound: float, th: DivergenceThresholds) -> list[Finding]:
    """The last report of the TD/value loss ``f`` (two or more finite reports) at least ``final_jump`` x
    its best before, and its root at least ``rl_bound_factor`` x the largest |return| ``bound``: the
    supervised ``final_jump`` blow-up at the last report, which in an RL run also needs the bound, since
    a TD loss grows with the values it fits (a run learning larger returns). A log of two reports has
    no later one to show the blow-up stays, but three decades up at a scale no true value reaches is
    no value being learned (a FinRL SAC run: critic loss 3.5e6 -> 2.7e13 over 7,000 steps with rewards
    of 4.96)."""
    x, st = f.values, f.steps
    best = float(x[:-1].min())
    if x[-1] < th.final_jump * best or np.sqrt(x[-1]) < th.rl_bound_factor * bound:
        return []
    ib = int(np.argmin(x[:-1]))
    ev = {**_rise(x, st, ib, x.size - 1), "points_above": 1, "max_abs_return": bound, "metric": f.name,
          "rule": f"RL: the last report >= {th.final_jump:g}x the best and its root >= {th.rl_bound_factor:g}x the largest |return|"}
    summary = (f"{f.name} blew up at the last report (step {fmt(ev['onset_step'])}): {fmt(ev['best_loss'])} -> "
               f"{fmt(ev['final_loss'])} ({ev['ratio_to_best']:.2g}x), a typical TD error of {fmt(float(np.sqrt(x[-1])))} "
               f"against returns of at most {fmt(bound)}")
    return [_rl_finding(ev, float(st[-1]), summary)]


def return_collapse(r: Series, since: float, p: float, floor: float, least: int) -> tuple[float, float] | None:
    """(the lowest return before ``since``, the highest from it on) when at least ``least`` returns were
    logged from step ``since`` on, every one of them below every return before it, more than ``floor``
    (a share of |that lowest|) below it, and the chance that the last m of n exchangeable returns come
    out the m lowest, 1/C(n, m), is below ``p``. None otherwise."""
    from math import comb

    v, steps = r.values, r.steps
    before, after = v[steps < since], v[steps >= since]
    if before.size == 0 or after.size < least:
        return None
    low, high = float(before.min()), float(after.max())
    if high >= low or low - high <= floor * abs(low) or 1.0 / comb(v.size, after.size) >= p:
        return None
    return low, high


def step_above_level(values: np.ndarray, factor: float, noise_k: float, after: int) -> tuple[float, int] | None:
    """(the level before, index of the onset) for the earliest onset from which every report to the end
    (``after``+ of them, after :data:`SCATTER_POINTS`+ before) is at least ``factor`` x the median of the
    reports before it, the level the series held, by more than ``noise_k`` sigmas of their log scatter
    (:func:`log_noise`); positive values only. The median, not the minimum: a TD loss's isolated spikes
    and dips (a DQN's 253 among reports of 1,000-14,000, its 1e6 among the same) are no level it held. None
    otherwise. Quadratic in the reports at worst: callers pass a series reduced to
    :data:`~lrdoctor.detect._stats.MAX_POINTS` bins."""
    x = values
    if x.size < SCATTER_POINTS + after or (x <= 0).any():
        return None
    low_after = np.minimum.accumulate(x[::-1])[::-1]
    low_before = np.minimum.accumulate(x)
    for j in range(SCATTER_POINTS, x.size - after + 1):
        if low_after[j] < factor * low_before[j - 1]:
            continue  # (the median is at least the minimum: no step here)
        level = float(np.median(x[:j]))
        if low_after[j] >= factor * level and np.log(low_after[j] / level) > noise_k * log_noise(x[:j]):
            return level, j
    return None


def _rl_collapse(f: Series, r: Series, th: DivergenceThresholds) -> list[Finding]:
    """The TD/value loss ``f`` stepped to at least ``few_factor`` x the level it held, beyond ``noise_k``
    sigmas of its log scatter, and stayed there to the end (:func:`step_above_level`, ``few_after``+
    reports), while the return ``r`` collapsed from the loss's onset on (:func:`return_collapse`):
    ``few_after`` + 1 or more returns (a level, as ``shift_p``'s step asks), every one below every return
    before the onset by more than ``relative_floor`` of it, an order that exchangeable returns give with
    probability below ``shift_p``. A TD loss that grows as the agent learns larger returns is no
    divergence, which is why the bound rule asks for a loss beyond any true value; but a critic whose loss
    steps up for good while the policy it guides falls below everything it scored before is two witnesses
    of one failure: the value estimates broke and the greedy policy built on them broke with them
    (TF-Agents' DQN on CartPole: TD loss 250-14,000 with an average return of 200, the maximum, at 12
    evaluations, then 93,515-680,585 on every report while the return fell to 31.8, 15.3, 12.4, 13.7,
    14.2)."""
    c = curve(f)  # (a long log's bins, their medians and first steps; a short log's reports as they are)
    x, st = c.mid, c.first
    got = step_above_level(x, th.few_factor, th.noise_k, th.few_after)
    if got is None:
        return []
    level, onset = got
    fell = return_collapse(r, float(st[onset]), th.shift_p, th.relative_floor, th.few_after + 1)
    if fell is None:
        return []
    ib = int(np.argmin(x[:onset]))
    ev = {**_rise(x, st, ib, onset), "points_above": int(x.size - onset), "metric": f.name, "level_before": level,
          "score_best": fell[0], "score_final": float(r.values[-1]),
          "rule": (f"RL: every report from the onset on >= {th.few_factor:g}x the level before, while every return "
                   f"from there on fell below every earlier one (p < {th.shift_p:g})")}
    summary = (f"{f.name} diverged from step {fmt(ev['onset_step'])}: from a level of {fmt(level)} (median) to "
               f"{fmt(ev['loss_at_onset'])}, at least {x[onset:].min() / level:.2g}x it on every later report, while the "
               f"return fell below every earlier one (lowest before {fmt(fell[0])}, highest since {fmt(fell[1])}): "
               "the critic broke and the policy with it")
    return [_rl_finding(ev, float(st[-1]), summary)]


class DivergenceEvidence(GuardRewindEvidence):
    """What a ``divergence`` finding proves itself with (keys absent when not measured)."""

    best_loss: float
    best_step: float
    onset_step: float
    loss_at_onset: float
    peak_loss: float
    final_loss: float
    ratio_to_best: float
    points_above: int
    rule: str
    lr_at_onset: float
    max_abs_return: float
    metric: str
    rise_over_best: float
    threshold: float
    noise_sigma: float
    sustained_points: int
    eval_best: float
    eval_final: float
    score_best: float
    score_final: float
    eval_before: float
    eval_at_onset: float
    eval_worst_before: float
    level_before: float
    # the share of the lowest loss the few-point floor asked where it was read on the perplexity a log
    # prints instead of a loss (``floor_on_printed_scale``); absent where it is ``relative_floor`` itself
    relative_floor: float


def _gan_blowup(run: Run, th: DivergenceThresholds) -> list[Finding]:
    """A GAN player's positive loss at least ``gan_factor`` x its best on every report from the
    onset to the end (at least ``few_after`` of them): see ``DivergenceThresholds.gan_factor``."""
    for role in GAN_ROLES:
        s = run.series(role)
        if s is None:
            continue
        f = s.finite()
        x, st = f.values, f.steps
        got = few_point_rise(x, th.gan_factor, th.few_after, lone_best_squared=False)
        if got is None:
            continue
        ib, onset = got
        col = run.meta.roles.get(role, role)
        ev = {**_rise(x, st, ib, onset), "points_above": int(x.size - onset), "metric": col,
              "rule": f"GAN: a player's loss >= {th.gan_factor:g}x its best on every report to the end"}
        summary = (f"{col} blew up from step {fmt(ev['onset_step'])}: from best {fmt(ev['best_loss'])} (step "
                   f"{fmt(ev['best_step'])}) to {fmt(ev['loss_at_onset'])}, {ev['ratio_to_best']:.2g}x or more on every "
                   f"later report (final {fmt(ev['final_loss'])}): far beyond what the other player's gains can explain")
        cause = ("A player's weights diverged: its learning rate is too high for the game (or the loss is unbounded, e.g. "
                 "an unclipped critic), and the other player no longer gets a useful signal.")
        return [Finding("divergence", Severity.ERROR, ev["onset_step"], float(st[-1]), summary, ev, cause)]
    return []


@detector("divergence", thresholds=DEFAULTS, evidence=DivergenceEvidence, needs=_needs)
def detect(run: Run, th: DivergenceThresholds = DEFAULTS) -> list[Finding]:
    if run.is_rl:
        return _rl_bound(run, th)
    if run.is_gan:
        return _gan_blowup(run, th)
    few = _few_point(run, th) or _absurd_scale(run, th) or _blowup_into_nan(run, th)
    out = _trend_rule(run, th)
    if few and not any(f.severity is Severity.ERROR for f in out):
        out = [f for f in out if f.start_step is None or f.start_step >= few[0].start_step] + few
    return [_across_tasks(run, _held_out_improved(run, _warmup_warning(run, f, th), th), th) for f in out
            if not _evaluation_kept_improving(run, f, th)
            and not _accuracy_held(run, f.start_step, th, _rise_start(f)) and not _new_stage(run, f.start_step, th)
            and not _at_numerical_floor(run, f, th)]


#: the names continual-learning code gives the counter of the tasks it trains in turn: "Context: 2/5"
#: (van de Ven's continual-learning notebooks), "experience" (Avalanche), "task" (PyCIL and most
#: class-incremental code)
_TASK_COUNTERS = ("context", "experience", "task")


def _task_counter(run: Run, since: float, end: float) -> str | None:
    """The column that counts the tasks of a continual-learning run when it goes up by exactly 1
    from each report of the judged loss to the next, from the report at ``since`` to the one at
    ``end``: every one of those reports ends the training of another task. None when no such
    column is logged, or when it stays put between two reports (a loss within one task)."""
    loss = objective(run)
    if loss is None:
        return None
    f = loss.finite()
    at = f.steps[(f.steps >= since) & (f.steps <= end)]
    if at.size < 2:
        return None
    for name in _TASK_COUNTERS:
        c = run.series(name)
        if c is None:
            continue
        counts = [value_at(c, float(s)) for s in at]
        if None in counts:
            continue
        v = np.asarray(counts, dtype=float)
        if bool((v == np.round(v)).all()) and bool((np.diff(v) == 1).all()):
            return name
    return None


def _answers_above_chance(run: Run, since: float, floor: float) -> bool:
    """True when a logged classification accuracy (not a running best) is above ``floor`` at every
    one of its reports from ``since`` on, of which there is at least one."""
    from lrdoctor.detect._progress.chance import accuracy_shares
    from lrdoctor.names import tokens

    for col, share in accuracy_shares(run):
        if "best" in tokens(col):
            continue
        late = share.values[share.steps >= since]
        if late.size and bool((late > floor).all()):
            return True
    return False


def _across_tasks(run: Run, f: Finding, th: DivergenceThresholds) -> Finding:
    """``f`` as a warning when every report from its best to its end ends another task of a
    continual-learning run (:func:`_task_counter`) and a logged accuracy stays clear of chance over
    them (``task_accuracy_floor``). The loss reported at the end of each task is that task's
    objective: a new task's cross-entropy plus, in the methods that guard against forgetting (LwF,
    iCaRL), a distillation term over every class learned before, which grows with their number.
    Losses of different objectives are no trajectory of one, so their rise proves no blow-up of
    weights that still answer each task; it may still be forgetting, or a distillation weight the
    new tasks cannot carry, so the finding stays as a warning (van de Ven's split-MNIST notebook,
    five tasks of 500 iterations: LwF's end-of-task loss 3.24e-06, 1.46, 1.97, 2.3, 2.49 beside a
    training accuracy of 0.992-1.0 on every task)."""
    since = f.evidence.get("best_step")
    if f.severity is not Severity.ERROR or not isinstance(since, (int, float)) or f.end_step is None:
        return f
    col = _task_counter(run, float(since), float(f.end_step))
    if col is None or not _answers_above_chance(run, float(since), th.task_accuracy_floor):
        return f
    return replace(f, severity=Severity.WARNING, summary=(
        f"{f.summary}; but each of these reports ends another task ({col} counts them): the losses of different "
        "tasks, with a distillation term that grows with the classes already learned, are no one objective's rise"))


def _at_numerical_floor(run: Run, f: Finding, th: DivergenceThresholds) -> bool:
    """See ``DivergenceThresholds.numerical_floor``: ``f``'s highest loss (its peak, or its last
    report) is below that share of the judged loss's starting level."""
    s = run.series(str(f.evidence.get("metric"))) if "metric" in f.evidence else objective(run)
    top = f.evidence.get("peak_loss", f.evidence.get("final_loss"))
    if s is None or top is None:
        return False
    v = s.finite().values
    if v.size == 0:
        return False
    start = float(v[: max(1, v.size // 10)].max())
    return start > 0 and 0 <= float(top) < th.numerical_floor * start


def _warmup_warning(run: Run, f: Finding, th: DivergenceThresholds) -> Finding:
    """``f`` as a warning when the logged LR still rises over the whole rise (from the best report
    to the end: never falling, and ending at least ``warmup_rise`` x where it started) and the loss
    ends below ``few_factor`` x its best. A warm-up under way has not reached the LR the run trains
    at, and a bounded rise while it climbs is a sign to watch, not yet a blow-up: the climb stops
    with the warm-up, or turns into a divergence that clears the factor (a Faster R-CNN fine-tuned
    from a trained checkpoint while its warm-up raises the LR 0.020 -> 0.040: total loss 0.146 ->
    0.19, +30%). Above the factor, or with no LR logged, the error stands (PP-YOLOE as its warm-up
    raises the LR: 4.83 -> 21.5)."""
    since = f.evidence.get("best_step")
    if f.severity is not Severity.ERROR or not isinstance(since, (int, float)) or not _below_twice_best(f, th):
        return f
    rising = lr_rising(run, float(since), float(f.end_step) if f.end_step is not None else float("inf"), th.warmup_rise)
    if rising is None:
        return f
    return replace(f, severity=Severity.WARNING, summary=(
        f"{f.summary} while the warm-up still raised the LR ({fmt(rising[0])} -> {fmt(rising[1])}): watch it past the warm-up"))


def _held_out_improved(run: Run, f: Finding, th: DivergenceThresholds) -> Finding:
    """``f`` as info when the run evaluated the weights at the training loss's best report and
    its last evaluation loss is at most 1/``few_factor`` of that one: the held-out loss fell by the
    factor the few-point rules ask a divergence to rise by. An evaluation is of the weights as they
    stand, so weights that halved their held-out loss since the best training report did not blow up:
    the training loss's rise is in what it averages (a logging window, a batch order), not in the
    model. Info since stop 77 (a warning before): a divergence is the claim that the weights got
    worse, and their own evaluation refutes it, so what is left is a curiosity of the training
    curve, shown but not counted as a problem (Whisper-medium on Urdu speech emotions: training loss
    0.0018, 0.51, 0.69, 0.0006, 1.52 at five epochs of 120 steps, while the validation loss fell
    2.01 -> 0.63 and the accuracy rose 0.67 -> 0.88; an OLMo-1B fine-tune, training loss 0.149 ->
    0.341 while its evaluation loss fell 0.155 -> 0.076). A blow-up
    inside the logging window of the best report is evaluated after it, and keeps its error unless
    the held-out loss then halved (a Mistral-7B LoRA: training 0.74 averaged over the steps before
    the blow-up, its evaluation at that step already 8.72, then 5.4)."""
    since = f.evidence.get("best_step")
    e = run.series("eval_loss")
    if f.severity is not Severity.ERROR or not isinstance(since, (int, float)) or e is None or "loss" not in run:
        return f
    g = e.finite()
    at = np.flatnonzero(g.steps == since)
    if at.size == 0 or g.steps[-1] <= since or not g.values[at[0]] > 0:
        return f
    then, last = float(g.values[at[0]]), float(g.values[-1])
    if last > then / th.few_factor:
        return f
    return replace(f, severity=Severity.INFO, summary=(
        f"{f.summary}; but the evaluation loss fell from {fmt(then)} at that best report to {fmt(last)}: "
        "the held-out weights improved, so the rise is in what the training loss averages, not in the model"))


def _new_stage(run: Run, since: float | None, th: DivergenceThresholds) -> bool:
    """True when the logged LR starts a new warm-up at the rise's onset: at the last LR report up to
    ``since`` (or the one before it) it fell to at most ``restart_cut`` of its level over the
    ``restart_window`` reports before, and it rises at the next report. A schedule that restarts
    its warm-up begins a new training stage (a curriculum's next data phase, the next task of a
    continual run), whose data the model has not fitted yet; and the LR had just been cut, so it
    cannot be the step size that pushed the loss up (a chat model's curriculum: loss 1.46 on its
    "structure" phase, 2.9-4.3 from step 3800, where the "knowledge" phase began and the LR fell
    from 3e-4 to 3.3e-5 to warm up again). Also when the epoch column restarts there
    (:func:`_epoch_restarts`)."""
    if since is not None and _epoch_restarts(run, since):
        return True
    lr = run.series("lr")
    if lr is None or since is None:
        return False
    f = lr.finite()
    v, st = f.values, f.steps
    i = int(np.searchsorted(st, since, side="right")) - 1
    for j in (i, i - 1):
        if j < 1 or j + 1 >= v.size:
            continue
        before = v[max(0, j - th.restart_window):j].max()
        if before > 0 and v[j] <= th.restart_cut * before and v[j + 1] > v[j]:
            return True
    return False


def _epoch_restarts(run: Run, since: float) -> bool:
    """True when the epoch column falls at the last epoch report up to ``since`` (or the one before
    it) while the step column runs on: an epoch counter never goes back within one training run, so
    the log joins a second run resumed from the first one's weights with a new data loader and
    schedule, a new stage as a restarted warm-up is (:func:`_new_stage`), and its first reports
    meet that stage's data and optimiser state afresh (a Whisper-small card: epoch 9.95 at step
    4000, then 2.02 at step 5000, where the training loss went 0.0064 -> 0.197 while the
    validation loss fell 0.419 -> 0.330)."""
    ep = run.series("epoch")
    if ep is None:
        return False
    f = ep.finite()
    v = f.values
    i = int(np.searchsorted(f.steps, since, side="right")) - 1
    return any(1 <= j < v.size and v[j] < v[j - 1] for j in (i, i - 1))


def _accuracy_held(run: Run, since: float | None, th: DivergenceThresholds, best: float | None = None) -> bool:
    """True when a logged classification accuracy (training or held-out) stayed within
    ``accuracy_held`` of its best before ``since`` at every one of at least ``improving_evals``
    reports from there to the end: the model still answers as well as it did, so the loss's
    rise is in how sure it is, not in what it predicts (a continual-learning notebook fitting
    five MNIST tasks in turn: the end-of-task loss 1.05e-05, 0.0128, 0.0009, 0.0004, 0.0032
    beside a training accuracy of 1.0, 0.992, 1.0, 1.0, 1.0). A model that blew up loses its
    accuracy with its loss.

    Only while the loss stays below ln 2 at every report: read as a cross-entropy, it then puts
    more than half its weight on the right answers (e^-CE, by Jensen), whereas a loss that
    exploded may sit beside an accuracy dominated by one easy class (an mmdet RCNN head at 99%
    background accuracy while its loss went 1.4 -> 4421). A running best ("best_val_acc") cannot
    fall, and says nothing.

    Since stop 78 only an accuracy held above ``task_accuracy_floor`` at every report from ``since``
    on: an accuracy at or below it may be chance for a two-class task (1/2 within ``slow_progress``'s
    0.1 band), and a model answering at chance before and after the rise still answers at chance, which
    proves nothing about its weights (a multiple-choice fine-tune resumed at lr 5e-08: training loss
    0.224 -> 0.516, 0.608, 0.605 beside an evaluation accuracy of 0.5265-0.5279 throughout).

    Since stop 80, with ``best`` (the step of the loss's best report, the finding's ``best_step``) the
    accuracy is judged over the whole rise the finding reports, from that best on: its best up to and
    including the best report, and every report after it. A rule places its onset where the loss reached
    the level it holds (a joint step, a new level), which may come reports after the climb began; an
    accuracy that fell while the loss climbed to that onset and then came partly back did not hold
    through the rise (a LoRA DistilBERT classifier at lr 1e-3: training loss 0.4666 at its first epoch,
    0.537-0.6447 after, accuracy 0.8414 -> 0.8051 during the climb and 0.8114-0.821 from the joint step
    on). See :func:`_rise_start`."""
    from lrdoctor.detect._progress.chance import accuracy_shares
    from lrdoctor.names import tokens

    loss = objective(run)
    if since is None or loss is None or not bool((loss.finite().values < np.log(2.0)).all()):
        return False
    for col, share in accuracy_shares(run):
        if "best" in tokens(col):
            continue
        v, steps = share.values, share.steps
        before, late = (v[steps < since], v[steps >= since]) if best is None else (v[steps <= best], v[steps > best])
        if before.size and late.size >= th.improving_evals and late.min() >= before.max() - th.accuracy_held \
                and late.min() > th.task_accuracy_floor:
            return True
    return False


def _rise_start(f: Finding) -> float | None:
    """The step of the best report ``f``'s rise is measured from (its ``best_step``), when it lies before
    the finding's onset; None otherwise (the onset alone then bounds the rise)."""
    best = f.evidence.get("best_step")
    if not isinstance(best, (int, float)) or f.start_step is None or not best < f.start_step:
        return None
    return float(best)


def _evaluation_kept_improving(run: Run, f: Finding, th: DivergenceThresholds) -> bool:
    """True when the evaluation's score set a new best at every one of at least
    ``improving_evals`` evaluations from the rise's onset to the end: the model was getting better on
    held-out data all through the loss's rise, so the rise is in what the loss measures, not in
    the model (spaCy sums each component's loss over batches that its default schedule grows
    from 100 to 1000 words: NER loss 4601 -> 8976 while the dev F rose 59 -> 70 at every row).

    The evaluation loss is read the same way, a new minimum at each evaluation, for a rise of the
    training loss that ends below ``few_factor`` x its best: the training loss of one epoch rises
    with the order of its batches, the held-out loss measures the model (a T5 title generator:
    training loss 2.07 -> 2.81 -> 2.63 over one epoch while the validation loss fell at every one
    of its 8 evaluations, 2.595 -> 2.487). A loss that more than doubled is a blow-up that a
    recovering evaluation does not explain away (a Mistral-7B LoRA: training loss 0.76 -> 9.46 at
    its second report, its first evaluation already at 8.4, both then falling together)."""
    since = f.start_step
    if since is None:
        return False
    s = run.series("eval_accuracy")
    if s is not None and not is_error_rate(run.meta.roles.get("eval_accuracy", "")) and _new_best_at_each(s, since, th):
        return True
    e = run.series("eval_loss")
    if "loss" not in run or e is None:
        return False  # (a rise of the evaluation loss itself sets no new minimum)
    return _below_twice_best(f, th) and _new_best_at_each(Series(e.name, e.steps, -e.values), since, th)


def _below_twice_best(f: Finding, th: DivergenceThresholds) -> bool:
    """True when the finding's rise ends (``final_loss``) above 0 and below ``few_factor`` x its
    ``best_loss``: a bounded rise, which a warm-up or an improving evaluation can explain."""
    best, final = f.evidence.get("best_loss"), f.evidence.get("final_loss")
    return isinstance(best, (int, float)) and isinstance(final, (int, float)) and 0 < final < th.few_factor * best


def _new_best_at_each(s: Series, since: float, th: DivergenceThresholds) -> bool:
    """True when ``s`` (higher is better) set a new best at every one of at least
    ``improving_evals`` evaluations from ``since`` to the end, after at least one before."""
    f = s.finite()
    x = f.values
    late = np.flatnonzero(f.steps >= since)
    if late.size < th.improving_evals or late[0] == 0:
        return False
    return bool(all(x[i] > x[:i].max() for i in late))


def sustained_rises(t: Trend, th: DivergenceThresholds = DEFAULTS, above: np.ndarray | None = None) -> list[tuple[int, int]]:
    """(start, end) trend-index ranges where the trend stays above its best (``above_best``,
    or its mask ``above`` when the caller has it) for at least ``min_points`` and
    ``min_fraction`` of the run; shared with ``loss_spike``, which reports those that end
    before the log does (they recovered)."""
    if above is None:
        above, _, _ = above_best(t, th)
    need = max(th.min_points, int(np.ceil(th.min_fraction * t.n)))
    out = []
    for a, b in runs_of(above):
        # the last window//2 trend points copy the last full window's median (edge padding):
        # they are one piece of evidence, not window//2 more points of a sustained rise
        if (b - a) - (t.window // 2 if b == t.n else 0) >= need:
            out.append((a, b))
    return out


def padded_tail_came_back(t: Trend, rise: np.ndarray, thr: np.ndarray) -> bool:
    """True when every report of the trend's edge-padded tail (its last ``window // 2`` points, which
    copy the median of the last full window rather than measure anything of their own) is back
    within the threshold of the best that :func:`above_best` set there. A rise then reaches the end
    only because the rolling median carries the spike's window forward: the reports themselves
    came back, as a transient's do (OLMo-1B fine-tuned: training loss 0.15 for ten reports, then
    0.24, 0.30, 2.17, 1.00 and back to 0.163, 0.156; the padded trend ends at 0.297, "did not
    recover"). The same threshold, measured on the reports instead of their median. Shared with
    ``loss_spike``, which reports such a rise as the transient this rule declines it as."""
    h = t.window // 2
    if h == 0:
        return False
    own = t.c.mid[-h:] - (t.smooth[-h:] - rise[-h:])  # each report above the running best of the trend
    return bool((own <= thr[-h:]).all())


def _trend_rule(run: Run, th: DivergenceThresholds) -> list[Finding]:
    """A trend that rises above its best by the threshold and stays there to the end. Not when it
    ends within ``noise_k`` sigmas above the median of its own trend before the rise: the run is back
    at the level it held most of the time, and its best was a dip of the trend, not a level it had
    reached (a Gaussian NLL of single batches swinging 3-8 whose smoothed trend touched -0.35 where
    three negative draws fell together, then returned to 4.5)."""
    t = objective_trend(run)
    if t is None:
        return []
    above, rise, thr = above_best(t, th)
    out = []
    for a, b in sustained_rises(t, th, above):
        if b != t.n:
            continue  # it came back: a transient, reported by loss_spike
        if padded_tail_came_back(t, rise, thr):
            continue  # the reports the trend's end copies came back: a transient too (see padded_tail_came_back)
        if a and float(t.smooth[b - 1]) <= float(np.median(t.smooth[:a])) + th.noise_k * t.sigma:
            continue  # back at the run's usual level: the best was a dip (see _trend_rule)
        c = t.c
        ib = int(np.argmin(t.smooth[:a])) if a else 0
        onset = float(c.first[a])
        ev = {
            "best_loss": float(t.smooth[ib]), "best_step": float(c.step[ib]),
            "onset_step": onset, "loss_at_onset": float(t.smooth[a]),
            "peak_loss": float(t.smooth[a:b].max()), "final_loss": float(t.smooth[b - 1]),
            "rise_over_best": float(rise[a:b].max()), "threshold": float(thr[a]),
            "noise_sigma": t.sigma, "sustained_points": b - a,
        }
        lr = lr_at(run, onset)
        if lr is not None:
            ev["lr_at_onset"] = lr
        summary = (f"loss diverged from step {fmt(onset)}: trend rose from best {fmt(ev['best_loss'])} "
                   f"(step {fmt(ev['best_step'])}) to {fmt(ev['peak_loss'])} and did not recover")
        cause = ("The learning rate is above what this model and batch size tolerate "
                 "(sustained rise, not a one-batch spike), or the LR schedule never decays.")
        out.append(Finding("divergence", Severity.ERROR, onset, float(c.step[b - 1]), summary, ev, cause))
    return out


@fix_rule("divergence")
def fix_divergence(run: Run, f: Finding) -> Prescription:
    fixes = [lr_fix(run, f, DIVERGENCE_LR_CUT, "sustained rise above the best loss: cut the LR 3x")]
    clip = max_grad_norm(run)
    if clip is None:
        fixes.append(Fix("max_grad_norm", None, 1.0, "clip the global gradient norm (HF/Lightning default 1.0) so one bad step cannot push the run off"))
    fixes.append(Fix("checkpoint", None, None, "the best loss was reached there",
                     note=f"keep the one at step {fmt(f.evidence.get('best_step'))}"))
    return Prescription(fixes, [WATCH_LOSS, WATCH_GRAD])
