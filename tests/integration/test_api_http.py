"""The HTTP API end to end, on the shared ``trained_home`` (a simulated portfolio with both
champion models registered): every endpoint through TestClient (which runs the lifespan),
the 404 / 422 / 503 paths, imports over HTTP, and one real uvicorn server on localhost."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from risk_model.config import TARGETS, Settings


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api_settings(trained_home: Settings, copy_store: Callable[..., Settings]) -> Settings:
    """``trained_home`` with a private copy of its store (these tests import into it); the
    models are read from the shared registry, which the API never writes."""
    return copy_store(trained_home, "api")


@pytest.fixture(scope="module")
def client(api_settings: Settings, authorize: Callable[..., TestClient]) -> Iterator[TestClient]:
    """A started app; every request carries an admin key."""
    with TestClient(create_app(api_settings)) as c:
        yield authorize(c)


@pytest.fixture(scope="module")
def empty_client(
    tmp_path_factory: pytest.TempPathFactory, authorize: Callable[..., TestClient]
) -> Iterator[TestClient]:
    """An app on an empty home: no data, no registered model (an admin key, though)."""
    home = tmp_path_factory.mktemp("empty-home")
    with TestClient(create_app(Settings(home=home))) as c:
        yield authorize(c)


@pytest.fixture(scope="module")
def ranking(client: TestClient) -> dict[str, Any]:
    r = client.get("/v1/portfolio/risks", params={"target": "schedule", "limit": 1000})
    assert r.status_code == 200, r.text
    return r.json()


def _revision(client: TestClient) -> int:
    r = client.get("/v1/portfolio/risks", params={"limit": 1})
    assert r.status_code == 200, r.text
    return int(r.json()["revision"])


def _body_of(detail: dict[str, Any]) -> dict[str, Any]:
    """A /v1/score body from a /v1/projects detail (the same project, sent by a client)."""
    return {
        "projects": [{"project": detail["project"], "snapshots": detail["snapshots"]}],
        "explain": True,
    }


# -- health, docs, models ---------------------------------------------------------------------
def test_health_and_ready_with_both_models(client: TestClient) -> None:
    """It is alive, and ready because both champion models are loaded."""
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = client.get("/ready")
    assert r.status_code == 200
    body = r.json()
    assert body["ready"] is True and set(body["models"]) == set(TARGETS) and body["missing"] == {}


def test_openapi_documents_every_endpoint_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "pmo-risk" and spec["info"]["version"]
    assert spec["info"]["description"]
    for path in (
        "/health",
        "/ready",
        "/v1/score",
        "/v1/portfolio/risks",
        "/v1/projects/{project_id}",
        "/v1/imports",
        "/v1/models",
    ):
        assert path in spec["paths"], path
    assert spec["components"]["schemas"]["ScoreIn"]["examples"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_models_lists_the_loaded_champions(client: TestClient) -> None:
    r = client.get("/v1/models")
    assert r.status_code == 200
    body = r.json()
    assert body["missing"] == {}
    assert [m["target"] for m in body["models"]] == list(TARGETS)
    for m in body["models"]:
        assert m["alias"] == "champion" and m["name"].endswith(m["target"])
        assert m["version"] and m["run_id"] and m["trained_at"]
        assert m["feature_count"] > 0 and isinstance(m["metrics"], dict)


# -- portfolio --------------------------------------------------------------------------------
def test_portfolio_is_ranked_by_the_target_probability(
    client: TestClient, ranking: dict[str, Any]
) -> None:
    """It ranks active projects by probability, with both targets, bands and drivers."""
    items = ranking["items"]
    assert items and ranking["total"] == len(items)
    assert [i["rank"] for i in items] == list(range(1, len(items) + 1))
    probs = [i["probability"] for i in items if i["probability"] is not None]
    assert probs == sorted(probs, reverse=True)
    top = items[0]
    assert set(top["scores"]) == set(TARGETS)
    assert top["probability"] == top["scores"]["schedule"]["probability"]
    assert top["band"] in ("low", "medium", "high", "critical")
    assert top["scores"]["schedule"]["drivers"]
    assert all(d["text"] for d in top["scores"]["schedule"]["drivers"])

    r = client.get("/v1/portfolio/risks", params={"target": "cost", "limit": 3})
    assert r.status_code == 200
    cost = r.json()
    assert cost["target"] == "cost" and len(cost["items"]) == min(3, ranking["total"])
    cp = [i["probability"] for i in cost["items"]]
    assert cp == sorted(cp, reverse=True)


def test_portfolio_filters(client: TestClient, ranking: dict[str, Any]) -> None:
    first = ranking["items"][0]
    for key in ("band", "category", "portfolio"):
        if first[key] is None:
            continue
        r = client.get("/v1/portfolio/risks", params={key: first[key], "limit": 1000})
        assert r.status_code == 200
        got = r.json()["items"]
        assert got and all(i[key] == first[key] for i in got)
    r = client.get("/v1/portfolio/risks", params={"portfolio": "", "category": ""})
    assert r.status_code == 200  # empty filters mean no filter
    r = client.get("/v1/portfolio/risks", params={"category": "no such category"})
    assert r.status_code == 200 and r.json()["items"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"target": "budget"},
        {"limit": 0},
        {"limit": 1001},
        {"limit": "many"},
        {"band": "purple"},
    ],
)
def test_portfolio_rejects_bad_queries(client: TestClient, params: dict[str, Any]) -> None:
    r = client.get("/v1/portfolio/risks", params=params)
    assert r.status_code == 422, r.text


def test_portfolio_scores_are_cached_until_the_store_changes(client: TestClient) -> None:
    cache = client.app.state.portfolio_cache  # type: ignore[attr-defined]
    client.get("/v1/portfolio/risks")
    before = cache.computations
    for target in TARGETS:
        assert client.get("/v1/portfolio/risks", params={"target": target}).status_code == 200
    assert cache.computations == before


# -- one project ------------------------------------------------------------------------------
def test_project_detail_has_history_signals_risk_history_and_explanation(
    client: TestClient, ranking: dict[str, Any]
) -> None:
    pid = ranking["items"][0]["project_id"]
    r = client.get(f"/v1/projects/{pid}")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["project"]["project_id"] == pid
    assert d["snapshots"], "a ranked project has reports"
    assert len(d["signals"]) == len(d["snapshots"]) == len(d["risk_history"])
    dates = [s["as_of"] for s in d["snapshots"]]
    assert dates == sorted(dates) and [p["as_of"] for p in d["risk_history"]] == dates
    assert set(d["signals"][0]) == {
        "as_of",
        "spi",
        "cpi",
        "spi_t",
        "forecast_slip",
        "forecast_cost_growth",
    }
    assert set(d["risk_history"][-1]["probabilities"]) == set(TARGETS)
    assert d["latest"]["as_of"] == dates[-1]
    models = {m["target"]: m for m in client.get("/v1/models").json()["models"]}
    for target in TARGETS:
        latest = d["latest"]["scores"][target]
        assert latest["base_value"] is not None
        assert len(latest["contributions"]) == models[target]["feature_count"]
        assert latest["drivers"]
        assert latest["probability"] == pytest.approx(
            d["risk_history"][-1]["probabilities"][target]
        )
    rank = ranking["items"][0]
    assert d["latest"]["scores"]["schedule"]["probability"] == pytest.approx(rank["probability"])
    # Overrun size (issue 3 section 4): P10 <= P50 <= P90, as ratios and from the baseline
    # as finish dates (schedule) and costs at completion (cost); forward has no size.
    project = d["project"]
    sched = d["latest"]["scores"]["schedule"]["overrun"]
    assert sched["p10"] <= sched["p50"] <= sched["p90"]
    assert sched["finish_p10"] <= sched["finish_p50"] <= sched["finish_p90"]
    planned = (
        date.fromisoformat(project["baseline_finish"]) - date.fromisoformat(project["start_date"])
    ).days
    slip = (
        date.fromisoformat(sched["finish_p50"]) - date.fromisoformat(project["baseline_finish"])
    ).days
    assert slip == pytest.approx(sched["p50"] * planned, abs=1)
    cost = d["latest"]["scores"]["cost"]["overrun"]
    assert cost["cost_p10"] <= cost["cost_p50"] <= cost["cost_p90"]
    assert cost["cost_p50"] == pytest.approx(project["baseline_budget"] * (1 + cost["p50"]))
    assert d["latest"]["scores"]["forward"]["overrun"] is None


def test_unknown_project_is_404(client: TestClient) -> None:
    r = client.get("/v1/projects/NO-SUCH-PROJECT")
    assert r.status_code == 404 and "NO-SUCH-PROJECT" in r.json()["detail"]


# -- stateless scoring ------------------------------------------------------------------------
def test_score_matches_the_stored_scores_and_stores_nothing(
    client: TestClient, ranking: dict[str, Any]
) -> None:
    """It scores a project sent in the body exactly as the stored one, and writes nothing."""
    revision = _revision(client)
    rank = ranking["items"][0]
    detail = client.get(f"/v1/projects/{rank['project_id']}").json()
    r = client.post("/v1/score", json=_body_of(detail))
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out["model_versions"]) == set(TARGETS)
    (res,) = out["results"]
    assert res["project_id"] == rank["project_id"] and res["as_of"] == rank["as_of"]
    for target in TARGETS:
        got = res["scores"][target]
        assert got["probability"] == pytest.approx(rank["scores"][target]["probability"])
        assert got["band"] == rank["scores"][target]["band"]
        assert got["drivers"] and {"feature", "value", "points", "text"} <= set(got["drivers"][0])
    assert _revision(client) == revision

    body = _body_of(detail) | {"explain": False, "as_of": detail["snapshots"][0]["as_of"]}
    r = client.post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    (early,) = r.json()["results"]
    assert early["as_of"] == detail["snapshots"][0]["as_of"]
    assert all(s["drivers"] == [] for s in early["scores"].values())


def test_score_a_project_without_reports(client: TestClient) -> None:
    """It answers for a project with no report: a score at approval or the reason it has none."""
    body = {
        "projects": [
            {
                "project": {
                    "project_id": "NEW-1",
                    "category": "IT",
                    "start_date": "2025-01-01",
                    "baseline_finish": "2025-12-31",
                    "baseline_budget": 100000,
                }
            }
        ]
    }
    r = client.post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    (res,) = r.json()["results"]
    for s in res["scores"].values():
        assert (s["probability"] is None) == (s["reason"] is not None)


def test_score_lists_every_domain_problem_with_its_place(client: TestClient) -> None:
    body = {
        "projects": [
            {
                "project": {
                    "project_id": "A",
                    "start_date": "2024-05-01",
                    "baseline_finish": "2024-01-01",
                },
                "snapshots": [
                    {"as_of": "2024-06-30", "percent_complete": 10},
                    {"as_of": "2024-07-31", "percent_complete": 140},
                    {"as_of": "2024-07-31", "percent_complete": 20},
                ],
            },
            {
                "project": {"project_id": "B"},
                "snapshots": [{"project_id": "C", "as_of": "2024-06-30"}],
            },
        ]
    }
    r = client.post("/v1/score", json=body)
    assert r.status_code == 422, r.text
    problems = r.json()["problems"]
    where = {(p["file"], p["row"], p["column"]) for p in problems}
    assert ("body.projects[0].project", None, "baseline_finish") in where
    assert ("body.projects[0].snapshots", 1, "percent_complete") in where
    assert ("body.projects[0].snapshots", 2, "as_of") in where
    assert ("body.projects[1].snapshots", 0, "project_id") in where
    assert all(p["message"] for p in problems)


def test_duplicate_projects_in_a_body_are_rejected(client: TestClient) -> None:
    body = {"projects": [{"project": {"project_id": "A"}}, {"project": {"project_id": "A"}}]}
    r = client.post("/v1/score", json=body)
    assert r.status_code == 422
    assert r.json()["problems"][0]["file"] == "body.projects[1].project"


GARBAGE: list[Any] = [
    None,
    [],
    "projects",
    {"projects": []},
    {"projects": None},
    {"projects": [{}]},
    {"projects": [{"project": {}}]},
    {"projects": [{"project": {"project_id": 42}}]},
    {"projects": [{"project": {"project_id": "A", "start_date": "yesterday"}}]},
    {"projects": [{"project": {"project_id": "A", "start_date": "0001-01-01"}}]},
    {"projects": [{"project": {"project_id": "A", "baseline_budget": "lots"}}]},
    {"projects": [{"project": {"project_id": "A", "baseline_budget": 1e308}}]},
    {"projects": [{"project": {"project_id": "A"}, "snapshots": [{"as_of": "9999-12-31"}]}]},
    {"projects": [{"project": {"project_id": "A"}, "snapshots": [{}]}]},
    {"projects": [{"project": {"project_id": "A"}, "snapshots": {"as_of": "2024-01-01"}}]},
    {
        "projects": [
            {"project": {"project_id": "A"}, "snapshots": [{"as_of": "2024-01-01", "rag": "blue"}]}
        ]
    },
    {"projects": [{"project": {"project_id": "A", "status": "sleeping"}}]},
    {"projects": [{"project": {"project_id": "A", "attributes": {"status": 1}}}]},
    {"projects": [{"project": {"project_id": "A"}}], "as_of": "31/31/2024"},
    {"projects": [{"project": {"project_id": "A"}}], "explain": "maybe"},
    {"projects": [{"project": {"project_id": f"P{i}"}} for i in range(1001)]},
]


@pytest.mark.parametrize("body", GARBAGE, ids=[f"garbage{i}" for i in range(len(GARBAGE))])
def test_garbage_bodies_are_422_never_500(client: TestClient, body: Any) -> None:
    r = client.post("/v1/score", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_too_many_reports_for_one_project_is_422(client: TestClient) -> None:
    snaps = [{"as_of": f"{2000 + i // 12:04d}-{i % 12 + 1:02d}-01"} for i in range(501)]
    r = client.post(
        "/v1/score", json={"projects": [{"project": {"project_id": "A"}, "snapshots": snaps}]}
    )
    assert r.status_code == 422 and "500" in r.text


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2", b"\x00not json"])
def test_unparseable_bodies_are_client_errors(client: TestClient, raw: bytes) -> None:
    """It answers bodies that are not JSON with 422 naming the body (the bytes are parsed by
    pydantic, so undecodable bytes are 422 too, not FastAPI's 400)."""
    r = client.post("/v1/score", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][0] == "body"


# -- imports ----------------------------------------------------------------------------------
def _csv(*rows: str) -> str:
    return "\n".join(rows) + "\n"


NEW_PROJECTS_CSV = _csv(
    "project_id,name,portfolio,category,start_date,baseline_finish,baseline_budget,currency",
    "API-NEW-1,Imported over HTTP,HTTP,IT,2024-01-01,2024-12-31,1000000,USD",
)
NEW_SNAPSHOTS_CSV = _csv(
    "project_id,as_of,percent_complete,planned_value,earned_value,actual_cost,"
    "forecast_finish,forecast_cost,budget,rag,open_risks,open_issues,change_requests",
    "API-NEW-1,2024-03-31,10,250000,100000,300000,2025-06-30,1900000,1000000,red,20,10,6",
    "API-NEW-1,2024-06-30,18,500000,180000,600000,2025-09-30,2300000,1000000,red,25,14,9",
)


def _counts(client: TestClient) -> dict[str, int]:
    return dict(client.app.state.store.counts())  # type: ignore[attr-defined]


def test_dry_run_validates_and_changes_nothing(client: TestClient) -> None:
    revision, counts = _revision(client), _counts(client)
    r = client.post(
        "/v1/imports",
        files={"projects": ("projects.csv", NEW_PROJECTS_CSV, "text/csv")},
        data={"dry_run": "true"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["dry_run"] is True and r.json()["revision"] == revision
    assert _revision(client) == revision and _counts(client) == counts


def test_rejected_import_lists_every_problem_and_changes_nothing(client: TestClient) -> None:
    revision, counts = _revision(client), _counts(client)
    bad_projects = (
        "project_id,start_date,baseline_finish,baseline_budget\n"
        "API-BAD-1,2024-06-01,2024-01-01,100\n"
        "API-BAD-2,2024-01-01,2024-12-31,-5\n"
    )
    bad_snapshots = (
        "project_id,as_of,percent_complete\n"
        "API-BAD-1,2024-03-31,140\n"
        "GHOST,2024-03-31,10\n"
        "API-BAD-2,not a date,10\n"
    )
    r = client.post(
        "/v1/imports",
        files={
            "projects": ("bad_projects.csv", bad_projects, "text/csv"),
            "snapshots": ("bad_snapshots.csv", bad_snapshots, "text/csv"),
        },
    )
    assert r.status_code == 422, r.text
    where = {(p["file"], p["row"], p["column"]) for p in r.json()["problems"]}
    assert ("bad_projects.csv", 2, "baseline_finish") in where
    assert ("bad_projects.csv", 3, "baseline_budget") in where
    assert ("bad_snapshots.csv", 2, "percent_complete") in where
    assert ("bad_snapshots.csv", 3, "project_id") in where
    assert ("bad_snapshots.csv", 4, "as_of") in where
    assert _revision(client) == revision and _counts(client) == counts


@pytest.mark.parametrize(
    ("files", "data"),
    [
        ({}, {}),
        ({}, {"dry_run": "true"}),
        ({"projects": ("projects.pdf", b"%PDF-1.4", "application/pdf")}, {}),
        ({"projects": ("projects.csv", b"", "text/csv")}, {}),
        ({"projects": ("projects.csv", b"\xff\xfe\x00garbage\x00", "text/csv")}, {}),
        ({"projects": ("projects.xlsx", b"not a workbook", "application/octet-stream")}, {}),
        ({"projects": ("projects.csv", NEW_PROJECTS_CSV, "text/csv")}, {"dry_run": "perhaps"}),
    ],
)
def test_bad_uploads_are_422(
    client: TestClient, files: dict[str, Any], data: dict[str, str]
) -> None:
    revision = _revision(client)
    r = client.post("/v1/imports", files=files or None, data=data or None)
    assert r.status_code == 422, r.text
    assert _revision(client) == revision


def test_csv_import_over_http_appears_in_the_ranking(client: TestClient) -> None:
    """It imports CSV files, bumps the revision, and the new project is then ranked."""
    revision = _revision(client)
    r = client.post(
        "/v1/imports",
        files={
            "projects": ("projects.csv", NEW_PROJECTS_CSV, "text/csv"),
            "snapshots": ("snapshots.csv", NEW_SNAPSHOTS_CSV, "text/csv"),
        },
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["dry_run"] is False and out["revision"] == revision + 1
    assert out["summary"]["projects_inserted"] == 1 and out["summary"]["snapshots_inserted"] == 2
    assert sorted(out["files"]) == ["projects.csv", "snapshots.csv"]

    from risk_model.score_store import ScoreStore

    state = ScoreStore(client.app.state.store).state()  # type: ignore[attr-defined]
    assert state is not None and state.revision == revision + 1  # rescored by the import
    r = client.get("/v1/portfolio/risks", params={"portfolio": "HTTP", "target": "cost"})
    assert r.status_code == 200
    ranked = r.json()
    assert ranked["revision"] == revision + 1
    (item,) = ranked["items"]
    assert item["project_id"] == "API-NEW-1" and item["as_of"] == "2024-06-30"
    assert item["probability"] is not None

    again = client.post(
        "/v1/imports",
        files={"projects": ("projects.csv", NEW_PROJECTS_CSV, "text/csv")},
    )
    assert again.status_code == 200 and again.json()["revision"] == revision + 1  # unchanged


def test_xlsx_upload_is_read_like_the_cli(client: TestClient, tmp_path: Path) -> None:
    """It validates an Excel workbook (dry run), naming problems by file, row and column."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["project_id", "start_date", "baseline_finish", "baseline_budget"])
    ws.append(["API-XL-1", "2024-01-01", "2024-12-31", 5000])
    ws.append(["API-XL-2", "2024-01-01", "2023-12-31", 5000])
    path = tmp_path / "portfolio.xlsx"
    wb.save(path)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    revision = _revision(client)
    r = client.post(
        "/v1/imports",
        files={"projects": ("portfolio.xlsx", path.read_bytes(), xlsx)},
        data={"dry_run": "true"},
    )
    assert r.status_code == 422, r.text
    (problem,) = r.json()["problems"]
    assert (problem["file"], problem["row"], problem["column"]) == (
        "portfolio.xlsx",
        3,
        "baseline_finish",
    )
    assert _revision(client) == revision


# -- no model ---------------------------------------------------------------------------------
def test_without_models_the_app_starts_but_is_not_ready(empty_client: TestClient) -> None:
    assert empty_client.get("/health").status_code == 200
    r = empty_client.get("/ready")
    assert r.status_code == 503
    assert r.json()["ready"] is False and set(r.json()["missing"]) == set(TARGETS)
    models = empty_client.get("/v1/models")
    assert models.status_code == 200 and models.json()["models"] == []
    body = {"projects": [{"project": {"project_id": "A"}}]}
    for r in (
        empty_client.post("/v1/score", json=body),
        empty_client.get("/v1/portfolio/risks"),
    ):
        assert r.status_code == 503 and "model" in r.json()["detail"]
    assert empty_client.get("/v1/projects/A").status_code == 404


# -- a real server ----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_real_uvicorn_server_serves_ready_and_ranking(api_settings: Settings) -> None:
    """It serves over real HTTP on localhost: uvicorn in a thread, httpx as the client."""
    from risk_model.keys import KeyRing
    from risk_model.store import Store

    store = Store(api_settings.store_url).init()
    _, key = KeyRing(store).create("viewer", "uvicorn test")
    store.dispose()
    port = _free_port()
    config = uvicorn.Config(
        create_app(api_settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        headers = {"X-API-Key": key}
        with httpx.Client(base_url=base, timeout=120, headers=headers) as http:
            r = http.get("/ready")
            assert r.status_code == 200 and r.json()["ready"] is True
            r = http.get("/v1/portfolio/risks", params={"target": "cost", "limit": 5})
            assert r.status_code == 200
            items = r.json()["items"]
            assert 0 < len(items) <= 5
            probs = [i["probability"] for i in items]
            assert probs == sorted(probs, reverse=True)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_create_app_does_nothing_until_started(tmp_path: Path) -> None:
    """It builds an app without touching the disk: the lifespan does the work."""
    home = tmp_path / "never-created"
    app = create_app(Settings(home=home))
    assert app.title == "pmo-risk" and not home.exists()
