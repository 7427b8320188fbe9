"""Reports for decision makers: the board as HTML, PDF (WeasyPrint) and Excel (openpyxl).

``build_report`` assembles what a report says (``ReportData``); ``render_html``,
``render_pdf`` and ``render_xlsx`` turn it into bytes. The CLI (``pmo-risk report``) and the
web app's download button both use them.
"""

from __future__ import annotations

from risk_model.report.data import ReportData, build_report
from risk_model.report.render import FORMATS, MEDIA_TYPES, render

__all__ = ["FORMATS", "MEDIA_TYPES", "ReportData", "build_report", "render"]
