"""Compose the signal families into one point-in-time feature frame.

``build_features`` turns the canonical projects and snapshots frames into one row per
(project_id, as_of): every snapshot date, plus an "at approval" row for a project without
snapshots. A row reads only static project fields (never the outcome columns) and the
project's own snapshots dated on or before the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from features.evm import evm_features
from features.forecast import forecast_features
from features.history import days
from features.register import register_features
from features.registry import ATTR_PREFIX, CATEGORICAL, FEATURES, TREND_WINDOW
from features.reports import report_features
from features.schedule import schedule_features, static_features
from features.schedule_quality import schedule_quality_features
from features.trends import trend_features
from risk_model.config import TARGETS
from risk_model.risk_register import RegisterFrames
from risk_model.schemas import (
    PROJECT_FIELDS,
    SCHEDULE_QUALITY_FIELDS,
    conform_projects,
    conform_snapshots,
)

OUTCOME_COLUMNS: tuple[str, ...] = ("actual_finish", "actual_cost", "status")
"""Project columns that hold the outcome: never read by a feature."""
RAG_SCORES: dict[str, float] = {"green": 0.0, "amber": 1.0, "red": 2.0}
_SNAPSHOT_NUMBERS: tuple[str, ...] = (
    "percent_complete",
    "planned_value",
    "earned_value",
    "actual_cost",
    "forecast_cost",
    "budget",
    "open_risks",
    "open_issues",
    "change_requests",
    *SCHEDULE_QUALITY_FIELDS,
)


def _numeric_attributes(projects: pd.DataFrame) -> dict[str, pd.Series]:
    """Numeric extra (non-declared) project columns as float64, keyed by ``attr_<name>``."""
    out: dict[str, pd.Series] = {}
    for col in projects.columns:
        if col in PROJECT_FIELDS:
            continue
        values = projects[col]
        if is_bool_dtype(values) or is_numeric_dtype(values):
            out[f"{ATTR_PREFIX}{col}"] = values.astype("float64")
            continue
        present = values.notna()
        if not present.any():
            continue
        converted = pd.to_numeric(values.where(present, None), errors="coerce")
        if converted[present].notna().all():
            out[f"{ATTR_PREFIX}{col}"] = converted.astype("float64")
    return out


def _history(projects: pd.DataFrame, snapshots: pd.DataFrame) -> pd.DataFrame:
    """One row per project and date with static (``p_``) and raw snapshot (``s_``) fields."""
    ids_with_reports = pd.Index(snapshots["project_id"].unique())
    approval = projects.loc[~projects["project_id"].isin(ids_with_reports)]
    rows = pd.DataFrame(
        {
            "project_id": np.concatenate(
                [
                    snapshots["project_id"].to_numpy(dtype=object),
                    approval["project_id"].to_numpy(dtype=object),
                ]
            ),
            "as_of": np.concatenate(
                [
                    snapshots["as_of"].to_numpy(dtype="datetime64[ns]"),
                    approval["start_date"].to_numpy(dtype="datetime64[ns]"),
                ]
            ),
        }
    )
    n_snap = len(snapshots)
    is_report = np.r_[np.ones(n_snap, dtype=bool), np.zeros(len(approval), dtype=bool)]
    codes, _ = pd.factorize(rows["project_id"], sort=True)
    asof_day = days(rows["as_of"])
    order = np.lexsort((np.nan_to_num(asof_day, nan=-np.inf), codes))
    pid = rows["project_id"].to_numpy(dtype=object)[order]
    codes = codes[order]
    # re-number codes 0..n-1 in sorted order (they already are, factorize sort=True)
    src = order  # position in the concatenated rows
    from_snap = src < n_snap
    snap_pos = np.where(from_snap, src, 0)

    def snap_col(values: np.ndarray) -> np.ndarray:
        taken = values[snap_pos] if n_snap else np.full(len(src), np.nan)
        return np.where(from_snap, taken, np.nan)

    proj_pos = pd.Index(projects["project_id"]).get_indexer(pd.Index(pid))
    known = proj_pos >= 0
    safe_pos = np.where(known, proj_pos, 0)

    def proj_col(values: np.ndarray) -> np.ndarray:
        if len(values) == 0:
            return np.full(len(pid), np.nan)
        return np.where(known, values[safe_pos], np.nan)

    cat = np.full(len(pid), None, dtype=object)
    cat[known] = projects["category"].to_numpy(dtype=object)[proj_pos[known]]
    cat[pd.isna(cat)] = None
    h: dict[str, object] = {
        "project_id": pd.Series(pid, dtype=object),
        "as_of": rows["as_of"].to_numpy()[order],
        "code": codes.astype(np.int64),
        "is_report": is_report[order],
        "asof_day": asof_day[order],
        "p_category": pd.Series(cat, dtype=object),
        "p_start": proj_col(days(projects["start_date"])),
        "p_finish": proj_col(days(projects["baseline_finish"])),
        "p_budget": proj_col(projects["baseline_budget"].to_numpy(dtype=np.float64)),
    }
    for col in _SNAPSHOT_NUMBERS:
        h[f"s_{col}"] = snap_col(snapshots[col].to_numpy(dtype=np.float64))
    h["s_forecast_finish"] = snap_col(days(snapshots["forecast_finish"]))
    rag = snapshots["rag"].map(RAG_SCORES).to_numpy(dtype=np.float64)
    h["s_rag"] = snap_col(rag)
    frame = pd.DataFrame(h)
    frame["t"] = frame["asof_day"] - frame["p_start"]
    for name, values in _numeric_attributes(projects).items():
        frame[name] = proj_col(values.to_numpy(dtype=np.float64))
    return frame


def build_features(
    projects: pd.DataFrame,
    snapshots: pd.DataFrame,
    *,
    trend_window: int = TREND_WINDOW,
    register: RegisterFrames | None = None,
) -> pd.DataFrame:
    """Point-in-time features: one row per (project_id, as_of), sorted by both.

    Columns: ``project_id``, ``as_of``, every feature of ``FEATURES`` in order (float64, but
    ``category`` object), then ``attr_<name>`` per numeric extra project column. A project
    without snapshots gets one row at its start date (NaT if unknown). Missing inputs and
    divisions by zero give NaN. Inputs are not mutated. Duplicate snapshot dates keep the
    last row; snapshots without a date are ignored. ``register`` (the risk register's dated
    entries) gives the ``register_*`` features; without it they are NaN.
    """
    p = conform_projects(projects)
    p = p.drop(columns=[c for c in OUTCOME_COLUMNS if c in p.columns])
    p = p.drop_duplicates("project_id", keep="last").reset_index(drop=True)
    s = conform_snapshots(snapshots)
    s = s.loc[s["as_of"].notna()]
    s = s.drop_duplicates(["project_id", "as_of"], keep="last").reset_index(drop=True)

    h = _history(p, s)
    h = pd.concat([h, static_features(h)], axis=1)
    h = pd.concat([h, evm_features(h)], axis=1)
    h = pd.concat([h, schedule_features(h)], axis=1)
    h = pd.concat([h, report_features(h)], axis=1)
    h = pd.concat([h, forecast_features(h)], axis=1)
    h = pd.concat([h, trend_features(h, trend_window)], axis=1)
    h = pd.concat([h, schedule_quality_features(h)], axis=1)
    h = pd.concat([h, register_features(h, register)], axis=1)

    attrs = [c for c in h.columns if c.startswith(ATTR_PREFIX)]
    columns: dict[str, pd.Series] = {
        "project_id": pd.Series(h["project_id"].to_numpy(dtype=object), dtype=object),
        "as_of": pd.Series(h["as_of"].to_numpy(dtype="datetime64[ns]")),
    }
    for name in [*FEATURES, *attrs]:
        if name in CATEGORICAL:
            columns[name] = pd.Series(h[name].to_numpy(dtype=object), dtype=object)
        else:
            values = h[name].to_numpy(dtype=np.float64)
            columns[name] = pd.Series(np.where(np.isfinite(values), values, np.nan))
    return pd.DataFrame(columns)


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The model input columns of a feature frame: registry features, then ``attr_*``."""
    cols = [name for name in FEATURES if name in frame.columns]
    return cols + [c for c in frame.columns if str(c).startswith(ATTR_PREFIX)]


