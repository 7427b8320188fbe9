"""Project-level signals of one schedule update, and a history of updates as canonical rows.

At the data date of each update: budget at completion (BAC, the sum of budgeted costs),
planned value (each activity's budget spread evenly over its baseline dates, the share
due by the data date), earned value (budget x performance percent complete), actual cost,
forecast cost (actual + remaining), percent complete (EV / BAC when cost-loaded, else
weighted by planned duration), forecast finish (the scheduled finish) and the DCMA figures.
Summaries are left out (in MS Project they roll up their children's costs).

Across updates of one project the baseline (start, finish, budget) is the earliest update's;
the project is ``completed`` when every activity of the latest update is complete, with its
actual finish and cost as the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from features.sources.schedules.dcma import assess
from features.sources.schedules.model import Activity, Schedule

__all__ = ["project_row", "snapshot_row", "update_signals"]


def _planned_share(a: Activity, dd: datetime) -> float:
    start, finish = a.baseline_start or a.baseline_finish, a.baseline_finish
    if finish is None or start is None:
        return np.nan
    if dd >= finish:
        return 1.0
    if dd <= start:
        return 0.0
    return (dd - start).total_seconds() / max((finish - start).total_seconds(), 1.0)


def _pct(a: Activity) -> float:
    if a.is_complete:
        return 100.0
    if a.percent_complete is None:
        return 0.0
    return min(max(a.percent_complete, 0.0), 100.0)


def update_signals(schedule: Schedule) -> dict[str, Any]:
    """The project-level figures of one update (NaN where the file does not allow them)."""
    dd = schedule.data_date
    work = [a for a in schedule.activities if a.kind != "summary"]
    budgets = np.array([a.budget_cost or 0.0 for a in work], dtype=np.float64)
    bac = float(budgets.sum())
    cost_loaded = bac > 0
    out: dict[str, Any] = {
        "percent_complete": np.nan,
        "planned_value": np.nan,
        "earned_value": np.nan,
        "actual_cost": np.nan,
        "forecast_cost": np.nan,
        "budget": np.nan,
        "cost_loaded": cost_loaded,
    }
    pct = np.array([_pct(a) for a in work], dtype=np.float64)
    if cost_loaded:
        shares = np.array([_planned_share(a, dd) for a in work], dtype=np.float64)
        ev = float((budgets * pct / 100.0).sum())
        out["budget"] = bac
        out["earned_value"] = ev
        out["planned_value"] = float(np.nansum(budgets * shares))
        out["percent_complete"] = 100.0 * ev / bac
    if schedule.earned_value is not None:
        out["earned_value"] = schedule.earned_value
    if schedule.planned_value is not None:
        out["planned_value"] = schedule.planned_value
    actual = [a.actual_cost for a in work if a.actual_cost is not None]
    remaining = [a.remaining_cost for a in work if a.remaining_cost is not None]
    if actual and (cost_loaded or any(actual)):
        out["actual_cost"] = float(sum(actual))
        if remaining:
            out["forecast_cost"] = float(sum(actual) + sum(remaining))
    if not cost_loaded:
        weights = np.array(
            [a.original_duration or 0.0 for a in work if a.is_normal], dtype=np.float64
        )
        normal_pct = np.array([_pct(a) for a in work if a.is_normal], dtype=np.float64)
        if weights.sum() > 0:
            out["percent_complete"] = float((weights * normal_pct).sum() / weights.sum())
        elif len(normal_pct):
            out["percent_complete"] = float(normal_pct.mean())
    return out


def snapshot_row(schedule: Schedule) -> dict[str, Any]:
    """One canonical snapshot row (``risk_model.schemas``) for an update."""
    s = update_signals(schedule)
    row: dict[str, Any] = {
        "project_id": schedule.project_id,
        "as_of": _day(schedule.data_date),
        "percent_complete": s["percent_complete"],
        "planned_value": s["planned_value"],
        "earned_value": s["earned_value"],
        "actual_cost": s["actual_cost"],
        "forecast_finish": _day(schedule.scheduled_finish),
        "forecast_cost": s["forecast_cost"],
        "budget": s["budget"],
    }
    for name, value in assess(schedule).values().items():
        row[name] = np.nan if value is None else value
    return row


def project_row(updates: Sequence[Schedule]) -> dict[str, Any]:
    """One canonical project row from a project's updates (ordered by data date)."""
    first, last = updates[0], updates[-1]
    starts = [a.baseline_start for a in first.activities if a.baseline_start is not None]
    start = first.planned_start or (min(starts) if starts else None)
    base = update_signals(first)
    row: dict[str, Any] = {
        "project_id": last.project_id,
        "name": last.name,
        "start_date": _day(start),
        "baseline_finish": _day(first.baseline_finish),
        "baseline_budget": base["budget"],
        "currency": last.currency,
        "status": "active",
    }
    normal = [a for a in last.activities if a.is_normal]
    if normal and all(a.is_complete for a in normal):
        finishes = [a.actual_finish or a.finish for a in normal]
        done = [f for f in finishes if f is not None]
        row["status"] = "completed"
        row["actual_finish"] = _day(max(done)) if done else None
        row["actual_cost"] = update_signals(last)["actual_cost"]
    return row


def _day(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return datetime(value.year, value.month, value.day)
