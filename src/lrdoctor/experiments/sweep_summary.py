"""From cells to the post-mortem's table: per-LR success rate, losses at chosen steps, best
step, steps to a threshold, failure examples, findings; the recommended LR and its reason;
seed sensitivity. Pure functions of the cell results (no torch)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from lrdoctor.experiments.sweep_cell import CellResult

__all__ = ["FINAL_WINDOW", "WILSON_Z", "Criterion", "final_loss", "final_below_initial", "final_below",
           "LrSummary", "SeedSensitivity", "Recommendation", "summarize_lr", "recommend", "seed_sensitivity",
           "wilson_interval"]

FINAL_WINDOW = 5
"""Steps averaged into the "final loss": one minibatch loss is noisy (the post-mortem compared
single values; averaging the last 5 keeps its meaning and removes most of the batch-to-batch
noise). A run that stopped early (non-finite loss) has final loss NaN."""

WILSON_Z = 1.96
"""z of the 95% Wilson interval on a success rate (10 seeds: 10/10 still only says >= 72%)."""

#: losses of one run (step 0, 1, ...) -> did it succeed?
Criterion = Callable[[Sequence[float]], bool]


def final_loss(losses: Sequence[float], points: int | None = None) -> float:
    """Mean of the last FINAL_WINDOW losses; NaN when the run did not finish (fewer than
    ``points`` losses) or is not finite."""
    if not losses or (points is not None and len(losses) < points):
        return math.nan
    tail = np.asarray(losses[-FINAL_WINDOW:], dtype=float)
    return float(tail.mean()) if np.isfinite(tail).all() else math.nan


def final_below_initial(losses: Sequence[float]) -> bool:
    """The post-mortem's success: the run ends (finite) below the loss it started from."""
    fin = final_loss(losses)
    return bool(losses) and math.isfinite(losses[0]) and math.isfinite(fin) and fin < losses[0]


def final_below(level: float) -> Criterion:
    """Success when the final loss is finite and below ``level``."""
    def crit(losses: Sequence[float]) -> bool:
        fin = final_loss(losses)
        return math.isfinite(fin) and fin < level
    crit.__doc__ = f"final loss < {level:g}"
    return crit


