"""Column mappings: a user's spreadsheet columns and formats onto the history format.

A mapping file (YAML, or TOML) names, per table, which of the user's columns holds each
canonical field, and how the user writes dates and numbers::

    projects:                 # canonical field: your column header
      project_id: Project Code
      baseline_finish: Baseline Finish
    snapshots:
      project_id: Project Code
      as_of: Status Date
      earned_value: BCWP
    sheets:                   # optional: workbook sheet of each table
      snapshots: Status
    date_format: DD/MM/YYYY   # or a strptime format such as %d.%m.%Y; default: ISO/month-first
    number_format: 1.234,56   # 1,234.56 (default) | 1.234,56 | 1 234,56 | 1'234.56
    currency: EUR             # fills projects.currency when the file has none
    percent: 0-1              # percent_complete written as 0-1 (0.35) or 0-100 (default)
    money_unit: 1000000       # money columns are in millions

``apply_mapping`` renames the mapped columns to their canonical names and rewrites dates
and numbers written the user's way into the forms ``risk_model.validation`` reads (ISO
dates, plain decimal numbers); a cell that does not fit the declared format is a Problem
naming the file, row and the user's column. Unmapped columns keep their own (normalised)
names, so canonical headers need no mapping and other project columns stay attributes.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from features.sources.tabular import normalise_header
from risk_model.exceptions import Problem, ValidationFailed
from risk_model.schemas import PROJECT_COLUMNS, SNAPSHOT_COLUMNS, Column

__all__ = [
    "NUMBER_FORMATS",
    "ColumnMapping",
    "Table",
    "apply_mapping",
    "load_mapping",
    "mapping_to_yaml",
    "strptime_format",
]

Table = Literal["projects", "snapshots"]
TABLE_COLUMNS: dict[Table, tuple[Column, ...]] = {
    "projects": PROJECT_COLUMNS,
    "snapshots": SNAPSHOT_COLUMNS,
}
# number format name -> (thousands separators, decimal mark)
NUMBER_FORMATS: dict[str, tuple[str, str]] = {
    "1,234.56": (",", "."),
    "1.234,56": (".", ","),
    "1 234,56": (" \u00a0\u202f", ","),
    "1'234.56": ("'", "."),
}
PERCENT_SCALES = ("0-100", "0-1")
_NUMERIC = ("money", "float", "count", "percent")
_TOKENS = (("YYYY", "%Y"), ("YY", "%y"), ("MMMM", "%B"), ("MMM", "%b"), ("MM", "%m"), ("DD", "%d"))
_TIME_PART = re.compile(r"[T ]+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_CURRENCY = re.compile(r"[$€£¥₹]|\b(?:USD|EUR|GBP|AUD|CAD|CHF|JPY|NZD)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ColumnMapping:
    """A parsed mapping file (see the module docstring); the default maps nothing."""

    projects: dict[str, str] = field(default_factory=dict)
    snapshots: dict[str, str] = field(default_factory=dict)
    sheets: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    number_format: str = "1,234.56"
    currency: str | None = None
    percent: str = "0-100"
    money_unit: float = 1.0
    source: str = "(no mapping)"

    def columns(self, table: Table) -> dict[str, str]:
        """canonical field -> user column of one table."""
        return self.projects if table == "projects" else self.snapshots

    def user_column(self, table: Table, canonical: str) -> str | None:
        """The normalised header the user's file has for a canonical field of ``table``."""
        user = self.columns(table).get(canonical)
        return normalise_header(user) if user is not None else canonical


def strptime_format(text: str) -> str:
    """``DD/MM/YYYY`` -> ``%d/%m/%Y``; a format already holding ``%`` is returned as is."""
    if "%" in text:
        return text
    out = text
    for token, directive in _TOKENS:
        out = out.replace(token, directive)
    return out


def _problem(source: str, key: str | None, message: str) -> Problem:
    return Problem(source, None, key, message)


def load_mapping(path: Path) -> ColumnMapping:
    """Read and check a YAML (.yaml/.yml) or TOML (.toml) mapping file.

    Raises ``ValidationFailed`` naming the mapping file and key of every problem: unknown
    tables, fields or options, a field mapped twice, bad formats.
    """
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValidationFailed([_problem(name, None, f"cannot read: {exc.strerror}")]) from exc
    try:
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # yaml.YAMLError / tomllib.TOMLDecodeError: report, never a traceback
        raise ValidationFailed([_problem(name, None, f"not valid YAML/TOML: {exc}")]) from exc
    return parse_mapping(data if data is not None else {}, name)


