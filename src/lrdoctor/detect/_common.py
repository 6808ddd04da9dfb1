"""Helpers detectors share: which series is the objective, the LR at a step."""

from __future__ import annotations

import numpy as np

from lrdoctor.run import Run, Series

__all__ = ["objective", "loss_went_nonfinite", "lr_at", "lr_rising", "is_error_rate", "is_word_error_rate", "error_rates", "is_class_error", "ERROR_RATES", "zero_is_exact",
           "perplexity_beside", "training_loss_terms"]


def objective(run: Run) -> Series | None:
    """The training loss a supervised detector judges, or None.

    RL runs are left to the RL detectors: a TD or PPO loss can rise while the agent learns.
    """
    if run.is_rl:
        return None
    return run.series("loss")


def lr_at(run: Run, step: float) -> float | None:
    s = run.series("lr")
    if s is None:
        return None
    f = s.finite()
    if f.steps.size == 0:
        return None
    i = int(np.clip(np.searchsorted(f.steps, step, side="right") - 1, 0, f.steps.size - 1))
    return float(f.values[i])


def lr_rising(run: Run, a: float, b: float, factor: float) -> tuple[float, float] | None:
    """(first, last) of the logged LR over steps ``a`` to ``b`` when it never falls there and ends
    at least ``factor`` x where it started: a warm-up still under way. None otherwise, and with no
    LR logged."""
    s = run.series("lr")
    if s is None:
        return None
    f = s.finite()
    v = f.values[(f.steps >= a) & (f.steps <= b)]
    if v.size < 2 or v[0] <= 0 or not (np.diff(v) >= 0).all() or v[-1] < factor * v[0]:
        return None
    return float(v[0]), float(v[-1])


#: word/character/unit/token error rates (speech, OCR) and a generic error rate: 1.0 (or 100%)
#: means nothing recognised, what an empty output scores
ERROR_RATES = ("wer", "cer", "uer", "ter", "errorrate", "error_rate")


def is_error_rate(name: str) -> bool:
    """``wer``, ``valid_wer``, ``eval/cer``, ``valid_ErrorRate``, ``eval_wer_score``: an error-rate column (not
    ``power``, not ``answer``)."""
    low = _rate_key(name)
    return any(low == r or low.endswith("_" + r) for r in ERROR_RATES)


def _rate_key(name: str) -> str:
    """``name`` as the error-rate tests read it: lower case, ``-`` as ``_``, its last ``/`` part,
    without evaluate's ``_score`` suffix (``eval/WER_score`` -> ``wer``)."""
    return name.lower().replace("-", "_").split("/")[-1].removesuffix("_score")


def is_word_error_rate(name: str) -> bool:
    """``wer``, ``eval_wer``, ``eval_wer_score``: a word error rate (not a CER or a phone error
    rate, whose state of the art lies far lower than a WER's)."""
    low = _rate_key(name)
    return low == "wer" or low.endswith("_wer")


#: words beside an error word that make it a regression or reconstruction error, not a share of wrong answers
_NOT_CLASS_ERROR = frozenset({"loss", "mse", "mae", "rmse", "squared", "abs", "absolute", "mean", "l1", "l2",
                              "reconstruction", "recon", "rel", "relative", "pixel", "depth"})



def error_rates(run: Run) -> dict[str, Series]:
    """The finite reports of each logged error rate (:func:`is_error_rate`: WER, CER, ErrorRate),
    by column, in the run's column order."""
    return {n: run.series(n).finite() for n in run.metrics if is_error_rate(n) and n in run}

def is_class_error(name: str) -> bool:
    """``errTop1``, ``val_top1_err``, ``test_error``: a classification error, the share of wrong
    answers (one minus an accuracy). Not a speech or OCR error rate (:func:`is_error_rate`), nor a
    regression error (``mean_squared_error``, ``abs_error``), whose complement is no accuracy."""
    from lrdoctor.names import ERROR_WORDS, tokens

    words = set(tokens(name))
    return bool(words & set(ERROR_WORDS)) and not words & _NOT_CLASS_ERROR and not is_error_rate(name)


