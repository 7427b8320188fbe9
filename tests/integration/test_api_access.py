"""Access control over real HTTP (TestClient on the app with a private copy of the trained
store): every route needs a key except health/ready, roles per route, revocation at once,
portfolio scoping on every endpoint that touches stored projects, web sign-in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import fastapi.routing
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import SESSION_COOKIE
from risk_model.config import Settings
from risk_model.keys import ROLES, KeyRing
from risk_model.store import Store

PUBLIC = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
}
PUBLIC_PREFIXES = ("/static",)
KeyFn = Callable[..., str]


@pytest.fixture(scope="module")
def settings(trained_home: Settings, copy_store: Callable[..., Settings]) -> Settings:
    """``trained_home`` with a private copy of its store (these tests import and add keys)."""
    return copy_store(trained_home, "access")


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    """A started app; requests carry no key unless a test adds one."""
    with TestClient(create_app(settings)) as c:
        yield c


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def _routes(client: TestClient) -> list[tuple[str, str, Any]]:
    """(method, path, route) of every endpoint, included routers flattened (any FastAPI)."""
    routes: list[Any] = list(client.app.routes)  # type: ignore[attr-defined]
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is not None:  # FastAPI >= 0.16x keeps included routers as one entry
        routes = list(iterate(routes))
    out = []
    for route in routes:
        original = getattr(route, "original_route", route)
        if not isinstance(original, APIRoute):
            continue
        for method in sorted(set(route.methods or ()) - {"HEAD", "OPTIONS"}):
            out.append((method, str(route.path), route))
    return out


def _needed_role(route: Any) -> str | None:
    """The role a route's auth dependency asks for (``require_<role>`` in its tree)."""
    found: list[str] = []

    def walk(dependant: Any) -> None:
        name = getattr(dependant.call, "__name__", "")
        m = re.fullmatch(r"(?:page_)?require_(\w+)", name)
        if m:
            found.append(m.group(1))
        for sub in dependant.dependencies:
            walk(sub)

    walk(route.dependant)
    return max(found, key=ROLES.index) if found else None


# -- every route needs a key -------------------------------------------------------------------
def test_every_route_but_health_ready_and_login_refuses_callers_without_a_key(
    client: TestClient,
) -> None:
    """It enumerates the app's routes: each one answers 401 (API) or a redirect to /login
    (web page) to a caller without a key, and names the role it needs."""
    checked = 0
    for method, path, route in _routes(client):
        if (method, path) in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            continue
        assert _needed_role(route) in ROLES, f"{method} {path} has no require(role) dependency"
        r = client.request(method, _concrete(path), follow_redirects=False)
        if r.status_code == 303:
            assert r.headers["location"].startswith("/login?next="), (method, path)
        else:
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer")
        checked += 1
    assert checked >= 8  # score, portfolio, project, imports, models, keys x3, openapi, docs


