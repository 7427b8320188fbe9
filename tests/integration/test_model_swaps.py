"""Safe model swaps on a running service: a promote is picked up, a broken version is rejected
and the old models keep serving, and no request fails meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

from api.app import create_app
from api.model_manager import ModelManager, ModelRejected, validate_model
from api.services import ModelState
from model_registry.registry import ModelRegistry
from risk_model.config import TARGETS, Settings
from risk_model.score_store import ScoreStore
from risk_model.store import Store


def _wait(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A fresh home: a small simulated portfolio and version 1 of both models (champions)."""
    from training.simulate import simulate_portfolio
    from training.train import log_and_register, train_portfolio

    settings = Settings(
        home=tmp_path_factory.mktemp("swap-home"),
        n_estimators=30,
        min_child_samples=20,
        model_poll_seconds=0.2,
    )
    settings.ensure_home()
    sim = simulate_portfolio(160, seed=3)
    store = Store(settings.store_url).init()
    store.import_frames(sim.projects, sim.snapshots)
    fits = train_portfolio(store.projects(), store.snapshots(), settings)
    registry = ModelRegistry.from_settings(settings)
    log_and_register(fits, registry, promote=True)
    return {"settings": settings, "fits": fits, "registry": registry}


def _register(home: dict[str, Any], target: str, model: Any) -> str:
    registry: ModelRegistry = home["registry"]
    fit = home["fits"][target]
    run_id = registry.log_training(
        target=target,
        model=model,
        X_example=fit.X_example,
        params={},
        metrics={},
        feature_names=list(model.feature_names()),
    )
    return registry.register(run_id, target)


def _broken(home: dict[str, Any], target: str) -> Any:
    """A real fitted model whose calibrator gives NaN: it loads, but fails the probe."""
    import copy

    model = copy.deepcopy(home["fits"][target].model)
    bad = LogisticRegression()
    bad.classes_ = np.array([0, 1])
    bad.coef_ = np.array([[np.nan]])
    bad.intercept_ = np.array([0.0])
    model.calibrator_ = bad
    return model


@pytest.fixture(scope="module")
def client(home: dict[str, Any], authorize: Callable[..., TestClient]) -> Iterator[TestClient]:
    with TestClient(create_app(home["settings"])) as c:
        yield authorize(c)


def _versions(client: TestClient) -> dict[str, str]:
    return {m["target"]: m["version"] for m in client.get("/v1/models").json()["models"]}


class _Traffic:
    """Requests in a loop from another thread: every status code seen."""

    def __init__(self, client: TestClient, body: dict[str, Any]) -> None:
        self.client, self.body = client, body
        self.codes: list[int] = []
        self.versions: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            r = self.client.post("/v1/score", json=self.body)
            self.codes.append(r.status_code)
            if r.status_code == 200:
                self.versions.add(r.json()["model_versions"]["schedule"])
            self.codes.append(self.client.get("/v1/portfolio/risks").status_code)

    def __enter__(self) -> _Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def _reload_failures(client: TestClient) -> dict[str, float]:
    """``pmo_risk_model_reload_failures_total`` per target, scraped from /metrics."""
    out: dict[str, float] = {}
    prefix = 'pmo_risk_model_reload_failures_total{target="'
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(prefix):
            target, value = line[len(prefix) :].split('"} ')
            out[target] = float(value)
    return out


def _score_body(client: TestClient) -> dict[str, Any]:
    pid = client.get("/v1/portfolio/risks", params={"limit": 1}).json()["items"][0]["project_id"]
    detail = client.get(f"/v1/projects/{pid}").json()
    return {
        "projects": [{"project": detail["project"], "snapshots": detail["snapshots"]}],
        "explain": False,
    }


