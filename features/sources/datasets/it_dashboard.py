"""US Federal IT Dashboard export (2011-2012) into the history format.

What the file is: one row per IT project of 26 federal agencies, as reported to
itdashboard.gov: start date, the planned completion date and cost, and the projected (or,
once finished, actual) completion date and cost, with the dashboard's own variances. It is
a single export, so it suits static ("at approval") risk models and import tests, not
time-series features.

How it maps:

* projects: ``project_id`` = ``ITD-`` + the dashboard's ``Project ID`` (unique); ``name``
  (Project Name); ``portfolio`` (Investment Title); ``category`` (Agency Name);
  ``start_date``; ``baseline_finish`` = "Planned Project Completion Date (B2)", or
  "Completion Date (B1)" when there is no B2 date (a date before the start date is
  treated as unknown: 25 rows give a planned completion before their start);
  ``baseline_budget`` = "Planned Cost ($ M)" in dollars; ``currency`` USD. When the
  projected/actual completion date is on or before the row's "Updated Date" the project
  had finished: ``actual_finish`` is that date,
  ``actual_cost`` the projected/actual cost, ``status`` completed; otherwise active.
  ``agency_code`` and ``investment_id`` are kept as (text) project attributes.
* snapshots: one per project at its "Updated Date": ``forecast_finish`` = projected/actual
  completion date, ``forecast_cost`` = projected/actual cost in dollars.

Overrun shares (``features.sources.summary.overrun_shares``): of the 1,529 projects with a
usable baseline finish and a projected/actual completion, 288 (18.8%) finish later than
planned; of the 2,450 with both costs, 462 (18.9%) cost more than planned.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from features.sources.datasets._cells import dates, numbers
from features.sources.tabular import read_table
from risk_model.exceptions import Problem, ValidationFailed
from risk_model.schemas import conform_projects, conform_snapshots

__all__ = ["IT_DASHBOARD_COLUMNS", "load_it_dashboard", "load_it_dashboard_files"]

# our name -> normalised header (``features.sources.tabular.normalise_header``)
IT_DASHBOARD_COLUMNS: dict[str, str] = {
    "investment_id": "unique_investment_identifier",
    "agency_code": "agency_code",
    "agency": "agency_name",
    "investment": "investment_title",
    "project_id": "project_id",
    "name": "project_name",
    "start": "start_date",
    "completion_b1": "completion_date_(b1)",
    "planned_finish": "planned_project_completion_date_(b2)",
    "projected_finish": "projected/actual_project_completion_date_(b2)",
    "planned_cost": "planned_cost_($_m)",
    "projected_cost": "projected/actual_cost_($_m)",
    "updated": "updated_date",
}
_MILLION = 1_000_000.0


def load_it_dashboard(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Projects and one snapshot per project from the IT Dashboard export CSV.

    Raises ``ValidationFailed`` naming the file when it cannot be read or lacks a column.
    """
    path = Path(path)
    raw = read_table(path)
    missing = [h for h in IT_DASHBOARD_COLUMNS.values() if h not in raw.columns]
    if missing:
        raise ValidationFailed(
            [
                Problem(path.name, None, m, "not an IT Dashboard export: no such column")
                for m in missing
            ]
        )
    col = {key: raw[header] for key, header in IT_DASHBOARD_COLUMNS.items()}
    updated = dates(col["updated"])
    start = dates(col["start"])
    planned = dates(col["planned_finish"])
    planned = planned.where(planned >= start)
    b1 = dates(col["completion_b1"])
    baseline_finish = planned.where(planned.notna(), b1.where(b1 >= start))
    projected = dates(col["projected_finish"])
    projected_cost = numbers(col["projected_cost"], _MILLION)
    finished = projected.notna() & (projected <= updated)
    ids = "ITD-" + col["project_id"].astype(str)
    projects = pd.DataFrame(
        {
            "project_id": ids.astype(object),
            "name": col["name"],
            "portfolio": col["investment"],
            "category": col["agency"],
            "start_date": start,
            "baseline_finish": baseline_finish,
            "baseline_budget": numbers(col["planned_cost"], _MILLION),
            "currency": "USD",
            "actual_finish": projected.where(finished),
            "actual_cost": projected_cost.where(finished),
            "status": np.where(finished, "completed", "active").astype(object),
            "agency_code": col["agency_code"],
            "investment_id": col["investment_id"],
        }
    )
    snapshots = pd.DataFrame(
        {
            "project_id": ids.astype(object),
            "as_of": updated,
            "forecast_finish": projected,
            "forecast_cost": projected_cost,
        }
    )
    return conform_projects(projects), conform_snapshots(snapshots.loc[updated.notna()])


def load_it_dashboard_files(paths: Sequence[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``load_it_dashboard`` of the one CSV in ``paths`` (a file or a folder holding it)."""
    files = [p for p in map(Path, paths) if not p.is_dir()]
    files += [f for p in map(Path, paths) if p.is_dir() for f in sorted(p.glob("*.csv"))]
    if len(files) != 1:
        where = ", ".join(map(str, paths)) or "(none)"
        raise ValidationFailed(
            [Problem(where, None, None, "the IT Dashboard data set is one CSV file")]
        )
    return load_it_dashboard(files[0])
