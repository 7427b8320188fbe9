"""The portfolio board read from the stored scores (``api.web.views``): the same rows as the
full stored scores give, drivers decoded only when shown, rebuilt only when they change."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from api.services import ModelState, compute_portfolio, load_champions
from api.web.views import BoardCache, Filters, StoredDrivers, portfolio_page
from model_registry.registry import ModelRegistry
from risk_model.config import Settings, band_of
from risk_model.risk_register import RiskRegister
from risk_model.score_store import ScoreStore
from risk_model.store import Store


@pytest.fixture
def home(trained_home: Settings, copy_store: Callable[..., Settings]) -> Settings:
    return copy_store(trained_home, "board")


@pytest.fixture
def models(home: Settings) -> ModelState:
    return load_champions(ModelRegistry.from_settings(home))


def test_board_matches_the_full_stored_scores(home: Settings, models: ModelState) -> None:
    """Every active project with its stored probability, band, previous probability and
    band, and drivers in words: what the stored scores read in full (with every driver
    decoded) say."""
    store = Store(home.store_url).init()
    board = BoardCache().get(store, models, home)
    full = compute_portfolio(store, models, home, int(store.revision()))
    assert [r.project_id for r in board.rows] == sorted(e.project_id for e in full.entries)
    entries = {e.project_id: e for e in full.entries}
    for row in board.rows:
        e = entries[row.project_id]
        assert (row.name, row.portfolio, row.category, row.as_of) == (
            e.name,
            e.portfolio,
            e.category,
            e.as_of,
        )
        for target, s in e.scores.items():
            assert row.probability[target] == s.probability
            assert row.band[target] == s.band
            assert row.previous[target] == e.previous[target]
            prev = e.previous[target]
            assert row.previous_band[target] == (None if prev is None else band_of(prev, home))
            assert row.drivers[target] == [d.text for d in s.drivers]
            assert row.driver[target] == (s.drivers[0].text if s.drivers else None)
    assert any(r.budget is not None and r.eac is not None for r in board.rows)
    assert any(r.phase is not None for r in board.rows)


def test_drivers_are_decoded_only_when_read() -> None:
    """A board row keeps the stored JSON until a page shows it."""
    raw = (
        '[{"feature": "cpi", "value": 0.8, "contribution": 0.4, "points": 9.0, "text": "CPI low"}]'
    )
    lazy = StoredDrivers({"cost": raw, "schedule": None})
    assert lazy._texts == {}  # nothing decoded yet
    assert lazy["cost"] == ["CPI low"] and lazy["schedule"] == []
    assert set(lazy) == {"cost", "schedule"} and dict(lazy) == {"cost": ["CPI low"], "schedule": []}
    with pytest.raises(KeyError):
        lazy["forward"]


def test_cache_rebuilds_only_when_the_stored_scores_change(
    home: Settings, models: ModelState
) -> None:
    """Repeated pages reuse the board; a risk-register edit (a new store revision: the stored
    scores are recomputed) gives a new board with the new counts."""
    store = Store(home.store_url).init()
    cache = BoardCache()
    first = cache.get(store, models, home)
    assert cache.get(store, models, home) is first and cache.builds == 1
    pid = first.rows[0].project_id
    RiskRegister(store).add_risk(
        pid, {"statement": "Supplier may fail", "probability": 3, "impact": 4}
    )
    second = cache.get(store, models, home)
    assert cache.builds == 2 and second is not first
    assert {r.project_id: r.open_risks for r in second.rows}[pid] == (
        {r.project_id: r.open_risks for r in first.rows}[pid] + 1
    )
    page = portfolio_page(second, Filters(target="schedule", per_page=5))
    assert len(page.rows) == 5 and page.tiles.projects == len(second.rows)


@pytest.mark.parametrize("by_id_limit", [500, 1])
def test_phase_comes_from_the_latest_report_that_has_one(
    home: Settings, models: ModelState, by_id_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project whose latest report has no phase shows the phase of its latest report with
    one (looked up by id for a few projects, in one query for many); the rest show their
    latest report's phase."""
    import sqlalchemy as sa

    import api.web.views as views

    monkeypatch.setattr(views, "PHASE_LOOKUP_BY_ID", by_id_limit)
    store = Store(home.store_url).init()
    active = [r.project_id for r in BoardCache().get(store, models, home).rows]
    blanked = active[:3]
    snaps = store.snapshots(project_ids=blanked)
    last = snaps.groupby("project_id")["as_of"].max()
    with store.engine.begin() as conn:
        for pid, as_of in last.items():
            done = conn.execute(
                sa.text("UPDATE snapshots SET phase = NULL WHERE project_id = :p AND as_of = :d"),
                {"p": pid, "d": as_of.date()},
            )
            assert done.rowcount == 1
    board = views.board_from_store(store, ScoreStore(store).state(), home)
    expected = (
        store.snapshots(project_ids=active)
        .dropna(subset=["phase"])
        .groupby("project_id")["phase"]
        .last()
    )
    phases = {r.project_id: r.phase for r in board.rows}
    assert phases == {pid: expected.get(pid) for pid in active}
    for pid in blanked:  # an earlier report's phase, not the blanked latest one
        assert phases[pid] is not None
