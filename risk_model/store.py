"""The portfolio history store: projects and snapshots in a SQL database (SQLAlchemy 2 Core).

SQLite by default (a file; WAL journal, foreign keys on) or any SQLAlchemy URL (PostgreSQL):
only portable column types are used. Nothing connects until a method is called.

Imports are one transaction and upsert by key (``project_id``; ``(project_id, as_of)``): a row
whose values equal the stored row is counted as unchanged and not written; a row that differs
replaces the stored row entirely (columns missing from the import become NULL). The revision
counter in ``meta`` bumps once per import that changed anything.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from risk_model.exceptions import UnknownProject
from risk_model.keys import define_key_table
from risk_model.risk_register import RegisterTables, define_tables
from risk_model.schemas import (
    PROJECT_COLUMNS,
    SNAPSHOT_COLUMNS,
    Column,
    conform_projects,
    conform_snapshots,
)

if TYPE_CHECKING:
    from risk_model.config import Settings

__all__ = ["ImportSummary", "Store"]

_CHUNK = 500  # keys per IN (...) clause; well under every backend's bound-parameter limit
_REVISION = "revision"
KEEP_CHANGES = 1000
"""How many revisions' records of changed projects a store keeps (``Store.changed_since``)."""


@dataclass(frozen=True)
class ImportSummary:
    """What an import did; ``unchanged`` counts projects and snapshots left as they were."""

    projects_inserted: int = 0
    projects_updated: int = 0
    snapshots_inserted: int = 0
    snapshots_updated: int = 0
    unchanged: int = 0
    revision: int = 0

    @property
    def changed(self) -> bool:
        """Whether the import wrote anything."""
        return bool(
            self.projects_inserted
            + self.projects_updated
            + self.snapshots_inserted
            + self.snapshots_updated
        )

    def __str__(self) -> str:
        if not self.changed:
            return f"nothing changed ({self.unchanged} rows already up to date)"
        return (
            f"projects: {self.projects_inserted} new, {self.projects_updated} updated; "
            f"reports: {self.snapshots_inserted} new, {self.snapshots_updated} updated; "
            f"{self.unchanged} unchanged; store revision {self.revision}"
        )


def _sql_type(col: Column) -> sa.types.TypeEngine[Any]:
    if col.kind == "id":
        return sa.String(255)
    if col.kind == "date":
        return sa.Date()
    if col.kind in ("money", "float", "count", "percent"):
        return sa.Double()
    if col.kind == "enum":
        return sa.String(32)
    return sa.Text()


