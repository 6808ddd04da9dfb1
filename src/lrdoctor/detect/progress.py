"""``slow_progress`` and ``plateau``: the loss is not going down fast enough.

slow_progress: over the first half of the run, where a healthy run learns fastest, the
trend drops less than ``min_drop_per_100`` per 100 steps while the LR is not ~0 (LR too
low: improved-diffusion at lr 1e-7). plateau: the run did learn, then made no new best for
the last ``patience_fraction`` of the run while the LR stayed high (it needs decay), or its
evaluation loss (else its training loss) printed one value at every report after it learned.

This module is the kinds' home: their thresholds, evidence, detectors and fixes. The
slow_progress rules the detector tries in order live in :mod:`lrdoctor.detect._progress`, one
family per module (against chance, a model that stopped changing, schedule and return, the
generated outputs of a sequence-to-sequence model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect._stats import value_at
from lrdoctor.detect._trend import objective_trend
from lrdoctor.detect._common import is_error_rate
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import SLOW_LR_RAISE, WATCH_LOSS, lr_fix
from lrdoctor.detect.registry import CannotJudge, Prescription, Thresholds, detector, fix_rule
from lrdoctor.config import config_value
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.run import Run
from lrdoctor.detect._progress.generation import EMPTY_GENERATION_RULE, FROZEN_GENERATION_RULE, ZERO_SCORE_RULE, _empty_generations, _frozen_generations, _score_zero_while_learned, generated_length_moved
from lrdoctor.detect._progress.chance import PRIOR_FIRST_HALF_RULE, UNCHANGED_RULE, chance_accuracy, class_count_unmet, eval_loss_says_some_right, f_score_columns, _f_score_at_floor, _constant_predictor_f_score, _two_reports_at_chance, _accuracy_at_chance, _accuracy_around_chance, _pinned_at_one_over_k, _recall_at_one_over_k, _at_uniform, _error_rate_at_max, _negligible_correlation, _weak_correlation, _never_below_start, _pinned_error_rate, _flipping_constant_predictor, _pinned_task_metric, _pinned_after_the_first, _never_beat_constant, _prior_for_half_the_run, _stuck_at_chance, _worse_than_uniform, _at_chance_from_the_start, _few_reports_at_chance, _few_evaluations_around_chance, _held_out_at_chance
from lrdoctor.detect._progress.common import _logged, _lr_share, fell_materially, second_half_ends
from lrdoctor.detect._progress.frozen import _box_terms, _collapsed_to_zero, _frozen_eval, _frozen_game, _frozen_loss, _frozen_term, _no_box_matched, _recurring_loss, _zero_throughout, frozen_evaluation, learned_before, learned_by_the_first_evaluation, FROZEN_AFTER_LEARNING_RULE, FROZEN_LOSS_AFTER_LEARNING_RULE
from lrdoctor.detect._progress.schedule import _degenerate_groups, _lr_stays_zero, _no_gain_over_finished_schedule, _return_at_floor, _return_never_rose

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
    ``patience`` (torch default 10 epochs), as a share so it fits any length. It is also the least a
    frozen stretch after learning must cost before it is a plateau (:func:`_freeze_costs`): a model
    that stopped changing is proof of no progress, so the frozen rules need only the patience, not
    the trend rule's ``plateau_min_budget`` (which also answers a noisy "no new best")."""
    new_best: float = 0.01
    """Plateau: improvement (share of the total progress) that counts as a new best
    (ReduceLROnPlateau ``threshold`` is 1e-4 relative; we ask 1% of progress to beat noise)."""
    new_best_scatter: float = 1.0
    """Plateau: a new best must also beat the previous one by this many standard errors of the
    smoothed level (:attr:`lrdoctor.detect._trend.Trend.level_se`, the curve's own scatter over
    the smoothing window), since ``new_best``'s 1% of progress is below the noise of a loss that
    swings by a tenth of its level from batch to batch: one standard error, the least gap between
    two levels that the curve's own noise can tell apart. An Oriented R-CNN's total loss 2.51 -> 0.94
    in 150 iterations, then 0.77-1.08 for 900 more at a constant LR, made "new bests" of 2% of its
    progress out of that noise alone."""
    min_plateau_lr: float = 0.3
    """Plateau is only reported while the LR is still at least this share of its peak."""
    plateau_undecayed_lr: float = 0.99
    """A trend-rule plateau is a warning, not an info, when the LR over the flat stretch is still
    at least this share of its peak: within ``lr_zero`` (1%) of it, the same resolution that
    calls an LR ~0, so the schedule has not begun to decay (a constant LR, or a decay sized for
    far more steps than the log: a LoRA at a constant 5e-4, flat for the last half of its 240
    steps). A decaying LR may still let the loss settle as the schedule goes on (an info); an
    undecayed one will not, so the budget ahead is spent like the flat half behind it."""
    min_plateau_points: int = 20
    """Plateau needs this many logged points: on fewer, 30% of the run is a handful of reports."""
    plateau_min_budget: float = 0.5
    """Plateau is reported only when the flat stretch is at least this share of the run: the
    run spent half its budget without progress at a high LR, a cost worth a note. A run
    that converged late (a shorter flat tail) is not a finding."""
    plateau_learned: float = 0.1
    """A loss has learned before it stalls when it fell by at least a tenth of its first report:
    the trend rule's bar for "the run did learn" (a stall of a loss that never fell is
    slow_progress's, no learning at all). It also splits a frozen evaluation loss between the two
    kinds: frozen from the start (or after a fall under a tenth) the model never learned, which is
    slow_progress's frozen-evaluation error; frozen after the evaluation or the training loss fell
    by a tenth is a plateau, the labellers' "after some progress, the loss stops improving while
    training goes on" (GPT-J SFT on ANLI: validation loss 2.00 -> 0.6837 by step 8000, then 0.6837
    at all 8 later evaluations). Frozen from its first evaluation, the witness is the training loss:
    its later reports a tenth below its first, the mean over the interval that learned (a plateau
    beside slow_progress's error: :func:`lrdoctor.detect._progress.frozen.learned_by_the_first_evaluation`)."""
    learned_floor: float = 0.1
    """A loss under a tenth of ln 2 (0.069 nats) has learned, whatever its first report: a fresh
    classifier starts at ln K >= ln 2 (Karpathy 2019, "verify loss @ init") and a regressor on
    standardised targets near 1 (``zero_start_decimals``), and a model that learned only the class
    prior sits at the prior's entropy, which is above a tenth of ln 2 for every prior but a binary
    split more lopsided than 98.8/1.2. A tenth, as ``plateau_learned``: a fall of nine tenths from the
    smallest untrained level. It is the witness of a frozen evaluation loss frozen from its first
    evaluation (:func:`lrdoctor.detect._progress.frozen.learned_below_any_prior`), where no earlier
    report saw the fall."""
    chance_tol: float = 0.05
    """Stuck at chance: the loss stays within 5% of ln K (K classes; Karpathy 2019, "verify
    loss @ init": an untrained classifier's cross-entropy is ln K)."""
    chance_infer_tol: float = 0.02
    """Without K in the config, K is inferred only when the flat loss is within 0.02 nats of
    ln K for some K in 2..10 (the spacing of ln K is 1/K, so larger K would match by chance),
    and only when a logged accuracy confirms it (near 1/K): a fine-tune resting at its floor
    can sit near some ln K by coincidence (HF T5 summarisation at 1.78 ~ ln 6)."""
    chance_acc_trend_p: float = 0.05
    """...and never while a logged accuracy climbs with an upward Mann-Kendall trend at the usual
    one-sided 5%, by more than ``chance_acc_margin`` (the band the rule allows around 1/K; keras-gat
    on Cora wanders 0.108 -> 0.144 at 1/7 and stays at chance): the model learns whatever level
    its loss sits at (PEFT P-tuning on MetaMathQA: a
    generative accuracy 0.06 -> 0.48 beside a loss near ln 2 by coincidence). A run that died after
    a blow-up keeps its flat or falling accuracy (a digits MLP at SGD lr 3: 0.22 -> 0.09)."""
    chance_flat: float = 0.1
    """...and the loss never went more than 10% below ln K (it never learned)."""
    chance_drift: float = 0.05
    """...and its second half does not keep falling: its last reports are not more than
    ``chance_drift`` x ln K below its first ones (a loss falling *through* ln K is learning;
    Keras issue 12707: 1.88 -> 1.72 over epochs 5-9, passing ln 6 = 1.79 on the way down). The
    same 5% as ``chance_tol``: the band that counts as "at ln K"."""
    still_falling: float = 0.05
    """A no-learning error read from a task metric (an accuracy at chance, a score pinned at 0 or at
    one value, an error rate at its maximum) is a warning when the loss beside it (the evaluation
    loss where one is logged: a training loss falls as a model memorises) is still falling
    at the end: the median of the last third of its second half is more than 5% below that of the
    first third (the chance rule's ``chance_drift``, the same share read on any loss). A falling
    loss says the weights still move towards the targets, so the metric's floor may be a run that
    stopped too early (a CTC fine-tune whose WER is 1.0 at all six evaluations while its validation
    loss falls 29.6 -> 7.3, still in the blank phase) or a metric that measures something else (a
    CodeT5 BLEU of 0.0004 at three epochs while both losses fall by a third); it cannot prove the
    run broken, which an error claims. The loss must also end within 5% of its lowest report: one
    coming back down from a blow-up is no learning run. Only on fewer than ``pinned_points`` evaluations of the metric:
    a metric held at its floor over more, while the loss fell all along, is a broken set-up whatever
    the loss says (XLS-R on Common Voice zh-CN: WER 1.0 at all 67 evaluations as the validation loss
    fell 64.8 -> 1.8). A loss that is flat beside the pinned metric leaves it an error."""
    chance_warmup_rise: float = 1.05
    """...nor one whose logged LR is still rising over the reports (last >= 1.05x first, never
    falling): the warm-up has not reached the LR the run trains at, and a model near chance
    then is expected (mmcls on ImageNet in its warm-up: lr 5.8e-5 -> 7.2e-5, loss 6.704 ->
    6.618 near ln 1000). 5%: above the printed rounding of an LR, far below a warm-up's rise."""
    chance_acc_rel: float = 0.1
    """Accuracy at chance: never more than 10% (relative) above 1/K at any report (0.22 for 5
    classes, 0.0011 for 1000): an evaluation set of a few hundred examples scatters a guessing
    model's accuracy by about that much (binomial SE of 0.2 on 300 examples: 0.023)."""
    chance_acc_points: int = 3
    """...at every one of at least 3 reports (the few-point rules' minimum), none of them within the
    first ``min_steps`` updates of a log that starts at the start (``_too_early``)."""
    chance_median_points: int = 8
    """An accuracy that wanders around 1/K rather than under it (``_accuracy_around_chance``) is
    judged on at least 8 evaluations: its later half then holds 4, so neither the whole run's
    median nor the later half's is one lucky evaluation, and a Mann-Kendall test over 8 can reach
    the 5% of ``chance_acc_trend_p`` many times over (its smallest p is 1/8!)."""
    chance_two_reports_acc: float = 0.05
    """Two reports (the whole of a 2-epoch HF results table) are judged stuck at chance only when
    two measures name the same K: the loss within ``chance_tol`` of ln K *and* every logged
    classification accuracy within 5% (relative, the same share as ``chance_tol``) of 1/K at both
    reports, K the config's or the integer nearest 1/accuracy. The three-report rule's 0.1 band
    around 1/K is for runs long enough to show a trend; on two reports only the agreement of two
    independent readings of one K stands for it (wav2vec2 on MINDS-14's 14 intents: validation loss
    2.6430 = ln 14.06, accuracy 0.0708 = 1/14.1, at both epochs)."""
    chance_two_reports_fixed: float = 0.005
    """...or the loss within 0.5% of ln K at both reports beside every accuracy no more than
    ``chance_acc_margin`` above 1/K at both: an output that is uniform to three digits tells
    almost nothing about the label (a calibrated binary classifier whose loss is 0.5% under ln 2
    is right at most 54% of the time), and its argmax, fixed or flipping on a few ties, gives the
    share of one class rather than 1/K. 0.5% is a tenth of ``chance_tol``: the uniform output's
    own loss, not a band around it (a mammogram classifier: validation loss 0.692 and 0.6915,
    accuracy 0.5507 at both epochs; distilbert on WNLI: 0.6951 and 0.6953, accuracy 0.5493 and
    0.5634, the majority share). The margin keeps out a near-uniform output that already ranks the
    classes right, whose accuracy is as steady (a logistic regression at lr 1e-4 on two digits:
    loss 0.6920 and 0.6908, accuracy 0.9744 at both epochs). The stuck-at-chance rule reads the same
    0.5% at every report of a longer log (``_uniform_output``): there an accuracy far *under* 1/K is
    the tie-broken arg max's one class, and no longer doubts the K the loss names."""
    learned_score_share: float = 0.1
    """The error-rate floor rules stand aside when a higher-is-better score logged beside the error
    rate (a BLEU, a chrF; an accuracy that also doubled from its first report, since chance may pass
    a tenth) reached a tenth of its range at its best: the model does what that score measures, and
    the error rate is one its task cannot score (the WER of a speech translation). A tenth is
    ``performance_reversal``'s ``collapse_best_share``, the level below which a score sits where an
    untrained model's do."""
    learned_score_gain: float = 2.0
    """...the doubling an accuracy must also show from its first report to its best: twice its
    start, as ``performance_reversal``'s ``chance_collapse_best`` asks twice chance of a model that
    had learned something."""
    chance_acc_margin: float = 0.1
    """When an accuracy is logged it must not sit more than 0.1 (or 10 points) above 1/K (below
    chance is no sign of learning: a small test set of a model at chance often reads lower)."""
    chance_infer_max_k: int = 24
    """Without K in the config, K is inferred up to 24 classes: the largest K whose ln K still lies
    more than twice ``chance_infer_tol`` from ln(K-1) and ln(K+1) (their spacing is about 1/K, and
    1/24 > 0.04), so a loss within the tolerance of ln K names one K. Above 10 a loss near some ln K
    is common by chance (the windows cover 40-100% of the axis), so the accuracy must confirm K on
    its own: its median at most ``chance_acc_factor`` x 1/K (wav2vec2 on the 14 intents of
    MInDS-14: loss 2.636 -> 2.624 at ln 14 = 2.639, accuracy 0.04-0.09 around 1/14 = 0.071)."""
    chance_unconfirmed_max_k: int = 10
    """With no accuracy to confirm K, a loss is read as stuck at ln K only for K up to 10, and only
    when every report from the start of training sits within ``chance_infer_tol`` of it: above 10
    the bands of neighbouring K (spacing about 1/K) cover 40-100% of the axis
    (``chance_infer_max_k``), at 10 and below they cover under a quarter of ln 2 .. ln 10, and a
    loss that starts in one and never leaves it is rarely there by coincidence."""
    chance_acc_factor: float = 2.0
    """...twice chance: a model that scores twice 1/K has learned something (``performance_reversal``'s
    ``chance_collapse_best``), whatever its loss."""
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
    frozen_term_quanta: float = 2.0
    """A frozen term is evidence only when the total moves enough that the term, moving by the same
    share of its own level, would have changed by at least this many of its printed steps on a
    typical report. A log of running averages (FairMOT's AverageMeter, batch 929 of an epoch: the
    total -0.5303, -0.5307, -0.5310, moves by 0.06% a report) moves every term by about one printed
    step, so a term printing 0.1891 five times is no dead head. Two steps: one could be rounding."""
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
    zero_start_decimals: int = 4
    """A text log's printed 0 counts as a zero loss from the first epoch when printed with at
    least this many decimals (below 5e-5) and the log starts at epoch 0 or 1. A fresh model's
    loss starts near ln K (>= 0.69) or near the target variance (~1 on standardised targets), and
    no optimiser takes it four decades down within its first epoch, so a loss that prints
    0.0000 from the first epoch on was never a working objective (RecBole issue 1533: MAMO's
    train loss 0.0000 at epochs 0-3 beside bit-identical validation scores)."""
    no_match_points: int = 2
    """No box matched: a detector's box-regression loss term (box, IoU/GIoU, DFL, bbox) that is
    exactly 0 on at least 2 reports while its classification term is not. These terms are
    averaged over the predictions matched to a ground-truth box (YOLO's assigners, RetinaNet's
    positives), so exactly 0 means no prediction was matched: the labels were not found or do
    not fit the images, and the detector learns only background (YOLOv6 issue 614: iou_loss 0
    and dfl_loss 0 for epochs 43-51, mAP 0.0; ultralytics issue 1086: box_loss 0, dfl_loss 0,
    mAP 0). Two reports, since a zero at one report can be a batch without objects. A warning
    when another box term (a first stage's, CenterPoint's ``loc_loss``) is above 0 on the same
    reports: the labels were matched there, and the zero term is a second stage that got no
    positive proposal (:func:`lrdoctor.detect._progress.frozen._second_stage_without_positives`)."""
    frozen_floor: float = 0.01
    """...and at least this share of the log's largest loss (a loss converged to its floor
    prints the same value for a reason)."""
    converged_quanta: float = 3.0
    """Frozen rules: a tail of equal prints is a converged curve, not a dead model, when the
    reports just before it moved by at most this many printing steps (median): the same
    "3 steps of the printing resolution" that separates rounding from change in ``loss_spike``'s
    ``quanta``."""
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
    0.12-0.14 from step 10 to 1260 while the LR decayed 1e-5 -> 1e-8). Only on a log that holds
    the schedule's start: one that starts at the start of training, or whose LR peaks after its
    first report. A window deep into a decay (MTP's change-detection runs, epochs 136-150 at an
    LR already 1e-6 and falling) shows a converged metric, not a schedule spent without learning."""
    zero_acc_max_loss: float = 2.302585
    """An accuracy that never left 0 is not judged when the median loss of the same predictions
    is below ln 10 (the evaluation loss for an evaluation's accuracy where one is logged, else the
    training loss): read as a cross-entropy, the true class then gets e^-CE >= 10% of the
    probability on average, and some argmax would be right (see ``_loss_says_some_right``)."""
    pinned_points: int = 5
    """A task metric (accuracy, mAP) that takes one single value over at least this many
    evaluations below 90% of its scale never changed its predictions: a constant predictor."""
    pinned_fine_points: int = 3
    """...and over at least 3 evaluations when that single value is a fraction of at least
    ``pinned_denominator`` (an evaluation set of 50+ examples): a model whose predictions move
    changes its count of right answers among 50 or more between evaluations, so three identical
    prints in a log that starts at the start of training are a constant predictor, not a
    converged one (DistilBERT on an SST-2 split: accuracy 0.6541 at all three epochs, the
    majority-class rate, while the validation loss drifted 0.603 -> 0.562). Three, as ``chance_corrected_points``: two equal
    prints may be a model that has not started to move."""
    constant_f_score_end_points: int = 2
    """An F-score that is the F-score of a constant predictor at the accuracy beside it
    (:func:`lrdoctor.detect._progress.chance._constant_predictor_f_score`) is judged at
    ``chance_corrected_points`` evaluations, or at 2 when the log reached the end its config planned
    (``planned_end_share``; a results table's last row is the run's end: the evaluations are the whole run): two independent
    readings, as the two-report chance rule (:func:`lrdoctor.detect._progress.chance._two_reports_at_chance`),
    each of which pins the one class answered, and none off it. One evaluation may be the initial model
    at the prior of a run about to learn (CANINE on XNLI: weighted F1 0.1667 = 2a^2/(1 + a) at
    accuracy 1/3 at its first epoch, 0.27-0.31 at the four later ones)."""
    recall_max_k: int = 100
    """A recall printed as exactly 1/K names K up to 100: 1/100 and 1/101 lie 1e-4 apart, the
    resolution of the 4 decimals a Trainer's results table prints, so above 100 the print names no
    one K (:func:`_recall_at_one_over_k`)."""
    chance_corrected_points: int = 3
    """A chance-corrected score (Matthews correlation, Cohen's kappa) exactly 0 at every one of
    at least 3 evaluations is a constant predictor, without ``pinned_points``' wait (and so is a
    macro-averaged recall exactly 1/K, since stop 72: recall 1 on the one class answered, 0 on the
    K - 1 others, whatever the class balance): such a score
    is 0 by construction when every prediction is one class (scikit-learn's matthews_corrcoef
    returns 0.0 when its denominator is 0), and any model that varies its answers scores off 0 at
    the printed digits. Three evaluations, as ``worse_than_uniform_points``: the first may still
    be the majority class of a run that is about to learn (FNet-large on CoLA: MCC 0.0 at all
    three epochs while its loss sat at 0.616, the entropy of CoLA's 70/30 labels). Any other score
    that starts at 0 (mAP, BLEU, ROUGE) exactly 0 at 3+ evaluations is judged without the wait only
    when they reach the end the run's config planned (``planned_end_share``; a Trainer results table
    is its whole run), as the F-score rule does: mT5-small summarising, ROUGE-1 0.0 at all three
    epochs of a three-epoch card."""
    f_score_floor: float = 0.05
    """An F-score (F1, spaCy's ``ents_f``, a per-class ``f1_1``) that stayed below 0.05 at every one
    of at least ``f_score_points`` evaluations: F = 2PR / (P + R) is at least min(P, R), so at each
    evaluation either under 1 in 20 of the positives were found or under 1 in 20 of the positive
    calls were right: the model never learned to find the class the score is about, whatever an
    accuracy dominated by the other class says (BERT NER on a 50-sentence wikigold split: entity
    F1 0.0, 0.0005, 0.0005 over three epochs while token accuracy sat at the all-"O" rate 0.78).
    One in 20 is the 5% tolerance of ``chance_tol``. Not a text-overlap F-measure (ROUGE's
    ``rouge2_fmeasure``): a summary's bigram overlap is no count of positives found."""
    f_score_points: int = 3
    """...over at least 3 evaluations, as ``chance_corrected_points``: the first may be a model
    that has not started to move. On a log from the start of training, fewer than
    ``pinned_points`` evaluations are judged only when the run reached the end its config planned
    (``planned_end_share``): a model initialised at the class prior predicts no positive for its
    first epochs (a one-vs-rest digits model with RetinaNet's prior bias: micro-F1 exactly 0 for
    three epochs at lr 0.3, above 0.5 later), so three zeros are a start unless they are the
    whole run (BERT NER with num_epochs 3: entity F1 0.0, 0.0005, 0.0005 at epochs 1-3)."""
    planned_end_share: float = 0.95
    """A log reached the end its config planned when its last epoch is at least 95% of the
    config's epoch count (or its last step of the step count): HF's evaluation at the end of a
    13-step epoch prints epoch 2.9231 of 3 (97%)."""
    negligible_correlation: float = 0.1
    """A correlation score (Pearson, Spearman, Matthews, kappa) that never reached 0.1 over at
    least ``pinned_points`` evaluations: Cohen's "small" effect (Cohen 1988, Statistical Power
    Analysis, ch. 3: r = 0.1), below which a correlation is called negligible. Predictions that
    never correlate with the labels beyond that over five evaluations carry no information (an
    STS-B fine-tune of MobileBERT: Pearson -0.009 -> 0.065 over 10 epochs, where fine-tunes that
    learn pass 0.8 within two). A ROC AUC is judged as its rank correlation, Somers' D = 2 AUC - 1
    (Newson 2002): never above 0.55."""
    weak_correlation: float = 0.3
    """A correlation score (Pearson, Spearman, Matthews, kappa; not a ROC AUC) that never reached
    0.3 over at least ``chance_corrected_points`` evaluations is a warning: Cohen's "medium" effect
    (Cohen 1988, ch. 3: r = 0.3; 0.1 is "small"), below which predictions share under 9% of their
    variance with the labels. Fine-tunes that learn a correlation-scored task pass it within an
    evaluation or two (CoLA's Matthews 0.5+, STS-B's Pearson 0.8+ at the first epoch); a
    click-through model's AUC of 0.6-0.7 (Somers' D 0.2-0.4) is the state of its art."""
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
    reward that pays -1 per step either, which would need every episode to end at its first step.
    A success rate (``is_success``) exactly 0 at as many reports is the same evidence for a goal
    task (SB3 zoo TQC+HER on FetchSlide: 338 episodes, no success, returns -50 to -49.93)."""
    rise_noise_k: float = 3.0
    """Never rose above the start (RL): the best of the smoothed return (``task_curve``'s rolling
    median over 5% of the log) is at most 3 noise sigmas (successive-difference sigma of the
    reports) above the lowest of the first ``rise_base_points`` reports. The same 3 robust sigmas
    the return detectors count as a change (``ReturnThresholds.noise_k``): a gain smaller than
    that is the noise of an agent that learned nothing (rl-replicas' VPG on Ant: 39 epochs at
    -0.1 sigma from its start)."""
    rise_base_points: int = 3
    """...the start is the lowest of the first 3 reports: a run that learns at once (tianshou's
    InvertedPendulum, 5.9 then 992) keeps its untrained first evaluation as the start, and a
    lucky first report cannot make a stuck run look like one that fell back."""
    rise_trend_p: float = 0.05
    """...and the reports show no upward Mann-Kendall trend at the usual one-sided 5%: a return
    that creeps up steadily by less than its noise is learning slowly, not stuck."""
    rise_min_points: int = 20
    """...judged on at least 20 reports (``rate_min_points``: two independent 5-point windows on
    each half of the log) of a log that starts at the start of training, and, where the steps
    count updates, over at least ``min_steps`` of them: an excerpt from the middle of a run starts
    at whatever level the agent had reached, and the first 30 updates of an RLHF run (DeepSpeed-Chat,
    a reward score wandering around 0) are too early to call."""
    pinned_denominator: int = 50
    """...judged even while the training loss falls when the value is a fraction of at least
    50 (an evaluation set of 50+ examples whose every prediction stayed put: LSTM-HAR's test
    accuracy 0.18052256107330322 on 15 iterations while its loss fell 3x); a value like 0.8
    (4/5) repeats on a tiny evaluation set for no reason."""
    prior_entropy_tol: float = 0.05
    """...or whatever its denominator when the evaluation loss beside it names the same constant
    predictor: its median over the accuracy's evaluations within 5% (``chance_tol``'s band, of
    which ln 2 is the balanced case) of the two-class entropy of that accuracy, H(a) = -a ln a -
    (1 - a) ln(1 - a). A model that answers every input with the class prior scores the majority
    share a and a cross-entropy of the labels' entropy, H(a) on two classes: two independent
    readings of one constant predictor, as ``chance_two_reports_acc`` asks two of one K. A learned
    model at that accuracy has no reason to print it exactly at every evaluation (BEiT on a
    two-class image folder: accuracy 0.725 at all three epochs of 40 images, validation loss median
    0.5894 against H(0.725) = 0.5892). A multi-class prior's entropy is above H(a), so the rule
    reads two-class sets only."""
    prior_prefix_share: float = 0.5
    """A run that learned only after it answered with the class prior (accuracy printed exactly at
    its first value, the evaluation loss at that share's two-class entropy: ``prior_entropy_tol``)
    at ``pinned_fine_points``+ evaluations from the first, at least half of all of them, is a
    slow_progress warning: it spent half its budget before learning anything, the yardstick of
    ``plateau_min_budget`` (half the run without progress) and of ``_never_beat_constant`` (the
    constant answer at more than half the evaluations). A warning, not an error: the run did leave
    the prior, so the set-up works and the start was slow (MobileBERT on MRPC: accuracy 0.6838, the
    all-positive share, at the first 7 of 11 epochs beside a validation loss of 0.622-0.625 against
    H(0.6838) = 0.6239). A slow start over fewer evaluations is common in healthy runs."""
    flip_denominator: int = 20
    """An accuracy that takes only the two values a and 1 - a (to its printed digits) at each of
    ``pinned_fine_points``+ evaluations, both of them, is a constant predictor on a two-class set
    whose classes make up a and 1 - a of it, answering one class at some evaluations and the other
    at the rest (FedProx on Sent140: test accuracy 0.4061, 0.5939, 0.4061, 0.5939, 0.4061). Judged
    when the value is a fraction of at least 20, an evaluation set of 20+ examples: a model whose
    answers vary lands on the complement of its own accuracy only by a swing of |1 - 2a| of the
    set, and on one of two given counts at each of three evaluations by chance in well under 1%
    of runs at that size (a binomial count of 20 puts at most ~18% on any one value); on 4 examples
    0.75 and 0.25 are one answer apart."""
    error_floor: float = 0.9
    """An error rate (WER, CER) that never went below 90% over at least 3 evaluations: at most
    one word in ten right at the best evaluation of the whole run, no transcript a reader could
    use, which an output of a few frequent words also scores (an empty transcript scores exactly
    100%), so the model recognises nothing. A percentage is read as it is (90+ is 90%+ errors
    on either scale: a fraction of 90 would be 9,000%; whisper-small on Thai at lr 1e-7: WER 97.5
    -> 91.0 over five evaluations, a warning since stop 80: ``rate_trend_p``). A fraction needs a proof of its scale, since 0.9-1.2 could be a
    percentage's excellent 0.9-1.2%: exactly 1.0 at two evaluations (or at one while none is below
    it; a WER of exactly 1.00% twice in a 4-decimal table is no accident of a good model), or
    :attr:`fraction_band_max`'s falling loss (SEW-D mid on LibriSpeech: WER 0.99-1.13 at all 26
    evaluations). The default was 0.99 until stop 46; 0.9 is the same rule's "at most one in ten"."""
    fraction_band_max: float = 1.2
    """The other proof of a fraction: an error rate never below ``error_floor`` that printed a
    value above 1.0 and none above 1.2, while the evaluation loss fell by more than
    ``max_total_drop``. 1.2 is 20% more errors than reference words (SEW-D mid on LibriSpeech
    reached 1.13); read as a percentage every evaluation would lie between 0.9% and 1.2%, a
    ceiling no model whose evaluation loss halved sits at unmoved."""
    best_published_wer: float = 1.4
    """The third proof of a fraction, an inferred one (so a warning, not an error): a word error
    rate never below ``error_floor`` whose every evaluation printed a value below 1.4 and which
    moved. Read as a percentage, each evaluation would be under 1.4% word errors, the best
    published result on LibriSpeech test-clean, the cleanest public English read-speech benchmark
    (Zhang et al. 2020, "Pushing the Limits of Semi-Supervised Learning for Automatic Speech
    Recognition": 1.4% test-clean); a run whose every evaluation, its first included, beats the
    state of the art is no fine-tune. Read as a fraction, 0.9-1.4 is 90% to 140% errors, a model
    that recognises nothing. A CER is not read so: a character error rate near 1% is within reach;
    nor is a run whose training loss fell by more than ``max_total_drop`` while its evaluation loss
    did not, a model that keeps fitting its training set, which a percentage near 1% may describe,
    when that training loss had already learned at its first report (``fitted_start_loss``)."""
    rate_trend_p: float = 0.05
    """An error rate held above ``error_floor`` is a warning, not the error "the model recognises
    nothing", when it falls with a downward Mann-Kendall trend at the usual one-sided 5% (the
    level of ``chance_acc_trend_p`` and ``rise_trend_p``), improves on its first report, never
    printed exactly 100% (the score of an empty transcript), and the loss beside it (the evaluation
    loss where logged) fell by more than ``plateau_learned`` (a tenth, the bar for "the run did
    learn") from its first report to the median of its last three
    (:func:`lrdoctor.detect._progress.chance._learning_above_the_floor`). Two independent readings
    then say the model learns; what the floor is left to say is a run too slow or too short, or a
    metric the task cannot score: a WER on text without spaces between words (Chinese, Japanese,
    Thai), where a sentence is one "word", so one wrong character makes all of it wrong and a
    recogniser that gets most characters right still scores 90%+ (whisper-base on Common Voice
    zh-CN: WER 94.6 -> 90.1 over ten evaluations while the validation loss fell 0.68 -> 0.54)."""
    material_fall: float = 0.2
    """A fall of a fifth of its first report is a material improvement of a ratio-scale quantity
    (a loss, an error rate: 0 is nothing wrong), when it also falls with a downward Mann-Kendall trend
    at ``rate_trend_p``: ``performance_reversal``'s ``min_gain_share``, the project's one-fifth
    materiality, read downwards. Since stop 81 it clears two no-learning readings that a second
    column refutes: the rate rule's, beside an evaluation loss that fell so (:func:`_eval_fell_materially`:
    a GPT-2 on MIDI tokens, validation loss 0.7969 -> 0.5771 at every one of 21 evaluations while the
    training loss's first half fell 0.54% per 100 steps), and an error rate at its floor beside another
    error rate of the same evaluations that fell so
    (:func:`lrdoctor.detect._progress.chance._another_rate_fell`: a wav2vec2 CTC fine-tune, WER 0.9999,
    1.0, 1.0, 0.9701 while CER went 0.9815 -> 0.6014). Two readings then say the model learns."""
    fitted_start_loss: float = math.log(2.0)
    """The training loss's first report below which a run whose training loss alone fell may be a
    model already near 1% errors that keeps fitting its training set (``best_published_wer``'s
    exception): ln 2, the cross-entropy of a fresh binary classifier's uniform output, the lowest
    level any untrained classifier starts at (Karpathy 2019, "verify loss @ init": ln K, K >= 2).
    A pretrained recogniser at 1% errors starts its fine-tune far below it (whisper-small on
    Vietnamese: 0.0204 at its first report, beside WER 1.21-1.37, a percentage). A first report at
    or above it is a model that had not learned when the error rate was first printed, so its
    training loss's fall is learning from scratch, and the error rate's 0.9-1.4 the fraction of a
    model that recognises nothing (XLS-R 300m on Hindi: training loss 6.08 -> 0.0041 while the
    validation loss rose 3.38 -> 5.83 beside WER 1.008-1.094 at all seven evaluations)."""


