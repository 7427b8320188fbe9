"""Shared fixtures: a real data directory with a store and registered champion models."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def _new_key(client: Any, role: str, portfolios: Sequence[str], name: str) -> str:
    """A new API key in the store of a started app (``TestClient`` inside ``with``)."""
    ring = client.app.state.keyring
    return str(ring.create(role, name, list(portfolios))[1])


@pytest.fixture(scope="session")
def api_key() -> Callable[..., str]:
    """``api_key(client, role="admin", portfolios=())``: a new key in the app's store.

    The app must be started (``with TestClient(app) as client``). Send it as
    ``{"Authorization": f"Bearer {key}"}`` or ``{"X-API-Key": key}``.
    """

    def make(
        client: Any, role: str = "admin", portfolios: Sequence[str] = (), name: str = "tests"
    ) -> str:
        return _new_key(client, role, portfolios, name)

    return make


@pytest.fixture(scope="session")
def authorize() -> Callable[..., Any]:
    """``authorize(client, role="admin", portfolios=())``: the client, now sending a new key.

    Every later request of that client carries ``Authorization: Bearer <key>``; returns the
    client. Use it in client fixtures so existing tests keep calling protected routes.
    """

    def apply(client: Any, role: str = "admin", portfolios: Sequence[str] = ()) -> Any:
        key = _new_key(client, role, portfolios, f"tests-{role}")
        client.headers["Authorization"] = f"Bearer {key}"
        return client

    return apply


# -- issue 6: the same store and API tests on SQLite and on a real PostgreSQL server ----------
#: A PostgreSQL server URL (``postgresql+psycopg://user@host:port/postgres``): when set, store
#: and API fixtures put each store in a new database on that server (``.ci/run`` starts one).
TEST_DATABASE_ENV = "PMO_RISK_TEST_DATABASE_URL"


@contextmanager
def fresh_database(sqlite_path: Path) -> Iterator[str]:
    """A URL of an empty store: SQLite at ``sqlite_path``, or a new PostgreSQL database
    (dropped afterwards) when ``$PMO_RISK_TEST_DATABASE_URL`` names a server."""
    import os

    server = os.environ.get(TEST_DATABASE_ENV)
    if not server:
        yield f"sqlite:///{sqlite_path}"
        return
    import uuid

    import sqlalchemy as sa

    base = sa.make_url(server)
    name = f"pmo_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def store_url(tmp_path: Path) -> Iterator[str]:
    """An empty store's URL (SQLite in tmp_path, or PostgreSQL: see ``TEST_DATABASE_ENV``)."""
    with fresh_database(tmp_path / "store.db") as url:
        yield url


@pytest.fixture(scope="session")
def copy_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Settings]]:
    """``copy_store(settings, name)``: ``settings`` on a private copy of their store.

    SQLite: a backup of the file. PostgreSQL (``TEST_DATABASE_ENV``): a new database filled
    through ``Store.import_frames``. The models stay in ``settings``' registry (read only).
    """
    import sqlite3
    from contextlib import ExitStack

    import sqlalchemy as sa

    from risk_model.store import Store

    stack = ExitStack()

    def copy(settings: Settings, name: str = "copy") -> Settings:
        folder = tmp_path_factory.mktemp(f"store-{name}")
        url = stack.enter_context(fresh_database(folder / "pmo_risk.db"))
        src_url = sa.make_url(settings.store_url)
        if url.startswith("sqlite") and src_url.get_backend_name() == "sqlite":
            src = sqlite3.connect(str(src_url.database))
            dst = sqlite3.connect(folder / "pmo_risk.db")
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
        else:
            source = Store(settings.store_url)
            target = Store(url).init()
            target.import_frames(source.projects(), source.snapshots())
            source.dispose()
            target.dispose()
        return settings.model_copy(
            update={"database_url": url, "tracking_uri": settings.mlflow_uri}
        )

    with stack:
        yield copy
