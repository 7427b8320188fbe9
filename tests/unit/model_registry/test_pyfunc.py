"""The registered model is a pyfunc on raw project history that scores like the API."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.pipeline import build_features
from model_registry.pyfunc import RECORD_FIELDS, history_records, split_records
from model_registry.registry import ModelRegistry, _pinned
from risk_model.config import TARGETS, Settings
from risk_model.portfolio import score_features
from risk_model.store import Store


@pytest.fixture(scope="module")
def history(trained_home: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    store = Store(trained_home.store_url)
    projects = store.projects()
    chosen = list(projects["project_id"].iloc[::20])
    snapshots = store.snapshots(project_ids=chosen)
    store.dispose()
    return projects.loc[projects["project_id"].isin(chosen)].reset_index(drop=True), snapshots


def _load_pyfunc(settings: Settings, uri: str) -> Any:
    import mlflow.pyfunc

    with _pinned(settings.mlflow_uri):
        return mlflow.pyfunc.load_model(uri)


def test_records_round_trip_to_the_raw_frames(history: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """One record per report (project fields beside it) splits back into the two tables."""
    projects, snapshots = history
    records = history_records(projects, snapshots)
    assert list(records.columns[: len(RECORD_FIELDS)]) == list(RECORD_FIELDS)
    with_reports = snapshots["project_id"].nunique()
    assert len(records) == len(snapshots) + (len(projects) - with_reports)
    p_raw, s_raw = split_records(records)
    assert list(p_raw["project_id"]) == sorted(projects["project_id"])
    assert len(s_raw) == len(snapshots)
    assert all(isinstance(v, str) or v is None for v in s_raw["as_of"])


@pytest.mark.parametrize("target", TARGETS)
def test_registered_pyfunc_scores_raw_history_like_the_api(
    trained_home: Settings, history: tuple[pd.DataFrame, pd.DataFrame], target: str
) -> None:
    """``mlflow.pyfunc.load_model`` on the champion predicts from raw records, and its
    probabilities equal our scoring of the same projects (each at its latest report)."""
    projects, snapshots = history
    registry = ModelRegistry.from_settings(trained_home)
    version = registry.version_for(target, "champion")
    model = _load_pyfunc(trained_home, f"models:/pmo-risk-{target}/{version}")
    out = model.predict(history_records(projects, snapshots))
    assert list(out.columns) == [
        "project_id",
        "as_of",
        "probability",
        "band",
        "reason",
        "overrun_p10",
        "overrun_p50",
        "overrun_p90",
    ]
    assert list(out["project_id"]) == sorted(projects["project_id"])

    loaded = {t: registry.load(t) for t in TARGETS}
    expected = score_features(
        build_features(projects, snapshots), loaded, trained_home, explain=False, with_ranges=True
    )
    want = {s.project_id: s.scores[target] for s in expected}
    got = out.set_index("project_id")
    sized = 0
    for pid, score in want.items():
        if score.probability is None:
            assert np.isnan(got.loc[pid, "probability"]) and got.loc[pid, "reason"]
        else:
            assert got.loc[pid, "probability"] == pytest.approx(score.probability, abs=1e-12)
            assert got.loc[pid, "band"] == score.band
        if score.overrun is None:
            assert got.loc[pid, ["overrun_p10", "overrun_p50", "overrun_p90"]].isna().all()
        else:
            sized += 1
            row = got.loc[pid]
            assert row["overrun_p10"] == pytest.approx(score.overrun.p10, abs=1e-12)
            assert row["overrun_p50"] == pytest.approx(score.overrun.p50, abs=1e-12)
            assert row["overrun_p90"] == pytest.approx(score.overrun.p90, abs=1e-12)
            assert row["overrun_p10"] <= row["overrun_p50"] <= row["overrun_p90"]
    # Outcome targets ship a range model (finished projects give sizes); forward has none.
    if target == "forward":
        assert sized == 0 and loaded[target].ranges is None
    else:
        assert loaded[target].ranges is not None
        assert sized == sum(s.probability is not None for s in want.values())


def test_the_api_loads_the_wrapped_classifier(trained_home: Settings) -> None:
    """``ModelRegistry.load`` gives the RiskClassifier inside the pyfunc, not the wrapper."""
    from risk_model.estimator import RiskClassifier

    loaded = ModelRegistry.from_settings(trained_home).load("schedule")
    assert isinstance(loaded.model, RiskClassifier)
    assert loaded.feature_names == loaded.model.feature_names()


def test_bad_records_are_rejected_with_the_problem(trained_home: Settings) -> None:
    """A record with an unreadable date fails with the column named."""
    model = _load_pyfunc(trained_home, "models:/pmo-risk-cost@champion")
    bad = pd.DataFrame([{"project_id": "X", "start_date": "2024-01-01", "as_of": "2024-13-45"}])
    with pytest.raises(Exception, match="as_of"):
        model.predict(bad)