DEFAULTS = ProgressThresholds()
















































































def _needs(run: Run, th: ProgressThresholds) -> str | None:
    """A training loss, or (RL runs too) a task metric with a logged LR for the finished-schedule rule,
    or ``pinned_fine_points`` evaluations of a task metric for the pinned-metric rule."""
    from lrdoctor.detect._classes import num_classes

    why = needs.loss(run)
    if why is None or run.is_gan:
        return None  # (a GAN: its frozen-game rule judges the two players' losses)
    if "lr" in run and any(n in run for n in ("ep_return", "eval_return", "task_metric", "eval_accuracy")):
        return None
    if any(is_error_rate(n) for n in run.metrics):
        return None  # an error rate (WER, CER) is judged on its own
    if run.is_rl and any(needs.points(run, n) >= th.return_floor_points for n in ("ep_return", "eval_return")):
        return None  # a return alone can show the agent stuck at the reward's floor
    if needs.points(run, "lr") >= th.frozen_points:
        return None  # an LR alone can show that nothing is learned (it stays 0)
    if _box_terms(run) and needs.points(run, "loss") >= th.no_match_points:
        return None  # a zero box-regression term on two reports shows no box was ever matched
    if needs.points(run, "eval_loss") >= th.frozen_points:
        return None  # evaluations alone can show that the evaluated model never changes
    if needs.points(run, "eval_loss") == 2 and needs.points(run, "eval_accuracy") == 2:
        return None  # two evaluations at ln K and 1/K show a model at chance (``_two_reports_at_chance``)
    if not run.is_rl and any(needs.points(run, n) >= th.pinned_fine_points for n in ("eval_accuracy", "task_metric", "success_rate")):
        return None  # a task metric alone can show it never changed (MXNet's Validation-accuracy greps)
    if not run.is_rl and any(needs.points(run, n) >= th.f_score_points for n in f_score_columns(run)):
        return None  # an F-score alone can show the class it scores was never found
    if not run.is_rl and num_classes(run) is not None and any(needs.points(run, n) >= 1 for n in ("eval_accuracy", "task_metric")):
        return None  # an accuracy at 1/K of the config's K, even at one report, shows a model at chance (``_few_reports_at_chance``)
    return why














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
    class_prior_entropy: float
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
    constant_accuracy: bool
    #: the loss within ``chance_two_reports_fixed`` of ln K at every report beside an accuracy more
    #: than ``chance_acc_margin`` under 1/K: the arg max of a uniform output (``_uniform_output``)
    uniform_output: bool
    from_the_start: bool
    error_rate_median: float
    repeated_pairs: int
    expected_pairs: float
    first: float
    lowest_after: float
    last: float
    chance: float
    undefined_points: int
    #: the loss still falling beside a metric-read finding softened to a warning (``still_falling``),
    #: and the levels of the first and last thirds of its second half
    loss_still_falling: str
    loss_falling_from: float
    loss_falling_to: float
    #: an error rate above the floor softened to a warning: its downward trend's one-sided p-value and
    #: the loss column that fell by a tenth beside it (``rate_trend_p``)
    rate_trend_p: float
    loss_fell: str
    #: a frozen evaluation softened to a warning: every evaluation came within the first
    #: ``min_steps`` updates and the first epoch (``_frozen_at_the_start``)
    within_first_updates: bool
    #: a score pinned at one value softened to a warning: the mean generated length of the same
    #: evaluations moved, so the outputs did change (``_outputs_moved``)
    outputs_moved: str
    #: a metric-read finding softened to a warning: every report within the first epoch, in a log
    #: with no loss at all (``_first_epoch_without_a_loss``)
    within_first_epoch: bool
    #: an evaluation accuracy of exactly 0 softened to a warning: the median evaluation loss of the
    #: same evaluations, under ``zero_acc_max_loss`` (``_zero_accuracy_beside_a_low_loss``)
    eval_loss_says_some_right: float