def test_health_and_ready_need_no_key(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_routes_of_its_level(
    client: TestClient, api_key: KeyFn, role: str
) -> None:
    """A key below a route's role gets 403; at or above it, never 401/403."""
    key = api_key(client, role)
    for method, path, route in _routes(client):
        needed = _needed_role(route)
        if needed is None or method == "DELETE":
            continue  # public; revoking is tested on its own
        r = client.request(method, _concrete(path), headers=_auth(key), follow_redirects=False)
        if ROLES.index(role) < ROLES.index(needed):
            assert r.status_code == 403, (role, method, path, r.status_code)
            assert needed in r.json()["detail"]
        else:
            assert r.status_code not in (401, 403), (role, method, path, r.status_code, r.text)


def test_both_headers_work_and_bad_keys_are_401(client: TestClient, api_key: KeyFn) -> None:
    key = api_key(client, "viewer")
    assert client.get("/v1/models", headers=_auth(key)).status_code == 200
    assert client.get("/v1/models", headers={"X-API-Key": key}).status_code == 200
    for headers in (
        _auth(key[:-2]),
        {"X-API-Key": "pmo_000000000000_" + "a" * 43},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        _auth(""),
    ):
        r = client.get("/v1/models", headers=headers)
        assert r.status_code == 401, headers
        assert "key" in r.json()["detail"]


def test_revocation_takes_effect_on_the_next_request(
    client: TestClient, settings: Settings, api_key: KeyFn
) -> None:
    key = api_key(client, "analyst")
    assert client.get("/v1/models", headers=_auth(key)).status_code == 200
    key_id = key.split("_")[1]
    KeyRing(Store(settings.store_url)).revoke(key_id)  # as `pmo-risk keys revoke` would
    r = client.get("/v1/models", headers=_auth(key))
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_admins_manage_keys_over_http(client: TestClient, api_key: KeyFn) -> None:
    admin = _auth(api_key(client, "admin"))
    r = client.post("/v1/keys", json={"role": "viewer", "name": "wall screen"}, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["role"] == "viewer" and created["key"].startswith("pmo_")
    new = _auth(created["key"])
    assert client.get("/v1/models", headers=new).status_code == 200
    listed = client.get("/v1/keys", headers=admin).json()["keys"]
    mine = [k for k in listed if k["key_id"] == created["key_id"]]
    assert len(mine) == 1 and "key" not in mine[0] and mine[0]["revoked_at"] is None
    r = client.delete(f"/v1/keys/{created['key_id']}", headers=admin)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert client.get("/v1/models", headers=new).status_code == 401
    assert client.delete("/v1/keys/ffffffffffff", headers=admin).status_code == 404
    r = client.post("/v1/keys", json={"role": "root", "name": "x"}, headers=admin)
    assert r.status_code == 422


# -- portfolio scoping -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def portfolios(client: TestClient, settings: Settings) -> dict[str, list[str]]:
    """Active project ids per portfolio of the stored data (at least two portfolios)."""
    projects = Store(settings.store_url).projects()
    active = projects.loc[projects["status"] == "active"]
    groups = {str(p): sorted(map(str, g["project_id"])) for p, g in active.groupby("portfolio")}
    assert len(groups) >= 2, "the simulated data needs two portfolios"
    return groups


def test_a_scoped_key_ranks_only_its_portfolio(
    client: TestClient, api_key: KeyFn, portfolios: dict[str, list[str]]
) -> None:
    mine, other = sorted(portfolios)[:2]
    headers = _auth(api_key(client, "viewer", [mine]))
    r = client.get("/v1/portfolio/risks", params={"limit": 1000}, headers=headers)
    assert r.status_code == 200
    body = r.json()
    assert {i["portfolio"] for i in body["items"]} == {mine}
    assert body["total"] == len(body["items"]) <= len(portfolios[mine])
    r = client.get("/v1/portfolio/risks", params={"portfolio": other}, headers=headers)
    assert r.status_code == 200 and r.json()["total"] == 0 and r.json()["items"] == []
    # an unscoped key sees both
    admin = _auth(api_key(client, "admin"))
    everyone = client.get("/v1/portfolio/risks", params={"limit": 1000}, headers=admin).json()
    assert {mine, other} <= {i["portfolio"] for i in everyone["items"]}


def test_a_scoped_key_gets_404_for_another_portfolios_project(
    client: TestClient, api_key: KeyFn, portfolios: dict[str, list[str]]
) -> None:
    mine, other = sorted(portfolios)[:2]
    headers = _auth(api_key(client, "viewer", [mine]))
    r = client.get(f"/v1/projects/{portfolios[mine][0]}", headers=headers)
    assert r.status_code == 200 and r.json()["project"]["portfolio"] == mine
    hidden = client.get(f"/v1/projects/{portfolios[other][0]}", headers=headers)
    missing = client.get("/v1/projects/NO-SUCH-PROJECT", headers=headers)
    assert hidden.status_code == missing.status_code == 404
    assert set(hidden.json()) == set(missing.json()) == {"detail"}


def _csv(*rows: str) -> str:
    return "\n".join(rows) + "\n"


PROJECT_HEADER = "project_id,name,portfolio,category,start_date,baseline_finish,baseline_budget"


def test_a_scoped_key_cannot_import_into_another_portfolio(
    client: TestClient, api_key: KeyFn, portfolios: dict[str, list[str]]
) -> None:
    """Creating a project elsewhere, taking over another portfolio's project id or adding
    reports to it are 403, and nothing changes; the key's own portfolio imports fine."""
    mine, other = sorted(portfolios)[:2]
    headers = _auth(api_key(client, "analyst", [mine]))
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    before, revision = store.counts(), store.revision()
    foreign = portfolios[other][0]
    attempts = [
        {
            "projects": (
                "p.csv",
                _csv(PROJECT_HEADER, f"SC-1,x,{other},IT,2024-01-01,2024-12-31,10"),
            )
        },
        {
            "projects": (
                "p.csv",
                _csv(PROJECT_HEADER, f"{foreign},x,{mine},IT,2024-01-01,2025-01-01,9"),
            )
        },
        {
            "snapshots": (
                "s.csv",
                _csv("project_id,as_of,percent_complete", f"{foreign},2031-01-31,5"),
            )
        },
    ]
    for files in attempts:
        r = client.post("/v1/imports", files=files, headers=headers)
        assert r.status_code == 403, r.text
        assert "outside the portfolios" in r.json()["detail"]
    assert store.counts() == before and store.revision() == revision
    ok = {"projects": ("p.csv", _csv(PROJECT_HEADER, f"SC-2,x,{mine},IT,2024-01-01,2024-12-31,10"))}
    r = client.post("/v1/imports", files=ok, headers=headers)
    assert r.status_code == 200, r.text
    assert store.counts()["projects"] == before["projects"] + 1


# -- web sign-in -------------------------------------------------------------------------------
def test_pages_redirect_to_login_and_a_key_signs_in_with_a_secure_cookie(
    client: TestClient, settings: Settings, api_key: KeyFn
) -> None:
    client.cookies.clear()
    r = client.get("/docs", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/docs"
    form = client.get("/login", params={"next": "/docs"})
    assert form.status_code == 200 and 'name="key"' in form.text
    bad = client.post("/login", data={"key": "nope", "next": "/docs"}, follow_redirects=False)
    assert bad.status_code == 401 and SESSION_COOKIE not in bad.cookies
    key = api_key(client, "viewer")
    r = client.post("/login", data={"key": key, "next": "/docs"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/docs"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie
    assert key not in cookie  # the cookie names the key id, never the secret
    assert client.get("/docs").status_code == 200
    assert client.get("/v1/models").status_code == 200
    # tampered cookie: refused
    value = client.cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, value[:-3] + "AAA")
    assert client.get("/v1/models").status_code == 401
    client.cookies.set(SESSION_COOKIE, value)
    # revoking the key ends the session at once
    KeyRing(Store(settings.store_url)).revoke(key.split("_")[1])
    assert client.get("/v1/models").status_code == 401
    assert client.get("/docs", follow_redirects=False).status_code == 303
    client.cookies.clear()


def test_login_over_https_sets_a_secure_cookie_and_never_redirects_off_site(
    settings: Settings, api_key: KeyFn
) -> None:
    with TestClient(create_app(settings), base_url="https://testserver") as c:
        key = api_key(c, "viewer")
        for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            r = c.post("/login", data={"key": key, "next": target}, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/"
            assert "Secure" in r.headers["set-cookie"]
        r = c.post("/logout", follow_redirects=False)
        assert r.status_code == 303 and SESSION_COOKIE in r.headers["set-cookie"]


# -- observability with real models ------------------------------------------------------------
def test_metrics_show_the_loaded_models_and_the_scores_served(
    client: TestClient, api_key: KeyFn, portfolios: dict[str, list[str]]
) -> None:
    headers = _auth(api_key(client, "analyst"))
    pid = next(iter(portfolios.values()))[0]
    detail = client.get(f"/v1/projects/{pid}", headers=headers).json()
    body = {"projects": [{"project": detail["project"], "snapshots": detail["snapshots"]}]}
    assert client.post("/v1/score", json=body, headers=headers).status_code == 200
    text = client.get("/metrics", headers=headers).text
    models = client.get("/v1/models", headers=headers).json()["models"]
    for m in models:
        assert (
            f'pmo_risk_model_info{{name="{m["name"]}",target="{m["target"]}",'
            f'version="{m["version"]}"}} 1.0'
        ) in text
        assert f'pmo_risk_score_probability_count{{target="{m["target"]}"}}' in text
    assert "pmo_risk_ready 1.0" in text
    assert 'route="/v1/projects/{project_id}",status="200"' in text
