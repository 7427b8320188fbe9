"""Small, seeded project histories for the feature tests.

``tiny``: project A (100 planned days, BAC 1000) with four reports whose EVM values are
round numbers, project B (one report ahead of its PV curve) and project E (no reports).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

Portfolio = tuple[pd.DataFrame, pd.DataFrame]


@pytest.fixture
def tiny() -> Portfolio:
    projects = pd.DataFrame(
        {
            "project_id": ["A", "B", "E"],
            "category": ["IT", "Bridges", "Roads"],
            "start_date": ["2024-01-01", "2024-01-01", "2024-03-01"],
            "baseline_finish": ["2024-04-10", "2024-04-10", "2024-12-01"],
            "baseline_budget": [1000.0, 1000.0, 250_000.0],
            "actual_finish": ["2024-06-01", None, None],
            "actual_cost": [1500.0, None, None],
            "status": ["completed", "active", "active"],
            "complexity": [3, 1, 2],
        }
    )
    snapshots = pd.DataFrame(
        {
            "project_id": ["A", "A", "A", "A", "B"],
            # A: t = 10, 30, 50, 70 days after start; B: t = 10
            "as_of": ["2024-01-11", "2024-01-31", "2024-02-20", "2024-03-11", "2024-01-11"],
            "percent_complete": [None, None, 42.0, None, None],
            "planned_value": [100.0, 300.0, 500.0, 700.0, 100.0],
            "earned_value": [50.0, 200.0, 400.0, 500.0, 150.0],
            "actual_cost": [100.0, 250.0, 500.0, 700.0, 150.0],
            "forecast_finish": ["2024-04-10", "2024-04-20", "2024-04-30", "2024-04-30", None],
            "forecast_cost": [1000.0, 1100.0, 1250.0, 1250.0, None],
            "budget": [1000.0, 1000.0, 1100.0, 1100.0, None],
            "rag": ["green", "amber", "amber", "red", None],
            "open_risks": [2.0, 4.0, 5.0, 6.0, None],
            "open_issues": [1.0, 1.0, 2.0, 2.0, None],
            "change_requests": [0.0, 1.0, 2.0, 4.0, None],
        }
    )
    return projects, snapshots


def _random_portfolio(seed: int, n_projects: int = 30) -> Portfolio:
    rng = np.random.default_rng(seed)
    ids = [f"P{i:03d}" for i in range(n_projects)]
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n_projects), "D")
    duration = rng.integers(60, 700, n_projects)
    projects = pd.DataFrame(
        {
            "project_id": ids,
            "category": rng.choice(["IT", "Roads", "Bridges"], n_projects),
            "start_date": start,
            "baseline_finish": start + pd.to_timedelta(duration, "D"),
            "baseline_budget": np.where(
                rng.random(n_projects) < 0.1, np.nan, 10 ** rng.uniform(3, 7, n_projects)
            ),
            "actual_finish": start + pd.to_timedelta(duration * rng.uniform(0.9, 1.6), "D"),
            "actual_cost": 10 ** rng.uniform(3, 7, n_projects),
            "status": "completed",
            "size_score": rng.normal(size=n_projects),
        }
    )
    rows = []
    for i, pid in enumerate(ids):
        n_rep = int(rng.integers(0, 10))
        days = np.sort(rng.choice(np.arange(1, 900), n_rep, replace=False))
        bac = projects["baseline_budget"].iloc[i]
        bac = 1e5 if np.isnan(bac) else bac
        pv = np.sort(rng.uniform(0, 1.1 * bac, n_rep))
        for j, d in enumerate(days):
            rows.append(
                {
                    "project_id": pid,
                    "as_of": start[i] + pd.Timedelta(days=int(d)),
                    "planned_value": pv[j],
                    "earned_value": pv[j] * rng.uniform(0.5, 1.2),
                    "actual_cost": pv[j] * rng.uniform(0.6, 1.5),
                    "forecast_finish": start[i] + pd.Timedelta(days=int(duration[i] * 1.2)),
                    "forecast_cost": bac * rng.choice([1.0, 1.1, 1.3]),
                    "budget": bac * rng.choice([1.0, 1.05]),
                    "rag": rng.choice(["red", "amber", "green"]),
                    "open_risks": float(rng.integers(0, 9)),
                    "open_issues": float(rng.integers(0, 5)),
                    "change_requests": float(j),
                    "percent_complete": rng.choice([np.nan, 10.0 * j]),
                }
            )
    snapshots = pd.DataFrame(rows)
    # holes: any field may be missing in any report
    for col in snapshots.columns[2:]:
        holes = rng.random(len(snapshots)) < 0.15
        snapshots[col] = snapshots[col].astype(object).where(~holes, None)
    return projects, snapshots


@pytest.fixture
def random_portfolio() -> Callable[[int], Portfolio]:
    """A seeded random portfolio: 30 projects, 0-9 reports each, 15% of fields missing."""
    return _random_portfolio


@pytest.fixture
def tiny_features(tiny: Portfolio) -> pd.DataFrame:
    """build_features of ``tiny``, indexed by (project_id, as_of) for easy lookup."""
    from features.pipeline import build_features

    return build_features(*tiny).set_index(["project_id", "as_of"])


def at(frame: pd.DataFrame, project_id: str, as_of: str) -> pd.Series:
    """The feature row of a project at a date."""
    return frame.loc[(project_id, pd.Timestamp(as_of))]


@pytest.fixture
def row() -> Callable[[pd.DataFrame, str, str], pd.Series]:
    return at
