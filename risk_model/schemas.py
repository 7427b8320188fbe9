"""The portfolio history contract: two tables every input converges on.

``projects``: one row per project (static fields and, when known, the outcome).
``snapshots``: one row per project per status report (``as_of``), every field optional.

This module declares the columns once (name, kind, meaning); validation of raw files lives in
``risk_model.validation`` and reads these declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

Kind = Literal["id", "str", "date", "money", "float", "count", "percent", "enum"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool
    meaning: str
    choices: tuple[str, ...] = ()


PROJECT_STATUSES = ("active", "completed", "cancelled")
RAG_VALUES = ("red", "amber", "green")

PROJECT_COLUMNS: tuple[Column, ...] = (
    Column("project_id", "id", True, "Unique project identifier."),
    Column("name", "str", False, "Project name."),
    Column("portfolio", "str", False, "Portfolio or programme the project belongs to."),
    Column("category", "str", False, "Reference class, e.g. 'Bridges', 'IT'."),
    Column("start_date", "date", False, "Approved start date."),
    Column("baseline_finish", "date", False, "Baseline (approved) finish date."),
    Column("baseline_budget", "money", False, "Baseline (approved) budget at completion."),
    Column("currency", "str", False, "Currency code of every money column, e.g. 'USD'."),
    Column("actual_finish", "date", False, "Actual finish date, once finished."),
    Column("actual_cost", "money", False, "Final cost at completion, once finished."),
    Column("status", "enum", False, "active / completed / cancelled.", PROJECT_STATUSES),
)

# issue 4 (schedules): DCMA 14-point schedule-quality figures of a schedule update, as read by
# features.sources.schedules (NaN when the report did not come from a schedule file).
SCHEDULE_QUALITY_COLUMNS: tuple[Column, ...] = (
    Column("dcma_missing_logic", "float", False, "DCMA 1: share of open activities without logic."),
    Column("dcma_leads", "float", False, "DCMA 2: share of relationships with leads."),
    Column("dcma_lags", "float", False, "DCMA 3: share of relationships with lags."),
    Column("dcma_fs_relationships", "float", False, "DCMA 4: share of finish-to-start links."),
    Column("dcma_hard_constraints", "float", False, "DCMA 5: share with hard constraints."),
    Column("dcma_high_float", "float", False, "DCMA 6: share with total float over 44 days."),
    Column("dcma_negative_float", "float", False, "DCMA 7: share with negative float."),
    Column("dcma_high_duration", "float", False, "DCMA 8: share of tasks over 44 days."),
    Column("dcma_invalid_dates", "count", False, "DCMA 9: activities with invalid dates."),
    Column("dcma_no_resources", "float", False, "DCMA 10: share of tasks without resources."),
    Column("dcma_missed_tasks", "float", False, "DCMA 11: share of due tasks finished late."),
    Column("dcma_critical_path_test", "float", False, "DCMA 12: 1 pass, 0 fail."),
    Column("dcma_cpli", "float", False, "DCMA 13: critical path length index."),
    Column("dcma_bei", "float", False, "DCMA 14: baseline execution index."),
)

SNAPSHOT_COLUMNS: tuple[Column, ...] = (
    Column("project_id", "id", True, "Project the report belongs to."),
    Column("as_of", "date", True, "Report (data) date."),
    Column("phase", "str", False, "Phase at the report date."),
    Column("percent_complete", "percent", False, "Physical percent complete, 0-100."),
    Column("planned_value", "money", False, "Cumulative planned value (BCWS)."),
    Column("earned_value", "money", False, "Cumulative earned value (BCWP)."),
    Column("actual_cost", "money", False, "Cumulative actual cost (ACWP)."),
    Column("forecast_finish", "date", False, "Current forecast finish date."),
    Column("forecast_cost", "money", False, "Current forecast cost at completion (EAC)."),
    Column("budget", "money", False, "Current approved budget."),
    Column("rag", "enum", False, "Red / amber / green status.", RAG_VALUES),
    Column("open_risks", "count", False, "Open risks in the register."),
    Column("open_issues", "count", False, "Open issues."),
    Column("change_requests", "count", False, "Change requests raised to date."),
    *SCHEDULE_QUALITY_COLUMNS,
)


SCHEDULE_QUALITY_FIELDS: tuple[str, ...] = tuple(c.name for c in SCHEDULE_QUALITY_COLUMNS)
PROJECT_FIELDS: tuple[str, ...] = tuple(c.name for c in PROJECT_COLUMNS)
SNAPSHOT_FIELDS: tuple[str, ...] = tuple(c.name for c in SNAPSHOT_COLUMNS)

_DTYPES: dict[str, str] = {
    "id": "object",
    "str": "object",
    "enum": "object",
    "date": "datetime64[ns]",
    "money": "float64",
    "float": "float64",
    "count": "float64",
    "percent": "float64",
}


def _conform(df: pd.DataFrame, columns: tuple[Column, ...]) -> pd.DataFrame:
    out = df.copy()
    for col in columns:
        dtype = _DTYPES[col.kind]
        if col.name not in out.columns:
            fill: Any = {"datetime64[ns]": pd.NaT, "float64": np.nan}.get(dtype)
            out[col.name] = pd.Series([fill] * len(out), index=out.index, dtype=dtype)
        elif dtype == "datetime64[ns]":
            out[col.name] = pd.to_datetime(out[col.name]).astype("datetime64[ns]")
        elif dtype == "float64":
            out[col.name] = pd.to_numeric(out[col.name]).astype("float64")
        else:
            out[col.name] = out[col.name].astype("object").where(out[col.name].notna(), None)
    known = [c.name for c in columns]
    extra = [c for c in out.columns if c not in known]
    return out[known + extra]


def conform_projects(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical projects frame: every declared column present with its dtype, extras kept after.

    Dates are ``datetime64[ns]``; money and counts ``float64`` (NaN when missing); strings
    ``object`` with ``None`` for missing. Input is not mutated.
    """
    return _conform(df, PROJECT_COLUMNS)


def conform_snapshots(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical snapshots frame, sorted by (project_id, as_of); see ``conform_projects``."""
    out = _conform(df, SNAPSHOT_COLUMNS)
    return out.sort_values(["project_id", "as_of"], kind="mergesort").reset_index(drop=True)


def empty_snapshots() -> pd.DataFrame:
    return conform_snapshots(pd.DataFrame({"project_id": [], "as_of": []}))