def wilson_interval(k: int, n: int, z: float = WILSON_Z) -> tuple[float, float]:
    """The Wilson score interval of a success rate k/n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, mid - half), min(1.0, mid + half))


@dataclass
class Failure:
    seed: int
    first: float
    last: float
    #: the most severe finding's kind on that seed's log ("" when none)
    finding: str = ""


@dataclass
class LrSummary:
    """One row of the sweep table. Loss statistics are medians over seeds, with a diverged
    (non-finite or unfinished) seed counted as +inf: worse than any finite loss."""

    lr: float
    n: int
    n_success: int
    #: step -> median loss over seeds at that step
    loss_at: dict[int, float]
    final: float
    #: minimum of the per-step median curve and the step where it is reached
    min_loss: float
    min_step: int | None
    #: median over seeds of the first step with loss <= threshold (inf: most never do)
    steps_to_threshold: float
    failures: list[Failure] = field(default_factory=list)
    #: finding kind -> number of seeds whose log has it (warning or error)
    findings: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        return self.n_success / self.n if self.n else 0.0


@dataclass
class SeedSensitivity:
    """How much the outcome at one LR depends on the seed."""

    lr: float
    n: int
    success_rate: float
    success_interval: tuple[float, float]
    final_median: float
    final_min: float
    final_max: float
    #: std / mean of the finite final losses (0: every seed lands at the same loss)
    final_cv: float
    best_seed: int | None
    worst_seed: int | None


@dataclass
class Recommendation:
    lr: float
    reason: str


def _curve_matrix(cells: Sequence[CellResult], steps: int) -> np.ndarray:
    m = np.full((len(cells), steps), np.inf)
    for i, c in enumerate(cells):
        x = np.asarray(c.losses[:steps], dtype=float)
        x = np.where(np.isfinite(x), x, np.inf)
        m[i, : x.size] = x
    return m


def _worst_finding(cell: CellResult) -> str:
    rank = {"error": 2, "warning": 1, "info": 0}
    fs = sorted(cell.findings, key=lambda f: -rank.get(f.get("severity", "info"), 0))
    return fs[0]["kind"] if fs else ""


def summarize_lr(lr: float, cells: Sequence[CellResult], steps: int, criterion: Criterion,
                 loss_steps: Sequence[int], threshold: float) -> LrSummary:
    """The table row of one LR from its cells (one per seed); ``steps``: updates per run (each
    complete run has ``steps + 1`` losses, the last one after the last update)."""
    steps = steps + 1
    cells = sorted(cells, key=lambda c: c.seed)
    ok = [not c.error and len(c.losses) > 0 and criterion(c.losses) for c in cells]
    m = _curve_matrix(cells, steps) if cells else np.full((0, steps), np.inf)
    med = np.median(m, axis=0) if len(cells) else np.full(steps, np.inf)
    finite = np.isfinite(med)
    min_step = int(np.argmin(med)) if finite.any() else None
    finals = [final_loss(c.losses, steps) for c in cells]
    final = float(np.median([f if math.isfinite(f) else np.inf for f in finals])) if cells else math.inf
    reach = []
    for row in m:
        hit = np.nonzero(row <= threshold)[0]
        reach.append(float(hit[0]) if hit.size else np.inf)
    kinds: Counter[str] = Counter()
    for c in cells:
        kinds.update({f["kind"] for f in c.findings if f.get("severity") in ("warning", "error")})
    failures = [Failure(c.seed, c.losses[0] if c.losses else math.nan, c.losses[-1] if c.losses else math.nan,
                        "errored" if c.error else _worst_finding(c)) for c, good in zip(cells, ok) if not good]
    return LrSummary(
        lr=lr, n=len(cells), n_success=sum(ok),
        loss_at={s: float(med[s]) for s in loss_steps if s < steps},
        final=final, min_loss=float(med[min_step]) if min_step is not None else math.inf, min_step=min_step,
        steps_to_threshold=float(np.median(reach)) if reach else math.inf,
        failures=failures, findings=dict(kinds.most_common()),
        errors=[f"seed {c.seed}: {c.error}" for c in cells if c.error],
    )


def _fmt(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else "diverged"


def recommend(rows: Sequence[LrSummary]) -> Recommendation | None:
    """The most reliable LR (highest success rate), ties broken by the lowest median final
    loss, then by the larger LR (faster, at equal reliability and loss)."""
    rows = [r for r in rows if r.n]
    if not rows or not any(r.n_success for r in rows):
        return None  # no LR worked on any seed: nothing to recommend
    best = min(rows, key=lambda r: (-r.success_rate, r.final if math.isfinite(r.final) else math.inf, -r.lr))
    tied = [r for r in rows if r.success_rate == best.success_rate and r is not best]
    others = sorted((r for r in rows if r is not best), key=lambda r: r.lr)
    rates = ", ".join(f"{r.lr:g}: {r.n_success}/{r.n}" for r in others)
    reason = f"{best.n_success}/{best.n} seeds succeed at {best.lr:g}"
    reason += f" (others: {rates})" if rates else ""
    if tied:
        reason += f"; tied on reliability with {', '.join(f'{r.lr:g}' for r in tied)}, " \
                  f"it has the lowest median final loss ({_fmt(best.final)} vs " \
                  f"{', '.join(_fmt(r.final) for r in tied)})"
    else:
        reason += f"; median final loss {_fmt(best.final)}"
    return Recommendation(best.lr, reason)


def seed_sensitivity(lr: float, cells: Sequence[CellResult], steps: int, criterion: Criterion) -> SeedSensitivity:
    """Spread of the outcome over seeds at ``lr`` (``steps``: updates per run)."""
    cells = [c for c in cells if c.lr == lr]
    steps = steps + 1
    finals = {c.seed: final_loss(c.losses, steps) for c in cells}
    k = sum(1 for c in cells if not c.error and c.losses and criterion(c.losses))
    fin = {s: v for s, v in finals.items() if math.isfinite(v)}
    vals = np.asarray(list(fin.values()), dtype=float)
    return SeedSensitivity(
        lr=lr, n=len(cells), success_rate=k / len(cells) if cells else 0.0,
        success_interval=wilson_interval(k, len(cells)),
        final_median=float(np.median([v if math.isfinite(v) else np.inf for v in finals.values()])) if finals else math.nan,
        final_min=float(vals.min()) if vals.size else math.nan,
        final_max=float(vals.max()) if len(fin) == len(finals) and vals.size else math.inf,
        final_cv=float(vals.std() / abs(vals.mean())) if vals.size > 1 and vals.mean() != 0 else 0.0,
        best_seed=min(fin, key=fin.get) if fin else None,
        worst_seed=(max(finals, key=lambda s: finals[s] if math.isfinite(finals[s]) else math.inf) if finals else None),
    )
