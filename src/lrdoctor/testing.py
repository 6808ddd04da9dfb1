"""Training tests that fail with a diagnosis instead of a bare assertion.

    from lrdoctor.testing import assert_converges

    def test_model_trains():
        assert_converges(lambda seed: train(seed, lr=1e-3, steps=60), seeds=10, min_success=0.9)

``train_fn(seed)`` returns the run's losses (one per step). A seed succeeds when its last loss
is finite and below its first (or when ``criterion(losses)`` is true). When fewer than
``min_success`` of the seeds succeed, the AssertionError lists every failing seed with its
first -> last loss and what lrdoctor's detectors find in that curve (divergence at step k,
oscillation, a NaN, a plateau...). The pytest plugin (:mod:`lrdoctor.pytest_plugin`) adds a
seeding fixture and a ``lrdoctor_training`` marker.
"""

from __future__ import annotations

import math
import random
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

__all__ = ["assert_converges", "SeedOutcome", "diagnose_losses", "seeded", "last_below_first"]


def last_below_first(losses: Sequence[float]) -> bool:
    """The default success: the last loss is finite and below the first."""
    return len(losses) >= 2 and math.isfinite(losses[0]) and math.isfinite(losses[-1]) and losses[-1] < losses[0]


@dataclass
class SeedOutcome:
    seed: int
    ok: bool
    first: float
    last: float
    #: the most severe finding's one-line summary ("" when lrdoctor finds nothing)
    finding: str = ""


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed Python's ``random``, numpy and torch with ``seed``; restore their states on exit,
    so a test that seeds does not change what later tests draw."""
    import numpy as np

    py_state = random.getstate()
    np_state = np.random.get_state()
    torch = _torch()
    torch_state = torch.random.get_rng_state() if torch else None
    cuda_state = torch.cuda.get_rng_state_all() if torch and torch.cuda.is_available() else None
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if torch:
        torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        if torch:
            torch.random.set_rng_state(torch_state)
            if cuda_state is not None:
                torch.cuda.set_rng_state_all(cuda_state)


def _torch() -> Any:
    try:
        import torch

        return torch
    except ImportError:
        return None


def diagnose_losses(losses: Sequence[float]) -> str:
    """What lrdoctor finds in a loss curve: the most severe finding as one line ("" if none).

    The curve goes through the public path every log takes: a CSV file read by ``lrdoctor.read``
    and diagnosed by ``lrdoctor.diagnose``."""
    import lrdoctor

    with tempfile.TemporaryDirectory(prefix="lrdoctor-test-") as tmp:
        path = Path(tmp) / "losses.csv"
        path.write_text("step,loss\n" + "".join(f"{i},{_csv_float(x)}\n" for i, x in enumerate(losses)))
        try:
            report = lrdoctor.diagnose(lrdoctor.read(path))
        except lrdoctor.InputError as err:
            return f"(not diagnosable: {err.problem})"
    if not report.findings:
        return ""
    f = report.findings[0]  # the report sorts findings by severity, then by step
    return f"{f.kind} ({f.severity.value}): {f.summary}"


def _csv_float(x: float) -> str:
    return "nan" if math.isnan(x) else ("inf" if x == math.inf else ("-inf" if x == -math.inf else repr(float(x))))


def assert_converges(train_fn: Callable[[int], Iterable[float]], seeds: int | Iterable[int] = 10,
                     min_success: float = 0.9, criterion: Callable[[Sequence[float]], bool] | None = None) -> list[SeedOutcome]:
    """Run ``train_fn(seed)`` for each seed (``seeds``: a count, 0..n-1, or the seeds) and fail
    unless at least ``min_success`` of them succeed. Each call runs inside :func:`seeded`.

    Returns the per-seed outcomes when it passes; raises AssertionError listing every failing
    seed (first -> last loss, lrdoctor's finding) when it does not.
    """
    if not 0.0 <= min_success <= 1.0:
        raise ValueError(f"The 'min_success' parameter of assert_converges must be in [0, 1]. Got {min_success!r} instead.")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("The 'seeds' parameter of assert_converges must name at least one seed.")
    crit = criterion or last_below_first
    outcomes = []
    for seed in seed_list:
        with seeded(seed):
            losses = [float(x) for x in train_fn(seed)]
        if not losses:
            raise AssertionError(f"train_fn({seed}) returned no losses")
        outcomes.append(SeedOutcome(seed, bool(crit(losses)), losses[0], losses[-1]))
        if not outcomes[-1].ok:
            outcomes[-1].finding = diagnose_losses(losses)
    ok = sum(o.ok for o in outcomes)
    if ok / len(outcomes) >= min_success:
        return outcomes
    need = math.ceil(min_success * len(outcomes) - 1e-9)
    what = "last loss < first loss" if criterion is None else (getattr(criterion, "__doc__", None) or "criterion")
    lines = [f"training converged for {ok}/{len(outcomes)} seeds ({ok / len(outcomes):.0%}), "
             f"needed {need} ({min_success:.0%}; success: {what.strip().splitlines()[0]}). Failing seeds:"]
    for o in outcomes:
        if not o.ok:
            lines.append(f"  seed {o.seed}: loss {o.first:.4g} -> {o.last:.4g}; "
                         f"lrdoctor: {o.finding or 'no finding (the curve looks healthy to the detectors)'}")
    raise AssertionError("\n".join(lines))
