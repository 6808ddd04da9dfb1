"""What each check needs from a run: functions ``Run -> str | None`` (None: it can run).

A kind's module names one of these when it registers its detector
(``@detector("divergence", thresholds=..., needs=needs.loss)``). The returned text is the
reason the report prints under "not checked", so it names the roles and how to supply them
(``--metric ROLE=COLUMN``, a config key, or the Monitor). Silence must mean "checked and
healthy", never "could not check".
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from lrdoctor.config import lookup
from lrdoctor.detect._classes import label_smoothing as _smoothing_value
from lrdoctor.detect._classes import num_classes as _num_classes
from lrdoctor.run import Run

__all__ = ["MIN_LOSS_POINTS", "MIN_TASK_POINTS", "MIN_GRAD_POINTS", "points", "loss", "first_loss", "loss_points", "with_loss_points", "cumulative", "any_loss_or_grad", "grad",
           "clipping", "eval_and_train_loss", "overfitting", "num_classes_and_loss", "num_classes_and_first_loss", "label_smoothing_and_loss", "lr", "lr_and_loss",
           "architecture", "column", "column_points", "task_metric", "task_points", "cycles"]

#: The fewest finite loss points a loss-shape check judges: three points make one rise
#: after one fall; fewer cannot separate a trend from a single noisy report.
MIN_LOSS_POINTS = 3
#: The fewest task-metric points (returns, accuracy) the return-shape checks judge: they
#: compare a peak with what came before and after, each a few points long.
MIN_TASK_POINTS = 10
#: The fewest gradient-norm points the gradient checks judge (a median needs a few).
MIN_GRAD_POINTS = 5


#: A "loss" that rises at every report, at least doubles, and grows like a sum from step 0
#: (the per-step rate implied by each interval, starting with value/step at the first
#: report, never rises by more than this share) is a running sum that is never reset
#: (``running_loss += loss.item()`` with no ``running_loss = 0``), not a loss: summing a
#: per-step loss that falls or stays flat gives exactly that concave curve through the
#: origin, while a real divergence leaves a trained level and accelerates. Lightweight
#: OpenPose issue 276: 7.67, 15.29, 22.35, 29.96 at iterations 100-400 (0.0767, 0.0763,
#: 0.0706, 0.0760 per step). 10% leaves room for minibatch noise in each interval's mean.
CUMULATIVE_TOL = 0.1


def points(run: Run, name: str) -> int:
    s = run.series(name)
    return 0 if s is None else int(np.isfinite(s.values).sum())


def loss(run: Run) -> str | None:
    why = _loss_column(run)
    if why is not None:
        return why
    n = points(run, "loss")
    if n < MIN_LOSS_POINTS:
        return f"only {n} finite loss point(s); needs {MIN_LOSS_POINTS}"
    return cumulative(run, "loss")


def first_loss(run: Run) -> str | None:
    """A training loss with at least one finite point: a check of the loss's first report alone
    (``initial_loss_anomaly``) reads one number and has no trend to tell from noise, so the
    :data:`MIN_LOSS_POINTS` a shape needs do not bind it (a DETR card whose two rows are 5,475 and
    NaN still shows its start)."""
    return _loss_column(run) or cumulative(run, "loss")


def _loss_column(run: Run) -> str | None:
    """Why the run has no training loss to judge (an RL run, a GAN's game, no column or no finite
    point in it), else None."""
    if run.is_rl:
        return "RL run: its TD/PPO loss may rise while the agent learns, so the RL checks judge it"
    n = points(run, "loss")
    if n == 0 and run.is_gan:
        return ("GAN run: the discriminator and generator losses are a game (each rises when the other "
                "player gains), not an objective with a trend to judge; name a reconstruction or other "
                "objective term with --metric loss=COLUMN")
    if n == 0:
        return "no training-loss column (loss, train_loss, Loss/train, ...); name one with --metric loss=COLUMN"
    return None


def _at_least(base: Callable[[Run], str | None], count: Callable[[Run], int], fewest: int, what: str,
              why: str) -> Callable[[Run], str | None]:
    """``base``'s need, and at least ``fewest`` finite points of ``what`` (counted by ``count``;
    ``why`` says what they are for): a check whose rule needs a window of reports says "not
    checked" below it, rather than staying silent as if it had judged the log."""

    def need(run: Run) -> str | None:
        got = base(run)
        if got is not None:
            return got
        n = count(run)
        return None if n >= fewest else f"only {n} {what} point(s); needs {fewest} ({why})"

    need.__name__ = need.__qualname__ = f"{what.split('-')[0]}_points({fewest})"  # as the reference page names it
    return need


