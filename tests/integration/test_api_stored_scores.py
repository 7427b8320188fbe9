"""The API reads stored scores: ranking and project pages come from the ``scores`` table, which
an import over HTTP rewrites before it answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from risk_model.config import TARGETS, Settings
from risk_model.score_store import ScoreStore
from risk_model.store import Store


@pytest.fixture(scope="module")
def settings(trained_home: Settings, copy_store: Callable[..., Settings]) -> Settings:
    return copy_store(trained_home, "stored-scores")


@pytest.fixture(scope="module")
def client(settings: Settings, authorize: Callable[..., TestClient]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield authorize(c)


def _scores(settings: Settings) -> ScoreStore:
    return ScoreStore(Store(settings.store_url))


def test_ranking_is_read_from_the_stored_scores(client: TestClient, settings: Settings) -> None:
    """The ranking equals the stored latest scores, with the version that made them and the
    probability at the previous report."""
    r = client.get("/v1/portfolio/risks", params={"target": "cost", "limit": 1000})
    assert r.status_code == 200, r.text
    ranked = r.json()
    scores = _scores(settings)
    state = scores.state()
    versions = {m["target"]: m["version"] for m in client.get("/v1/models").json()["models"]}
    assert state is not None and state.versions == versions
    assert ranked["revision"] == state.revision and ranked["model_versions"] == versions
    latest = scores.latest()
    with_previous = 0
    for item in ranked["items"]:
        stored = latest[item["project_id"]]
        assert item["probability"] == pytest.approx(stored["cost"].probability)
        assert item["previous_probability"] == pytest.approx(stored["cost"].previous_probability)
        with_previous += item["previous_probability"] is not None
        for t in TARGETS:
            assert item["scores"][t]["model_version"] == versions[t]
            assert [d["text"] for d in item["scores"][t]["drivers"]] == [
                d.text for d in stored[t].drivers
            ]
    assert with_previous > 0


def test_project_page_is_read_from_the_stored_scores(
    client: TestClient, settings: Settings
) -> None:
    """Risk history and the latest explanation equal what is stored for the project."""
    ranked = client.get("/v1/portfolio/risks", params={"limit": 1}).json()
    pid = ranked["items"][0]["project_id"]
    detail = client.get(f"/v1/projects/{pid}").json()
    history = _scores(settings).history(pid)
    for target in TARGETS:
        stored = [h.probability for h in history if h.target == target]
        shown = [p["probabilities"][target] for p in detail["risk_history"]]
        assert shown == pytest.approx(stored)
        latest = next(h for h in history if h.latest and h.target == target)
        explained = detail["latest"]["scores"][target]
        assert explained["probability"] == pytest.approx(latest.probability)
        assert explained["base_value"] == pytest.approx(latest.base_value)
        assert {c["feature"] for c in explained["contributions"]} == set(latest.contributions or {})


def test_the_database_ranking_equals_the_ranking_of_every_stored_score(
    client: TestClient, settings: Settings
) -> None:
    """``stored_ranking`` (the database orders, filters and cuts) gives exactly what ranking
    every stored latest score in Python gives, for each target, filter, page size and scope."""
    from api.services import PortfolioCache, portfolio_risks, stored_ranking

    app = client.app
    store, models = app.state.store, app.state.model_manager.state  # type: ignore[attr-defined]
    every = PortfolioCache().get(store, models, settings)  # stores the scores when not yet
    assert ScoreStore(store).state().revision == store.revision()
    portfolios = sorted({e.portfolio for e in every.entries if e.portfolio})
    categories = sorted({e.category for e in every.entries if e.category})
    cases: list[dict[str, Any]] = [
        {"target": t, "limit": limit} for t in TARGETS for limit in (1, 7, 1000)
    ]
    cases += [
        {"target": "cost", "limit": 20, "portfolio": portfolios[0]},
        {"target": "schedule", "limit": 20, "category": categories[-1]},
        {"target": "schedule", "limit": 50, "band": "High"},
        {"target": "cost", "limit": 50, "scope": frozenset(portfolios[:1])},
        {"target": "forward", "limit": 50, "scope": frozenset()},
        {"target": "cost", "limit": 5, "portfolio": "  ", "category": categories[0]},
    ]
    seen = 0
    for case in cases:
        fast = stored_ranking(store, models, settings, **case)
        assert fast is not None
        slow = portfolio_risks(every, settings, **case)
        assert fast.model_dump() == slow.model_dump(), case
        seen += len(fast.items)
    assert seen > 100


def test_the_ranking_reads_the_database_only_when_scores_are_current(
    client: TestClient, settings: Settings
) -> None:
    """Scores older than the store's data are not served by the database ranking."""
    from api.services import stored_ranking

    app = client.app
    store, models = app.state.store, app.state.model_manager.state  # type: ignore[attr-defined]
    assert client.get("/v1/portfolio/risks").status_code == 200  # stores the scores when not yet
    state = ScoreStore(store).state()
    assert stored_ranking(store, models, settings, target="cost", limit=3) is not None
    older = store.revision() + 1
    ScoreStore(store).replace([], [], revision=older, versions=state.versions)
    try:
        assert stored_ranking(store, models, settings, target="cost", limit=3) is None
    finally:
        app.state.rescorer.request(models).result()  # type: ignore[attr-defined]
    assert ScoreStore(store).state().revision == store.revision()


PROJECTS = (
    "project_id,name,portfolio,category,start_date,baseline_finish,baseline_budget\n"
    "STORED-1,Stored scores,STORED,IT,2024-01-01,2025-01-01,1000000\n"
)
SNAPSHOTS = (
    "project_id,as_of,percent_complete,planned_value,earned_value,actual_cost\n"
    "STORED-1,2024-03-31,20,250000,200000,260000\n"
    "STORED-1,2024-06-30,40,500000,380000,520000\n"
)


def test_an_import_over_http_rewrites_the_stored_scores(
    client: TestClient, settings: Settings
) -> None:
    """After the import answers, the stored scores already describe the new revision."""
    r = client.post(
        "/v1/imports",
        files={
            "projects": ("projects.csv", PROJECTS, "text/csv"),
            "snapshots": ("snapshots.csv", SNAPSHOTS, "text/csv"),
        },
    )
    assert r.status_code == 200, r.text
    revision = r.json()["revision"]
    scores = _scores(settings)
    state = scores.state()
    assert state is not None and state.revision == revision
    stored: dict[str, Any] = scores.latest(["STORED-1"])["STORED-1"]
    assert set(stored) == set(TARGETS)
    ranked = client.get("/v1/portfolio/risks", params={"portfolio": "STORED"}).json()
    (item,) = ranked["items"]
    assert item["probability"] == pytest.approx(stored["schedule"].probability)
    history = scores.history("STORED-1")
    assert item["previous_probability"] == pytest.approx(
        next(h.probability for h in history if h.target == "schedule" and not h.latest)
    )
