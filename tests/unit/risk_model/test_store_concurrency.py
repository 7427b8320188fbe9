"""The store under concurrent use: several readers and one writer at once, each with its own
``Store`` (as separate processes would have), on SQLite in WAL mode and, in CI, PostgreSQL.
Readers never fail, never wait for the writer to finish, and never see half an import."""

from __future__ import annotations

import threading
import time

import pandas as pd

from risk_model.store import Store

N_PROJECTS = 200
ROUNDS = 15


def _projects(budget: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project_id": [f"P{i:03d}" for i in range(N_PROJECTS)],
            "portfolio": "A",
            "start_date": pd.Timestamp("2024-01-01"),
            "baseline_budget": budget,
        }
    )


def _snapshots(budget: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project_id": [f"P{i:03d}" for i in range(N_PROJECTS)],
            "as_of": pd.Timestamp("2024-06-30"),
            "budget": budget,
        }
    )


def test_readers_see_whole_imports_while_one_writer_imports(store_url: str) -> None:
    Store(store_url).init().import_frames(_projects(1.0), _snapshots(1.0))
    errors: list[BaseException] = []
    seen: list[tuple[int, frozenset[float]]] = []
    done = threading.Event()
    lock = threading.Lock()

    def write() -> None:
        store = Store(store_url)
        try:
            for budget in range(2, ROUNDS + 2):
                store.import_frames(_projects(float(budget)), _snapshots(float(budget)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()
            store.dispose()

    def read() -> None:
        store = Store(store_url)
        try:
            while not done.is_set():
                projects = store.projects()
                revision = store.revision()
                with lock:
                    seen.append((revision, frozenset(projects["baseline_budget"])))
                assert len(projects) == N_PROJECTS
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.dispose()

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(3)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    assert time.perf_counter() - start < 300
    # every read saw exactly one import's values: never a mix of two
    assert seen and all(len(budgets) == 1 for _, budgets in seen)
    final = Store(store_url)
    assert set(final.projects()["baseline_budget"]) == {float(ROUNDS + 1)}
    assert set(final.snapshots()["budget"]) == {float(ROUNDS + 1)}
    assert final.revision() == ROUNDS + 1
    final.dispose()


def test_reads_go_on_while_a_write_transaction_is_open(store_url: str) -> None:
    """A reader is not blocked by an open (uncommitted) write and sees the committed state."""
    import sqlalchemy as sa

    store = Store(store_url).init()
    store.import_frames(_projects(1.0), None)
    writer = Store(store_url)
    with writer.engine.connect() as conn, conn.begin():
        conn.execute(
            sa.update(writer._projects).values(baseline_budget=99.0)  # not committed yet
        )
        t0 = time.perf_counter()
        reader = Store(store_url)
        during = set(reader.projects()["baseline_budget"])
        took = time.perf_counter() - t0
        reader.dispose()
    assert during == {1.0} and took < 5
    assert set(store.projects()["baseline_budget"]) == {99.0}
    writer.dispose()
    store.dispose()
