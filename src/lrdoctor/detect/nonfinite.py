"""``nonfinite``: the first NaN/inf in the loss, evaluation loss or gradient norm.

Not every non-finite value is a blow-up. A non-finite ``grad_norm`` on a step where the
learning rate did not move (or is 0) is a step the mixed-precision GradScaler skipped
(HF logs it before the skip); it is counted in the evidence of nothing and left alone.
An evaluation loss that is NaN once and finite again is a transient (YOLOv5, epoch 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.fmt import fmt
from lrdoctor.detect import needs
from lrdoctor.detect._common import training_loss_terms
from lrdoctor.detect._fixes import NONFINITE_LR_CUT, WATCH_GRAD, lr_fix
from lrdoctor.config import config_value
from lrdoctor.detect.warmup_missing import WARMUP_KEYS
from lrdoctor.detect._guard_evidence import GuardRewindEvidence
from lrdoctor.detect.registry import Prescription, Thresholds, detector, fix_rule
from lrdoctor.detect._grad import max_grad_norm
from lrdoctor.finding import Finding, Fix, Severity, Watch
from lrdoctor.names import UNDEFINED_CLASSES_SUFFIX
from lrdoctor.run import Run, Series

__all__ = ["NonfiniteThresholds", "detect", "amp_skipped_steps"]


@dataclass(frozen=True)
class NonfiniteThresholds(Thresholds):
    persistent_points: int = 3
    """Consecutive non-finite logged points (or the end of the run) that make a blow-up
    rather than a transient. Source: HF Trainer and torch.amp.GradScaler skip at most a few
    consecutive steps while the loss scale backs off (scale halves each time)."""
    transient_share: float = 0.5
    """An evaluation loss non-finite at two or more evaluations that make at least half of all it
    logged is no transient, however they are spread, and is a warning (not info): the evaluation
    gave NaN more often than not (distilbert-base-cased: validation loss nan at epochs 1 and 2, then
    2.4795 at epoch 3, its last). One NaN among many evaluations stays the transient of the
    module's docstring (YOLOv5, epoch 1). Half: the majority of the evaluations."""


DEFAULTS = NonfiniteThresholds()
_METRICS = ("loss", "eval_loss", "grad_norm", "value_loss", "d_loss", "g_loss")  # (an RL critic's loss too: rsl_rl's "Mean value_function loss: inf"; a GAN's players)
#: Metrics computed *from* the model's outputs (returns, Q estimates, accuracy): when one
#: that was finite turns non-finite and stays so, the network's outputs went NaN (a NaN
#: action gives a NaN reward), the same blow-up seen one step downstream. A column that was
#: never finite was never computed, and is not a blow-up.
_OUTPUT_METRICS = ("ep_return", "eval_return", "q_values", "eval_accuracy",
                   "approx_kl",  # (a policy update's KL, from the new and old outputs: baselines ACKTR's "KL | nan")
                   "entropy")  # (the policy's entropy, from its output distribution: a PPO trainer's "Entropy: nan")
#: Episode-return means: a trainer prints the mean return of the episodes that *finished* in its
#: summary window, and the mean of no episode is NaN by construction (numpy's "Mean of empty slice",
#: stable-baselines' ``safe_mean`` of an empty buffer). A NaN here alone cannot tell a network whose
#: outputs went NaN from episodes that outlast the window (ML-Agents issue 117: "Mean Reward: nan"
#: right after numpy's "Mean of empty slice" warning, with no loss printed), so it is a warning; a
#: model that really blew up shows it in a loss or gradient norm, which stay errors.
_EMPTY_WINDOW_MEANS = ("ep_return", "eval_return")