def loss_points(fewest: int, why: str) -> Callable[[Run], str | None]:
    """A training loss with at least ``fewest`` finite points (see :func:`_at_least`)."""
    return _at_least(loss, lambda run: points(run, "loss"), fewest, "loss", why)


def with_loss_points(base: Callable[[Run], str | None], fewest: int, why: str) -> Callable[[Run], str | None]:
    """``base``'s need (one that includes a training loss), and at least ``fewest`` finite loss points."""
    need = _at_least(base, lambda run: points(run, "loss"), fewest, "loss", why)
    need.__name__ = need.__qualname__ = f"{base.__name__}+loss_points({fewest})"
    return need


def cumulative(run: Run, name: str) -> str | None:
    """Why ``name`` is not judged as a loss when it grows like a running sum from step 0
    (see :data:`CUMULATIVE_TOL`), else None."""
    s = run.series(name)
    if s is None:
        return None
    f = s.finite()
    x, st = f.values, f.steps
    if x.size < MIN_LOSS_POINTS or (x <= 0).any() or (st <= 0).any() or not (np.diff(x) > 0).all() or x[-1] < 2 * x[0]:
        return None
    rate = np.r_[x[0] / st[0], np.diff(x) / np.diff(st)]
    if (rate[1:] > (1 + CUMULATIVE_TOL) * rate[:-1]).any():
        return None
    col = run.meta.roles.get(name, name)
    return (f"{col} rises at every report and grows like a sum from step 0 ({rate[0]:.3g} per step at first, "
            f"{rate[-1]:.3g} in the last interval): a running sum that is never reset? Log the per-step "
            f"(or per-interval) average")


def any_loss_or_grad(run: Run) -> str | None:
    if not any(n in run for n in ("loss", "eval_loss", "grad_norm", "value_loss", "policy_loss", "q_values", "d_loss", "g_loss",
                                  "approx_kl", "ep_return", "eval_return", "eval_accuracy", "overflow_scale")):
        return "no loss or gradient-norm column"
    return None


def grad(run: Run) -> str | None:
    n = points(run, "grad_norm")
    if n == 0:
        return "no gradient-norm column (grad_norm, gnorm, ...); log it or use lrdoctor.Monitor"
    if n < MIN_GRAD_POINTS:
        return f"only {n} gradient-norm point(s); needs {MIN_GRAD_POINTS}"
    return None


def clipping(run: Run) -> str | None:
    from lrdoctor.detect._grad import clip_signal

    sig = clip_signal(run)
    if sig is None:
        return grad(run) or "no clipping threshold (config max_grad_norm/clip, or a max_grad_norm, clip_coef or clip-fraction column)"
    if sig.kind in ("coef", "fraction"):  # clipping logged itself: no gradient norm needed
        name = "clip_coef" if sig.kind == "coef" else "grad_clip_fraction"
        n = points(run, name)
        return None if n >= 3 else f"only {n} clip-share point(s); needs 3"
    return grad(run)


def eval_and_train_loss(run: Run) -> str | None:
    if run.is_rl:
        return "RL run"
    if "eval_loss" not in run:
        return "no evaluation-loss column (val_loss, eval_loss, Loss/val, ...)"
    if "loss" not in run:
        return "no training-loss column to compare the evaluation loss with"
    if points(run, "eval_loss") < 3:
        return f"only {points(run, 'eval_loss')} evaluation point(s); needs 3"
    return None


