"""Experiments that choose a learning rate: LR x seed sweeps (``sweep``), the first
post-mortem's four experiments, and (separate modules) the LR range test and sharpness.

Names load on first use, so importing one experiment never imports the others (or torch).
"""

from __future__ import annotations

import importlib

# public name -> module that defines it (add a line per new public name)
_EXPORTS = {
    "Task": "lrdoctor.experiments.task",
    "sweep": "lrdoctor.experiments.sweep",
    "resume_sweep": "lrdoctor.experiments.sweep",
    "SweepResult": "lrdoctor.experiments.sweep",
    "final_below": "lrdoctor.experiments.sweep_summary",
    "final_below_initial": "lrdoctor.experiments.sweep_summary",
    # sharpness, range test, noise scale (issue 13). The functions ``sharpness`` and
    # ``noise_scale`` share their module's name, so they are public as lrdoctor.sharpness /
    # lrdoctor.noise_scale only (an imported submodule would shadow a package attribute).
    "SharpnessResult": "lrdoctor.experiments.sharpness",
    "SharpnessProbe": "lrdoctor.experiments.sharpness_probe",
    "find_lr": "lrdoctor.experiments.range_test",
    "RangeTestResult": "lrdoctor.experiments.range_test",
    "NoiseScaleResult": "lrdoctor.experiments.noise_scale",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lrdoctor.experiments' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