def amp_skipped_steps(run: Run, persistent_points: int = DEFAULTS.persistent_points) -> np.ndarray:
    """Steps where grad_norm is non-finite but the update was evidently skipped (AMP's
    GradScaler, or a NaN guard): the LR did not move (HF Trainer does not step its scheduler
    on a skipped step), or the loss at that report and at every later one up to the next
    finite grad norm is finite and non-zero (a NaN gradient that was *applied* makes every
    weight NaN, and the loss right after it; HF logs a NaN loss as exactly 0.0, so 0.0 does
    not count as finite here). Only stretches shorter than ``persistent_points`` logged
    points count: the scaler halves its scale on every skip, so skips end within a few
    steps; a grad norm that stays non-finite over several logged rows (Time-MoE: NaN on all
    10 rows, the loss logged as 0.0) is a blow-up, not loss-scale calibration."""
    g, lr = run.series("grad_norm"), run.series("lr")
    if g is None:
        return np.zeros(0)
    bad = ~np.isfinite(g.values)
    if not bad.any():
        return np.zeros(0)
    still = np.zeros(g.steps.size, bool)
    if lr is not None and lr.steps.size:
        idx = np.clip(np.searchsorted(lr.steps, g.steps, side="right") - 1, 0, lr.steps.size - 1)
        cur = lr.values[idx]
        prev = lr.values[np.maximum(idx - 1, 0)]
        still = (cur == 0) | (cur == prev) | (idx == 0)
    loss = run.series("loss")
    loss_ok = np.zeros(g.steps.size, bool)
    healthy_after = np.zeros(g.steps.size, bool)
    if loss is not None and loss.steps.size:
        li = np.clip(np.searchsorted(loss.steps, g.steps), 0, loss.steps.size - 1)
        lv = loss.values
        loss_ok = np.isfinite(lv[li])
        # for each bad grad norm, the loss points from its step up to the next finite grad
        # norm's step, all judged at once (sorted steps + a running count of unhealthy losses)
        bad_i = np.flatnonzero(bad)
        good_i = np.flatnonzero(~bad)
        end = np.r_[g.steps[good_i].astype(np.float64), np.inf][np.searchsorted(good_i, bad_i)]
        lo = np.searchsorted(loss.steps, g.steps[bad_i], side="left")
        hi = np.searchsorted(loss.steps, end, side="left")
        unhealthy = np.r_[0, np.cumsum(~np.isfinite(lv) | (lv == 0))]
        # a later finite grad norm shows the NaN was not applied (an applied NaN makes every weight
        # NaN); a NaN at the last report needs a later loss to show it: its own row's loss was
        # computed before the update (ms-swift: grad_norm NaN at the last row, the loss 1.39 -> 2.23)
        later = np.isfinite(end) | (np.searchsorted(loss.steps, g.steps[bad_i], side="right") < loss.steps.size)
        ok = (hi > lo) & (unhealthy[hi] - unhealthy[lo] == 0)
        # ...unless an earlier NaN of the same run of NaNs to the end was shown skipped: the scaler is
        # still skipping (xtuner: NaN at iterations 240 and 250, the loss 2.51 -> 2.46 between them)
        stretch = np.cumsum(np.r_[1, np.diff(bad_i) != 1])
        healthy_after[bad_i] = ok & (later | np.isin(stretch, stretch[ok & later]))
    skip = bad & ((still & loss_ok) | healthy_after)
    d = np.diff(np.r_[0, skip.astype(np.int8), 0])
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
        if b - a >= persistent_points:
            skip[a:b] = False
    return g.steps[skip]


def _first_bad(s: Series, ignore: np.ndarray, th: NonfiniteThresholds) -> tuple[int, bool, int] | None:
    bad = ~np.isfinite(s.values)
    if ignore.size:
        bad &= ~np.isin(s.steps, ignore)
    if not bad.any():
        return None
    first = int(np.flatnonzero(bad)[0])
    last_good = np.flatnonzero(~bad)
    to_end = not (last_good.size and last_good[-1] > first)
    # longest consecutive stretch
    d = np.diff(np.r_[0, bad.astype(np.int8), 0])
    longest = int((np.flatnonzero(d == -1) - np.flatnonzero(d == 1)).max())
    return first, to_end or longest >= th.persistent_points, int(bad.sum())


