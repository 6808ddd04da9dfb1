"""Task-metric detectors: the return (or eval accuracy) tells a different story than the loss.

* ``objective_mismatch``: the training loss falls while the task metric falls (post-mortem
  #5: the DQN's TD loss kept falling as its return turned down). Also for supervised runs
  with an eval accuracy: loss down, accuracy down.
* ``performance_reversal``: the task metric's slope turns from clearly positive to negative
  after a peak; both slopes are reported in the post-mortem's unit (per million frames, or
  per 1k updates) with the peak step as the checkpoint to keep.
* ``reward_instability``: the smoothed return swings up and down by large amounts again and
  again. Noisy returns are normal in RL; this asks for swings of half the whole
  range, several times, on a curve already smoothed over 5% of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect._stats import LATTICE_VALUES, Curve, curve, evaluation_set_size, robust_sigma, shown_decimals, rolling_median, run_curve, runs_of, tail_start, trend_p_down
from lrdoctor.detect.rl._common import SMOOTH_SHARE, TaskCurve, fit_slope, monitor_raw_returns, slope_unit, task_curve
from lrdoctor.detect import needs
from lrdoctor.detect._common import error_rates, is_error_rate, loss_went_nonfinite
from lrdoctor.detect._fixes import value_and_key, RL_LR_CUT, lr_fix, recheck_after
from lrdoctor.detect.rl._common import TAU_KEYS, TARGET_SHARE_100
from lrdoctor.detect._grad import CLIP_KEYS
from lrdoctor.prescribe.calc import tau_for_share, soft_update
from lrdoctor.detect.registry import CannotJudge, Prescription, Thresholds, detector, fix_rule
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.run import Run, Series

__all__ = ["ReturnThresholds", "detect_mismatch", "detect_reversal", "detect_instability", "learning_floor_breaks"]


@dataclass(frozen=True)
class ReturnThresholds(Thresholds):
    noise_k: float = 3.0
    """A change counts when it exceeds 3 robust sigmas of the metric's noise around its trend."""
    min_gain_share: float = 0.2
    """Reversal: the drop since the peak is at least 20% of what was gained up to it."""
    peak_before: float = 0.9
    """Reversal: the peak lies before 90% of the run (a late peak is just noise at the top)."""
    loss_drop: float = 0.1
    """Mismatch: the loss fell at least 10% (relative) over the stretch."""
    window_share: float = 0.25
    """Mismatch: stretches of a quarter of the run, sliding by an eighth."""
    mismatch_points: int = 20
    """Mismatch: reports of the training loss and of the task metric it reads: a quarter of the run
    (``window_share``) then holds five of each, the fewest a rolling median of 5 (the loss's
    smoothing) and the task curve's own window cover; on fewer the check says it could not run."""
    material: float = 0.03
    """Mismatch: the task metric's fall is at least 3% of max(|its level|, its range over the
    run) -- the cycle detector's materiality (about 4 binomial SEs of an accuracy near 0.9
    on 1,500 examples) -- so a flat -97.5 -> -98 return is not a fall however small its noise.
    The short-log reversal's falls-at-every-report and stepped-down rules ask the same of a
    ratio-scale score, against its peak: a slide of 0.6048 -> 0.6006 over three evaluations is no
    reversal, nor is a BLEU of 0.036 followed by seven reports at 0.035-0.0351 (one print unit of
    four digits: a t5-small on CodeSearchNet)."""
    swing_share: float = 0.5
    """Instability: a swing is a move of the smoothed metric by half its total range (the
    post-mortems' ±50% red flag, #1). sb3 FlappyBird A2C swings 70-85% of its range; the
    healthy PPO on the same task at most 40%."""
    min_swings: int = 3
    """Instability: three alternating swings (up, down, up) -- one turn is a reversal. The
    below-the-learning-floor rule asks as many separate episodes (or runs of consecutive ones):
    one catastrophic episode is an accident, recurring ones are the policy's."""
    floor_depth_gain: float = 1.0
    """Instability, below the learning floor: a raw episode return (one Monitor row) after the
    learning phase counts when it lies below the lowest return of the learning phase by more than
    the whole gain the run learned (the rise of the smoothed return from its start to its best): the
    learned policy did worse than the worst untrained or half-trained episode by more than all it
    had learned, which no noise around the learned level reaches (Open-the-Chests at a converged
    +3..+5, worst exploring episode -55: returns -128 .. -322 from episode 491 on). The unit is the
    run's own gain, so the rule is scale-free on the return's interval scale."""
    segments: int = 20
    """Instability: the run is cut into 20 segments and each one's change is a move."""
    few_falls: int = 3
    """Reversal on a short log (fewer points than the trend rule needs): after a peak that is
    not the first report, the metric falls at every one of at least this many reports to the
    end and ends below where it started. Under noise alone a peak followed by three falls in a
    row that also end below the start is rare (1/4! for the falls alone); ML-Agents issue 805:
    1.18, 1.32, then -3.6, -3.9, -31.7, -88.3."""
    error_collapse_best: float = 0.5
    """An error rate (WER, CER, ErrorRate) whose last evaluation is at or above 100% after a
    best below 50%: worse than an empty output (which scores exactly 100% WER), so the model
    that had learned the task lost it. The evaluation is deterministic: one such report is a
    collapse, not noise (SpeechBrain: ErrorRate 1.7% -> 100%, WER 39% -> 154%). A higher best
    counts when the last evaluation is also ``error_rise_factor`` times it: the doubling of
    ``divergence``'s few-point rule, on an error rate already past an empty output's (Whisper
    fine-tunes: WER 58.3 -> 118.3; 140.8 -> 301.6)."""
    few_trend_p: float = 0.05
    """Reversal on a short log of a ratio-scale metric (accuracy, success rate), whose falls
    need not come at every report: a Mann-Kendall test for a downward trend over the log at
    this one-sided level, the usual 5% (and in line with the 1/4! = 4% of ``few_falls``),
    with a fall from the best to the last report of at least ``min_gain_share`` of the
    best's level (ratio scale: 0 is nothing right). A return (interval scale: its zero means
    nothing) gets the same test on the more than ``few_falls`` reports *after* its peak, with a
    fall of at least ``min_gain_share`` of what it gained up to the peak (angela's hill climber
    on LunarLander: -133.6 -> -20.6 at episode 400, then -56 ... -181 over 11 reports). The
    trend rule (20+ reports) asks the same test of the reports after its smoothed peak: a
    high stretch of noise is no fall (rl-replicas' PPO on Walker2d, returns 1.7e3-3.0e3 around a
    flat 2.25e3, peaked in its smoothing at epoch 737)."""
    chance_collapse_best: float = 2.0
    """Collapse to chance: an evaluation accuracy whose last reports are exactly 1/K (K from
    the config's class count, to the precision the log prints) after a best at least twice
    that. On a balanced evaluation set exactly 1/K is what a model that outputs one class for
    every input scores (or one whose logits went NaN and argmax returns class 0), and the
    evaluation is deterministic, so one such report is a collapse, not noise: the same
    argument as ``error_collapse_best``. Twice chance is a model that had learned something
    to lose (tch-rs CIFAR-10: test accuracy 50.75, 70.29, 75.72, then 10.00%)."""
    error_rise_factor: float = 2.0
    """An error rate (WER, CER) whose every evaluation from some point to the end (at least
    ``few_falls`` of them) is at least twice its best, and whose rise clears ``noise_k`` sigmas of
    the log scatter of those evaluations: the model had learned and lost it. An error rate is a
    loss on the task's own ratio scale (0 is no error), so this is ``divergence``'s few-point rule,
    its factor of 2 included, read on it (GIT captioning pokemon: WER 0.37 at step 150, then 1.42,
    4.71 and 2.6-4.7 to step 800 as the captions memorised the training set). The best may be the
    first evaluation (since stop 73): a fine-tune is evaluated after its first interval of
    training, so its first error rate is already a learned level (Whisper-small on a custom set:
    WER 22.5 at step 1000, then 98.0 at steps 2000-4000); unless it is exactly 100%, the error rate
    of an empty output, which an untrained CTC head gives."""
    error_stay_factor: float = 1.25
    """An error rate (WER, CER) whose every evaluation from some point to the end, at least
    ``few_falls`` of them, is at least 1.25x its best, the rise clearing ``noise_k`` sigmas of their
    log scatter: the model was better and stays worse. 1.25 = 1 / (1 - ``min_gain_share``), the same
    distance in the log domain as a score that lost a fifth of its level (an accuracy at 0.8 of its
    best is log 1.25 below it; an error rate is a loss on the task's ratio scale, so a loss of the
    same size reads upwards). The ``error_rise_factor`` rule's sibling for a fall that stays but
    does not double (Whisper-small on Dutch: WER 19.8 at step 1000, then 35.5, 43.2, 37.5 while both
    losses fell). Not when the best is at or past an empty output's error rate (100%): no learned
    level was there to lose (Whisper-tiny on Pashto: WER 369 -> 497)."""
    printed_best_points: int = 3
    """Far from the printed best: a metric logged beside the running best the log prints for it
    (StudioGAN's "Best FID score (Step: 42000 ...): 49.03" after each "FID score ...") that, at each
    of its last 3 reports (the ``few_falls`` count), stays far from a best that did not move over
    them: ``printed_best_factor`` times it for a metric where lower is better (the direction is
    read from the pairs: the best is below every report), ``min_gain_share`` below it for one
    where higher is better. The run itself says it was better before (StudioGAN's DCGAN on
    CIFAR-10: FID 103.6, 103.5, 106.7, 111.0 against a best of 49.0)."""
    printed_best_factor: float = 1.25
    """...1.25x the best for a lower-is-better metric: a distance such as FID is on a ratio scale (0 is
    identical distributions), so the fall a higher-is-better metric must show (``min_gain_share``, a
    fifth of its best's level) reads upwards in the log domain as 1 / (1 - 0.2) = 1.25, the argument
    of ``error_stay_factor``. Until stop 78 it was 2, ``divergence``'s doubling, which asked a
    lower-is-better metric for a distance three times the higher-is-better one's (log 2 against
    log 1.25) and let StudioGAN's DCGAN on Tiny ImageNet stay silent: FID 169.1, 164.2, 174.0
    against its printed best of 91.6."""
    collapse_factor: float = 100.0
    """Collapse to nothing: a score on a ratio scale (an accuracy, a success rate, an F1, a ROUGE
    or a BLEU, where 0 is nothing right) whose reports from some point to the end all lie at or
    below 1/100 of its best, after a best reached without touching that floor before it (from its
    first report the model had something right, and then lost it). Two orders of magnitude, the
    rule of growth by orders of magnitude read downwards: no evaluation noise moves a score 100x,
    and an evaluation is deterministic, so one such report is a collapse (``error_collapse_best``'s
    argument). Not judged when a logged loss went non-finite (``nonfinite`` explains the fall),
    nor on an RL run. OpenCLIP zero-shot top-1 0.5812 -> 0.001 after one epoch of fine-tuning; LED
    ROUGE-1 13.3 -> 0.0 as generation hit its length cap."""
    collapse_best_share: float = 0.1
    """...after a best of at least a tenth of the score's range (1, or 100 for a percentage): below
    that a score sits where an untrained model's scores do (chance for ten classes, an F1 on rare
    positives), and its fall to 0 is noise at the floor, not a loss (EQTransformer's detector F1
    0.0443 in its first epoch, then 0; nnU-Net's first Dice estimate 0.015, then 0)."""
    untrained_points: int = 5
    """Worse than untrained: a return log whose first report is at step 0 (the untrained policy's
    evaluation, as Tianshou's and SB3's evaluation callbacks print) and whose every later report,
    at least 5 of them, lies below it by more than ``noise_k`` robust sigmas of those later
    reports. Training made the policy worse than its random initialisation, which no learning
    agent does (Tianshou's DDPG benchmark on Ant: 990 at step 0, then -102 to -440 on every one
    of 50 evaluations; on Humanoid: 177, then 107-110). A return is on an interval scale, so the
    size of the fall is judged against the noise of the later reports, not against its level."""
    short_stay_points: int = 2
    """Stayed down on a short log: a score with fewer reports than the few-point rule reads
    (``few_falls`` + 2), so too few after any best for the rules that ask ``few_falls`` of them, whose
    every report from some point to the end, at least 2 of them, lies ``min_gain_share`` of its best's
    level below that best (an error rate: ``error_stay_factor`` x above it, the same distance in the
    log domain). Two, ``divergence``'s ``few_after``: one low report is a dip, a second one at the
    lowered level is the fall that stayed. The score is on a ratio scale (0 is nothing right, so a
    fifth of its level is material) and an evaluation is deterministic, so the guards are the other
    rules': the best above an untrained model's level, a fall beyond the evaluation set's binomial
    noise where its size shows, no non-finite loss (``nonfinite`` explains it), not an RL return
    (interval scale); and a loss that left ln K at some report (a model that never learned had
    nothing to lose, and two reports carry no order statistic to tell it from a guess's noise). A
    four-epoch fine-tune: accuracy 0.9405, then 0.5 at the three later epochs as its training loss
    rose to ln 2; a Whisper LoRA: WER 0.5176, 0.5237, then 0.8449 and 0.7855."""
    short_lattice_values: int = 2
    """...and the evaluation set's size is read from as few as 2 distinct values of the score (the
    sampling-noise guard's lattice test asks 4 elsewhere, ``LATTICE_VALUES``): a short log has no
    more. The test returns the smallest n for which every value is k/n within its printed rounding;
    the true n is one of those, so the n found is at most the true one and the binomial noise read
    from it at least the true noise: fewer values can only silence a fall, never make one (a Keras
    fit on 9 validation images: val_acc 0.5556 = 5/9, then 0.4444 = 4/9 twice, one image)."""


