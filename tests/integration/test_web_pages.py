"""The web pages over HTTP on the shared ``trained_home`` (a private copy of its store)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from risk_model.config import TARGETS, Settings


@pytest.fixture(scope="module")
def web_settings(trained_home: Settings, copy_store: Callable[..., Settings]) -> Settings:
    return copy_store(trained_home, "web")


@pytest.fixture(scope="module")
def client(web_settings: Settings, authorize: Callable[..., Any]) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings)) as c:
        yield authorize(c)


def _ids(html: str) -> list[str]:
    return re.findall(r'<tr data-project="([^"]+)"', html)


def _probs(html: str) -> list[float]:
    return [float(v) for v in re.findall(r'data-probability="([0-9.e-]+)"', html)]


def test_portfolio_page_ranks_like_the_api(client: TestClient) -> None:
    for target in TARGETS:
        page = client.get("/", params={"target": target})
        assert page.status_code == 200, page.text
        api = client.get("/v1/portfolio/risks", params={"target": target, "limit": 50}).json()
        assert _ids(page.text) == [i["project_id"] for i in api["items"]]
        probs = _probs(page.text)
        assert probs == sorted(probs, reverse=True)
        assert "budget at risk" in page.text and "newly escalated" in page.text
        assert "/vendor/plotly.min.js" in page.text and "cdn" not in page.text.lower()


def test_portfolio_filters_and_sorting(client: TestClient) -> None:
    everything = client.get("/v1/portfolio/risks", params={"limit": 1000}).json()["items"]
    category = everything[0]["category"]
    page = client.get("/", params={"category": category, "sort": "probability", "order": "asc"})
    ids = _ids(page.text)
    wanted = {i["project_id"] for i in everything if i["category"] == category}
    assert ids and set(ids) <= wanted
    probs = _probs(page.text)
    assert probs == sorted(probs)
    high = client.get("/", params={"band": "critical"})
    for block in re.findall(r"<tr data-project=.*?</tr>", high.text, flags=re.S):
        assert 'data-band="critical"' in block
    by_budget = client.get("/", params={"sort": "budget"})
    budgets = [float(b) for b in re.findall(r'data-budget="([0-9.e+-]+)"', by_budget.text)]
    assert budgets == sorted(budgets, reverse=True)


def test_bands_are_written_in_words(client: TestClient, web_settings: Settings) -> None:
    page = client.get("/").text
    for name in web_settings.band_names:
        assert f'<span class="band band-{name}" data-band="{name}">' in page
        assert re.search(
            rf'data-band="{name}"><span aria-hidden="true" class="band-icon"></span>{name}<', page
        )


def test_project_page_shows_explanation_register_and_what_if(client: TestClient) -> None:
    top: dict[str, Any] = client.get("/v1/portfolio/risks", params={"limit": 1}).json()["items"][0]
    page = client.get(f"/projects/{top['project_id']}")
    assert page.status_code == 200, page.text
    for target in TARGETS:
        assert f'id="waterfall-{target}"' in page.text
        driver = top["scores"][target]["drivers"]
        if driver:
            assert driver[0]["text"].replace("'", "&#39;") in page.text
    assert 'id="whatif-form"' in page.text and 'id="add-risk"' in page.text
    # The overrun range in the project's own units (issue 3 section 4), as the API gives it.
    latest = client.get(f"/v1/projects/{top['project_id']}").json()["latest"]["scores"]
    finish = latest["schedule"]["overrun"]
    assert f"Likely finish: <strong>{finish['finish_p50']}</strong>" in page.text
    assert f"{finish['finish_p10']} (P10) and {finish['finish_p90']} (P90)" in page.text
    assert 'data-overrun="cost"' in page.text and "Likely cost at completion" in page.text
    assert 'data-overrun="forward"' not in page.text
    assert client.get("/projects/NO-SUCH").status_code == 404


def test_models_page_shows_metrics_beside_baselines_and_plots(client: TestClient) -> None:
    page = client.get("/models")
    assert page.status_code == 200
    assert "ROC-AUC" in page.text and "model" in page.text
    plots = re.findall(r'src="(/models/runs/[0-9a-f]{32}/artifacts/plots/[^"]+\.png)"', page.text)
    assert plots
    img = client.get(plots[0])
    assert img.status_code == 200 and img.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_models_page_says_when_no_drift_check_was_made(client: TestClient) -> None:
    models = client.get("/v1/models").json()["models"]
    assert models and all(m["drift_source"] == "none" for m in models)
    page = client.get("/models").text
    for m in models:
        assert f'data-drift="{m["target"]}" data-drift-source="none"' in page
    assert page.count("No drift check yet for this version") == len(models)


def test_import_page_and_local_chart_library(client: TestClient) -> None:
    assert 'id="import-form"' in client.get("/import").text
    js = client.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert client.get("/static/app.css").status_code == 200


def test_what_if_over_http(client: TestClient) -> None:
    top = client.get("/v1/portfolio/risks", params={"target": "cost", "limit": 1}).json()
    pid = top["items"][0]["project_id"]
    levers = {lv["name"]: lv for lv in client.get(f"/v1/projects/{pid}/levers").json()}
    assert "cpi" in levers
    same = client.post(f"/v1/projects/{pid}/what-if", json={"changes": {}}).json()
    assert same["before"]["cost"] == pytest.approx(top["items"][0]["probability"])
    better = client.post(
        f"/v1/projects/{pid}/what-if", json={"changes": {"cpi": max(1.0, levers["cpi"]["current"])}}
    )
    assert better.status_code == 200, better.text
    assert better.json()["after"]["cost"] <= better.json()["before"]["cost"]
    bad = client.post(f"/v1/projects/{pid}/what-if", json={"changes": {"morale": 2}})
    assert bad.status_code == 422 and bad.json()["problems"][0]["column"] == "morale"
    under = client.post(
        f"/v1/projects/{pid}/bring-under", json={"target": "cost", "threshold": 0.99}
    ).json()
    assert under["current"] == pytest.approx(same["before"]["cost"])
    if under["current"] < 0.99:  # any step that keeps it under counts; the smallest is chosen
        assert under["best"] is not None and under["best"]["probability"] < 0.99
    assert client.post("/v1/projects/NOPE/what-if", json={"changes": {}}).status_code == 404


@pytest.fixture(scope="module")
def scheduled(
    trained_home: Settings,
    copy_store: Callable[..., Settings],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Settings, list[Path]]:
    """A private store with the trained portfolio plus one project imported, as
    ``pmo-risk import`` does, from two P6 schedule updates (XER)."""
    from features.sources.importer import import_paths
    from features.sources.intake import survey
    from risk_model.store import Store
    from training.synthetic_schedule import write_synthetic_xer

    settings = copy_store(trained_home, "web-schedule")
    folder = tmp_path_factory.mktemp("xer")
    paths = []
    for name, progress, delay in (("u1.xer", 0.3, 5.0), ("u2.xer", 0.6, 40.0)):
        write_synthetic_xer(folder / name, n_activities=90, n_relationships=130, seed=8,
                            progress=progress, delay_days=delay, cost_overrun=0.2)  # fmt: skip
        paths.append(folder / name)
    store = Store(settings.store_url)
    try:
        import_paths(store, survey([folder]))
    finally:
        store.dispose()
    return settings, paths


def test_project_page_shows_the_latest_schedule_updates_dcma_findings(
    scheduled: tuple[Settings, list[Path]], authorize: Callable[..., Any]
) -> None:
    from features.sources.schedules import read_schedule
    from features.sources.schedules.dcma import assess

    settings, paths = scheduled
    (latest,) = (assess(s) for s in read_schedule(paths[-1]))
    with TestClient(create_app(settings)) as c:
        authorize(c, role="viewer")
        page = c.get("/projects/SYN-1")
        assert page.status_code == 200, page.text
        html = page.text
        assert f"From the schedule update of {latest.data_date.date()}" in html
        rows = re.findall(
            r'<tr data-check="(\d+)" data-result="([a-z ]+)">(.*?)</tr>', html, flags=re.S
        )
        assert [int(n) for n, _, _ in rows] == list(range(1, 15))
        for (_, result, cells), check in zip(rows, latest.checks, strict=True):
            words = {True: "pass", False: "fail", None: "not computed"}[check.passed]
            assert result == words
            assert check.spec.title in cells
            assert {"pass": "✓ pass", "fail": "✗ FAIL", "not computed": "– not computed"}[
                words
            ] in cells  # the verdict in words, not colour alone
        passed = sum(ch.passed is True for ch in latest.checks)
        assert (
            f"{passed} of {sum(ch.passed is not None for ch in latest.checks)} checks pass" in html
        )
        assert 'id="no-schedule"' not in html

        # the JSON project detail carries the same findings (for dashboards)
        body = c.get("/v1/projects/SYN-1").json()["schedule_quality"]
        assert body["as_of"] == str(latest.data_date.date())
        assert [ch["number"] for ch in body["checks"]] == list(range(1, 15))
        assert [ch["result"] for ch in body["checks"]] == [
            {True: "pass", False: "fail", None: "not computed"}[ch.passed] for ch in latest.checks
        ]
        assert body["passed"] == passed
        assert body["failed"] == [i + 1 for i, ch in enumerate(latest.checks) if ch.passed is False]
        items = c.get("/v1/portfolio/risks", params={"limit": 5}).json()["items"]
        other = next(i["project_id"] for i in items if i["project_id"] != "SYN-1")
        assert c.get(f"/v1/projects/{other}").json()["schedule_quality"] is None

        other = c.get("/v1/portfolio/risks", params={"limit": 1}).json()["items"][0]
        plain = c.get(f"/projects/{other['project_id']}").text
        assert 'id="no-schedule"' in plain and "This project has no schedule" in plain
        assert 'id="dcma-table"' not in plain