def zero_is_exact(run: Run, role: str, min_decimals: int) -> bool:
    """Whether a 0 read for ``role`` is exactly 0. Machine-written formats (CSV, JSON, event
    files) store the float itself; a text log only printed it, so its 0 counts only when
    printed with at least ``min_decimals`` decimals ("0.000" may be any value below 5e-4, or
    a norm the trainer did not compute: Megatron prints "grad norm: 0.000" then), or read from
    a Python repr (HF Trainer's ``{'grad_norm': 0.0, ...}`` lines)."""
    if run.meta.format != "text-log":
        return not _rounded_file(run)
    col = run.meta.roles.get(role, role)
    if col in run.meta.repr_fields:
        return True  # a Python repr prints a float's own digits: its 0.0 is exactly 0
    dec = run.meta.printed_decimals.get(col)
    return dec is not None and dec >= min_decimals


#: A machine-written file whose every fractional value has at most this many decimals was rounded by its
#: writer: a float computed in training and stored whole has 7+ (float32) or 15+ significant digits.
ROUNDED_DECIMALS = 6


def _rounded_file(run: Run, sample: int = 200) -> bool:
    """True when every fractional value of the run's metric columns (the first ``sample`` of each)
    has at most :data:`ROUNDED_DECIMALS` decimals: the writer rounded what it stored (Megatron's
    golden values: lm loss 9.19948, params-norm 35.67851, so its 'learning-rate' 0.0 may be any
    value below 5e-6)."""
    from decimal import Decimal

    seen = False
    for values in run.metrics.values():
        v = np.asarray(values[:sample], dtype=float)
        for x in v[np.isfinite(v) & (v != np.round(v))]:
            if -Decimal(repr(float(x))).as_tuple().exponent > ROUNDED_DECIMALS:  # (3e-05 has 5)
                return False
            seen = True
    return seen


def perplexity_beside(run: Run, role: str) -> str | None:
    """The perplexity column printed beside the ``role`` loss ("loss" or "eval_loss"; the same
    split's), or None: when there is none, or when the loss was derived from it (then it shows
    nothing the loss does not)."""
    from lrdoctor.names import perplexity_column

    raw = run.meta.roles.get(role)
    if role not in ("loss", "eval_loss") or raw is None or raw in run.meta.added:
        return None
    return perplexity_column([n for n in run.metrics if n not in run.meta.added], evaluation=role == "eval_loss")


def derived_from_perplexity(run: Run, role: str) -> bool:
    """True when the ``role`` loss ("loss" or "eval_loss") is no printed column but the logarithm
    the reader took of a perplexity, the only form of the loss the log prints (``build_run``: a
    per-token cross-entropy is ln ppl)."""
    raw = run.meta.roles.get(role)
    return raw is not None and raw in run.meta.added and run.meta.aliases.get(role, "").startswith("ln_")


def loss_went_nonfinite(run: Run) -> bool:
    """True when the training or the evaluation loss printed a NaN or an inf at any report: a
    blow-up, which the nonfinite finding reports, explains a metric that collapsed or sits at
    chance after it (a constant predictor), so the metric rules leave such a run alone.

    Not an evaluation loss that is non-finite at every one of its reports beside a training loss
    that is finite at every one of its own: the weights that gave those finite training losses are
    finite, so the evaluation loss's inf is its own computation's (a CTC loss on an utterance
    shorter than its transcript is inf without ``zero_infinity``), present from the first
    evaluation, and no blow-up happened during the log to explain the scores (w2v-BERT on Tamil:
    validation loss inf at all 17 evaluations while the training loss fell 2.31 -> 0.17 and the
    WER improved 0.349 -> 0.286 before it rose)."""
    loss, held = run.series("loss"), run.series("eval_loss")
    if loss is not None and not np.isfinite(loss.values).all():
        return True
    if held is None or np.isfinite(held.values).all():
        return False
    return not (loss is not None and loss.values.size > 0 and not np.isfinite(held.values).any())


def training_loss_terms(run: Run) -> list[str]:
    """The logged training-loss terms other than the objective itself: the columns present in
    ``run`` whose :func:`~lrdoctor.names.loss_term_kind` is "train" (``loss_cls``, ``box_loss``,
    ``kl_loss``), less the column that plays the loss role and a column named ``loss``.

    One home for the list, so that the detectors that read terms (divergence's blow-up rules,
    initial_loss_anomaly's summed terms, plateau's box terms) agree on what a term is; each adds
    only the filter its own rule needs."""
    from lrdoctor.names import loss_term_kind

    own = run.meta.roles.get("loss", "loss")
    return [n for n in run.metrics if n in run and n not in (own, "loss") and loss_term_kind(n) == "train"]