DEFAULTS = ReturnThresholds()

#: Task metrics on a ratio scale with 0 as "nothing right" (accuracy, success rate): a fall
#: from a best reached at the very start can be measured against the level itself. Returns
#: are on an interval scale (any offset), so for them a reversal needs a gain first.
RATIO_SCALE = ("eval_accuracy", "success_rate")

#: the roles of a return: an interval-scale task metric (its zero means nothing)
RETURN_ROLES = ("ep_return", "eval_return")


def _level(t: TaskCurve, a: int, b: int) -> float:
    return float(np.median(t.smooth[a:b])) if b > a else float(t.smooth[a])


class PerformanceReversalEvidence(Evidence):
    """What a ``performance_reversal`` finding proves itself with (keys absent when not measured)."""

    metric: str
    peak_step: float
    peak: float
    start: float
    end: float
    slope_before: float
    slope_after: float
    slope_unit: str
    drop_share_of_gain: float
    fall_step: float
    printed_best: str
    reports: int
    rise_factor: float
    forgetting: float


def _reversal_needs(run: Run, th: ReturnThresholds) -> str | None:
    """A task metric with at least ``few_falls + 2`` points (the short-log rule), else the usual need."""
    why = needs.task_metric(run)
    if why is None:
        return None
    from lrdoctor.detect.rl._common import TASK_METRICS

    n = max((needs.points(run, m) for m in TASK_METRICS), default=0)
    if n >= th.few_falls + 2 or any(is_error_rate(c) and needs.points(run, c) >= 2 for c in run.names):
        return None  # (an error rate is judged from two evaluations: see _error_rate_collapse)
    if _printed_bests(run, th):
        return None  # (a metric beside its printed running best: see _far_from_printed_best)
    if _forgetting_columns(run):
        return None  # (a continual learner's logged forgetting: see _forgot)
    if not run.is_rl and _ratio_scores(run):
        return None  # (a score that collapsed to nothing is judged from two reports: see _collapsed_to_nothing)
    from lrdoctor.detect._classes import num_classes

    if num_classes(run) is not None and any(needs.points(run, m) >= 2 for m in ("eval_accuracy", "task_metric")):
        return None  # (and an accuracy with the class count known: see _chance_collapse)
    return why


def _printed_bests(run: Run, th: ReturnThresholds) -> list[tuple[str, str]]:
    """(metric, its running best) column pairs: ``best_fid_score`` beside ``fid_score``, logged on
    at least ``printed_best_points`` of the same reports."""
    out = []
    by_low = {str(n).lower(): n for n in run.names}
    for low, name in by_low.items():
        metric = by_low.get(low[5:]) if low.startswith("best_") else None
        if metric is None:
            continue
        if min(needs.points(run, metric), needs.points(run, name)) >= th.printed_best_points:
            out.append((str(metric), str(name)))
    return out


def _last_beside_best(run: Run, metric: str, best: str, n: int
                      ) -> tuple[Series, Series, np.ndarray, np.ndarray, np.ndarray] | None:
    """The finite series of ``metric`` and of the running ``best`` the log prints for it, the steps
    of their last ``n`` shared reports, and both series' values there; None when they share fewer
    than ``n`` reports."""
    m, b = run.series(metric).finite(), run.series(best).finite()
    steps = np.intersect1d(m.steps, b.steps)[-n:]
    if steps.size < n:
        return None
    return m, b, steps, m.values[np.isin(m.steps, steps)], b.values[np.isin(b.steps, steps)]


def _far_from_printed_best(run: Run, th: ReturnThresholds) -> list[Finding]:
    """See ``ReturnThresholds.printed_best_points``."""
    for metric, best in _printed_bests(run, th):
        last = _last_beside_best(run, metric, best, th.printed_best_points)
        if last is None:
            continue
        m, b, steps, x, bx = last
        if np.ptp(bx) != 0 or bx[0] <= 0 or (x <= 0).any():
            continue  # the best moved (or a metric that is not positive): no fixed best to fall from
        lower_better = bool((x >= bx).all())
        role = next((r for r, c in run.meta.roles.items() if c == metric), None)
        if role in ("ep_return", "eval_return") or (not lower_better and role not in RATIO_SCALE + ("task_metric",)):
            continue  # a return is on an interval scale: a share of its best means nothing
        far = (x >= th.printed_best_factor * bx).all() if lower_better else (x <= (1 - th.min_gain_share) * bx).all()
        if not far:
            continue
        worst = float(x.max() if lower_better else x.min())
        ev = {"metric": metric, "peak": float(bx[0]), "end": float(x[-1]), "printed_best": best, "reports": int(steps.size)}
        way = (f"at least {th.printed_best_factor:g}x" if lower_better else f"at least {th.min_gain_share:.0%} below")
        return [Finding(
            "performance_reversal", Severity.WARNING, float(steps[0]), float(steps[-1]),
            f"{metric} stayed {way} the best the log itself printed ({best} = {fmt(float(bx[0]))}) at each of its last "
            f"{steps.size} reports (worst {fmt(worst)}, last {fmt(float(x[-1]))})", ev,
            "Learning turned into unlearning: the model was better earlier in the run (a GAN's mode collapse, an LR "
            "too large late). The checkpoint of the best is the one to keep.",
        )]
    return []


def _return_far_from_printed_best(run: Run, th: ReturnThresholds) -> list[Finding]:
    """A return logged beside the running best the log prints for it (angela's "Avg ... BestAvg"
    every 100 episodes) that, at each of its last ``printed_best_points`` reports, stays below a
    best that did not move over them. A return is on an interval scale (its zero means nothing), so
    the distance is read on the return's own scale, as the trend rule reads a return's fall: at
    least ``min_gain_share`` of the gain from its first report to the best, and more than
    ``noise_k`` robust sigmas of the reports logged since the best was set; and their median lies
    below the median of the reports up to it (:func:`_stepped_down`'s guard: the run ended worse
    than it was on its way up, which a best set by one lucky stretch of episodes leaves untouched).
    angela's PPO on Unity's Hallway: Avg -0.99 -> 0.05 (BestAvg 0.08) at episode 500, then -0.15,
    -0.46, -0.30, -0.32 as the entropy bonus decayed."""
    for metric, best in _printed_bests(run, th):
        role = next((r for r, c in run.meta.roles.items() if c == metric), None)
        if role not in RETURN_ROLES:
            continue
        last = _last_beside_best(run, metric, best, th.printed_best_points)
        if last is None:
            continue
        m, b, steps, x, bx = last
        top = float(bx[0])
        if np.ptp(bx) != 0 or not top > m.values[0]:
            continue  # the best moved, or no gain from the first report to measure the distance against
        moved = np.flatnonzero(b.values != top)
        set_at = float(b.steps[moved[-1] + 1]) if moved.size else float(b.steps[0])
        before, post = m.values[m.steps <= set_at], m.values[m.steps > set_at]
        if post.size < th.printed_best_points or before.size == 0:
            continue
        gap = float(top - x.max())
        if gap < th.min_gain_share * (top - float(m.values[0])) or gap <= th.noise_k * robust_sigma(post) \
                or not np.median(post) < np.median(before):
            continue
        ev = {"metric": metric, "peak": top, "start": float(m.values[0]), "end": float(x[-1]), "printed_best": best,
              "reports": int(steps.size), "drop_share_of_gain": gap / (top - float(m.values[0]))}
        return [Finding(
            "performance_reversal", Severity.WARNING, set_at, float(steps[-1]),
            f"{metric} stayed at least {fmt(gap)} below the best the log itself printed ({best} = {fmt(top)}, set at step "
            f"{fmt(set_at)}) at each of its last {steps.size} reports (last {fmt(float(x[-1]))}): "
            f"{gap / (top - float(m.values[0])):.0%} of the gain from its first report {fmt(float(m.values[0]))}",
            ev,
            "Learning turned into unlearning: the policy was better earlier in the run (an LR, clip range or "
            "exploration schedule too large or too small late). The checkpoint of the best is the one to keep.",
        )]
    return []


