"""Model cards and drift flags over HTTP, after a real gated retraining."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from features.pipeline import build_features
from model_registry.registry import ModelRegistry
from risk_model.config import Settings
from risk_model.store import Store
from training.labels import Labelled, labelled_rows
from training.retrain import PROMOTED, Decision, retrain
from training.train import fit_target, log_fit


@pytest.fixture(scope="module")
def retrained(
    tmp_path_factory: pytest.TempPathFactory, simulated: Any, mlflow_db: Path
) -> tuple[Settings, Decision]:
    """A schedule champion trained on shuffled labels, then a retrain that replaces it."""
    home = tmp_path_factory.mktemp("cards-home")
    settings = Settings(home=home, n_estimators=80, min_child_samples=20)
    settings.ensure_home()
    shutil.copyfile(mlflow_db, home / "mlflow.db")
    store = Store(settings.store_url).init()
    store.import_frames(simulated.projects, simulated.snapshots)
    store.dispose()
    projects, snapshots = simulated.projects, simulated.snapshots
    labelled = labelled_rows(
        build_features(projects, snapshots), projects, snapshots, "schedule", settings
    )
    y = labelled.y.copy()
    y[:] = np.random.default_rng(0).permutation(y.to_numpy())
    shuffled = Labelled("schedule", labelled.rows, y, labelled.label_date, labelled.ratio)
    registry = ModelRegistry.from_settings(settings)
    registry.register(log_fit(fit_target(shuffled, settings), registry), "schedule")
    [decision] = retrain(settings, targets=("schedule",)).decisions
    assert decision.action == PROMOTED
    return settings, decision


@pytest.fixture(scope="module")
def client(
    retrained: tuple[Settings, Decision], authorize: Callable[..., TestClient]
) -> Iterator[TestClient]:
    with TestClient(create_app(retrained[0])) as c:
        yield authorize(c, "viewer")


def test_models_endpoint_lists_limitations_and_drift_flags(
    client: TestClient, retrained: tuple[Settings, Decision]
) -> None:
    """The champion's entry carries its card's limitations and its training-time drift flags."""
    settings, decision = retrained
    card = ModelRegistry.from_settings(settings).model_card("schedule", decision.champion_after)
    r = client.get("/v1/models")
    assert r.status_code == 200, r.text
    [model] = r.json()["models"]
    assert model["version"] == decision.challenger_version
    assert model["limitations"] == card.limitations and model["limitations"]
    assert model["drift_source"] == "training"
    assert model["drift_flagged"] == card.card["drift"]["flagged"]  # type: ignore[index]


def test_card_endpoint_returns_the_card_markdown_and_drift(
    client: TestClient, retrained: tuple[Settings, Decision]
) -> None:
    settings, decision = retrained
    r = client.get("/v1/models/schedule/card")
    assert r.status_code == 200, r.text
    body = r.json()
    logged = ModelRegistry.from_settings(settings).run_artifact_json(
        decision.challenger_run_id or "", "model_card.json"
    )
    assert body["card"] == logged
    assert body["version"] == decision.challenger_version
    assert body["markdown"].startswith("# Model card: schedule")
    flagged = [f["feature"] for f in body["drift"] if f["flagged"]]
    assert flagged == body["drift_flagged"]
    assert {f["feature"] for f in body["drift"]} == {
        f["feature"] for f in logged["drift"]["features"]
    }


def test_card_of_a_target_without_model_is_503(client: TestClient) -> None:
    r = client.get("/v1/models/cost/card")
    assert r.status_code == 503
    assert client.get("/v1/models/nonsense/card").status_code == 422


def test_retrain_drift_check_is_recorded_on_the_checked_version(
    retrained: tuple[Settings, Decision],
) -> None:
    """The replaced champion's latest drift is the retrain's measurement, with its time."""
    settings, decision = retrained
    card = ModelRegistry.from_settings(settings).model_card("schedule", decision.champion_before)
    assert card.drift_source == "retrain" and card.drift_checked_at
    assert card.drift_flagged == decision.drift_flagged
    assert card.drift == decision.drift


def _gauges(text: str, name: str) -> dict[tuple[str, ...], float]:
    """``{(label values...): value}`` of one metric family in Prometheus text."""
    out: dict[tuple[str, ...], float] = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) + 1 :].rsplit("} ", 1)
            out[tuple(part.split("=", 1)[1].strip('"') for part in labels.split(","))] = float(
                value
            )
    return out


def test_metrics_expose_the_loaded_models_drift_flags_per_target(
    client: TestClient, retrained: tuple[Settings, Decision]
) -> None:
    """/metrics has one drift gauge per feature of the card GET /v1/models reads (1 flagged,
    0 not) and the number flagged per target."""
    settings, decision = retrained
    card = ModelRegistry.from_settings(settings).model_card("schedule", decision.champion_after)
    assert card.drift, "the card has a drift measurement"
    r = client.get("/metrics")
    assert r.status_code == 200
    flags = _gauges(r.text, "pmo_risk_drift_flag")
    expected = {("schedule", str(f["feature"])): float(bool(f["flagged"])) for f in card.drift}
    assert {(t, f): v for (f, t), v in flags.items()} == expected
    counts = _gauges(r.text, "pmo_risk_drift_flagged_features")
    flagged = client.get("/v1/models").json()["models"][0]["drift_flagged"]
    assert counts == {("schedule",): float(len(flagged))}


def test_models_page_shows_the_drift_flags_with_their_psi(client: TestClient) -> None:
    """The page says what GET /v1/models/{target}/card says: each flagged feature with its PSI
    (or that none drifted, naming the highest PSI)."""
    import re

    card = client.get("/v1/models/schedule/card").json()
    page = client.get("/models")
    assert page.status_code == 200, page.text
    block = re.search(
        r'<div class="panel" data-drift="schedule" data-drift-source="training">(.*?)</div>',
        page.text,
        flags=re.S,
    )
    assert block is not None, page.text
    html = block.group(1)
    assert f"on {len(card['drift'])} features" in html
    psi = {f["feature"]: f["psi"] for f in card["drift"]}
    shown = dict(re.findall(r'<tr data-feature="([^"]+)"><th scope="row">[^<]+</th>'
                            r'<td class="num">([0-9.]+)</td>', html))  # fmt: skip
    assert set(shown) == set(card["drift_flagged"])
    for feature, value in shown.items():
        assert float(value) == pytest.approx(psi[feature], abs=5e-4)
    if not card["drift_flagged"]:
        feature, value = max(((f, v) for f, v in psi.items() if v is not None), key=lambda x: x[1])
        assert f"no feature drifted</strong> (highest PSI: {feature} {value:.3f})" in html
    else:
        assert f"{len(card['drift_flagged'])} feature" in html


def test_drift_view_of_a_retrain_check_lists_its_flagged_features(
    retrained: tuple[Settings, Decision],
) -> None:
    from api.web.models_view import drift_view

    settings, decision = retrained
    view = drift_view(ModelRegistry.from_settings(settings), "schedule", decision.champion_before)
    assert view.source == "retrain" and view.checked_at
    psi = {f["feature"]: f["psi"] for f in decision.drift}
    assert [f for f, _ in view.flagged] == sorted(
        decision.drift_flagged, key=lambda f: -(psi.get(f) or 0.0)
    )
    assert all(v == pytest.approx(psi[f]) for f, v in view.flagged)
    assert view.features == len(decision.drift)
