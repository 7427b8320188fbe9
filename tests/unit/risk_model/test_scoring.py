"""score_rows / latest_rows / scores_to_frame on real small models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from risk_model.config import Settings, band_of
from risk_model.estimator import RiskClassifier
from risk_model.scoring import (
    REASON_PREFIX,
    ProjectScore,
    TargetScore,
    latest_rows,
    score_rows,
    scores_to_frame,
)


def describe(name: str, value: Any, contribution: float, target: str) -> str:
    return f"{target}: {name} is {value}"


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "project_id": [f"P{i // 3:03d}" for i in range(n)],
            "as_of": pd.Timestamp("2024-01-31") + pd.to_timedelta(np.arange(n) % 3 * 30, unit="D"),
            "cpi": rng.normal(1.0, 0.15, n),
            "spi_t": rng.normal(1.0, 0.15, n),
            "forecast_slip": rng.exponential(0.1, n),
            "elapsed_share": rng.uniform(0.0, 1.0, n),
            "category": pd.Series(rng.choice(["it", "bridges"], n), dtype=object),
        }
    )


@pytest.fixture(scope="module")
def models() -> dict[str, RiskClassifier]:
    train = frame(900, 0)
    rng = np.random.default_rng(1)
    y_cost = rng.uniform(size=len(train)) < expit(-0.5 - 6 * (train["cpi"] - 1))
    y_sched = rng.uniform(size=len(train)) < expit(-1 + 6 * train["forecast_slip"])
    kw: dict[str, Any] = {"n_estimators": 40, "min_child_samples": 20, "n_jobs": 1}
    return {
        "schedule": RiskClassifier(**kw).fit(
            train[["spi_t", "forecast_slip", "elapsed_share", "category"]], y_sched.astype(int)
        ),
        "cost": RiskClassifier(**kw).fit(
            train[["cpi", "elapsed_share", "category"]], y_cost.astype(int)
        ),
    }


@pytest.fixture
def settings() -> Settings:
    return Settings(top_drivers=2)


def test_scores_every_row_and_target(models: dict[str, RiskClassifier], settings: Settings) -> None:
    """Each row gets each target's calibrated probability, its band and up to k drivers."""
    rows = frame(12, 5)
    scores = score_rows(models, rows, describe=describe, settings=settings, versions={"cost": "3"})
    assert len(scores) == 12
    assert all(isinstance(s, ProjectScore) for s in scores)
    p_cost = models["cost"].predict_proba(rows[["cpi", "elapsed_share", "category"]])[:, 1]
    for s, p in zip(scores, p_cost, strict=True):
        assert set(s.scores) == set(models)
        cost = s.scores["cost"]
        assert isinstance(cost, TargetScore)
        assert cost.probability == pytest.approx(p)
        assert cost.band == band_of(p, settings)
        assert cost.model_version == "3"
        assert s.scores["schedule"].model_version is None
        assert 0 < len(cost.drivers) <= 2
        assert cost.drivers[0].text.startswith("cost: ")
        assert cost.base_value is not None
        assert cost.contributions is None
    assert scores[0].project_id == "P000"
    assert scores[1].as_of == pd.Timestamp("2024-03-01").to_pydatetime()


def test_bands_follow_cut_points(models: dict[str, RiskClassifier]) -> None:
    """Bands change exactly at the configured cut points."""
    settings = Settings(band_cuts=(0.2, 0.4, 0.6))
    scores = score_rows(models, frame(60, 6), describe=describe, settings=settings)
    for s in scores:
        ts = s.scores["cost"]
        assert ts.probability is not None
        p = ts.probability
        expected = "low" if p < 0.2 else "medium" if p < 0.4 else "high" if p < 0.6 else "critical"
        assert ts.band == expected
    assert band_of(0.2, settings) == "medium"
    assert band_of(0.1999, settings) == "low"
    assert band_of(0.99, settings) == "critical"


