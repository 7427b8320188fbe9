"""Labels: what happened to each finished project, and which report rows may learn from it.

A project gets a label only when its outcome is known: status ``completed`` (or an
``actual_finish`` with no status at all). Active and cancelled projects, and projects whose
baseline or outcome fields are missing, get NaN. The outcome date is ``actual_finish``; a
project without it gets no label for either target, because without it we cannot tell which
of its reports were made before the outcome was known (and the time split cannot place it).
"""

from __future__ import annotations

from typing import Literal

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
    return _rows_before_outcome(features, targets, label_column(target), "int64")


def _rows_before_outcome(
    features: pd.DataFrame, targets: pd.DataFrame, col: str, dtype: Literal["int64", "float64"]
) -> tuple[pd.DataFrame, pd.Series]:
    """Rows whose project has a known ``col`` and whose report precedes the outcome date."""
    if targets["project_id"].duplicated().any():
        raise ValueError("targets must have one row per project_id")
    by_project = targets.set_index("project_id")
    value = features["project_id"].map(by_project[col])
    outcome = pd.to_datetime(features["project_id"].map(by_project["outcome_date"]))
    as_of = pd.to_datetime(features["as_of"])
    keep = value.notna() & outcome.notna() & (as_of < outcome)
    rows = features.loc[keep].reset_index(drop=True)
    y = value.loc[keep].astype(dtype).reset_index(drop=True).rename(col)
    return rows, y


def known_overruns(
    projects: pd.DataFrame,
    snapshots: pd.DataFrame,
    target: str,
    threshold: float,
) -> pd.DataFrame:
    """Running projects whose schedule overrun was already certain: (project_id, known_date).

    A project still running cannot finish before today: one that reported, still active, after
    ``baseline_finish + threshold x planned duration`` will finish later than that, an overrun
    known from that date on. Only projects with no known outcome that are not cancelled are
    looked at (finished projects get their label from ``make_targets``). The known date is the
    first date at which the label was certain, so rows made before it are predictions and the
    label was known at it. Without these, a model trained at a date learns only from projects
    that had finished by then, which leaves out exactly the long, late ones (a censoring bias
    that makes early models under-predict).

    ``cost`` returns no projects: cumulative actual cost above the budget looks like the same
    kind of certainty, but reported actuals get corrected (in the simulator 7-14% of projects
    with actuals above 110% of budget still finished under it), so it is not certain.
    """
    empty = pd.DataFrame(
        {"project_id": pd.Series(dtype="object"), "known_date": pd.Series(dtype="datetime64[ns]")}
    )
    if target != "schedule" or len(snapshots) == 0:
        return empty
    proj = projects.drop_duplicates("project_id")
    status = (
        proj["status"]
        .astype("object")
        .map(lambda s: s.strip().lower() if isinstance(s, str) else None)
    )
    running = ~_has_outcome(proj) & (status != "cancelled") & proj["actual_finish"].isna()
    proj = proj.loc[running.to_numpy()]
    if proj.empty:
        return empty
    snaps = snapshots.loc[snapshots["project_id"].isin(proj["project_id"])]
    start = pd.to_datetime(proj["start_date"])
    baseline = pd.to_datetime(proj["baseline_finish"])
    planned = baseline - start
    certain = baseline + planned.where(planned > pd.Timedelta(0)) * threshold
    certain_at = pd.Series(certain.to_numpy(), index=proj["project_id"].to_numpy())
    last = pd.to_datetime(snaps["as_of"]).groupby(snaps["project_id"].to_numpy()).max()
    certain_at = certain_at.reindex(last.index)
    known = certain_at[certain_at.notna() & (last > certain_at)]
    out = pd.DataFrame({"project_id": known.index.astype("object"), "known_date": known.to_numpy()})
    return out.astype({"known_date": "datetime64[ns]"}).reset_index(drop=True)


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
    return _rows_before_outcome(features, targets, col, "float64")


# --- Forward target -------------------------------------------------------------------------

FORWARD_COLUMNS: tuple[str, ...] = (
    "project_id",
    "as_of",
    "window_end",
    "forward_slip_days",
    "forward_cost_growth",
    "forward_event",
)


def _days(values: pd.Series) -> np.ndarray:
    """Dates as float days since the epoch (NaN for NaT)."""
    dt = pd.to_datetime(values).astype("datetime64[ns]")
    out = dt.to_numpy().astype("int64").astype("float64") / 86_400e9
    out[dt.isna().to_numpy()] = np.nan
    return out


