"""Stored scores: written for every report, explained at the latest, replaced atomically."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from features.pipeline import build_features
from model_registry.registry import ModelRegistry
from risk_model.config import TARGETS, Settings
from risk_model.portfolio import refresh_scores, score_features
from risk_model.risk_register import RiskRegister
from risk_model.score_store import ScoreStore, drivers_of
from risk_model.store import Store


@pytest.fixture(scope="module")
def models(trained_home: Settings) -> dict[str, Any]:
    registry = ModelRegistry.from_settings(trained_home)
    return {t: registry.load(t) for t in TARGETS}


@pytest.fixture
def store(trained_home: Settings, copy_store: Callable[..., Settings]) -> Store:
    """A private copy of the trained home's store."""
    return Store(copy_store(trained_home, "score-store").store_url).init()


def test_nothing_stored_reads_as_no_state(store: Store) -> None:
    """A store without score tables, or with empty ones, has no stored state."""
    assert ScoreStore(store).state() is None
    assert ScoreStore(store).init().state() is None
    assert ScoreStore(store).latest() == {}


def test_refresh_stores_every_report_and_explains_the_latest(
    store: Store, models: dict[str, Any], trained_home: Settings
) -> None:
    """Every (project, report, target) is stored with the model version; the latest report of
    each project carries drivers and every contribution, equal to live scoring."""
    scores = ScoreStore(store).init()
    state = refresh_scores(store, scores, models, trained_home)
    features = build_features(store.projects(), store.snapshots())
    assert state.revision == store.revision()
    assert state.versions == {t: m.version for t, m in models.items()}
    assert state.rows == len(features) * len(TARGETS)

    latest = scores.latest()
    assert set(latest) == set(features["project_id"])
    pid = sorted(latest)[0]
    live = score_features(
        features.loc[features["project_id"] == pid], models, trained_home, full=True
    )[0]
    for target in TARGETS:
        stored, expected = latest[pid][target], live.scores[target]
        assert stored.latest and stored.model_version == models[target].version
        assert stored.probability == pytest.approx(expected.probability)
        assert stored.band == expected.band
        assert [d.feature for d in stored.drivers] == [d.feature for d in expected.drivers]
        assert [d.text for d in stored.drivers] == [d.text for d in expected.drivers]
        assert stored.contributions is not None and expected.contributions is not None
        assert stored.contributions == pytest.approx(
            {k: v for k, v in expected.contributions.items()}
        )
        assert stored.base_value == pytest.approx(expected.base_value)

    history = scores.history(pid)
    rows = features.loc[features["project_id"] == pid]
    assert len(history) == len(rows) * len(TARGETS)
    assert sum(h.latest for h in history) == len(TARGETS)
    live_history = score_features(rows, models, trained_home, explain=False, latest_only=False)
    for target in TARGETS:
        probs = [h.probability for h in history if h.target == target]
        assert probs == pytest.approx([ps.scores[target].probability for ps in live_history])
        if len(probs) > 1:
            assert latest[pid][target].previous_probability == pytest.approx(probs[-2])
        else:
            assert latest[pid][target].previous_probability is None


def test_replace_swaps_the_whole_table(store: Store, models: dict[str, Any]) -> None:
    """A second write replaces every row and the state; nothing of the first stays."""
    scores = ScoreStore(store).init()
    settings = Settings(home=Path("/nonexistent"))
    first = refresh_scores(store, scores, models, settings)
    projects = store.projects().head(3)
    feats = build_features(projects, store.snapshots(project_ids=list(projects["project_id"])))
    hist = score_features(feats, models, settings, explain=False, latest_only=False)
    last = score_features(feats, models, settings, full=True)
    second = scores.replace(hist, last, revision=first.revision + 5, versions={"schedule": "9"})
    assert scores.state() == second and second.revision == first.revision + 5
    assert set(scores.latest()) == set(projects["project_id"])
    assert second.rows == len(feats) * len(TARGETS)


def test_init_drops_the_older_unused_ranking_index_and_keeps_the_rest(tmp_path: Path) -> None:
    """A scores table made when rankings read it (``ix_scores_ranking``, written on every
    stored score, read by no query since ``score_ranking``) loses that index on init; the
    indexes queries read stay; init stays idempotent."""
    import sqlalchemy as sa

    store = Store(f"sqlite:///{tmp_path / 'old.db'}").init()
    scores = ScoreStore(store).init()
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE INDEX ix_scores_ranking ON scores "
                "(is_latest, target, probability DESC, project_id)"
            )
        )
    assert "ix_scores_ranking" in {
        i["name"] for i in sa.inspect(store.engine).get_indexes("scores")
    }
    ScoreStore(store).init().init()
    indexes = {i["name"] for i in sa.inspect(store.engine).get_indexes("scores")}
    assert "ix_scores_ranking" not in indexes
    assert {"ix_scores_project", "ix_scores_latest"} <= indexes
    assert scores.rank("cost", 5) == (0, [])