def _eval_fell_by(run: Run, share: float) -> bool:
    """True when the evaluation loss's last report is below ``1 - share`` of its first: by
    ``max_total_drop``, the same bar that clears the training loss (a CTC fine-tune whose training
    loss, with dropout and SpecAugment, fell 36% while its validation loss fell 59%: 0.46 -> 0.19)."""
    s = run.series("eval_loss")
    if s is None:
        return False
    v = s.finite().values
    return v.size >= 2 and v[0] > 0 and v[-1] <= (1 - share) * v[0]


def _eval_fell_materially(run: Run, th: ProgressThresholds) -> bool:
    """True when the evaluation loss's last report is at least ``material_fall`` below its first and
    its reports fall with a downward Mann-Kendall trend at ``rate_trend_p``: the evaluated model
    improved materially, and not by one lucky evaluation. The rate rule reads the training loss's
    first half against ``min_drop_per_100``; a held-out loss that fell by a fifth with a significant
    trend is a model that learns (slowly, perhaps, but the labellers' "still improving"), which a
    yellow flag on the training loss's pace does not overturn (a GPT-2 on MIDI tokens: validation
    loss 0.7969 -> 0.5771, lower at each of 21 evaluations)."""
    s = run.series("eval_loss")
    return s is not None and fell_materially(s.finite().values, th)


