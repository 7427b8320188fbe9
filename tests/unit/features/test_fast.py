"""The one-project fast path equals ``build_features`` exactly, on generated histories."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.fast import day_number, latest_features, project_features
from features.pipeline import build_features
from features.registry import CATEGORICAL
from risk_model.schemas import SCHEDULE_QUALITY_FIELDS, conform_projects, conform_snapshots

DAY0 = date(2020, 1, 1)
money = st.one_of(st.none(), st.floats(0, 5e7, allow_nan=False), st.just(0.0))
counts = st.one_of(st.none(), st.integers(0, 60))


@st.composite
def histories(draw: Any) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, float]]:
    start = draw(st.one_of(st.none(), st.integers(0, 900).map(lambda d: DAY0 + timedelta(d))))
    length = draw(st.one_of(st.none(), st.integers(-30, 1500)))
    finish = start + timedelta(length) if start is not None and length is not None else None
    project = {
        "project_id": "P-1",
        "category": draw(st.one_of(st.none(), st.sampled_from(["IT", "Bridges", "Roads"]))),
        "start_date": start,
        "baseline_finish": finish,
        "baseline_budget": draw(money),
    }
    offsets = draw(st.lists(st.integers(-60, 1800), max_size=30, unique=True))
    base = start or DAY0
    reports = []
    for k in sorted(offsets):
        r: dict[str, Any] = {
            "as_of": base + timedelta(k),
            "percent_complete": draw(st.one_of(st.none(), st.floats(0, 100))),
            "planned_value": draw(money),
            "earned_value": draw(money),
            "actual_cost": draw(money),
            "forecast_finish": draw(
                st.one_of(st.none(), st.integers(0, 3000).map(lambda d: DAY0 + timedelta(d)))
            ),
            "forecast_cost": draw(money),
            "budget": draw(money),
            "rag": draw(st.one_of(st.none(), st.sampled_from(["red", "amber", "green"]))),
            "open_risks": draw(counts),
            "open_issues": draw(counts),
            "change_requests": draw(counts),
        }
        if draw(st.booleans()):
            for name in SCHEDULE_QUALITY_FIELDS:
                r[name] = draw(st.one_of(st.none(), st.floats(0, 2)))
        reports.append(r)
    if draw(st.booleans()):
        reports = list(reversed(reports))  # input order does not matter
    attributes = draw(
        st.dictionaries(st.sampled_from(["team_size", "risk_score"]), st.floats(0, 99))
    )
    return project, reports, attributes


def _frames(
    project: dict[str, Any], reports: list[dict[str, Any]], attributes: dict[str, float]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    projects = pd.DataFrame([{**project, **attributes}])
    for col in ("start_date", "baseline_finish"):
        projects[col] = pd.to_datetime(projects[col])
    snapshots = pd.DataFrame([{**r, "project_id": project["project_id"]} for r in reports])
    if len(snapshots):
        for col in ("as_of", "forecast_finish"):
            snapshots[col] = pd.to_datetime(snapshots[col])
    return conform_projects(projects), conform_snapshots(snapshots)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return (np.isnan(a) and np.isnan(b)) or a == b


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_every_row_equals_build_features(
    history: tuple[dict[str, Any], list[dict[str, Any]], dict[str, float]],
) -> None:
    """Every feature of every row is identical (NaN where build_features has NaN)."""
    project, reports, attributes = history
    fast = project_features(project, reports, attributes=attributes, latest_only=False)
    slow = build_features(*_frames(project, reports, attributes))
    assert len(fast) == len(slow)
    for got, (_, want) in zip(fast, slow.iterrows(), strict=True):
        assert got["project_id"] == want["project_id"]
        assert _same(got["as_of"], day_number(None if pd.isna(want["as_of"]) else want["as_of"]))
        for col in slow.columns[2:]:
            value = want[col]
            if col in CATEGORICAL:
                value = None if value is None or pd.isna(value) else value
            assert _same(got[col], value), (col, got[col], value)
        assert set(got) == set(slow.columns)


def test_latest_only_is_the_last_row() -> None:
    project = {
        "project_id": "P",
        "start_date": date(2024, 1, 1),
        "baseline_finish": date(2025, 1, 1),
    }
    reports = [
        {
            "as_of": date(2024, 3, 31),
            "planned_value": 10.0,
            "earned_value": 8.0,
            "actual_cost": 9.0,
        },
        {
            "as_of": date(2024, 6, 30),
            "planned_value": 20.0,
            "earned_value": 15.0,
            "actual_cost": 22.0,
        },
    ]
    (latest,) = project_features(project, reports)
    rows = project_features(project, reports, latest_only=False)
    assert latest.keys() == rows[-1].keys() and len(rows) == 2
    assert all(_same(latest[k], rows[-1][k]) for k in latest)
    assert latest["n_reports"] == 2
    assert latest["cpi"] == 15.0 / 22.0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(histories(), min_size=1, max_size=6))
def test_many_projects_at_once_equal_each_project_alone(
    many: list[tuple[dict[str, Any], list[dict[str, Any]], dict[str, float]]],
) -> None:
    """``latest_features`` over several projects gives each project's own latest row."""
    items = [({**p, "project_id": f"P-{i}"}, r, a) for i, (p, r, a) in enumerate(many)]
    together = latest_features(items)
    assert len(together) == len(items)
    for got, (project, reports, attributes) in zip(together, items, strict=True):
        (alone,) = project_features(project, reports, attributes=attributes)
        assert got.keys() == alone.keys()
        assert all(_same(got[k], alone[k]) for k in alone), project["project_id"]
