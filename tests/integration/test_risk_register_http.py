"""The risk register over HTTP (real app, real SQLite store; no model needed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from risk_model.config import Settings
from risk_model.store import Store


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, authorize: Callable[..., Any]
) -> Iterator[TestClient]:
    """One app for the module (start-up creates the MLflow store); each test its own project."""
    settings = Settings(home=tmp_path_factory.mktemp("register-home"))
    settings.ensure_home()
    store = Store(settings.store_url).init()
    store.import_frames(
        pd.DataFrame({"project_id": ["P-1", "P-2", "P-3"], "start_date": ["2024-01-01"] * 3}), None
    )
    store.dispose()
    with TestClient(create_app(settings)) as c:
        yield authorize(c)


RISK = {"statement": "Permit may be delayed", "probability": 3, "impact": 5, "owner": "Ana"}


def test_a_risk_and_its_action_round_trip(client: TestClient) -> None:
    r = client.post("/v1/projects/P-1/risks", json=RISK)
    assert r.status_code == 201, r.text
    risk = r.json()
    assert risk["score"] == 15 and risk["status"] == "open" and risk["actions"] == []
    a = client.post(
        f"/v1/risks/{risk['risk_id']}/actions",
        json={"description": "Call the council", "due_date": "2000-01-31"},
    )
    assert a.status_code == 201, a.text
    assert a.json()["overdue"] is True
    listing = client.get("/v1/projects/P-1/risks").json()
    assert listing["open_risks"] == 1 and listing["overdue_actions"] == 1
    assert listing["risks"][0]["actions"][0]["description"] == "Call the council"
    done = client.patch(f"/v1/actions/{a.json()['action_id']}", json={"status": "done"})
    assert done.status_code == 200 and done.json()["overdue"] is False
    closed = client.patch(f"/v1/risks/{risk['risk_id']}", json={"status": "closed"})
    assert closed.json()["closed_on"] is not None
    assert client.delete(f"/v1/risks/{risk['risk_id']}").status_code == 204
    assert client.get("/v1/projects/P-1/risks").json()["risks"] == []


def test_register_edits_bump_the_store_revision(client: TestClient) -> None:
    app = client.app
    store = app.state.store  # type: ignore[attr-defined]
    before = store.revision()
    client.post("/v1/projects/P-2/risks", json=RISK)
    assert store.revision() == before + 1


def test_unknown_ids_are_404_and_bad_values_422(client: TestClient) -> None:
    assert client.get("/v1/projects/NOPE/risks").status_code == 404
    assert client.post("/v1/projects/NOPE/risks", json=RISK).status_code == 404
    assert client.get("/v1/risks/999").status_code == 404
    assert client.patch("/v1/actions/999", json={"status": "done"}).status_code == 404
    bad = client.post("/v1/projects/P-3/risks", json={**RISK, "probability": 9})
    assert bad.status_code == 422
    assert "probability" in bad.text
    unknown_field = client.post("/v1/projects/P-3/risks", json={**RISK, "colour": "red"})
    assert unknown_field.status_code == 422
    closed_early = client.post(
        "/v1/projects/P-3/risks",
        json={**RISK, "created_on": "2024-05-01", "closed_on": "2024-04-01", "status": "closed"},
    )
    assert closed_early.status_code == 422
    assert closed_early.json()["problems"][0]["column"] == "closed_on"
