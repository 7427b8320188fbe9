"""The MLflow registry: log, register with aliases, promote, load by alias."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model_registry.registry import CHALLENGER, CHAMPION, ModelRegistry
from risk_model.estimator import RiskClassifier
from risk_model.exceptions import ModelNotAvailable


def _model(seed: int) -> tuple[RiskClassifier, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"cpi": rng.normal(1, 0.1, 400), "spi_t": rng.normal(1, 0.1, 400)})
    y = (X["cpi"] + rng.normal(0, 0.05, 400) < 0.95).astype(int)
    return RiskClassifier(n_estimators=20, min_child_samples=10).fit(X, y), X


def _log(reg: ModelRegistry, seed: int, auc: float) -> str:
    model, X = _model(seed)
    return reg.log_training(
        target="cost",
        model=model,
        X_example=X,
        params={"seed": seed},
        metrics={"test.overall.model.roc_auc": auc, "skipped": float("nan")},
        feature_names=list(X.columns),
        texts={"metrics_table.txt": "table"},
    )


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts")


def test_first_version_is_champion_and_later_ones_are_challengers(registry: ModelRegistry) -> None:
    """A new version gets challenger; the first also champion; promote moves champion."""
    v1 = registry.register(_log(registry, 1, 0.7), "cost")
    assert registry.version_for("cost", CHAMPION) == v1 == "1"
    v2 = registry.register(_log(registry, 2, 0.8), "cost")
    assert registry.version_for("cost", CHAMPION) == "1"
    assert registry.version_for("cost", CHALLENGER) == v2 == "2"
    assert registry.promote("cost") == "2"
    assert registry.version_for("cost", CHAMPION) == "2"


def test_load_by_alias_returns_a_working_model_with_its_metrics(registry: ModelRegistry) -> None:
    """The loaded champion predicts like the logged one and carries its run's metrics."""
    model, X = _model(5)
    run = registry.log_training(
        target="cost",
        model=model,
        X_example=X,
        params={},
        metrics={"m": 0.5},
        feature_names=list(X.columns),
    )
    registry.register(run, "cost")
    loaded = registry.load("cost")
    assert loaded.version == "1" and loaded.alias == CHAMPION and loaded.run_id == run
    assert loaded.metrics == {"m": 0.5}
    assert loaded.feature_names == ["cpi", "spi_t"]
    np.testing.assert_allclose(loaded.model.predict_proba(X), model.predict_proba(X))
    assert registry.run_artifact_text(run, "features.json") is not None


def test_missing_model_or_version_is_model_not_available(registry: ModelRegistry) -> None:
    """Loading or promoting what does not exist raises the domain error."""
    with pytest.raises(ModelNotAvailable):
        registry.load("schedule")
    registry.register(_log(registry, 1, 0.7), "cost")
    with pytest.raises(ModelNotAvailable):
        registry.promote("cost", "9")


def test_list_models_shows_aliases_and_metrics(registry: ModelRegistry) -> None:
    """Every version is listed with its aliases and run metrics, newest first."""
    registry.register(_log(registry, 1, 0.7), "cost")
    registry.register(_log(registry, 2, 0.8), "cost")
    infos = registry.list_models()
    assert [i.version for i in infos] == ["2", "1"]
    assert infos[0].aliases == (CHALLENGER,) and infos[1].aliases == (CHAMPION,)
    assert infos[0].metrics["test.overall.model.roc_auc"] == pytest.approx(0.8)


def test_unknown_target_is_rejected(registry: ModelRegistry) -> None:
    with pytest.raises(ValueError, match="unknown target"):
        registry.model_name("quality")
