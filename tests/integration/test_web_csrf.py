"""CSRF: changes made with the sign-in cookie need the session's token; API keys do not."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from risk_model.config import Settings

TOKEN = re.compile(r'<meta name="csrf-token" content="([0-9a-f]*)">')


@pytest.fixture(scope="module")
def csrf_settings(trained_home: Settings, copy_store: Callable[..., Settings]) -> Settings:
    return copy_store(trained_home, "web-csrf")


@pytest.fixture(scope="module")
def app_client(csrf_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(csrf_settings)) as c:
        yield c


@pytest.fixture(scope="module")
def admin(app_client: TestClient, api_key: Callable[..., str]) -> dict[str, str]:
    return {"X-API-Key": api_key(app_client, "admin")}


@pytest.fixture(scope="module")
def project_id(app_client: TestClient, admin: dict[str, str]) -> str:
    items = app_client.get("/v1/portfolio/risks", params={"limit": 1}, headers=admin).json()
    return str(items["items"][0]["project_id"])


def _signed_in(app: Any, key: str) -> TestClient:
    """A browser-like client signed in through /login (session cookie only, no key header)."""
    c = TestClient(app)
    r = c.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def _token(c: TestClient, path: str = "/import") -> str:
    m = TOKEN.search(c.get(path).text)
    assert m is not None and m.group(1)
    return m.group(1)


@pytest.fixture()
def browser(app_client: TestClient, api_key: Callable[..., str]) -> TestClient:
    return _signed_in(app_client.app, api_key(app_client, "analyst"))


def test_every_page_carries_the_sessions_token(browser: TestClient, project_id: str) -> None:
    tokens = {_token(browser, p) for p in ("/", f"/projects/{project_id}", "/models", "/import")}
    assert len(tokens) == 1 and len(tokens.pop()) == 64


def test_register_edits_need_the_token(
    browser: TestClient, admin: dict[str, str], project_id: str, app_client: TestClient
) -> None:
    token = {"X-CSRF-Token": _token(browser, f"/projects/{project_id}")}
    body = {"statement": "Permit may be late", "probability": 4, "impact": 3}
    before = len(app_client.get(f"/v1/projects/{project_id}/risks", headers=admin).json()["risks"])
    refused = browser.post(f"/v1/projects/{project_id}/risks", json=body)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    wrong = browser.post(
        f"/v1/projects/{project_id}/risks", json=body, headers={"X-CSRF-Token": "0" * 64}
    )
    assert wrong.status_code == 403
    after = app_client.get(f"/v1/projects/{project_id}/risks", headers=admin).json()["risks"]
    assert len(after) == before  # a refused request changes nothing
    risk = browser.post(f"/v1/projects/{project_id}/risks", json=body, headers=token)
    assert risk.status_code == 201, risk.text
    rid = risk.json()["risk_id"]
    action = {"description": "Call the council"}
    assert browser.post(f"/v1/risks/{rid}/actions", json=action).status_code == 403
    made = browser.post(f"/v1/risks/{rid}/actions", json=action, headers=token)
    assert made.status_code == 201
    aid = made.json()["action_id"]
    assert browser.patch(f"/v1/actions/{aid}", json={"status": "done"}).status_code == 403
    assert (
        browser.patch(f"/v1/actions/{aid}", json={"status": "done"}, headers=token).status_code
        == 200
    )
    assert browser.patch(f"/v1/risks/{rid}", json={"status": "closed"}).status_code == 403
    assert browser.delete(f"/v1/actions/{aid}").status_code == 403
    assert browser.delete(f"/v1/risks/{rid}").status_code == 403
    assert browser.delete(f"/v1/risks/{rid}", headers=token).status_code == 204
    # reading never needs it
    assert browser.get(f"/v1/projects/{project_id}/risks").status_code == 200


def test_what_if_and_bring_under_need_the_token(browser: TestClient, project_id: str) -> None:
    token = {"X-CSRF-Token": _token(browser, f"/projects/{project_id}")}
    url = f"/v1/projects/{project_id}"
    assert browser.post(f"{url}/what-if", json={"changes": {}}).status_code == 403
    assert browser.post(f"{url}/what-if", json={"changes": {}}, headers=token).status_code == 200
    under = {"target": "cost", "threshold": 0.5}
    assert browser.post(f"{url}/bring-under", json=under).status_code == 403
    assert browser.post(f"{url}/bring-under", json=under, headers=token).status_code == 200


def test_import_confirm_needs_the_token(browser: TestClient, admin: dict[str, str]) -> None:
    rows = (
        "project_id,name,start_date,baseline_finish,baseline_budget\n"
        "CSRF-1,x,2024-01-01,2025-01-01,100\n"
    )

    def files() -> dict[str, Any]:
        return {"projects": ("projects.csv", io.BytesIO(rows.encode()), "text/csv")}

    token = {"X-CSRF-Token": _token(browser)}
    refused = browser.post("/v1/imports", files=files(), data={"dry_run": "false"})
    assert refused.status_code == 403
    assert browser.get("/v1/projects/CSRF-1/risks", headers=admin).status_code == 404
    ok = browser.post("/v1/imports", files=files(), data={"dry_run": "true"}, headers=token)
    assert ok.status_code == 200, ok.text


def test_a_token_belongs_to_one_session(
    app_client: TestClient, api_key: Callable[..., str], project_id: str
) -> None:
    key = api_key(app_client, "analyst")
    first, second = _signed_in(app_client.app, key), _signed_in(app_client.app, key)
    token_a = _token(first)
    assert token_a != _token(second)
    url = f"/v1/projects/{project_id}/what-if"
    assert (
        second.post(url, json={"changes": {}}, headers={"X-CSRF-Token": token_a}).status_code == 403
    )
    assert (
        first.post(url, json={"changes": {}}, headers={"X-CSRF-Token": token_a}).status_code == 200
    )


def test_api_key_requests_need_no_token(
    app_client: TestClient, admin: dict[str, str], project_id: str
) -> None:
    assert app_client.cookies.get("pmo_risk_session") is None
    r = app_client.post(f"/v1/projects/{project_id}/what-if", json={"changes": {}}, headers=admin)
    assert r.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null", "Referer": "https://evil.example/page"},
        {"Referer": "http://evil.example/login"},
    ],
)
def test_sign_in_and_out_refuse_posts_from_another_site(
    app_client: TestClient, api_key: Callable[..., str], headers: dict[str, str]
) -> None:
    """Login CSRF: another site cannot sign the browser in (with its own key) or out."""
    key = api_key(app_client, "viewer")
    fresh = TestClient(app_client.app)
    r = fresh.post(
        "/login", data={"key": key, "next": "/"}, headers=headers, follow_redirects=False
    )
    assert r.status_code == 403 and "this site" in r.text
    assert "pmo_risk_session" not in r.cookies
    out = fresh.post("/logout", headers=headers, follow_redirects=False)
    assert out.status_code == 403


def test_sign_in_from_our_own_page_or_a_script_works(
    app_client: TestClient, api_key: Callable[..., str]
) -> None:
    """Our login page (same Origin) and clients that send no Origin sign in as before."""
    key = api_key(app_client, "viewer")
    for headers in ({"Origin": "http://testserver"}, {"Referer": "http://testserver/login"}, {}):
        fresh = TestClient(app_client.app)
        r = fresh.post(
            "/login", data={"key": key, "next": "/"}, headers=headers, follow_redirects=False
        )
        assert r.status_code == 303 and "pmo_risk_session" in r.cookies
        assert fresh.get("/", follow_redirects=False).status_code == 200
        out = fresh.post("/logout", headers=headers, follow_redirects=False)
        assert out.status_code == 303
