"""``loss_spike``: the loss jumps far above its trend and comes back (a transient).

A spike that does not come back is divergence, not a spike; it is left to ``divergence``.
One isolated small spike is info (large runs have them: PaLM reports ~20 in 540B training);
repeated spikes, and one that triples the loss (``warn_ratio``), are a warning, the early sign
of a learning rate at the stability edge.

Three rules find spikes. On any log, a point far above the rolling-median trend (long logs),
and a *sustained* rise that meets ``divergence``'s thresholds for its minimum length and then
comes back below them (PaLM's and OPT's spikes lasted hundreds of steps and recovered; such a
transient is always a warning: the run lost its progress for a stretch of its budget). On
a log of at most ``few_points`` reports (an excerpt pasted into an issue, an epoch log), where
a rolling median of 5+ points is most of the log, a point far above *both its neighbours*:
the same height thresholds, measured against the higher neighbour, so the next report's
return is part of the test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect._common import objective
from lrdoctor.detect._stats import diff2_sigma, diff_sigma, robust_sigma, runs_of
from lrdoctor.detect._trend import Trend, objective_trend
from lrdoctor.detect.divergence import DEFAULTS as DIV
from lrdoctor.detect.divergence import above_best, padded_tail_came_back, sustained_rises
from lrdoctor.detect import needs
from lrdoctor.detect._fixes import SOFT_LR_CUT, WATCH_LOSS, WATCH_GRAD, lr_fix
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.detect._grad import max_grad_norm
from lrdoctor.detect.initial_loss_anomaly import starts_at_the_start
from lrdoctor.finding import Evidence, Finding, Fix, Severity, Watch
from lrdoctor.run import Run

__all__ = ["LossSpikeThresholds", "detect", "few_point_spikes"]


@dataclass(frozen=True)
class LossSpikeThresholds(Thresholds):
    noise_k: float = 7.0
    """Height above the trend in robust sigmas of the noise (see ``_noise_sigma``). Far above a
    Hampel filter's 3 because minibatch losses are heavy-tailed (diffusion per-batch losses
    span 10x, about 4.6 sigma on the log scale). 7 is the threshold the earlier 8-sigma rule
    had in effect on long logs, where the residual MAD it used understated the noise by
    about 10% (digits MLP, 400 reports: 0.093 against 0.102 from differences)."""
    relative: float = 0.5
    """And at least 50% above the trend: the post-mortem's "±50% swings" red flag (#1)."""
    quanta: float = 3.0
    """And more than 3 steps of the log's printing resolution (HF rounds losses to 4
    decimals: 0.0001 -> 0.0002 is one rounding step, not a spike)."""
    warn_count: int = 3
    """Spikes in one run that make a warning instead of info. Source: PaLM (Chowdhery et al.
    2022, §5.1) treats isolated spikes as expected and recurrent ones as instability."""
    warn_ratio: float = 3.0
    """A single spike is a warning when it at least triples the loss (peak >= 3x the trend, or
    the higher neighbour on a few-point log). PaLM (Chowdhery et al. 2022, §5.1) rolled back
    to a checkpoint and skipped the batches for each of its spikes rather than ride them out.
    Not 2x: one of 200 healthy digits runs (bench/false_alarms.py, seed 145) had a single batch
    at 2.05x its trend; none reached 3x. Not for a peak under the run's lowest evaluation loss
    (:func:`_tall`): against a memorised floor the ratio measures the memorisation."""
    few_points: int = 50
    """Logs with at most this many loss reports also get the neighbour rule (the same bound as
    ``divergence``'s few-point rules)."""
    huge_ratio: float = 100.0
    """On a log of 3-4 reports, too few to measure any noise, a point at least this multiple of
    *both* neighbours is a spike: two orders of magnitude above the reports on either side is
    beyond any batch-to-batch scatter of a logged loss (the issue's "growth by orders of
    magnitude"; the same 100x ``grad_explosion`` asks of one gradient step against its median).
    MMDetection issue 2061: 0.2586, 3.2e14, 0.2525 at iterations 700, 50, 100 of two epochs."""
    warn_undo: float = 0.5
    """A single spike is also a warning when it undoes at least half of the progress made so
    far (peak - best >= 0.5 x (first level - best)): the run lost most of what it had
    learned, if only for a while (a Keras classifier at 0.67 jumping to 6.0 after starting
    at 9.5, its accuracy 0.82 -> 0.40). PaLM's tolerated spikes are small against the
    progress of the run. The first level is the level the curve started from, as
    ``floor_share`` reads it (:func:`_starting_level`: the first report), not the median of the
    trend's first window: on a few-point log whose descent is done by its second report that
    median already sits at the floor, and any blip "undid" several times the progress (an OLMo-1B
    fine-tune: 1.36, then 0.17-0.15 for nine reports, 0.1355, one report at 0.2371, back to 0.11:
    4.7x the progress from the window's median 0.157, 8% of the descent from 1.36)."""
    floor_share: float = 0.1
    """Fewer than ``warn_count`` spikes whose highest peak stays below this share of the log's
    first report, an order of magnitude under where the curve started, are info whatever their
    height against the trend: judged on the log scale a converged loss at 0.0005 that jumps to
    0.15 is a 300x spike, but it gives back less than a tenth of the run's descent and the next
    report is at the floor again (ViViT on a video set: 1.60 at the first epoch, 0.0005 ... 0.148
    ... 0.0013). Recurring spikes of a tiny loss still warn (``warn_count``), the issue's case. A
    first report ``huge_ratio`` x every later one is no starting level: the next report stands in.
    A training loss that starts at its floor (a model fine-tuned again on data it has fitted) has
    no descent to measure the blip against; its lowest evaluation loss, what the model scores on
    data it has not fitted, stands in when higher: Whisper-small at lr 1e-8, training loss
    0.0002 at every report but one 0.0015, beside a validation loss of 0.87, is fitted throughout."""