def forward_labels(
    projects: pd.DataFrame,
    snapshots: pd.DataFrame,
    *,
    horizon_months: int = 6,
    slip_days: float = 30.0,
    cost_growth: float = 0.05,
    tolerance_days: int = 15,
) -> pd.DataFrame:
    """One row per snapshot: did the forecast move beyond the thresholds within the window?

    For a report at ``as_of`` the window is ``(as_of, as_of + horizon_months]``. The current
    forecast at a report is its ``forecast_finish`` / ``forecast_cost``, carried forward from
    the project's earlier reports when blank, else the baseline (``baseline_finish``;
    ``baseline_budget``, else ``budget``). ``forward_slip_days`` is the largest move later of the
    forecast finish over the window's reports (and the actual finish when the project finished
    inside the window); ``forward_cost_growth`` the largest growth share of the forecast cost
    (and of the actual cost). ``forward_event`` is 1.0 when either exceeds its threshold, 0.0
    when neither does, and NaN when the window was not observed in full: the project must have
    reported again on or after ``window_end - tolerance_days``, or finished inside the window.
    Reports after ``window_end`` are never used, so labels computed from data truncated at a
    cut-off are exactly those known at the cut-off.
    """
    snaps = snapshots.sort_values(["project_id", "as_of"], kind="mergesort").reset_index(drop=True)
    n = len(snaps)
    if n == 0:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in FORWARD_COLUMNS})
    proj = projects.drop_duplicates("project_id").set_index("project_id")
    pid = snaps["project_id"].astype("object")

    def project_value(column: str) -> pd.Series:
        if column not in proj.columns:
            return pd.Series(np.nan, index=snaps.index)
        return pid.map(proj[column])

    as_of = _days(snaps["as_of"])
    window_end_ts = pd.to_datetime(snaps["as_of"]) + pd.DateOffset(months=horizon_months)
    window_end = _days(window_end_ts)

    finish = _days(snaps["forecast_finish"]) if "forecast_finish" in snaps else np.full(n, np.nan)
    finish = pd.Series(finish).groupby(pid.to_numpy()).ffill().to_numpy()
    finish = np.where(np.isnan(finish), _days(project_value("baseline_finish")), finish)
    cost_reported = pd.to_numeric(
        snaps.get("forecast_cost", pd.Series(np.nan, index=snaps.index))
    ).astype("float64")
    cost = cost_reported.groupby(pid.to_numpy()).ffill().to_numpy()
    budget = pd.to_numeric(project_value("baseline_budget")).astype("float64").to_numpy()
    current_budget = pd.to_numeric(snaps.get("budget", pd.Series(np.nan, index=snaps.index)))
    budget = np.where(np.isnan(budget), current_budget.astype("float64").to_numpy(), budget)
    cost = np.where(np.isnan(cost), budget, cost)

    known = _has_outcome(proj.reset_index()).to_numpy()
    outcome_known = pid.map(dict(zip(proj.index, known, strict=True))).fillna(False).to_numpy()
    actual_finish = np.where(outcome_known, _days(project_value("actual_finish")), np.nan)
    actual_cost = np.where(
        outcome_known, pd.to_numeric(project_value("actual_cost")).astype("float64"), np.nan
    )

    # Position of each row's last report inside its window, by binary search on a key that
    # orders projects first and dates second.
    codes = pd.factorize(pid)[0].astype("float64")
    span = np.nanmax(np.abs(np.concatenate([as_of, window_end]))) * 4 + 1e6
    keys = codes * span + as_of
    last_in_window = np.searchsorted(keys, codes * span + window_end, side="right") - 1
    last_of_project = np.searchsorted(keys, codes * span + span / 2, side="right") - 1

    max_finish = np.full(n, -np.inf)
    max_cost = np.full(n, -np.inf)
    idx = np.arange(n)
    longest = int(np.max(last_in_window - idx)) if n else 0
    for offset in range(1, longest + 1):
        j = idx + offset
        valid = j <= last_in_window
        jj = np.where(valid, j, idx)
        max_finish = np.where(valid, np.fmax(max_finish, finish[jj]), max_finish)
        max_cost = np.where(valid, np.fmax(max_cost, cost[jj]), max_cost)
    finished_inside = ~np.isnan(actual_finish) & (actual_finish <= window_end)
    max_finish = np.where(finished_inside, np.fmax(max_finish, actual_finish), max_finish)
    max_cost = np.where(
        finished_inside & ~np.isnan(actual_cost), np.fmax(max_cost, actual_cost), max_cost
    )
    max_finish[np.isneginf(max_finish)] = np.nan
    max_cost[np.isneginf(max_cost)] = np.nan

    slip = max_finish - finish
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(cost > 0, max_cost / cost - 1.0, np.nan)
    observed = (as_of[last_of_project] >= window_end - tolerance_days) | finished_inside
    event = ((slip > slip_days) | (growth > cost_growth)).astype("float64")
    unknown = np.isnan(slip) & np.isnan(growth)
    event[~observed | unknown] = np.nan
    no_window_report = (last_in_window <= idx) & ~finished_inside
    event[no_window_report] = np.nan
    return pd.DataFrame(
        {
            "project_id": pid.to_numpy(),
            "as_of": pd.to_datetime(snaps["as_of"]).astype("datetime64[ns]").to_numpy(),
            "window_end": window_end_ts.astype("datetime64[ns]").to_numpy(),
            "forward_slip_days": np.where(observed, slip, np.nan),
            "forward_cost_growth": np.where(observed, growth, np.nan),
            "forward_event": event,
        }
    )


def label_forward_rows(
    features: pd.DataFrame, labels: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Feature rows with a known forward label: (rows, 0/1 labels, window end), aligned index."""
    keyed = labels.dropna(subset=["forward_event"])[
        ["project_id", "as_of", "forward_event", "window_end"]
    ]
    merged = features.merge(keyed, on=["project_id", "as_of"], how="inner", sort=False)
    y = merged.pop("forward_event").astype("int64").rename("forward_event")
    window_end = pd.to_datetime(merged.pop("window_end")).rename("label_date")
    return merged, y, window_end
