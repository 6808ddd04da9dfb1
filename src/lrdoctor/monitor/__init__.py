"""Watch a live run from inside the training loop: :class:`Monitor` (probes on optimizer
hooks, a :class:`History` read back in batches, the offline detectors run on it, a log
``lrdoctor diagnose`` reads) and :class:`Guard` (rewind to the last known-good state and cut
the LR)."""

from lrdoctor.monitor.guard import Guard
from lrdoctor.monitor.history import History
from lrdoctor.monitor.monitor import Monitor, MonitorConfig
from lrdoctor.monitor.probes import (
                                     ALWAYS,
                                     AmpScale,
                                     AppliedLR,
                                     GradNorm,
                                     LayerNorms,
                                     Probe,
                                     ScheduledLR,
                                     StepContext,
                                     UpdateRatio,
)
from lrdoctor.monitor.signals import Every, LogSpaced

__all__ = [
                                     "ALWAYS",
                                     "AmpScale",
                                     "AppliedLR",
                                     "Every",
                                     "GradNorm",
                                     "Guard",
                                     "History",
                                     "LayerNorms",
                                     "LogSpaced",
                                     "Monitor",
                                     "MonitorConfig",
                                     "Probe",
                                     "ScheduledLR",
                                     "StepContext",
                                     "UpdateRatio",
]