DEFAULTS = LossSpikeThresholds()


def _resolution(x: np.ndarray) -> float:
    """The smallest gap between distinct logged values: the printing resolution."""
    u = np.unique(x[np.isfinite(x)])
    if u.size < 2:
        return 0.0
    return float(np.diff(u).min())


def _zeros_at_half_a_step(x: np.ndarray) -> np.ndarray:
    """A non-negative loss with its printed zeros read as half its printing step: a cross-entropy
    printed as 0.0 beside 0.0001 (the HF Trainer's 4 decimals) was below 0.00005, not 0, and the
    round-to-nearest bound is the only value the print gives it. Without it one zero keeps the whole
    log off the log scale (distilhubert on GTZAN: 0.1489, 0.0001, 0.3174, 0.0001, 0.0, 0.0001 ...:
    the 0.3174, over 3000x both neighbours, went unjudged). A log with no positive value, or any
    negative one, is returned as it is."""
    if x.size == 0 or (x < 0).any() or not (x > 0).any() or (x > 0).all():
        return x
    return np.where(x == 0, _resolution(x) / 2, x)


def _log_scale(t: Trend) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(reports, bin maxima, trend) of a loss on the log scale, or None for a loss with a report
    below 0 or none above it. Printed zeros beside positive reports are read as half the printing
    step, as :func:`_zeros_at_half_a_step` reads them for the neighbour rule: in the loss's own units
    the successive differences of a loss printed 0.0 at most reports are mostly 0, their MAD is 0,
    and any report above the floor stands infinitely many sigmas out (AST on GTZAN: 0.4932, 0.3541,
    0.5743, 0.6256, 0.0619 ... 0.0001, 0.0 ... 0.0; the early 0.6256, 1.8x its trend, read as a
    spike at noise sigma 0). On the log scale the noise is measured where the run made it."""
    lo, mid, hi, sm = t.c.lo, t.c.mid, t.c.hi, t.smooth
    half = _resolution(mid) / 2
    if (lo >= 0).all() and (lo == 0).any() and (mid > 0).any() and half > 0:
        lo, mid, hi, sm = (np.where(v == 0, half, v) for v in (lo, mid, hi, sm))
    if not ((lo > 0).all() and (sm > 0).all()):
        return None
    return np.log(mid), np.log(hi), np.log(sm)


def _noise_sigma(x: np.ndarray, residuals: np.ndarray) -> float:
    """Noise sigma: the larger of the residuals' robust sigma around the rolling-median trend
    and that of the successive differences (over sqrt(2)). With a short window the median *is*
    one of the points, so many residuals are exactly 0 and their MAD understates the noise (a
    healthy per-batch log of 60 reports: 0.056 in the log domain from the residuals, 0.175
    from the differences, and its 2x batch losses read as 8-sigma spikes). On a smooth
    epoch curve both are small, as they should be."""
    if x.size < 4:
        return robust_sigma(residuals)
    return max(robust_sigma(residuals), diff_sigma(x))


class LossSpikeEvidence(Evidence):
    """What a ``loss_spike`` finding proves itself with (keys absent when not measured)."""

    spikes: int
    largest: dict
    spike_steps: list
    noise_sigma: float
    progress_undone: float
    sustained: int
    last_report: bool
    above_initial: float
    metric: str
    training_jump: float


def few_point_spikes(x: np.ndarray, th: LossSpikeThresholds = DEFAULTS, detrended: bool = False,
                     zeros: bool = False) -> list[tuple[int, float]]:
    """(index, height ratio) of each interior point of a positive series that stands above
    *both* neighbours by more than ``relative`` and by more than ``noise_k`` sigmas of the
    scatter of the other points (log domain, successive differences). The height is taken
    against the higher neighbour, so a point counts only if the next report came back down.
    On 3-4 points, where no scatter can be measured, the point must be ``huge_ratio`` x both.
    ``detrended`` measures the scatter on second differences instead (no Dixon test): on a curve
    that falls by decades the first differences are the descent itself, and no bump stands out
    of them, while the second differences cancel a steady descent and keep the scatter.
    ``zeros`` reads a printed 0 as half the printing step (:func:`_zeros_at_half_a_step`) instead of
    leaving the log unjudged; the heights it gives against a floor are bounds, not measurements."""
    if zeros:
        x = _zeros_at_half_a_step(x)
    if x.size < 3 or not (x > 0).all():
        return []
    if x.size < 5:  # no scatter to measure: only a jump of orders of magnitude counts
        return [(i, float(x[i] / max(x[i - 1], x[i + 1]))) for i in range(1, x.size - 1)
                if x[i] >= th.huge_ratio * max(x[i - 1], x[i + 1])]
    lx = np.log(x)
    out = []
    for i in range(1, x.size - 1):
        h = lx[i] - max(lx[i - 1], lx[i + 1])
        if h <= np.log1p(th.relative) or x[i] - max(x[i - 1], x[i + 1]) <= th.quanta * _resolution(x):
            continue
        if (h > th.noise_k * diff2_sigma(np.delete(lx, i))) if detrended else _stands_out(lx, i, h, th):
            out.append((i, float(np.exp(h))))
    return out


def _stands_out(lx: np.ndarray, i: int, h: float, th: LossSpikeThresholds) -> bool:
    """Whether report ``i`` of a log-domain series, ``h`` above the level it is judged against, is
    an outlier against the scatter of the other reports: ``noise_k`` sigmas of their successive
    log-differences, or Dixon's Q at 99% on a log of 5-10 reports."""
    return h > th.noise_k * diff_sigma(np.delete(lx, i)) or _dixon_outlier(lx, i)