@detector("slow_progress", thresholds=DEFAULTS, evidence=SlowProgressEvidence, needs=_needs, partial=class_count_unmet)
def detect_slow_progress(run: Run, th: ProgressThresholds = DEFAULTS) -> list[Finding]:
    """The no-learning rules of :mod:`lrdoctor.detect._progress` in order (the first that fires is
    the finding), then the rate rule. Cannot judge (:class:`CannotJudge`) when none fires but the
    loss sits at ln K, with the accuracy at 1/K, on a log that ends within the first ``min_steps``
    updates of training or while the LR is still warming up: too early to call the run stuck."""
    rules = (_lr_stays_zero, _stuck_at_chance, _two_reports_at_chance, _accuracy_at_chance, _accuracy_around_chance, _pinned_at_one_over_k, _recall_at_one_over_k, _worse_than_uniform, _at_uniform, _collapsed_to_zero, _zero_throughout, _frozen_loss, _frozen_eval, _frozen_term, _recurring_loss, _error_rate_at_max, _pinned_error_rate, _flipping_constant_predictor, _pinned_task_metric, _pinned_after_the_first, _never_beat_constant, _prior_for_half_the_run, _negligible_correlation, _f_score_at_floor, _constant_predictor_f_score, _no_box_matched, _never_below_start,
             _no_gain_over_finished_schedule, _score_zero_while_learned, _empty_generations, _weak_correlation, _frozen_generations,
             _at_chance_from_the_start, _few_reports_at_chance, _few_evaluations_around_chance, _held_out_at_chance) if not run.is_rl \
        else (_lr_stays_zero, _degenerate_groups, _return_at_floor, _no_gain_over_finished_schedule, _return_never_rose)
    if run.is_gan:
        rules = (_lr_stays_zero, _frozen_game)
    elif needs.loss(run) is not None and not run.is_rl:
        rules = (_lr_stays_zero, _stuck_at_chance, _two_reports_at_chance, _accuracy_at_chance, _accuracy_around_chance, _pinned_at_one_over_k, _recall_at_one_over_k, _error_rate_at_max, _pinned_error_rate, _flipping_constant_predictor, _pinned_task_metric, _pinned_after_the_first, _never_beat_constant, _negligible_correlation, _f_score_at_floor, _constant_predictor_f_score, _no_box_matched, _frozen_eval, _no_gain_over_finished_schedule, _score_zero_while_learned, _empty_generations, _weak_correlation, _frozen_generations, _at_chance_from_the_start, _few_reports_at_chance, _few_evaluations_around_chance, _held_out_at_chance)  # no training loss: only these can judge (the chance rule on the evaluation loss)
    unjudged: list[str] = []  # why the chance rule could not conclude, where it could not
    for rule in rules:
        got = rule(run, th, unjudged) if rule is _stuck_at_chance else rule(run, th)
        if got is not None:
            return [_calibrated(run, rule, got, th)]
    found = [] if run.is_rl or needs.loss(run) is not None else _slow_rate(run, th)
    if not found and unjudged:
        # the chance picture on a log too early to call stuck: not "checked and silent", which
        # reads as "learning fine" (issue 9: where a log is too short to judge a kind, say so)
        raise CannotJudge(unjudged[0])
    return found


