"""A Monitor probe for the gradient noise scale (McCandlish et al. 2018, ``B_simple``).

>>> probe = lrdoctor.NoiseScaleProbe(loss_fn, probe_loader)                 # doctest: +SKIP
>>> mon = lrdoctor.Monitor(optimizer, model=model, probes=[probe])         # doctest: +SKIP
>>> ...; print(probe.results[-1][1].summary(batch=256))                     # doctest: +SKIP

On its steps it runs :func:`lrdoctor.noise_scale` (the unbiased estimators of ``|G|^2`` and
``tr(Sigma)`` at two batch sizes, each averaged over draws before dividing) at the current
weights, on batches it draws from its own loader, and logs

* ``noise_scale``: ``B_simple = tr(Sigma)/|G|^2``;
* ``noise_grad_sq`` and ``noise_trace_sigma``: the two averaged estimates it is the ratio of.

It needs its own loader: the optimizer hooks do not see the training batch, and drawing from
the training loader would change the data order. Give it the training set with the training
batch size (``B``); the small batch is ``B / chunks``.

Cost, per measurement: ``draws`` big-batch gradients plus ``draws x chunks`` small-batch
ones, i.e. about ``2 x draws`` training steps' worth of forward/backward passes when the probe
batch equals the training batch (40 with the defaults), plus one copy of the parameters'
gradient per gradient (flattened in float64). Nothing in the model, its ``.grad`` or the
optimizer is changed. With the default schedule (every :data:`NOISE_SCALE_EVERY` steps) that is
~4% extra compute on a compute-bound model; on a tiny one, where every gradient call costs
about a training step, a measurement cost ~140 steps (docs/benchmarks.md, "Instrument probes in
the Monitor"). The estimate is precise while ``B_noise`` is within a few times the probe batch
(docs/instruments.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from lrdoctor.experiments.noise_scale import (
    DEFAULT_CHUNKS,
    DEFAULT_DRAWS,
    NoiseScaleResult,
    noise_scale,
)
from lrdoctor.monitor.probes import Probe, Schedule, StepContext
from lrdoctor.monitor.signals import Every

__all__ = ["COLUMNS", "NOISE_SCALE_EVERY", "NoiseScaleProbe"]

#: Default period in steps. One measurement costs ~``2 x draws`` = 40 training steps with the
#: defaults, so every 1000 steps keeps the overhead near 4%; ``B_noise`` changes on the
#: time-scale of the loss itself (McCandlish et al. 2018, fig. 5: it grows as the loss falls),
#: which 1000-step spacing resolves on runs of 10k+ steps. Pass ``when=`` for denser tracking.
NOISE_SCALE_EVERY: int = 1000

#: result attribute -> Monitor log column
COLUMNS: dict[str, str] = {"b_simple": "noise_scale", "grad_sq": "noise_grad_sq", "trace_sigma": "noise_trace_sigma"}


@dataclass
class NoiseScaleProbe(Probe):
    """``B_simple`` measured in ``Monitor.step`` (after the optimizer step) on the steps
    ``when`` selects, from ``draws`` batches of ``loader`` split into ``chunks`` pieces."""

    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    loader: Iterable
    when: Schedule = field(default_factory=lambda: Every(NOISE_SCALE_EVERY))
    draws: int = DEFAULT_DRAWS
    chunks: int = DEFAULT_CHUNKS
    name: str = "noise_scale"
    cost: str = ("on its steps: draws x (chunks + 1) gradients on the probe loader's batches, ~2 x draws training "
                 "steps' worth (40 with the defaults)")
    #: ``(step, result)`` per measurement
    results: list[tuple[int, NoiseScaleResult]] = field(default_factory=list)
    _it: Iterator | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.draws < 1 or self.chunks < 2:
            raise ValueError(f"NoiseScaleProbe needs draws >= 1 and chunks >= 2. Got draws={self.draws!r}, "
                             f"chunks={self.chunks!r} instead.")

    def due(self, ctx: StepContext) -> bool:
        return self.when(ctx.step)

    def _batches(self) -> list[Any]:
        """The next ``draws`` batches of the loader, continuing where the last measurement
        stopped (so measurements see different data) and restarting it when it runs out."""
        out: list[Any] = []
        empty_restarts = 0
        while len(out) < self.draws:
            if self._it is None:
                self._it = iter(self.loader)
            try:
                out.append(next(self._it))
                empty_restarts = 0
            except StopIteration:
                self._it = None
                empty_restarts += 1
                if empty_restarts > 1:  # a fresh iterator that yields nothing
                    raise ValueError("the noise-scale probe's loader yields no batches") from None
        return out

    def record(self, ctx: StepContext, row: dict[str, Any]) -> None:
        if ctx.model is None:
            raise ValueError("the noise-scale probe needs the model: pass Monitor(optimizer, model=model, ...)")
        res = noise_scale(ctx.model, self.loss_fn, self._batches(), draws=self.draws, chunks=self.chunks,
                          optimizer=ctx.optimizer)
        self.results.append((ctx.step, res))
        for attr, col in COLUMNS.items():
            v = float(getattr(res, attr))
            if math.isfinite(v):  # B_simple is inf when the |G|^2 estimate is not positive (res.notes)
                row[col] = v