_REASONS: dict[str, str] = {
    "schedule": "no start_date/baseline_finish (planned duration unknown)",
    "cost": "no baseline_budget and no budget",
    "forward": "no planned duration and no budget (no forecast to watch)",
}
# A row can be scored for a target when any of these features is known.
_NEEDS: dict[str, tuple[str, ...]] = {
    "schedule": ("planned_duration_days",),
    "cost": ("log_budget", "log_current_budget"),
    "forward": ("planned_duration_days", "log_budget", "log_current_budget"),
}


def insufficient_reason(frame: pd.DataFrame, target: str) -> pd.Series:
    """Why each row cannot be scored for ``target`` (None when it can)."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {TARGETS}")
    missing = np.ones(len(frame), dtype=bool)
    for name in _NEEDS[target]:
        missing &= frame[name].isna().to_numpy(dtype=bool)
    reasons = np.full(len(frame), None, dtype=object)
    reasons[missing] = _REASONS[target]
    return pd.Series(reasons, index=frame.index, dtype=object, name=f"{target}_reason")


def row_reason(row: Mapping[str, Any], target: str) -> str | None:
    """``insufficient_reason`` of one feature row (a mapping, e.g. from ``features.fast``)."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {TARGETS}")
    for name in _NEEDS[target]:
        v = row.get(name)
        if v is not None and v == v:  # known (not None, not NaN)
            return None
    return _REASONS[target]