def parse_mapping(data: Any, source: str = "mapping") -> ColumnMapping:
    """Check a mapping already read into dicts (see ``load_mapping``)."""
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        raise ValidationFailed([_problem(source, None, "the mapping must be a set of keys")])
    known = {"projects", "snapshots", "sheets", "date_format", "number_format", "currency"}
    known |= {"percent", "money_unit"}
    for key in data:
        if key not in known:
            problems.append(
                _problem(source, str(key), f"unknown key; use {', '.join(sorted(known))}")
            )
    tables: dict[str, dict[str, str]] = {}
    for table, columns in TABLE_COLUMNS.items():
        section = data.get(table) or {}
        if not isinstance(section, Mapping):
            problems.append(_problem(source, table, "must map canonical fields to your columns"))
            section = {}
        declared = {c.name for c in columns}
        seen: dict[str, str] = {}
        out: dict[str, str] = {}
        for canonical, user in section.items():
            where = f"{table}.{canonical}"
            if canonical not in declared:
                problems.append(
                    _problem(
                        source,
                        where,
                        f"{canonical!r} is not a {table} field; "
                        f"fields: {', '.join(sorted(declared))}",
                    )
                )
                continue
            if not isinstance(user, str | int) or not str(user).strip():
                problems.append(_problem(source, where, "must name one of your columns"))
                continue
            key = normalise_header(user)
            if key in seen:
                problems.append(
                    _problem(source, where, f"column {user!r} is already mapped to {seen[key]}")
                )
                continue
            seen[key] = canonical
            out[str(canonical)] = str(user)
        tables[table] = out
    sheets = data.get("sheets") or {}
    if not isinstance(sheets, Mapping) or any(k not in TABLE_COLUMNS for k in sheets):
        problems.append(
            _problem(source, "sheets", "give 'projects:' and/or 'snapshots:' sheet names")
        )
        sheets = {}
    date_format = data.get("date_format")
    if date_format is not None:
        date_format = str(date_format)
        try:
            datetime.strftime(datetime(2001, 2, 3), strptime_format(date_format))
        except ValueError:
            problems.append(
                _problem(source, "date_format", f"{date_format!r} is not a date format")
            )
        if not any(d in strptime_format(date_format) for d in ("%d", "%m", "%b", "%B")):
            problems.append(
                _problem(source, "date_format", f"{date_format!r}: use e.g. DD/MM/YYYY or %d.%m.%Y")
            )
    number_format = str(data.get("number_format", "1,234.56"))
    if number_format not in NUMBER_FORMATS:
        problems.append(
            _problem(source, "number_format", f"use one of {', '.join(NUMBER_FORMATS)}")
        )
    percent = str(data.get("percent", "0-100")).replace("–", "-").replace(" ", "")
    if percent not in PERCENT_SCALES:
        problems.append(_problem(source, "percent", "use 0-100 or 0-1"))
    money_unit = data.get("money_unit", 1)
    if isinstance(money_unit, bool) or not isinstance(money_unit, int | float) or money_unit <= 0:
        problems.append(_problem(source, "money_unit", "must be a positive number (e.g. 1000000)"))
        money_unit = 1
    currency = data.get("currency")
    if problems:
        raise ValidationFailed(problems)
    return ColumnMapping(
        projects=tables["projects"],
        snapshots=tables["snapshots"],
        sheets={str(k): str(v) for k, v in sheets.items()},
        date_format=date_format,
        number_format=number_format,
        currency=str(currency) if currency else None,
        percent=percent,
        money_unit=float(money_unit),
        source=source,
    )


def _yaml_scalar(value: object) -> str:
    import yaml

    text: str = yaml.safe_dump(
        value, default_flow_style=True, width=1000, allow_unicode=True
    ).strip()
    return text.removesuffix("\n...").strip()


def mapping_to_yaml(mapping: ColumnMapping, notes: Mapping[str, list[str]] | None = None) -> str:
    """The mapping as a commented YAML file; ``notes`` adds comment lines per section."""
    notes = notes or {}
    lines = [
        "# pmo-risk column mapping: canonical field -> your column header. Check it, then",
        "# pmo-risk import --mapping THIS_FILE YOUR_FILES",
    ]
    lines += [f"# {n}" for n in notes.get("header", [])]
    for table in TABLE_COLUMNS:
        columns = mapping.columns(table)
        lines.append(f"{table}:" if columns else f"{table}: {{}}")
        lines += [f"  # {n}" for n in notes.get(table, [])]
        lines += [f"  {k}: {_yaml_scalar(v)}" for k, v in columns.items()]
    if mapping.sheets:
        lines.append("sheets:")
        lines += [f"  {k}: {_yaml_scalar(v)}" for k, v in mapping.sheets.items()]
    if mapping.date_format:
        lines.append(f"date_format: {_yaml_scalar(mapping.date_format)}")
    lines.append(f"number_format: {_yaml_scalar(mapping.number_format)}")
    if mapping.currency:
        lines.append(f"currency: {_yaml_scalar(mapping.currency)}")
    lines.append(f"percent: {_yaml_scalar(mapping.percent)}   # percent_complete as 0-100 or 0-1")
    if mapping.money_unit != 1:
        unit = mapping.money_unit
        lines.append(f"money_unit: {int(unit) if unit.is_integer() else unit}")
    return "\n".join(lines) + "\n"


