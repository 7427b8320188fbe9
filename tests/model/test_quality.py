"""Model quality on the synthetic portfolio: near the oracle, above the PMO's baselines."""

from __future__ import annotations

from pathlib import Path

import pytest

from risk_model.config import Settings
from training.simulate import simulate_portfolio
from training.train import train_portfolio


@pytest.fixture(scope="module")
def fits(tmp_path_factory: pytest.TempPathFactory) -> dict:
    sim = simulate_portfolio(900, seed=3)
    settings = Settings(home=Path(tmp_path_factory.mktemp("q")))
    return train_portfolio(sim.projects, sim.snapshots, settings, oracle=sim.oracle)


def test_schedule_auc_is_within_five_points_of_the_oracle(fits: dict) -> None:
    """The schedule model's test ROC-AUC is within 0.05 of the best achievable."""
    overall = fits["schedule"].evaluation["overall"]
    assert overall["oracle"]["roc_auc"] - overall["model"]["roc_auc"] <= 0.05


@pytest.mark.parametrize("target", ["schedule", "cost"])
def test_model_beats_the_evm_rule_and_the_category_base_rate(fits: dict, target: str) -> None:
    """On the same test rows the model ranks better than the EVM rule and the base rate."""
    overall = fits[target].evaluation["overall"]
    model = overall["model"]["roc_auc"]
    assert model > overall["evm_rule"]["roc_auc"]
    assert model > overall["base_rate"]["roc_auc"]
    assert overall["model"]["brier"] < overall["base_rate"]["brier"]


def test_calibrated_probabilities_are_close_to_observed_rates(fits: dict) -> None:
    """Calibrated on later projects, the test ECE stays small."""
    for fit in fits.values():
        assert fit.evaluation["overall"]["model"]["ece"] < 0.08


def test_every_stage_is_reported_beside_the_baselines(fits: dict) -> None:
    """Metrics exist per stage for the model and each baseline on the same rows."""
    by_stage = fits["schedule"].evaluation["by_stage"]
    assert len(by_stage) == 3
    for labels in by_stage.values():
        assert {"model", "evm_rule", "base_rate", "oracle"} <= set(labels)
        ns = {m["n"] for lab, m in labels.items() if lab in ("model", "base_rate")}
        assert len(ns) == 1
