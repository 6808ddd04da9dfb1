"""Small builders the rule tests share: a run from equal-length columns, and one kind's findings.

Each stop's rule tests (tests/test_stopNN_*.py) used to carry their own copy of these two helpers."""

from __future__ import annotations

from functools import partial

import numpy as np

__all__ = ["columns_run", "findings_of", "divergence_findings", "trainer_card_lines", "wer_card_lines"]


def columns_run(**cols: list[float]):
    """A run whose columns are the given equal-length lists, at steps 1..n (one row per report)."""
    from lrdoctor.run import build_run

    n = len(next(iter(cols.values())))
    return build_run(np.arange(1.0, n + 1), {k: np.asarray(v, float) for k, v in cols.items()})


def findings_of(report, kind: str) -> list:
    """The findings of one kind in a report, in the report's order."""
    return [f for f in report.findings if f.kind == kind]


divergence_findings = partial(findings_of, kind="divergence")


def trainer_card_lines(train: list[float], evals: list[float] | None, step_every: int) -> list[str]:
    """A Hugging Face Trainer "Training results" table, one row per epoch: the training loss and
    (when given) the validation loss, the step advancing by ``step_every`` per epoch."""
    if evals is None:
        lines = ["| Training Loss | Epoch | Step |", "|:---:|:---:|:---:|"]
        lines += [f"| {t:.4f} | {i + 1}.0 | {step_every * (i + 1)} |" for i, t in enumerate(train)]
    else:
        lines = ["| Training Loss | Epoch | Step | Validation Loss |", "|:---:|:---:|:---:|:---:|"]
        lines += [f"| {t:.4f} | {i + 1}.0 | {step_every * (i + 1)} | {e:.4f} |" for i, (t, e) in enumerate(zip(train, evals))]
    return ["### Training results", ""] + lines


def wer_card_lines(evals: list[float], wer: list[float], step_every: int = 1000) -> list[str]:
    """A Hugging Face Trainer "Training results" table of a speech fine-tune, one row per
    evaluation: a training loss (0.9x the validation loss), the validation loss and a WER."""
    lines = ["| Training Loss | Epoch | Step | Validation Loss | Wer |", "|:---:|:---:|:---:|:---:|:---:|"]
    lines += [f"| {0.9 * e:.4f} | {i + 1}.0 | {step_every * (i + 1)} | {e:.4f} | {w:.4f} |"
              for i, (e, w) in enumerate(zip(evals, wer))]
    return ["### Training results", ""] + lines
