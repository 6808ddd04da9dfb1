"""Evidence keys the Guard adds when it rewinds a run (shared by the kinds it reports:
``nonfinite`` and ``divergence``), so both kinds' schemas declare them once."""

from __future__ import annotations

from lrdoctor.finding import Evidence

__all__ = ["GuardRewindEvidence"]


class GuardRewindEvidence(Evidence):
    """What a Guard rewind adds: which rewind, where it was detected and restored, the LRs
    before and after the cut (per param group), and the loss level against its reference."""

    guard_rewind: int
    detected_at_step: float
    restored_step: float
    lr_before: list
    lr_after: list
    lr_at_start: list
    lr_scale: float
    loss_level: float
    reference_level: float
