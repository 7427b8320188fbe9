"""Labels per project and the report rows that may learn from them."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from risk_model.schemas import conform_projects
from training.targets import (
    TARGET_COLUMNS,
    label_column,
    label_rows,
    make_targets,
    ratio_column,
    ratio_rows,
)


def _projects() -> pd.DataFrame:
    # Planned duration 100 days (2024-01-01 -> 2024-04-10).
    base = {"start_date": "2024-01-01", "baseline_finish": "2024-04-10", "baseline_budget": 1000.0}
    rows = [
        {
            "project_id": "late",
            "actual_finish": "2024-04-25",
            "actual_cost": 1050.0,
            "status": "completed",
        },  # 15 days late = 15 %, cost +5 %
        {
            "project_id": "ontime",
            "actual_finish": "2024-04-10",
            "actual_cost": 1200.0,
            "status": "completed",
        },  # on time, cost +20 %
        {
            "project_id": "edge",
            "actual_finish": "2024-04-20",
            "actual_cost": 1100.0,
            "status": "completed",
        },  # exactly 10 %: not over the threshold
        {"project_id": "active", "actual_finish": None, "actual_cost": None, "status": "active"},
        {
            "project_id": "cancelled",
            "actual_finish": "2024-03-01",
            "actual_cost": 500.0,
            "status": "cancelled",
        },
        {
            "project_id": "nostatus",
            "actual_finish": "2024-05-20",
            "actual_cost": 900.0,
            "status": None,
        },  # 40 % late, cost -10 %
        {
            "project_id": "nobudget",
            "actual_finish": "2024-04-10",
            "actual_cost": 900.0,
            "status": "completed",
            "baseline_budget": None,
        },
        {
            "project_id": "nofinish",
            "actual_finish": None,
            "actual_cost": 900.0,
            "status": "completed",
        },
    ]
    return conform_projects(pd.DataFrame([{**base, **r} for r in rows]))


def _by_id(targets: pd.DataFrame) -> pd.DataFrame:
    return targets.set_index("project_id")


def test_make_targets_has_the_contract_columns() -> None:
    """It returns one row per project with the declared columns and a plain index."""
    t = make_targets(_projects())
    assert tuple(t.columns) == TARGET_COLUMNS
    assert len(t) == 8
    assert list(t.index) == list(range(8))


def test_late_by_15_percent_is_a_schedule_overrun() -> None:
    """15 days late on 100 planned days is ratio 0.15 > 0.10, label 1; cost +5 % is 0."""
    t = _by_id(make_targets(_projects())).loc["late"]
    assert t["schedule_ratio"] == pytest.approx(0.15)
    assert t["schedule_overrun"] == 1.0
    assert t["cost_ratio"] == pytest.approx(0.05)
    assert t["cost_overrun"] == 0.0
    assert t["outcome_date"] == pd.Timestamp("2024-04-25")


def test_on_time_is_not_a_schedule_overrun_but_20_percent_cost_is() -> None:
    """On time gives ratio 0 and label 0; actual 1200 on budget 1000 is cost ratio 0.2, label 1."""
    t = _by_id(make_targets(_projects())).loc["ontime"]
    assert t["schedule_ratio"] == 0.0
    assert t["schedule_overrun"] == 0.0
    assert t["cost_ratio"] == pytest.approx(0.2)
    assert t["cost_overrun"] == 1.0


def test_exactly_at_the_threshold_is_not_an_overrun() -> None:
    """The label needs the ratio to be strictly above the threshold."""
    t = _by_id(make_targets(_projects())).loc["edge"]
    assert t["schedule_ratio"] == pytest.approx(0.10)
    assert t["schedule_overrun"] == 0.0


def test_active_cancelled_and_unfinished_projects_get_no_label() -> None:
    """Active, cancelled and completed-without-finish-date projects are NaN for both targets."""
    t = _by_id(make_targets(_projects()))
    for pid in ("active", "cancelled", "nofinish"):
        row = t.loc[pid]
        assert math.isnan(row["schedule_overrun"]) and math.isnan(row["cost_overrun"]), pid
        assert pd.isna(row["outcome_date"]), pid


def test_finish_date_without_status_counts_as_completed() -> None:
    """A project with an actual finish and no status is labelled: 40 % late, cost -10 %."""
    row = _by_id(make_targets(_projects())).loc["nostatus"]
    assert row["schedule_ratio"] == pytest.approx(0.40)
    assert row["schedule_overrun"] == 1.0
    assert row["cost_ratio"] == pytest.approx(-0.10)
    assert row["cost_overrun"] == 0.0


def test_missing_baseline_budget_leaves_only_cost_unknown() -> None:
    """No baseline budget: cost ratio and label NaN, schedule label still known."""
    row = _by_id(make_targets(_projects())).loc["nobudget"]
    assert math.isnan(row["cost_ratio"]) and math.isnan(row["cost_overrun"])
    assert row["schedule_overrun"] == 0.0


def test_thresholds_are_parameters() -> None:
    """A 20 % schedule threshold turns the 15 %-late project into a non-overrun."""
    t = _by_id(make_targets(_projects(), schedule_threshold=0.2, cost_threshold=0.01))
    assert t.loc["late", "schedule_overrun"] == 0.0
    assert t.loc["late", "cost_overrun"] == 1.0


def test_make_targets_does_not_mutate_its_input() -> None:
    """The projects frame is unchanged after computing targets."""
    projects = _projects()
    before = projects.copy()
    make_targets(projects)
    pd.testing.assert_frame_equal(projects, before)


def test_duplicate_project_ids_are_rejected() -> None:
    """Two rows for one project are a data error, not something to label twice."""
    projects = pd.concat([_projects().iloc[:1]] * 2)
    with pytest.raises(ValueError, match="more than once"):
        make_targets(projects)


def test_label_rows_drops_post_outcome_rows_and_unlabelled_projects() -> None:
    """Only reports strictly before the finish of a labelled project are kept, with its label."""
    features = pd.DataFrame(
        {
            "project_id": ["late", "late", "late", "ontime", "active", "cancelled", "ghost"],
            "as_of": pd.to_datetime(
                [
                    "2024-02-01",
                    "2024-04-24",
                    "2024-04-25",
                    "2024-03-01",
                    "2024-03-01",
                    "2024-02-01",
                    "2024-02-01",
                ]
            ),
            "spi": [0.9, 0.8, 0.7, 1.0, 1.0, 1.0, 1.0],
        }
    )
    X, y = label_rows(features, make_targets(_projects()), "schedule")
    assert list(X["project_id"]) == ["late", "late", "ontime"]
    assert list(X["spi"]) == [0.9, 0.8, 1.0]
    assert list(y) == [1, 1, 0]
    assert y.name == "schedule_overrun"
    assert list(X.index) == list(y.index)
    assert list(X.columns) == ["project_id", "as_of", "spi"]


def test_label_rows_uses_the_requested_target() -> None:
    """The cost label of 'ontime' (cost +20 %) is 1 while its schedule label is 0."""
    features = pd.DataFrame(
        {"project_id": ["ontime", "nobudget"], "as_of": pd.to_datetime(["2024-03-01"] * 2)}
    )
    targets = make_targets(_projects())
    X, y = label_rows(features, targets, "cost")
    assert list(X["project_id"]) == ["ontime"]
    assert list(y) == [1]
    _, y_s = label_rows(features, targets, "schedule")
    assert list(y_s) == [0, 0]


def test_unknown_target_is_rejected() -> None:
    """Only the configured targets have labels."""
    with pytest.raises(ValueError, match="unknown target"):
        label_column("quality")


def test_ratio_rows_keep_the_label_rows_with_the_overrun_size() -> None:
    """Same rows as label_rows (before finish, known outcome), valued by the ratio."""
    features = pd.DataFrame(
        {
            "project_id": ["late", "late", "ontime", "active", "nobudget"],
            "as_of": pd.to_datetime(
                ["2024-02-01", "2024-04-25", "2024-03-01", "2024-03-01", "2024-03-01"]
            ),
        }
    )
    targets = make_targets(_projects())
    X, y = ratio_rows(features, targets, "cost")
    assert list(X["project_id"]) == ["late", "ontime"]
    assert list(y) == pytest.approx([0.05, 0.20])
    assert y.name == "cost_ratio" == ratio_column("cost")
    assert y.dtype == "float64"
    assert list(X.index) == list(y.index)
    _, y_s = ratio_rows(features, targets, "schedule")
    assert list(y_s) == pytest.approx([0.15, 0.0, 0.0])


def test_ratio_rows_need_a_ratio_column() -> None:
    """A targets frame without the target's ratio has no size to learn."""
    features = pd.DataFrame({"project_id": ["late"], "as_of": pd.to_datetime(["2024-02-01"])})
    targets = make_targets(_projects()).drop(columns=["cost_ratio"])
    with pytest.raises(KeyError, match="cost_ratio"):
        ratio_rows(features, targets, "cost")
