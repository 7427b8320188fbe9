"""Behavioural tests of the risk models (Made-With-ML style): invariance and direction.

A small simulated portfolio goes through the real feature pipeline; one ``RiskClassifier`` per
target is trained directly, with monotone constraints on every feature the edits below move.
Each test edits the *inputs* a PMO would send (status reports), rebuilds the features and
compares each project's latest score before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from features.pipeline import build_features, feature_columns
from risk_model.estimator import RiskClassifier
from training.simulate import simulate_portfolio
from training.targets import label_rows, make_targets

#: +1: risk never falls as the feature rises; -1: never rises. Every feature that higher
#: actual cost (cost) or a later forecast finish (schedule) moves is listed.
MONOTONE: dict[str, dict[str, int]] = {
    "cost": {
        "cpi": -1,
        "cpi_change": -1,
        "cpi_trend": -1,
        "cpi_volatility": 1,
        "eac_bac_cpi": 1,
        "eac_bac_composite": 1,
        "ac_share": 1,
        "tcpi": 1,
        "tcpi_minus_cpi": 1,
        "forecast_cost_gap": 1,
        "forecast_cost_growth": 1,
    },
    "schedule": {
        "spi_t": -1,
        "ieac_t_share": 1,
        "forecast_slip": 1,
        "forecast_slip_change": 1,
        "forecast_slip_trend": 1,
        "forecast_slip_volatility": 1,
        "n_reestimates": 1,
    },
}
#: Left out of the behavioural models: ``forecast_slip_gap`` is earned-schedule slip minus
#: the reported slip, so a later reported forecast *lowers* it while it raises
#: ``forecast_slip``; with both as inputs no sign constraint can guarantee that a later
#: forecast never lowers schedule risk (and, trained with it, the margin does fall).
EXCLUDED: dict[str, tuple[str, ...]] = {"schedule": ("forecast_slip_gap",), "cost": ()}
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Portfolio:
    projects: pd.DataFrame
    snapshots: pd.DataFrame
    models: dict[str, RiskClassifier]
    columns: dict[str, list[str]]


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    sim = simulate_portfolio(300, seed=7)
    features = build_features(sim.projects, sim.snapshots)
    targets = make_targets(sim.projects)
    models, columns = {}, {}
    for target, monotone in MONOTONE.items():
        cols = [c for c in feature_columns(features) if c not in EXCLUDED[target]]
        X, y = label_rows(features, targets, target)
        order = X["as_of"].argsort(kind="stable").to_numpy()  # calibrate on the latest rows
        model = RiskClassifier(
            n_estimators=150,
            monotone={k: v for k, v in monotone.items() if k in cols},
            n_jobs=1,
            random_state=0,
        )
        models[target] = model.fit(X.iloc[order][cols], y.iloc[order])
        columns[target] = cols
    return Portfolio(sim.projects, sim.snapshots, models, columns)


def latest_risk(
    p: Portfolio, target: str, projects: pd.DataFrame, snapshots: pd.DataFrame
) -> pd.DataFrame:
    """Each project's margin (``raw``) and calibrated risk (``p``) at its latest report."""
    features = build_features(projects, snapshots)
    latest = features.sort_values(["project_id", "as_of"]).groupby("project_id").tail(1)
    X = latest[p.columns[target]]
    model = p.models[target]
    return pd.DataFrame(
        {"raw": model.predict_raw(X), "p": model.predict_proba(X)[:, 1]},
        index=pd.Index(latest["project_id"].to_numpy(), name="project_id"),
    )


def edited(snapshots: pd.DataFrame, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    return edit(snapshots.copy())


def costs_run_higher(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Actual cost of the last three reports raised by 5%, 10%, 20%: CPI falls, faster."""
    by_project = snapshots.groupby("project_id")
    for back, factor in ((3, 1.05), (2, 1.10), (1, 1.20)):
        rows = by_project.nth(-back).index
        snapshots.loc[rows, "actual_cost"] = snapshots.loc[rows, "actual_cost"] * factor
    return snapshots


def forecast_finish_later(snapshots: pd.DataFrame) -> pd.DataFrame:
    """The latest report forecasts the finish 90 days later than it did."""
    rows = snapshots.groupby("project_id").tail(1).index
    snapshots.loc[rows, "forecast_finish"] = snapshots.loc[rows, "forecast_finish"] + pd.Timedelta(
        days=90
    )
    return snapshots


def test_rising_costs_never_lower_cost_risk(portfolio: Portfolio) -> None:
    """A project whose CPI worsens (higher actual cost lately) never gets a lower cost risk."""
    before = latest_risk(portfolio, "cost", portfolio.projects, portfolio.snapshots)
    after = latest_risk(
        portfolio, "cost", portfolio.projects, edited(portfolio.snapshots, costs_run_higher)
    )
    change = after - before.reindex(after.index)
    for col in ("raw", "p"):
        falls = change[col] < -TOLERANCE
        assert not falls.any(), change.loc[falls, col].sort_values().head()
    assert change["p"].mean() > 0.01
    assert (change["raw"] > TOLERANCE).mean() > 0.5


def test_later_forecast_finish_raises_schedule_risk(portfolio: Portfolio) -> None:
    """Pushing the reported forecast finish later never lowers, and on average raises, risk."""
    before = latest_risk(portfolio, "schedule", portfolio.projects, portfolio.snapshots)
    after = latest_risk(
        portfolio,
        "schedule",
        portfolio.projects,
        edited(portfolio.snapshots, forecast_finish_later),
    )
    change = after - before.reindex(after.index)
    for col in ("raw", "p"):
        falls = change[col] < -TOLERANCE
        assert not falls.any(), change.loc[falls, col].sort_values().head()
    assert change["p"].mean() > 0.01
    assert (change["raw"] > TOLERANCE).mean() > 0.5


@pytest.mark.parametrize("target", ["schedule", "cost"])
def test_project_name_and_id_change_nothing(portfolio: Portfolio, target: str) -> None:
    """Renaming projects (new ids that sort differently, new names) leaves every risk as is."""
    ids = portfolio.projects["project_id"]
    new_ids = {old: f"Z-{len(ids) - i:04d}" for i, old in enumerate(ids)}
    projects = portfolio.projects.assign(
        project_id=ids.map(new_ids), name="Renamed " + ids.map(new_ids)
    )
    snapshots = portfolio.snapshots.assign(
        project_id=portfolio.snapshots["project_id"].map(new_ids)
    ).iloc[::-1]
    before = latest_risk(portfolio, target, portfolio.projects, portfolio.snapshots)
    after = latest_risk(portfolio, target, projects, snapshots)
    after.index = after.index.map({v: k for k, v in new_ids.items()})
    pd.testing.assert_frame_equal(after.reindex(before.index), before)


def test_projects_far_behind_are_riskier_than_projects_on_track(portfolio: Portfolio) -> None:
    """Minimum functionality: the worst reported slips get a higher mean schedule risk."""
    features = build_features(portfolio.projects, portfolio.snapshots)
    rows = features.dropna(subset=["forecast_slip"])
    p = portfolio.models["schedule"].predict_proba(rows[portfolio.columns["schedule"]])[:, 1]
    slip = rows["forecast_slip"].to_numpy()
    worst, best = slip >= np.quantile(slip, 0.9), slip <= np.quantile(slip, 0.1)
    assert p[worst].mean() > p[best].mean() + 0.2
