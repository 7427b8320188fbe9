"""Gain scales: measured on the training rows only, deterministic, project-level features down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.pipeline import build_features
from tests.conftest import small_settings
from training.gain_scale import gain_scales, within_share
from training.labels import labelled_rows
from training.simulate import simulate_portfolio
from training.train import fit_target


def test_within_share_of_constant_mixed_and_varying_columns() -> None:
    groups = pd.Series(["a", "a", "b", "b"])
    assert within_share(pd.Series([1.0, 1.0, 3.0, 3.0]), groups) == 0.0
    assert within_share(pd.Series([1.0, 3.0, 1.0, 3.0]), groups) == pytest.approx(1.0)
    # between-group variance 1, within-group variance 1: half of it lies within projects
    assert within_share(pd.Series([0.0, 2.0, 2.0, 4.0]), groups) == pytest.approx(0.5)
    assert within_share(pd.Series([np.nan] * 4), groups) == 0.0
    cats = pd.Series(["it", "it", "rail", "road"], dtype=object)
    assert within_share(cats, groups, categorical=True) == pytest.approx(0.25)


def test_scales_weight_between_project_variation_once_per_project() -> None:
    rows = pd.DataFrame(
        {
            "project_id": ["p1"] * 4 + ["p2"] * 4,
            "log_budget": [6.0] * 4 + [7.0] * 4,
            "elapsed_share": [0.1, 0.4, 0.7, 0.9] * 2,
            "category": ["IT"] * 4 + ["Rail"] * 4,
        }
    )
    scales = gain_scales(rows, ["log_budget", "elapsed_share", "category"])
    per_row = 2 / 8  # projects per report
    assert scales["log_budget"] == pytest.approx(per_row)
    assert scales["category"] == pytest.approx(per_row)
    assert scales["elapsed_share"] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def portfolio() -> Any:
    return simulate_portfolio(300, seed=5)


def test_selection_only_sees_training_rows_and_is_deterministic(
    portfolio: Any, tmp_path: Path
) -> None:
    """A signal planted in the calibration and test rows leaves the gain scales (and the
    booster) unchanged; two fits on the same data agree exactly."""
    settings = small_settings(tmp_path)
    features = build_features(portfolio.projects, portfolio.snapshots)
    labelled = labelled_rows(features, portfolio.projects, portfolio.snapshots, "cost", settings)
    first = fit_target(labelled, settings)
    again = fit_target(labelled, settings)
    assert first.model.gain_scale == again.model.gain_scale
    train = labelled.rows.iloc[:50]
    np.testing.assert_array_equal(first.model.predict_raw(train), again.model.predict_raw(train))

    from training.labels import split_labelled

    split = split_labelled(labelled, settings.split_fractions)
    later = ~split.train
    planted = labelled.rows.copy()
    planted.loc[later, "cpi"] = np.where(labelled.y[later] == 1, 0.1, 5.0)
    planted.loc[later, "log_budget"] = 100.0 * labelled.y[later]
    leaked = fit_target(
        type(labelled)(labelled.target, planted, labelled.y, labelled.label_date, labelled.ratio),
        settings,
    )
    assert leaked.model.gain_scale == first.model.gain_scale
    scales = first.model.gain_scale or {}
    assert scales["log_budget"] < 0.2 < scales["elapsed_share"]
    np.testing.assert_array_equal(
        leaked.model.booster_.predict(first.model._matrix(train[first.model.feature_names()])),
        first.model.booster_.predict(first.model._matrix(train[first.model.feature_names()])),
    )
