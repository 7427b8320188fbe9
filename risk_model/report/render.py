"""A ``ReportData`` as HTML (Jinja2), PDF (WeasyPrint, from the same HTML) or Excel (openpyxl)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from risk_model.exceptions import PmoRiskError
from risk_model.report.data import ReportData

FORMATS: tuple[str, ...] = ("html", "pdf", "xlsx")
MEDIA_TYPES: dict[str, str] = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
TEMPLATES = Path(__file__).resolve().parent / "templates"


def money(value: float | None, currency: str | None = None) -> str:
    """1234567 -> '1.23 M' (with the currency when known); an em dash when missing."""
    if value is None:
        return "\u2014"
    v, unit = float(value), ""
    for div, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if abs(v) >= div:
            v, unit = v / div, suffix
            break
    out = f"{v:,.2f}{unit}" if unit else f"{v:,.0f}"
    return f"{out} {currency}" if currency else out


def pct(p: float | None) -> str:
    return "\u2014" if p is None else f"{100.0 * p:.0f}%"


def render_html(data: ReportData, charts: str = "svg") -> str:
    """The report as one self-contained HTML page; ``charts``: "svg" (inline) or "png"."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from markupsafe import Markup

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    env.filters["money"] = money
    env.filters["pct"] = pct
    env.filters["chart"] = lambda chart: Markup(chart.html(charts))
    return env.get_template("report.html").render(r=data)


def render_pdf(data: ReportData) -> bytes:
    """The HTML report printed by WeasyPrint, its charts as PNG (see ``charts``)."""
    try:
        from weasyprint import HTML
    except Exception as exc:  # missing Pango/cairo system libraries
        raise PmoRiskError(f"PDF output needs WeasyPrint and its system libraries: {exc}") from exc
    return bytes(HTML(string=render_html(data, charts="png")).write_pdf())


def _sheet(
    wb: Any, title: str, header: list[str], rows: list[list[Any]], formats: dict[int, str]
) -> Any:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    ws = wb.create_sheet(title)
    ws.append(header)
    for row in rows:
        ws.append(row)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for col, fmt in formats.items():
        for r in range(2, len(rows) + 2):
            ws.cell(row=r, column=col).number_format = fmt
    for i, name in enumerate(header, start=1):
        longest = max([len(str(name)), *(len(str(r[i - 1] or "")) for r in rows[:200])])
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(10, longest + 2))
    if rows:
        ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
        table = Table(displayName=title.replace(" ", ""), ref=ref)
        table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        ws.add_table(table)
    ws.freeze_panes = "B2"
    return ws


def render_xlsx(data: ReportData) -> bytes:
    """Summary, top projects, every project, open risks and actions, accuracy by stage, schedule
    quality: one sheet each."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append(["pmo-risk portfolio report"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["As of", data.as_of.isoformat() if data.as_of else "latest reports"])
    ws.append(["Generated", data.generated_at.isoformat()])
    ws.append([])
    ws.append(
        [
            "Target",
            "Projects scored",
            *data.band_names,
            "Budget at risk",
            f"Newly in {data.band_names[-1]}",
            "Improved",
        ]
    )
    for c in ws[5]:
        c.font = Font(bold=True)
    for s in data.summaries:
        ws.append(
            [
                s.target,
                s.scored,
                *[s.per_band[b] for b in data.band_names],
                round(s.budget_at_risk, 2),
                len(s.newly_top),
                len(s.improved),
            ]
        )
        ws.cell(row=ws.max_row, column=3 + len(data.band_names)).number_format = "#,##0"
    ws.append([])
    for acc in data.accuracy:
        ws.append([acc.text])
    ws.column_dimensions["A"].width = 24
    targets = data.targets

    def project_cells(r: Any) -> list[Any]:
        cells: list[Any] = [
            r.project_id,
            r.name,
            r.portfolio,
            r.category,
            r.phase,
            r.as_of.isoformat() if r.as_of else None,
        ]
        for t in targets:
            cells += [
                r.probability.get(t),
                r.band.get(t),
                None if r.change(t) is None else round(r.change(t), 1),
                r.driver.get(t),
            ]
        cells += [r.budget, r.eac, r.open_risks, r.overdue_actions]
        return cells

    header = ["Project", "Name", "Portfolio", "Category", "Phase", "As of"]
    for t in targets:
        header += [f"{t} probability", f"{t} band", f"{t} change (pts)", f"{t} top driver"]
    header += ["Budget", "EAC", "Open risks", "Overdue actions"]
    formats = {7 + 4 * i: "0%" for i in range(len(targets))}
    base = 7 + 4 * len(targets)
    formats.update({base: "#,##0", base + 1: "#,##0"})
    _sheet(wb, "Top projects", header, [project_cells(r) for r in data.top], formats)
    _sheet(wb, "All projects", header, [project_cells(r) for r in data.rows], formats)
    risk_rows: list[list[Any]] = []
    for sec in data.sections:
        for k in sec.risks:
            acts = "; ".join(
                f"{a.description} ({a.owner or 'no owner'}, due {a.due_date or '-'}, {a.status})"
                for a in k.actions
            )
            risk_rows.append(
                [
                    sec.row.project_id,
                    k.statement,
                    k.owner,
                    k.probability,
                    k.impact,
                    k.score,
                    k.response,
                    k.status,
                    k.due_date,
                    acts,
                ]
            )
    _sheet(
        wb,
        "Risks",
        [
            "Project",
            "Risk",
            "Owner",
            "Probability",
            "Impact",
            "Score",
            "Response",
            "Status",
            "Due",
            "Actions",
        ],
        risk_rows,
        {9: "yyyy-mm-dd"},
    )
    _sheet(
        wb,
        "Accuracy",
        [
            "Target",
            "Source",
            "Stage",
            "Model ROC-AUC",
            "Model Brier",
            "Best baseline",
            "Baseline ROC-AUC",
            "Baseline Brier",
            "Reports",
        ],
        [
            [
                acc.target,
                acc.source,
                st.label,
                st.model_auc,
                st.model_brier,
                acc.baseline_label if acc.baseline else None,
                st.baseline_auc,
                st.baseline_brier,
                st.reports,
            ]
            for acc in data.accuracy
            for st in acc.stages
        ],
        {4: "0.00", 5: "0.000", 7: "0.00", 8: "0.000", 9: "#,##0"},
    )
    dcma_rows: list[list[Any]] = [
        [
            sec.row.project_id,
            sec.schedule.as_of,
            c.number,
            c.title,
            c.value,
            c.value_text,
            c.threshold_text,
            c.result,
        ]
        for sec in data.sections
        if sec.schedule is not None
        for c in sec.schedule.checks
    ]
    no_schedule = [sec.row.project_id for sec in data.sections if sec.schedule is None]
    ws = _sheet(
        wb,
        "Schedule quality",
        ["Project", "Schedule update", "#", "Check", "Value", "Shown as", "Threshold", "Result"],
        dcma_rows,
        {2: "yyyy-mm-dd", 5: "0.000"},
    )
    if no_schedule:
        ws.append([])
        ws.append([f"No schedule imported for: {', '.join(no_schedule)}"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def render(data: ReportData, fmt: str) -> bytes:
    """The report in ``fmt`` (one of ``FORMATS``)."""
    if fmt == "html":
        return render_html(data).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(data)
    if fmt == "xlsx":
        return render_xlsx(data)
    raise PmoRiskError(f"unknown report format {fmt!r}; one of {', '.join(FORMATS)}")