def _ranked_store(
    store: Store, projects: pd.DataFrame, cost: dict[str, tuple[float | None, str | None]]
) -> ScoreStore:
    """``projects`` imported and each one's latest cost score stored: ``cost`` maps a project
    id to its (probability, band)."""
    from datetime import datetime

    from risk_model.schemas import conform_projects
    from risk_model.scoring import ProjectScore, TargetScore

    store.import_frames(conform_projects(projects), None)
    when = datetime(2024, 6, 30)
    latest = [
        ProjectScore(pid, when, {"cost": TargetScore("cost", p, band)})
        for pid, (p, band) in cost.items()
    ]
    scores = ScoreStore(store).init()
    scores.replace(latest, latest, revision=store.revision(), versions={"cost": "1"})
    return scores


def test_rank_orders_by_probability_unscored_last_ties_by_id_and_filters(tmp_path: Path) -> None:
    """The database ranking: highest first, equal probabilities by project id, unscored
    projects last; only active projects; portfolio, category, band and scope filters."""
    from risk_model.score_store import RankFilter

    store = Store(f"sqlite:///{tmp_path / 'rank.db'}").init()
    rows = [  # id, portfolio, category, status, probability
        ("A", "P1", "IT", "active", 0.5),
        ("B", "P1", "IT", "active", 0.9),
        ("C", "P2", "Roads", "active", 0.5),
        ("D", "P2", "IT", "active", None),
        ("E", None, "IT", "active", 0.7),
        ("F", "P1", "IT", "completed", 0.99),
        ("G", "P2", None, None, 0.1),  # no status: active
    ]
    projects = pd.DataFrame(
        [{"project_id": i, "portfolio": p, "category": c, "status": s} for i, p, c, s, _ in rows]
    )
    scores = _ranked_store(
        store,
        projects,
        {pid: (p, None if p is None else ("high" if p > 0.6 else "low")) for pid, *_, p in rows},
    )

    def ids(where: RankFilter = RankFilter(), limit: int = 10) -> tuple[int, list[str]]:
        total, ranked = scores.rank("cost", limit, where)
        return total, [r[0] for r in ranked]

    assert ids() == (6, ["B", "E", "A", "C", "G", "D"])
    assert ids(limit=3) == (6, ["B", "E", "A"])
    assert ids(RankFilter(portfolio="P1")) == (2, ["B", "A"])
    assert ids(RankFilter(category="IT")) == (4, ["B", "E", "A", "D"])
    assert ids(RankFilter(band="high")) == (2, ["B", "E"])
    assert ids(RankFilter(scope=frozenset({"P2"}))) == (3, ["C", "G", "D"])
    assert ids(RankFilter(scope=frozenset())) == (0, [])
    assert scores.rank("schedule", 10) == (0, [])


def test_rank_walks_its_index_in_order_without_sorting(store_url: str) -> None:
    """On SQLite and on PostgreSQL (``.ci/run`` runs this test on both) the ranking, all or
    one band, reads an index in ranking order, unscored projects last, and stops at the page's
    end: the plan has no sort step. (PostgreSQL's DESC puts NULLs first, so an index without
    NULLS LAST could not serve ``ORDER BY probability DESC NULLS LAST``.)"""
    from risk_model.score_store import RankFilter

    n = 3000
    store = Store(store_url).init()
    ids = [f"P{i:05d}" for i in range(n)]
    scores = _ranked_store(
        store,
        pd.DataFrame({"project_id": ids}),
        {  # every tenth unscored, the others spread over [0, 1), two bands
            pid: (None, None)
            if i % 10 == 0
            else ((i * 7919 % 1000) / 1000, "high" if i % 3 else "low")
            for i, pid in enumerate(ids)
        },
    )
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "ORDER BY" in statement and "score_ranking" in statement:
            statements.append((statement, parameters))

    postgresql = store.engine.dialect.name == "postgresql"
    with store.engine.begin() as conn:
        if postgresql:
            conn.exec_driver_sql("ANALYZE score_ranking")
    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        total, first = scores.rank("cost", 50)
        high_total, _ = scores.rank("cost", 50, RankFilter(band="high"))
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)
    assert total == n and len(first) == 50 and 0 < high_total < n
    assert len(statements) == 2
    with store.engine.connect() as conn:
        for statement, parameters in statements:
            explain = "EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN "
            plan = " | ".join(
                str(row[-1]) for row in conn.exec_driver_sql(explain + statement, parameters)
            )
            assert "ix_score_ranking" in plan, plan
            assert ("Sort" not in plan) if postgresql else ("TEMP B-TREE" not in plan), plan


