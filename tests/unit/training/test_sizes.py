"""fit_size: the range of each target fitted on a time split and scored beside the baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from features.pipeline import build_features
from risk_model.config import Settings
from risk_model.ranges import RANGE_COLUMNS
from training.sizes import OFFSETS, fit_size, size_targets
from training.splits import time_split
from training.targets import make_targets


@pytest.fixture(scope="module")
def frames(simulated: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    return build_features(simulated.projects, simulated.snapshots), make_targets(simulated.projects)


def test_fit_size_scores_later_projects_beside_the_baselines(
    frames: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    """Every ratio target: test rows of the latest projects, band holding 0.80 +/- 0.07."""
    features, targets = frames
    settings = Settings(home=tmp_path)
    assert size_targets(targets) == ["schedule", "cost"]
    for target in size_targets(targets):
        fit = fit_size(features, targets, target, settings)
        split = time_split(targets.dropna(subset=[f"{target}_ratio"]), target=target)
        assert set(fit.test_frame["project_id"]) <= split.test_ids
        assert fit.model.offset == OFFSETS[target]
        frame = fit.test_frame
        assert {"y", "elapsed_share", "index_forecast", "pm_forecast", *RANGE_COLUMNS} <= set(
            frame.columns
        )
        coverage = fit.metrics["size.overall.model.p10_p90_coverage"]
        assert 0.73 <= coverage <= 0.87, (target, coverage)
        assert fit.metrics["size.overall.model.n"] == len(frame)
        assert "size.late.index_forecast.model_mae" in fit.metrics
        assert fit.table.splitlines()[0].startswith("Stage")


def test_fit_size_uses_the_split_it_is_given(
    frames: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    """A caller's split (e.g. a backtest cut-off) decides which projects are tested."""
    features, targets = frames
    known = targets.dropna(subset=["cost_ratio"])
    split = time_split(known, (0.5, 0.3, 0.2), target="cost")
    fit = fit_size(features, targets, "cost", Settings(home=tmp_path), split=split)
    assert set(fit.test_frame["project_id"]) == split.test_ids


def test_targets_without_a_ratio_have_no_size(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """A targets frame without cost_ratio leaves cost out."""
    _, targets = frames
    assert size_targets(targets.drop(columns=["cost_ratio"])) == ["schedule"]
