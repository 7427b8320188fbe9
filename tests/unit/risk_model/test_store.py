"""Store: SQLite file, one-transaction upsert, idempotent imports, filtered conformed reads."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from risk_model.config import Settings
from risk_model.exceptions import UnknownProject
from risk_model.schemas import PROJECT_FIELDS, SNAPSHOT_FIELDS, conform_projects
from risk_model.store import ImportSummary, Store


def projects_frame() -> pd.DataFrame:
    return conform_projects(
        pd.DataFrame(
            {
                "project_id": ["A1", "B2", "C3"],
                "name": ["Alpha", "Bravo", "Charlie"],
                "portfolio": ["Infra", "Infra", "Digital"],
                "category": ["Bridges", "Roads", "IT"],
                "start_date": pd.to_datetime(["2020-01-01", "2020-06-01", "2021-01-01"]),
                "baseline_budget": [1e6, 2.5e6, 3e5],
                "status": ["completed", "active", "active"],
                "region": ["North", None, "South"],
                "headcount": [12.0, 7.0, np.nan],
            }
        )
    )


def snapshots_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project_id": ["A1", "A1", "A1", "B2", "B2", "C3"],
            "as_of": pd.to_datetime(
                ["2020-03-31", "2020-06-30", "2020-09-30", "2020-09-30", "2020-12-31", "2021-03-31"]
            ),
            "percent_complete": [10.0, 40.0, 80.0, 5.0, 20.0, np.nan],
            "earned_value": [1e5, 4e5, 8e5, 1e5, 4e5, np.nan],
            "rag": ["green", "amber", "red", "green", None, "green"],
        }
    )


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An empty store: SQLite, or PostgreSQL when ``$PMO_RISK_TEST_DATABASE_URL`` is set."""
    store = Store(store_url).init()
    yield store
    store.dispose()