def test_rows_with_reason_get_no_number(
    models: dict[str, RiskClassifier], settings: Settings
) -> None:
    """A row with a reason gets no probability, no band, only the reason."""
    rows = frame(4, 7)
    reasons = {"cost": pd.Series([None, "no cost reports yet", None, None], index=rows.index)}
    scores = score_rows(models, rows, describe=describe, settings=settings, reasons=reasons)
    blocked = scores[1].scores["cost"]
    assert blocked.probability is None and blocked.band is None and blocked.drivers == []
    assert blocked.reason == REASON_PREFIX + "no cost reports yet"
    assert scores[1].scores["schedule"].probability is not None
    assert scores[0].scores["cost"].probability is not None
    assert scores[0].scores["cost"].reason is None


def test_full_includes_every_contribution_summing_to_margin(
    models: dict[str, RiskClassifier], settings: Settings
) -> None:
    rows = frame(5, 8)
    scores = score_rows(models, rows, describe=describe, settings=settings, full=True)
    margin = models["cost"].predict_raw(rows)
    for s, m in zip(scores, margin, strict=True):
        ts = s.scores["cost"]
        assert ts.contributions is not None and ts.base_value is not None
        assert set(ts.contributions) == {"cpi", "elapsed_share", "category"}
        assert np.isclose(sum(ts.contributions.values()) + ts.base_value, m)


def test_explain_false_gives_numbers_only(
    models: dict[str, RiskClassifier], settings: Settings
) -> None:
    rows = frame(5, 9)
    scores = score_rows(models, rows, describe=describe, settings=settings, explain=False)
    ts = scores[0].scores["schedule"]
    assert ts.probability is not None and ts.drivers == [] and ts.base_value is None


def test_missing_columns_are_nan(models: dict[str, RiskClassifier], settings: Settings) -> None:
    """A model column absent from the frame is scored as missing, not an error."""
    rows = frame(3, 10).drop(columns=["spi_t", "category"])
    scores = score_rows(models, rows, describe=describe, settings=settings)
    assert all(s.scores["schedule"].probability is not None for s in scores)


def test_latest_rows_keeps_each_projects_last_report() -> None:
    rows = frame(9, 11).sample(frac=1.0, random_state=0)
    latest = latest_rows(rows)
    assert list(latest["project_id"]) == ["P000", "P001", "P002"]
    assert (latest["as_of"] == pd.Timestamp("2024-03-31")).all()
    assert set(latest.index) <= set(rows.index)


def test_scores_to_frame_columns(models: dict[str, RiskClassifier], settings: Settings) -> None:
    rows = frame(3, 12)
    reasons = {
        "schedule": pd.Series(["no baseline finish", None, None], index=rows.index),
        "cost": pd.Series(["no baseline finish", "no cost reports", None], index=rows.index),
    }
    scores = score_rows(models, rows, describe=describe, settings=settings, reasons=reasons)
    out = scores_to_frame(scores)
    assert list(out.columns) == [
        "project_id",
        "as_of",
        "p_schedule",
        "band_schedule",
        "drivers_schedule",
        "p_cost",
        "band_cost",
        "drivers_cost",
        "reasons",
    ]
    assert out.loc[0, "reasons"] == REASON_PREFIX + "no baseline finish"
    assert np.isnan(out.loc[0, "p_schedule"])
    assert out.loc[1, "reasons"] == "cost: " + REASON_PREFIX + "no cost reports"
    assert out.loc[2, "reasons"] is None or pd.isna(out.loc[2, "reasons"])
    assert "; " in out.loc[2, "drivers_cost"]
    assert out["p_cost"].dtype == np.float64
    assert len(scores_to_frame([])) == 0


def test_bands_of_an_array_equal_band_of_each() -> None:
    """The vectorised bands are band_of's, also at the cut points themselves and the ends."""
    from risk_model.scoring import bands_of

    settings = Settings(band_cuts=(0.2, 0.5, 0.8))
    p = np.array([0.0, 0.1999, 0.2, 0.35, 0.5, 0.79, 0.8, 0.999, 1.0])
    assert bands_of(p, settings) == [band_of(float(x), settings) for x in p]
    assert bands_of(np.array([]), settings) == []
