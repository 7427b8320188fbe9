"""Stored scores: every project's risk at every report, kept in the store's database.

One row per (project_id, as_of, target) with the model version that made it, the calibrated
probability, band, reason (when it could not be scored) and, for each project's latest report,
the drivers and every feature's contribution (JSON). A ``score_meta`` row records the store
revision and the model versions of the last full computation, so readers can tell whether
the stored scores describe the current data (same revision) and the current models.

``replace`` swaps the whole table in one transaction: readers (SQLite WAL, PostgreSQL MVCC)
see either the old scores or the new ones, never a mix. Nothing connects until a method is
called; the tables live beside the store's (``ScoreStore(store)`` shares its engine).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from risk_model.explain import Driver
from risk_model.scoring import ProjectScore, TargetScore
from risk_model.store import Store

__all__ = ["ActiveScore", "RankFilter", "ScoreState", "ScoreStore", "StoredScore"]

_STATE = "state"
_CHUNK = 500


@dataclass(frozen=True)
class StoredScore:
    """One target's stored score of one project at one report."""

    project_id: str
    as_of: date | None
    target: str
    model_version: str | None
    probability: float | None
    band: str | None
    reason: str | None
    latest: bool
    base_value: float | None = None
    drivers: list[Driver] = field(default_factory=list)
    contributions: dict[str, float] | None = None
    computed_at: datetime | None = None
    previous_probability: float | None = None
    """On a latest row: the probability at the project's previous report (None if none)."""


@dataclass(frozen=True)
class ScoreState:
    """What the stored scores describe: the store revision and model versions they came from."""

    revision: int
    versions: dict[str, str]
    computed_at: datetime
    rows: int

    def matches(self, revision: int, versions: Mapping[str, str]) -> bool:
        return self.revision == revision and self.versions == dict(versions)


@dataclass(frozen=True)
class RankFilter:
    """Which latest scores a ranking keeps: active projects, optionally of one portfolio,
    one category, one band of the ranked target, and only portfolios in ``scope`` (None:
    every project, also those without a portfolio)."""

    portfolio: str | None = None
    category: str | None = None
    band: str | None = None
    scope: frozenset[str] | None = None


class ActiveScore(NamedTuple):
    """One target's latest stored score of an active project, with the project's record as
    the portfolio board shows it; ``drivers`` is the stored JSON, not decoded (a page decodes
    the few rows it shows: ``drivers_of``)."""

    project_id: str
    name: str | None
    portfolio: str | None
    category: str | None
    baseline_budget: float | None
    currency: str | None
    target: str
    as_of: date | None
    probability: float | None
    band: str | None
    previous_probability: float | None
    model_version: str | None
    drivers: str | None


