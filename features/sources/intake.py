"""One import entry point: recognise what each path holds, say so, then read it all or nothing.

``survey(paths, mapping, sheets)`` looks at every path before anything is read in full:

* a CSV file, or each sheet of an XLSX workbook (all sheets, or those named), is a table;
  its headers (after the mapping) say what it is: with ``as_of`` a snapshots table, without
  ``as_of`` but with ``project_id`` a projects table, else it is skipped (a notes sheet).
  A snapshots table that also carries project fields (name, start_date, baseline_*) while no
  projects table was given is a *flat* table: it yields both.
* schedule files (XER, PMXML, MSPDI XML, .mpp) and folders of them go to
  ``features.sources.schedules.load_schedule_history`` (issue 4, part B).

``Survey.found`` lists what was recognised in words; ``read_survey`` returns validated
canonical frames or raises ``ValidationFailed`` with every problem (file, sheet, row, column).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from features.sources import schedules
from features.sources.mapping import ColumnMapping, Table, apply_mapping
from features.sources.tabular import (
    CSV_SUFFIXES,
    EXCEL_SUFFIXES,
    normalise_header,
    read_table,
    table_name,
)
from risk_model.exceptions import Problem, ValidationFailed
from risk_model.schemas import PROJECT_COLUMNS, conform_projects, conform_snapshots
from risk_model.validation import validate_tables

__all__ = ["FoundTable", "Survey", "read_survey", "survey"]

Role = Literal["projects", "snapshots", "flat"]
# project fields whose presence makes a snapshots table also a projects table (flat)
_PROJECT_ONLY = tuple(
    c.name for c in PROJECT_COLUMNS if c.name not in ("project_id", "actual_cost", "status")
)


@dataclass
class FoundTable:
    """One table recognised in a file (a CSV file or one sheet of a workbook)."""

    path: Path
    sheet: str | None
    role: Role
    raw: pd.DataFrame

    @property
    def name(self) -> str:
        return table_name(self.path, self.sheet)

    def describe(self) -> str:
        what = {
            "projects": "projects",
            "snapshots": "status reports (snapshots)",
            "flat": "projects and status reports in one table",
        }[self.role]
        return f"{self.name}: {what}, {len(self.raw)} rows, {len(self.raw.columns)} columns"


@dataclass
class Survey:
    """What the given paths hold; nothing has been validated or written yet."""

    tables: list[FoundTable] = field(default_factory=list)
    schedules: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    mapping: ColumnMapping = field(default_factory=ColumnMapping)

    @property
    def found(self) -> list[str]:
        """Human lines: one per table, schedule file and skipped sheet."""
        lines = [t.describe() for t in self.tables]
        lines += [f"{p.name}: schedule" for p in self.schedules]
        lines += [f"skipped {s}" for s in self.skipped]
        return lines


def _is_schedule(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return schedules.is_schedule_file(path)
    return suffix in schedules.SCHEDULE_SUFFIXES


def _has(raw: pd.DataFrame, mapping: ColumnMapping, table: Table, canonical: str) -> bool:
    user = mapping.columns(table).get(canonical)
    return normalise_header(user if user is not None else canonical) in raw.columns


def _role(raw: pd.DataFrame, mapping: ColumnMapping) -> Role | None:
    if _has(raw, mapping, "snapshots", "as_of"):
        if any(_has(raw, mapping, "projects", c) for c in _PROJECT_ONLY):
            return "flat"
        return "snapshots"
    if _has(raw, mapping, "projects", "project_id"):
        return "projects"
    return None


def _sheet_names(path: Path) -> list[str]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True)
    except Exception as exc:  # a broken workbook: reported by name, never a traceback
        raise ValidationFailed(
            [Problem(path.name, None, None, f"cannot read the file as an Excel workbook: {exc}")]
        ) from exc
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _tables_of(
    path: Path, sheets: Sequence[str], problems: list[Problem]
) -> list[tuple[str | None, pd.DataFrame]]:
    """The tables of a file: the CSV itself, or every (or every named) sheet of a workbook."""
    try:
        if path.suffix.lower() in EXCEL_SUFFIXES:
            names = _sheet_names(path)
            chosen = [s for s in names if s in sheets] if sheets else names
            return [(s, read_table(path, s)) for s in chosen]
        return [(None, read_table(path))]
    except ValidationFailed as exc:
        problems += exc.problems
        return []


def survey(
    paths: Sequence[Path],
    mapping: ColumnMapping | None = None,
    sheets: Sequence[str] = (),
    *,
    roles: Mapping[Path, Table] | None = None,
) -> Survey:
    """Recognise what each path holds (see the module docstring); reads tables as text.

    ``roles`` fixes the role of some files (``--projects`` / ``--snapshots``): such a file is
    read as one table (a workbook: the mapping's sheet for that table, else the first sheet).

    Raises ``ValidationFailed`` naming every path that cannot be used: missing, unreadable,
    of an unknown type, a named sheet found in no workbook, or no table recognised at all.
    """
    mapping = mapping or ColumnMapping()
    wanted = list(sheets) + [s for s in mapping.sheets.values() if s not in sheets]
    result = Survey(mapping=mapping)
    problems: list[Problem] = []
    seen_sheets: set[str] = set()
    for path in map(Path, paths):
        if not path.exists():
            problems.append(Problem(str(path), None, None, "no such file or folder"))
            continue
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and _is_schedule(p))
            if not files:
                problems.append(Problem(str(path), None, None, "the folder holds no schedule file"))
            result.schedules += files
            continue
        suffix = path.suffix.lower()
        forced = (roles or {}).get(path)
        if forced is not None:
            try:
                raw = read_table(path, mapping.sheets.get(forced))
            except ValidationFailed as exc:
                problems += exc.problems
            else:
                result.tables.append(FoundTable(path, mapping.sheets.get(forced), forced, raw))
            continue
        if _is_schedule(path):
            result.schedules.append(path)
            continue
        if suffix not in CSV_SUFFIXES + EXCEL_SUFFIXES:
            problems.append(
                Problem(
                    path.name,
                    None,
                    None,
                    f"unknown file type {suffix or '(none)'!r}; use "
                    ".csv, .xlsx or a P6/Microsoft Project schedule",
                )
            )
            continue
        for sheet, raw in _tables_of(path, wanted, problems):
            if sheet is not None:
                seen_sheets.add(sheet)
            role = _role(raw, mapping)
            if role is None:
                result.skipped.append(
                    f"{table_name(path, sheet)}: no project_id or as_of column"
                    + (" (after the mapping)" if mapping.projects or mapping.snapshots else "")
                )
                continue
            result.tables.append(FoundTable(path, sheet, role, raw))
    for s in wanted:
        if s not in seen_sheets and any(
            p.suffix.lower() in EXCEL_SUFFIXES for p in map(Path, paths)
        ):
            problems.append(Problem(s, None, None, "no workbook given has a sheet of this name"))
    if problems:
        raise ValidationFailed(problems)
    _settle_roles(result)
    if not result.tables and not result.schedules:
        raise ValidationFailed(
            [
                Problem(
                    ", ".join(str(p) for p in paths) or "(none)",
                    None,
                    None,
                    "found nothing to import: no table has a project_id or as_of column "
                    "(give a --mapping, see --suggest-mapping)",
                )
            ]
        )
    return result


def _settle_roles(result: Survey) -> None:
    """With a projects table present, flat tables are read as snapshots only; one table each."""
    if any(t.role == "projects" for t in result.tables):
        for t in result.tables:
            if t.role == "flat":
                t.role = "snapshots"
    problems: list[Problem] = []
    for role in ("projects", "snapshots", "flat"):
        same = [t for t in result.tables if t.role == role]
        if len(same) > 1:
            problems.append(
                Problem(
                    ", ".join(t.name for t in same),
                    None,
                    None,
                    f"more than one {role} table; import them one at a time",
                )
            )
    if any(t.role == "flat" for t in result.tables) and any(
        t.role == "snapshots" for t in result.tables
    ):
        names = ", ".join(t.name for t in result.tables)
        problems.append(Problem(names, None, None, "a flat table and a snapshots table together"))
    if problems:
        raise ValidationFailed(problems)


def _flat_projects(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per project: each field from the project's first row giving it.

    The index is the project's first row in the file, so problems name that row.
    """
    valid = frame.loc[frame["project_id"].notna()] if "project_id" in frame.columns else frame
    if "project_id" not in frame.columns or valid.empty:
        return frame.iloc[:0]
    grouped = valid.groupby("project_id", sort=False)
    first = grouped.first()
    rows = pd.Series(valid.index, index=valid.index).groupby(valid["project_id"], sort=False)
    first_row = rows.first()
    out = first.reset_index()
    out.index = pd.Index(first_row.loc[first.index].to_numpy())
    return out[[c for c in frame.columns if c in out.columns]]


def read_survey(
    found: Survey,
    *,
    known_project_ids: frozenset[str] = frozenset(),
    skip_bad: bool = False,
    notify: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Validated canonical (projects, snapshots) of everything surveyed, or ValidationFailed.

    Tables are mapped and validated together (snapshots may belong to projects of the
    projects table, of the schedules or of ``known_project_ids``); schedule problems and
    table problems are raised together. Nothing is written here. ``notify`` receives what the
    schedule files held, in words: each update read, each project history, each file skipped
    with ``skip_bad``.
    """
    mapping = found.mapping
    problems: list[Problem] = []
    schedule_projects: pd.DataFrame | None = None
    schedule_snapshots: pd.DataFrame | None = None
    if found.schedules:
        try:
            history = schedules.load_schedule_history(found.schedules, skip_bad=skip_bad)
        except ValidationFailed as exc:
            problems += exc.problems
        else:
            schedule_projects, schedule_snapshots = history.projects, history.snapshots
            if notify is not None:
                for line in history.found:
                    notify(line)
    raw: dict[str, pd.DataFrame | None] = {"projects": None, "snapshots": None}
    names = {"projects": "projects.csv", "snapshots": "snapshots.csv"}
    labels: dict[str, dict[str, str]] = {"projects": {}, "snapshots": {}}
    for t in found.tables:
        parts: tuple[Table, ...] = ("projects", "snapshots") if t.role == "flat" else (t.role,)
        for part in parts:
            frame, found_problems, part_labels = apply_mapping(t.raw, part, mapping, t.name)
            problems += found_problems
            names[part] = t.name
            if t.role == "flat" and part == "projects":
                declared = {c.name for c in PROJECT_COLUMNS}
                frame = _flat_projects(frame[[c for c in frame.columns if c in declared]])
                names[part] = f"{t.name} (project fields)"
            raw[part] = frame
            labels[part] = part_labels
    known = set(known_project_ids)
    if schedule_projects is not None:
        known |= set(schedule_projects["project_id"])
    projects = snapshots = None
    if raw["projects"] is not None or raw["snapshots"] is not None:
        try:
            projects, snapshots = validate_tables(
                raw["projects"],
                raw["snapshots"],
                projects_name=names["projects"],
                snapshots_name=names["snapshots"],
                known_project_ids=frozenset(known),
            )
        except ValidationFailed as exc:
            flagged = {(p.row, p.column) for p in problems}
            for p in exc.problems:
                table = "projects" if p.file == names["projects"] else "snapshots"
                if p.column in labels[table]:
                    p = Problem(p.file, p.row, labels[table][p.column], p.message, p.value)
                if (p.row, p.column) not in flagged or p.row is None:
                    problems.append(p)
    if problems:
        raise ValidationFailed(_dedupe(problems))
    return _combine(projects, schedule_projects, conform_projects), _combine(
        snapshots, schedule_snapshots, conform_snapshots
    )


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    out = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def _combine(a: pd.DataFrame | None, b: pd.DataFrame | None, conform: Any) -> pd.DataFrame | None:
    frames = [f for f in (a, b) if f is not None]
    if not frames:
        return None
    if len(frames) == 1:
        return frames[0]
    result: pd.DataFrame = conform(pd.concat(frames, ignore_index=True))
    return result