def test_a_promote_mid_service_is_picked_up_without_failing_a_request(
    client: TestClient, home: dict[str, Any]
) -> None:
    """Polling sees the new champion, swaps it in while traffic runs (every answer 200),
    then rescores the stored portfolio in the background with the new version."""
    body = _score_body(client)
    before = _versions(client)
    with _Traffic(client, body) as traffic:
        time.sleep(0.5)
        new = _register(home, "schedule", home["fits"]["schedule"].model)
        home["registry"].promote("schedule", new)
        assert _wait(lambda: _versions(client)["schedule"] == new), "the swap was not seen"
        assert _wait(lambda: new in traffic.versions), "no request was served by the new model"
    assert traffic.codes and set(traffic.codes) == {200}
    assert {before["schedule"], new} <= traffic.versions
    assert _versions(client)["cost"] == before["cost"]
    status = client.get("/v1/models").json()["reload"]
    assert status["swaps"] >= 1 and status["last_error"] is None

    store = ScoreStore(Store(home["settings"].store_url))

    def rescored() -> bool:
        state = store.state()
        return state is not None and state.versions["schedule"] == new

    assert _wait(rescored), "stored scores were not recomputed after the swap"
    ranked = client.get("/v1/portfolio/risks").json()
    assert ranked["model_versions"]["schedule"] == new
    assert {i["scores"]["schedule"]["model_version"] for i in ranked["items"]} == {new}


def test_a_broken_version_is_rejected_and_the_old_keeps_serving(
    client: TestClient, home: dict[str, Any]
) -> None:
    """A champion that scores NaN on the probe batch is refused: the reload endpoint says
    why, /v1/models reports it, scoring goes on with the old version, and polls retry."""
    body = _score_body(client)
    before = _versions(client)
    bad = _register(home, "cost", _broken(home, "cost"))
    home["registry"].promote("cost", bad)
    r = client.post("/v1/models/reload")
    assert r.status_code == 409, r.text
    assert "cost" in r.json()["errors"] and "probe" in r.json()["errors"]["cost"]
    assert _versions(client) == before
    status = client.get("/v1/models").json()["reload"]
    assert status["failures"] >= 1 and f"version {bad}" in status["last_error"]
    checks = status["checks"]
    assert _wait(lambda: client.get("/v1/models").json()["reload"]["checks"] > checks + 1)
    assert _versions(client) == before  # retried, still refused
    counted = _reload_failures(client)  # the endpoint's refusal and the poller's since
    assert counted.get("cost", 0) >= 2
    assert sum(counted.values()) <= client.get("/v1/models").json()["reload"]["failures"]
    r = client.post("/v1/score", json=body)
    assert r.status_code == 200 and r.json()["model_versions"]["cost"] == before["cost"]

    good = _register(home, "cost", home["fits"]["cost"].model)
    home["registry"].promote("cost", good)
    r = client.post("/v1/models/reload")
    assert r.status_code == 200, r.text
    assert _versions(client)["cost"] == good
    assert client.get("/v1/models").json()["reload"]["last_error"] is None


def test_an_unreachable_registry_keeps_the_old_models(home: dict[str, Any], tmp_path: Path) -> None:
    """With the registry unreadable the check fails, is reported, and the state is unchanged."""
    registry: ModelRegistry = home["registry"]
    state = ModelState({t: registry.load(t) for t in TARGETS}, {})
    broken = tmp_path / "mlflow.db"
    broken.write_bytes(b"this is not a database" * 100)
    gone = ModelRegistry(f"sqlite:///{broken}")
    manager = ModelManager(gone, state)
    result = manager.check()
    assert not result.swapped and result.errors
    assert manager.state is state
    status = manager.status()
    assert status.failures == 1 and status.last_error and "registry" in status.last_error


def test_validation_refuses_a_model_on_columns_we_do_not_compute(home: dict[str, Any]) -> None:
    """A model trained on a column our features lack fails the signature check."""
    import pandas as pd

    from model_registry.registry import LoadedModel
    from risk_model.estimator import RiskClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"not_a_feature": rng.normal(size=200), "cpi": rng.normal(size=200)})
    y = (X["cpi"] > 0).astype(int)
    model = RiskClassifier(n_estimators=5, min_child_samples=5).fit(X, y)
    loaded = LoadedModel("cost", "pmo-risk-cost", "9", "champion", model, "r", pd.Timestamp.now())
    with pytest.raises(ModelRejected, match="not_a_feature"):
        validate_model(loaded)
    validate_model(home["registry"].load("cost"))  # the real one passes
