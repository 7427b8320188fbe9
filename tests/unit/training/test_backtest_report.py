"""What the backtest report draws: the probabilities compared in the reliability diagram."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import small_settings
from training.backtest import run_backtest
from training.backtest_report import reliability_probabilities
from training.simulate import SimulatedPortfolio, simulate_portfolio


@pytest.fixture(scope="module")
def portfolio() -> SimulatedPortfolio:
    return simulate_portfolio(300, seed=4)


def test_reliability_compares_the_model_with_what_the_backtest_has(
    portfolio: SimulatedPortfolio, tmp_path: Path
) -> None:
    """Model, index forecast and oracle for an outcome target on synthetic data; no oracle for
    a target the simulator has none of (forward); each aligned with the scored reports."""
    settings = small_settings(tmp_path)
    common = {"folds": 2, "oracle": portfolio.oracle}
    schedule = run_backtest(
        portfolio.projects, portfolio.snapshots, settings, target="schedule", **common
    )
    probs = reliability_probabilities(schedule)
    assert list(probs) == ["model", "index forecast", "oracle"]
    np.testing.assert_array_equal(probs["model"], schedule.scored["p_model"].to_numpy())
    np.testing.assert_array_equal(probs["oracle"], schedule.scored["p_oracle"].to_numpy())
    assert all(len(p) == len(schedule.scored) for p in probs.values())

    forward = run_backtest(
        portfolio.projects, portfolio.snapshots, settings, target="forward", **common
    )
    assert "oracle" not in reliability_probabilities(forward)
    assert "model" in reliability_probabilities(forward)