class NonfiniteEvidence(GuardRewindEvidence):
    """What a ``nonfinite`` finding proves itself with (keys absent when not measured)."""

    metric: str
    first_step: float
    value: float
    nonfinite_points: int
    logged_points: int
    last_finite_value: float
    last_finite_step: float
    amp_skipped_steps_ignored: list
    also_nonfinite: list
    losses_finite: bool
    undefined_correlation: bool
    undefined_classes: int
    empty_window_mean: bool
    #: the evaluation loss is finite at every evaluation from this finding's first non-finite report
    #: on (:func:`_eval_loss_finite_after`): the weights it was computed from stayed finite
    eval_loss_finite: bool


@detector("nonfinite", thresholds=DEFAULTS, evidence=NonfiniteEvidence, needs=needs.any_loss_or_grad)
def detect(run: Run, th: NonfiniteThresholds = DEFAULTS) -> list[Finding]:
    skipped = amp_skipped_steps(run, th.persistent_points)
    out: list[Finding] = []
    for name in _METRICS + _OUTPUT_METRICS:
        s = run.series(name)
        if s is None:
            continue
        hit = _first_bad(s, skipped if name == "grad_norm" else np.zeros(0), th)
        if hit is None:
            continue
        i, persistent, count = hit
        if name in _OUTPUT_METRICS and (not persistent or (i == 0 and not _printed_nan(run, name, s, th))):
            continue  # never computed, or a transient (an episode cut short): not a blow-up
        value = s.values[i]
        prev = s.values[:i][np.isfinite(s.values[:i])]
        evidence = {
            "metric": name,
            "first_step": s.steps[i],
            "value": value,
            "nonfinite_points": count,
            "logged_points": len(s),
            "last_finite_value": prev[-1] if prev.size else None,
            "last_finite_step": s.steps[:i][np.isfinite(s.values[:i])][-1] if prev.size else None,
        }
        if name == "grad_norm" and skipped.size:
            evidence["amp_skipped_steps_ignored"] = skipped[:20].tolist()
        if persistent:
            sev = _persistent_severity(run, name)
            summary = f"{run.meta.roles.get(name, name)} became {value} at step {fmt(s.steps[i])} and stayed non-finite ({count} of {len(s)} points)"
            cause = ("Numerical blow-up: the update overshot until activations or gradients overflowed. "
                     "Usually the learning rate is beyond the stable range, with no or too loose gradient clipping.")
            if name in _EMPTY_WINDOW_MEANS:
                evidence["empty_window_mean"] = True
                cause = ("A mean episode return is NaN when no episode finished in the summary window (the mean of "
                         "an empty list), or when the policy's outputs went NaN: the return alone cannot tell which. "
                         "Log the loss or gradient norm, or the number of episodes finished per window, to decide.")
            if name != "eval_loss" and _eval_loss_finite_after(run, float(s.steps[i])):
                evidence["eval_loss_finite"] = True
            if _metric_beside_finite_losses(run, name):
                evidence["losses_finite"] = True
                cause = ("The metric's own computation gave NaN while every loss stayed finite: a division by zero "
                         "in it (a class absent from the evaluation set in a mean IoU, an error of exactly 0 in a "
                         "PSNR), not a blow-up of the model. Checkpoint selection on a NaN metric picks at random.")
                from lrdoctor.detect._progress.chance import _CORRELATION_WORDS, _role_named

                if _role_named(run, name, _CORRELATION_WORDS):
                    evidence["undefined_correlation"] = True
                    cause = ("Constant predictions: a correlation of an output with no variance is undefined (scipy's "
                             "pearsonr and spearmanr return NaN), while the losses stay finite. The model gives every "
                             "input the same value: its head collapsed to the mean, or the LR is too low or too high to leave it.")
        else:
            often = _mostly_nonfinite(count, len(s), th)
            sev = Severity.INFO if name == "eval_loss" and not often else Severity.WARNING
            summary = f"{name} was non-finite at step {fmt(s.steps[i])} ({count} point(s)) and finite again afterwards"
            if often:
                summary = (f"{name} was non-finite at {count} of its {len(s)} reports (first at step {fmt(s.steps[i])}), "
                           "finite again afterwards")
            cause = ("A transient non-finite value: a bad batch, an fp16 overflow the scaler absorbed, or an "
                     "evaluation pass that produced no loss. Training continued.")
            if often:
                cause = ("Most evaluations gave no finite loss: the evaluated model's outputs overflow (a half-precision "
                         "evaluation, logits grown too large), or the evaluation pass produced no loss (an empty set or "
                         "batch, every label masked). Checkpoint selection on these evaluations picks at random.")
        end = s.steps[-1] if persistent else s.steps[i]
        out.append(Finding("nonfinite", sev, s.steps[i], end, summary, evidence, cause))
    if not out:
        out.extend(_undefined_classes(run))
    if not out:
        out.extend(_infinite_at_every_report(run, th))
    if not any(f.severity is Severity.ERROR for f in out):
        out.extend(_unrecorded_blow_up(run, th))
    if not any(f.severity is Severity.ERROR for f in out):
        out.extend(_overflow_at_floor(run, th))
    # One blow-up shows in several metrics: keep the earliest error, demote the others' duplicates.
    errors = [f for f in out if f.severity is Severity.ERROR]
    if len(errors) > 1:
        keep = min(errors, key=lambda f: f.start_step)
        out = [f for f in out if f.severity is not Severity.ERROR or f is keep]
        keep.evidence["also_nonfinite"] = [e.evidence["metric"] for e in errors if e is not keep]
    return out