def dump(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, read through a new connection of the store's engine."""
    with store.engine.connect() as conn:
        return {
            t: sorted((tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {t}"))), key=repr)
            for t in ("projects", "snapshots", "meta")
        }


def test_init_is_idempotent_and_sets_sqlite_pragmas(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'x.db'}"
    store = Store(url).init().init()
    assert store.revision() == 0
    assert store.counts() == {"projects": 0, "snapshots": 0}
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert (tmp_path / "sub" / "x.db").exists()


def test_from_settings_uses_store_url(tmp_path: Path) -> None:
    store = Store.from_settings(Settings(home=tmp_path))
    assert store.url == f"sqlite:///{tmp_path / 'pmo_risk.db'}"
    assert not (tmp_path / "pmo_risk.db").exists()  # nothing connects before first use


def test_first_import_inserts_and_bumps_revision(store: Store) -> None:
    summary = store.import_frames(projects_frame(), snapshots_frame())
    assert summary == ImportSummary(3, 0, 6, 0, 0, 1)
    assert store.counts() == {"projects": 3, "snapshots": 6}
    assert store.project_ids() == {"A1", "B2", "C3"}


def test_same_import_twice_changes_nothing(store: Store, tmp_path: Path) -> None:
    store.import_frames(projects_frame(), snapshots_frame())
    before = dump(store)
    summary = store.import_frames(projects_frame(), snapshots_frame())
    assert summary == ImportSummary(0, 0, 0, 0, 9, 1)
    assert not summary.changed
    assert dump(store) == before  # updated_at not touched either


def test_changed_rows_are_updated_and_new_rows_inserted(store: Store) -> None:
    store.import_frames(projects_frame(), snapshots_frame())
    projects = projects_frame()
    projects.loc[1, "baseline_budget"] = 2.6e6
    snapshots = snapshots_frame()
    snapshots.loc[0, "rag"] = "amber"
    extra = pd.DataFrame(
        {"project_id": ["C3"], "as_of": pd.to_datetime(["2021-06-30"]), "percent_complete": [30.0]}
    )
    summary = store.import_frames(projects, pd.concat([snapshots, extra], ignore_index=True))
    assert summary == ImportSummary(0, 1, 1, 1, 7, 2)
    assert store.project("B2")["baseline_budget"] == 2.6e6
    a1 = store.snapshots(project_ids=["A1"])
    assert a1["rag"].tolist() == ["amber", "amber", "red"]


def test_snapshots_only_import_for_known_projects(store: Store) -> None:
    store.import_frames(projects_frame(), None)
    summary = store.import_frames(None, snapshots_frame())
    assert summary.snapshots_inserted == 6 and summary.revision == 2


def test_failure_mid_transaction_rolls_everything_back(store: Store, tmp_path: Path) -> None:
    store.import_frames(projects_frame(), snapshots_frame())
    before = dump(store)
    projects = pd.concat(
        [projects_frame(), conform_projects(pd.DataFrame({"project_id": ["D4"]}))],
        ignore_index=True,
    )
    projects.loc[0, "name"] = "Renamed"
    orphan = pd.DataFrame({"project_id": ["ZZ"], "as_of": pd.to_datetime(["2021-01-31"])})
    with pytest.raises(sa.exc.IntegrityError):  # foreign key: ZZ is not a project
        store.import_frames(projects, orphan)
    assert dump(store) == before
    assert store.revision() == 1


def test_read_frames_are_conformed(store: Store) -> None:
    store.import_frames(projects_frame(), snapshots_frame())
    projects = store.projects()
    assert list(projects.columns[: len(PROJECT_FIELDS)]) == list(PROJECT_FIELDS)
    assert projects["start_date"].dtype == "datetime64[ns]"
    assert projects["baseline_budget"].dtype == "float64"
    assert projects["currency"].isna().all()
    snapshots = store.snapshots()
    assert list(snapshots.columns) == list(SNAPSHOT_FIELDS)
    assert snapshots["as_of"].dtype == "datetime64[ns]"
    assert snapshots["percent_complete"].dtype == "float64"
    pd.testing.assert_frame_equal(
        snapshots[["project_id", "as_of", "percent_complete", "earned_value"]],
        snapshots_frame()[["project_id", "as_of", "percent_complete", "earned_value"]],
        check_dtype=False,
    )
    assert snapshots["rag"].tolist() == ["green", "amber", "red", "green", None, "green"]


def test_attributes_round_trip_as_extra_columns(store: Store) -> None:
    store.import_frames(projects_frame(), None)
    projects = store.projects()
    assert list(projects.columns[len(PROJECT_FIELDS) :]) == ["region", "headcount"]
    assert projects["region"].tolist() == ["North", None, "South"]
    assert projects["headcount"].dtype == "float64"
    assert projects["headcount"].tolist()[:2] == [12.0, 7.0]
    assert np.isnan(projects["headcount"].iloc[2])
    assert store.project("A1")["region"] == "North"


def test_reordered_attribute_columns_are_unchanged(store: Store) -> None:
    store.import_frames(projects_frame(), None)
    reordered = projects_frame()
    reordered = reordered[[*PROJECT_FIELDS, "headcount", "region"]]
    summary = store.import_frames(reordered, None)
    assert summary == ImportSummary(0, 0, 0, 0, 3, 1)


def test_project_filters(store: Store) -> None:
    store.import_frames(projects_frame(), snapshots_frame())
    assert store.projects(portfolio="Infra")["project_id"].tolist() == ["A1", "B2"]
    assert store.projects(category="IT")["project_id"].tolist() == ["C3"]
    assert store.projects(portfolio="Infra", category="IT").empty
    picked = store.projects(project_ids=["C3", "A1", "nope"])
    assert picked["project_id"].tolist() == ["A1", "C3"]
    assert store.projects(project_ids=[]).empty


def test_snapshots_until_and_project_filter(store: Store) -> None:
    store.import_frames(projects_frame(), snapshots_frame())
    until = store.snapshots(until=pd.Timestamp("2020-09-30"))
    assert until["as_of"].max() == pd.Timestamp("2020-09-30")
    assert len(until) == 4
    both = store.snapshots(project_ids=["B2"], until=pd.Timestamp("2020-10-15"))
    assert both["as_of"].tolist() == [pd.Timestamp("2020-09-30")]


def test_latest_snapshots_are_each_projects_last_report(store: Store, simulated: Any) -> None:
    """The database picks the same rows as reading every report and keeping the last one (and,
    with ``present``, the last one where the column is known)."""
    snaps = simulated.snapshots.copy()
    snaps.loc[snaps.index[::3], "phase"] = None  # some reports do not say their phase
    snaps.loc[snaps.index[::5], "forecast_cost"] = None
    store.import_frames(simulated.projects, snaps)
    everything = store.snapshots()
    ids = sorted(everything["project_id"].unique())[::2]
    cols = ["forecast_cost", "earned_value", "actual_cost"]
    got = store.latest_snapshots(cols, project_ids=ids)
    want = everything.loc[everything["project_id"].isin(ids)].drop_duplicates(
        "project_id", keep="last"
    )[["project_id", "as_of", *cols]]
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True))
    assert got["forecast_cost"].isna().any()  # the last report's value, missing or not
    phased = store.latest_snapshots(["phase"], present="phase")
    want_phase = everything.dropna(subset=["phase"]).drop_duplicates("project_id", keep="last")
    pd.testing.assert_frame_equal(
        phased, want_phase[["project_id", "as_of", "phase"]].reset_index(drop=True)
    )
    assert (
        phased["as_of"]
        < everything.groupby("project_id")["as_of"].max()[phased["project_id"]].to_numpy()
    ).any()
    assert store.latest_snapshots(cols, project_ids=[]).empty


def test_unknown_project_raises(store: Store) -> None:
    store.import_frames(projects_frame(), None)
    with pytest.raises(UnknownProject) as info:
        store.project("nope")
    assert info.value.project_id == "nope"


def test_bulk_import_is_counted_and_reads_back_whole(store: Store) -> None:
    """24,000 reports in one import, then the same again (speed is measured in bench/)."""
    n, k = 1000, 24
    rng = np.random.default_rng(0)
    ids = [f"P{i:04d}" for i in range(n)]
    projects = pd.DataFrame(
        {
            "project_id": ids,
            "start_date": pd.Timestamp("2020-01-01"),
            "baseline_budget": rng.random(n) * 1e6,
            "owner": rng.choice(["x", "y"], n),
        }
    )
    snapshots = pd.DataFrame(
        {
            "project_id": np.repeat(ids, k),
            "as_of": np.tile(pd.date_range("2020-01-31", periods=k, freq="ME"), n),
            "percent_complete": rng.random(n * k) * 100,
            "planned_value": rng.random(n * k) * 1e5,
        }
    )
    summary = store.import_frames(projects, snapshots)
    again = store.import_frames(projects, snapshots)
    read = store.snapshots()
    assert summary.snapshots_inserted == n * k and again.unchanged == n + n * k
    assert len(read) == n * k


def test_import_summary_reads_as_a_sentence() -> None:
    """The summary printed after an import says what changed in words."""
    from risk_model.store import ImportSummary

    assert str(ImportSummary(projects_inserted=2, snapshots_inserted=5, revision=1)) == (
        "projects: 2 new, 0 updated; reports: 5 new, 0 updated; 0 unchanged; store revision 1"
    )
    assert str(ImportSummary(unchanged=7)) == "nothing changed (7 rows already up to date)"


def test_a_store_made_before_the_schedule_quality_columns_gains_them(tmp_path: Path) -> None:
    """init() adds declared optional snapshot columns an older store lacks; data is kept."""
    from risk_model.schemas import SCHEDULE_QUALITY_FIELDS

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE snapshots (project_id VARCHAR(255), as_of DATE, rag TEXT)")
        conn.execute("INSERT INTO snapshots VALUES ('P1', '2024-01-31', 'red')")
    Store(f"sqlite:///{path}").init().dispose()
    with sqlite3.connect(path) as conn:
        cols = {row[1] for row in conn.execute("PRAGMA table_info(snapshots)")}
        rows = conn.execute("SELECT project_id, rag FROM snapshots").fetchall()
    assert set(SCHEDULE_QUALITY_FIELDS) <= cols
    assert rows == [("P1", "red")]


# --- the bulk write stores exactly what SQLAlchemy Core would -------------------------------


def _awkward_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Frames with the cells a column-at-a-time conversion could get wrong."""
    projects = conform_projects(
        pd.DataFrame(
            {
                "project_id": ["A1", "B2", "Ω3"],
                "name": ["naïve", 7, None],  # a non-text name is stored as its text
                "start_date": pd.to_datetime(["1965-03-01", None, "2262-04-10"]),
                "baseline_budget": [-0.0, np.nan, 1e-300],
                "status": ["active", "completed", None],
                "region": ["North", None, "South"],
            }
        )
    )
    snapshots = pd.DataFrame(
        {
            "project_id": ["A1", "A1", "B2", "Ω3"],
            "as_of": pd.to_datetime(["1969-12-31", "1970-01-01", "2000-02-29", "2262-04-10"]),
            "phase": ["x", None, 3.5, "é"],
            "forecast_finish": pd.to_datetime([None, "1900-01-01", "2030-06-30", None]),
            "earned_value": [1.5, np.nan, 0.1 + 0.2, 1e308],
            "rag": ["red", None, "amber", "green"],
        }
    )
    return projects, snapshots


def _stored(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row as SQLite holds it, with ``updated_at`` left out (it is the import time)."""
    with sqlite3.connect(path) as conn:
        names = [r[1] for r in conn.execute("PRAGMA table_info(projects)")]
        kept = ", ".join(n for n in names if n != "updated_at")
        return {
            "projects": sorted(conn.execute(f"SELECT {kept} FROM projects").fetchall(), key=repr),
            "snapshots": sorted(conn.execute("SELECT * FROM snapshots").fetchall(), key=repr),
        }


def _cell(value: object, kind: str) -> object:
    """One frame cell as stored, cell by cell."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if kind == "date":
        return pd.Timestamp(value).date()  # type: ignore[arg-type]
    if kind in ("money", "float", "count", "percent"):
        return float(value)  # type: ignore[arg-type]
    return str(value)


def test_stored_rows_are_what_sqlalchemy_core_writes_cell_by_cell(tmp_path: Path) -> None:
    import json

    from risk_model.schemas import PROJECT_COLUMNS, SNAPSHOT_COLUMNS, conform_snapshots

    projects, snapshots = _awkward_frames()
    ours = Store(f"sqlite:///{tmp_path / 'ours.db'}").init()
    before = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    ours.import_frames(projects, snapshots)

    core = Store(f"sqlite:///{tmp_path / 'core.db'}").init()
    tables = sa.MetaData()
    tables.reflect(core.engine)
    conformed = conform_snapshots(snapshots)
    project_rows = [
        {c.name: _cell(row[c.name], c.kind) for c in PROJECT_COLUMNS}
        | {"attributes": json.dumps({"region": r} if isinstance(r := row["region"], str) else {})}
        | {"updated_at": before.to_pydatetime()}
        for _, row in projects.iterrows()
    ]
    snapshot_rows = [
        {c.name: _cell(row[c.name], c.kind) for c in SNAPSHOT_COLUMNS}
        for _, row in conformed.iterrows()
    ]
    with core.engine.begin() as conn:
        conn.execute(sa.insert(tables.tables["projects"]), project_rows)
        conn.execute(sa.insert(tables.tables["snapshots"]), snapshot_rows)
    assert _stored(tmp_path / "ours.db") == _stored(tmp_path / "core.db")
    stamped = ours.engine.connect().execute(sa.text("SELECT updated_at FROM projects")).scalars()
    for text in stamped:  # the same DateTime text SQLAlchemy writes, read back as a datetime
        assert pd.Timestamp(text) >= before


def test_updates_store_what_a_fresh_import_of_the_result_stores(tmp_path: Path) -> None:
    projects, snapshots = _awkward_frames()
    first = Store(f"sqlite:///{tmp_path / 'first.db'}").init()
    first.import_frames(projects, snapshots)
    changed_p, changed_s = projects.copy(), snapshots.copy()
    changed_p.loc[0, "start_date"] = pd.Timestamp("1950-05-05")
    changed_p.loc[1, "region"] = "East"
    changed_s.loc[1, "forecast_finish"] = pd.NaT
    changed_s.loc[2, "earned_value"] = -0.0
    summary = first.import_frames(changed_p, changed_s)
    assert (summary.projects_updated, summary.snapshots_updated) == (2, 2)
    assert summary.unchanged == len(projects) - 2 + len(snapshots) - 2
    fresh = Store(f"sqlite:///{tmp_path / 'fresh.db'}").init()
    fresh.import_frames(changed_p, changed_s)
    assert _stored(tmp_path / "first.db") == _stored(tmp_path / "fresh.db")


def test_each_revision_records_the_projects_it_changed(store: Store) -> None:
    """Imports record the projects whose record or reports changed; an unchanged import
    records nothing; a write that names no project makes the change unknown (None)."""
    assert store.changed_since(0, 0) == frozenset()
    store.import_frames(projects_frame(), snapshots_frame())
    assert store.changed_since(0, 1) == {"A1", "B2", "C3"}
    projects = projects_frame()
    projects.loc[1, "baseline_budget"] = 2.6e6  # B2's record
    extra = pd.DataFrame(
        {"project_id": ["C3"], "as_of": pd.to_datetime(["2021-06-30"]), "percent_complete": [30.0]}
    )
    store.import_frames(projects, pd.concat([snapshots_frame(), extra], ignore_index=True))
    assert store.changed_since(1, 2) == {"B2", "C3"}
    assert store.changed_since(0, 2) == {"A1", "B2", "C3"}
    store.import_frames(projects, None)  # unchanged: no new revision
    assert store.revision() == 2
    with store.engine.begin() as conn:
        store.bump_revision(conn, ["A1"])
    assert store.changed_since(2, 3) == {"A1"}
    with store.engine.begin() as conn:
        store.bump_revision(conn)  # some write that did not say which projects
    assert store.changed_since(2, 4) is None and store.changed_since(4, 4) == frozenset()


def test_changes_are_unknown_when_their_record_is_missing(store: Store) -> None:
    """A store older than the record, or records dropped: None, never a partial answer."""
    store.import_frames(projects_frame(), snapshots_frame())
    with store.engine.begin() as conn:
        store.bump_revision(conn, ["B2"])
        conn.execute(sa.text("DELETE FROM changes WHERE revision = 1"))
    assert store.changed_since(0, 2) is None
    assert store.changed_since(1, 2) == {"B2"}
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE changes"))
    assert store.changed_since(1, 2) is None
