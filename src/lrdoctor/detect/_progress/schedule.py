"""slow_progress rules read off the schedule and the return: an LR that stays 0, no gain over a finished
schedule, GRPO batches with no advantage, a return at its floor or exactly 0 throughout."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lrdoctor.detect._common import zero_is_exact
from lrdoctor.detect._stats import diff_sigma, trend_p_down
from lrdoctor.detect.initial_loss_anomaly import starts_at_the_start
from lrdoctor.detect._progress.common import _logged, _loss_learned, _same_tail
from lrdoctor.detect.rl.grpo import all_groups_degenerate
from lrdoctor.finding import Finding, Severity
from lrdoctor.fmt import fmt
from lrdoctor.names import tokens
from lrdoctor.run import Run

if TYPE_CHECKING:
    from lrdoctor.detect.progress import ProgressThresholds


def _lr_stays_zero(run: Run, th: ProgressThresholds) -> Finding | None:
    """The LR is 0 (or below ``lr_nil``) on every report of a log that does not start at the start
    of training, or exactly 0 on every report of one that does: no update can change the model. Text logs must print it with ``lr_zero_decimals``+ decimals
    (PaddleSpeech's ``lr: 0.00000000``); a coarser "0.0000" may hide a real 2e-5."""
    lr = run.series("lr")
    if lr is None:
        return None
    f = lr.finite()
    v = f.values
    if v.size < th.frozen_points or (np.abs(v) >= th.lr_nil).any():
        return None
    if (v == 0).all() and not zero_is_exact(run, "lr", th.lr_zero_decimals):
        return None
    if float(f.steps[0]) <= th.start_max_step and not (v == 0).all():
        return None  # from the start, a warmup's first tiny LRs are no stall; an LR *exactly* 0 on
        # ``frozen_points``+ reports is: a warmup from 0 leaves 0 at its first step (alpaca-lora
        # issue 288: 'learning_rate': 0.0 on the first five logs of a 13B LoRA run)
    if _loss_learned(run, th):
        return None  # the model changes: the logged LR is not the one applied (a DeepSpeed config
        # owns the schedule while HF's Trainer logs 0.0: t5-11b, loss 6.07 -> 0.04)
    top = float(np.abs(v).max())
    ev = {"metric": run.meta.roles.get("lr", "lr"), "value": top, "points": int(v.size),
          "rule": "the LR is 0 on every report" if top == 0 else f"the LR is below {th.lr_nil:g} on every report"}
    what = "0" if top == 0 else f"at most {fmt(top)} (below float32's resolution of any weight)"
    summary = (f"the learning rate is {what} on all {v.size} reports (steps {fmt(float(f.steps[0]))}-{fmt(float(f.steps[-1]))}): "
               "no update changes the model, so nothing is learned")
    cause = ("The schedule reached 0 (or was configured with a 0 peak, or a scheduler bug zeroed it) while "
             "training continues: the remaining steps are spent without learning.")
    return Finding("slow_progress", Severity.ERROR, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)


def _no_gain_over_finished_schedule(run: Run, th: ProgressThresholds) -> Finding | None:
    lr = run.series("lr")
    if lr is None:
        return None
    lv = lr.finite().values
    if lv.size < 2 or lv.max() <= 0 or lv[-1] > th.finished_lr * lv.max():
        return None
    if int(np.argmax(lv)) == 0 and not starts_at_the_start(run):
        return None  # a window past the peak: the schedule's start, and what the run learned then, are not in the log
    if _loss_learned(run, th):
        return None  # the loss fell by more than half: it learned, before the metric's first report
    for name in ("ep_return", "eval_return", "task_metric", "eval_accuracy"):
        s = run.series(name)
        if s is None:
            continue
        v = s.finite().values
        if v.size < 4:
            continue
        third = max(2, v.size // 3)
        early = v[:third]
        spread = float(np.ptp(early))
        if spread == 0 or float(np.ptp(v)) > th.finished_band * spread or int(np.argmax(v)) >= third:
            continue
        if name not in ("ep_return", "eval_return") and _ends_at_perfect(v):
            continue  # a score at its ceiling has nothing left to gain
        col = run.meta.roles.get(name, name)
        ev = {"metric": col, "value": float(v[-1]), "points": int(v.size), "lr_median_share_of_peak": float(lv[-1] / lv.max()),
              "rule": f"no gain over a finished schedule: {col} stayed within {th.finished_band:g}x its early spread"}
        summary = (f"{col} never improved: it stayed between {fmt(float(v.min()))} and {fmt(float(v.max()))} (best in the "
                   f"first third) while the LR schedule ran to {lv[-1] / lv.max():.1%} of its peak")
        cause = ("The run used its whole schedule without learning: the LR is too low for this model, the reward or "
                 "labels carry no signal, or the trained parameters do not reach the output.")
        return Finding("slow_progress", Severity.WARNING, float(s.steps[0]), float(s.steps[-1]), summary, ev, cause)
    return None


#: the perfect score of a share of right answers (an accuracy, an AUC, a success rate), as a fraction
#: and as a percentage: no evaluation can print more
PERFECT_SCORES = (1.0, 100.0)


def _ends_at_perfect(v: np.ndarray) -> bool:
    """True when a score on a bounded ratio scale (not a return) ends at its perfect value
    (:data:`PERFECT_SCORES`: 1, or 100 for a percentage) and never printed more: every answer of the
    evaluation set is right, so the score has nothing left to gain, and "no gain over the schedule"
    is a solved evaluation, not a run that did not learn (MIDAM on 6 histopathology test bags: test
    AUC 0.875 at epochs 0-1 and 3-4, 1.0 at epoch 2 and at every epoch from 5 to 99)."""
    top = float(v.max())
    return top in PERFECT_SCORES and float(v[-1]) == top and float(v.min()) >= 0


def _degenerate_groups(run: Run, th: ProgressThresholds) -> Finding | None:
    """GRPO batches with no advantage at all (:func:`lrdoctor.detect.rl.grpo.all_groups_degenerate`)."""
    return all_groups_degenerate(run)


def _return_at_floor(run: Run, th: ProgressThresholds) -> Finding | None:
    """See ``ProgressThresholds.return_floor_points`` and ``zero_return_points``."""
    for name, f in _logged(run, ("ep_return", "eval_return")):
        v = f.values
        if v.size >= th.zero_return_points and bool((v == 0).all()):
            col = run.meta.roles.get(name, name)
            ev = {"metric": col, "value": 0.0, "points": int(v.size), "rule": "the return is exactly 0 at every report"}
            summary = (f"{col} is exactly 0 at all {v.size} reports: no episode ever earned (or lost) a reward, so the "
                       "agent has nothing to learn from")
            cause = ("The reward never reaches the agent: a sparse reward that exploration never finds (Montezuma's "
                     "Revenge under epsilon-greedy), or a reward that is not wired to the environment's.")
            return Finding("slow_progress", Severity.WARNING, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)
        start = _same_tail(v, th, exact=True)
        if start is None or v.size - start < th.return_floor_points or v[-1] >= 0 or v[-1] > v.min():
            continue
        col = run.meta.roles.get(name, name)
        n = v.size - start
        ev = {"metric": col, "value": float(v[-1]), "points": int(n),
              "rule": f"the return is the same negative value, its lowest, at the last {n} reports"}
        summary = (f"{col} is exactly {fmt(float(v[-1]))} at each of the last {n} reports (from step "
                   f"{fmt(float(f.steps[start]))}), the lowest value of the run: every episode ends the same way, at the "
                   "floor of the reward")
        cause = ("The agent is stuck at the reward's floor: exploration never reaches a reward (a sparse or time-out "
                 "reward), the policy collapsed to one action, or the learning signal is broken (reward scale, done "
                 "handling, an LR of ~0).")
        return Finding("slow_progress", Severity.WARNING, float(f.steps[start]), float(f.steps[-1]), summary, ev, cause)
    return _never_succeeded(run, th)


def _return_never_rose(run: Run, th: ProgressThresholds) -> Finding | None:
    """The return of an RL log that starts at the start never rose above its start by more than
    its noise: see ``ProgressThresholds.rise_noise_k`` and its companions."""
    from lrdoctor.detect.rl import task_curve

    t = task_curve(run, th.rise_min_points)
    if t is None or t.name not in ("ep_return", "eval_return") or not starts_at_the_start(run):
        return None
    if run.meta.step_unit in ("step", "iteration", "update") and t.c.step[-1] - t.c.step[0] < th.min_steps:
        return None  # a few hundred updates of an RLHF / GRPO run are too early to call (its policy starts trained)
    y = t.c.mid
    sigma = diff_sigma(y)
    if sigma <= 0:
        return None  # a constant return: the floor rules judge it
    base = float(np.min(y[: th.rise_base_points]))
    best = float(np.max(t.smooth))
    if best - base > th.rise_noise_k * sigma or trend_p_down(-y) <= th.rise_trend_p:
        return None
    col = run.meta.roles.get(t.name, t.name)
    gain = (best - base) / sigma
    ev = {"metric": col, "value": best, "first": base, "points": int(y.size),
          "rule": f"the smoothed return never rose more than {th.rise_noise_k:g} noise sigmas above its start, with no upward trend"}
    summary = (f"{col} never rose above its start: its best smoothed level {fmt(best)} is {gain:.1f} noise sigmas "
               f"(sigma {fmt(sigma)}) above its first reports ({fmt(base)}) over all {y.size} reports, with no upward trend: "
               "the agent did not learn")
    cause = ("The agent is not learning: a learning rate too low or too high for the policy to improve, a reward "
             "that exploration never reaches, or a broken learning signal (reward scale, done handling, target network).")
    return Finding("slow_progress", Severity.WARNING, float(t.c.step[0]), float(t.c.step[-1]), summary, ev, cause)


def _never_succeeded(run: Run, th: ProgressThresholds) -> Finding | None:
    """A success rate (or a per-episode ``is_success``) exactly 0 at every one of at least
    ``zero_return_points`` reports: not one episode in the log reached the goal, the same
    evidence as a return that is exactly 0 throughout (SB3 zoo TQC+HER on FetchSlide: 338
    episodes, every ``is_success`` 0.0, every return about -50, the reward's floor)."""
    for name, f in _logged(run, ("success_rate", "task_metric")):
        col = run.meta.roles.get(name, name)
        if "success" not in tokens(col):
            continue
        v = f.values
        if v.size < th.zero_return_points or not bool((v == 0).all()):
            continue
        ev = {"metric": col, "value": 0.0, "points": int(v.size), "rule": "the success rate is exactly 0 at every report"}
        summary = f"{col} is exactly 0 at all {v.size} reports: no episode ever reached the goal"
        cause = ("The agent never meets the reward it should learn from: a sparse goal that exploration never reaches "
                 "(no hindsight relabelling, too little exploration noise), or a success signal not wired to the task.")
        return Finding("slow_progress", Severity.WARNING, float(f.steps[0]), float(f.steps[-1]), summary, ev, cause)
    return None
