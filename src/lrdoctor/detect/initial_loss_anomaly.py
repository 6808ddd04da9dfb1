"""``initial_loss_anomaly``: the first loss is far from ln(K), the cross-entropy of a
model that has not learned anything yet (uniform predictions over K classes).

Source: the classifier post-mortem (#4) and Karpathy, "A Recipe for Training Neural
Networks" (2019): "verify loss @ init". A first loss far above ln(K) means confident
wrong logits at init (bad final-layer init or scale); far below means the labels leak
or the loss is not the one you think.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lrdoctor.detect._classes import num_classes
from lrdoctor.detect._common import derived_from_perplexity, objective, perplexity_beside, training_loss_terms
from lrdoctor.fmt import fmt
from lrdoctor.detect import needs
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.names import loss_term_kind, normalize, tokens
from lrdoctor.run import Run, Series

__all__ = ["InitialLossThresholds", "detect", "cross_entropy_shown", "cross_entropy_named", "seq2seq_table_score", "classification_table_score", "starts_at_the_start", "first_logging_period", "reports_from_the_start", "CLASS_TERM_WORDS", "CROSS_ENTROPY_WORDS", "SEG_HEADS", "is_class_term"]


@dataclass(frozen=True)
class InitialLossThresholds(Thresholds):
    above: float = 1.5
    """First loss above ln(K) x 1.5 is anomalous (well beyond averaging effects)."""
    min_excess_nats: float = 1.0
    """...and at least 1 nat above ln(K). For logits of spread sigma at initialisation the expected
    cross-entropy is about ln(K) + sigma^2/2 (sigma^2/4 for two classes: the second-order term of
    log-sum-exp), so a fan-in-scaled head (sigma ~ 1) starts 0.25-0.5 nats above ln K. One nat is a
    spread of sqrt(2) (2 for two classes), twice the variance such a head gives. The ratio alone
    flagged ordinary binary starts: first losses of 1.2-1.3 (1.8-1.9x ln 2, 0.5-0.6 nats above it)
    for a small CNN or a pretrained encoder's new head, a spread of about 1.5. The nat floor binds
    only below K = 8, where 0.5 ln K is under one nat."""
    below: float = 0.5
    """First loss below ln(K) x 0.5 on the first step is anomalous."""
    lm_vocab_max: int = 262_144
    """Without K in the config, a loss the log itself shows to be a per-token cross-entropy (it
    prints a perplexity equal to exp(loss), or only the perplexity) is judged against ln of the
    largest vocabulary in common use, 2^18 (Gemma's 256k; Llama 3 128k, GPT-2 50k): ln 262144 =
    12.48. A first loss above 1.5x that (18.7 nats) is worse than a uniform guess over *any*
    vocabulary (PEFT prefix tuning of bloomz: train_epoch_loss 21.33 with train_ppl 1.83e9 at
    epoch 0). Only the "above" side: with the vocabulary unknown, no first loss is too low. The
    same bound holds for a classifier's mean cross-entropy over its labels, which a Trainer results
    table with a classification score shows (:func:`classification_table_score`): no label set in
    use is larger than a vocabulary."""
    ppl_match: float = 0.01
    """...where a perplexity column equals exp(loss) within 1% at every report both hold."""
    first_points: int = 3
    """The first logged points are averaged (median) to start from, as far as they fall within
    the first 3 steps: a later report is no longer the loss at initialisation."""


DEFAULTS = InitialLossThresholds()


class InitialLossAnomalyEvidence(Evidence):
    """What a ``initial_loss_anomaly`` finding proves itself with (keys absent when not measured)."""

    first_loss: float
    expected_ln_k: float
    num_classes: float
    config_key: str
    first_step: float
    ratio: float
    term: str
    cross_entropy_column: str
    underflow_loss: float


#: formats whose rows always begin with the first epoch of the run (they are written by it)
_FROM_START_FORMATS = frozenset({"yolo-results", "keras"})


#: A Monitor CSV whose first row's wall time ``t`` is past this many typical episode durations
#: (the median gap between rows' ``t``) is an excerpt from a later part of the run. The first
#: episode ends after one duration (a few when the first rollout is slow to start); 100 is two
#: orders of magnitude from that, and from no real start.
MONITOR_TAIL_EPISODES = 100


def _monitor_tail(run: Run) -> bool:
    t = run.series("t")
    if t is None:
        return False
    v = t.finite().values
    if v.size < 3:
        return False
    gap = float(np.median(np.diff(v)))
    return gap > 0 and float(v[0]) > MONITOR_TAIL_EPISODES * gap


def _first_epoch(run: Run) -> bool:
    """True unless an epoch column starts past 1 (a counter within a later epoch, see
    :func:`starts_at_the_start`)."""
    ep = run.series("epoch")
    return not (ep is not None and ep.finite().values.size and float(ep.finite().values[0]) > 1)


def starts_at_the_start(run: Run) -> bool:
    """True when the log's first row is the start of training: a real step column (not row
    numbers) whose first value is 0 or 1, or the end of the first period of a logger that reports
    every k steps, or a format written from the first epoch on. A
    pasted excerpt (epochs 320-334, steps 30020-...) has no initial loss to judge, and neither
    has one whose epoch column starts past 1 (a PointNet TF2 paste: "Epoch: 5", then "Training
    loss at step 0: 1.64", the counter within the epoch)."""
    if run.n_steps == 0:
        return False
    if not _first_epoch(run):
        return False  # a step counter that restarts each epoch: "Epoch: 5" then "step 0" is no start
    if run.meta.format == "gym-monitor":
        # a Monitor CSV is written from the first episode on (its step column counts their lengths),
        # unless its rows are the tail of one: its wall-clock column ``t`` (seconds since the
        # Monitor started) then begins many episodes in (rl-trained-agents' TQC PandaPush: the
        # last 495 episodes, from t = 41,201 s, at about 2 s an episode)
        return not _monitor_tail(run)
    if run.meta.step_column is None:
        return run.meta.format in _FROM_START_FORMATS
    st = run.steps
    return float(st[0]) <= 1 or first_logging_period(st)


def first_logging_period(st) -> bool:
    """True when steps ``st`` are evenly spaced from their first: a logger that reports every k
    steps writes its first report at step k (or k - 1), the end of the first logging period, the
    start (detectron2's metrics.json at iterations 19, 39, 59; HF at 10, 20)."""
    return st.size >= 3 and float(st[1] - st[0]) == float(st[2] - st[1]) and float(st[0]) <= float(st[1] - st[0])


def _loss_from_first_period(run: Run) -> bool:
    """True when the training loss's own reports are evenly spaced from the end of its first
    logging period (:func:`first_logging_period`), though the rows of the log are not: a logger
    that writes evaluation rows between its training reports (mmaction's log.json: a "train" row at
    iteration 10 of each 19-iteration epoch, a "val" row at its end, so rows at 10, 19, 29, 38) still
    writes its first training report at the end of the first period (loss steps 10, 29, 48)."""
    s = objective(run)
    return (run.meta.step_column is not None and _first_epoch(run) and s is not None
            and first_logging_period(s.finite().steps))


#: the counters of batches within an epoch that a logger without a global step prints (MXNet's
#: Speedometer: "Epoch[0] Batch [50] Speed: ... Train-Perplexity=...")
BATCH_COUNTERS = ("batch", "iter", "iteration")


def _batch_counter_from_first_period(run: Run) -> bool:
    """True when a log without a step column has an epoch column at its first epoch (0 or 1) and a
    counter of batches (:data:`BATCH_COUNTERS`) that rises evenly from the end of its first logging
    period (:func:`first_logging_period`): its first row is the first report of the run (an MXNet
    char-RNN at "Epoch[0] Batch [50]", [100], [150])."""
    ep = run.series("epoch")
    if run.meta.step_column is not None or ep is None or not ep.finite().values.size or not _first_epoch(run):
        return False
    for name in BATCH_COUNTERS:
        c = run.series(name)
        v = c.finite().values if c is not None else np.empty(0)
        if v.size >= 3 and v[1] > v[0] and first_logging_period(v):
            return True
    return False


def _trainer_loss_after_no_log(run: Run) -> bool:
    """True when ``run`` is a Hugging Face Trainer results table whose first row has no training
    loss and a later row has one: the card's table writes "No log" (which the reader leaves out)
    only before the first training loss of the run's whole log history, and carries the last logged
    value on every row after it, so a first row without one is the run's first evaluation, not a
    row pasted from the middle. Its first training loss is then the Trainer's first log, the mean
    over steps 1 to ``logging_steps`` (L), when the row showing it is no further from the row
    before it than the first row is from step 0: that row before is under L (it had no log), the
    first row too, so the row showing the loss is under 2L and no second log precedes it (wav2vec2
    on MInDS-14's 14 intents: "No log" at step 7, then 95.34 at step 11, 36x ln 14)."""
    from lrdoctor.detect._progress.common import is_trainer_results_table

    s = objective(run)
    if s is None or run.n_steps == 0 or s.steps.size == 0 or not is_trainer_results_table(run):
        return False
    rows, first = run.steps, float(s.steps[0])
    before = rows[rows < first]
    return before.size > 0 and first - float(before[-1]) <= float(rows[0]) and s.finite().values.size > 0


def reports_from_the_start(run: Run) -> bool:
    """True when the training loss's first report is the start of the run: the log starts there
    (:func:`starts_at_the_start`), or the loss's own reports start at the end of the first logging
    period (:func:`_loss_from_first_period`), or a batch counter within the first epoch does
    (:func:`_batch_counter_from_first_period`), or a Trainer table's first training loss follows
    its "No log" rows (:func:`_trainer_loss_after_no_log`)."""
    return (starts_at_the_start(run) or _loss_from_first_period(run) or _batch_counter_from_first_period(run)
            or _trainer_loss_after_no_log(run))


def cross_entropy_shown(run: Run, th: InitialLossThresholds = DEFAULTS) -> str | None:
    """The column that shows the training loss to be a per-token cross-entropy: a perplexity the
    loss was derived from, or one equal to exp(loss) within ``ppl_match`` at every shared report."""
    loss_col = run.meta.roles.get("loss")
    if loss_col is None:
        return None
    if derived_from_perplexity(run, "loss"):
        return loss_col
    ppl = perplexity_beside(run, "loss")
    if ppl is None:
        return None
    a, b = run.series("loss").finite(), run.series(ppl).finite()
    shared, ia, ib = np.intersect1d(a.steps, b.steps, return_indices=True)
    if shared.size == 0 or (b.values[ib] <= 0).any():
        return None
    with np.errstate(over="ignore"):
        ok = np.abs(np.exp(a.values[ia]) / b.values[ib] - 1.0) <= th.ppl_match
    return ppl if bool(ok.all()) else None


#: The words of a column name that say it is a cross-entropy (:func:`~lrdoctor.names.tokens` spells
#: "cross_entropy" as "xent"): OpenNMT's ``xent``, Keras' ``categorical_crossentropy``, ``ce_loss``.
#: Not "nll": the negative log-likelihood of a continuous density is negative wherever it exceeds 1.
CROSS_ENTROPY_WORDS = frozenset({"xent", "crossentropy", "ce"})


def cross_entropy_named(run: Run) -> str | None:
    """The training-loss column when its own name says it is a cross-entropy
    (:data:`CROSS_ENTROPY_WORDS`). A cross-entropy is a sum or mean of -log p over targets with p
    at most 1, so it is never negative, whatever the number of classes or the reduction; its
    scale, though, depends on both (a sum over tokens is no mean), so the name proves the sign
    alone."""
    col = run.meta.roles.get("loss")
    return col if col is not None and bool(CROSS_ENTROPY_WORDS & set(tokens(col))) else None


def seq2seq_table_score(run: Run) -> str | None:
    """The generation score (ROUGE, BLEU, chrF, METEOR, a generated length) of a Hugging Face
    Trainer results table, which shows its training loss to be the mean token cross-entropy of a
    sequence-to-sequence or causal LM: the Trainer's loss for such a model is the decoder's
    ``CrossEntropyLoss`` averaged over the target tokens, so a uniform guess over any vocabulary in
    use bounds it at the start, as a perplexity beside it would (flan-t5 generating questions:
    first training loss 40.2 nats beside its ROUGE columns). Other trainers sum over tokens or
    sentences (JoeyNMT's validation loss of 1e5, Marian's 48 per sentence), so the table's own
    columns, not the score alone, make the proof."""
    from lrdoctor.detect._progress.common import is_trainer_results_table
    from lrdoctor.names import TEXT_SCORE_WORDS, is_generated_length, tokens

    if not is_trainer_results_table(run) or run.meta.roles.get("loss") is None:
        return None
    return next((n for n in run.names if TEXT_SCORE_WORDS & set(tokens(n)) or is_generated_length(n)), None)


#: the words of a classification score in an HF results table's evaluation columns
_CLASS_SCORE_WORDS = frozenset({"accuracy", "acc", "f1", "precision", "recall"})


def classification_table_score(run: Run) -> str | None:
    """The classification score (accuracy, F1, precision, recall) of a Hugging Face Trainer results
    table, which shows its loss to be the mean cross-entropy of a classifier over its labels: the
    Trainer's loss for a sequence, token, image or audio classification head is ``CrossEntropyLoss``
    averaged over the examples (a multi-label head's ``BCEWithLogitsLoss`` averaged over the labels is
    lower still), so a uniform guess over any label set in use bounds it, as a perplexity would bound a
    language model's (BiT-50 on an image folder: first training loss 5.5e9 beside its accuracy;
    bert-large on a binary SuperGLUE task: 33.5). A CTC or detection table carries no such column."""
    from lrdoctor.detect._progress.common import is_trainer_results_table
    from lrdoctor.names import tokens

    if not is_trainer_results_table(run):
        return None
    return next((n for n in run.names if n.startswith("eval_") and _CLASS_SCORE_WORDS & set(tokens(n))), None)


def _loss_need(run: Run) -> Callable[[Run], str | None]:
    """What training loss the check needs: one finite report on a per-step axis
    (:func:`~lrdoctor.detect.needs.first_loss`), where the first report is the loss of the first few
    batches, the loss at initialisation this check reads (a GaNav segmentation at lr 0.01: loss_seg
    10.13 at iteration 50, then NaN); the :data:`~lrdoctor.detect.needs.MIN_LOSS_POINTS` of a loss
    shape on an epoch axis, where the first report is the mean over a whole epoch of descent, a start
    judged only beside the later epochs that show where the run went (a linear evaluation of two
    epochs starts at a mean of 3.96 over 10 classes and is healthy)."""
    few = needs.points(run, "loss") < needs.MIN_LOSS_POINTS
    return needs.loss if few and run.meta.step_unit == "epoch" else needs.first_loss


def _needs(run: Run) -> str | None:
    # (imported here: the chance rules import this module's ``starts_at_the_start``) a Trainer table
    # whose first row is the run's first evaluation starts at the start at irregular steps too
    # (epochs 0.86, 2.0, 2.86)
    from lrdoctor.detect._progress.chance import trainer_table_from_start
    from lrdoctor.io.textlog.tables import SENTENCE_TRANSFORMERS_LAYOUT, VOWPAL_WABBIT_LAYOUT

    if num_classes(run) is not None and run.meta.layout == SENTENCE_TRANSFORMERS_LAYOUT:
        # a pair or ranking objective: the task's class count says nothing of its first value (SetFit's
        # CosineSimilarityLoss at 0.1492 on a 4-intent classifier)
        return "a sentence-transformers / SetFit table: its loss is a pair or ranking objective, with no ln K"
    if num_classes(run) is not None and run.meta.layout == VOWPAL_WABBIT_LAYOUT:
        # VW's average loss is its --loss_function (squared by default) or, for a multiclass reduction, the
        # 0/1 loss: no cross-entropy, whatever K (bootstrap over oaa on 10 classes: 0.0 at the first example,
        # 0.5 at the second, each class unseen until then)
        return "a Vowpal Wabbit progress table: its average loss is VW's loss function or a 0/1 loss, with no ln K"
    loss_need = _loss_need(run)
    why = loss_need(run) or needs.num_classes_and_first_loss(run)
    if why is not None and loss_need(run) is None and (cross_entropy_shown(run) or seq2seq_table_score(run)
                                                        or classification_table_score(run)) is not None:
        why = None  # a per-token cross-entropy is judged against the largest vocabulary
    if why is not None and loss_need(run) is None and cross_entropy_named(run) is not None:
        why = None  # a loss named a cross-entropy is judged by its sign
    if why is not None and loss_need(run) is None and _underflow_start(run, DEFAULTS) is not None:
        why = None  # a softmax's underflow value needs no K
    table_first = _first_evaluation_judged(run) is not None
    if why is not None and (table_first or _evaluation_alone(run) is not None):
        why = None  # no training loss logged before it: the first evaluation loss is judged against that bound
    if why is None and not reports_from_the_start(run) and not (table_first and trainer_table_from_start(run)):
        why = ("the log does not start at step 0/1 (or its steps are row numbers): "
               "its first loss may not be the initial one")
    return why


def _epoch_mean_bounds_start(run: Run, s: Series) -> bool:
    """True unless the training loss ``s`` is on an epoch axis and its second report is above its
    first. An epoch's mean is at most the loss it started from only while the loss falls through the
    epoch, which the next epoch's lower mean shows; when the next mean is higher the loss was rising,
    and the first epoch's high mean may be the start of that climb, not the loss at initialisation
    (COVID-Net on two classes: 6,443 at epoch 1, then 39,659 and 122,188, a blow-up that
    ``divergence`` reports; a Keras binary classifier stuck at 5.7178 then 5.7257). No threshold:
    the order of two numbers. A per-step report is the loss of a few batches, not a mean over a
    climb, and is judged as before."""
    f = s.finite()
    return not (run.meta.step_unit == "epoch" and f.values.size >= 2 and float(f.values[1]) > float(f.values[0]))


def _logs_regression_error(run: Run) -> bool:
    """True when the run logs an MSE/MAE: its loss is then likely a regression error (rasbt's
    one-hot MSE on MNIST starts at 0.25), which sits below ln K for reasons of its own."""
    return any({"mse", "mae", "rmse"} & set(normalize(n).split("_")) for n in run.names)


def _other_scale(run: Run, th: InitialLossThresholds) -> bool:
    """True when the training loss sits more than ``above`` x the evaluation loss at *every*
    report both were logged (two or more): a constant factor between the two losses of one
    model is a weighting or an extra term of the training loss (Keras class_weight: 10.6 beside
    1.38, then 6.34 beside 1.14 for 7 classes), not an initialisation, whose excess is gone
    within an epoch or two. Not in a Hugging Face Trainer results table: the Trainer computes both
    losses with one ``compute_loss`` and takes no class weights, so a training loss a constant factor
    above its evaluation loss is the logged loss mis-scaled (the loss summed over the
    gradient-accumulation steps instead of averaged, as transformers 4.46 logged it), and its first
    value is judged against ln K as any other (BEiT on the 3 bean classes with 4 accumulation steps:
    4.66 beside 0.39 at the first epoch, 3.6-4x at every row)."""
    from lrdoctor.detect._progress.common import is_trainer_results_table

    e, t = run.series("eval_loss"), run.series("loss")
    if e is None or t is None or is_trainer_results_table(run):
        return False
    ef, tf = e.finite(), t.finite()
    shared, ei, ti = np.intersect1d(ef.steps, tf.steps, return_indices=True)
    if shared.size < 2:
        return False
    ev, tv = ef.values[ei], tf.values[ti]
    return bool((ev > 0).all() and (tv > th.above * ev).all())


#: The words of a cross-entropy term of a summed loss (mmaction2's and mmdet's ``loss_cls``, YOLO's
#: ``cls_loss``, ``ce_loss``, ``xent``): the one term whose scale at initialisation is ln K.
CLASS_TERM_WORDS = frozenset({"cls", "class", "classification", "ce", "xent", "nll", "crossentropy"})

#: The heads of mmsegmentation whose ``loss_seg`` term is a per-pixel cross-entropy over the K classes
#: (``decode.loss_seg``, ``aux.loss_seg``: both heads default to ``CrossEntropyLoss``): a bare "seg"
#: is no such term elsewhere (YOLO's ``seg_loss`` is a mask BCE, with no ln K).
SEG_HEADS = frozenset({"decode", "aux"})


def is_class_term(name: str) -> bool:
    """True when the loss term ``name`` is a cross-entropy over the classes (:data:`CLASS_TERM_WORDS`,
    or mmsegmentation's :data:`SEG_HEADS` ``loss_seg``)."""
    words = set(tokens(name))
    return bool(CLASS_TERM_WORDS & words) or ("seg" in words and bool(SEG_HEADS & words))


#: Terms add up to their total when the printed sum is within this share of it: each term and the
#: total are rounded to the same printed digits (5 decimals in mmcv's JSON logs), so the sum of
#: two or three of them differs from the rounded total by a few units of the last digit.
SUM_REL_TOL = 1e-3


def _summed_terms(run: Run, s: Series) -> list[str]:
    """The logged training-loss terms (:func:`~lrdoctor.names.loss_term_kind` "train", not the
    loss itself) whose reports at the loss's first report add up to it, when two or more do: the
    loss is then a sum of terms, and only a cross-entropy term has ln K's scale at initialisation
    (mmaction2's CSN with a BMN head on 4 classes: loss 3.6137 = loss_bmn 2.2168 + loss_cls 1.3969,
    and loss_cls is ln 4 = 1.386). Empty when they do not add up (a weighted sum: the total's scale
    is then unknown, and it is judged as before)."""
    f = s.finite()
    if f.values.size == 0:
        return []
    step, total = float(f.steps[0]), float(f.values[0])
    terms: list[tuple[str, float]] = []
    for raw in training_loss_terms(run):
        if raw in run.meta.added:
            continue
        at = run.series(raw).finite()
        if (at.steps == step).any():
            terms.append((raw, float(at.values[at.steps == step][0])))
    if len(terms) < 2 or abs(sum(v for _, v in terms) - total) > SUM_REL_TOL * abs(total):
        return []
    return [raw for raw, _ in terms]


def _first_evaluation_judged(run: Run) -> Series | None:
    """The evaluation loss of a Trainer results table scored by a classification or generation
    score (:func:`classification_table_score`, :func:`seq2seq_table_score`) whose training loss
    is not logged ("No log": an epoch shorter than ``logging_steps``): the mean cross-entropy the
    table's first row reports, after the first epoch, is then the earliest loss of the run. The
    bound of ``lm_vocab_max`` holds for it as for a training loss, at any point of a run: a mean
    cross-entropy above 1.5 ln 2^18 (18.7 nats) is worse than a uniform guess over any label set or
    vocabulary in use (MobileBERT on 500 examples: validation loss 3,126,378 at the first epoch
    beside an accuracy of 0.45). Also when the training loss is logged only from a later row on
    (SwinV2 at lr 0.05: "No log" at the first two evaluations, validation loss 22.4 at the first).
    None when a training loss was logged at or before the first evaluation, or no such score is."""
    if run.is_rl or (seq2seq_table_score(run) or classification_table_score(run)) is None:
        return None
    e = run.series("eval_loss")
    if e is None or not e.finite().values.size:
        return None
    t = run.series("loss")
    if t is not None and t.finite().values.size and float(t.finite().steps[0]) <= float(e.finite().steps[0]):
        return None
    return e


def _evaluation_alone(run: Run) -> Series | None:
    """The evaluation loss of a run with K classes in its config that logs no training loss at all
    (a skorch epoch table of valid_loss and valid_acc; llm.c's "val loss" lines beside training lines
    the reader does not take): its first report is then the earliest loss of the run, and ln K judges
    it as it judges a first training loss on an epoch axis, by the "above" side only. The model the
    first evaluation scores has trained for an epoch or a few updates, and training lowers a
    cross-entropy from the ln K of the untrained model, so a first evaluation 1.5x ln K and a nat
    above it is a start at least that far off (braindecode's ShallowFBCSPNet on random EEG, 4
    classes: valid_loss 31.54 at epoch 1, 22.8x ln 4). Not the "below" side: an evaluation after
    training may be low. None when a training loss is logged (it is the one judged, even when
    non-finite), or no K is known, or no finite evaluation loss is."""
    if run.is_rl or num_classes(run) is None or objective(run) is not None:
        return None
    e = run.series("eval_loss")
    return e if e is not None and e.finite().values.size else None


def _first_value(run: Run, s: Series, th: InitialLossThresholds) -> float:
    """The loss ``s`` starts from: the median of its reports within the first ``first_points``
    steps (on a log written every 50 steps the 2nd report is long after init: rasbt's softmax
    regression, 2.3026 at step 0 = ln 10, then 0.794 at step 50); on an epoch axis the first
    report alone (each averages a whole epoch: the first is the nearest to init), and so on an axis
    of row numbers (no step column: rows are reports, however many steps apart; MXNet's Speedometer
    prints one every 50 batches)."""
    f = s.finite()
    init = f.values[: th.first_points][f.steps[: th.first_points] < f.steps[0] + th.first_points]
    if run.meta.step_unit == "epoch" or run.meta.step_column is None:
        init = f.values[:1]
    return float(np.median(init))


def _far_above(first: float, expected: float, th: InitialLossThresholds) -> bool:
    """True when a first loss is ``above`` times ln(K) and ``min_excess_nats`` above it."""
    return first > th.above * expected and first - expected >= th.min_excess_nats


#: The largest loss a softmax cross-entropy that clamps the true class's probability at float32's
#: smallest normal number (FLT_MIN = 2^-126 = 1.1755e-38) can give one example: -ln FLT_MIN = 87.3365
#: nats. Caffe's ``SoftmaxWithLoss`` computes ``loss -= log(std::max(prob, Dtype(FLT_MIN)))``, so its
#: mean equals this value only when the probability of every example's true class underflowed to 0:
#: logits so large and so wrong that no K makes the loss an untrained model's ("loss = 87.3365" is
#: Caffe's well-known sign of a diverged or badly initialised net).
SOFTMAX_UNDERFLOW_LOSS = float(-np.log(np.finfo(np.float32).tiny))

#: A first loss is at :data:`SOFTMAX_UNDERFLOW_LOSS` when within this share of it: glog prints six
#: significant digits (87.3365, half a unit of the last digit is 6e-7 of it), and the batch mean is
#: summed in float32, each addition rounding the running sum by up to 2^-24 (6e-8), so a batch of a
#: few hundred examples moves it by up to about 1e-5 (the log of a Caffe run printing 87.3366). 1e-4
#: covers both, and a loss of another origin lands in that 0.009-nat window by chance alone.
UNDERFLOW_REL_TOL = 1e-4


def _underflow_start(run: Run, th: InitialLossThresholds) -> tuple[Series, float] | None:
    """The training loss and its first value when that value is :data:`SOFTMAX_UNDERFLOW_LOSS`
    (within :data:`UNDERFLOW_REL_TOL`): a softmax whose true-class probability underflowed for every
    example at the start, which needs no K to see (Caffe, iteration 0: loss = 87.3366 beside a test
    accuracy of 0.00028, then 8.26 from iteration 1000 on). None otherwise."""
    s = objective(run)
    if s is None or not s.finite().values.size:
        return None
    first = _first_value(run, s, th)
    return (s, first) if abs(first - SOFTMAX_UNDERFLOW_LOSS) <= UNDERFLOW_REL_TOL * SOFTMAX_UNDERFLOW_LOSS else None


def _softmax_underflow(run: Run, th: InitialLossThresholds) -> list[Finding]:
    """An ``above`` finding with no K when the first loss is a softmax's underflow value
    (:func:`_underflow_start`)."""
    hit = _underflow_start(run, th)
    if hit is None:
        return []
    s, first = hit
    summary = (f"first loss {fmt(first)} is -ln(FLT_MIN) = {SOFTMAX_UNDERFLOW_LOSS:.4f}, the clamp of a float32 "
               "softmax cross-entropy: the true class's probability underflowed to 0 for every example, whatever K")
    cause = ("The output layer starts with huge, confidently wrong logits (init scale, unnormalised inputs, "
             "or a learning rate that blew the net up in its first update).")
    return _first_report_warning(s, first, summary, cause, underflow_loss=SOFTMAX_UNDERFLOW_LOSS)


def _negative_cross_entropy(run: Run, th: InitialLossThresholds) -> list[Finding]:
    """A ``negative`` finding when the loss, with no K to judge it by, is named a cross-entropy
    (:func:`cross_entropy_named`) and starts below zero, which no cross-entropy can (OpenNMT's
    ``xent: -0.02`` at step 1 with ``ppl: 0.98``, then -31 by step 20: a perplexity below 1)."""
    col, s = cross_entropy_named(run), objective(run)
    if col is None or s is None or not s.finite().values.size:
        return []
    first = _first_value(run, s, th)
    if first >= 0:
        return []
    summary = (f"first loss {fmt(first)} is negative, which a cross-entropy (the log names it {col}) never is, "
               "whatever the number of classes")
    cause = ("The loss is computed wrongly: a log-probability of unnormalised scores (log_softmax missing before NLL), "
             "a flipped sign, or targets outside the class range.")
    return _first_report_warning(s, first, summary, cause, cross_entropy_column=col)


def _first_report_warning(s: Series, first: float, summary: str, cause: str, **evidence: object) -> list[Finding]:
    """The one warning the K-free rules give: at the loss's first finite report, with its value and
    step and the rule's own ``evidence``."""
    step = float(s.finite().steps[0])
    return [Finding("initial_loss_anomaly", Severity.WARNING, step, step, summary,
                    {"first_loss": first, "first_step": step, **evidence}, cause)]


@detector("initial_loss_anomaly", thresholds=DEFAULTS, evidence=InitialLossAnomalyEvidence, needs=_needs)
def detect(run: Run, th: InitialLossThresholds = DEFAULTS) -> list[Finding]:
    s, k = objective(run), num_classes(run)
    lm_bound = score = None
    label_set = False
    if k is None:
        lm_bound = cross_entropy_shown(run, th)
        if lm_bound is None:
            score = lm_bound = seq2seq_table_score(run)
        if lm_bound is None:
            score = lm_bound = classification_table_score(run)
            label_set = lm_bound is not None
        if lm_bound is None:
            return _negative_cross_entropy(run, th) or _softmax_underflow(run, th)
        k = (f"largest vocabulary in use (the loss is a cross-entropy: {lm_bound})", th.lm_vocab_max)
    expected = float(np.log(k[1]))
    # a Trainer table's first evaluation, when it precedes every training loss, is judged first (the
    # bound's "above" side only), and so is the first evaluation of a run with K that logs no training
    # loss; the training loss's first report is judged as before otherwise
    e = (_first_evaluation_judged(run) if lm_bound is not None and score is not None
         else _evaluation_alone(run) if lm_bound is None else None)
    evaluation = e is not None and _far_above(_first_value(run, e, th), expected, th)
    if evaluation:
        s = e
    if s is None:
        return []
    f = s.finite()
    if f.values.size == 0:
        return []
    first = _first_value(run, s, th)
    # an epoch's mean loss falls below ln(K) within the epoch; only a per-step first loss is judged low
    early = f.steps[0] <= 1 and run.meta.step_unit != "epoch"
    term = None
    if _far_above(first, expected, th) and not evaluation and lm_bound is None:
        terms = _summed_terms(run, s)
        term = next((t for t in terms if is_class_term(t)), None)
        if terms and term is None:
            return []  # a sum of terms with no cross-entropy among them: no ln K to judge
        cls = run.series(term) if term is not None else None
        if cls is not None:  # judge the cross-entropy term of the sum, where ln K applies
            s, f, first = cls, cls.finite(), _first_value(run, cls, th)
    if _far_above(first, expected, th):
        if not evaluation and _other_scale(run, th):
            return []  # the training loss is weighted or carries extra terms: its scale is not ln K's
        if not evaluation and not _epoch_mean_bounds_start(run, s):
            return []  # an epoch mean followed by a higher one: the loss was climbing, not starting high
        kind = "above"
    elif lm_bound is None and early and first < th.below * expected and not _logs_regression_error(run):
        kind = "below"
    elif first < 0 and not _logs_regression_error(run):
        kind = "negative"  # a cross-entropy over K classes is never negative, at any report
    else:
        return []
    ev = {"first_loss": first, "expected_ln_k": expected, "num_classes": k[1], "config_key": k[0],
          "first_step": float(f.steps[0]), "ratio": first / expected}
    if term is not None:
        ev["term"] = term
    what = f"first {term} (the cross-entropy term of the summed loss)" if term is not None else "first loss"
    summary = f"{what} {fmt(first)} is {first / expected:.1f}x ln({k[1]}) = {fmt(expected)}, the loss of an untrained model"
    if kind == "negative":
        summary = (f"first loss {fmt(first)} is negative, which a cross-entropy over {k[1]} classes (ln {k[1]} = "
                   f"{fmt(expected)} untrained) cannot be")
    if evaluation and score is None:
        summary = (f"first evaluation loss {fmt(first)} (no training loss logged) is {first / expected:.1f}x ln({k[1]}) = "
                   f"{fmt(expected)}, the loss of an untrained model, after training began: the start was at least that far off")
    elif evaluation:
        summary = (f"first evaluation loss {fmt(first)} (no training loss logged before it) is a mean cross-entropy (a Trainer "
                   f"table scored by {score}) {first / expected:.1f}x ln({k[1]}) = {fmt(expected)}: worse than a uniform "
                   "guess over any label set or vocabulary in use")
    elif label_set:
        summary = (f"first loss {fmt(first)} is a classifier's mean cross-entropy (a Trainer table scored by {score}) "
                   f"{first / expected:.1f}x ln({k[1]}) = {fmt(expected)}: worse than a uniform guess over any label set in use")
    elif lm_bound is not None:
        shown = f"a Trainer table of generated text, scored by {score}" if score is not None else f"{lm_bound} = exp(loss)"
        summary = (f"first loss {fmt(first)} is a per-token cross-entropy ({shown}) {first / expected:.1f}x "
                   f"ln({k[1]}) = {fmt(expected)}: worse than a uniform guess over any vocabulary in use")
    cause = ("The output layer starts with large, confident logits (init scale, a missing softmax/log-softmax "
             "pairing, or loss summed instead of averaged)." if kind == "above" else
             "The loss is lower than chance at step 0: labels leak into inputs, or the loss is not cross-entropy over K classes."
             if kind == "below" else
             "The loss is computed wrongly: a log-probability of unnormalised scores (log_softmax missing before NLL), "
             "a flipped sign, or targets outside the class range.")
    return [Finding("initial_loss_anomaly", Severity.WARNING, float(f.steps[0]), float(f.steps[0]), summary, ev, cause)]


@fix_rule("initial_loss_anomaly")
def fix_initial_loss_anomaly(run: Run, f: Finding) -> Prescription:
    if "underflow_loss" in f.evidence:  # a softmax whose true-class probability underflowed at the start
        return Prescription([Fix("final layer init", None, None, "logits near 0 at init, so the first loss is about ln(K)",
                                 note="zero or small (std 0.01) weights, zero bias; normalised inputs"),
                             Fix("lr", None, None, "a first update too large saturates the softmax",
                                 note="lower it or warm it up")],
                            [Watch("loss at step 0", "far below 87.34, about ln(K)", "87.34 is the float32 clamp, not a loss")])
    if "expected_ln_k" not in f.evidence:  # a cross-entropy named by the log, judged by its sign alone
        return Prescription([Fix("loss computation", None, None, "a cross-entropy is never negative",
                                 note="log_softmax before NLLLoss (or CrossEntropyLoss on raw logits); targets in [0, K)")],
                            [Watch("loss at step 0", "positive, about ln(K)", "a negative cross-entropy is computed wrongly")])
    return Prescription([Fix("final layer init", None, None, f"start at loss ln(K) = {fmt(f.evidence['expected_ln_k'])}",
                             note="zero or small (std 0.01) weights, zero bias"),
             Fix("loss reduction", None, None, "a summed loss scales with the batch and looks like a wrong start",
                 note="mean")], [Watch("loss at step 0", f"about {fmt(f.evidence['expected_ln_k'])}", "far off means the init or the loss is wrong")])
