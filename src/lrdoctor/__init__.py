"""lrdoctor: a learning-rate and training-stability doctor for PyTorch.

>>> import lrdoctor
>>> run = lrdoctor.read("runs/exp7/trainer_state.json")      # doctest: +SKIP
>>> report = lrdoctor.diagnose(run, config="train.yaml")     # doctest: +SKIP
>>> [f.kind for f in report.findings]                         # doctest: +SKIP
"""

from lrdoctor.diagnosis import Report, diagnose
from lrdoctor.errors import InputError, LogFormatError
from lrdoctor.finding import KINDS, Finding, Fix, Severity, Watch
from lrdoctor.io import read
from lrdoctor.prescribe import calc
from lrdoctor.run import Run, Series

__all__ = ["read", "diagnose", "Report", "Run", "Series", "Finding", "Fix", "Watch", "Severity", "KINDS",
           "InputError", "LogFormatError", "calc", "Monitor", "Guard", "recommend", "Recommendation"]
# instruments (issue 13): need torch, loaded on first use by __getattr__ below
_INSTRUMENTS = {"sharpness": "lrdoctor.experiments.sharpness", "find_lr": "lrdoctor.experiments.range_test",
                "noise_scale": "lrdoctor.experiments.noise_scale", "SharpnessProbe": "lrdoctor.experiments.sharpness_probe",
                "NoiseScaleProbe": "lrdoctor.monitor.probe_noise_scale"}
__all__ += list(_INSTRUMENTS)
# LR x seed sweeps (issue 12): lrdoctor.sweep(task, lrs, seeds, steps, backend="local")
_INSTRUMENTS["sweep"] = "lrdoctor.experiments.sweep"
__all__ += ["sweep"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # Monitor and Guard need torch; `lrdoctor diagnose` on a CSV should not pay for importing it.
    if name in ("Monitor", "Guard"):
        from lrdoctor import monitor

        return getattr(monitor, name)
    if name in ("recommend", "Recommendation"):  # the package is `recommender`: a `recommend` module would shadow the function
        from lrdoctor import recommender as _rec

        return getattr(_rec, name)
    if name in _INSTRUMENTS:
        import importlib

        return getattr(importlib.import_module(_INSTRUMENTS[name]), name)
    raise AttributeError(f"module 'lrdoctor' has no attribute {name!r}")
