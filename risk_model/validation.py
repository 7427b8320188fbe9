"""Validation of raw portfolio history tables (strings as read from a file) into canonical frames.

Every problem is collected (never stopping at the first) as a ``Problem`` naming the file, the
spreadsheet row (frame index + 2) and the column. Parsing of text into dates and numbers is
ours; the value rules on the typed frame (required values, ranges, non-negative amounts, allowed
choices) are declared as pandera schemas built from ``risk_model.schemas`` and run lazily; the
pandera failure cases are translated into our own messages.

Parsing rules
-------------
* Text: surrounding whitespace is stripped; a blank cell is missing.
* Dates: ISO ``yyyy-mm-dd`` (also ``yyyy/mm/dd``), optionally with a time part
  (``2023-01-05 14:30``, ``2023-01-05T14:30:00``); slash or dash separated day/month forms
  are read MONTH FIRST (``05/01/2014`` is 1 May 2014), with 2- or 4-digit years; and month-name
  forms (``5 Jan 2014``, ``Jan 5, 2014``). A time part is accepted and dropped: dates are
  calendar days. A date outside 1677-09-22 to 2262-04-11 (what a frame holds) is a problem.
* Numbers: thousands separators (``1,234.5``), currency symbols (``$1,200``, ``€ 300``),
  surrounding spaces, a trailing ``%`` and accounting negatives (``(1,200)``) are accepted; a
  blank cell is missing. A comma not grouping thousands (``1,5``) is not a number.
* ``project_id`` is at most 255 characters. Money and counts must not be negative; counts
  must be whole; percent complete is 0-100.
* ``rag``: red / amber / green or R / A / G, any case. ``status``: active / completed /
  cancelled, any case (``canceled`` and ``complete`` are accepted); when blank it is
  ``completed`` if ``actual_finish`` is given, else ``active``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from risk_model.cells import strip_cells, take_parsed
from risk_model.exceptions import Problem, ValidationFailed
from risk_model.schemas import (
    PROJECT_COLUMNS,
    SNAPSHOT_COLUMNS,
    Column,
    conform_projects,
    conform_snapshots,
)

__all__ = ["parse_date", "parse_number", "validate_tables"]

MAX_ID_LENGTH = 255  # the store's key column width

_ENUM_ALIASES: dict[str, dict[str, str]] = {
    "rag": {"r": "red", "a": "amber", "g": "green"},
    "status": {"canceled": "cancelled", "complete": "completed"},
}

_DATE_FORMATS: tuple[str, ...] = (
    "%m/%d/%Y",
    "%m/%d/%y",
    "%m-%d-%Y",
    "%m-%d-%y",
    "%Y/%m/%d",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
)
_ISO_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_TIME_SUFFIX = re.compile(r"^(?P<date>.+?)[T ]+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(\s*[AaPp][Mm])?$")
_CURRENCY = re.compile(r"[$€£¥₹]|\b(?:USD|EUR|GBP|AUD|CAD|CHF|JPY|NZD)\b", re.IGNORECASE)
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def parse_date(text: str) -> pd.Timestamp | None:
    """The calendar day a date cell means, or None when it is not a date (rules: module doc)."""
    s = text.strip()
    if not s:
        return None
    if _ISO_DATE.match(s) or _ISO_DATETIME.match(s):
        try:
            ts = pd.Timestamp(s)
        except (ValueError, OverflowError):
            return None
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
        return ts.normalize()
    m = _TIME_SUFFIX.match(s)
    day = m.group("date").strip() if m else s
    for fmt in _DATE_FORMATS:
        try:
            return pd.Timestamp(datetime.strptime(day, fmt))
        except ValueError:
            continue
    return None


def parse_number(text: str) -> float | None:
    """The number a cell means, or None when it is not a number (rules: module doc)."""
    s = _CURRENCY.sub("", text).replace("\u00a0", "").replace(" ", "")
    negative = s.startswith("(") and s.endswith(")")
    if negative:
        s = s[1:-1]
    s = s.removesuffix("%")
    if "," in s:
        if not _GROUPED.match(s):
            return None
        s = s.replace(",", "")
    try:
        value = float(s)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return -value if negative else value


# --- parsing of one column -------------------------------------------------------------

# A string ``float`` reads is read the same way by ``parse_number`` (which only removes
# currency, spaces, brackets, a percent sign and thousands separators, none of which ``float``
# accepts), bar the finiteness check. ``_PLAIN_NUMBER`` matches a subset of those strings.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _clean_text(raw: pd.Series) -> pd.Series:
    """Stripped strings as ``object`` with None for blanks."""
    values = strip_cells(raw.to_numpy(dtype=object), _text_or_none)
    return pd.Series(np.array(values, dtype=object), index=raw.index, dtype="object")


def _text_or_none(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return str(value).strip() or None


def _parse_numbers(texts: np.ndarray) -> np.ndarray:
    """``parse_number`` of each string as float64, NaN where it is not a number."""
    n = len(texts)
    try:
        values = np.fromiter(map(float, texts), dtype=np.float64, count=n)
    except ValueError:  # some need parse_number's rules (or are not numbers)
        pass
    else:
        return np.where(np.isfinite(values), values, np.nan)
    plain = np.fromiter(map(bool, map(_PLAIN_NUMBER.fullmatch, texts)), dtype=bool, count=n)
    out = np.full(n, np.nan)
    if plain.any():
        values = np.fromiter(map(float, texts[plain]), dtype=np.float64, count=int(plain.sum()))
        out[plain] = np.where(np.isfinite(values), values, np.nan)
    for i in np.flatnonzero(~plain):
        value = parse_number(texts[i])
        if value is not None:
            out[i] = value
    return out


_FIRST_DAY, _LAST_DAY = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")


def _parse_dates(texts: np.ndarray, too_far: set[str]) -> np.ndarray:
    """``parse_date`` of each string as datetime64[ns], NaT where it is not a date; dates
    outside the datetime64[ns] range are NaT too and their text is added to ``too_far``."""
    out = np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[ns]")
    for j, text in enumerate(texts):
        day = parse_date(text)
        if day is None:
            continue
        if _FIRST_DAY <= day <= _LAST_DAY:
            out[j] = day.to_datetime64()
        else:
            too_far.add(text)
    return out


# --- pandera schemas of the typed frames -------------------------------------------------

_Rule = tuple[pa.Check, Callable[[Column], str]]


def _rules(col: Column) -> list[_Rule]:
    """The value rules of a declared column, each with the message shown when it fails."""
    if col.kind == "id":
        return [
            (
                pa.Check.str_length(max_value=MAX_ID_LENGTH),
                lambda c: f"{c.name} is longer than {MAX_ID_LENGTH} characters",
            )
        ]
    if col.kind in ("money", "count"):
        rules: list[_Rule] = [(pa.Check.ge(0), lambda c: f"{c.name} must not be negative")]
        if col.kind == "count":
            rules.append(
                (
                    pa.Check(lambda s: s % 1 == 0, error="whole"),
                    lambda c: f"{c.name} must be a whole number",
                )
            )
        return rules
    if col.kind == "percent":
        return [(pa.Check.in_range(0, 100), lambda c: f"{c.name} must be between 0 and 100")]
    if col.kind == "enum":
        return [
            (
                pa.Check.isin(list(col.choices)),
                lambda c: f"{c.name} must be one of {', '.join(c.choices)}",
            )
        ]
    return []


def _schema(columns: tuple[Column, ...], present: set[str]) -> tuple[pa.DataFrameSchema, dict]:
    """A pandera schema of the typed frame and a map (column, check number) -> message."""
    spec: dict[str, pa.Column] = {}
    messages: dict[tuple[str, int], str] = {}
    for col in columns:
        if col.name not in present:
            continue
        rules = _rules(col)
        for i, (_, msg) in enumerate(rules):
            messages[(col.name, i)] = msg(col)
        spec[col.name] = pa.Column(
            checks=[check for check, _ in rules], nullable=not col.required, coerce=False
        )
    return pa.DataFrameSchema(spec, strict=False), messages


def _run_schema(
    typed: pd.DataFrame, columns: tuple[Column, ...]
) -> list[tuple[Hashable, str, str]]:
    """Lazy pandera validation; every failure as (index, column, message)."""
    schema, messages = _schema(columns, set(typed.columns))
    try:
        schema.validate(typed, lazy=True)
    except SchemaErrors as exc:
        out: list[tuple[Hashable, str, str]] = []
        for case in exc.failure_cases.itertuples(index=False):
            column, index = case.column, case.index
            if index is None or (isinstance(index, float) and math.isnan(index)):
                continue
            if case.check == "not_nullable":
                message = f"{column} is missing"
            else:
                number = case.check_number
                message = messages.get((str(column), int(number)), str(case.check))
            out.append((index, str(column), message))
        return out
    return []


# --- one table ---------------------------------------------------------------------------


class _Table:
    """Parses and checks one raw table, collecting problems."""

    def __init__(self, raw: pd.DataFrame, name: str, columns: tuple[Column, ...]) -> None:
        self.name = name
        self.columns = columns
        self.problems: list[Problem] = []
        self._flagged: set[tuple[int | None, str | None]] = set()
        self.raw = raw.loc[~raw.isna().all(axis=1)] if len(raw.columns) else raw
        self.text: dict[str, pd.Series] = {
            str(c): _clean_text(self.raw[c]) for c in self.raw.columns
        }

    def add(self, index: Hashable, column: str | None, message: str) -> None:
        row = int(index) + 2 if isinstance(index, int | np.integer) else None
        self._flagged.add((row, column))
        value = self.text[column].get(index) if column in self.text and row is not None else None
        self.problems.append(Problem(self.name, row, column, message, value))

    def typed(self) -> pd.DataFrame:
        """Missing required columns reported; present declared columns parsed; extras kept."""
        out = pd.DataFrame(index=self.raw.index)
        for col in self.columns:
            if col.name not in self.text:
                if col.required:
                    self.problems.append(
                        Problem(self.name, None, col.name, f"required column {col.name} is missing")
                    )
                continue
            out[col.name] = self._parse(col, self.text[col.name])
        for index, column, message in _run_schema(out, self.columns):
            row = int(index) + 2 if isinstance(index, int | np.integer) else None
            if message.endswith(" is missing") and (row, column) in self._flagged:
                continue  # present but unparseable: already reported
            self.add(index, column, message)
        declared = {c.name for c in self.columns}
        for name, text in self.text.items():
            if name not in declared:
                out[name] = text
        return out

    def sorted_problems(self) -> list[Problem]:
        """Problems in row order (whole-file problems first), stable within a row."""
        return sorted(self.problems, key=lambda p: -1 if p.row is None else p.row)

    def _parse(self, col: Column, text: pd.Series) -> pd.Series:
        if col.kind == "date":
            too_far: set[str] = set()
            days, present = take_parsed(
                text, lambda u: _parse_dates(u, too_far), np.datetime64("NaT"), "datetime64[ns]"
            )
            for i in text.index[present & np.isnat(days)]:
                value = text[i]
                if value in too_far:
                    message = (
                        f"{value!r} is outside the dates supported "
                        f"({_day(_FIRST_DAY)} to {_day(_LAST_DAY)})"
                    )
                else:
                    message = f"{value!r} is not a date"
                self.add(i, col.name, message)
            return pd.Series(days, index=text.index, dtype="datetime64[ns]")
        if col.kind in ("money", "float", "count", "percent"):
            numbers, present = take_parsed(text, _parse_numbers, np.nan, "float64")
            for i in text.index[present & np.isnan(numbers)]:
                self.add(i, col.name, f"{text[i]!r} is not a number")
            return pd.Series(numbers, index=text.index, dtype="float64")
        if col.kind == "enum":
            aliases = _ENUM_ALIASES.get(col.name, {})
            lowered, _ = take_parsed(
                text,
                lambda u: np.array([aliases.get(v.lower(), v.lower()) for v in u], dtype=object),
                None,
                "object",
            )
            return pd.Series(lowered, index=text.index, dtype="object")
        return text


def _attribute(values: pd.Series) -> pd.Series:
    """An extra project column: numbers when every present value is a plain number."""
    present = values.dropna()
    if len(present) == 0:
        return values.astype("object")
    parsed = present.map(lambda v: parse_number(v) if isinstance(v, str) else None)
    if parsed.notna().all() and not present.str.contains("%|,|\\$|€|£", regex=True).any():
        out = pd.Series(np.nan, index=values.index, dtype="float64")
        out.loc[parsed.index] = parsed.astype("float64")
        return out
    return values.astype("object")


def _duplicates(table: _Table, frame: pd.DataFrame, keys: list[str], what: str) -> None:
    """One problem per repeated key on the later row, naming the first row holding it."""
    valid = frame.dropna(subset=keys)
    dup = valid.duplicated(subset=keys, keep=False)
    for _, group in valid.loc[dup].groupby(keys, sort=False):
        first = int(group.index[0]) + 2
        for i in group.index[1:]:
            pid = group.at[i, "project_id"]
            if what == "report":
                day = _day(group.at[i, "as_of"])
                message = f"duplicate report for project {pid!r} as_of {day} (also row {first})"
            else:
                message = f"duplicate project_id {pid!r} (also row {first})"
            table.add(i, keys[-1], message)


def _day(value: Any) -> str:
    """A date cell as ``yyyy-mm-dd``."""
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _finish_before_start(table: _Table, frame: pd.DataFrame) -> None:
    if "start_date" not in frame.columns:
        return
    for finish in ("baseline_finish", "actual_finish"):
        if finish not in frame.columns:
            continue
        bad = frame.index[frame[finish] < frame["start_date"]]
        for i in bad:
            table.add(
                i,
                finish,
                f"finish before start: {finish} {_day(frame.at[i, finish])} is before "
                f"start_date {_day(frame.at[i, 'start_date'])}",
            )


def validate_tables(
    projects_raw: pd.DataFrame | None,
    snapshots_raw: pd.DataFrame | None,
    *,
    projects_name: str = "projects.csv",
    snapshots_name: str = "snapshots.csv",
    known_project_ids: frozenset[str] = frozenset(),
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Check raw tables (strings; index 0 = spreadsheet row 2) and return canonical frames.

    Either table may be None (not supplied). Every problem is collected; when there is any,
    ``ValidationFailed`` is raised listing all of them, otherwise the conformed projects
    (extra columns kept as attributes; numeric when every value is a plain number) and
    snapshots (declared columns only) are returned. Snapshots must belong to a project in the
    projects table or in ``known_project_ids``. Fully blank rows are ignored.

    Dates: ISO ``yyyy-mm-dd`` always; otherwise numeric day/month forms are read month first
    (``05/01/2014`` is 1 May 2014); a time part is accepted and dropped. Numbers may carry
    thousands separators and currency symbols. Full rules: the module docstring.
    """
    problems: list[Problem] = []
    projects: pd.DataFrame | None = None
    snapshots: pd.DataFrame | None = None
    project_ids: set[str] = set(known_project_ids)
    check_membership = True  # off when the projects table has no project_id column at all

    if projects_raw is not None:
        table = _Table(projects_raw, projects_name, PROJECT_COLUMNS)
        frame = table.typed()
        declared = {c.name for c in PROJECT_COLUMNS}
        for name in [c for c in frame.columns if c not in declared]:
            frame[name] = _attribute(frame[name])
        check_membership = "project_id" in frame.columns
        if check_membership:
            _duplicates(table, frame, ["project_id"], "project_id")
            project_ids |= set(frame["project_id"].dropna())
        _finish_before_start(table, frame)
        if "status" in frame.columns or "actual_finish" in frame.columns:
            status = frame["status"] if "status" in frame.columns else None
            finished = (
                frame["actual_finish"].notna()
                if "actual_finish" in frame.columns
                else pd.Series(False, index=frame.index)
            )
            default = pd.Series(np.where(finished, "completed", "active"), index=frame.index)
            frame["status"] = (
                default.astype("object")
                if status is None
                else status.where(status.notna(), default).astype("object")
            )
        else:
            frame["status"] = pd.Series("active", index=frame.index, dtype="object")
        problems += table.sorted_problems()
        if not table.problems:
            projects = conform_projects(frame.reset_index(drop=True))

    if snapshots_raw is not None:
        table = _Table(snapshots_raw, snapshots_name, SNAPSHOT_COLUMNS)
        frame = table.typed()
        if "project_id" in frame.columns and "as_of" in frame.columns:
            _duplicates(table, frame, ["project_id", "as_of"], "report")
        if check_membership and "project_id" in frame.columns:
            ids = frame["project_id"]
            unknown = ids.notna() & ~ids.isin(project_ids)
            where = f"{projects_name} or the store" if projects_raw is not None else "the store"
            for i in frame.index[unknown]:
                table.add(i, "project_id", f"project {ids[i]!r} is not in {where}")
        problems += table.sorted_problems()
        if not table.problems:
            declared_snap = [c.name for c in SNAPSHOT_COLUMNS if c.name in frame.columns]
            snapshots = conform_snapshots(frame[declared_snap].reset_index(drop=True))

    if problems:
        raise ValidationFailed(problems)
    return projects, snapshots
