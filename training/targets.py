"""Labels: what happened to each finished project, and which report rows may learn from it.

A project gets a label only when its outcome is known: status ``completed`` (or an
``actual_finish`` with no status at all). Active and cancelled projects, and projects whose
baseline or outcome fields are missing, get NaN. The outcome date is ``actual_finish``; a
project without it gets no label for either target, because without it we cannot tell which
of its reports were made before the outcome was known (and the time split cannot place it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_model.config import TARGETS

TARGET_COLUMNS: tuple[str, ...] = (
    "project_id",
    "outcome_date",
    "schedule_ratio",
    "cost_ratio",
    "schedule_overrun",
    "cost_overrun",
)


def label_column(target: str) -> str:
    """The targets-frame column holding the 0/1 label of ``target`` (``schedule_overrun``)."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {', '.join(TARGETS)}")
    return f"{target}_overrun"


def _has_outcome(projects: pd.DataFrame) -> pd.Series:
    """True where the project's outcome is known: completed, or finished with no status."""
    status = projects["status"].astype("object")
    status = status.where(status.notna(), None).map(
        lambda s: s.strip().lower() if isinstance(s, str) and s.strip() else None
    )
    finished = projects["actual_finish"].notna()
    return ((status == "completed") | (status.isna() & finished)) & finished


def _binary(ratio: pd.Series, threshold: float) -> pd.Series:
    """1.0 where ratio > threshold, 0.0 where not, NaN where ratio is NaN."""
    out = (ratio > threshold).astype("float64")
    return out.where(ratio.notna(), np.nan)


def make_targets(
    projects: pd.DataFrame,
    *,
    schedule_threshold: float = 0.10,
    cost_threshold: float = 0.10,
) -> pd.DataFrame:
    """One row per project: outcome date, overrun ratios and 0/1 overrun labels (NaN if unknown).

    ``schedule_ratio = (actual_finish - baseline_finish) / (baseline_finish - start_date)``
    (slip as a share of planned duration; NaN when the planned duration is not positive);
    ``cost_ratio = actual_cost / baseline_budget - 1`` (NaN when the budget is not positive).
    ``schedule_overrun`` is 1.0 when ``schedule_ratio > schedule_threshold`` else 0.0, and
    ``cost_overrun`` likewise. Everything but ``project_id`` is NaN / NaT for projects whose
    outcome is not known. The input is not mutated; the result has a fresh RangeIndex.
    """
    if projects["project_id"].duplicated().any():
        dup = projects.loc[projects["project_id"].duplicated(), "project_id"].iloc[0]
        raise ValueError(f"project_id {dup!r} appears more than once in projects")
    known = _has_outcome(projects)

    start = pd.to_datetime(projects["start_date"])
    baseline_finish = pd.to_datetime(projects["baseline_finish"])
    actual_finish = pd.to_datetime(projects["actual_finish"])
    planned_days = (baseline_finish - start) / pd.Timedelta(days=1)
    slip_days = (actual_finish - baseline_finish) / pd.Timedelta(days=1)
    planned_days = planned_days.where(planned_days > 0)
    schedule_ratio = (slip_days / planned_days).astype("float64").where(known)

    budget = pd.to_numeric(projects["baseline_budget"]).astype("float64")
    cost = pd.to_numeric(projects["actual_cost"]).astype("float64")
    cost_ratio = (cost / budget.where(budget > 0) - 1.0).where(known)

    out = pd.DataFrame(
        {
            "project_id": projects["project_id"].astype("object"),
            "outcome_date": actual_finish.where(known).astype("datetime64[ns]"),
            "schedule_ratio": schedule_ratio,
            "cost_ratio": cost_ratio,
            "schedule_overrun": _binary(schedule_ratio, schedule_threshold),
            "cost_overrun": _binary(cost_ratio, cost_threshold),
        }
    )
    return out.reset_index(drop=True)


def label_rows(
    features: pd.DataFrame, targets: pd.DataFrame, target: str
) -> tuple[pd.DataFrame, pd.Series]:
    """Feature rows that can learn ``target``, and their 0/1 labels (int64, aligned index).

    Keeps rows whose project has a known label AND whose ``as_of`` is strictly before the
    project's outcome date: a report made on or after the finish is not a prediction. Row order
    and every feature column are kept (no outcome column is added); the index is reset so that
    ``X.index`` equals ``y.index``.
    """
    col = label_column(target)
    if targets["project_id"].duplicated().any():
        raise ValueError("targets must have one row per project_id")
    by_project = targets.set_index("project_id")
    label = features["project_id"].map(by_project[col])
    outcome = pd.to_datetime(features["project_id"].map(by_project["outcome_date"]))
    as_of = pd.to_datetime(features["as_of"])
    keep = label.notna() & outcome.notna() & (as_of < outcome)
    rows = features.loc[keep].reset_index(drop=True)
    y = label.loc[keep].astype("int64").reset_index(drop=True).rename(col)
    return rows, y


def ratio_column(target: str) -> str:
    """The targets-frame column holding the overrun ratio of ``target`` (``schedule_ratio``)."""
    label_column(target)
    return f"{target}_ratio"


def ratio_rows(
    features: pd.DataFrame, targets: pd.DataFrame, target: str
) -> tuple[pd.DataFrame, pd.Series]:
    """Feature rows that can learn the overrun *size* of ``target``, and their ratios (float64).

    Same rows as ``label_rows`` (known outcome, report strictly before the outcome date), but
    the value is the ratio (``schedule_ratio`` / ``cost_ratio``) instead of the 0/1 label.
    Raises ``KeyError`` when ``targets`` has no ratio column for ``target`` (a target measured
    without a size, such as a forward-looking one).
    """
    col = ratio_column(target)
    if col not in targets.columns:
        raise KeyError(f"targets have no {col!r} column: {target} has no overrun size")
    if targets["project_id"].duplicated().any():
        raise ValueError("targets must have one row per project_id")
    by_project = targets.set_index("project_id")
    ratio = features["project_id"].map(by_project[col])
    outcome = pd.to_datetime(features["project_id"].map(by_project["outcome_date"]))
    as_of = pd.to_datetime(features["as_of"])
    keep = ratio.notna() & outcome.notna() & (as_of < outcome)
    rows = features.loc[keep].reset_index(drop=True)
    y = ratio.loc[keep].astype("float64").reset_index(drop=True).rename(col)
    return rows, y
