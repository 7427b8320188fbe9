"""The synthetic portfolio: determinism, schema, EVM physics, outcome rates, calibrated oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_model.schemas import (
    PROJECT_FIELDS,
    RAG_VALUES,
    SNAPSHOT_FIELDS,
    conform_projects,
    conform_snapshots,
)
from training.simulate import (
    EXTRA_PROJECT_COLUMNS,
    ORACLE_COLUMNS,
    SimulatedPortfolio,
    s_curve,
    simulate_portfolio,
)
from training.targets import make_targets

AS_OF = "2022-06-30"
LATE = "2070-01-01"  # every project has finished by then: outcomes are not censored


@pytest.fixture(scope="module")
def small() -> SimulatedPortfolio:
    return simulate_portfolio(400, seed=5, as_of=AS_OF)


@pytest.fixture(scope="module")
def large() -> SimulatedPortfolio:
    return simulate_portfolio(3000, seed=9, as_of=LATE)


@pytest.fixture(scope="module")
def large_labels(large: SimulatedPortfolio) -> pd.DataFrame:
    targets = make_targets(large.projects)
    return targets.merge(large.projects[["project_id", "category"]], on="project_id")


def _with_plan(p: SimulatedPortfolio) -> pd.DataFrame:
    cols = ["project_id", "start_date", "baseline_finish", "baseline_budget"]
    return p.snapshots.merge(p.projects[cols], on="project_id")


def test_same_seed_gives_identical_frames(small: SimulatedPortfolio) -> None:
    again = simulate_portfolio(400, seed=5, as_of=AS_OF)
    pd.testing.assert_frame_equal(small.projects, again.projects)
    pd.testing.assert_frame_equal(small.snapshots, again.snapshots)
    pd.testing.assert_frame_equal(small.oracle, again.oracle)


def test_different_seed_gives_different_frames(small: SimulatedPortfolio) -> None:
    other = simulate_portfolio(400, seed=6, as_of=AS_OF)
    assert not small.projects["baseline_budget"].equals(other.projects["baseline_budget"])
    assert not small.projects["category"].equals(other.projects["category"])


def test_frames_are_already_canonical(small: SimulatedPortfolio) -> None:
    projects, snapshots = small.projects, small.snapshots
    assert list(projects.columns) == [*PROJECT_FIELDS, *EXTRA_PROJECT_COLUMNS]
    assert list(snapshots.columns) == list(SNAPSHOT_FIELDS)
    pd.testing.assert_frame_equal(conform_projects(projects), projects)
    pd.testing.assert_frame_equal(conform_snapshots(snapshots), snapshots)
    assert projects["start_date"].dtype == "datetime64[ns]"
    assert snapshots["forecast_finish"].dtype == "datetime64[ns]"
    assert projects["project_id"].dtype == object and snapshots["rag"].dtype == object
    assert snapshots["change_requests"].dtype == "float64"
    assert projects["project_id"].str.fullmatch(r"P\d{5}").all()
    assert projects["project_id"].is_unique
    assert set(projects["currency"]) == {"USD"}
    assert projects["category"].nunique() >= 5 and projects["portfolio"].nunique() >= 3
    assert set(snapshots["rag"]) <= set(RAG_VALUES)


def test_one_report_per_project_and_date_aligned_with_oracle(small: SimulatedPortfolio) -> None:
    snaps, oracle = small.snapshots, small.oracle
    assert not snaps.duplicated(["project_id", "as_of"]).any()
    assert list(oracle.columns) == list(ORACLE_COLUMNS)
    pd.testing.assert_frame_equal(
        oracle[["project_id", "as_of"]], snaps[["project_id", "as_of"]], check_dtype=False
    )
    probs = oracle[["p_schedule_oracle", "p_cost_oracle"]].to_numpy()
    assert np.isfinite(probs).all() and (probs >= 0).all() and (probs <= 1).all()


def test_planned_value_is_an_s_curve_ending_at_the_baseline_budget(
    small: SimulatedPortfolio,
) -> None:
    rows = _with_plan(small)
    plan_days = (rows["baseline_finish"] - rows["start_date"]).dt.days
    elapsed = (rows["as_of"] - rows["start_date"]).dt.days / plan_days
    share = rows["planned_value"] / rows["baseline_budget"]
    assert np.allclose(share, s_curve(elapsed.to_numpy()), atol=1e-5)
    after = elapsed >= 1
    assert after.any()
    assert (rows.loc[after, "planned_value"] == rows.loc[after, "baseline_budget"]).all()
    x = np.linspace(0, 1, 101)
    assert s_curve(x)[0] == 0 and s_curve(x)[-1] == pytest.approx(1)
    slope = np.diff(s_curve(x))
    assert (slope > 0).all() and slope.argmax() not in (0, len(slope) - 1)  # slow, fast, slow


def test_cumulative_measures_never_fall(small: SimulatedPortfolio) -> None:
    grouped = small.snapshots.groupby("project_id")
    for col in ("planned_value", "earned_value", "actual_cost", "change_requests", "budget"):
        assert (grouped[col].diff().dropna() >= 0).all(), col


def test_percent_complete_matches_earned_value(small: SimulatedPortfolio) -> None:
    rows = _with_plan(small)
    pct = rows["percent_complete"]
    assert pct.between(0, 100).all()
    assert np.allclose(rows["earned_value"] / rows["baseline_budget"] * 100, pct, atol=0.01)
    assert (rows["forecast_cost"] >= rows["actual_cost"]).all()
    assert (rows["forecast_finish"] > rows["as_of"]).all()


def test_outcomes_only_for_finished_projects_and_no_report_after_as_of(
    small: SimulatedPortfolio,
) -> None:
    projects, snaps = small.projects, small.snapshots
    cutoff = pd.Timestamp(AS_OF)
    done = projects["status"] == "completed"
    active = projects["status"] == "active"
    assert done.any() and active.any()
    assert set(projects["status"]) <= {"active", "completed", "cancelled"}
    assert projects.loc[done, ["actual_finish", "actual_cost"]].notna().all().all()
    assert (projects.loc[done, "actual_finish"] <= cutoff).all()
    assert projects.loc[active, ["actual_finish", "actual_cost"]].isna().all().all()
    assert (snaps["as_of"] <= cutoff).all()
    last = snaps.groupby("project_id")["as_of"].max()
    finish = projects.set_index("project_id").loc[last.index, "actual_finish"]
    assert (last[finish.notna()] < finish.dropna()).all()


def test_projects_start_staggered_and_report_monthly(small: SimulatedPortfolio) -> None:
    starts = small.projects["start_date"]
    assert starts.min() < pd.Timestamp("2018-04-01") and starts.max() > pd.Timestamp("2022-01-01")
    gaps = small.snapshots.groupby("project_id")["as_of"].diff().dropna().dt.days
    assert set(gaps) == {30}


def test_overrun_rates_resemble_published_ones(large_labels: pd.DataFrame) -> None:
    done = large_labels.dropna(subset=["schedule_overrun"])
    assert len(done) > 2500
    assert 0.50 <= done["schedule_overrun"].mean() <= 0.70
    assert 0.35 <= done["cost_overrun"].mean() <= 0.55
    by_cat = done.groupby("category")[["schedule_overrun", "cost_overrun"]].mean()
    assert by_cat["schedule_overrun"].between(0.35, 0.80).all()
    assert by_cat.loc["Rail", "cost_overrun"] > by_cat.loc["Roads", "cost_overrun"]
    it = done.loc[done["category"] == "IT", "cost_ratio"]
    doubled = (it > 1.0).mean()  # cost above twice the budget
    assert 0.01 <= doubled <= 0.15
    assert it.max() > 1.5  # the fat tail reaches 2.5x and beyond


def test_average_project_has_about_two_years_of_reports(large: SimulatedPortfolio) -> None:
    done = large.projects.loc[large.projects["status"] == "completed", "project_id"]
    per_project = large.snapshots[large.snapshots["project_id"].isin(done)].groupby("project_id")
    assert 18 <= per_project.size().mean() <= 32


@pytest.mark.parametrize("target", ["schedule", "cost"])
def test_oracle_is_calibrated(
    large: SimulatedPortfolio, large_labels: pd.DataFrame, target: str
) -> None:
    rows = large.oracle.merge(large_labels, on="project_id")
    rows = rows.dropna(subset=[f"{target}_overrun"])
    p, y = rows[f"p_{target}_oracle"], rows[f"{target}_overrun"]
    bins = pd.cut(p, np.linspace(0, 1, 11), include_lowest=True)
    table = pd.DataFrame({"p": p, "y": y}).groupby(bins, observed=True).agg(["mean", "size"])
    big = table[("p", "size")] >= 500
    assert big.sum() >= 6
    gap = (table[("p", "mean")] - table[("y", "mean")])[big].abs()
    assert gap.max() < 0.06, gap
    assert abs(p.mean() - y.mean()) < 0.03


def test_oracle_sharpens_as_the_project_advances(
    large: SimulatedPortfolio, large_labels: pd.DataFrame
) -> None:
    rows = large.oracle.merge(large_labels, on="project_id").dropna(subset=["schedule_overrun"])
    first = rows.groupby("project_id").head(1)
    late = rows.groupby("project_id").tail(1)
    brier_first = ((first["p_schedule_oracle"] - first["schedule_overrun"]) ** 2).mean()
    brier_late = ((late["p_schedule_oracle"] - late["schedule_overrun"]) ** 2).mean()
    assert brier_late < 0.5 * brier_first < 0.5 * 0.25


def test_hidden_drivers_are_not_columns(small: SimulatedPortfolio) -> None:
    hidden = ("z_", "optimism", "scope", "instab", "contractor", "mu_", "var_", "blow", "hidden")
    for frame in (small.projects, small.snapshots, small.oracle):
        for col in frame.columns:
            assert not any(h in col for h in hidden), col


def test_rejects_empty_portfolio() -> None:
    with pytest.raises(ValueError, match="n_projects"):
        simulate_portfolio(0)