#: Dixon's r10 ("Q") at the 99% level for n = 3..10 values (Rorabacher 1991, Anal. Chem. 63,
#: 139, table I): the gap between an extreme value and the next, over the range, that a sample of
#: n normal values exceeds at either end with probability 1%. Only the largest is tested here, so
#: the test is at 0.5% (a Monte Carlo of 400,000 normal samples puts the one-sided 1% point at
#: 0.638 for n = 7, against the table's 0.680).
DIXON_Q99 = {3: 0.994, 4: 0.926, 5: 0.821, 6: 0.740, 7: 0.680, 8: 0.634, 9: 0.598, 10: 0.568}


def _dixon_outlier(lx: np.ndarray, i: int) -> bool:
    """True when ``lx[i]``, the largest of a log of 5-10 reports, is an outlier by Dixon's Q test
    at 99%: the test made for a handful of values, where a scatter estimated from 4-9 differences
    is too unsure to hold a 7-sigma bar (DFace: bbox-driven total loss 1.18, 0.89, 20.6, 1.42,
    1.21, 1.81, 0.80: Q = 0.75 on the log scale against 0.680 for n = 7). A trend widens the
    range, so the test only grows more cautious on a falling loss."""
    q99 = DIXON_Q99.get(int(lx.size))
    if q99 is None or int(np.argmax(lx)) != i:
        return False
    top, second, low = float(lx[i]), float(np.partition(lx, -2)[-2]), float(lx.min())
    return top > low and (top - second) / (top - low) >= q99


def _needs(run: Run) -> str | None:
    """A training loss, or (for :func:`_eval_spike`) an evaluation loss of enough points: a card
    whose "Training Loss" is "No log" on every row still shows its evaluations."""
    why = needs.loss(run)
    if why is not None and not run.is_rl and needs.points(run, "eval_loss") >= needs.MIN_LOSS_POINTS:
        return None
    return why


@detector("loss_spike", thresholds=DEFAULTS, evidence=LossSpikeEvidence, needs=_needs)
def detect(run: Run, th: LossSpikeThresholds = DEFAULTS) -> list[Finding]:
    """Spikes of the training loss (the trend rules, and the neighbour rule on a few-point log); when
    it shows none, or only a blip it calls info, of the evaluation loss (:func:`_eval_spike`)."""
    found = _detect_training(run, th)
    if any(f.severity is not Severity.INFO for f in found):
        return found
    return _eval_spike(run, th) or _joint_jump(run, th) or found  # see :func:`_eval_spike` on an info blip beside it