def _persistent_severity(run: Run, name: str) -> Severity:
    """The severity of a non-finite run of ``name`` that lasts (``persistent_points`` or to the end):
    an error, save for an evaluation loss beside a training loss (the training loss tells whether the
    model blew up) and an episode-return mean (see ``_EMPTY_WINDOW_MEANS``), which are warnings."""
    if name == "eval_loss" and run.series("loss") is not None:
        return Severity.WARNING
    return Severity.WARNING if name in _EMPTY_WINDOW_MEANS else Severity.ERROR


def _eval_loss_finite_after(run: Run, step: float) -> bool:
    """True when the run evaluated at or after ``step`` and its evaluation loss is finite at every such
    evaluation. An evaluation is of the weights as they stand, so a finite held-out loss after a
    training column turned non-finite says the weights stayed finite: the non-finite value is in that
    column's own computation (CTC's inf for an utterance shorter than its transcript, numpy's mean of an
    empty list), not a blow-up of the model (XLS-R on Turkish speech: training loss inf, then nan, while
    the validation loss went 9.15 -> 8.55; nolearn/Lasagne: train loss nan at every epoch after "Mean of
    empty slice", valid loss 4.51024 at all five). No threshold: finite at every evaluation, or not."""
    ev = run.series("eval_loss")
    if ev is None:
        return False
    after = ev.at_or_after(step)
    return after.values.size > 0 and bool(np.isfinite(after.values).all())


def _metric_beside_finite_losses(run: Run, name: str) -> bool:
    """True when ``name`` plays a task-metric role and every loss the run logs stays finite: the
    metric's NaN comes from its own computation, not from the model's numbers (XLM-R on a
    relatedness set: Spearman nan at 6 of 12 evaluations beside a validation loss of 0.046-0.050
    at every one; a SegFormer's mean IoU nan beside finite losses)."""
    if name not in ("eval_accuracy", "task_metric"):
        return False
    return any(run.series(n) is not None for n in ("loss", "eval_loss")) and _losses_finite(run)


def _losses_finite(run: Run) -> bool:
    """Every report of the training and the evaluation loss is finite (True when neither is logged)."""
    return all(s is None or bool(np.isfinite(s.values).all()) for s in (run.series("loss"), run.series("eval_loss")))


