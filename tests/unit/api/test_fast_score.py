"""The fast path of POST /v1/score answers exactly as the general path, or leaves it the body."""

from __future__ import annotations

from typing import Any

import pytest

from api.fast_score import FAST_MAX_PROJECTS, fast_score
from api.model_manager import bound_threads
from api.schemas import ScoreIn, SnapshotIn
from api.services import ModelState, score_request
from model_registry.registry import ModelRegistry
from risk_model.config import TARGETS, Settings
from risk_model.schemas import PROJECT_FIELDS
from risk_model.store import Store


@pytest.fixture(scope="module")
def models(trained_home: Settings) -> ModelState:
    registry = ModelRegistry.from_settings(trained_home)
    return bound_threads(ModelState({t: registry.load(t) for t in TARGETS}, {}), 1)


@pytest.fixture(scope="module")
def bodies(trained_home: Settings) -> list[dict[str, Any]]:
    """Request items of stored projects (as a client sends them), several kinds of history."""
    store = Store(trained_home.store_url)
    projects = store.projects()
    snapshots = store.snapshots()
    store.dispose()
    items = []
    for pid in list(projects["project_id"])[:: max(1, len(projects) // 40)]:
        p = projects.loc[projects["project_id"] == pid].iloc[0]
        project = {
            k: (None if (not isinstance(v, str) and v != v) or v is None else v)
            for k, v in p.items()
        }
        for k in ("start_date", "baseline_finish", "actual_finish"):
            project[k] = project[k].date().isoformat() if project[k] is not None else None
        attributes = {k: project.pop(k) for k in list(project) if k not in PROJECT_FIELDS}
        project["attributes"] = attributes
        snaps = snapshots.loc[snapshots["project_id"] == pid].to_dict("records")
        reports = []
        for s in snaps:
            r = {k: (None if (not isinstance(v, str) and v != v) else v) for k, v in s.items()}
            for k in ("as_of", "forecast_finish"):
                r[k] = r[k].date().isoformat() if r.get(k) is not None else None
            for k in ("open_risks", "open_issues", "change_requests"):
                r[k] = int(r[k]) if r.get(k) is not None else None
            reports.append({k: v for k, v in r.items() if k in SnapshotIn.model_fields})
        items.append({"project": project, "snapshots": reports})
    return items


def _both(body: dict[str, Any], models: ModelState, settings: Settings) -> tuple[Any, Any]:
    parsed = ScoreIn.model_validate(body)
    return fast_score(parsed, models, settings), score_request(parsed, models, settings)


def _assert_same(fast: Any, slow: Any) -> None:
    assert fast is not None, "the fast path refused a plain body"
    assert fast.model_versions == slow.model_versions
    assert [r.project_id for r in fast.results] == [r.project_id for r in slow.results]
    for f, s in zip(fast.results, slow.results, strict=True):
        assert f.as_of == s.as_of
        for t in TARGETS:
            a, b = f.scores[t], s.scores[t]
            assert a.reason == b.reason and a.band == b.band and a.drivers == b.drivers == []
            if b.probability is None:
                assert a.probability is None
            else:
                assert a.probability == pytest.approx(b.probability, rel=0, abs=1e-12)


def test_one_project_at_a_time_equals_the_general_path(
    bodies: list[dict[str, Any]], models: ModelState, trained_home: Settings
) -> None:
    for item in bodies:
        _assert_same(*_both({"projects": [item], "explain": False}, models, trained_home))


def test_a_batch_and_as_of_equal_the_general_path(
    bodies: list[dict[str, Any]], models: ModelState, trained_home: Settings
) -> None:
    batch = bodies[:FAST_MAX_PROJECTS]
    _assert_same(*_both({"projects": batch, "explain": False}, models, trained_home))
    dated = [b for b in batch if len(b["snapshots"]) > 2]
    cut = dated[0]["snapshots"][1]["as_of"]
    _assert_same(*_both({"projects": dated, "explain": False, "as_of": cut}, models, trained_home))


def test_unscorable_projects_and_normalised_values(
    models: ModelState, trained_home: Settings
) -> None:
    """No dates and no budget: reasons; RAG letters and spaces are normalised like a file."""
    body = {
        "explain": False,
        "projects": [
            {"project": {"project_id": "NONE"}, "snapshots": []},
            {
                "project": {
                    "project_id": "RAG",
                    "category": " IT ",
                    "start_date": "2024-01-01",
                    "baseline_finish": "2025-01-01",
                    "baseline_budget": 100000,
                },
                "snapshots": [
                    {
                        "as_of": "2024-03-31",
                        "rag": "A",
                        "planned_value": 20000,
                        "earned_value": 15000,
                    },
                    {"as_of": "2024-06-30", "rag": " r ", "actual_cost": 60000},
                ],
            },
        ],
    }
    fast, slow = _both(body, models, trained_home)
    _assert_same(fast, slow)
    assert fast.results[0].scores["schedule"].reason


@pytest.mark.parametrize(
    "change",
    [
        {"explain": True},
        {"projects": [{"project": {"project_id": "A", "baseline_budget": -1}, "snapshots": []}]},
        {"projects": [{"project": {"project_id": "A"}}, {"project": {"project_id": "A"}}]},
        {
            "projects": [
                {
                    "project": {"project_id": "A"},
                    "snapshots": [{"as_of": "2024-01-31"}, {"as_of": "2024-01-31"}],
                }
            ]
        },
        {"projects": [{"project": {"project_id": "A", "attributes": {"size": "12"}}}]},
        {"projects": [{"project": {"project_id": "A", "status": "paused"}}]},
        {
            "projects": [
                {
                    "project": {"project_id": "A"},
                    "snapshots": [{"as_of": "2024-01-31", "rag": "blue"}],
                }
            ]
        },
    ],
)
def test_anything_the_validation_might_change_goes_the_general_way(
    change: dict[str, Any], models: ModelState, trained_home: Settings
) -> None:
    body = {"projects": [{"project": {"project_id": "A"}, "snapshots": []}], "explain": False}
    assert fast_score(ScoreIn.model_validate(body | change), models, trained_home) is None or (
        change == {}
    )