def _eval_spike(run: Run, th: LossSpikeThresholds) -> list[Finding]:
    """A spike of the evaluation loss where the training loss shows none: one evaluation at least
    ``warn_ratio`` x *both* its neighbours, and an outlier against the scatter of the other
    evaluations by the test of :func:`few_point_spikes` (7 sigmas, or Dixon's Q at 99% on 5-10 of
    them). An evaluation of a fixed set is deterministic, so the spike is the weights themselves,
    for a while, and the next evaluation shows they came back: the instability of a logged training
    loss that averages it away, or of a step between two logs (a Keras regressor on California
    housing at lr 0.05: val_loss 0.39 at epoch 2, 7.55 at epoch 3, then 1.16 and 0.45, while the
    epoch-mean training loss fell at every epoch). On a curve that falls by decades the scatter is
    measured on second differences (``few_point_spikes(detrended=True)``: Whisper-tiny on MInDS-14,
    0.0556, 0.0021, 0.0007, 0.0007, then 0.0398 and WER 0.0306 -> 0.0760 at the LR peak, then
    0.0100, 0.0009 ... 0.0001). Spikes under ``warn_ratio`` warn when they recur,
    ``warn_count`` or more (:func:`_recurring_eval_spikes`), as they do on the training loss.

    It is also read where the training loss shows only a blip that :func:`_detect_training` calls
    info (one small spike, or one near the floor: ``floor_share``): that blip says nothing about the
    evaluations, and a 3x evaluation spike is a warning by its own measure, so the info finding does
    not hide it; the evaluation finding then stands for the run (a date-format seq2seq with
    scheduled sampling in Keras: training loss 0.0241 -> 0.0705 -> 0.0182, info as a blip under a
    tenth of its first 1.68, while val_loss goes 0.0205 -> 0.0823 -> 0.0117, 4x both neighbours)."""
    e = run.series("eval_loss")
    if e is None:
        return []
    f = e.finite()
    got = ([(i, r) for i, r in few_point_spikes(f.values, th) if r >= th.warn_ratio]
           or [(i, r) for i, r in few_point_spikes(f.values, th, detrended=True) if r >= th.warn_ratio]
           or _recurring_eval_spikes(f.values, th))
    if not got:
        return []
    i, ratio = max(got, key=lambda p: p[1])
    step, peak = float(f.steps[i]), float(f.values[i])
    ev = {"spikes": len(got), "largest": {"step": step, "loss": peak, "trend": peak / ratio},
          "spike_steps": [float(f.steps[j]) for j, _ in got[:20]],
          "metric": run.meta.roles.get("eval_loss", "eval_loss")}
    summary = (f"{len(got)} evaluation-loss spike(s) that recovered; largest at step {fmt(step)}: {fmt(peak)}, "
               f"{ratio:.3g}x the higher of the evaluations beside it")
    cause = ("The weights were briefly much worse at that evaluation and came back by the next: a transient "
             "instability (an LR at the edge, often at the warmup's peak, or outlier batches) that the "
             "logged training loss averaged away.")
    return [Finding("loss_spike", Severity.WARNING, float(f.steps[got[0][0]]), step, summary, ev, cause)]


def _joint_jump(run: Run, th: LossSpikeThresholds) -> list[Finding]:
    """One evaluation at least ``warn_ratio`` x the best evaluation before it, while the training
    loss reported since the previous evaluation reached ``warn_ratio`` x its own best before it, and
    a later evaluation back down by the same factor (at most the peak / ``warn_ratio``): the weights
    broke for a while and recovered. Two witnesses of one event: the training loss alone jumps on an
    outlier batch, the evaluation loss alone climbs by overfitting, but both tripling at one report
    is the model itself; and a rise that stays up for two or three reports (so no report stands above
    *both* its neighbours, the test of :func:`few_point_spikes`) still counts once it comes back.
    A ConvNeXt-V2 on a histopathology set: training loss 0.2522, 0.1579, then 1.1016 and 1.0934,
    validation loss 0.1288, 0.1211, then 1.1018 and 1.0787, accuracy 0.96 -> 0.32, then both losses
    back to 0.33 by the seventh epoch. A rise that never comes back is divergence's."""
    s, e = objective(run), run.series("eval_loss")
    if s is None or e is None:
        return []
    t, v = s.finite(), e.finite()
    if t.values.size < 3 or v.values.size < 3 or (t.values <= 0).any() or (v.values <= 0).any():
        return []
    best_before = np.minimum.accumulate(v.values)  # best_before[i - 1]: the best of the reports before i
    low_after = np.append(np.minimum.accumulate(v.values[::-1])[::-1][1:], np.inf)  # the lowest after i
    for i in range(1, v.values.size):
        peak, before = float(v.values[i]), float(best_before[i - 1])
        if peak < th.warn_ratio * before or float(low_after[i]) > peak / th.warn_ratio:
            continue
        prev, at = float(v.steps[i - 1]), float(v.steps[i])
        base, since = t.values[t.steps <= prev], t.values[(t.steps > prev) & (t.steps <= at)]
        if base.size == 0 or since.size == 0 or float(since.max()) < th.warn_ratio * float(base.min()):
            continue
        jump = float(since.max() / base.min())
        ev = {"spikes": 1, "largest": {"step": at, "loss": peak, "trend": before}, "spike_steps": [at],
              "metric": run.meta.roles.get("eval_loss", "eval_loss"), "training_jump": jump}
        summary = (f"the evaluation loss jumped to {fmt(peak)} at step {fmt(at)}, {peak / before:.3g}x its best before, "
                   f"with the training loss at {jump:.3g}x its best, and came back")
        cause = ("The weights were much worse for a stretch and recovered: a transient instability (an LR at the "
                 "edge, a bad batch the optimiser's state amplified) that both the training and the held-out loss show.")
        return [Finding("loss_spike", Severity.WARNING, at, at, summary, ev, cause)]
    return []