def _fall_from(col: str, st: np.ndarray, v: np.ndarray, b: int, summary: str, cause: str, **extra: float) -> Finding:
    """A collapse rule's finding: the metric ``col`` fell from its best report ``b`` to its last."""
    ev = {"metric": col, "peak_step": float(st[b]), "peak": float(v[b]), "start": float(v[0]), "end": float(v[-1]), **extra}
    return Finding("performance_reversal", Severity.WARNING, float(st[b]), float(st[-1]), summary, ev, cause)


#: the words that name a column as the training split's (wav2letter's "train-WER" beside its
#: "validation.lst-WER"; XGBoost's "train-error")
TRAINING_SPLIT_WORDS = frozenset({"train", "training", "trn"})


def _error_rates(run: Run) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(column, finite values, their steps) of each logged held-out error rate (WER, CER, ErrorRate).
    Not one named as the training split's: the collapse and stay rules read an error rate as an
    evaluation's, one deterministic pass over a fixed set, while a training WER is decoded from the
    batches seen since the last report, a different set each time, and a first report after 4
    updates may print 0.00 for no decoding at all (wav2letter: "train-WER: 0.00" at epoch 1, then
    116.15 and 122.69 as the losses fell 844 -> 380)."""
    from lrdoctor.names import tokens

    for name, f in error_rates(run).items():
        if TRAINING_SPLIT_WORDS & set(tokens(name)):
            continue
        yield name, f.values, f.steps


def _error_rate_collapse(run: Run, th: ReturnThresholds) -> list[Finding]:
    """The last evaluation's error rate is at or above 100% after a best below ``error_collapse_best``,
    or after any best it more than doubled (``error_rise_factor``: Whisper-tiny on Japanese, WER
    140.8 -> 301.6; on air-traffic English, 110.7 -> 404.9 as the decoder's insertions ran away);
    not when a logged loss went non-finite: the NaN is the finding (nonfinite's), the error rate of
    a model with NaN weights its consequence (Norwegian wav2vec2: WER 1.0 from the report where
    validation loss turned nan)."""
    if loss_went_nonfinite(run):
        return []
    for name, v, st in _error_rates(run):
        if v.size < 2:
            continue
        scale = 100.0 if v.max() > 1.5 else 1.0  # percent (WER can pass 100) or a fraction
        hit = _collapse_at(v, scale, th)
        if hit is None:
            continue
        b, at = hit
        stayed = (f", and every later evaluation ({v.size - 1 - at}) stayed at least {th.error_rise_factor:g}x its best "
                  f"(last {fmt(float(v[-1]))})") if at < v.size - 1 else ""
        return [_fall_from(
            name, st, v, b,
            f"{name} went from its best {fmt(float(v[b]))} (step {fmt(float(st[b]))}) to {fmt(float(v[at]))} at "
            + (f"step {fmt(float(st[at]))}" if stayed else "the last evaluation")
            + ": at or above 100%, worse than an empty output"
            + (f", and {fmt(float(v[at] / v[b]))}x its best" if v[b] >= th.error_collapse_best * scale else "") + stayed,
            "The model lost what it had learned: a blow-up (check the loss for NaN or a jump), an LR or schedule "
            "restart too large for the trained weights, or a decoding/evaluation setup that changed. Keep the "
            "best checkpoint.",
        )]
    return []


def _collapse_at(v: np.ndarray, scale: float, th: ReturnThresholds) -> tuple[int, int] | None:
    """(best, collapse) of an error rate ``v`` on ``scale`` (1, or 100 for a percentage): the last
    evaluation at or above 100% after a best below ``error_collapse_best`` or one it more than doubled
    (``error_rise_factor``); else, since stop 79, the earliest evaluation at or above 100% after such a
    positive best from which every later evaluation stayed at least ``error_rise_factor`` times the
    best. An evaluation is deterministic, so one at 100% is the collapse; the evaluations after it that
    stay doubled (``divergence``'s few-point factor, the doubling rule's) show the model did not get back
    what it lost, though the last one no longer prints a full 100% (Whisper-large-v3 on Portuguese: WER
    0.1124, 0.1052, 0.0997, then 1.0007 and 0.9999 while the validation loss kept falling). A best of 0
    has no level to double (a placeholder before the first real evaluation), and since stop 80 it is no
    learned level to lose at the last evaluation either: an error rate of exactly 0 is every utterance
    transcribed perfectly, which a model after a few updates does not do, so a printed 0 there is a
    placeholder (wav2letter: train-WER 0.00 after 4 updates, then 116.15 and 122.69 while its
    validation WER was 100 -> 186 -> 100.57), as the doubling and stay rules, which judge positive
    rates only, already read it; None when there is no collapse."""
    b = int(np.argmin(v[:-1]))
    if v[-1] >= scale and v[b] > 0 and (v[b] < th.error_collapse_best * scale or v[-1] >= th.error_rise_factor * v[b]):
        return b, v.size - 1
    for at in range(1, v.size - 1):
        b = int(np.argmin(v[:at]))
        if v[b] > 0 and v[at] >= scale and bool((v[at:] >= th.error_rise_factor * v[b]).all()):
            return b, at
    return None


def _error_rate_doubled(run: Run, th: ReturnThresholds) -> list[Finding]:
    """See ``ReturnThresholds.error_rise_factor``; not when a logged loss went non-finite (as
    :func:`_error_rate_collapse`)."""
    return _error_rate_stayed_above(run, th, th.error_rise_factor, learned_only=False)


def _error_rate_stayed_up(run: Run, th: ReturnThresholds) -> list[Finding]:
    """See ``ReturnThresholds.error_stay_factor``; not when a logged loss went non-finite (as
    :func:`_error_rate_collapse`), nor from a best at or past an empty output's error rate."""
    return _error_rate_stayed_above(run, th, th.error_stay_factor, learned_only=True)


def _error_rate_stayed_above(run: Run, th: ReturnThresholds, factor: float, learned_only: bool) -> list[Finding]:
    """An error rate whose evaluations from some point to the end, at least ``few_falls`` of them, are
    all at least ``factor`` times its best, by more than ``noise_k`` sigmas of their log scatter. With
    ``learned_only``, a best at or above an empty output's error rate (100%, or 1.0 for a fraction)
    is no learned level and is not judged."""
    from lrdoctor.detect.divergence import log_noise

    if loss_went_nonfinite(run):
        return []
    for name, v, st in _error_rates(run):
        if v.size < th.few_falls + 1 or (v <= 0).any():
            continue
        b = int(np.argmin(v))
        if b == 0 and float(v[0]) in (1.0, 100.0):
            continue  # a first evaluation at exactly an empty output's error rate (every reference word
            # deleted) is no learned best to lose: an untrained CTC head emits blanks (XLS-R on Chinese:
            # WER 1.0 at the first two evaluations, then 1.4-2.3 while the losses fall)
        if learned_only and v[b] >= (100.0 if v.max() > 1.5 else 1.0):
            continue  # (the scale as :func:`_error_rate_collapse` reads it: percent or a fraction)
        onset = b + 1 + tail_start(v[b + 1:] >= factor * v[b])
        if v.size - onset < th.few_falls:
            continue
        rise = float(np.log(v[onset:].min() / v[b]))
        if rise <= th.noise_k * log_noise(v[onset:]):
            continue  # the evaluations after the rise scatter as widely: a small evaluation set's noise
        return [_fall_from(
            name, st, v, b,
            f"{name} went from its best {fmt(float(v[b]))} (step {fmt(float(st[b]))}) to {fmt(float(v[onset]))} at step "
            f"{fmt(float(st[onset]))} and stayed at least {factor:g}x the best at all {v.size - onset} "
            f"later evaluations (last {fmt(float(v[-1]))})",
            "The model lost what it had learned: it memorises the training set (the evaluation loss rises too), or "
            "the LR is too high late in the run. Keep the best checkpoint, and stop or decay earlier.",
            rise_factor=float(v[onset:].min() / v[b]),
        )]
    return []


#: the cause of a collapse to one class for every input (:func:`_chance_collapse`, :func:`_two_class_collapse`)
_CONSTANT_PREDICTION_CAUSE = (
    "The model collapsed to a constant prediction: weights or activations blew up (a NaN/inf loss, or logits "
    "saturated by a too-large LR step), so every input gets the same class. Keep the best checkpoint; lower "
    "the LR or clip gradients.")


def _two_class_collapse(run: Run, th: ReturnThresholds) -> list[Finding]:
    """An accuracy whose every evaluation after its best (``few_falls``+ of them) takes only the two
    constant-predictor rates a and 1 - a of a two-class set, both of them (the pair proves the two
    classes, see ``ProgressThresholds.flip_denominator``), after a best above the larger of them by
    ``min_gain_share`` of it: the model had learned, then answered one class for every input. The
    chance-collapse rule with K = 2 read from the pair, when the config names no class count (a
    DeBERTa fake-news classifier: accuracy 0.8374 at epoch 1, then 0.5234, 0.5234, 0.4766, 0.5234 as
    its training loss rose to ln 2)."""
    from lrdoctor.detect._progress.chance import accuracy_shares, printed_shares, two_class_constant_pair
    from lrdoctor.detect.progress import DEFAULTS as PROGRESS

    if run.is_rl:
        return []
    for col, share in accuracy_shares(run):
        v, st = share.values, share.steps
        b = int(np.argmax(v)) if v.size else 0
        tail = v[b + 1:]
        if tail.size < th.few_falls:
            continue
        pair = two_class_constant_pair(tail, printed_shares(run, col, v)[b + 1:], PROGRESS)
        if pair is None:
            continue
        hi = max(pair[0], 1 - pair[0])
        if v[b] - hi < th.min_gain_share * hi:
            continue
        return [_fall_from(
            col, st, v, b,
            f"{col} went from its best {fmt(float(v[b]))} (step {fmt(float(st[b]))}) to only the two values "
            f"{fmt(pair[0])} / {fmt(1 - pair[0])} at all {tail.size} later evaluations: on a two-class set, every input "
            "got the same class",
            _CONSTANT_PREDICTION_CAUSE,
        )]
    return []


def _chance_collapse(run: Run, th: ReturnThresholds) -> list[Finding]:
    """See ``ReturnThresholds.chance_collapse_best``."""
    from lrdoctor.detect._classes import num_classes
    from lrdoctor.detect.progress import chance_accuracy

    k = num_classes(run)
    if k is None or k[1] < 2:
        return []
    if run.is_rl:
        return []
    for name in ("eval_accuracy", "task_metric"):
        s = run.series(name)
        if s is None:
            continue
        col = run.meta.roles.get(name, name)
        f = s.finite()
        v, st = f.values, f.steps
        if v.size < 2 or v.min() < 0:
            continue
        scale = 100.0 if v.max() > 1.0 else 1.0
        chance = chance_accuracy(col, k[1]) * scale
        digits = run.meta.printed_decimals.get(col)
        tol = 0.5 * 10.0 ** -digits if digits is not None else 1e-9 * scale
        at = np.abs(v - chance) <= tol
        if not at[-1] or at.all():
            continue
        first = tail_start(at)  # the stretch at chance that reaches the end
        b = int(np.argmax(v[:first]))
        if v[b] < th.chance_collapse_best * chance:
            continue
        ev = {"metric": col, "peak_step": float(st[b]), "peak": float(v[b]), "start": float(v[0]), "end": float(v[-1]),
              "drop_share_of_gain": float((v[b] - v[-1]) / (v[b] - chance)) if v[b] > chance else float("inf")}
        return [Finding(
            "performance_reversal", Severity.WARNING, float(st[b]), float(st[-1]),
            f"{col} went from its best {fmt(float(v[b]))} (step {fmt(float(st[b]))}) to exactly {fmt(float(v[-1]))} = 1/{k[1]}, "
            f"chance for {k[1]} classes, from step {fmt(float(st[first]))} to the end: the model outputs one class for every input",
            ev,
            _CONSTANT_PREDICTION_CAUSE,
        )]
    return []


#: the roles of a score on a ratio scale (0 is nothing right) that ``collapse_factor`` judges
COLLAPSE_ROLES = ("eval_accuracy", "success_rate", "task_metric")

#: Avalanche's forgetting metrics as the reader names their columns (``ExperienceForgetting/eval_phase/...``,
#: ``StreamForgetting/eval_phase/...``): Chaudhry et al. (2018, "Riemannian Walk for Incremental
#: Learning") forgetting measure, the accuracy an experience had when it was last trained on minus its
#: accuracy now, on the accuracy's own scale. Only these names: another library's "forgetting" may be
#: another quantity (PEFT's MetaMathQA comparison logs one beside its losses), and a rule reads a
#: number only where its definition is known.
FORGETTING_METRICS = ("experience_forgetting", "stream_forgetting")


def _ratio_scores(run: Run) -> list[tuple[str, str, Series]]:
    """(role, column, finite series) of each ratio-scale score with at least two non-negative reports."""
    out = []
    for name in COLLAPSE_ROLES:
        s = run.series(name)
        col = run.meta.roles.get(name, name)
        if s is None or is_error_rate(col):
            continue
        f = s.finite()
        if f.values.size >= 2 and f.values.min() >= 0:
            out.append((name, col, f))
    return out


def _collapsed_to_nothing(run: Run, th: ReturnThresholds) -> list[Finding]:
    """See ``ReturnThresholds.collapse_factor``."""
    if run.is_rl or loss_went_nonfinite(run):
        return []
    for _, col, f in _ratio_scores(run):
        v, st = f.values, f.steps
        low = v <= v.max() / th.collapse_factor
        if not low[-1] or low.all():
            continue
        first = tail_start(low)  # the stretch at the floor that reaches the end
        if low[:first].any():
            continue  # it sat at the floor before its best: a score that never held (a 0/1 success flag)
        b = int(np.argmax(v[:first]))
        if v[b] < th.collapse_best_share * (100.0 if v.max() > 1.0 else 1.0):
            continue
        return [_fall_from(
            col, st, v, b,
            f"{col} collapsed from its best {fmt(float(v[b]))} (step {fmt(float(st[b]))}) to {fmt(float(v[-1]))}, "
            f"under 1/{th.collapse_factor:g} of it, from step {fmt(float(st[first]))} to the end",
            "The model lost what it had learned: an update too large for the trained weights (the LR, no "
            "warmup after loading a checkpoint), saturated logits, or a degenerate output (empty or "
            "length-capped generations). Keep the best checkpoint; lower the LR and recheck the evaluation.",
            drop_share_of_gain=1.0 - float(v[-1]) / float(v[b]),
        )]
    return []


def _forgetting_columns(run: Run) -> list[str]:
    """The columns of :data:`FORGETTING_METRICS` the run logged (their first ``/`` part names the metric)."""
    return [str(n) for n in run.metrics if str(n).lower().split("/")[0] in FORGETTING_METRICS and n in run]


def _forgot(run: Run, th: ReturnThresholds) -> list[Finding]:
    """A continual learner's logged forgetting (:data:`FORGETTING_METRICS`) of at least ``min_gain_share``
    of the accuracy's scale (1, or 100 for a percentage) at some report: the accuracy on an experience
    learned earlier lies that far below the one it reached then. A best accuracy is at most the scale,
    so such a fall is at least ``min_gain_share`` of the learned level itself, the fall every ratio-scale
    rule of this kind asks (a fifth of the best's level); the log measured it for each experience, so no
    best has to be found and no noise read around it: an evaluation is deterministic. No new threshold.
    The finding starts at the first such report and names the largest. Not when a logged loss went
    non-finite (``nonfinite`` explains the fall, as for the collapse rules). Avalanche's LwF on split
    data: ExperienceForgetting 0.9582, 0.9692, 0.9645 on the first three experiences (accuracy 0.0-0.03
    now), and 0.5985 on experience 2 right after experience 3 was learned."""
    if loss_went_nonfinite(run):
        return []
    reports = [(float(st), float(v), name) for name in _forgetting_columns(run)
               for s in (run.series(name).finite(),) for st, v in zip(s.steps, s.values)]
    if not reports:
        return []
    scale = 100.0 if max(v for _, v, _ in reports) > 1.0 else 1.0
    far = [r for r in reports if r[1] >= th.min_gain_share * scale]
    if not far:
        return []
    start = min(st for st, _, _ in far)
    _, value, col = max(far, key=lambda r: r[1])
    ev = {"metric": col, "forgetting": value, "drop_share_of_gain": value / scale, "reports": len(far)}
    return [Finding(
        "performance_reversal", Severity.WARNING, start, float(run.steps[-1]),
        f"{col} = {fmt(value)}: the accuracy on an experience learned earlier is {value / scale:.0%} of the scale "
        f"below the one it reached when it was learned ({len(far)} of {len(reports)} forgetting reports at least "
        f"{th.min_gain_share:.0%} of it, so at least that share of the learned level)",
        ev,
        "Catastrophic forgetting: training on the later experiences overwrote what the earlier ones taught "
        "(a regularisation such as LwF or EWC too weak, no replay of earlier data, an LR too large for the "
        "later tasks). Keep a replay buffer or raise the regulariser's weight; the checkpoint after each "
        "experience is the one that still knows it.",
    )]


def _short_log_stayed_down(run: Run, th: ReturnThresholds) -> list[Finding]:
    """See ``ReturnThresholds.short_stay_points``: each ratio-scale score, then each error rate, of a
    log too short for the few-point rule."""
    if run.is_rl or loss_went_nonfinite(run):
        return []
    for name, col, f in _ratio_scores(run):
        v, st = f.values, f.steps
        if not th.short_stay_points < v.size < th.few_falls + 2:
            continue
        hit = _stayed_from(v, lambda best: v <= (1 - th.min_gain_share) * best, np.argmax, th)
        if hit is None:
            continue
        b, onset = hit
        if v[b] < _untrained_level(run, th) * (100.0 if v.max() > 1.0 else 1.0):
            continue  # a best at an untrained model's level: its fall is noise at the floor
        if _within_sampling_noise(run, name, v, float(v[b]), float(v[-1]), th, th.short_lattice_values):
            continue  # a few examples of a small evaluation set
        if _never_left_chance(run):
            continue
        return [_short_fall(col, st, v, b, onset, f"at least {th.min_gain_share:.0%} below it")]
    for name, v, st in _error_rates(run):
        if not th.short_stay_points < v.size < th.few_falls + 2 or (v <= 0).any():
            continue
        hit = _stayed_from(v, lambda best: v >= th.error_stay_factor * best, np.argmin, th)
        if hit is None or v[hit[0]] >= (100.0 if v.max() > 1.5 else 1.0):
            continue  # (no learned level at or past an empty output's error rate: see error_stay_factor)
        b, onset = hit
        return [_short_fall(name, st, v, b, onset, f"at least {th.error_stay_factor:g}x it",
                            rise_factor=float(v[onset:].min() / v[b]))]
    return []


def _never_left_chance(run: Run) -> bool:
    """True when ``slow_progress`` finds the loss at ln K over the whole log, its lowest report
    included (:func:`~lrdoctor.detect._progress.chance._stuck_at_chance`): the model never learned,
    so a short log's score moved by the noise of a guess, not by unlearning. Asked by the short-log
    rule alone, whose two reports carry no order statistic and whose evaluation set's size may not
    show (a ResNet-50 card on 5 validation images: accuracy 0.8, then 0.6 twice, printed to one
    decimal, with its training loss at 0.69-0.70 = ln 2); three falls in a row are evidence of their
    own (BERT on WNLI, its loss at ln 2: accuracy 0.5634, then 0.3239, 0.2958, 0.2676)."""
    from lrdoctor.detect._progress.chance import _stuck_at_chance
    from lrdoctor.detect.progress import DEFAULTS as PROGRESS

    return _stuck_at_chance(run, PROGRESS) is not None


def _stayed_from(v: np.ndarray, far: Callable[[float], np.ndarray], best_of: Callable[[np.ndarray], Any],
                 th: ReturnThresholds) -> tuple[int, int] | None:
    """(best, onset) for the earliest onset from which every report to the end, at least
    ``short_stay_points`` of them, is ``far`` from the best report before the onset (``best_of``
    picks it: argmax for a score, argmin for an error rate); None when there is none."""
    for onset in range(1, v.size - th.short_stay_points + 1):
        b = int(best_of(v[:onset]))
        if far(float(v[b]))[onset:].all():
            return b, onset
    return None


def _short_fall(col: str, st: np.ndarray, v: np.ndarray, b: int, onset: int, way: str, **extra: float) -> Finding:
    """The finding of :func:`_short_log_stayed_down`."""
    return _fall_from(
        col, st, v, b,
        f"{col} went from its best {fmt(float(v[b]))} (step {fmt(float(st[b]))}) to {fmt(float(v[onset]))} at step "
        f"{fmt(float(st[onset]))} and stayed {way} at all {v.size - onset} later evaluations (last {fmt(float(v[-1]))})",
        "The model lost what it had learned: an update too large for the trained weights (the LR, a "
        "blow-up the loss shows), or it memorises the training set. Keep the best checkpoint.",
        **extra,
    )


def _within_sampling_noise(run: Run, name: str, values: np.ndarray, peak: float, end: float, th: ReturnThresholds,
                           min_values: int = LATTICE_VALUES) -> bool:
    """True when ``name`` is an accuracy whose evaluation set's size shows in its values
    (:func:`~lrdoctor.detect._stats.evaluation_set_size`) and its fall from ``peak`` to ``end``
    is within ``noise_k`` binomial standard errors of the peak, sqrt(p (1 - p) / n): a share of
    n right answers moves that much between two evaluations of equally good models, and more at
    the best of many (StellarGraph's DGCNN on PROTEINS' 112 test graphs: 0.7857 -> 0.7679 is one
    graph, against an SE of 0.039)."""
    sized = _accuracy_set_size(run, name, values, min_values)
    if sized is None:
        return False
    n, scale = sized
    p = min(max(peak / scale, 0.0), 1.0)
    return (peak - end) / scale <= th.noise_k * float(np.sqrt(p * (1 - p) / n))


def _accuracy_set_size(run: Run, name: str, values: np.ndarray, min_values: int,
                       *, shown: bool = False) -> tuple[int, float] | None:
    """(n, scale): the evaluation set's size behind the accuracy playing role ``name``, read from its
    ``values`` (:func:`~lrdoctor.detect._stats.evaluation_set_size`, on at least ``min_values`` distinct
    ones), and the scale they are printed on (1, or 100 for a percentage); None when ``name`` is no
    accuracy or success rate, or the size does not show. With ``shown``, a column whose reader
    recorded no printed decimals (none printed with trailing zeros) is read at the decimals its
    values show (:func:`~lrdoctor.detect._stats.shown_decimals`): n is then at most the true size."""
    from lrdoctor.detect._progress.chance import _is_accuracy

    if name not in ("eval_accuracy", "task_metric", "success_rate") or (name != "success_rate" and not _is_accuracy(run, name)):
        return None
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0 or v.min() < 0:
        return None
    scale = 100.0 if v.max() > 1.0 else 1.0
    col = run.meta.roles.get(name, name)
    decimals = run.meta.printed_decimals.get(col)
    if decimals is None and shown:
        decimals = shown_decimals(v)  # no trailing zeros printed: the decimals the values show (since stop 80)
    if decimals is not None and scale == 100.0:
        decimals += 2  # (a percentage's decimals are a share's plus two)
    n = evaluation_set_size(v / scale, decimals, min_values)
    return None if n is None else (n, scale)


def _guessed_throughout(run: Run, name: str, values: np.ndarray, peak: float, end: float, th: ReturnThresholds) -> bool:
    """True when the model never learned and its accuracy never left a guess's noise: ``slow_progress``
    finds the loss at ln K over the whole log (:func:`~lrdoctor.detect._progress.chance._stuck_at_chance`,
    K from the config or from the loss itself), and both the best (``peak``) and the last report
    (``end``) lie within ``noise_k`` binomial standard errors, sqrt(c (1 - c) / n), of chance c = 1/K on
    an evaluation set of n examples, n read from the values as the short-log rule reads it (on
    ``short_lattice_values`` distinct ones: the n found is at most the true one, so the band is at
    least the true noise). A uniform guess scores c give or take that band at every evaluation, so a
    peak and a fall inside it are the noise of a guess, not a learned level lost; ``_never_left_chance``'s
    argument, which the short-log rule asks on its own, here asked of the longer rules with the
    evaluation set's noise as the proof (ALBERT-xlarge on WNLI's 71 dev pairs, its loss at ln 2:
    accuracy 0.5070, 0.5634, 0.5352, 0.4225, 0.3803, a band of 0.5 +- 0.178; a MiniLM head on 8
    classes, its loss at ln 8: 0.125, then 0.075 at ten epochs, 1/8 +- 0.157 on 40 examples). An
    accuracy that ends beyond the band below chance answers systematically wrong, which is something
    learned (BERT on WNLI: 0.5634, then 0.3239, 0.2958, 0.2676, 0.23 below chance), and stays a reversal.
    Since stop 80 n is read, where the reader recorded no printed decimals (an HF card's table prints
    none with trailing zeros), at the decimals the values show (``shown``): that MiniLM card prints
    0.125 and 0.075, 3 decimals, 5 and 3 of 40, and its reversal was reported for want of them. Only
    here, where the loss at ln K already proves that nothing was learned; the sampling-noise guard of
    a learned level keeps the reader's decimals (asked there too, it also dropped a labelled reversal
    on a 40-image set: a ResNet-50's accuracy 0.525 -> 0.375)."""
    from lrdoctor.detect._progress.chance import _stuck_at_chance, chance_accuracy
    from lrdoctor.detect.progress import DEFAULTS as PROGRESS

    sized = _accuracy_set_size(run, name, values, th.short_lattice_values, shown=True)
    if sized is None:
        return False
    stuck = _stuck_at_chance(run, PROGRESS)
    if stuck is None:
        return False
    n, scale = sized
    c = chance_accuracy(run.meta.roles.get(name, name), int(stuck.evidence["num_classes"]))
    band = th.noise_k * float(np.sqrt(c * (1 - c) / n))
    return abs(peak / scale - c) <= band and abs(end / scale - c) <= band


def _few_point_reversal(run: Run, th: ReturnThresholds) -> list[Finding]:
    from lrdoctor.detect.rl._common import TASK_METRICS

    for name in TASK_METRICS:
        s = run.series(name)
        if s is None:
            continue
        f = s.finite()
        v, st = f.values, f.steps
        if v.size < th.few_falls + 2:
            continue
        p = int(np.argmax(v))
        falls = v.size - 1 - p
        monotone = p > 0 and falls >= th.few_falls and (np.diff(v[p:]) < 0).all() and v[-1] < v[0]
        if monotone and name in RATIO_SCALE and v[p] > 0 and v[p] - v[-1] < th.material * v[p]:
            monotone = False  # an accuracy that slid by less than ``material`` of its level: no reversal
            # worth a warning (a reward model's 0.6048 -> 0.6006, 0.7%, over three evaluations)
        ratio_fall = name in RATIO_SCALE and v[p] > 0 and v[p] - v[-1] >= th.min_gain_share * v[p] and falls >= th.few_falls
        p_down = trend_p_down(v[p:]) if ratio_fall else 1.0
        gain = float(v[p] - v[0])
        if name in ("ep_return", "eval_return") and p > 0 and gain > 0 and v[p] - v[-1] >= th.min_gain_share * gain \
                and falls > th.few_falls:
            # an interval-scale metric (a return): the drop is judged against the gain, and the
            # trend on the reports *after* the peak (the peak itself is above them by choice)
            p_down = trend_p_down(v[p + 1:])
        trend = p_down < th.few_trend_p
        step_down = (not (monotone or trend) and not is_error_rate(run.meta.roles.get(name, name))
                     and (p > 0 or name in RATIO_SCALE) and _stepped_down(v, p, th))
        if step_down and p == 0 and loss_went_nonfinite(run):
            step_down = False  # a score that fell when the loss went NaN: nonfinite's blow-up, seen downstream
        if step_down and name in RATIO_SCALE and v[p] > 0 and v[p] - np.median(v[p + 1:]) < th.material * v[p]:
            step_down = False  # a level a few print units below the peak: a BLEU of 0.036 then 0.035-0.0351, 2.8%
        if not (monotone or trend or step_down):
            continue
        if name in RATIO_SCALE and 0 <= float(v[p]) < _untrained_level(run, th) * (100.0 if v.max() > 1.0 else 1.0):
            continue  # a best at an untrained model's level: its fall is noise at the floor
        if _within_sampling_noise(run, name, v, float(v[p]), float(v[-1]), th):
            continue  # a few examples of a small evaluation set
        if _guessed_throughout(run, name, v, float(v[p]), float(v[-1]), th):
            continue  # a model that never learned: its accuracy moved within a guess's noise
        per, unit = slope_unit(run)
        up = (v[p] - v[0]) / max(float(st[p] - st[0]), 1e-12) * per
        down = (v[-1] - v[p]) / max(float(st[-1] - st[p]), 1e-12) * per
        col = run.meta.roles.get(name, name)
        gain = float(v[p] - v[0])
        ev = {"metric": col, "peak_step": float(st[p]), "peak": float(v[p]), "start": float(v[0]), "end": float(v[-1]),
              "slope_before": up, "slope_after": down, "slope_unit": unit,
              "drop_share_of_gain": float(v[p] - v[-1]) / gain if gain > 0 else float("inf"),
              "fall_step": float(st[first_fall(v, p)])}
        return [Finding(
            "performance_reversal", Severity.WARNING, float(st[p]), float(st[-1]),
            (f"{col} peaked at {fmt(float(v[p]))} (step {fmt(float(st[p]))}) and fell at every one of the {falls} later "
             f"reports to {fmt(float(v[-1]))}, below its start {fmt(float(v[0]))}") if monotone else
            (f"{col} peaked at {fmt(float(v[p]))} (step {fmt(float(st[p]))}), then dropped and stayed down: all {falls} "
             + (f"later reports are below the level it had on the way up (median {fmt(float(np.median(v[p + 1:])))})" if p > 0 else
                f"later reports are well below it (median {fmt(float(np.median(v[p + 1:])))}, "
                f"{float(v[p] - np.median(v[p + 1:])) / float(v[p]):.0%} down): its best was its first evaluation")) if step_down else
            (f"{col} fell from {fmt(float(v[p]))} (step {fmt(float(st[p]))}) to {fmt(float(v[-1]))} over the next "
             f"{falls} reports, a downward trend (Mann-Kendall p = {p_down:.2g})"), ev,
            "Learning turned into unlearning: the LR (or target-update rate) that helped early is too large "
            "late, or value estimates diverged. The peak checkpoint is the one to keep.",
        )]
    return []


def first_fall(v: np.ndarray, p: int) -> int:
    """The index of the first report after the peak ``p`` that lies below every report from the peak up
    to it: where the score's fall begins (a peak held or bettered for a few reports, as the trend rule's
    rolling median places it at the start of a tied top, falls from the last of them). The last report
    when none does."""
    top = float(v[p])
    for i in range(p + 1, v.size):
        if v[i] < top:
            return i
        top = max(top, float(v[i]))
    return v.size - 1


def _untrained_level(run: Run, th: ReturnThresholds) -> float:
    """The share of right answers below which a ratio-scale score's best is an untrained model's
    level, whose later fall is noise at the floor, no reversal: ``collapse_best_share`` of the scale
    (wav2vec2 on MInDS-14's 14 intents: accuracy 0.0796 at its first evaluation, then 0.0442-0.0708
    as the loss sat at ln 14), or ``chance_collapse_best`` times 1/K when the config gives a class
    count K for which that is lower (an ImageNet run at 8% top-1 had learned something to lose)."""
    from lrdoctor.detect._classes import num_classes

    given = num_classes(run)
    if given is not None and given[1] >= 2:
        return min(th.collapse_best_share, th.chance_collapse_best / given[1])
    return th.collapse_best_share


def _stepped_down(v: np.ndarray, p: int, th: ReturnThresholds) -> bool:
    """A drop that stays: after a peak that is not the first report, each of the more than
    ``few_falls`` later reports lies below the peak by more than ``noise_k`` sigmas of their own
    scatter about their median (a level, not a trend; successive differences would count the
    drop itself as scatter), the gain up to the peak is larger than that too, and their
    median is below the median of the reports before the peak: the run ended, typically, worse
    than it was on its way up. A drop that holds is no trend (Mann-Kendall sees a flat stretch),
    and a peak that is one high draw has later reports within the scatter (angela's hill climber
    on Pendulum: -4727 -> -866 at episode 400, then -2031 ... -3479 for six reports).
    A peak at the first report has no way up to compare with: see :func:`_stepped_down_from_first`."""
    post = v[p + 1:]
    if p == 0:
        return _stepped_down_from_first(v, th)
    if post.size <= th.few_falls:
        return False
    sigma = robust_sigma(post)
    bar = th.noise_k * sigma
    return bool(v[p] - v[0] > bar and (post < v[p] - bar).all()
                and np.median(post) < np.median(v[:p]))


def _dropped_and_held(v: np.ndarray, th: ReturnThresholds) -> bool:
    """A drop that holds, for the trend rule of a long log: Mann-Kendall sees no downward trend in
    reports that fell at once and then stayed flat (a model collapsed to one class's share, its
    accuracy 0.92 then 0.098 at nine evaluations), so the fall is asked as :func:`_stepped_down`
    asks it of a short log, from the raw reports' best (the smoothed peak can sit a report or two
    before it), and every later report must also lie below the median of the reports before the
    best: the level dropped under the one the run climbed through, which a single high draw
    (an RL average of 1.24 among reports of -0.1 to 0.2) leaves untouched."""
    q = int(np.argmax(v))
    if q == 0 or not _stepped_down(v, q, th):
        return False
    return bool((v[q + 1:] < np.median(v[:q])).all())


def _stepped_down_from_first(v: np.ndarray, th: ReturnThresholds) -> bool:
    """A ratio-scale score (0 is nothing right) whose best is its first report and that then drops
    and stays down: each of the more than ``few_falls`` later reports lies below the first by more
    than ``noise_k`` sigmas of their own scatter, and their median is at least ``min_gain_share`` of
    the first report's level below it. With no way up to measure a gain against, the drop is judged
    against the score's own level, as the trend rule of :func:`detect_reversal` judges a long log
    whose best is at its start (a fine-tune is first evaluated after an epoch of training, and a
    checkpoint that loses a fifth of what it scored then has unlearned it: a Danish BERT's F1
    0.8129 at epoch 1, then 0.7001 and 0.6259-0.6333 for eight epochs while its validation loss
    rose 0.45 -> 0.57)."""
    post = v[1:]
    if post.size <= th.few_falls or float(v.min()) < 0 or not v[0] > 0:
        return False
    bar = th.noise_k * robust_sigma(post)
    return bool(v[0] - np.median(post) >= th.min_gain_share * v[0] and (post < v[0] - bar).all())


def _worse_than_untrained(run: Run, th: ReturnThresholds) -> list[Finding]:
    """See ``ReturnThresholds.untrained_points``."""
    for name in ("eval_return", "ep_return"):
        s = run.series(name)
        if s is None:
            continue
        f = s.finite()
        v, st = f.values, f.steps
        if st[0] != 0 or run.meta.step_column is None:
            continue  # (row numbers start at 0 too: only a logged step 0 is the untrained policy)
        later = v[1:]
        if later.size < th.untrained_points and not _fell_at_every_report(v, th):
            continue
        margin = th.noise_k * robust_sigma(later)
        if not (later.max() < v[0] and v[0] - np.median(later) > margin and v[0] - later.max() > 0):
            continue
        col = run.meta.roles.get(name, name)
        best_later = int(np.argmax(later)) + 1
        ev = {"metric": col, "peak_step": 0.0, "peak": float(v[0]), "start": float(v[0]), "end": float(v[-1]),
              "drop_share_of_gain": float("inf")}
        return [Finding(
            "performance_reversal", Severity.WARNING, float(st[1]), float(st[-1]),
            f"{col} of the untrained policy (step 0) was {fmt(float(v[0]))}; after training began it never came back: "
            f"every one of the {later.size} later reports is below it (best {fmt(float(v[best_later]))} at step "
            f"{fmt(float(st[best_later]))}, median {fmt(float(np.median(later)))})", ev,
            "Training made the policy worse than its random initialisation: updates too large from the first "
            "step (LR, no warmup), a reward or done signal the update reads wrongly, or a critic that diverged "
            "at once.",
        )]
    return []



def _fell_at_every_report(v: np.ndarray, th: ReturnThresholds) -> bool:
    """True when a return logged from the untrained policy's step 0 fell at every one of its later
    reports, at least ``few_falls`` of them (since stop 80): on a log with fewer than
    ``untrained_points`` reports after step 0, the few-point rule's order statistic (a fall at each
    of n reports in a row comes by chance with p = 1/(n+1)!, 1/24 for three) stands in for the
    count, and the untrained policy's return for the gain that rule asks of a return (Acme's D4PG:
    -9.0 at learner step 0, then -28.7, -69.0, -78.3, -80.3). No new threshold."""
    return v.size > th.few_falls and bool((np.diff(v) < 0).all())

def _median_fell(run: Run, t: TaskCurve, peak_step: float, need: float) -> bool:
    """True unless the task curve is a rolling mean of raw episode returns (the Monitor reader's
    ``ep_rew_mean``) whose fall the raw returns' median does not share: the median of the last
    ``EP_INFO_BUFFER`` episodes must also be ``need`` below that of the buffer ending at the peak.
    A mean of 100 episodes is moved by one catastrophic episode (Open-the-Chests: one return of
    -1388 among +2..+5 pulls the mean from +3.5 to -10 for 100 episodes); a policy that unlearned
    lowers the typical episode, the median."""
    from lrdoctor.io.monitor_csv import EP_INFO_BUFFER

    raw = monitor_raw_returns(run, t.name)
    if raw is None:
        return True
    before = raw.values[raw.steps <= peak_step][-EP_INFO_BUFFER:]
    last = raw.values[-EP_INFO_BUFFER:]
    if before.size < EP_INFO_BUFFER // 2:
        return True
    return float(np.median(before)) - float(np.median(last)) >= need


def _fast_climb_start(t: TaskCurve, p: int) -> float | None:
    """The first report of a return whose smoothed peak ``p`` lies in the first tenth of the run but
    after its first report: the climb took fewer reports than the smoothing window (``SMOOTH_SHARE``
    of the run, at least 5 reports), so the smoothed start already sits at the peak and shows no gain,
    while the first report is the policy before it learned. The gain from it is what a fall is then
    measured against, as for a later peak (a return is on an interval scale: its own level means
    nothing, so it needs a gain). None for another metric, or a peak at the first report (no climb
    to measure). QR-DQN on Asteroids: the 100-episode mean 280 at the first episode, 880 by episode
    59 of 679, then down to 241 by the end."""
    if t.name not in RETURN_ROLES or p == 0:
        return None
    return float(t.c.mid[0])


@detector("performance_reversal", thresholds=DEFAULTS, evidence=PerformanceReversalEvidence, needs=_reversal_needs)
def detect_reversal(run: Run, th: ReturnThresholds = DEFAULTS) -> list[Finding]:
    """The collapse rules, the trend rule (20+ reports) or the few-point rule; then, when none of them
    speaks, a return that stays far below the running best its log prints."""
    return _reversal_rules(run, th) or _return_far_from_printed_best(run, th)


def _reversal_rules(run: Run, th: ReturnThresholds) -> list[Finding]:
    """See :func:`detect_reversal`."""
    collapse = (_forgot(run, th) or _error_rate_collapse(run, th) or _error_rate_doubled(run, th) or _chance_collapse(run, th) or _two_class_collapse(run, th) or _worse_than_untrained(run, th)
                or _far_from_printed_best(run, th) or _collapsed_to_nothing(run, th) or _error_rate_stayed_up(run, th)
                or _short_log_stayed_down(run, th))
    if collapse:
        return collapse
    t = task_curve(run)
    if t is None or t.n < 20:  # too short for the trend rule
        return _few_point_reversal(run, th)
    return _trend_reversal(run, t, th) or _falls_past_the_smoothing(run, t, th)


def _trend_reversal(run: Run, t: TaskCurve, th: ReturnThresholds) -> list[Finding]:
    """The trend rule of a log of 20+ reports: the smoothed task curve's peak, a gain before it and a
    fall after it beyond ``noise_k`` sigmas and ``min_gain_share`` of the gain, a downward trend in the
    reports after the peak (or a drop that held), and slopes that turn from rising to falling."""
    sm, steps = t.smooth, t.c.step
    p = int(np.argmax(sm))
    if p >= th.peak_before * t.n:
        return []
    edge = max(1, t.n // 20)
    start, peak, end = _level(t, 0, edge), float(sm[p]), _level(t, t.n - edge, t.n)
    gain, drop = peak - start, peak - end
    from_start = p < 0.1 * t.n and t.name in RATIO_SCALE
    if from_start:
        # best at the start: a ratio-scale metric is judged against its own level
        # (a fine-tune that starts from a good checkpoint and unlearns it)
        if peak <= 0 or drop <= th.noise_k * t.sigma or drop < th.min_gain_share * peak:
            return []
        gain = peak
    else:
        if p < 0.1 * t.n:
            start = _fast_climb_start(t, p)
            if start is None:
                return []  # an interval-scale metric at its best from the start: no gain to measure a fall against
            gain = peak - start
        if gain <= th.noise_k * t.sigma or drop <= th.noise_k * t.sigma or drop < th.min_gain_share * gain:
            return []
    if not _median_fell(run, t, float(steps[p]), th.min_gain_share * gain):
        return []
    raw_peak = float(np.max(t.c.mid[max(0, p - edge):p + edge + 1]))
    if _within_sampling_noise(run, t.name, t.c.mid, raw_peak, end, th):
        return []  # the fall is a few examples of a small evaluation set
    if _guessed_throughout(run, t.name, t.c.mid, raw_peak, end, th):
        return []  # a model that never learned: its accuracy moved within a guess's noise
    if trend_p_down(t.c.mid[p + 1:]) >= th.few_trend_p and not _dropped_and_held(t.c.mid, th):
        return []  # the reports after the peak show no downward trend: a high stretch of noise, not a fall
    per, unit = slope_unit(run)
    up = fit_slope(steps[: p + 1], t.c.mid[: p + 1]) * per if p > 0 else 0.0
    down = fit_slope(steps[p:], t.c.mid[p:]) * per
    if (up <= 0 and not from_start) or down >= 0:
        return []
    ev = {"metric": t.name, "peak_step": float(steps[p]), "peak": peak, "start": start, "end": end,
          "slope_before": up, "slope_after": down, "slope_unit": unit, "drop_share_of_gain": drop / gain,
          "fall_step": float(steps[first_fall(t.c.mid, p)])}
    onset = float(steps[p])
    if from_start:  # held its start level for a while: the fall begins where it leaves for good
        near = np.flatnonzero(sm >= peak - th.noise_k * t.sigma)
        onset = float(steps[min(int(near[-1]) + 1, t.n - 1)])
    col = run.meta.roles.get(t.name, t.name)
    if from_start:
        text = (f"{col} was at its best ({fmt(peak)}) from the start and fell from step {fmt(onset)} to {fmt(end)}, "
                f"{drop / peak:.0%} of its level: slope {down:+.3g} {unit}")
    else:
        text = (f"{col} peaked at {fmt(peak)} (step {fmt(float(steps[p]))}) and fell to {fmt(end)}: slope "
                f"{up:+.3g} -> {down:+.3g} {unit}")
    return [Finding(
        "performance_reversal", Severity.WARNING, onset, float(steps[-1]), text, ev,
        "Learning turned into unlearning: the LR (or target-update rate) that helped early is too large "
        "late, the replay/rollout distribution shifted, or value estimates diverged. The peak checkpoint "
        "is the one to keep.",
    )]



def _falls_past_the_smoothing(run: Run, t: TaskCurve, th: ReturnThresholds) -> list[Finding]:
    """A fall at the end of a long log that the trend rule's smoothing cannot see: the raw best report
    followed by a fall at every later report to the end, at least ``few_falls`` of them, each fall
    larger than ``noise_k`` sigmas of the task curve's noise (``TaskCurve.sigma``), and the whole drop
    at least ``min_gain_share`` of the gain from the first report to the best for a return (interval
    scale), of the best's level for a ratio-scale score. The rolling median's edges use the nearest
    full window (:func:`~lrdoctor.detect._stats.rolling_median`), so the last half-window of reports
    never moves the smoothed end the trend rule reads; the raw reports are judged as the few-point
    rule judges a short log (falls at every report after the best, 1/4! for three of them under
    noise alone), and a fall that is each time beyond the curve's own noise is no wobble at the top
    (angela's policy gradient on Pendulum: the 100-episode average climbs -5804 -> -769 over 19
    reports, then -843, -1150, -1996 at the last three, 24% of the gain given back, while the
    smoothed end still reads -1093). No new threshold: the few-point rule's count, the trend rule's
    noise and materiality."""
    v, st = t.c.mid, t.c.step
    p = int(np.argmax(v))
    falls = v.size - 1 - p
    if p == 0 or falls < th.few_falls or not (-np.diff(v[p:]) > th.noise_k * t.sigma).all():
        return []
    if t.name in RETURN_ROLES:
        gain = float(v[p] - v[0])  # (an interval scale: the fall is measured against what was gained)
    else:
        gain = float(v[p]) if t.name in RATIO_SCALE else 0.0  # (a ratio scale: against the best's level)
    drop = float(v[p] - v[-1])
    if not gain > 0 or drop < th.min_gain_share * gain or not _median_fell(run, t, float(st[p]), th.min_gain_share * gain):
        return []
    if _within_sampling_noise(run, t.name, v, float(v[p]), float(v[-1]), th) \
            or _guessed_throughout(run, t.name, v, float(v[p]), float(v[-1]), th):
        return []  # (the trend rule's guards on an accuracy: a small evaluation set, a model that never learned)
    col = run.meta.roles.get(t.name, t.name)
    return [_fall_from(
        col, st, v, p,
        f"{col} peaked at {fmt(float(v[p]))} (step {fmt(float(st[p]))}) and fell at every one of the {falls} later reports "
        f"to {fmt(float(v[-1]))}, each fall beyond its noise ({th.noise_k:g} sigma = {fmt(th.noise_k * t.sigma)}): "
        f"{drop / gain:.0%} of " + ("the gain from its first report" if t.name in RETURN_ROLES else "its level"),
        "Learning turned into unlearning at the end of the run: the LR (or an exploration or entropy schedule) "
        "too large late, or value estimates diverged. The peak checkpoint is the one to keep.",
        drop_share_of_gain=drop / gain, fall_step=float(st[p + 1]),
    )]

class RewardInstabilityEvidence(Evidence):
    """What a ``reward_instability`` finding proves itself with (keys absent when not measured)."""

    metric: str
    swings: list
    range: float
    noise_sigma: float
    floor: float
    gain: float
    episodes_below: int
    worst: float


def _instability_needs(run: Run, th: ReturnThresholds) -> str | None:
    """A task metric of ``segments`` segments of at least two reports each."""
    return needs.task_points(2 * th.segments, f"{th.segments} segments of at least two reports each")(run)


@detector("reward_instability", thresholds=DEFAULTS, evidence=RewardInstabilityEvidence, needs=_instability_needs)
def detect_instability(run: Run, th: ReturnThresholds = DEFAULTS) -> list[Finding]:
    """The swing rule on the smoothed task metric; when it is silent, the below-the-learning-floor
    rule on the raw episode returns behind a Monitor log's rolling mean."""
    return _swings(run, th) or _below_learning_floor(run, th)


def learning_floor_breaks(c: Curve, th: ReturnThresholds) -> tuple[float, float, int, np.ndarray] | None:
    """(floor, gain, first bin after the learning phase, mask of the bins after it whose lowest
    episode lies more than ``floor_depth_gain`` x gain below the floor) of raw episode returns binned
    as every curve is (:func:`curve`: the bin minimum keeps a catastrophic episode visible); None when
    the run learned nothing beyond its noise. The bins' medians are smoothed as the task curve is (a
    rolling median over ``SMOOTH_SHARE`` of the run, at least 5 points). The gain is the rise of that median from
    its first value to its best, and must exceed ``noise_k`` robust sigmas of the episodes around it
    (a run that learned nothing has no learned level to fall from). The learning phase ends where the
    median first comes within ``min_gain_share`` of the gain of its best; its floor is the lowest
    episode up to there."""
    w = max(5, int(len(c) * SMOOTH_SHARE)) | 1
    sm = rolling_median(c.mid, w)
    gain = float(sm.max() - sm[0])
    if not gain > th.noise_k * robust_sigma(c.mid - sm):
        return None
    learned = int(np.argmax(sm - sm[0] >= (1 - th.min_gain_share) * gain))
    floor = float(c.lo[: learned + 1].min())
    return floor, gain, learned + 1, c.lo[learned + 1:] < floor - th.floor_depth_gain * gain


def _below_learning_floor(run: Run, th: ReturnThresholds) -> list[Finding]:
    """Recurring catastrophic episodes of a learned policy: at least ``min_swings`` separate runs of
    raw episode returns, after the learning phase, below its lowest return by more than
    ``floor_depth_gain`` x the gain (:func:`learning_floor_breaks`). An episode is one sample, so the
    judge is the run's own scatter while it learned, not a fixed number; the rolling mean the
    Monitor reader logs hides such episodes inside 100 others (Open-the-Chests: -1941 among +3..+5)."""
    t = task_curve(run)
    raw = monitor_raw_returns(run, t.name) if t is not None else None
    if raw is None or raw.values.size < 2 * th.segments:
        return []
    c = curve(raw)
    got = learning_floor_breaks(c, th)
    if got is None:
        return []
    floor, gain, after, deep = got
    events = runs_of(deep)
    if len(events) < th.min_swings:
        return []
    first, last = after + events[0][0], after + events[-1][1] - 1
    worst = float(c.lo[after:][deep].min())
    ev = {"metric": run.meta.roles.get("episode_return", "episode_return"), "floor": floor, "gain": gain,
          "episodes_below": int(deep.sum()), "worst": worst, "range": float(np.ptp(c.mid)), "noise_sigma": t.sigma}
    return [Finding(
        "reward_instability", Severity.WARNING, float(c.first[first]), float(c.step[last]),
        f"after learning (a gain of {fmt(gain)}), {int(deep.sum())} episode return(s) in {len(events)} separate runs fell "
        f"more than that gain below the lowest return seen while learning ({fmt(floor)}); worst {fmt(worst)}",
        ev,
        "The learned policy breaks down now and then: some states it never met while exploring (or a value "
        "estimate that swings with the updates) send it into episodes far worse than an untrained one. "
        "Smaller updates, or more exploration late, keep it on the states it knows.",
    )]


def _swings(run: Run, th: ReturnThresholds) -> list[Finding]:
    """The smoothed task metric swings by ``swing_share`` of its range ``min_swings`` times."""
    t = task_curve(run)
    if t is None or t.n < 2 * th.segments:
        return []
    rng = float(np.ptp(t.smooth))
    if rng <= th.noise_k * t.sigma:
        return []
    edges = np.linspace(0, t.n - 1, th.segments + 1).astype(int)
    moves = np.diff(t.smooth[edges])
    # merge consecutive moves of one sign into swings, keep the large ones
    swings: list[tuple[int, float]] = []
    for i, m in enumerate(moves):
        if swings and np.sign(m) == np.sign(swings[-1][1]):
            swings[-1] = (swings[-1][0], swings[-1][1] + m)
        elif m != 0:
            swings.append((i, float(m)))
    big = [(i, m) for i, m in swings if abs(m) >= th.swing_share * rng and abs(m) > th.noise_k * t.sigma]
    alternating = [big[0]] if big else []
    for s in big[1:]:
        if np.sign(s[1]) != np.sign(alternating[-1][1]):
            alternating.append(s)
    if len(alternating) < th.min_swings:
        return []
    first, last = alternating[0][0], alternating[-1][0]
    ev = {"metric": t.name, "swings": [{"step": float(t.c.step[edges[i]]), "change": m} for i, m in alternating],
          "range": rng, "noise_sigma": t.sigma}
    return [Finding(
        "reward_instability", Severity.WARNING, float(t.c.step[edges[first]]), float(t.c.step[edges[last + 1]]),
        f"{t.name} swung {len(alternating)} times by >= {th.swing_share:.0%} of its range ({fmt(rng)}) "
        "without settling", ev,
        "The policy keeps learning and unlearning: updates too large (LR, or a collapsed entropy that makes "
        "every update flip the greedy action), or a critic whose errors swing with it.",
    )]


class ObjectiveMismatchEvidence(Evidence):
    """What a ``objective_mismatch`` finding proves itself with (keys absent when not measured)."""

    metric: str
    loss_start: float
    loss_end: float
    task_start: float
    task_end: float
    noise_sigma: float


@detector("objective_mismatch", thresholds=DEFAULTS, evidence=ObjectiveMismatchEvidence, needs=needs.task_metric)
def detect_mismatch(run: Run, th: ReturnThresholds = DEFAULTS) -> list[Finding]:
    """Needs a training loss and a task metric of ``mismatch_points`` reports each: the rule
    compares the two over quarters of the run, and on fewer it is not checked
    (:class:`CannotJudge`) rather than silent."""
    t = task_curve(run)  # the first task metric with enough reports
    lc = run_curve(run, "loss")
    if lc is None:
        raise CannotJudge("no training-loss column (loss, train_loss, Loss/train, ...) to set beside the task metric")
    n_task, n_loss = (0 if t is None else t.n), len(lc)
    if min(n_task, n_loss) < th.mismatch_points:
        raise CannotJudge(f"{n_loss} loss and {n_task} task-metric point(s); needs {th.mismatch_points} of each (the two "
                          "curves compared over quarters of the run)")
    w = max(5, len(lc) // 25) | 1
    loss = rolling_median(lc.mid, w)
    lo, hi = float(max(lc.step[0], t.c.step[0])), float(min(lc.step[-1], t.c.step[-1]))
    if hi <= lo:
        return []
    span = hi - lo
    rng = float(np.ptp(t.smooth))
    win, hop = th.window_share * span, th.window_share * span / 2
    found = None
    a = lo
    while a + win <= hi + 1e-9:
        b = a + win
        l_a, l_b = np.interp([a, b], lc.step, loss)
        r_a, r_b = np.interp([a, b], t.c.step, t.smooth)
        falls = l_a > 0 and (l_a - l_b) / l_a >= th.loss_drop
        worse = r_a - r_b > max(th.noise_k * t.sigma, th.material * max(abs(r_a), rng))
        if falls and worse:
            found = (a, b, float(l_a), float(l_b), float(r_a), float(r_b)) if found is None else (
                found[0], b, found[2], float(l_b), found[4], float(r_b))
        elif found is not None:
            break
        a += hop
    if found is None:
        return []
    a, b, l_a, l_b, r_a, r_b = found
    ev = {"metric": t.name, "loss_start": l_a, "loss_end": l_b, "task_start": r_a, "task_end": r_b,
          "noise_sigma": t.sigma}
    return [Finding(
        "objective_mismatch", Severity.WARNING, a, b,
        f"loss fell {fmt(l_a)} -> {fmt(l_b)} while {t.name} fell {fmt(r_a)} -> {fmt(r_b)} "
        f"(steps {fmt(a)}-{fmt(b)})", ev,
        "The loss being minimised no longer measures the task: a TD loss falls when the targets themselves "
        "drift (diverging Q-values make consistent but wrong targets), a policy loss when the policy stops "
        "exploring; in supervised runs, the model fits the training set at the eval set's expense.",
    )]


@fix_rule("objective_mismatch")
def fix_objective_mismatch(run: Run, f: Finding) -> Prescription:
    ev = f.evidence
    fixes = [Fix("checkpoint", None, None, f"{ev['metric']} was higher there",
                 note=f"keep the one before step {fmt(f.start_step)}"),
             Fix("selection metric", "loss", ev["metric"], "select and early-stop on the task metric, not the training loss")]
    if run.is_rl:
        fixes.insert(0, lr_fix(run, f, RL_LR_CUT, "the loss falls toward drifting targets: cut the LR 3x"))
    return Prescription(fixes, [Watch(ev["metric"], "rises or holds while the loss falls", "the loss measures the task",
                         trouble="falls while the loss falls")])


@fix_rule("performance_reversal")
def fix_performance_reversal(run: Run, f: Finding) -> Prescription:
    ev = f.evidence
    if "forgetting" in ev:  # a continual learner's logged forgetting: no single best to point at
        keep = "keep the checkpoint saved after each experience was learned"
    else:
        keep = (f"keep step {fmt(ev['peak_step'])} (peak {fmt(ev['peak'])})" if ev.get("peak_step") is not None
                else f"keep the checkpoint of the best the log printed ({fmt(ev['peak'])})")
    why = "each earlier experience was still known there" if "forgetting" in ev else "the best policy of the run"
    fixes = [Fix("checkpoint", None, None, why, note=keep),
             lr_fix(run, f, RL_LR_CUT, "learning turned into unlearning: decay the LR (linear to 0.1x) or cut it 3x from the peak on")]
    tau, tau_key = value_and_key(run, TAU_KEYS)
    if tau is not None and tau < 1.0 and soft_update(tau, 100).replaced > TARGET_SHARE_100 + 0.05:
        fixes.append(Fix(tau_key, tau, float(f"{tau_for_share(TARGET_SHARE_100, 100):.2g}"), "a slower target network"))
    if "forgetting" in ev:  # a continual learner's logged forgetting
        scale = 100.0 if ev["forgetting"] > 1.0 else 1.0
        watch = Watch(str(ev["metric"]), f"below {fmt(DEFAULTS.min_gain_share * scale)}", "the earlier experiences are kept",
                      trouble=f"as high as {fmt(ev['forgetting'])} again")
    elif "printed_best" in ev:  # far from the best the log printed
        watch = Watch(str(ev["metric"]), f"back near its printed best {fmt(ev['peak'])}", "the model recovered what it had",
                      trouble=f"stays far from it (last {fmt(ev['end'])})")
    elif "rise_factor" in ev:  # an error rate held at a factor of its best
        watch = Watch(str(ev["metric"]), f"stays near its best {fmt(ev['peak'])}", "the model keeps what it learned",
                      trouble=f">= {ev['rise_factor']:.3g}x its best (it reached {fmt(ev['end'])})")
    elif "slope_unit" not in ev:  # an error rate that collapsed past 100%
        watch = Watch(str(ev["metric"]), f"stays near its best {fmt(ev['peak'])}", "the model keeps what it learned",
                      trouble=f">= 100% (it reached {fmt(ev['end'])})")
    else:
        watch = Watch(f"{ev['metric']} slope", f"> 0 {ev['slope_unit']}", "learning",
                      trouble=f"< 0 {ev['slope_unit']} (it was {ev['slope_after']:+.3g})")
    return Prescription(fixes, [watch], recheck_after(run))


@fix_rule("reward_instability")
def fix_reward_instability(run: Run, f: Finding) -> Prescription:
    ev = f.evidence
    fixes = [lr_fix(run, f, RL_LR_CUT, "the return swings by half its range again and again: smaller updates"
                    if "floor" not in ev else "the learned policy breaks down in some episodes: smaller updates"),
             Fix("n_envs x n_steps (rollout size)", None, None, "more samples per update average out the policy-gradient noise",
                 note="2x"),
             Fix("max_grad_norm", value_and_key(run, CLIP_KEYS)[0], 0.5, "clip the updates (SB3 PPO/A2C default 0.5)")]
    if "floor" in ev:  # catastrophic episodes below the learning floor
        watch = Watch(ev["metric"], f"no episode below {fmt(ev['floor'] - ev['gain'])}", "the policy holds what it learned",
                      trouble=f"episodes as low as {fmt(ev['worst'])} again")
    else:
        watch = Watch(ev["metric"], f"smoothed swings below {fmt(0.25 * ev['range'])}", "the policy consolidates",
                      trouble=f"swings of {fmt(0.5 * ev['range'])} or more")
    return Prescription(fixes, [watch])
