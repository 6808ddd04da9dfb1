"""Number formatting shared by findings, fix tables and reports (a torch-free leaf module).

Why one function: summaries, evidence quotes and the terminal report must print the same
number the same way, so a user can grep a value from the report in the JSON.
"""

from __future__ import annotations

__all__ = ["fmt"]


def fmt(x: float | None) -> str:
    """Four significant digits in the everyday range, three in scientific notation outside it.

    >>> fmt(0.012345), fmt(123456.0), fmt(None)
    ('0.01235', '1.23e+05', '?')
    """
    if x is None:
        return "?"
    if x == 0 or (1e-3 <= abs(x) < 1e5):
        return f"{x:.4g}"
    return f"{x:.3g}"