#: output metrics that a text log prints only once computed: printed as ``nan`` on every report,
#: they were computed and are NaN. Not an episode return, which prints ``nan`` as the mean of no
#: finished episode (stable-baselines' "ep_rewmean | nan" before the first episode ends), nor a
#: KL to a reference policy, which TRL's GRPO prints as ``nan`` on every step when it runs
#: without one (open-r1 issue 704: "kl | nan" beside finite losses and rewards)
_PRINTED_ONLY_COMPUTED = ("eval_accuracy", "entropy")


def _printed_nan(run: Run, name: str, s: Series, th: NonfiniteThresholds = DEFAULTS) -> bool:
    """True when a text log printed an evaluation metric, or a policy's entropy, as ``nan``
    on every report: the trainer computed it (EDSR's ``PSNR: nan (Best: nan @epoch 1)``; a PPO
    trainer's "KL divergence: nan Entropy: nan" on every update epoch of iteration 3571: the
    policy's output distribution is NaN), whereas a machine-written file may hold NaN for a
    metric it never computed. Also when it printed ``nan`` from the first report on, but at only
    :func:`_mostly_nonfinite` of them: a metric printed finite at some evaluations was computed
    at every one (the same code ran), so its NaN at the first is the computation's, not a column
    the trainer never filled (XLM-R on a relatedness set: Spearman nan at 7 of 9 evaluations from
    the first, -0.0386 and -0.0268 at the other two)."""
    if name not in _PRINTED_ONLY_COMPUTED or run.meta.format != "text-log":
        return False
    finite = np.isfinite(s.values)
    return not finite.any() or _mostly_nonfinite(int((~finite).sum()), len(s), th)


def _mostly_nonfinite(count: int, logged: int, th: NonfiniteThresholds) -> bool:
    """``count`` non-finite reports of ``logged`` are no transient: two or more, at least
    ``transient_share`` of them (the evaluation gave NaN more often than not)."""
    return count >= 2 and count >= th.transient_share * logged


def _undefined_classes(run: Run) -> list[Finding]:
    """A per-class metric printed as a list with non-finite entries (the reader's
    ``UNDEFINED_CLASSES_SUFFIX`` column): nnU-Net's "Pseudo dice [0.0, nan, nan, ...]", an HF
    card's "Per Category Accuracy" of "[nan, 0.9943]". The reader keeps the mean of the finite
    entries as the metric, so the NaN shows nowhere else. An entry is NaN when its class is absent
    from the evaluated samples (0/0): the mean then skips classes, and what it ranks checkpoints on
    changes from one evaluation to the next. The model's numbers may well be finite, so it is a
    warning, never an error; a blow-up shows in a loss or gradient norm, which the other rules read."""
    for name in run.metrics:
        if not name.endswith(UNDEFINED_CLASSES_SUFFIX):
            continue
        s = run.series(name)
        hit = np.flatnonzero(s.values > 0) if s is not None else np.zeros(0, int)
        if not hit.size:
            continue
        metric = name[: -len(UNDEFINED_CLASSES_SUFFIX)]
        i = int(hit[0])
        logged = run.series(metric)
        ev = {"metric": metric, "first_step": s.steps[i], "value": float("nan"), "nonfinite_points": int(hit.size),
              "logged_points": len(logged) if logged is not None else len(s), "undefined_classes": int(s.values[hit].max()),
              "losses_finite": _losses_finite(run)}
        summary = (f"{metric} is NaN for {int(s.values[i])} class(es) at step {fmt(s.steps[i])} "
                   f"({hit.size} report(s) with an undefined class); its mean covers the other classes only")
        cause = ("A per-class metric divides by zero for a class absent from the evaluated samples (no foreground "
                 "pixel of it, no example of it): the class's score is undefined, and the mean over classes skips it.")
        return [Finding("nonfinite", Severity.WARNING, s.steps[i], s.steps[hit[-1]], summary, ev, cause)]
    return []