# --- applying a mapping to a raw text table ---------------------------------------------------


def _date_parser(fmt: str) -> Callable[[str], str | None]:
    directive = strptime_format(fmt)

    def parse(text: str) -> str | None:
        day = _TIME_PART.sub("", text.strip())
        try:
            return datetime.strptime(day, directive).strftime("%Y-%m-%d")
        except ValueError:
            return None

    return parse


def number_parser(number_format: str, scale: float) -> Callable[[str], str | None]:
    thousands, decimal = NUMBER_FORMATS[number_format]
    grouped = re.compile(
        rf"^\d{{1,3}}([{re.escape(thousands)}]\d{{3}})+({re.escape(decimal)}\d*)?$"
    )

    def parse(text: str) -> str | None:
        s = _CURRENCY.sub("", text).strip()
        negative = s.startswith("(") and s.endswith(")")
        s = s[1:-1].strip() if negative else s
        s = s.removesuffix("%").strip()
        if s.startswith(("-", "+")):
            negative ^= s[0] == "-"
            s = s[1:].strip()
        if any(t in s for t in thousands):
            if not grouped.match(s):
                return None
            for t in thousands:
                s = s.replace(t, "")
        if decimal != ".":
            if "." in s:
                return None
            s = s.replace(decimal, ".")
        try:
            value = float(s)
        except ValueError:
            return None
        if not math.isfinite(value):
            return None
        value = (-value if negative else value) * scale
        return repr(value)

    return parse


def _convert(values: pd.Series, parse: Callable[[str], str | None]) -> tuple[pd.Series, pd.Index]:
    """Parse each distinct non-blank text once; (converted texts, index of failures)."""
    present = values.dropna()
    cache = {v: parse(v) for v in present.unique()}
    converted = present.map(cache)
    bad = converted.index[converted.isna()]
    out = values.copy()
    out.loc[converted.index] = converted.where(converted.notna(), present)
    return out, bad


def _needs(col: Column, mapping: ColumnMapping) -> tuple[Callable[[str], str | None], str] | None:
    """The converter and its description for a column under this mapping, or None."""
    if col.kind == "date" and mapping.date_format:
        return _date_parser(mapping.date_format), f"a date in the format {mapping.date_format}"
    if col.kind not in _NUMERIC:
        return None
    scale = 1.0
    if col.kind == "money":
        scale = mapping.money_unit
    elif col.kind == "percent" and mapping.percent == "0-1":
        scale = 100.0
    if mapping.number_format == "1,234.56" and scale == 1.0:
        return None
    return number_parser(mapping.number_format, scale), f"a number like {mapping.number_format}"


def apply_mapping(
    raw: pd.DataFrame, table: Table, mapping: ColumnMapping, name: str
) -> tuple[pd.DataFrame, list[Problem], dict[str, str]]:
    """Canonical-named text frame, problems found, and labels (canonical -> how to name it).

    ``raw`` has normalised headers (``features.sources.tabular.read_table``); its index is
    kept, so problems and later validation report the spreadsheet row. A mapped column that
    is not in the file is a problem naming it.
    """
    problems: list[Problem] = []
    labels: dict[str, str] = {}
    renames: dict[str, str] = {}
    for canonical, user in mapping.columns(table).items():
        header = normalise_header(user)
        if header not in raw.columns:
            problems.append(
                Problem(
                    name, None, user, f"column {user!r} (mapped to {canonical}) is not in the file"
                )
            )
            continue
        renames[header] = canonical
        labels[canonical] = f"{user} ({canonical})" if header != canonical else canonical
    taken = set(renames.values())
    keep = [c for c in raw.columns if c in renames or c not in taken]
    frame = raw[keep].rename(columns=renames)
    for col in TABLE_COLUMNS[table]:
        if col.name not in frame.columns:
            continue
        converter = _needs(col, mapping)
        if converter is None:
            continue
        parse, what = converter
        values, bad = _convert(frame[col.name], parse)
        frame[col.name] = values
        label = labels.get(col.name, col.name)
        problems += [
            Problem(name, int(i) + 2, label, f"{values[i]!r} is not {what}", str(values[i]))
            for i in bad
        ]
    if table == "projects" and mapping.currency and "currency" not in frame.columns:
        frame["currency"] = np.array([mapping.currency] * len(frame), dtype=object)
    return frame, problems, labels
