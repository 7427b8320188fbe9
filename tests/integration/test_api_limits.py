"""Limits, hostile uploads and observability on the real app (an empty home: no model is
needed to be refused). Every limit comes from ``Settings``."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from risk_model.config import Settings


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, authorize: Callable[..., TestClient]
) -> Iterator[TestClient]:
    settings = Settings(
        home=tmp_path_factory.mktemp("limits-home"),
        max_body_bytes=20_000,
        max_upload_bytes=4_000,
        max_projects_per_call=3,
        max_snapshots_per_project=2,
        max_page_size=10,
    )
    with TestClient(create_app(settings)) as c:
        yield authorize(c)


def _project(i: int, reports: int = 0) -> dict[str, Any]:
    return {
        "project": {"project_id": f"P{i}", "start_date": "2024-01-01"},
        "snapshots": [
            {"as_of": f"2024-0{m + 2}-01", "percent_complete": 10 * (m + 1)} for m in range(reports)
        ],
    }


def test_too_many_projects_or_reports_per_call_is_422_with_a_message(client: TestClient) -> None:
    r = client.post("/v1/score", json={"projects": [_project(i) for i in range(4)]})
    assert r.status_code == 422
    assert "at most 3 projects per call" in r.json()["problems"][0]["message"]
    r = client.post("/v1/score", json={"projects": [_project(1, reports=3)]})
    assert r.status_code == 422
    [problem] = r.json()["problems"]
    assert problem["file"] == "body.projects[0].snapshots"
    assert "at most 2 reports per project" in problem["message"]


def test_a_body_over_the_size_limit_is_413(client: TestClient) -> None:
    big = {"projects": [_project(1)], "pad": "x" * 30_000}
    r = client.post("/v1/score", json=big)
    assert r.status_code == 413 and "at most 20000 bytes" in r.json()["detail"]


def test_a_page_over_the_limit_is_422(client: TestClient) -> None:
    r = client.get("/v1/portfolio/risks", params={"limit": 11})
    assert r.status_code == 422
    assert r.json()["problems"][0]["message"] == "at most 10 items per page"


CSV = (
    "project_id,name,portfolio,start_date,baseline_finish\n"
    "P1,=HYPERLINK(1),A,2024-01-01,2025-01-01\n"
)


def test_upload_names_cannot_escape_the_upload_folder(client: TestClient) -> None:
    for name in ("../../../../tmp/evil.csv", "..\\..\\evil.csv", "/etc/evil.csv"):
        r = client.post(
            "/v1/imports",
            files={"projects": (name, CSV, "text/csv")},
            data={"dry_run": "true"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["files"] == ["evil.csv"]
    assert not Path("/tmp/evil.csv").exists()


def test_a_file_over_the_upload_limit_is_413(client: TestClient) -> None:
    big = CSV + "".join(f"P{i},x,A,2024-01-01,2025-01-01\n" for i in range(2, 400))
    r = client.post("/v1/imports", files={"projects": ("p.csv", big, "text/csv")})
    assert r.status_code == 413 and "too large" in r.json()["detail"]


def _xlsx_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * 200_000)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        ("p.exe", b"MZ...", 422, "expected one of"),
        ("p.csv", b"PK\x03\x04rest-of-a-zip", 422, "not a text (CSV) file"),
        ("p.csv", b"id\x00\x01\x02binary", 422, "binary content"),
        ("p.xlsx", b"project_id\nP1\n", 422, "not an Excel workbook"),
        ("p.xlsx", _xlsx_bomb(), 413, "inflates"),
        ("p.csv", b"", 422, "empty"),
    ],
)
def test_uploads_of_the_wrong_type_are_refused(
    client: TestClient, name: str, content: bytes, status: int, message: str
) -> None:
    r = client.post("/v1/imports", files={"projects": (name, content, "application/octet-stream")})
    assert r.status_code == status, r.text
    body = r.json()
    text = body["detail"] + " ".join(p["message"] for p in body.get("problems", []))
    assert message in text


def test_metrics_need_a_key_and_count_requests_per_route(client: TestClient) -> None:
    client.get("/v1/models")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert 'route="/v1/models",status="200"' in r.text
    assert "pmo_risk_ready 0.0" in r.text  # empty home: no model
    anonymous = client.get("/metrics", headers={"Authorization": ""})
    assert anonymous.status_code == 401


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    for r in (
        client.get("/health"),
        client.get("/v1/models", headers={"X-Request-ID": "abc-123"}),
        client.get("/v1/models", headers={"Authorization": "Bearer nope"}),
    ):
        assert r.headers["x-request-id"]
    assert (
        client.get("/ready", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
