"""Request ids, JSON access logs, metrics, body limits and timeouts, through real HTTP on
small apps built with the same middleware as the service."""

from __future__ import annotations

import json
import logging
import time

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from api.middleware import install_middleware
from api.observability import ACCESS_LOGGER, JsonFormatter, Metrics


def _app(max_body: int = 1000, max_upload: int = 2000, timeout: float = 5.0) -> FastAPI:
    app = FastAPI()
    app.state.metrics = Metrics(app.state)

    @app.get("/items/{item_id}")
    def item(item_id: str) -> dict[str, str]:
        return {"item": item_id}

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        import anyio

        await anyio.sleep(3)
        return {"done": "late"}

    @app.get("/slow-sync")
    def slow_sync() -> dict[str, str]:
        time.sleep(1.0)
        return {"done": "late"}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaput")

    install_middleware(app, app.state.metrics, max_body, max_upload, timeout)
    return app


def test_every_response_has_a_request_id_and_echoes_a_sane_one() -> None:
    with TestClient(_app()) as c:
        a, b = c.get("/items/1"), c.get("/items/2")
        assert a.headers["x-request-id"] != b.headers["x-request-id"]
        assert len(a.headers["x-request-id"]) == 32
        r = c.get("/items/1", headers={"X-Request-ID": "trace-42.a:b"})
        assert r.headers["x-request-id"] == "trace-42.a:b"
        r = c.get("/items/1", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 200})
        assert r.headers["x-request-id"] != "bad id" and len(r.headers["x-request-id"]) == 32
        assert c.get("/nowhere").headers["x-request-id"]


def test_one_json_log_line_per_request_with_route_status_and_duration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER), TestClient(_app()) as c:
            r = c.get("/items/7", headers={"X-Request-ID": "req-1"})
    finally:
        logger.removeHandler(caplog.handler)
    # the record may reach caplog twice (our handler and root's): one request, one record
    [record] = {id(rec): rec for rec in caplog.records if rec.name == ACCESS_LOGGER}.values()
    line = json.loads(JsonFormatter().format(record))
    assert r.status_code == 200
    assert line["request_id"] == "req-1" and line["route"] == "/items/{item_id}"
    assert line["path"] == "/items/7" and line["status"] == 200 and line["method"] == "GET"
    assert line["duration_ms"] >= 0 and line["level"] == "info"


def test_metrics_count_requests_per_route_template() -> None:
    app = _app()
    with TestClient(app) as c:
        for i in range(3):
            c.get(f"/items/{i}")
        c.get("/nowhere")
    text = app.state.metrics.render().decode()
    assert (
        'pmo_risk_http_requests_total{method="GET",route="/items/{item_id}",status="200"} 3.0'
        in text
    )
    assert 'route="unmatched",status="404"' in text
    assert (
        'pmo_risk_http_request_duration_seconds_count{method="GET",route="/items/{item_id}"} 3.0'
        in text
    )
    assert "/items/1" not in text  # never the raw path


def test_an_unhandled_error_is_a_json_500_with_the_request_id() -> None:
    with TestClient(_app(), raise_server_exceptions=False) as c:
        r = c.get("/boom", headers={"X-Request-ID": "oops-1"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "oops-1"
    assert "oops-1" in r.json()["detail"] and "kaput" not in r.text


def test_bodies_over_the_limit_are_413_by_length_or_while_streaming() -> None:
    with TestClient(_app(max_body=1000)) as c:
        assert c.post("/echo", content=b"x" * 1000).json() == {"bytes": 1000}
        r = c.post("/echo", content=b"x" * 1001)
        assert r.status_code == 413 and "at most 1000 bytes" in r.json()["detail"]

        def chunks():  # no Content-Length: counted while read
            for _ in range(5):
                yield b"y" * 300

        r = c.post("/echo", content=chunks())
        assert r.status_code == 413 and "at most 1000 bytes" in r.json()["detail"]
        # uploads have their own (larger) limit
        r = c.post("/echo", files={"f": ("a.csv", b"z" * 3000, "text/csv")})
        assert r.status_code == 200


def test_a_slow_request_is_a_504_without_waiting_for_the_work() -> None:
    with TestClient(_app(timeout=0.3)) as c:
        t0 = time.perf_counter()
        r = c.get("/slow")
        took = time.perf_counter() - t0
        assert r.status_code == 504 and "longer than 0.3 s" in r.json()["detail"]
        assert took < 2.5
        r = c.get("/slow-sync")
        assert r.status_code == 504
        assert c.get("/items/1").status_code == 200  # the service goes on


def test_model_info_reload_failures_scores_and_drift_are_exposed() -> None:
    class Loaded:
        name, version = "pmo-risk-schedule", "7"

    class Models:
        def __init__(self) -> None:
            self.loaded = {"schedule": Loaded()}
            self.ready = False

    class State:
        models = Models()

    m = Metrics(State())
    m.reload_failed("cost")
    m.observe_scores("schedule", [0.1, None, 0.93])
    m.set_drift("schedule", {"spi": True, "cpi": False})
    m.set_drift("schedule", {"spi": False})
    text = m.render().decode()
    assert 'pmo_risk_model_info{name="pmo-risk-schedule",target="schedule",version="7"} 1.0' in text
    assert "pmo_risk_ready 0.0" in text
    assert 'pmo_risk_model_reload_failures_total{target="cost"} 1.0' in text
    assert 'pmo_risk_score_probability_count{target="schedule"} 2.0' in text
    assert 'pmo_risk_drift_flag{feature="spi",target="schedule"} 0.0' in text
    assert 'feature="cpi"' not in text
