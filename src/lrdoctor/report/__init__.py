"""Renderers of a :class:`~lrdoctor.diagnosis.Report`: terminal text (rich) and JSON."""

from lrdoctor.report.sparkline import sparkline
from lrdoctor.report.text import render_text, print_report

__all__ = ["sparkline", "render_text", "print_report"]
