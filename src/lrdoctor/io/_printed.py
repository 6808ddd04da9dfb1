"""Numbers as logs print them: the pattern that reads one, and a float that remembers its
printed precision where the float itself forgets it."""

from __future__ import annotations

__all__ = ["NUM", "Printed", "printed_number"]

#: A number as logs print it: ``1e-4``, ``.5``, ``nan``, ``inf`` and thousands separators (``12,345.6``);
#: ``nan.0`` too (a NaN through a fixed-decimals format: Lightning's progress bar in EveryVoice's logs).
NUM = r"[-+]?(?:\d{1,3}(?:,\d{3})+(?![\d])(?:\.\d*)?|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan(?:xxx|\.0+)?|inf(?:inity|xxx|\.0+)?)"


class Printed(float):
    """A float that remembers how many decimals it was printed with. Text readers make one only
    where a float loses that: trailing zeros after the point ("4.600" reads as 4.6, "lr:
    0.00000000" as 0.0). :class:`~lrdoctor.io.records.RecordColumns` keeps the most decimals per
    column, and the run carries them in ``RunMeta.printed_decimals``."""

    __slots__ = ("decimals",)


def printed_number(text: str) -> float:
    """A printed number as a float; a :class:`Printed` one when it ends in zeros after the
    point (the decimals a float forgets: "4.600", "0.00000000")."""
    try:
        v = float(text)
    except ValueError:
        if "," in text:
            text = text.replace(",", "")
        elif text[-3:] == "xxx":  # PaddleOCR's "{:x<6f}": nan and inf padded with x to width 6
            text = text[:-3]
        elif "." in text:  # "nan.0", "inf.0"
            text = text[:text.index(".")]
        v = float(text)
    if text[-1] == "0" and "." in text and "e" not in text and "E" not in text:
        p = Printed(v)
        p.decimals = len(text) - text.index(".") - 1
        return p
    return v