def _tables() -> tuple[sa.MetaData, sa.Table, sa.Table, sa.Table, sa.Table]:
    """Fresh table definitions (one MetaData per Store, nothing module-global)."""
    md = sa.MetaData()
    projects = sa.Table(
        "projects",
        md,
        sa.Column("project_id", sa.String(255), primary_key=True),
        *[sa.Column(c.name, _sql_type(c)) for c in PROJECT_COLUMNS if c.name != "project_id"],
        sa.Column("attributes", sa.Text(), nullable=False, default="{}"),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    snapshots = sa.Table(
        "snapshots",
        md,
        sa.Column(
            "project_id",
            sa.String(255),
            sa.ForeignKey("projects.project_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("as_of", sa.Date(), primary_key=True),
        *[
            sa.Column(c.name, _sql_type(c))
            for c in SNAPSHOT_COLUMNS
            if c.name not in ("project_id", "as_of")
        ],
    )
    sa.Index("ix_snapshots_as_of", snapshots.c.as_of)
    sa.Index("ix_projects_portfolio", projects.c.portfolio)
    meta = sa.Table(
        "meta",
        md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Integer(), nullable=False),
    )
    # which projects each revision changed (project_id NULL: possibly every project), so the
    # stored scores can be brought up to date for those projects only
    changes = sa.Table(
        "changes",
        md,
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=True),
    )
    sa.Index("ix_changes_revision", changes.c.revision)
    return md, projects, snapshots, meta, changes


def _to_db(value: Any, kind: str) -> Any:
    """A frame cell as the Python value stored (None for missing)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if kind == "date":
        return pd.Timestamp(value).date()
    if kind in ("money", "float", "count", "percent"):
        return float(value)
    return str(value)


def _db_values(values: pd.Series, kind: str) -> list[Any]:
    """``_to_db`` of every cell of a conformed column, computed for the whole column."""
    if kind == "date" and values.dtype == "datetime64[ns]":
        days = values.to_numpy().astype("datetime64[D]")
        return list(days.astype(object))  # datetime.date; NaT -> None
    if kind in ("money", "float", "count", "percent") and values.dtype == "float64":
        numbers = values.to_numpy()
        out = numbers.astype(object)  # Python floats
        out[np.isnan(numbers)] = None
        return list(out)
    cells = values.to_numpy(dtype=object)
    if kind not in ("date", "money", "float", "count", "percent"):  # text: str kept as it is
        return [v if v is None or v.__class__ is str else _to_db(v, kind) for v in cells]
    return [_to_db(v, kind) for v in cells]


def _db_columns(df: pd.DataFrame, kinds: Mapping[str, str]) -> list[list[Any]]:
    """Each column of ``df`` as the list of values stored."""
    return [_db_values(df[c], kinds[c]) for c in df.columns]


def _length(columns: list[list[Any]]) -> int:
    """Rows in a column-wise batch."""
    return len(columns[0]) if columns else 0


def _take(columns: list[list[Any]], rows: list[int]) -> list[list[Any]]:
    """The given rows (positions, in order) of a column-wise batch."""
    if len(rows) == 1:
        return [[col[rows[0]]] for col in columns]
    if not rows:
        return [[] for _ in columns]
    pick = operator.itemgetter(*rows)
    return [list(pick(col)) for col in columns]


def _bound(conn: Connection, table: sa.Table, columns: list[list[Any]]) -> list[tuple[Any, ...]]:
    """Rows of a column-wise batch (every column of ``table``) as the driver is given them:
    through the dialect's bind processors, computed once per distinct value."""
    if len(columns) != len(table.columns):
        raise ValueError(f"rows for {table.name} must hold all its {len(table.columns)} columns")
    bound: list[Sequence[Any]] = list(columns)
    for j, col in enumerate(table.columns):
        process = col.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if process is None:
            continue
        try:
            done = {v: process(v) for v in set(columns[j])}
            bound[j] = list(map(done.__getitem__, columns[j]))
        except (KeyError, TypeError):  # unhashable or NaN-like values: one at a time
            bound[j] = [process(v) for v in columns[j]]
    return list(zip(*bound, strict=True))


def _execute_many(
    conn: Connection, stmt: sa.Insert | sa.Update, names: list[str], rows: list[tuple[Any, ...]]
) -> None:
    """Run ``stmt`` once per row through the driver's executemany; ``names`` name the bound
    parameters of the row's positions."""
    compiled = stmt.compile(dialect=conn.dialect, column_keys=names)
    if compiled.positiontup is not None:
        where = {name: i for i, name in enumerate(names)}
        order = operator.itemgetter(*[where[name] for name in compiled.positiontup])
        params: list[Any] = [tuple(order(row)) for row in rows]
    else:
        params = [dict(zip(names, row, strict=True)) for row in rows]
    conn.exec_driver_sql(compiled.string, params)


def _attr_value(value: Any) -> Any:
    """An attribute cell as a JSON value (None for missing)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    return str(value)


def _canonical(column: str, value: Any) -> Any:
    """A stored value as compared for "unchanged": attributes by content, not key order."""
    if column == "attributes" and isinstance(value, str):
        return json.loads(value)
    return value


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Store:
    """Projects and snapshots in a SQL database (see module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._md, self._projects, self._snapshots, self._meta, self._changes = _tables()
        self.api_keys = define_key_table(self._md)  # issue 6: risk_model.keys
        # issue 5: the risk register's tables live on the same metadata (created by init()).
        self.register_tables: RegisterTables = define_tables(self._md)
        self._project_kinds = {c.name: c.kind for c in PROJECT_COLUMNS}
        self._snapshot_kinds = {c.name: c.kind for c in SNAPSHOT_COLUMNS}

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """The store at ``settings.store_url``."""
        return cls(settings.store_url)

    def __repr__(self) -> str:
        return f"Store({sa.make_url(self.url).render_as_string(hide_password=True)!r})"

    # --- engine -----------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, created on first use."""
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    def _create_engine(self) -> Engine:
        url = sa.make_url(self.url)
        if url.get_backend_name() != "sqlite":
            return sa.create_engine(url, pool_pre_ping=True)
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy (not the driver) decide where transactions begin.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get("sqlite_immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def dispose(self) -> None:
        """Close pooled connections (the store can still be used afterwards)."""
        if self._engine is not None:
            self._engine.dispose()

    def init(self) -> Store:
        """Create the tables and the revision counter when missing (idempotent)."""
        with self.engine.begin() as conn:
            self._md.create_all(conn, checkfirst=True)
            self._add_missing_columns(conn)
            exists = conn.execute(
                sa.select(self._meta.c.value).where(self._meta.c.key == _REVISION)
            ).first()
            if exists is None:
                conn.execute(sa.insert(self._meta).values(key=_REVISION, value=0))
        return self

    def _add_missing_columns(self, conn: Connection) -> None:
        """Add optional snapshot columns declared after the store was made (all nullable)."""
        have = {c["name"] for c in sa.inspect(conn).get_columns("snapshots")}
        table = self._md.tables["snapshots"]
        for column in table.columns:
            if column.name not in have:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(sa.text(f'ALTER TABLE snapshots ADD COLUMN "{column.name}" {kind}'))

    # --- writing ----------------------------------------------------------------------

    def import_frames(
        self, projects: pd.DataFrame | None, snapshots: pd.DataFrame | None
    ) -> ImportSummary:
        """Upsert canonical frames in one transaction; unchanged rows are not written.

        Frames are conformed first; extra project columns are stored as JSON attributes.
        On any error nothing is written.
        """
        project_columns = self._project_columns(projects) if projects is not None else []
        snapshot_columns = self._snapshot_columns(snapshots) if snapshots is not None else []
        now = datetime.now(UTC).replace(tzinfo=None)
        counts = dict.fromkeys(("pi", "pu", "si", "su", "same"), 0)
        with self.engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
            ins, upd, same = self._diff(
                conn, self._projects, 1, project_columns, skip=("updated_at",)
            )
            changed = {str(p) for part in (ins, upd) if _length(part) for p in part[0]}
            ins.append([now] * _length(ins))
            upd.append([now] * _length(upd))
            self._write(conn, self._projects, 1, ins, upd)
            counts["pi"], counts["pu"], counts["same"] = _length(ins), _length(upd), same
            ins, upd, same = self._diff(conn, self._snapshots, 2, snapshot_columns)
            self._write(conn, self._snapshots, 2, ins, upd)
            changed |= {str(p) for part in (ins, upd) if _length(part) for p in part[0]}
            counts["si"], counts["su"] = _length(ins), _length(upd)
            counts["same"] += same
            revision = self._revision(conn)
            if counts["pi"] + counts["pu"] + counts["si"] + counts["su"]:
                revision = self.bump_revision(conn, sorted(changed))
        return ImportSummary(
            projects_inserted=counts["pi"],
            projects_updated=counts["pu"],
            snapshots_inserted=counts["si"],
            snapshots_updated=counts["su"],
            unchanged=counts["same"],
            revision=revision,
        )

    def _project_columns(self, frame: pd.DataFrame) -> list[list[Any]]:
        """Stored values, one list per column of the projects table but ``updated_at``."""
        df = conform_projects(frame)
        declared = [c.name for c in PROJECT_COLUMNS]
        extras = [c for c in df.columns if c not in declared]
        columns = _db_columns(df[declared], self._project_kinds)
        if extras:
            attributes = []
            for attr in df[extras].to_dict(orient="records"):
                clean = {str(k): _attr_value(v) for k, v in attr.items()}
                attributes.append(json.dumps({k: v for k, v in clean.items() if v is not None}))
            columns.append(attributes)
        else:
            columns.append(["{}"] * len(df))
        return columns

    def _snapshot_columns(self, frame: pd.DataFrame) -> list[list[Any]]:
        """Stored values, one list per column of the snapshots table."""
        df = conform_snapshots(frame)
        return _db_columns(df[[c.name for c in SNAPSHOT_COLUMNS]], self._snapshot_kinds)

    def _diff(
        self,
        conn: Connection,
        table: sa.Table,
        n_keys: int,
        columns: list[list[Any]],
        skip: tuple[str, ...] = (),
    ) -> tuple[list[list[Any]], list[list[Any]], int]:
        """Split rows into (to insert, to update, number unchanged) against stored rows.

        ``columns`` hold the table's columns in order, less ``skip`` (the last ones), the
        ``n_keys`` key columns first (``project_id`` the first); so do the returned parts.
        """
        compared = [c.name for c in table.columns if c.name not in skip]
        nothing: list[list[Any]] = [[] for _ in compared]
        if _length(columns) == 0:
            return nothing, [[] for _ in compared], 0
        if len(columns) != len(compared) or compared[0] != "project_id":
            raise ValueError(f"rows for {table.name} must hold the columns {compared}")
        stored: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for chunk in _chunks(sorted(set(columns[0]))):
            query = sa.select(*[table.c[c] for c in compared]).where(table.c.project_id.in_(chunk))
            for rec in conn.execute(query):
                values = tuple(_canonical(c, v) for c, v in zip(compared, rec, strict=True))
                stored[values[:n_keys]] = values
        if not stored:
            return columns, nothing, 0
        inserts: list[int] = []
        updates: list[int] = []
        same = 0
        for i, row in enumerate(zip(*columns, strict=True)):
            old = stored.get(row[:n_keys])
            if old is None:
                inserts.append(i)
            elif old == tuple(_canonical(c, v) for c, v in zip(compared, row, strict=True)):
                same += 1
            else:
                updates.append(i)
        return _take(columns, inserts), _take(columns, updates), same

    @staticmethod
    def _write(
        conn: Connection,
        table: sa.Table,
        n_keys: int,
        inserts: list[list[Any]],
        updates: list[list[Any]],
    ) -> None:
        """Bulk insert and bulk update: one driver-level executemany each.

        Both hold one list per column of ``table`` in order, the ``n_keys`` key columns first.
        Values go through the dialect's bind processors (as SQLAlchemy applies them), then to
        the driver as plain tuples (dicts for a driver with named parameters).
        """
        names = [c.name for c in table.columns]
        if _length(inserts):
            _execute_many(conn, sa.insert(table), names, _bound(conn, table, inserts))
        if _length(updates):
            keys, values = names[:n_keys], names[n_keys:]
            stmt = (
                sa.update(table)
                .where(*[table.c[k] == sa.bindparam(f"k_{k}") for k in keys])
                .values({c: sa.bindparam(f"v_{c}") for c in values})
            )
            params = [f"k_{k}" for k in keys] + [f"v_{c}" for c in values]
            _execute_many(conn, stmt, params, _bound(conn, table, updates))

    # --- reading ----------------------------------------------------------------------

    def _revision(self, conn: Connection) -> int:
        value = conn.execute(
            sa.select(self._meta.c.value).where(self._meta.c.key == _REVISION)
        ).scalar()
        return int(value or 0)

    def bump_revision(self, conn: Connection, project_ids: Iterable[str] | None = None) -> int:
        """Bump the revision inside ``conn``'s transaction (a write outside ``import_frames``
        that changes features, e.g. the risk register) and record which projects it changed
        (None: possibly all); returns the new revision. Records older than
        ``KEEP_CHANGES`` revisions are dropped."""
        revision = self._revision(conn) + 1
        conn.execute(
            sa.update(self._meta).where(self._meta.c.key == _REVISION).values(value=revision)
        )
        c = self._changes
        named = sorted({str(p) for p in project_ids}) if project_ids is not None else []
        ids: list[str | None] = [*named] if named else [None]
        conn.execute(sa.insert(c), [{"revision": revision, "project_id": p} for p in ids])
        conn.execute(sa.delete(c).where(c.c.revision <= revision - KEEP_CHANGES))
        return revision

    def changed_since(self, revision: int, upto: int) -> frozenset[str] | None:
        """The projects changed by revisions ``revision + 1 .. upto``; None when that is not
        known (a revision changed possibly every project, or its record is missing: a store
        older than the record, or older than ``KEEP_CHANGES`` revisions)."""
        if upto <= revision:
            return frozenset()
        c = self._changes
        query = sa.select(c.c.revision, c.c.project_id).where(
            c.c.revision > revision, c.c.revision <= upto
        )
        seen: set[int] = set()
        ids: set[str] = set()
        try:
            with self.engine.connect() as conn:
                rows = list(conn.execute(query))
        except (sa.exc.OperationalError, sa.exc.ProgrammingError):
            return None  # a store made before the record (``init`` adds the table)
        for rev, pid in rows:
            if pid is None:
                return None
            seen.add(int(rev))
            ids.add(str(pid))
        if seen != set(range(revision + 1, upto + 1)):
            return None
        return frozenset(ids)

    def revision(self) -> int:
        """The revision counter: bumps once per import that changed anything."""
        with self.engine.connect() as conn:
            return self._revision(conn)

    def project_ids(self) -> set[str]:
        """Every stored project_id."""
        with self.engine.connect() as conn:
            return {str(v) for v in conn.execute(sa.select(self._projects.c.project_id)).scalars()}

    def project_ids_of(self, project_ids: Iterable[str]) -> set[str]:
        """Those of ``project_ids`` that are stored."""
        ids = sorted({str(i) for i in project_ids})
        t = self._projects
        found: set[str] = set()
        with self.engine.connect() as conn:
            for chunk in _chunks(ids):
                query = sa.select(t.c.project_id).where(t.c.project_id.in_(chunk))
                found.update(str(v) for v in conn.execute(query).scalars())
        return found

    def counts(self) -> dict[str, int]:
        """Row counts: ``projects``, ``snapshots``."""
        with self.engine.connect() as conn:
            return {
                name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0)
                for name, t in (("projects", self._projects), ("snapshots", self._snapshots))
            }

    def projects(
        self,
        portfolio: str | None = None,
        category: str | None = None,
        project_ids: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Conformed projects (sorted by project_id) with attributes back as extra columns.

        Filters combine with AND; ``project_ids`` keeps only those ids (unknown ids ignored).
        An extra column is float64 when every stored value is a number, else object.
        """
        t = self._projects
        cols = [t.c[c.name] for c in PROJECT_COLUMNS] + [t.c.attributes]
        query = sa.select(*cols).order_by(t.c.project_id)
        if portfolio is not None:
            query = query.where(t.c.portfolio == portfolio)
        if category is not None:
            query = query.where(t.c.category == category)
        frame = self._read(query, t.c.project_id, project_ids)
        attrs = [json.loads(a) if a else {} for a in frame.pop("attributes")]
        names: list[str] = []
        for attr in attrs:
            names += [k for k in attr if k not in names]
        declared = {c.name for c in PROJECT_COLUMNS}
        for name in names:
            if name in declared:
                continue
            values = [a.get(name) for a in attrs]
            numeric = all(
                v is None or (isinstance(v, int | float) and not isinstance(v, bool))
                for v in values
            )
            if numeric:
                frame[name] = pd.Series(
                    [np.nan if v is None else float(v) for v in values],
                    index=frame.index,
                    dtype="float64",
                )
            else:
                frame[name] = pd.Series(
                    np.array([None if v is None else str(v) for v in values], dtype=object),
                    index=frame.index,
                    dtype="object",
                )
        if project_ids is not None:
            frame = frame.sort_values("project_id", kind="mergesort")
        return conform_projects(frame.reset_index(drop=True))

    def project(self, project_id: str) -> pd.Series:
        """One conformed project row (attributes included); ``UnknownProject`` when absent."""
        frame = self.projects(project_ids=[project_id])
        if frame.empty:
            raise UnknownProject(project_id)
        row = frame.iloc[0]
        row.name = project_id
        return row

    def snapshots(
        self,
        project_ids: Iterable[str] | None = None,
        until: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Conformed snapshots sorted by (project_id, as_of); ``until`` keeps as_of <= until."""
        t = self._snapshots
        query = sa.select(*[t.c[c.name] for c in SNAPSHOT_COLUMNS])
        if until is not None:
            query = query.where(t.c.as_of <= pd.Timestamp(until).date())
        return conform_snapshots(self._read(query, t.c.project_id, project_ids))

    def latest_snapshots(
        self,
        columns: Sequence[str],
        project_ids: Iterable[str] | None = None,
        *,
        present: str | None = None,
    ) -> pd.DataFrame:
        """Each project's latest report: ``project_id``, ``as_of`` and ``columns`` (conformed),
        one row per project with a report, sorted by project_id. With ``present``, the latest
        report where that column is not missing. The database picks the rows, so only one row
        per project is read (the same rows as ``snapshots()`` cut to its last row per project).
        """
        t = self._snapshots

        def query(ids: Sequence[str] | None) -> sa.Select[Any]:
            last = sa.select(t.c.project_id, sa.func.max(t.c.as_of).label("as_of"))
            if present is not None:
                last = last.where(t.c[present].is_not(None))
            if ids is not None:  # inside the grouping: only these projects are grouped
                last = last.where(t.c.project_id.in_(ids))
            latest = last.group_by(t.c.project_id).subquery()
            return sa.select(t.c.project_id, t.c.as_of, *[t.c[c] for c in columns]).join(
                latest,
                sa.and_(t.c.project_id == latest.c.project_id, t.c.as_of == latest.c.as_of),
            )

        with self.engine.connect() as conn:
            if project_ids is None:
                raw = self._frame(conn, query(None))
            else:
                wanted = sorted({str(i) for i in project_ids})
                parts = [self._frame(conn, query(c)) for c in _chunks(wanted)]
                raw = pd.concat(parts, ignore_index=True) if parts else self._frame(conn, query([]))
        frame = conform_snapshots(raw)
        return frame[["project_id", "as_of", *columns]].reset_index(drop=True)

    def _read(
        self,
        query: sa.Select[Any],
        id_column: sa.ColumnElement[Any],
        project_ids: Iterable[str] | None,
    ) -> pd.DataFrame:
        """Run a select into a frame; with ``project_ids``, in chunks of IN (...)."""
        with self.engine.connect() as conn:
            if project_ids is None:
                return self._frame(conn, query)
            ids = sorted({str(i) for i in project_ids})
            parts = [self._frame(conn, query.where(id_column.in_(c))) for c in _chunks(ids)]
            if not parts:
                return self._frame(conn, query.where(sa.false()))
            return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    @staticmethod
    def _frame(conn: Connection, query: sa.Select[Any]) -> pd.DataFrame:
        result = conn.execute(query)
        columns = list(result.keys())
        rows = result.fetchall()
        data = {
            name: np.array([r[i] for r in rows], dtype=object) for i, name in enumerate(columns)
        }
        return pd.DataFrame(data, columns=columns, dtype=object)