def _infinite_at_every_report(run: Run, th: NonfiniteThresholds) -> list[Finding]:
    """A logged column the rules above do not judge that is ``+inf`` at every one of its reports,
    ``persistent_points`` or more: a computed value that overflowed or divided by zero each time it
    was computed. A mean absolute percentage error over targets that include 0 (an HF regression
    card: "Mape inf" at all 5 evaluations), a perplexity exp(loss) of a loss beyond the float range
    (fairseq: "ppl inf" on every epoch at a per-token loss of 2,800). Only +inf, and only at every
    report: NaN at every report is also what a logger prints for a metric it did not compute
    (ESPnet's ``cer_ctc nan`` without a CTC decoder), and -inf is the starting value of a running
    best of a maximised quantity (a best average reward) or a message (LightGBM's "best gain:
    -inf" when no split gains); a running best of a minimised one starts at +inf but holds a
    finite value from the first report on. The model's numbers may well be finite (the losses
    are judged by the rules above), so it is a warning, never an error."""
    judged = {run.meta.roles.get(n, n) for n in _METRICS + _OUTPUT_METRICS}
    for name in run.metrics:
        if name in judged or name in run.meta.added or name.endswith(UNDEFINED_CLASSES_SUFFIX):
            continue
        s = run.series(name)
        if s is None or len(s) < th.persistent_points or not bool(np.isposinf(s.values).all()):
            continue
        ev = {"metric": name, "first_step": s.steps[0], "value": float("inf"), "nonfinite_points": len(s),
              "logged_points": len(s), "losses_finite": _losses_finite(run)}
        summary = f"{name} is inf at every one of its {len(s)} reports (from step {fmt(s.steps[0])})"
        cause = ("A value that is infinite every time it is computed overflowed or divided by zero: a percentage "
                 "error over targets that include 0, a perplexity exp(loss) of a loss too large for the float range. "
                 "Checkpoint selection or early stopping on it cannot rank anything.")
        return [Finding("nonfinite", Severity.WARNING, s.steps[0], s.steps[-1], summary, ev, cause)]
    return []


def _unrecorded_blow_up(run: Run, th: NonfiniteThresholds) -> list[Finding]:
    """A training loss column other than the objective that turns non-finite and stays so (the
    ``persistent_points`` rule) from the objective's last finite report on: the objective's
    column stopped being printed, and the loss the log still prints is NaN (ST-GCN's
    mmskeleton logs: "loss: 1.4058" on the first iteration line only, then "mean_loss: nan" for
    every epoch). A term that is NaN while the objective stays finite after it is one the run
    does not train on (DAFormer's ``loss_imnet_feat_dist``), and is left alone."""
    obj = run.series("loss")
    if obj is None:
        return []
    fin = obj.finite()
    last_ok = float(fin.steps[-1]) if fin.steps.size else -np.inf
    roles = set(run.meta.roles.values())
    for name in training_loss_terms(run):
        if name in roles or name in run.meta.added:
            continue
        s = run.series(name)
        hit = _first_bad(s, np.zeros(0), th)
        if hit is None or not hit[1]:
            continue
        i, _, count = hit
        if float(s.steps[i]) < last_ok or bool(np.isfinite(s.values[i:]).any()):
            continue
        ev = {"metric": name, "first_step": s.steps[i], "value": s.values[i], "nonfinite_points": count,
              "logged_points": len(s), "last_finite_value": float(fin.values[-1]) if fin.values.size else None,
              "last_finite_step": last_ok if fin.steps.size else None}
        summary = (f"{name} became {s.values[i]} at step {fmt(s.steps[i])} and stayed non-finite ({count} of {len(s)} "
                   f"points), at or after the last finite {run.meta.roles.get('loss', 'loss')} report")
        cause = ("Numerical blow-up: the update overshot until activations or gradients overflowed. "
                 "Usually the learning rate is beyond the stable range, with no or too loose gradient clipping.")
        return [Finding("nonfinite", Severity.ERROR, s.steps[i], s.steps[-1], summary, ev, cause)]
    return []