def overfitting(run: Run) -> str | None:
    """Train and eval losses, or failing them a train and an eval accuracy."""
    why = eval_and_train_loss(run)
    if why is not None and not run.is_rl and "loss" in run and points(run, "eval_loss") == 2:
        return None  # two evaluations: the doubled-eval-loss rule can judge them
    if why is not None and not run.is_rl and points(run, "eval_loss") >= 3 and points(run, "eval_accuracy") >= 3:
        return None  # evaluations with their accuracy: the evaluations-only rule can judge them
    if why is not None and not run.is_rl and "loss" not in run and "eval_accuracy" not in run and points(run, "eval_loss") >= 3:
        return None  # evaluations alone: Prechelt's GL rule can judge 5+ of them (min_after + 2), the undone rule 3-4
    if why is None or run.is_rl or "eval_loss" in run:
        return why
    if "eval_accuracy" in run and "task_metric" in run and points(run, "eval_accuracy") >= 3:
        return None
    return why


def num_classes_and_loss(run: Run) -> str | None:
    return loss(run) or (None if _num_classes(run) else "needs the number of classes in the config (num_classes, vocab_size, ...)")


def num_classes_and_first_loss(run: Run) -> str | None:
    """The number of classes and a first training loss (:func:`first_loss`): what a check of the
    start against ln K needs."""
    return first_loss(run) or (None if _num_classes(run) else "needs the number of classes in the config (num_classes, vocab_size, ...)")


def label_smoothing_and_loss(run: Run) -> str | None:
    return num_classes_and_loss(run) or (None if _smoothing_value(run) else "no label_smoothing in the config")


def lr(run: Run) -> str | None:
    return None if "lr" in run else "no learning-rate column (lr, learning_rate, ...)"


def lr_and_loss(run: Run) -> str | None:
    return loss(run) or lr(run)


def architecture(run: Run) -> str | None:
    from lrdoctor.detect.warmup_missing import ARCH_KEYS

    return None if lookup(run.config, ARCH_KEYS) else "no architecture in the config (model, arch, model_type, ...)"


def column(*names: str, what: str) -> Callable[[Run], str | None]:
    def need(run: Run) -> str | None:
        return None if any(n in run for n in names) else f"no {what} column"
    return need


def column_points(name: str, fewest: int, what: str, why: str) -> Callable[[Run], str | None]:
    """A ``name`` column (``what`` names it, aliases in parentheses) with at least ``fewest`` finite points
    (see :func:`_at_least`; the count's reason names the column without its aliases)."""
    return _at_least(column(name, what=what), lambda run: points(run, name), fewest, what.split(" (")[0], why)


def task_metric(run: Run) -> str | None:
    from lrdoctor.detect.rl import TASK_METRICS

    n = max((points(run, m) for m in TASK_METRICS), default=0)
    if n == 0 and points(run, "task_metric"):
        # a score on the training batches is there, but these checks judge returns and held-out scores
        col = run.meta.roles.get("task_metric", "task_metric")
        return (f"no return or held-out score column (episode return, success rate, eval accuracy); {col} "
                "is a training score; name a held-out one with --metric eval_accuracy=COLUMN")
    if n == 0:
        return "no task-metric column (return, reward, accuracy, success rate, ...); name one with --metric task_metric=COLUMN"
    if n < MIN_TASK_POINTS:
        return f"only {n} task-metric point(s); needs {MIN_TASK_POINTS}"
    return None


def task_points(fewest: int, why: str) -> Callable[[Run], str | None]:
    """A task metric with at least ``fewest`` finite points (see :func:`_at_least`)."""

    def count(run: Run) -> int:
        from lrdoctor.detect.rl import TASK_METRICS

        return max((points(run, m) for m in TASK_METRICS), default=0)

    return _at_least(task_metric, count, fewest, "task-metric", why)


def cycles(run: Run) -> str | None:
    return None if (run.meta.step_unit == "cycle" or "cycle" in run) else "no cycle/generation column"
