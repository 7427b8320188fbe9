"""What-if and "bring it under X" with real models from ``trained_home``."""

from __future__ import annotations

from typing import Any

import pytest

from model_registry.registry import ModelRegistry
from risk_model.config import TARGETS, Settings
from risk_model.exceptions import ValidationFailed
from risk_model.portfolio import score_portfolio
from risk_model.risk_register import RiskRegister
from risk_model.store import Store
from risk_model.whatif import LEVERS, ProjectFrames, bring_under, current_levers, what_if


@pytest.fixture(scope="module")
def setup(trained_home: Settings) -> tuple[Store, dict[str, Any], Settings]:
    registry = ModelRegistry.from_settings(trained_home)
    models = {t: registry.load(t) for t in TARGETS}
    return Store(trained_home.store_url), models, trained_home


def _frames(store: Store, pid: str) -> ProjectFrames:
    return ProjectFrames(
        store.projects(project_ids=[pid]),
        store.snapshots(project_ids=[pid]),
        RiskRegister(store).frames([pid]),
    )


def _riskiest(store: Store, models: dict[str, Any], settings: Settings, target: str) -> Any:
    scores = score_portfolio(store, models, settings, explain=False)
    scored = [s for s in scores if s.scores[target].probability is not None]
    return max(scored, key=lambda s: s.scores[target].probability)


def test_no_change_reproduces_the_stored_score(setup: Any) -> None:
    store, models, settings = setup
    top = _riskiest(store, models, settings, "cost")
    result = what_if(_frames(store, top.project_id), {}, models, settings)
    for t in TARGETS:
        assert result.before[t] == pytest.approx(top.scores[t].probability)
        assert result.after[t] == pytest.approx(result.before[t])


def test_cost_recovery_lowers_cost_risk(setup: Any) -> None:
    store, models, settings = setup
    top = _riskiest(store, models, settings, "cost")
    frames = _frames(store, top.project_id)
    levers = current_levers(frames)
    changes = {"cpi": max(1.0, levers.get("cpi", 1.0))}
    if "forecast_cost_growth" in levers:
        changes["forecast_cost_growth"] = 0.0
    result = what_if(frames, changes, models, settings)
    assert result.after["cost"] is not None and result.before["cost"] is not None
    assert result.after["cost"] < result.before["cost"]


def test_bring_under_finds_a_change_that_gets_below_and_is_verified(setup: Any) -> None:
    store, models, settings = setup
    top = _riskiest(store, models, settings, "schedule")
    frames = _frames(store, top.project_id)
    now = top.scores["schedule"].probability
    threshold = now * 0.8
    found = bring_under(frames, "schedule", threshold, models, settings, steps=10)
    assert found.current == pytest.approx(now)
    assert found.single, "at least one lever can move"
    if found.best is not None:
        assert found.best.below and found.best.probability < threshold
        check = what_if(
            frames, {k: v for k, (_, v) in found.best.changes.items()}, models, settings
        )
        assert check.after["schedule"] == pytest.approx(found.best.probability)
        assert all(s.share >= found.best.share for s in found.single if s.below)


def test_unknown_or_out_of_range_levers_are_rejected(setup: Any) -> None:
    store, models, settings = setup
    top = _riskiest(store, models, settings, "cost")
    frames = _frames(store, top.project_id)
    with pytest.raises(ValidationFailed) as err:
        what_if(frames, {"morale": 1.0, "cpi": 99.0}, models, settings)
    assert {p.column for p in err.value.problems} == {"morale", "cpi"}
    assert set(current_levers(frames)) <= set(LEVERS)