def _slow_rate(run: Run, th: ProgressThresholds) -> list[Finding]:
    """The rate rule: a training loss (steps as the unit) whose first half fell under
    ``min_drop_per_100`` per 100 steps, under ``max_total_drop`` over the run, with no fast front."""
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
    if _eval_fell_by(run, th.max_total_drop):
        return []  # the evaluated model improved by more than half: it learns, whatever the training loss's rate
    if _eval_fell_materially(run, th):
        return []  # the evaluated model improved by a fifth, with a downward trend: slowly, but materially
    ev = {"loss_start": start, "loss_mid": mid, "loss_end": end, "drop_per_100_steps": rate,
          "total_drop": total, "first_quarter_share_of_drop": front, "steps": float(span)}
    if share is not None:
        ev["lr_median_share_of_peak"] = share
    summary = (f"loss fell only {rate:.2%} per 100 steps over the first half (from {fmt(start)} to "
               f"{fmt(mid)}), {total:.0%} over the whole run")
    cause = ("The learning rate is too low for this model (or the model barely trains: frozen "
             "parameters, data or labels wrong). Fine-tuning a pretrained model can also start near its floor.")
    return [Finding("slow_progress", Severity.WARNING, float(steps[0]), float(steps[-1]), summary, ev, cause)]


#: the no-learning rules that read a task metric, not the loss: the ones ``still_falling`` calibrates
_METRIC_RULES = frozenset({_accuracy_at_chance, _accuracy_around_chance, _pinned_at_one_over_k, _recall_at_one_over_k, _error_rate_at_max,
                           _pinned_error_rate, _flipping_constant_predictor, _pinned_task_metric, _pinned_after_the_first, _never_beat_constant,
                           _negligible_correlation, _f_score_at_floor, _constant_predictor_f_score})


def _still_falling(run: Run, th: ProgressThresholds) -> tuple[str, float, float] | None:
    """The loss (evaluation, else training) whose second half still falls by more than
    ``still_falling``, to a level within that share of its lowest report (a loss coming back down
    from a blow-up is no learning run: RemBERT at 0.46, 1.36, 1.29, 0.80): its column and the levels
    of that half's first and last thirds; None when it does not, or when there is none of 3+ finite
    positive reports."""
    judged = [(role, s.finite().values) for role, s in ((r, run.series(r)) for r in ("eval_loss", "loss")) if s is not None]
    judged = [(role, x) for role, x in judged if x.size >= 3 and (x > 0).all()]
    if not judged:
        return None
    role, x = judged[0]  # the evaluation loss where it can be judged: a training loss falls as a model memorises
    first, last = second_half_ends(x)
    if first - last > th.still_falling * first and last <= (1 + th.still_falling) * float(x.min()):
        return run.meta.roles.get(role, role), first, last
    return None


def _within_first_updates(run: Run, f: Finding, th: ProgressThresholds) -> bool:
    """True when every evaluation behind ``f`` came within the first ``min_steps`` optimizer updates
    of a log that starts at the start of training: however many evaluations a run of a few dozen
    updates made, they are the start of training, which the chance rules do not call stuck either
    (``_too_early``, which also asks the first report at step 1 or earlier: a results table's first
    evaluation comes an epoch in, at step 5 here). A clinical NER card evaluated every 5 updates: entity F1 0.0003-0.0015 at all
    five evaluations, over 25 updates, while the validation loss fell 4.77 -> 2.46 and the token
    accuracy rose 0.02 -> 0.47."""
    from lrdoctor.detect.initial_loss_anomaly import starts_at_the_start

    return (run.meta.step_unit == "step" and f.end_step is not None and float(f.end_step) < th.min_steps
            and starts_at_the_start(run))


def _within_first_epoch(run: Run, f: Finding) -> bool:
    """True when the log's epoch column reads under 1 at ``f``'s last step: the run had not yet
    seen its data once. (A small set's ten epochs of 44 updates each are far more than a start, for
    all their 440 updates: a Persian QA card whose validation loss is 5.6923 at all ten epochs while
    its training loss moves.)"""
    epoch = value_at(run.series("epoch"), float(f.end_step)) if f.end_step is not None else None
    return epoch is not None and epoch < 1.0


def _loss_logged(run: Run) -> bool:
    """True when the log holds a training or an evaluation loss with at least one finite report."""
    return any(s.values.size for _, s in _logged(run, ("loss", "eval_loss")))


