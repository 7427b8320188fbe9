"""CSV and Excel (.xlsx) tables read as text: every cell a string or None, headers normalised.

The frame index is 0..n-1 and equals the spreadsheet row minus 2 (the header is row 1), so a
problem found at index ``i`` can be reported as row ``i + 2``.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import NoReturn, cast

import numpy as np
import pandas as pd

from risk_model.cells import strip_column
from risk_model.exceptions import Problem, ValidationFailed

__all__ = ["normalise_header", "read_headers", "read_table", "table_name"]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_DELIMITERS = (",", ";", "\t")
_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_header(name: object) -> str:
    """``' Project-ID '`` -> ``'project_id'``: stripped, lower-case, spaces/dashes as ``_``."""
    text = "" if name is None else str(name)
    return _SEPARATORS.sub("_", text.strip().lower())


def table_name(path: Path, sheet: str | None = None) -> str:
    """How problems name a table: the file name, with the sheet when one was chosen."""
    return f"{path.name}[{sheet}]" if sheet else path.name


def read_table(path: Path, sheet: str | None = None) -> pd.DataFrame:
    """Read a .csv/.tsv/.txt or .xlsx/.xlsm file with every cell as text (None when blank).

    CSV: delimiter sniffed from the header line among ``,`` ``;`` and tab; encoding UTF-8
    (with or without BOM), UTF-16 with BOM (Excel "Unicode text"), else Latin-1.
    Excel: the first sheet, or ``sheet`` by name; cells shown as text (whole numbers without
    ``.0``, dates as ``yyyy-mm-dd``). Trailing blank rows and unnamed blank columns are
    dropped. Raises ``ValidationFailed`` naming the file when it cannot be read, is empty,
    has repeated column names or an unknown extension.
    """
    path = Path(path)
    name = table_name(path, sheet)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        if sheet is not None:
            _fail(name, "a sheet was given but the file is not a workbook")
        rows = _csv_rows(path, name)
    elif suffix in EXCEL_SUFFIXES:
        rows = _excel_rows(path, name, sheet)
    elif suffix == ".xls":
        _fail(name, "old Excel .xls workbooks are not supported; save it as .xlsx or .csv")
    else:
        _fail(name, f"unknown file type {suffix or '(none)'!r}; use .csv or .xlsx")
    return _frame(rows, name)


def _fail(name: str, message: str) -> NoReturn:
    raise ValidationFailed([Problem(name, None, None, message)])


def _decode(data: bytes) -> str:
    """UTF-16 when it starts with a UTF-16 BOM, else UTF-8 (BOM optional), else Latin-1."""
    utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
    for encoding in ("utf-16", "utf-8-sig") if utf16 else ("utf-8-sig",):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _delimiter(text: str) -> str:
    """The delimiter occurring most often in the header line outside quotes (``,`` on ties)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _csv_rows(path: Path, name: str) -> list[list[object]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        _fail(name, f"cannot read the file: {exc.strerror or exc}")
    text = _decode(data)
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=_delimiter(text)))
        return cast("list[list[object]]", rows)  # lists of str, never changed in place
    except csv.Error as exc:
        _fail(name, f"cannot read the file as CSV: {exc}")


def _excel_rows(path: Path, name: str, sheet: str | None) -> list[list[object]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        _fail(name, f"cannot read the file: {exc.strerror or exc}")
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
        _fail(name, f"cannot read the file as an Excel workbook: {exc}")
    try:
        if sheet is None:
            if not wb.worksheets:
                _fail(name, "the workbook has no sheets")
            ws = wb.worksheets[0]
        elif sheet in wb.sheetnames:
            ws = wb[sheet]
        else:
            _fail(name, f"no sheet {sheet!r}; sheets: {', '.join(wb.sheetnames)}")
        return [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def _cell_text(value: object) -> object:
    """An Excel cell value as the text a user would type."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _frame(rows: Sequence[Sequence[object]], name: str) -> pd.DataFrame:
    """Header + rows -> text frame; raises on an empty table or repeated column names."""
    rows = list(rows)
    while rows and all(_blank(v) for v in rows[-1]):
        rows.pop()
    if not rows:
        _fail(name, "the file is empty (no header row)")
    header = [normalise_header(h) for h in rows[0]]
    body = rows[1:]
    width = max([len(header), *map(len, body)])
    header += [""] * (width - len(header))
    columns: list[int] = []
    problems: list[Problem] = []
    for j, h in enumerate(header):
        if h:
            columns.append(j)
        elif any(j < len(r) and not _blank(r[j]) for r in body):
            problems.append(
                Problem(name, None, None, f"column {j + 1} has values but no header name")
            )
    names = [header[j] for j in columns]
    for repeated in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem(name, None, repeated, f"column {repeated} appears more than once"))
    if problems:
        raise ValidationFailed(problems)
    data = {header[j]: np.array(strip_column(body, j, _text), dtype=object) for j in columns}
    return pd.DataFrame(data, columns=names, index=pd.RangeIndex(len(body)), dtype=object)


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def read_headers(path: Path, sheet: str | None = None) -> tuple[list[str], pd.DataFrame]:
    """The header row as written (not normalised) and the text frame with those headers.

    For proposing a mapping: the user's own spelling is what a mapping file names.
    """
    path = Path(path)
    name = table_name(path, sheet)
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        rows = _excel_rows(path, name, sheet)
    elif suffix in CSV_SUFFIXES:
        rows = _csv_rows(path, name)
    else:
        _fail(name, f"unknown file type {suffix or '(none)'!r}; use .csv or .xlsx")
    frame = _frame(rows, name)
    while rows and all(_blank(v) for v in rows[0]):
        rows = rows[1:]
    originals = {normalise_header(h): str(h).strip() for h in rows[0] if not _blank(h)}
    headers = [originals.get(str(c), str(c)) for c in frame.columns]
    return headers, frame.set_axis(headers, axis=1)
