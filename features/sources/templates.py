"""Empty projects/snapshots templates: CSV files and one XLSX workbook with a notes sheet.

Columns and their explanations come from ``risk_model.schemas`` (one declaration), so the
templates always match what ``pmo-risk import`` reads.
"""

from __future__ import annotations

import csv
from pathlib import Path

from risk_model.schemas import PROJECT_COLUMNS, SNAPSHOT_COLUMNS, Column

__all__ = ["TEMPLATE_TABLES", "write_templates"]

TEMPLATE_TABLES: dict[str, tuple[Column, ...]] = {
    "projects": PROJECT_COLUMNS,
    "snapshots": SNAPSHOT_COLUMNS,
}
_KIND_HINT = {
    "id": "text (unique key)",
    "str": "text",
    "enum": "one of the listed words",
    "date": "date, YYYY-MM-DD",
    "money": "amount (same currency throughout)",
    "float": "number",
    "count": "whole number",
    "percent": "number 0-100",
}
NOTES_SHEET = "notes"
WORKBOOK = "pmo-risk-template.xlsx"


def _notes_rows() -> list[list[str]]:
    rows = [["table", "column", "required", "format", "meaning"]]
    for table, columns in TEMPLATE_TABLES.items():
        for c in columns:
            choices = f" ({' / '.join(c.choices)})" if c.choices else ""
            rows.append(
                [
                    table,
                    c.name,
                    "yes" if c.required else "",
                    _KIND_HINT[c.kind] + choices,
                    c.meaning,
                ]
            )
    rows.append([])
    rows.append(
        [
            "",
            "",
            "",
            "",
            "Other columns of the projects sheet are kept as project "
            "attributes; numeric ones become features. Import: pmo-risk import " + WORKBOOK,
        ]
    )
    return rows


def write_templates(folder: Path, formats: tuple[str, ...] = ("csv", "xlsx")) -> list[Path]:
    """Write ``projects.csv`` / ``snapshots.csv`` and/or the workbook into ``folder``.

    The workbook has a ``projects`` and a ``snapshots`` sheet (headers only, bold, frozen)
    and a ``notes`` sheet explaining each column. Returns the paths written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "csv" in formats:
        for table, columns in TEMPLATE_TABLES.items():
            path = folder / f"{table}.csv"
            with path.open("w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerow([c.name for c in columns])
            written.append(path)
    if "xlsx" in formats:
        written.append(_write_workbook(folder / WORKBOOK))
    return written


def _write_workbook(path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for table, columns in TEMPLATE_TABLES.items():
        ws = wb.create_sheet(table)
        ws.append([c.name for c in columns])
        for cell, col in zip(ws[1], columns, strict=True):
            cell.font = Font(bold=True)
            cell.comment = Comment(col.meaning, "pmo-risk")
            ws.column_dimensions[cell.column_letter].width = max(14, len(col.name) + 2)
        ws.freeze_panes = "A2"
    notes = wb.create_sheet(NOTES_SHEET)
    for row in _notes_rows():
        notes.append(row)
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDE", (11, 18, 9, 34, 70), strict=True):
        notes.column_dimensions[letter].width = width
    wb.save(path)
    return path
