"""Domain errors map to HTTP status codes and bodies in one place."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.errors import error_body, install_error_handlers, status_for
from risk_model.exceptions import (
    InsufficientData,
    ModelNotAvailable,
    PmoRiskError,
    Problem,
    UnknownProject,
    ValidationFailed,
)

PROBLEMS = [
    Problem("projects.csv", 3, "baseline_finish", "finish before start", "2020-01-01"),
    Problem("snapshots.csv", None, "as_of", "required column as_of is missing"),
]


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (ValidationFailed(PROBLEMS), 422),
        (UnknownProject("P-9"), 404),
        (ModelNotAvailable("no champion model loaded for: cost"), 503),
        (InsufficientData("too few reports"), 422),
        (PmoRiskError("anything else"), 400),
    ],
)
def test_status_of_each_domain_error(exc: PmoRiskError, status: int) -> None:
    assert status_for(exc) == status


def test_validation_body_lists_every_problem() -> None:
    body = error_body(ValidationFailed(PROBLEMS))
    assert body["detail"].startswith("2 problems found")
    assert body["problems"][0] == {
        "file": "projects.csv",
        "row": 3,
        "column": "baseline_finish",
        "message": "finish before start",
        "value": "2020-01-01",
    }
    assert body["problems"][1]["row"] is None


def test_handlers_turn_raised_errors_into_responses() -> None:
    """It answers a route that raises a domain error with the mapped status and body."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/missing")
    def missing() -> None:
        raise UnknownProject("P-404")

    @app.get("/nomodel")
    def nomodel() -> None:
        raise ModelNotAvailable("no champion model loaded for: schedule")

    @app.get("/invalid")
    def invalid() -> None:
        raise ValidationFailed(PROBLEMS)

    client = TestClient(app)
    r = client.get("/missing")
    assert r.status_code == 404 and "P-404" in r.json()["detail"]
    r = client.get("/nomodel")
    assert r.status_code == 503 and "schedule" in r.json()["detail"]
    r = client.get("/invalid")
    assert r.status_code == 422 and len(r.json()["problems"]) == 2
