"""A float that remembers its printed precision where the float itself forgets it."""

from __future__ import annotations

__all__ = ["Printed"]


class Printed(float):
    """A float that remembers how many decimals it was printed with. Text readers make one only
    where a float loses that: trailing zeros after the point ("4.600" reads as 4.6, "lr:
    0.00000000" as 0.0). :class:`~lrdoctor.io.records.RecordColumns` keeps the most decimals per
    column, and the run carries them in ``RunMeta.printed_decimals``."""

    __slots__ = ("decimals",)
