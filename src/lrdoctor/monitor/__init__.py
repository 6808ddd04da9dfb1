"""Watch a live run from inside the training loop: :class:`Monitor` (signals from optimizer
hooks, the offline detectors run incrementally, a log ``lrdoctor diagnose`` reads) and
:class:`Guard` (rewind to the last known-good state and cut the LR)."""

from lrdoctor.monitor.guard import Guard
from lrdoctor.monitor.monitor import Monitor, MonitorConfig
from lrdoctor.monitor.signals import Every, LogSpaced

__all__ = ["Monitor", "MonitorConfig", "Guard", "Every", "LogSpaced"]