def _first_epoch_without_a_loss(f: Finding) -> Finding:
    """``f`` (a no-learning finding read from a task metric) at warning: every report behind it came
    within the run's first epoch (:func:`_within_first_epoch`: the data not yet seen once), and the
    log holds no loss at all (:func:`_loss_logged`). A classifier trained from scratch scores 1/K
    until it learns, which prints as 0 for the tens of thousands of identities of a face-recognition
    set, and a large-margin loss (ArcFace, CosFace) holds its training accuracy at 0 through its
    first thousands of batches by design (MXNet insightface, ArcFace on MS1M: acc=0.000000 at
    batches 20-260 of epoch 0, no loss printed). Within the first epoch only the loss could tell a
    start that has not yet left chance from a run that never will, as ``still_falling`` reads it
    beside the metric's floor; with none logged the log cannot, and an error claims it can. With a
    loss logged, that loss decides (``still_falling``), as before."""
    summary = (f"{f.summary}; but every report came within the first epoch and the log holds no loss to show whether "
               "the model moves: too early to call the run stuck")
    return Finding(f.kind, Severity.WARNING, f.start_step, f.end_step, summary, dict(f.evidence, within_first_epoch=True), f.cause)


def _frozen_at_the_start(f: Finding) -> Finding:
    """A frozen evaluation loss as a warning: every evaluation came within the first ``min_steps``
    updates, and within the first epoch (:func:`_within_first_epoch`), of a log from the start of
    training, where an LR still warming up, or set low, moves the weights by less than the
    evaluation's printed digits (a GPT-2 pretraining card evaluated at each of its first 15 updates
    at lr 1e-5: validation loss 10.8672 every time, ln 50257 = 10.82); the chance rules call no run
    stuck there either (``_too_early``). Still a warning: an evaluation that does not move at all may
    also be a stale checkpoint, or a model that is not updated."""
    summary = (f"{f.summary}; but every evaluation came within the first {fmt(float(f.end_step))} updates, "
               "too early to call the run stuck")
    return Finding(f.kind, Severity.WARNING, f.start_step, f.end_step, summary, dict(f.evidence, within_first_updates=True), f.cause)


def _calibrated(run: Run, rule: Callable[[Run, ProgressThresholds], Finding | None], f: Finding,
                th: ProgressThresholds) -> Finding:
    """``f`` at warning instead of error when ``rule`` read a task metric at fewer than
    ``pinned_points`` evaluations, or at more but all within the first ``min_steps`` updates
    (:func:`_within_first_updates`), and the loss beside it is still falling (``still_falling``);
    ``f`` itself otherwise. A frozen evaluation loss whose evaluations all came within the first
    ``min_steps`` updates and the first epoch is a warning too (:func:`_frozen_at_the_start`), and so
    is a score pinned at one value beside a mean generated length that moved (:func:`_outputs_moved`),
    read after the falling loss, whose warning it leaves as it was. First of the metric rules' checks,
    at any count of evaluations: an evaluation accuracy of exactly 0 beside an evaluation loss that
    says some answers are right (:func:`_zero_accuracy_beside_a_low_loss`), then every report within
    the first epoch of a log with no loss to read (:func:`_first_epoch_without_a_loss`)."""
    if f.severity is Severity.ERROR and rule is _frozen_eval and _within_first_updates(run, f, th) and _within_first_epoch(run, f):
        return _frozen_at_the_start(f)
    if f.severity is not Severity.ERROR or rule not in _METRIC_RULES:
        return f
    some_right = eval_loss_says_some_right(run, f, th)
    if some_right is not None:
        return _zero_accuracy_beside_a_low_loss(run, f, some_right)
    if _within_first_epoch(run, f) and not _loss_logged(run):
        return _first_epoch_without_a_loss(f)
    if int(f.evidence.get("points", 0)) >= th.pinned_points and not _within_first_updates(run, f, th):
        return _outputs_moved(run, f) or f
    falling = _still_falling(run, th)
    if falling is None:
        return _outputs_moved(run, f) or f
    col, first, last = falling
    ev = dict(f.evidence, loss_still_falling=col, loss_falling_from=first, loss_falling_to=last)
    summary = (f"{f.summary}; but {col} is still falling ({fmt(first)} -> {fmt(last)} over the second half), "
               "so the run may yet leave the floor, or the metric measures something else")
    cause = ("The metric sat at its floor while the loss kept improving: the run ended before the model's "
             "predictions crossed into what the metric counts (too few steps, or an LR too low), or the metric "
             "does not read the outputs the way the loss does (label ids, thresholds, decoding).")
    return Finding(f.kind, Severity.WARNING, f.start_step, f.end_step, summary, ev, cause)


def _zero_accuracy_beside_a_low_loss(run: Run, f: Finding, median: float) -> Finding:
    """``f`` at warning: it read an evaluation accuracy of exactly 0 at every evaluation, and the
    evaluation loss of the same evaluations, with median ``median`` under ``zero_acc_max_loss``
    (:func:`lrdoctor.detect._progress.chance.eval_loss_says_some_right`), says some predictions are
    right. The log contradicts itself: the accuracy is computed wrongly (label ids, the decision
    threshold, a pairwise accuracy that counts ties as wrong), or the loss is. Neither proves the run
    broken, which an error claims; whichever is wrong, the metric cannot be trusted, hence the warning."""
    loss = run.meta.roles.get("eval_loss", "eval_loss")
    summary = (f"{f.summary}; but {loss} over the same evaluations has median {fmt(median)}, under ln 10: read as a "
               "cross-entropy it puts at least 10% on the true class on average, so some answers are right and an "
               "accuracy of exactly 0 is the metric's, not the model's")
    cause = ("The accuracy sat at exactly 0 while the loss of the same predictions says some are right: the metric does "
             "not read the outputs the way the loss does (label ids, the decision threshold, an argmax over the wrong "
             "axis, a pairwise accuracy that counts ties as wrong).")
    return Finding(f.kind, Severity.WARNING, f.start_step, f.end_step, summary,
                   dict(f.evidence, eval_loss_says_some_right=median), cause)


def _outputs_moved(run: Run, f: Finding) -> Finding | None:
    """``f`` at warning when it says that a score printed one value at every evaluation, so the
    predictions never changed (``UNCHANGED_RULE``), and the mean generated length of the same
    evaluations printed more than one value (:func:`generated_length_moved`): the outputs did
    change, which refutes the error's own reading of the pinned score. What is left is a score that
    did not move with outputs that did: a model whose outputs never came nearer the references, or a
    scorer that does not read them (CodeT5 fine-tuned on bug fixes: BLEU 0.0015 at all three epochs
    while Gen Len went 14.4656 -> 14.5219 and both losses fell by a fifth; mT5 on lower-casing:
    ROUGE-1 21.3986 at all five epochs while Gen Len went 10.4989 -> 14.4947). A warning, which the
    log cannot settle either way. None when either does not hold."""
    if f.evidence.get("rule") != UNCHANGED_RULE or f.start_step is None or f.end_step is None:
        return None
    col = generated_length_moved(run, float(f.start_step), float(f.end_step))
    if col is None:
        return None
    said = f.summary
    for claim in (": the predictions never changed", ": the outputs never changed"):  # the reading the moving length refutes
        said = said.replace(claim, "")
    summary = f"{said}; but {col} moved over the same evaluations, so the outputs did change: the score never followed them"
    cause = ("The generated outputs changed, the score of them did not: they never came nearer the references (a model "
             "that has not learned the task yet), or the scorer does not read them (tokenisation, label ids, "
             "post-processing of the decoded text).")
    return Finding(f.kind, Severity.WARNING, f.start_step, f.end_step, summary, dict(f.evidence, outputs_moved=col), cause)


class PlateauEvidence(Evidence):
    """What a ``plateau`` finding proves itself with (keys absent when not measured)."""

    last_improvement_step: float
    best_loss: float
    plateau_steps: float
    lr_share_of_peak: float
    metric: str
    value: float
    points: int
    rule: str
    learned_metric: str
    learned_from: float
    learned_to: float
    learned_below: float


def _flat_stretch(run: Run, th: ProgressThresholds) -> tuple[np.ndarray, int, int] | None:
    """(the trend's steps, the report of the last new best, the reports since) when the loss trend
    learned (fell by a tenth of its start) and then made no new best for at least
    ``plateau_min_budget`` of the run (and ``patience_fraction``); None otherwise. A new best beats
    the best *as of the last improvement* by ``new_best`` x the total progress: a loss that creeps
    down a little at every report keeps improving (9.0 -> 6.0 at a constant LR); and by
    ``new_best_scatter`` standard errors of the smoothed level, so that a dip of the noise is no
    improvement (a detector's batch loss swinging 0.77-1.08 about a flat level)."""
    t = objective_trend(run)
    if t is None or t.n < th.min_plateau_points:
        return None
    sm, steps = t.smooth, t.c.step
    total = sm.max() - sm.min()
    if total <= 0 or (sm[0] - sm.min()) < th.plateau_learned * abs(sm[0]):
        return None
    eps = max(th.new_best * total, th.new_best_scatter * t.level_se)
    last, ref = 0, float(sm[0])
    for i in range(1, t.n):
        if sm[i] < ref - eps:
            last, ref = i, float(sm[i])
    flat = t.n - 1 - last
    if flat < max(th.patience_fraction, th.plateau_min_budget) * t.n:
        return None
    return steps, last, flat


