"""Running projects whose schedule overrun was already certain become labelled rows (label 1)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.pipeline import build_features
from risk_model.config import Settings
from risk_model.schemas import conform_projects, conform_snapshots
from training.backtest import history_at
from training.labels import labelled_rows
from training.simulate import simulate_portfolio
from training.targets import known_overruns, make_targets


def _portfolio() -> tuple[pd.DataFrame, pd.DataFrame]:
    # Planned 2024-01-01 -> 2024-04-10 (100 days): certainly late once a report after
    # 2024-04-20 (baseline + 10% of 100 days) says the project is still running.
    base = {"start_date": "2024-01-01", "baseline_finish": "2024-04-10", "baseline_budget": 1000.0}
    projects = conform_projects(
        pd.DataFrame(
            [
                {**base, "project_id": "running_late", "status": "active"},
                {**base, "project_id": "running_on_time", "status": "active"},
                {**base, "project_id": "cancelled", "status": "cancelled"},
                {
                    **base,
                    "project_id": "finished",
                    "status": "completed",
                    "actual_finish": "2024-04-05",
                    "actual_cost": 2000.0,
                },
            ]
        )
    )
    reports = {
        "running_late": ["2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"],
        "running_on_time": ["2024-02-01", "2024-03-01", "2024-04-01", "2024-04-15"],
        "cancelled": ["2024-02-01", "2024-05-01"],
        "finished": ["2024-02-01", "2024-03-01", "2024-04-01"],
    }
    snapshots = conform_snapshots(
        pd.DataFrame(
            [
                {"project_id": pid, "as_of": d, "percent_complete": 10.0, "actual_cost": 5000.0}
                for pid, dates in reports.items()
                for d in dates
            ]
        )
    )
    return projects, snapshots


def test_only_a_running_project_reported_past_the_threshold_date_is_known_late() -> None:
    projects, snapshots = _portfolio()
    known = known_overruns(projects, snapshots, "schedule", 0.10)
    assert known["project_id"].tolist() == ["running_late"]
    # Certain from baseline finish + 10% of the planned 100 days.
    assert known["known_date"].iloc[0] == pd.Timestamp("2024-04-20")


def test_a_higher_threshold_needs_a_later_report() -> None:
    projects, snapshots = _portfolio()
    assert known_overruns(projects, snapshots, "schedule", 0.25).empty


def test_cost_is_never_taken_as_certain_from_reported_actuals() -> None:
    # Every project reports actual cost 5x its budget: still no cost label without a finish.
    projects, snapshots = _portfolio()
    assert known_overruns(projects, snapshots, "cost", 0.10).empty


def test_labelled_rows_add_every_report_of_the_known_late_project(tmp_path: Path) -> None:
    projects, snapshots = _portfolio()
    settings = Settings(home=tmp_path)
    features = build_features(projects, snapshots)
    labelled = labelled_rows(features, projects, snapshots, "schedule", settings)
    late = labelled.rows["project_id"] == "running_late"
    assert late.sum() == 4
    assert (labelled.y[late] == 1).all()
    assert (labelled.label_date[late] == pd.Timestamp("2024-04-20")).all()
    assert labelled.ratio[late].isna().all()  # the size is not known yet
    assert set(labelled.rows["project_id"]) == {"running_late", "finished"}
    cost = labelled_rows(features, projects, snapshots, "cost", settings)
    assert set(cost.rows["project_id"]) == {"finished"}


def test_a_label_known_at_a_cutoff_is_the_label_the_project_ends_with() -> None:
    # The rule uses only what the cut history holds, and it is never wrong afterwards.
    sim = simulate_portfolio(300, seed=3)
    final = make_targets(sim.projects).set_index("project_id")["schedule_overrun"]
    checked = 0
    for cut in pd.to_datetime(["2020-06-01", "2021-03-01", "2021-12-01"]):
        projects, snapshots = history_at(sim.projects, sim.snapshots, cut)
        known = known_overruns(projects, snapshots, "schedule", 0.10)
        assert (known["known_date"] <= cut).all()
        outcome = final.reindex(known["project_id"]).dropna()
        assert (outcome == 1.0).all()
        checked += len(outcome)
    assert checked > 10
