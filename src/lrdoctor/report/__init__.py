"""The Report model and its renderers: terminal text (rich) and JSON (``Report.to_json``)."""

from lrdoctor.report.model import Report
from lrdoctor.report.sparkline import sparkline
from lrdoctor.report.text import render_text, print_report

__all__ = ["Report", "sparkline", "render_text", "print_report"]
