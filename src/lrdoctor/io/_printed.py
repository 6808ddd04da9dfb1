"""Numbers as logs print them: the pattern that reads one, and a float that remembers its
printed precision where the float itself forgets it."""

from __future__ import annotations

__all__ = ["NUM", "Printed"]

#: A number as logs print it: ``1e-4``, ``.5``, ``nan``, ``inf`` and thousands separators (``12,345.6``);
#: ``nan.0`` too (a NaN through a fixed-decimals format: Lightning's progress bar in EveryVoice's logs).
NUM = r"[-+]?(?:\d{1,3}(?:,\d{3})+(?![\d])(?:\.\d*)?|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan(?:xxx|\.0+)?|inf(?:inity|xxx|\.0+)?)"


class Printed(float):
    """A float that remembers how many decimals it was printed with. Text readers make one only
    where a float loses that: trailing zeros after the point ("4.600" reads as 4.6, "lr:
    0.00000000" as 0.0). :class:`~lrdoctor.io.records.RecordColumns` keeps the most decimals per
    column, and the run carries them in ``RunMeta.printed_decimals``."""

    __slots__ = ("decimals",)
