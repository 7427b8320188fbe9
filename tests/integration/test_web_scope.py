"""A key scoped to one portfolio sees only that portfolio on every page, as in the JSON API."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from risk_model.config import TARGETS, Settings
from risk_model.store import Store


@pytest.fixture(scope="module")
def scope_settings(trained_home: Settings, copy_store: Callable[..., Settings]) -> Settings:
    return copy_store(trained_home, "web-scope")


@pytest.fixture(scope="module")
def owners(scope_settings: Settings) -> dict[str, str]:
    """project id -> portfolio of every stored project."""
    projects = Store(scope_settings.store_url).projects()
    return dict(zip(projects["project_id"], projects["portfolio"], strict=True))


@pytest.fixture(scope="module")
def client(scope_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(scope_settings)) as c:
        yield c


@pytest.fixture(scope="module")
def keys(client: TestClient, api_key: Callable[..., str], owners: dict[str, str]) -> dict[str, Any]:
    """An admin key, and a viewer and an analyst key scoped to the first portfolio."""
    mine, other = sorted(set(owners.values()))[:2]
    return {
        "mine": mine,
        "other": other,
        "admin": {"X-API-Key": api_key(client, "admin")},
        "viewer": {"X-API-Key": api_key(client, "viewer", [mine])},
        "analyst": {"X-API-Key": api_key(client, "analyst", [mine])},
    }


def _one_of(owners: dict[str, str], client: TestClient, keys: dict[str, Any], who: str) -> str:
    """An active (ranked) project of ``who``'s portfolio ("mine" or "other")."""
    items = client.get("/v1/portfolio/risks", params={"limit": 1000}, headers=keys["admin"]).json()[
        "items"
    ]
    return next(i["project_id"] for i in items if owners[i["project_id"]] == keys[who])


def _page_project_ids(html: str) -> set[str]:
    """Every project id a portfolio page names: rows, scatter points, alerts, links."""
    ids = set(re.findall(r'<tr data-project="([^"]+)"', html))
    ids |= set(re.findall(r'href="/projects/([^"]+)"', html))
    scatter = re.search(r'<script type="application/json" id="scatter-data">(.*?)</script>', html)
    assert scatter is not None
    ids |= set(json.loads(scatter.group(1))["points"]["id"])
    return ids


def test_portfolio_page_lists_filters_and_plots_only_the_keys_portfolio(
    client: TestClient, keys: dict[str, Any], owners: dict[str, str]
) -> None:
    for target in TARGETS:
        api = client.get(
            "/v1/portfolio/risks", params={"target": target, "limit": 1000}, headers=keys["viewer"]
        ).json()
        page = client.get("/", params={"target": target}, headers=keys["viewer"])
        assert page.status_code == 200, page.text
        seen = _page_project_ids(page.text)
        assert seen and {owners[p] for p in seen} == {keys["mine"]}
        assert f"{api['total']} active project" in page.text
        options = re.search(r'<select id="f-portfolio" name="portfolio">(.*?)</select>', page.text)
        assert options is not None
        assert re.findall(r'<option value="([^"]*)"', options.group(1)) == ["", keys["mine"]]
    # Asking for another portfolio by filter shows nothing of it.
    other = client.get("/", params={"portfolio": keys["other"]}, headers=keys["viewer"]).text
    assert "0 active projects" in other and not _page_project_ids(other)
    # An unscoped key sees both portfolios on the same page.
    everything = _page_project_ids(client.get("/", headers=keys["admin"]).text)
    assert {keys["mine"], keys["other"]} <= {owners[p] for p in everything}


def test_another_portfolios_project_page_is_404_like_a_missing_one(
    client: TestClient, keys: dict[str, Any], owners: dict[str, str]
) -> None:
    mine, other = (_one_of(owners, client, keys, w) for w in ("mine", "other"))
    assert client.get(f"/projects/{mine}", headers=keys["viewer"]).status_code == 200
    hidden = client.get(f"/projects/{other}", headers=keys["viewer"])
    missing = client.get("/projects/NO-SUCH-PROJECT", headers=keys["viewer"])
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace(other, "X") == missing.text.replace("NO-SUCH-PROJECT", "X")
    assert client.get(f"/projects/{other}", headers=keys["admin"]).status_code == 200