def test_latest_active_reads_each_active_projects_latest_scores_as_latest_does(
    store: Store, models: dict[str, Any], trained_home: Settings
) -> None:
    """One row per (active project, target), equal to ``latest()``'s; drivers kept as the
    stored JSON, which decodes to the same drivers; finished projects are left out."""
    scores = ScoreStore(store).init()
    refresh_scores(store, scores, models, trained_home)
    full = scores.latest()
    projects = store.projects()
    active = set(projects.loc[projects["status"].fillna("active") == "active", "project_id"])
    assert active and len(active) < len(projects)  # the fixture has both kinds

    rows = scores.latest_active()
    assert {r.project_id for r in rows} == active & set(full)
    assert len(rows) == len({(r.project_id, r.target) for r in rows})
    assert [r.project_id for r in rows] == sorted(r.project_id for r in rows)
    record = projects.set_index("project_id")
    for r in rows:
        stored = full[r.project_id][r.target]
        assert r.probability == stored.probability
        assert r.band == stored.band
        assert r.as_of == stored.as_of
        assert r.previous_probability == stored.previous_probability
        assert r.model_version == stored.model_version
        assert drivers_of(r.drivers) == stored.drivers
        assert r.baseline_budget == pytest.approx(record.loc[r.project_id, "baseline_budget"])
        assert r.name == record.loc[r.project_id, "name"]


def _dump(scores: ScoreStore) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Every stored row but its id and computation time, by (project, report, target)."""
    with scores.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM scores")).mappings().all()
    skip = {"id", "computed_at"}
    return {
        (r["project_id"], r["as_of"], r["target"]): tuple(
            v for k, v in sorted(r.items()) if k not in skip
        )
        for r in rows
    }


def test_refresh_rescores_only_the_changed_projects_and_equals_a_full_refresh(
    store: Store, models: dict[str, Any], trained_home: Settings
) -> None:
    """After a risk-register edit and an import of new reports, the refresh rewrites only the
    changed projects' rows, and the table is then what rescoring everything gives."""
    scores = ScoreStore(store).init()
    refresh_scores(store, scores, models, trained_home)
    before = _dump(scores)
    snaps = store.snapshots()
    active = store.projects().query("status == 'active'")["project_id"].tolist()
    edited, reported = active[0], active[1]
    RiskRegister(store).add_risk(
        edited, {"statement": "Key supplier late", "probability": 5, "impact": 5}
    )
    last = snaps.loc[snaps["project_id"] == reported].tail(1).copy()
    last["as_of"] = last["as_of"] + pd.Timedelta(days=30)
    last["forecast_finish"] = last["forecast_finish"] + pd.Timedelta(days=120)
    store.import_frames(None, last)

    state = refresh_scores(store, scores, models, trained_home)
    assert state.revision == store.revision()
    after = _dump(scores)
    changed = {k for k in after if before.get(k) != after[k]} | (before.keys() - after.keys())
    assert {k[0] for k in changed} <= {edited, reported}
    assert any(k[0] == reported for k in changed)  # the new report was scored
    assert state.rows == len(after)

    ranked = {t: scores.rank(t, 10_000) for t in TARGETS}
    full = refresh_scores(store, scores, models, trained_home, incremental=False)
    assert full.rows == state.rows
    assert {t: scores.rank(t, 10_000) for t in TARGETS} == ranked  # rankings follow too
    rescored = _dump(scores)
    assert rescored.keys() == after.keys()
    for key, row in rescored.items():
        assert row == after[key], key


def test_ranking_table_follows_every_replace_and_is_filled_for_an_older_store(
    tmp_path: Path,
) -> None:
    """The rankings' table (latest score per target with the project's fields) is rewritten
    with the scores, and a store whose scores were written before the table existed gets it
    filled on init: the same ranking either way."""
    from datetime import datetime

    import pandas as pd
    import sqlalchemy as sa

    from risk_model.schemas import conform_projects
    from risk_model.scoring import ProjectScore, TargetScore

    store = Store(f"sqlite:///{tmp_path / 'ranking.db'}").init()
    projects = pd.DataFrame(
        [
            {"project_id": "A", "name": "Alpha", "portfolio": "P1", "status": "active"},
            {"project_id": "B", "name": "Beta", "portfolio": "P2", "status": "active"},
            {"project_id": "C", "name": "Gamma", "portfolio": "P1", "status": "completed"},
        ]
    )
    store.import_frames(conform_projects(projects), None)
    when = datetime(2024, 6, 30)

    def scored(probabilities: dict[str, float]) -> list[ProjectScore]:
        return [
            ProjectScore(pid, when, {"cost": TargetScore("cost", p, "high" if p > 0.5 else "low")})
            for pid, p in probabilities.items()
        ]

    scores = ScoreStore(store).init()
    first = scored({"A": 0.2, "B": 0.8, "C": 0.9})
    scores.replace(first, first, revision=store.revision(), versions={"cost": "1"})
    assert scores.rank("cost", 10) == (2, [("B", "Beta", "P2", None), ("A", "Alpha", "P1", None)])

    second = scored({"A": 0.7})  # B's score gone, A's changed
    scores.replace(second, second, revision=store.revision(), versions={"cost": "2"})
    assert scores.rank("cost", 10) == (1, [("A", "Alpha", "P1", None)])

    with store.engine.begin() as conn:  # as a store made before the table existed
        conn.execute(sa.text("DROP TABLE score_ranking"))
    assert ScoreStore(store).init().init().rank("cost", 10) == (
        1,
        [("A", "Alpha", "P1", None)],
    )
