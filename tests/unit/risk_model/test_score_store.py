"""Stored scores: written for every report, explained at the latest, replaced atomically."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from features.pipeline import build_features
from model_registry.registry import ModelRegistry
from risk_model.config import TARGETS, Settings
from risk_model.portfolio import refresh_scores, score_features
from risk_model.score_store import ScoreStore
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