def _overflow_at_floor(run: Run, th: NonfiniteThresholds) -> list[Finding]:
    """Mixed-precision steps that overflow with the dynamic loss scaler at its floor: the scaler
    "reduces" the scale to the value it attempted ("Attempted loss scale: 1, reducing to 1",
    DeepSpeed's ``min_loss_scale``, 1 by default), on ``persistent_points`` reports in a row. A
    scaler halves its scale on each overflow until a step fits in fp16, so overflows that go on
    at the floor are gradients that are inf/NaN at the smallest scale it may use: every such step
    is skipped and the model no longer trains (transformers issue 14531: T5-11B under ZeRO-2,
    every step from 97 on). Overflows while the scale is still coming down are its calibration
    at the start of a run (2^32 -> 2^24 in eight steps), not a blow-up."""
    a, b = run.series("overflow_scale"), run.series("overflow_scale_next")
    if a is None or b is None:
        return []
    # both are read from one line: the reports where the scale set after the overflow is the one tried
    shared, ia, ib = np.intersect1d(a.steps, b.steps, return_indices=True)
    stuck = np.isin(a.steps, shared[a.values[ia] == b.values[ib]]) & np.isfinite(a.values)
    d = np.diff(np.r_[0, stuck.astype(np.int8), 0])
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    long = [(i, j) for i, j in zip(starts, ends) if j - i >= th.persistent_points]
    if not long:
        return []
    i, j = long[0]
    col = run.meta.roles.get("overflow_scale", "overflow_scale")
    scale = float(a.values[i])
    ev = {"metric": col, "first_step": float(a.steps[i]), "value": scale, "nonfinite_points": int(stuck.sum()),
          "logged_points": len(a)}
    summary = (f"fp16 steps overflowed at the loss scaler's floor ({fmt(scale)}) on {j - i} reports in a row from step "
               f"{fmt(a.steps[i])}: the gradients are inf/NaN at the smallest scale, and every such step is skipped")
    cause = ("Numerical blow-up: gradients (or activations) overflow fp16 even unscaled. Usually the learning rate is "
             "beyond the stable range, or an fp16-unsafe model (T5, large attention logits) needs bf16 or fp32.")
    return [Finding("nonfinite", Severity.ERROR, float(a.steps[i]), float(a.steps[j - 1]), summary, ev, cause)]


@fix_rule("nonfinite")
def fix_nonfinite(run: Run, f: Finding) -> Prescription:
    if f.severity.value != "error":
        return Prescription([], [Watch(f.evidence["metric"], "finite", "repeated non-finite values mean a real blow-up")])
    if f.evidence.get("undefined_correlation"):
        # no overflow to cure: the outputs do not vary (see _metric_beside_finite_losses)
        return Prescription([Fix("labels / loss inputs", None, None, "a regression head that outputs one value for every input has no variance to correlate",
                                 note="check the targets' scale (normalise them), that the head is trained, and the spread of the predictions at each evaluation")],
                            [Watch(f.evidence["metric"], "finite at every evaluation", "a NaN correlation means the predictions did not vary")])
    if f.evidence.get("losses_finite"):
        return Prescription([Fix("compute_metrics", None, None, "the model's numbers are finite; the metric divides by zero",
                                 note="guard the metric's empty cases (nan_to_num, or skip absent classes in the mean) and select checkpoints on the loss until it is finite")],
                            [Watch(f.evidence["metric"], "finite at every evaluation", "a NaN metric cannot rank checkpoints")])
    fixes = [lr_fix(run, f, NONFINITE_LR_CUT, "the run overflowed: cut the LR 10x, then raise it back in 2x steps")]
    clip = max_grad_norm(run)
    fixes.append(Fix("max_grad_norm", clip[1] if clip else None, 1.0 if not clip or clip[1] > 1.0 else clip[1],
                     "clip gradients before the step" if not clip else "keep clipping; the blow-up came through it, so the LR is the lever"))
    fixes.append(Fix("warmup_steps", config_value(run.config, WARMUP_KEYS), None, "ramp the LR from ~0 so the first large gradients do not overflow",
                     note="2-5% of the steps"))
    return Prescription(fixes, [Watch(f.evidence["metric"], "finite on every step", "the first NaN marks the step to rewind to"), WATCH_GRAD])