def test_register_and_what_if_of_another_portfolio_are_404(
    client: TestClient, keys: dict[str, Any], owners: dict[str, str]
) -> None:
    """The project page's JavaScript calls these: a scoped key reaches only its projects."""
    mine, other = (_one_of(owners, client, keys, w) for w in ("mine", "other"))
    body = {"statement": "Supplier may slip", "probability": 3, "impact": 4}
    theirs = client.post(f"/v1/projects/{other}/risks", json=body, headers=keys["admin"]).json()
    action = client.post(
        f"/v1/risks/{theirs['risk_id']}/actions",
        json={"description": "Second supplier"},
        headers=keys["admin"],
    ).json()
    an = keys["analyst"]
    assert client.get(f"/v1/projects/{other}/risks", headers=an).status_code == 404
    assert client.post(f"/v1/projects/{other}/risks", json=body, headers=an).status_code == 404
    assert client.get(f"/v1/risks/{theirs['risk_id']}", headers=an).status_code == 404
    assert (
        client.patch(
            f"/v1/risks/{theirs['risk_id']}", json={"status": "closed"}, headers=an
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/v1/risks/{theirs['risk_id']}/actions", json={"description": "x"}, headers=an
        ).status_code
        == 404
    )
    assert (
        client.patch(
            f"/v1/actions/{action['action_id']}", json={"status": "done"}, headers=an
        ).status_code
        == 404
    )
    assert client.delete(f"/v1/actions/{action['action_id']}", headers=an).status_code == 404
    assert client.delete(f"/v1/risks/{theirs['risk_id']}", headers=an).status_code == 404
    assert client.get(f"/v1/projects/{other}/levers", headers=an).status_code == 404
    what_if = {"changes": {}}
    assert client.post(f"/v1/projects/{other}/what-if", json=what_if, headers=an).status_code == 404
    under = {"target": "cost", "threshold": 0.5}
    assert (
        client.post(f"/v1/projects/{other}/bring-under", json=under, headers=an).status_code == 404
    )
    # nothing of theirs was changed; their own portfolio's register works for the scoped key
    still = client.get(f"/v1/risks/{theirs['risk_id']}", headers=keys["admin"]).json()
    assert still["status"] == "open" and len(still["actions"]) == 1
    assert client.get(f"/v1/projects/{mine}/risks", headers=an).status_code == 200
    assert client.get(f"/v1/projects/{mine}/levers", headers=an).status_code == 200


def test_report_downloads_hold_only_the_keys_portfolio(
    client: TestClient, keys: dict[str, Any], owners: dict[str, str], scope_settings: Settings
) -> None:
    from openpyxl import load_workbook

    as_of = Store(scope_settings.store_url).snapshots()["as_of"].quantile(0.7).date()
    for params in ({"format": "xlsx", "top": 3}, {"format": "xlsx", "top": 3, "as_of": as_of}):
        r = client.get("/reports/portfolio", params=params, headers=keys["viewer"])
        assert r.status_code == 200, r.text
        wb = load_workbook(io.BytesIO(r.content))
        listed = [row[0] for row in wb["All projects"].iter_rows(min_row=2, values_only=True)]
        assert listed and {owners[p] for p in listed} == {keys["mine"]}
        top = [row[0] for row in wb["Top projects"].iter_rows(min_row=2, values_only=True)]
        assert {owners[p] for p in top} == {keys["mine"]}
    html = client.get("/reports/portfolio", params={"top": 2}, headers=keys["viewer"]).text
    named = set(re.findall(r"<strong>([^<]+)</strong>", html)) & set(owners)
    assert named and {owners[p] for p in named} == {keys["mine"]}