def _recurring_eval_spikes(x: np.ndarray, th: LossSpikeThresholds) -> list[tuple[int, float]]:
    """The evaluations that stand above both neighbours by the test of :func:`few_point_spikes`,
    when there are at least ``warn_count`` of them, whatever their height: the count that makes
    the training rules warn (PaLM's recurrent spikes), read on the evaluation loss. Not the
    ``warn_undo`` share: an evaluation loss also climbs back by overfitting, which undoes its
    progress with no instability at all. A wav2vec2-base on LibriSpeech: validation loss 0.41,
    0.34, 0.78 and 0.59 at steps 3500, 5500, 7500 and 9000, 1.6-2.8x the evaluations on either side
    and back at 0.19-0.22 by the next each time, the WER bumping with them."""
    got = few_point_spikes(x, th)
    return got if len(got) >= th.warn_count else []


def _detect_training(run: Run, th: LossSpikeThresholds) -> list[Finding]:
    t = objective_trend(run)
    if t is None:
        return _too_short_for_a_trend(run, th) or _last_report_jump(run, th)
    sm, hi = t.smooth, t.c.hi
    height = hi - sm
    logs = _log_noise(t)
    if logs is not None:
        # a positive loss is judged on the log scale: a 1e-4 loss that jumps to 1e-2 is a
        # spike even though the early noise of a loss that started at 3 dwarfs it
        _, lhi, lsm, lsigma = logs
        noisy = (lhi - lsm) > th.noise_k * lsigma
    else:
        noisy = height > th.noise_k * max(t.sigma, _noise_sigma(t.c.mid, t.c.mid - sm))
    spike = noisy & (height > th.relative * np.abs(sm)) & (height > th.quanta * _resolution(t.c.mid))
    div_above, rise, thr = above_best(t, DIV)
    spike &= ~div_above
    spike[: t.window // 2 + 1] = False  # the initial loss is not a spike: no trend before it
    spike[-1] = False  # a rise at the last report has no later point to show it recovered
    # (peak index, level it stands above): the trend, or on a few-point log the higher neighbour
    at = {a + int(np.argmax(hi[a:b])): float(sm[a + int(np.argmax(hi[a:b]))]) for a, b in runs_of(spike)}
    sustained = [(a, b) for a, b in sustained_rises(t, DIV, div_above)
                 if _came_back(t, b, rise, thr) and _rise_out_of_noise(logs, a, b) and _sudden_or_tall(t, logs, a, b, th)]
    onsets = {}  # a sustained rise starts before its peak
    for a, b in sustained:
        i = a + int(np.argmax(hi[a:b]))
        at[i] = float(np.min(sm[:a])) if a else float(sm[0])
        onsets[i] = float(t.c.first[a])
    bounds = set()  # peaks judged only thanks to printed zeros read at half a step: their ratio is a bound
    if len(t.c) <= th.few_points:
        x = t.c.mid
        for i, ratio in few_point_spikes(x, th):
            at.setdefault(i, float(x[i] / ratio))
        if not at and not (x > 0).all():
            for i, ratio in few_point_spikes(x, th, zeros=True):
                at[i] = float(x[i] / ratio)
                bounds.add(i)
    if not at:
        return [] if div_above[:-1].any() else _last_report_jump(run, th)
    peaks = []
    head = _starting_level(t.c.mid, th)  # where the descent began (see ``warn_undo``)
    undo = 0.0
    # a height measured against a level at the printing floor is no ratio (see ``_zeros_at_half_a_step``),
    # nor one whose peak stays under the held-out loss (see ``_tall``): such a peak warns by the progress it
    # undoes, the count, or standing above the start, not by its height
    tall = False
    held_out = _held_out_floor(run)
    for i in sorted(at):
        peaks.append((float(t.c.step[i]), float(hi[i]), at[i]))
        tall = tall or (i not in bounds and _tall(float(hi[i]), at[i], held_out, th))
        best = float(np.min(sm[: i + 1]))
        if head > best:
            undo = max(undo, (float(hi[i]) - best) / (head - best))
    worst = max(peaks, key=lambda p: (p[1] - p[2]) / (abs(p[2]) or 1.0))
    # a spike above the first report of a log that starts at the start of training: the update made
    # the model worse than it was at initialisation (Megatron's T5-11B test: 10.75 at step 1, 20.17
    # at step 4); no progress precedes it, so the undo share cannot say so
    above_init = starts_at_the_start(run) and any(p[1] > float(t.c.mid[0]) for p in peaks)
    sev = (Severity.WARNING if len(peaks) >= th.warn_count or undo >= th.warn_undo or tall or sustained or above_init
           else Severity.INFO)
    first = _starting_level(t.c.mid, th)
    if len(peaks) < th.warn_count and max(p[1] for p in peaks) < th.floor_share * max(first, _held_out_floor(run)):
        sev = Severity.INFO  # a blip near the floor: see ``floor_share``
    ev = {
        "spikes": len(peaks),
        "largest": {"step": worst[0], "loss": worst[1], "trend": worst[2]},
        "spike_steps": [p[0] for p in peaks[:20]],
        "noise_sigma": t.sigma, "progress_undone": undo,
    }
    if sustained:
        ev["sustained"] = len(sustained)
    if above_init:
        ev["above_initial"] = float(t.c.mid[0])
    summary = (f"{len(peaks)} loss spike(s) that recovered; largest at step {fmt(worst[0])}: "
               f"{fmt(worst[1])} against a trend of {fmt(worst[2])}")
    cause = ("Transient instability: a few batches pushed the update past the stable step size "
             "(outlier data, Adam's second-moment estimate lagging a sudden gradient, or an LR at the edge).")
    start = min(onsets.get(i, float(t.c.step[i])) for i in at)
    return [Finding("loss_spike", sev, start, peaks[-1][0], summary, ev, cause)]


def _log_noise(t: Trend) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
    """(reports, bin maxima, trend, noise sigma) of a loss on the log scale (:func:`_log_scale`, the
    sigma as :func:`_noise_sigma` measures it there), or None where the log scale does not apply.
    Computed once per trend: the spike rule and :func:`_rise_out_of_noise` read the same."""
    logs = _log_scale(t)
    if logs is None:
        return None
    lmid, lhi, lsm = logs
    return lmid, lhi, lsm, _noise_sigma(lmid, lmid - lsm)


def _rise_out_of_noise(logs: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None, a: int, b: int) -> bool:
    """Whether the sustained rise over trend points ``a:b`` of a positive loss peaks more than
    ``divergence``'s ``noise_k`` sigmas above the best the trend reached before it, the noise measured
    as this detector measures it (:func:`_noise_sigma`: on the log scale, from the successive
    differences as well as the residuals around the trend). ``sustained_rises`` measures its noise
    bar on the residuals in the loss's own units; on a short rolling median many residuals are 0 and
    their MAD understates the scatter, and on a curve that fell by decades the early noise dwarfs the
    late. Single batches of 4 printed every 2000 steps (2.34 down to 0.0002 over the run, 1.06 sigmas
    per report on the log scale) had two high batches in a row (1.49, 1.13) read as a transient 16x
    its best: 2.6 sigmas of their own scatter. A loss with a report below 0 keeps the rule as
    it was (one with printed zeros is read as :func:`_log_scale` reads it). ``logs`` is the
    trend's :func:`_log_noise`."""
    if logs is None:
        return True
    _, lhi, lsm, sigma = logs
    level = float(np.min(lsm[:a])) if a else float(lsm[0])
    return float(np.max(lhi[a:b])) - level > DIV.noise_k * sigma


def _sudden_or_tall(t: Trend, logs: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None, a: int, b: int,
                    th: LossSpikeThresholds) -> bool:
    """Whether the sustained rise over trend points ``a:b`` of a positive loss passes one of the two bars
    the spike rules set a single report (``noise_k`` sigmas and ``relative``), read for a rise: it
    arrives with a jump, one report above the report before it by more than ``noise_k`` sigmas of the
    log-scale scatter (:func:`_noise_sigma`), or it peaks more than ``relative`` (the "+-50% swings"
    red flag) above the best before it. A spike is sudden (PaLM's and OPT's rose within a few steps and
    took hundreds to come back); a rise that is neither sudden nor large is made of steps the curve's
    own report-to-report noise explains, which add up to :func:`_rise_out_of_noise`'s 5 sigmas only
    because they run one way: the curve drifting, not a transient. A FuxiCTR AFN+ training loss that
    creeps 0.64 -> 0.80 over 20 epochs (every step under 3 sigmas, 1.23x its best) until an LR cut, an
    RVSA segmentation loss wandering 0.0454 -> 0.0567 over six reports (1.25x, steps under 4 sigmas),
    and VW's progressive average of a 0/1 loss, which climbs 0.50 -> 0.90 while every example of the
    first pass is new (1.35x, its largest step 6 sigmas; the step out of its first report, a printed 0,
    is a bound, not a measurement: see :func:`_zeros_at_half_a_step`). The GRU at lr 20 (5.16 -> 7.64,
    1.48x) keeps its warning by the jump (15 sigmas in one report). A loss with a report below 0 keeps
    the rule as it was (``logs`` None). No new threshold: the spike rules' own two bars."""
    if logs is None:
        return True
    lmid, lhi, lsm, sigma = logs
    level = float(np.min(lsm[:a])) if a else float(lsm[0])
    p = a + int(np.argmax(lhi[a:b]))
    if float(lhi[p]) - level > np.log1p(th.relative):
        return True
    i0 = max(1, a - t.window // 2)  # a centred median crosses its bar where the reports do, give or take half a window
    if p < i0:
        return False
    steps = lhi[i0:p + 1] - lmid[i0 - 1:p]  # each report's highest value over the report before it
    steps = steps[t.c.mid[i0 - 1:p] > 0]  # not out of a printed zero: half a step is a bound, no measurement
    return bool(steps.size) and float(steps.max()) > th.noise_k * sigma


def _came_back(t: Trend, b: int, rise: np.ndarray, thr: np.ndarray) -> bool:
    """Whether a sustained rise of the trend that ends at trend index ``b`` came back: it ended
    before the log did, or it reaches the end only through the trend's edge-padded tail whose
    reports are back within the threshold (``divergence.padded_tail_came_back``, the test by which
    divergence declines such a rise as a transient). The last ``window // 2`` trend points copy the
    median of the last full window, so a rise in that window is carried to the end whatever the
    reports there did (BLOOM-176B: lm loss 2.2, up to 5.1 and 2.8, then 2.216 and 2.236 at the last
    two reports, the padded trend ending at 2.805). ``rise`` and ``thr`` are ``above_best``'s."""
    return b < t.n or padded_tail_came_back(t, rise, thr)


def _tall(peak: float, level: float, held_out: float, th: LossSpikeThresholds) -> bool:
    """Whether a peak is a warning by its height alone: at least ``warn_ratio`` x the positive level it
    stands above, and not below ``held_out``, the run's lowest evaluation loss (:func:`_held_out_floor`).
    A training loss that at its peak still fits its batches better than the model ever scored on data
    it has not fitted gave back part of the memorised gap between the two losses, not what the model
    learned: measured against a memorised floor, any blip is many times its trend, and the ratio reads
    the depth of the memorisation, not the size of an instability. Such a peak warns only by the share
    of the descent it undoes (``warn_undo``), by recurring (``warn_count``) or by standing above the
    start, as a peak against a printed zero does. AST on GTZAN: training loss 0.0002, 0.1367, 0.0001
    (683x) beside a validation loss that never went under 0.3534; Whisper-small on Bashkir: 0.0023,
    0.0621, 0.0022 beside 0.2086 at best; they undo 13% and 36% of their descent."""
    return level > 0 and peak >= th.warn_ratio * level and peak >= held_out


def _held_out_floor(run: Run) -> float:
    """The lowest evaluation loss the run logged (0 when none): what the model scores on data it
    has not fitted, the other level ``floor_share`` measures a training blip against, and the level
    a peak must reach to warn by its height (:func:`_tall`)."""
    e = run.series("eval_loss")
    if e is None:
        return 0.0
    v = e.finite().values
    return float(v.min()) if v.size and v.min() > 0 else 0.0


def _starting_level(x: np.ndarray, th: LossSpikeThresholds) -> float:
    """The level the curve started from, for ``floor_share``: its first report, unless that report
    is at least ``huge_ratio`` x every later one (two orders of magnitude above all the run ever
    printed again is no level a curve falls from but a blow-up in the first logging period, the
    anomaly itself: BiT-50 on a landscape set, training loss 2.5e8 at the first log, then 0.45, 0.35,
    8.2e5, 0.23); then the report after it."""
    first = float(x[0])
    if x.size >= 3 and first > 0 and first >= th.huge_ratio * float(np.max(x[1:])):
        return float(x[1])
    return first


def _last_report_jump(run: Run, th: LossSpikeThresholds) -> list[Finding]:
    """The last report at least ``warn_ratio`` x every earlier report (and below divergence's
    ``final_jump`` x the best, its blow-up rule), and on 5+ reports an outlier against the earlier
    reports' scatter by the test of :func:`few_point_spikes`: a jump no later report can confirm as
    a spike or as divergence. Said rather than left silent, as a warning to watch the next reports;
    at info when the jump stays below the run's lowest evaluation loss (:func:`_held_out_floor`), the
    bar :func:`_tall` sets a peak that warns by its height alone, the only measure this rule has: a
    training loss that even after the jump fits its batches better than the model ever scored on data
    it has not fitted moved inside the memorised gap between the two losses (RoBERTa on a two-class
    set: training loss 0.0003, 0.0002, 0.0016 beside a validation loss of 2.83 at best)."""
    s = objective(run)
    if s is None:
        return []
    f = s.finite()
    x = f.values
    if x.size < 3 or (x <= 0).any() or x[-1] < th.warn_ratio * x[:-1].max() or x[-1] >= DIV.final_jump * x[:-1].min():
        return []
    lx = np.log(x)
    if x.size >= 5 and not _stands_out(lx, x.size - 1, float(lx[-1] - lx[:-1].max()), th):
        return []  # the jump is within the scatter the earlier reports already show: a per-batch loss of a
        # fitted classifier spans orders of magnitude (ImageNet ResNet-50 at epoch 52: 0.0020 to 0.27 per
        # batch, then 0.90), and its next batch says nothing more; the same bar as ``few_point_spikes``
    if x[-2] >= DIV.few_factor * x[:-2].max():
        return []  # the report before it had already jumped to 2x (divergence's factor) every report before
        # it: the last one continues that rise, which divergence judges (QLoRA with paged AdamW: 2.18,
        # 3.39, 9.20, then 50.79); on a noisy per-batch log the one before is no such jump
    ratio = float(x[-1] / x[:-1].max())
    ev = {"spikes": 1, "largest": {"step": float(f.steps[-1]), "loss": float(x[-1]), "trend": float(x[:-1].max())},
          "spike_steps": [float(f.steps[-1])], "last_report": True}
    summary = (f"the last report jumped to {fmt(float(x[-1]))}, {ratio:.3g}x every earlier report: no later report "
               "shows whether it recovers (a spike) or stays (divergence)")
    cause = ("A blow-up in progress or a transient: outlier data, a mixed-precision overflow, or an LR at the edge. "
             "Watch the next reports, or resume from the last checkpoint before it.")
    sev = Severity.WARNING if float(x[-1]) >= _held_out_floor(run) else Severity.INFO
    return [Finding("loss_spike", sev, float(f.steps[-1]), float(f.steps[-1]), summary, ev, cause)]


def _too_short_for_a_trend(run: Run, th: LossSpikeThresholds) -> list[Finding]:
    """A log of 3-4 reports has no trend (a rolling median needs 5): only the orders-of-magnitude
    rule of :func:`few_point_spikes` can judge it."""
    s = objective(run)
    if s is None:
        return []
    f = s.finite()
    got = few_point_spikes(f.values, th)
    if not got:
        return []
    i, ratio = max(got, key=lambda p: p[1])
    step, peak = float(f.steps[i]), float(f.values[i])
    ev = {"spikes": len(got), "largest": {"step": step, "loss": peak, "trend": peak / ratio},
          "spike_steps": [float(f.steps[j]) for j, _ in got]}
    summary = (f"{len(got)} loss spike(s) that recovered; largest at step {fmt(step)}: {fmt(peak)}, "
               f"{ratio:.3g}x the higher of its neighbours")
    cause = ("A transient blow-up: one batch (or a few) pushed the update far past the stable step size "
             "(outlier data, a mixed-precision overflow, or an LR at the edge), and the next report came back.")
    return [Finding("loss_spike", Severity.WARNING, float(f.steps[got[0][0]]), step, summary, ev, cause)]


@fix_rule("loss_spike")
def fix_loss_spike(run: Run, f: Finding) -> Prescription:
    if f.severity.value == "info":
        return Prescription([], [Watch("loss", "spikes rare and recovering within a few steps", "more frequent spikes mean the LR is at the stability edge")])
    fixes = [lr_fix(run, f, SOFT_LR_CUT, "repeated spikes: halve the LR")]
    clip = max_grad_norm(run)
    fixes.append(Fix("max_grad_norm", clip[1] if clip else None, 1.0, "clip the outlier updates that cause spikes"))
    fixes.append(Fix("adam_beta2", None, 0.95, "a shorter second-moment memory reacts to sudden gradients (used for large-model runs, e.g. PaLM/LLaMA)"))
    return Prescription(fixes, [WATCH_LOSS, WATCH_GRAD])