#: The store's projects table, as far as rankings read it (defined by ``risk_model.store``).
_PROJECTS = sa.table(
    "projects",
    sa.column("project_id"),
    sa.column("name"),
    sa.column("portfolio"),
    sa.column("category"),
    sa.column("status"),
    sa.column("baseline_budget"),
    sa.column("currency"),
)


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _json_value(value: Any) -> Any:
    """A driver's feature value as JSON: finite number, string, or None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return _finite(value) if not isinstance(value, str) else value


def _drivers_json(drivers: Sequence[Driver]) -> str | None:
    if not drivers:
        return None
    return json.dumps(
        [
            {
                "feature": d.feature,
                "value": _json_value(d.value),
                "contribution": _finite(d.contribution),
                "points": _finite(d.points),
                "text": d.text,
            }
            for d in drivers
        ]
    )


def drivers_of(text: str | None) -> list[Driver]:
    """The drivers stored as JSON (``ActiveScore.drivers``), decoded."""
    if not text:
        return []
    return [
        Driver(
            feature=d["feature"],
            value=d["value"],
            contribution=float("nan") if d["contribution"] is None else d["contribution"],
            points=float("nan") if d["points"] is None else d["points"],
            text=d["text"],
        )
        for d in json.loads(text)
    ]


def _contributions_json(contributions: Mapping[str, float] | None) -> str | None:
    if contributions is None:
        return None
    return json.dumps({k: v for k, c in contributions.items() if (v := _finite(c)) is not None})


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


@functools.cache
def _tables() -> tuple[sa.MetaData, sa.Table, sa.Table, sa.Table]:
    """The table definitions (made once per process: a ``ScoreStore`` is made per request)."""
    md = sa.MetaData()
    scores = sa.Table(
        "scores",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=True),
        sa.Column("probability", sa.Double(), nullable=True),
        sa.Column("band", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("is_latest", sa.Boolean(), nullable=False, default=False),
        sa.Column("base_value", sa.Double(), nullable=True),
        sa.Column("drivers", sa.Text(), nullable=True),
        sa.Column("contributions", sa.Text(), nullable=True),
        sa.Column("previous_probability", sa.Double(), nullable=True),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
    )
    sa.Index("ix_scores_project", scores.c.project_id, scores.c.as_of, scores.c.target)
    sa.Index("ix_scores_latest", scores.c.is_latest)
    # (rankings read ``score_ranking``'s indexes, not this table's: see ``_DROPPED``)
    meta = sa.Table(
        "score_meta",
        md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("versions", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
    )
    # What rankings read: each project's latest score per target with the project's fields a
    # ranking filters on, written with the scores (same transaction). Narrow rows, so a
    # ranking counts and filters without reading the wide score rows or joining projects.
    ranking = sa.Table(
        "score_ranking",
        md,
        sa.Column("target", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(255), primary_key=True),
        sa.Column("probability", sa.Double(), nullable=True),
        sa.Column("band", sa.String(32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("portfolio", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
    )
    # in ranking order (read in order, cut at the page's end: no sort), all or one band. The
    # order is probability descending with unscored projects last: SQLite's DESC puts NULLs
    # last, PostgreSQL's puts them first, so its indexes say NULLS LAST (SQLite's CREATE INDEX
    # has no such clause); each dialect gets its own pair.
    for suffix, probability, when in (
        ("", ranking.c.probability.desc(), _not_postgresql),
        ("_pg", ranking.c.probability.desc().nulls_last(), _postgresql),
    ):
        sa.Index(
            f"ix_score_ranking_order{suffix}",
            ranking.c.target,
            ranking.c.active,
            probability,
            ranking.c.project_id,
        ).ddl_if(callable_=when)
        sa.Index(
            f"ix_score_ranking_band{suffix}",
            ranking.c.target,
            ranking.c.active,
            ranking.c.band,
            probability,
            ranking.c.project_id,
        ).ddl_if(callable_=when)
    return md, scores, meta, ranking


#: Indexes an older version made that no query reads, dropped by ``ScoreStore.init`` (by
#: "is this PostgreSQL"): ``ix_scores_ranking`` ordered the wide scores table for rankings
#: before ``score_ranking`` existed and only cost every stored score an index write; on
#: PostgreSQL the ranking table's indexes without NULLS LAST cannot serve its order.
_DROPPED: dict[bool, tuple[str, ...]] = {
    False: ("ix_scores_ranking",),
    True: ("ix_scores_ranking", "ix_score_ranking_order", "ix_score_ranking_band"),
}


def _postgresql(*_: Any, dialect: sa.Dialect, **__: Any) -> bool:
    return dialect.name == "postgresql"


def _not_postgresql(*_: Any, dialect: sa.Dialect, **__: Any) -> bool:
    return dialect.name != "postgresql"


def _rows(scores: Iterable[ProjectScore], latest: bool, now: datetime) -> Iterable[dict[str, Any]]:
    for ps in scores:
        as_of = _day(ps.as_of)
        for target, ts in ps.scores.items():
            yield _row(ps.project_id, as_of, target, ts, latest, now)


def _row(
    project_id: str, as_of: date | None, target: str, ts: TargetScore, latest: bool, now: datetime
) -> dict[str, Any]:
    p = _finite(ts.probability)
    return {
        "project_id": str(project_id),
        "as_of": as_of,
        "target": target,
        "model_version": ts.model_version,
        "probability": p,
        "band": ts.band if p is not None else None,
        "reason": ts.reason,
        "is_latest": latest,
        "base_value": _finite(ts.base_value) if latest else None,
        "drivers": _drivers_json(ts.drivers) if latest else None,
        "contributions": _contributions_json(ts.contributions) if latest else None,
        "previous_probability": None,
        "computed_at": now,
    }


def _previous(
    history: Sequence[ProjectScore], latest_keys: set[tuple[str, date | None]]
) -> dict[tuple[str, date | None, str], float | None]:
    """(project_id, latest as_of, target) -> probability at the report before the latest."""
    by_project: dict[str, list[ProjectScore]] = {}
    for ps in history:
        by_project.setdefault(str(ps.project_id), []).append(ps)
    out: dict[tuple[str, date | None, str], float | None] = {}
    for pid, rows in by_project.items():
        dated = sorted(
            (r for r in rows if _day(r.as_of) is not None), key=lambda r: _day(r.as_of) or date.min
        )
        for i, r in enumerate(dated):
            key = (pid, _day(r.as_of))
            if key in latest_keys and i > 0:
                for target, ts in dated[i - 1].scores.items():
                    out[(pid, key[1], target)] = _finite(ts.probability)
    return out


def _stored_rows(
    history: Sequence[ProjectScore], latest: Sequence[ProjectScore], now: datetime
) -> list[dict[str, Any]]:
    """The rows to store: ``history`` at every report, ``latest`` (explained) replacing the
    history row of the same (project_id, as_of), with the probability at the report before."""
    latest_keys = {(str(ps.project_id), _day(ps.as_of)) for ps in latest}
    rows = [
        r for r in _rows(history, False, now) if (r["project_id"], r["as_of"]) not in latest_keys
    ]
    previous = _previous(history, latest_keys)
    for r in _rows(latest, True, now):
        r["previous_probability"] = previous.get((r["project_id"], r["as_of"], r["target"]))
        rows.append(r)
    return rows


class ScoreStore:
    """The ``scores`` table of a store (see module docstring)."""

    def __init__(self, store: Store | Engine) -> None:
        self._store = store if isinstance(store, Store) else None
        self._engine = store if isinstance(store, Engine) else None
        self._md, self._scores, self._meta, self._ranking = _tables()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            assert self._store is not None
            self._engine = self._store.engine
        return self._engine

    def init(self) -> ScoreStore:
        """Create the tables and indexes when missing (idempotent; an older store gains the
        indexes and the ranking table added since, the latter filled from its scores)."""
        with self.engine.begin() as conn:
            had_ranking = sa.inspect(conn).has_table(self._ranking.name)
            self._md.create_all(conn, checkfirst=True)
            for index in (*self._scores.indexes, *self._ranking.indexes):
                index.create(conn, checkfirst=True)
            for name in _DROPPED[conn.dialect.name == "postgresql"]:
                conn.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))
            if not had_ranking and sa.inspect(conn).has_table("projects"):
                self._fill_ranking(conn)
        return self

    def _fill_ranking(self, conn: sa.Connection, project_ids: Sequence[str] | None = None) -> None:
        """Rewrite the ranking table (of ``project_ids`` only, when given) from the latest
        scores and the store's projects."""
        s, r = self._scores, self._ranking
        if project_ids is not None:
            for start in range(0, len(project_ids), _CHUNK):
                chunk = list(project_ids[start : start + _CHUNK])
                conn.execute(sa.delete(r).where(r.c.project_id.in_(chunk)))
                self._insert_ranking(conn, s.c.project_id.in_(chunk))
            return
        conn.execute(sa.delete(r))
        self._insert_ranking(conn, sa.true())

    def _insert_ranking(self, conn: sa.Connection, where: sa.ColumnElement[bool]) -> None:
        s, p, r = self._scores, _PROJECTS, self._ranking
        rows = (
            sa.select(
                s.c.target,
                s.c.project_id,
                s.c.probability,
                s.c.band,
                sa.func.coalesce(p.c.status, "active") == "active",
                p.c.name,
                p.c.portfolio,
                p.c.category,
            )
            .select_from(s.join(p, p.c.project_id == s.c.project_id))
            .where(s.c.is_latest.is_(True), where)
        )
        conn.execute(sa.insert(r).from_select([c.name for c in r.columns], rows))

    # -- write --------------------------------------------------------------------------------
    def replace(
        self,
        history: Sequence[ProjectScore],
        latest: Sequence[ProjectScore],
        *,
        revision: int,
        versions: Mapping[str, str],
    ) -> ScoreState:
        """Replace every stored score in one transaction.

        ``history`` holds scores at every report (no explanation needed); ``latest`` each
        project's latest report with drivers and contributions: it replaces the history row
        of the same (project_id, as_of).
        """
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = _stored_rows(history, latest, now)
        state = ScoreState(int(revision), dict(versions), now, len(rows))
        with self.engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
            conn.execute(sa.delete(self._scores))
            self._insert(conn, rows)
            self._fill_ranking(conn)
            self._write_state(conn, state)
        return state

    def replace_projects(
        self,
        project_ids: Iterable[str],
        history: Sequence[ProjectScore],
        latest: Sequence[ProjectScore],
        *,
        revision: int,
        versions: Mapping[str, str],
    ) -> ScoreState:
        """Replace the stored scores of ``project_ids`` only (as ``replace`` does for all) and
        record ``revision``, in one transaction; the other projects' rows stay as they are, so
        ``versions`` must be the stored ones (when the models changed, use ``replace``)."""
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = _stored_rows(history, latest, now)
        ids = sorted({str(p) for p in project_ids})
        t = self._scores
        with self.engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
            for start in range(0, len(ids), _CHUNK):
                conn.execute(sa.delete(t).where(t.c.project_id.in_(ids[start : start + _CHUNK])))
            self._insert(conn, rows)
            self._fill_ranking(conn, ids)
            count = int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            state = ScoreState(int(revision), dict(versions), now, count)
            self._write_state(conn, state)
        return state

    def _insert(self, conn: Any, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), 20_000):
            conn.execute(sa.insert(self._scores), rows[start : start + 20_000])

    def _write_state(self, conn: Any, state: ScoreState) -> None:
        conn.execute(sa.delete(self._meta))
        conn.execute(
            sa.insert(self._meta).values(
                key=_STATE,
                revision=state.revision,
                versions=json.dumps(state.versions, sort_keys=True),
                rows=state.rows,
                computed_at=state.computed_at,
            )
        )

    # -- read ---------------------------------------------------------------------------------
    def state(self) -> ScoreState | None:
        """The revision and versions the stored scores describe; None when nothing is stored."""
        try:
            with self.engine.connect() as conn:
                rec = conn.execute(sa.select(self._meta).where(self._meta.c.key == _STATE)).first()
        except sa.exc.OperationalError:
            return None  # tables not created yet
        except sa.exc.ProgrammingError:
            return None
        if rec is None:
            return None
        return ScoreState(
            revision=int(rec.revision),
            versions=dict(json.loads(rec.versions)),
            computed_at=rec.computed_at,
            rows=int(rec.rows),
        )

    def latest(
        self, project_ids: Iterable[str] | None = None, *, contributions: bool = True
    ) -> dict[str, dict[str, StoredScore]]:
        """Each project's latest stored score per target: ``{project_id: {target: score}}``;
        without ``contributions`` the per-feature contributions are not read (None)."""
        t = self._scores
        columns = [c for c in t.c if contributions or c.name != "contributions"]
        latest = t.c.is_latest.is_(True)
        if project_ids is not None:  # an expression: the database finds the rows by project,
            latest = sa.func.coalesce(t.c.is_latest, False).is_(True)  # not by is_latest
        query = sa.select(*columns).where(latest)
        out: dict[str, dict[str, StoredScore]] = {}
        for rec in self._select(query, project_ids):
            s = self._score(rec, contributions)
            out.setdefault(s.project_id, {})[s.target] = s
        return out

    def latest_active(self) -> list[ActiveScore]:
        """Every active project's latest stored score per target with the fields the
        portfolio board shows, by project id, in one query; drivers stay JSON text and
        contributions are not read (a 10,000-project board reads in a fraction of a second)."""
        s, p = self._scores, _PROJECTS
        query = (
            sa.select(
                s.c.project_id,
                p.c.name,
                p.c.portfolio,
                p.c.category,
                p.c.baseline_budget,
                p.c.currency,
                s.c.target,
                s.c.as_of,
                s.c.probability,
                s.c.band,
                s.c.previous_probability,
                s.c.model_version,
                s.c.drivers,
            )
            .select_from(s.join(p, p.c.project_id == s.c.project_id))
            .where(
                s.c.is_latest.is_(True),
                sa.func.coalesce(p.c.status, "active") == "active",
            )
            .order_by(s.c.project_id, s.c.target)
        )
        with self.engine.connect() as conn:
            return [
                ActiveScore(
                    str(r[0]),
                    r[1],
                    r[2],
                    r[3],
                    _finite(r[4]),
                    r[5],
                    str(r[6]),
                    _day(r[7]),
                    _finite(r[8]),
                    r[9],
                    _finite(r[10]),
                    r[11],
                    r[12],
                )
                for r in conn.execute(query)
            ]

    def history(self, project_id: str) -> list[StoredScore]:
        """Every stored score of a project, by report date then target."""
        t = self._scores
        query = sa.select(t).where(t.c.project_id == str(project_id)).order_by(t.c.as_of, t.c.id)
        return [self._score(rec, True) for rec in self._select(query, None)]

    def rank(
        self, target: str, limit: int, where: RankFilter = RankFilter()
    ) -> tuple[int, list[tuple[Any, ...]]]:
        """Active projects by their latest ``target`` probability, highest first (unscored
        last, then by id), read and cut by the database: ``(how many match, first limit rows
        of (project_id, name, portfolio, category))``."""
        r = self._ranking
        conditions = [r.c.target == target, r.c.active == sa.true()]
        if where.portfolio is not None:
            conditions.append(r.c.portfolio == where.portfolio)
        if where.category is not None:
            conditions.append(r.c.category == where.category)
        if where.band is not None:
            conditions.append(r.c.band == where.band)
        if where.scope is not None:
            conditions.append(r.c.portfolio.in_(sorted(where.scope)))
        ranked = (
            sa.select(r.c.project_id, r.c.name, r.c.portfolio, r.c.category)
            .where(*conditions)
            .order_by(r.c.probability.desc().nulls_last(), r.c.project_id)
            .limit(limit)
        )
        count = sa.select(sa.func.count()).select_from(r).where(*conditions)
        with self.engine.connect() as conn:
            total = int(conn.execute(count).scalar_one())
            rows = [tuple(r) for r in conn.execute(ranked)]
        return total, rows

    def _select(self, query: sa.Select[Any], project_ids: Iterable[str] | None) -> list[Any]:
        with self.engine.connect() as conn:
            if project_ids is None:
                return list(conn.execute(query))
            ids = sorted({str(i) for i in project_ids})
            out: list[Any] = []
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                out += list(conn.execute(query.where(self._scores.c.project_id.in_(chunk))))
            return out

    @staticmethod
    def _score(rec: Any, contributions: bool) -> StoredScore:
        return StoredScore(
            project_id=str(rec.project_id),
            as_of=rec.as_of,
            target=str(rec.target),
            model_version=rec.model_version,
            probability=rec.probability,
            band=rec.band,
            reason=rec.reason,
            latest=bool(rec.is_latest),
            base_value=rec.base_value,
            drivers=drivers_of(rec.drivers),
            contributions=json.loads(text)
            if contributions and (text := rec.contributions)
            else None,
            computed_at=rec.computed_at,
            previous_probability=rec.previous_probability,
        )
