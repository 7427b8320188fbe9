"""The glue behind the routes, without models: body -> frames, ranking, the score cache."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from api.schemas import ScoreIn, TargetScoreOut
from api.services import (
    ModelState,
    PortfolioCache,
    PortfolioEntry,
    PortfolioScores,
    day,
    num,
    portfolio_risks,
    request_frames,
    scalar,
    validate_request,
)
from model_registry.registry import LoadedModel
from risk_model.config import Settings
from risk_model.exceptions import ModelNotAvailable, Problem, ValidationFailed


def _loaded(target: str, version: str) -> LoadedModel:
    return LoadedModel(
        target=target,
        name=f"pmo-risk-{target}",
        version=version,
        alias="champion",
        model=object(),
        run_id="r",
        trained_at=datetime(2025, 1, 1),
    )


BOTH = ModelState({"schedule": _loaded("schedule", "1"), "cost": _loaded("cost", "2")}, {})


def test_number_date_and_scalar_helpers_never_leak_nan() -> None:
    assert num(float("nan")) is None and num(np.inf) is None and num("3") is None
    assert num(np.float64(0.5)) == 0.5
    assert day(pd.NaT) is None and day(None) is None
    assert day(pd.Timestamp("2024-02-29 13:00")) == date(2024, 2, 29)
    assert day(datetime(2024, 1, 2, 3, 4)) == date(2024, 1, 2)
    assert scalar("IT") == "IT" and scalar(np.nan) is None and scalar(np.int64(3)) == 3.0


def test_model_state_serves_the_targets_it_has() -> None:
    assert BOTH.ready and BOTH.cache_key() == (("cost", "2"), ("schedule", "1"))
    half = ModelState({"schedule": _loaded("schedule", "1")}, {"cost": "none registered"})
    assert half.ready and set(half.require()) == {"schedule"}
    with pytest.raises(ModelNotAvailable, match="cost"):
        half.require("cost")
    none = ModelState({}, {"schedule": "none registered", "cost": "none registered"})
    assert not none.ready
    with pytest.raises(ModelNotAvailable):
        none.require()


def _body() -> ScoreIn:
    return ScoreIn.model_validate(
        {
            "projects": [
                {
                    "project": {
                        "project_id": "A",
                        "start_date": "2024-01-01",
                        "baseline_budget": 1000.5,
                        "attributes": {"team_size": 7, "sponsor": "CFO"},
                    },
                    "snapshots": [
                        {"as_of": "2024-03-31", "percent_complete": 10, "open_risks": 3},
                        {"as_of": "2024-02-29"},
                    ],
                },
                {"project": {"project_id": "B"}},
            ]
        }
    )


def test_request_frames_are_raw_text_like_a_file() -> None:
    """It turns the body into string frames with declared columns and attribute columns."""
    frames = request_frames(_body())
    p, s = frames.projects, frames.snapshots
    assert list(p["project_id"]) == ["A", "B"]
    assert p.loc[0, "start_date"] == "2024-01-01" and p.loc[0, "baseline_budget"] == "1000.5"
    assert p.loc[0, "team_size"] == "7.0" and p.loc[1, "sponsor"] is None
    assert list(s["project_id"]) == ["A", "A"] and s.loc[0, "open_risks"] == "3"
    assert frames.snapshot_origin == [(0, 0), (0, 1)]


def test_validated_request_gives_canonical_frames() -> None:
    projects, snapshots = validate_request(_body())
    assert projects["start_date"].dtype == "datetime64[ns]"
    assert projects.loc[0, "team_size"] == 7.0
    assert list(snapshots["as_of"].dt.strftime("%Y-%m-%d")) == ["2024-02-29", "2024-03-31"]


def test_problems_are_addressed_to_the_body() -> None:
    frames = request_frames(_body())
    moved = frames.locate(Problem("body.snapshots", 3, "as_of", "bad", "x"))
    assert (moved.file, moved.row) == ("body.projects[0].snapshots", 1)
    moved = frames.locate(Problem("body.projects", 3, "name", "bad"))
    assert (moved.file, moved.row) == ("body.projects[1].project", None)
    whole = Problem("body.snapshots", None, "as_of", "missing column")
    assert frames.locate(whole) == whole


def test_attribute_named_like_a_field_is_a_problem() -> None:
    body = ScoreIn.model_validate(
        {"projects": [{"project": {"project_id": "A", "attributes": {"status": "x"}}}]}
    )
    with pytest.raises(ValidationFailed) as err:
        validate_request(body)
    assert err.value.problems[0].column == "attributes.status"


def _entry(pid: str, ps: float | None, pc: float | None, **kw: Any) -> PortfolioEntry:
    settings = Settings()

    def score(p: float | None) -> TargetScoreOut:
        from risk_model.config import band_of

        band = band_of(p, settings) if p is not None else None
        return TargetScoreOut(probability=p, band=band, reason=None if p is not None else "few")

    return PortfolioEntry(
        project_id=pid,
        name=kw.get("name"),
        portfolio=kw.get("portfolio"),
        category=kw.get("category"),
        as_of=date(2024, 1, 31),
        scores={"schedule": score(ps), "cost": score(pc)},
    )


SCORES = PortfolioScores(
    revision=4,
    versions=(("cost", "2"), ("schedule", "1")),
    entries=(
        _entry("A", 0.2, 0.9, category="IT", portfolio="X"),
        _entry("B", 0.8, 0.1, category="Bridges", portfolio="X"),
        _entry("C", None, None, category="IT"),
        _entry("D", 0.8, 0.5, category="IT"),
    ),
)


def test_ranking_orders_by_target_then_id_with_unscorable_last() -> None:
    out = portfolio_risks(SCORES, Settings(), target="schedule", limit=10)
    assert [i.project_id for i in out.items] == ["B", "D", "A", "C"]
    assert [i.rank for i in out.items] == [1, 2, 3, 4] and out.total == 4
    out = portfolio_risks(SCORES, Settings(), target="cost", limit=2)
    assert [i.project_id for i in out.items] == ["A", "D"] and out.total == 4
    assert out.items[0].probability == 0.9 and out.items[0].band == "critical"
    assert out.revision == 4 and out.model_versions == {"cost": "2", "schedule": "1"}


def test_ranking_filters() -> None:
    s = Settings()
    assert [
        i.project_id
        for i in portfolio_risks(SCORES, s, target="schedule", limit=9, category="IT").items
    ] == ["D", "A", "C"]
    assert portfolio_risks(SCORES, s, target="cost", limit=9, portfolio="X").total == 2
    assert [
        i.project_id
        for i in portfolio_risks(SCORES, s, target="cost", limit=9, band="CRITICAL").items
    ] == ["A"]
    assert portfolio_risks(SCORES, s, target="cost", limit=9, portfolio=" ").total == 4
    with pytest.raises(ValidationFailed):
        portfolio_risks(SCORES, s, target="cost", limit=9, band="purple")


class _Store:
    def __init__(self) -> None:
        self.rev = 1

    def revision(self) -> int:
        return self.rev


def test_cache_recomputes_only_when_revision_or_models_change() -> None:
    """It computes once per (store revision, model versions)."""
    calls: list[tuple[int, Any]] = []

    def compute(
        store: Any, models: ModelState, settings: Settings, revision: int
    ) -> PortfolioScores:
        calls.append((revision, models.cache_key()))
        return PortfolioScores(revision, models.cache_key(), ())

    cache, store, settings = PortfolioCache(compute), _Store(), Settings()
    for _ in range(3):
        cache.get(store, BOTH, settings)  # type: ignore[arg-type]
    assert len(calls) == 1
    store.rev = 2
    cache.get(store, BOTH, settings)  # type: ignore[arg-type]
    other = ModelState({"schedule": _loaded("schedule", "5"), "cost": _loaded("cost", "2")}, {})
    cache.get(store, other, settings)  # type: ignore[arg-type]
    cache.get(store, other, settings)  # type: ignore[arg-type]
    assert [c[0] for c in calls] == [1, 2, 2] and cache.computations == 3


def test_cache_refuses_without_models() -> None:
    with pytest.raises(ModelNotAvailable):
        PortfolioCache().get(_Store(), ModelState({}, {"schedule": "x", "cost": "y"}), Settings())  # type: ignore[arg-type]
