"""cohort_labels: the groups an analyst compares feature rows by."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.pipeline import build_features, feature_columns
from features.registry import describe_driver
from risk_model.config import Settings
from risk_model.estimator import RiskClassifier
from risk_model.portfolio import cohort_labels
from risk_model.scoring import score_rows, scores_to_frame
from training.simulate import SimulatedPortfolio, simulate_portfolio


@pytest.fixture(scope="module")
def portfolio() -> tuple[SimulatedPortfolio, pd.DataFrame]:
    sim = simulate_portfolio(40, seed=5)
    return sim, build_features(sim.projects, sim.snapshots)


def test_labels_carry_project_attributes_and_the_reports_phase(
    portfolio: tuple[SimulatedPortfolio, pd.DataFrame],
) -> None:
    """One row per feature row (same index); text attributes of the project, phase of the report."""
    sim, features = portfolio
    rows = features.sample(frac=1.0, random_state=0)  # any order and index survive
    labels = cohort_labels(rows, sim.projects, sim.snapshots)
    assert labels.index.equals(rows.index)
    assert {"category", "portfolio", "region", "phase"} <= set(labels.columns)
    assert not {"project_id", "name", "as_of"} & set(labels.columns)
    category = sim.projects.set_index("project_id")["category"]
    assert (labels["category"] == rows["project_id"].map(category)).all()
    reports = sim.snapshots.set_index(["project_id", "as_of"])["phase"]
    keys = pd.MultiIndex.from_frame(rows[["project_id", "as_of"]])
    expected = reports.reindex(keys).to_numpy(dtype=object)
    has_report = pd.notna(expected)
    assert has_report.any()
    assert list(labels["phase"].to_numpy()[has_report]) == list(expected[has_report])
    assert labels["phase"].to_numpy()[~has_report].tolist() == [None] * int((~has_report).sum())


def test_labels_add_each_targets_band_from_the_scores(
    portfolio: tuple[SimulatedPortfolio, pd.DataFrame],
) -> None:
    sim, features = portfolio
    columns = feature_columns(features)
    y = (features["forecast_slip"].fillna(0) > features["forecast_slip"].median()).astype(int)
    model = RiskClassifier(n_estimators=20, min_child_samples=10, n_jobs=1).fit(
        features[columns], y
    )
    settings = Settings()
    scores = score_rows(
        {"schedule": model}, features, describe=describe_driver, settings=settings, explain=False
    )
    labels = cohort_labels(features, sim.projects, sim.snapshots, scores)
    bands = scores_to_frame(scores)["band_schedule"].to_numpy(dtype=object)
    assert np.array_equal(labels["band_schedule"].to_numpy(dtype=object), bands)
    with pytest.raises(ValueError, match="scores"):
        cohort_labels(features, sim.projects, sim.snapshots, scores[:3])