def _trend_needs(run: Run, th: ProgressThresholds) -> str | None:
    """The trend rule's need: a training loss of ``min_plateau_points`` reports (on fewer, the flat
    share of the run is a handful of reports)."""
    return needs.loss_points(th.min_plateau_points, "on fewer, the flat share of the run is a handful of reports")(run)


def _plateau_needs(run: Run, th: ProgressThresholds) -> str | None:
    """The trend rule's reports (:func:`_trend_needs`), or ``frozen_points``+ evaluations or training
    reports for the frozen rules (:func:`_frozen_after_learning`, :func:`_frozen_loss_after_learning`),
    which a short table or an epoch log has."""
    for role in ("eval_loss", "loss"):
        s = run.series(role)
        if s is not None and s.finite().values.size >= th.frozen_points:
            return None
    return _trend_needs(run, th)


@detector("plateau", thresholds=DEFAULTS, evidence=PlateauEvidence, needs=_plateau_needs)
def detect_plateau(run: Run, th: ProgressThresholds = DEFAULTS) -> list[Finding]:
    """Four rules: the evaluation loss, or else the training loss, frozen after the run learned (a
    warning: the rest of the run bought nothing), or a positive LR a schedule decayed below
    ``lr_nil`` (a warning: the run stalled and no update can move it), then the trend rule (no new
    best for half the run while the LR stays high: an info, the run converged and a decay would help)."""
    frozen = _frozen_after_learning(run, th) or _frozen_loss_after_learning(run, th) or _lr_decayed_to_nil(run, th)
    if frozen is not None:
        return [frozen]
    why = _trend_needs(run, th)
    if why is not None:
        raise CannotJudge(why)  # the frozen rule ran and found nothing; the trend rule could not run
    got = _flat_stretch(run, th)
    if got is None:
        return []
    steps, last, flat = got
    if "lr" not in run:
        # a plateau is reported only while the LR stays high (``min_plateau_lr``): without a logged
        # LR a flat stretch is neither a finding nor cleared, and the report says it could not tell
        # rather than listing the check as run and silent (a loss that kept improving needs no LR)
        raise CannotJudge(f"the loss made no new best after step {fmt(float(steps[last]))} ({flat / (flat + last + 1):.0%} of "
                          "the reports), but with no learning-rate column (lr, learning_rate, ...) it cannot tell an LR "
                          "still high, where a decay would help, from a finished schedule; log the LR")
    t = objective_trend(run)
    share = _lr_share(run, steps[last], steps[-1])
    if share is None or share < th.min_plateau_lr:
        return []
    ev = {"last_improvement_step": float(steps[last]), "best_loss": float(np.minimum.accumulate(t.smooth)[-1]),
          "plateau_steps": float(steps[-1] - steps[last]), "lr_share_of_peak": share}
    summary = (f"no new best loss since step {fmt(steps[last])} ({flat / t.n:.0%} of the run) "
               f"while the LR stayed at {share:.0%} of its peak")
    cause = "The LR is too high to settle into a lower loss; a decay (cosine, step, or on plateau) would let it."
    return [Finding("plateau", _trend_severity(share, th), float(steps[last]), float(steps[-1]), summary, ev, cause)]


def _trend_severity(share: float, th: ProgressThresholds) -> Severity:
    """The trend rule's severity from the LR's share of its peak over the flat stretch: a warning
    when the LR has not decayed (``plateau_undecayed_lr``), since nothing in the schedule will let
    the loss settle and the rest of the budget goes the way of the flat half; an info otherwise,
    where the decay under way may still do it."""
    return Severity.WARNING if share >= th.plateau_undecayed_lr else Severity.INFO


@fix_rule("slow_progress")
def fix_slow_progress(run: Run, f: Finding) -> Prescription:
    """Only the rate rule (a loss that falls, slowly) is cured by a larger LR. An LR that reached
    0 needs its schedule's floor; a run that learns nothing at all (frozen, collapsed, stuck at
    chance, pinned) needs its data, loss and trainable parameters checked first: a 3x LR on a
    model whose gradients are 0 changes nothing. A metric at its floor beside a loss still falling
    (a warning, ``still_falling``) needs a longer run or a look at how the metric reads the outputs."""
    ev = f.evidence
    if "drop_per_100_steps" in ev:
        return Prescription([lr_fix(run, f, SLOW_LR_RAISE, "< 1% loss drop per 100 steps: raise the LR 3x; confirm with an LR range test")], [Watch("loss", "> 1% drop per 100 steps early in the run", "still slower means the LR is not the limit: check data and frozen layers")])
    if "eval_loss_says_some_right" in ev:  # an accuracy of exactly 0 beside a loss that says some answers are right
        return Prescription([
            Fix("metric computation", None, None,
                f"{ev.get('metric', 'the accuracy')} is exactly 0 while the evaluation loss (median {fmt(float(ev['eval_loss_says_some_right']))}) "
                "says some predictions are right",
                note="score a few evaluation batches by hand: compare the argmax (or the thresholded output) with the label ids, "
                     "check the axis of the argmax and, for a pairwise accuracy, that the chosen-over-rejected comparison is the right way round"),
        ], [Watch(str(ev.get("metric", "accuracy")), "above 0 as soon as the evaluation loss is below ln 10",
                  "exactly 0 beside a low loss means the metric, not the model, is broken")])
    if ev.get("rule") == PRIOR_FIRST_HALF_RULE:  # the run left the prior in the end: a slow start, not a broken set-up
        return Prescription([
            Fix("warm-up / initial LR", config_value(run.config, ("warmup_steps", "warmup_ratio", "warmup_epochs")), None,
                "the model answered with the class prior for half the run before it learned",
                note="shorten the warm-up or start at a higher LR (an LR range test finds where the loss first falls); "
                     "a seed that sticks at the prior for longer is the same start"),
            lr_fix(run, f, SLOW_LR_RAISE, "half the run at the class prior: raise the LR 3x for the early epochs"),
        ], [Watch(str(ev.get("metric")), "moves off the majority share within the first quarter of the evaluations",
                  "one value for half the run means half the budget bought nothing")])
    if ev.get("rule") == ZERO_SCORE_RULE:
        return Prescription([
            Fix("generation settings", None, None, "a score of exactly 0 beside a loss that learned is empty output or a scorer that drops it",
                note="print a few decoded predictions: if they are empty, raise max_new_tokens / generation_max_length and check that EOS and pad differ and skip_special_tokens=True"),
            Fix("metric tokenizer", None, None, "rouge_score's default tokenizer keeps only a-z and 0-9: non-Latin text scores 0",
                note="pass a tokenizer that splits the language (characters for Chinese, whitespace for Arabic) to the ROUGE scorer, or use sacrebleu"),
        ], [Watch(str(ev.get("metric")), "above 0 from the first evaluations of a model whose loss falls", "0 with a falling loss means the score measures nothing")])
    if ev.get("rule") == EMPTY_GENERATION_RULE:
        return Prescription([
            Fix("generation settings", None, None, "a generated length of one token is the end-of-sequence alone: empty outputs",
                note="decode a few predictions; check generation_max_length / max_new_tokens, that decoder_start_token_id is not the EOS, and that no forced EOS or pad token comes first"),
            Fix("labels", None, None, "a model trained on targets that are empty (all -100, or truncated to nothing) learns to stop at once",
                note="decode a few training labels: they must hold the reference text, not only the EOS"),
        ], [Watch(str(ev.get("metric")), "near the references' mean length from the first evaluations", "a length of 1 means every output is empty")])
    if ev.get("rule") == FROZEN_GENERATION_RULE:
        return Prescription([
            Fix("decoded outputs", None, None, "a mean generated length that repeats to its last digit is outputs that no longer change",
                note="decode the same few inputs at two checkpoints: one output for every input is a collapsed decoder (check the LR, "
                     "the labels and the decoder's shifted inputs); the same outputs at both checkpoints are weights that no longer update"),
            Fix("trainable parameters", None, None, "no gradient reaches weights that are frozen, or whose steps the loss scaler skips",
                note="count parameters with requires_grad and in optimizer.param_groups; log the loss scale and skipped steps under fp16"),
        ], [Watch(str(ev.get("metric")), "changes between evaluations while the model trains", "the same mean length at every evaluation means the same outputs")])
    if "outputs_moved" in ev:  # a score pinned while the mean generated length moved (``_outputs_moved``)
        return Prescription([
            Fix("metric computation", None, None,
                f"{ev['outputs_moved']} moved while {ev.get('metric', 'the score')} did not: the outputs changed, their score did not",
                note="decode a few predictions at two evaluations and score them by hand: the scorer's tokenizer (rouge_score "
                     "keeps only a-z and 0-9), label ids left in the decoded text, post-processing of the outputs"),
            Fix("training length", config_value(run.config, ("num_train_epochs", "num_epochs", "epochs", "max_steps")), None,
                "outputs that changed without coming nearer their references may be a model still early in the task",
                note="once the scorer is checked, train longer and watch the score against the decoded outputs"),
        ], [Watch(str(ev.get("metric", "metric")), "moves between evaluations as the outputs do",
                  "a score that never moves while the outputs change does not read them, or they never near the references")])
    if "loss_still_falling" in ev:  # a metric at its floor beside a loss still falling (``still_falling``)
        return Prescription([
            Fix("training length", config_value(run.config, ("num_train_epochs", "num_epochs", "epochs", "max_steps")), None,
                f"{ev['loss_still_falling']} still falls at the end: the model is still learning when the run stops",
                note="train longer (2-3x the epochs or steps) and evaluate again; raise the LR only if the loss falls slowly"),
            Fix("metric computation", None, None, "a metric at its floor while the held-out loss improves may not read the outputs the loss does",
                note="decode or print a few predictions and score them by hand: label ids, the decision threshold, generation "
                     "settings, the scorer's tokenizer"),
        ], [Watch(str(ev.get("metric", ev.get("accuracy_metric", "metric"))), "leaves its floor within the added budget while the loss keeps falling",
                  "still at its floor once the loss has flattened means the run never learned the task")])
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


