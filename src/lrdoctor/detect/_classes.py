"""Number of classes and label smoothing from a run's config."""

from __future__ import annotations

from lrdoctor.config import get_float, lookup
from lrdoctor.run import Run

__all__ = ["num_classes", "label_smoothing"]

CLASS_KEYS = ("num_classes", "n_classes", "num_labels", "nclasses", "classes", "ntokens", "vocab_size")
SMOOTHING_KEYS = ("label_smoothing", "label_smoothing_factor", "smoothing", "ls")


def num_classes(run: Run) -> tuple[str, int] | None:
    hit = lookup(run.config, CLASS_KEYS)
    if hit is None:
        return None
    try:
        k = int(hit[1]) if not isinstance(hit[1], (list, tuple)) else len(hit[1])
    except (TypeError, ValueError):
        return None
    return (hit[0], k) if k >= 2 else None


def label_smoothing(run: Run) -> tuple[str, float] | None:
    """``(key, epsilon)`` when the config sets label smoothing in (0, 1)."""
    hit = get_float(run.config, SMOOTHING_KEYS, finite=True)
    return (hit.key, hit.value) if hit is not None and 0 < hit.value < 1 else None
