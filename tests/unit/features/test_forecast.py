"""Forecast slip, cost growth, budget growth, re-estimates and forecast gaps."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from features.pipeline import build_features

DATES = ["2024-01-11", "2024-01-31", "2024-02-20", "2024-03-11"]


def test_slip_and_growth_are_shares_of_the_baseline(tiny_features: pd.DataFrame, row) -> None:
    got = pd.DataFrame([row(tiny_features, "A", d) for d in DATES])
    assert got["forecast_slip"].tolist() == pytest.approx([0.0, 0.1, 0.2, 0.2])
    assert got["forecast_cost_growth"].tolist() == pytest.approx([0.0, 0.1, 0.25, 0.25])
    assert got["budget_growth"].tolist() == pytest.approx([0.0, 0.0, 0.1, 0.1])
    assert got["log_current_budget"].iloc[2] == pytest.approx(math.log10(1100))


def test_reestimates_count_reports_where_forecast_changed(tiny_features: pd.DataFrame, row) -> None:
    got = [row(tiny_features, "A", d)["n_reestimates"] for d in DATES]
    assert got == [0.0, 1.0, 2.0, 2.0]


def test_forecast_gaps_compare_evm_with_the_reported_forecast(
    tiny_features: pd.DataFrame, row
) -> None:
    r = row(tiny_features, "A", "2024-01-31")
    assert r["forecast_slip_gap"] == pytest.approx((1.5 - 1) - 0.1)
    assert r["forecast_cost_gap"] == pytest.approx((1000 / 0.8 - 1100) / 1000)


def test_no_forecasts_give_nan_not_zero(tiny_features: pd.DataFrame, row) -> None:
    r = row(tiny_features, "B", "2024-01-11")
    for name in ("forecast_slip", "forecast_cost_growth", "n_reestimates", "forecast_cost_gap"):
        assert math.isnan(r[name]), name


def test_missing_field_uses_the_latest_earlier_value(tiny) -> None:
    projects, snapshots = tiny
    snapshots = snapshots.assign(forecast_cost=[1000.0, None, 1250.0, None, None])
    f = build_features(projects, snapshots)
    a = f[f["project_id"] == "A"]
    assert a["forecast_cost_growth"].tolist() == pytest.approx([0.0, 0.0, 0.25, 0.25])