def _freeze_costs(run: Run, role: str, f: Finding, th: ProgressThresholds) -> bool:
    """True when the freeze ``f`` (a frozen rule's finding on ``role``) held for at least
    ``patience_fraction`` of that series' reports, counted as the trend rule counts its flat
    stretch: the reports after the last one that changed (the first frozen print), over all of them.
    A plateau is a finding only when it costs something (``plateau_min_budget``): a loss that
    froze on the run's last few reports converged late and spent almost nothing (an MPT-7B SFT under
    a cosine: validation loss 0.3893, 0.3873, 0.3862, then 0.3857 at the last 3 of 20 evaluations,
    2 intervals of 19), while one frozen for the patience or longer spent it without progress."""
    s = run.series(role)
    if s is None:
        return False
    n = int(s.finite().values.size)
    return n > 0 and int(f.evidence["points"]) - 1 >= th.patience_fraction * n


def _frozen_after_learning(run: Run, th: ProgressThresholds) -> Finding | None:
    """The evaluation loss frozen (:func:`lrdoctor.detect._progress.frozen.frozen_evaluation`) after
    the run learned (:func:`lrdoctor.detect._progress.frozen.learned_before`, or a loss under
    ``learned_floor`` x ln 2: :func:`lrdoctor.detect._progress.frozen.learned_below_any_prior`, or for an evaluation
    frozen from the first, :func:`lrdoctor.detect._progress.frozen.learned_by_the_first_evaluation`):
    every later evaluation of the same weights prints one value, so the rest of the budget bought nothing."""
    got = frozen_evaluation(run, th)
    if got is None:
        return None
    f, learned = got
    if not _freeze_costs(run, "eval_loss", f, th):
        return None  # a freeze over the run's last few evaluations: converged late, nothing spent
    below = None
    if learned is None or learned_before(run, f.start_step, th) is None:
        # frozen from the first evaluation: the first training report may still show the run learned
        # before it (a fall seen is quoted before a level: see the function); else the witness, if
        # any, is a loss's level alone (``learned_floor``, which frozen_evaluation already read)
        seen = learned_by_the_first_evaluation(run, f.start_step, th)
        below, learned = (learned if seen is None else None), (seen or learned)
    if learned is None:
        return None  # never learned: slow_progress's frozen-evaluation error
    role, first, low = learned
    ev = dict(f.evidence, rule=FROZEN_AFTER_LEARNING_RULE, learned_metric=role, learned_from=first, learned_to=low)
    how = f"{role} {fmt(first)} -> {fmt(low)}"
    if below is not None:
        ev["learned_below"] = th.learned_floor * math.log(2.0)
        how = f"{role} {fmt(low)}, under a tenth of ln 2, a level no untrained model or class prior reaches"
    summary = (f"the run learned ({how}), then stopped: the evaluation loss printed "
               f"{fmt(float(ev['value']))} at the last {ev['points']} evaluations (from step {fmt(f.start_step)}), so the "
               "rest of the run did not change the evaluated model")
    cause = ("The model stopped changing after it learned: the LR schedule reached ~0 long before training stopped "
             "(a decay sized for fewer steps than the run), updates were skipped (fp16 overflow), or the evaluation "
             "reloads one checkpoint.")
    return Finding("plateau", Severity.WARNING, f.start_step, f.end_step, summary, ev, cause)


def _frozen_loss_after_learning(run: Run, th: ProgressThresholds) -> Finding | None:
    """The training loss frozen (slow_progress's frozen-loss rule,
    :func:`lrdoctor.detect._progress.frozen._frozen_loss`) after the run learned
    (:func:`lrdoctor.detect._progress.frozen.learned_before`: a loss whose lowest report before the
    freeze is ``plateau_learned`` of its first below it): the model learned, then its updates stopped
    changing it, the evaluation rule's plateau read on the training loss (a TF1 Siamese MLP under plain
    gradient descent: epoch cost 0.472 -> 0.258, then 0.250 at the last three epochs). slow_progress
    keeps its error beside it: a loss that prints one value is dead weights, whatever came before."""
    f = _frozen_loss(run, th)
    if f is None or not _freeze_costs(run, "loss", f, th):
        return None
    learned = learned_before(run, f.start_step, th)
    if learned is None:
        return None  # frozen from the start, or after a fall under a tenth: slow_progress's alone
    role, first, low = learned
    ev = dict(f.evidence, rule=FROZEN_LOSS_AFTER_LEARNING_RULE, learned_metric=role, learned_from=first, learned_to=low)
    summary = (f"the run learned ({role} {fmt(first)} -> {fmt(low)}), then stopped: the training loss printed "
               f"{fmt(float(ev['value']))} at the last {ev['points']} reports (from step {fmt(f.start_step)}), so the "
               "rest of the run did not change the model")
    cause = ("The model stopped changing after it learned: the LR schedule reached ~0 long before training stopped, "
             "updates were skipped (fp16 overflow), or the outputs saturated (dead units pass no gradient).")
    return Finding("plateau", Severity.WARNING, f.start_step, f.end_step, summary, ev, cause)


LR_DECAYED_TO_NIL_RULE = "a positive LR decayed below lr_nil on every report of a log past the start"


def _lr_decayed_to_nil(run: Run, th: ProgressThresholds) -> Finding | None:
    """slow_progress's nil-LR picture (:func:`lrdoctor.detect._progress.schedule._lr_stays_zero`: an
    LR below ``lr_nil`` on every report of a log that does not start at the start of training) when
    that LR is positive, not 0: a schedule decayed it there, so the run trained at a real LR before
    the log began, and what the log shows is that training stalled, the labellers' plateau (a
    Time-Series-Library run whose LR was halved at each epoch without a new best down to 1.1e-24:
    "EarlyStopping counter 199 out of 300", one test loss at every epoch; Informer's LR halved to
    9e-281). No LR is configured below 1e-12, and halving needs 27 steps from 1e-4 to get there,
    each one a patience or an epoch without progress. An LR of exactly 0 may be a configuration
    that never learned: slow_progress's alone. slow_progress keeps its error beside it (no update
    can change the model)."""
    f = _lr_stays_zero(run, th)
    if f is None or not float(f.evidence.get("value", 0.0)) > 0.0:
        return None
    ev = dict(f.evidence, rule=LR_DECAYED_TO_NIL_RULE)
    summary = (f"the learning rate decayed to at most {fmt(float(ev['value']))} on all {ev['points']} reports (from step "
               f"{fmt(f.start_step)}): the schedule shrank it below what can change a float32 weight, so the run has "
               "stopped improving while training goes on")
    cause = ("A decay with no floor (ReduceLROnPlateau or a per-epoch halving without min_lr) kept shrinking the LR "
             "after the loss stopped improving: the remaining epochs are spent without learning.")
    return Finding("plateau", Severity.WARNING, f.start_step, f.end_step, summary, ev, cause)


@fix_rule("plateau")
def fix_plateau(run: Run, f: Finding) -> Prescription:
    if f.evidence.get("rule") in (FROZEN_AFTER_LEARNING_RULE, FROZEN_LOSS_AFTER_LEARNING_RULE):
        return Prescription([
            Fix("lr schedule length", config_value(run.config, ("decay_steps", "max_steps", "num_train_epochs", "num_epochs", "epochs")), None,
                "a loss that prints one value after the run learned is a model no longer updated",
                note="log the LR: a decay whose length (decay_steps, T_max, max_steps) is shorter than the run leaves it at 0; "
                     "size it to the run, or stop training where it ends"),
            Fix("early stopping", None, None, "the updates after the freeze cost compute and change nothing",
                note="stop at the first report (evaluation or epoch) that repeats the last one to all its digits, and keep that checkpoint"),
        ], [Watch(str(f.evidence.get("metric", "eval_loss")), "changes at every report while training goes on",
                  "one value at every report means the weights no longer move")])
    if f.evidence.get("rule") == LR_DECAYED_TO_NIL_RULE:
        return Prescription([
            Fix("min_lr", config_value(run.config, ("min_lr", "eta_min", "lr_end", "end_lr")), None,
                "the schedule kept shrinking the LR after the loss stopped improving, down to ~0",
                note="give the decay a floor (min_lr / eta_min ~ 1% of the peak) so the run can still move"),
            Fix("early stopping", None, None, "epochs at an LR below 1e-12 cost compute and change nothing",
                note="stop when the LR reaches its floor without a new best, and keep the best checkpoint"),
        ], [Watch(str(f.evidence.get("metric", "lr")), "above 1% of its peak while training continues",
                  "an LR of ~0 spends steps without learning")])
    return Prescription([Fix("lr_scheduler", config_value(run.config, ("lr_scheduler_type", "scheduler", "lr_scheduler")), None, f"no new best since step {fmt(f.evidence.get('last_improvement_step'))} at a high LR: decay it",
                             note="cosine to 1% of peak (or ReduceLROnPlateau factor 0.1)")], [WATCH_LOSS])
