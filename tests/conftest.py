"""Shared fixtures: a real data directory with a store and registered champion models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from risk_model.config import Settings


def small_settings(home: Path, **overrides: object) -> Settings:
    """Settings for a temp data directory and small, fast models."""
    params: dict[str, object] = {"home": home, "n_estimators": 80, "min_child_samples": 20}
    params.update(overrides)
    return Settings(**params)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def simulated() -> object:
    """A small seeded synthetic portfolio (projects, snapshots, oracle)."""
    from training.simulate import simulate_portfolio

    return simulate_portfolio(400, seed=11)


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory, simulated: object) -> Iterator[Settings]:
    """A data directory holding the simulated portfolio and both champion models.

    Built for real: import through the store, train through ``training.train``, log and
    register in a SQLite-backed MLflow store. Tests must not modify it (copy it if needed).
    """
    from model_registry.registry import ModelRegistry
    from risk_model.store import Store
    from training.train import log_and_register, train_portfolio

    home = tmp_path_factory.mktemp("pmo_home")
    settings = small_settings(home)
    settings.ensure_home()
    store = Store(settings.store_url).init()
    sim = simulated
    store.import_frames(sim.projects, sim.snapshots)  # type: ignore[attr-defined]
    fits = train_portfolio(
        store.projects(),
        store.snapshots(),
        settings,
        oracle=sim.oracle,  # type: ignore[attr-defined]
    )
    log_and_register(fits, ModelRegistry.from_settings(settings), promote=True)
    store.dispose()
    yield settings


@pytest.fixture(scope="session")
def mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated MLflow SQLite database to copy into a test's home as ``mlflow.db``:
    creating one runs MLflow's migrations, which take 10-15 s on a busy machine."""
    from model_registry.registry import ModelRegistry

    path = tmp_path_factory.mktemp("mlflow_template") / "mlflow.db"
    ModelRegistry(f"sqlite:///{path}")._client.search_experiments()
    return path


def _shared_data_dir() -> Path:
    """``$PMO_RISK_SHARED_DATA``, else ``../shared/data`` beside the repository."""
    import os

    env = os.environ.get("PMO_RISK_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real public data (issue 4); skips, saying why, when it is absent."""
    folder = _shared_data_dir()
    if not folder.is_dir():
        pytest.skip(f"real data folder {folder} is absent (set PMO_RISK_SHARED_DATA)")
    return folder
