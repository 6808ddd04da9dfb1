"""The Report model and its renderers: terminal text (rich), JSON (``Report.to_json``) and HTML
(``Report.to_html``; matplotlib is imported only when a page is drawn)."""

from lrdoctor.report.html import render as render_html
from lrdoctor.report.model import Report
from lrdoctor.report.sparkline import sparkline
from lrdoctor.report.text import render_text, print_report

__all__ = ["Report", "sparkline", "render_text", "print_report", "render_html"]
