"""Last-period change, OLS slope over the last 3 reports, volatility over the last 4."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from features.history import Groups

DATES = ["2024-01-11", "2024-01-31", "2024-02-20", "2024-03-11"]
CPI = [0.5, 0.8, 0.8, 5 / 7]
SLIP = [0.0, 0.1, 0.2, 0.2]


def test_cpi_change_trend_and_volatility(tiny_features: pd.DataFrame, row) -> None:
    a = pd.DataFrame([row(tiny_features, "A", d) for d in DATES])
    assert math.isnan(a["cpi_change"].iloc[0])
    assert a["cpi_change"].iloc[1:].tolist() == pytest.approx(np.diff(CPI).tolist())
    assert a["cpi_trend"].iloc[2] == pytest.approx(0.15)  # slope of 0.5, 0.8, 0.8
    assert a["cpi_trend"].iloc[3] == pytest.approx((5 / 7 - 0.8) / 2)
    assert a["cpi_volatility"].iloc[:2].isna().all()
    assert a["cpi_volatility"].iloc[3] == pytest.approx(np.std(CPI, ddof=1))


def test_forecast_slip_trend(tiny_features: pd.DataFrame, row) -> None:
    a = pd.DataFrame([row(tiny_features, "A", d) for d in DATES])
    assert a["forecast_slip_trend"].iloc[2:].tolist() == pytest.approx([0.1, 0.05])
    assert a["forecast_slip_change"].iloc[3] == pytest.approx(0.0)


def test_slope_matches_polyfit_and_never_crosses_projects() -> None:
    rng = np.random.default_rng(3)
    code = np.repeat([0, 1, 2], [6, 2, 5])
    y = rng.normal(size=len(code))
    g = Groups.from_codes(code)
    slope = g.slope(y, 3)
    for i in range(len(y)):
        lo = max(g.first[i], i - 2)
        window = y[lo : i + 1]
        if len(window) < 2:
            assert math.isnan(slope[i])
        else:
            want = np.polyfit(np.arange(len(window)), window, 1)[0]
            assert slope[i] == pytest.approx(want)


def test_slope_skips_missing_values() -> None:
    g = Groups.from_codes(np.zeros(3, dtype=int))
    # points (0, 1) and (2, 3): slope 1 per report; the NaN in between is skipped
    assert g.slope(np.array([1.0, np.nan, 3.0]), 3)[-1] == pytest.approx(1.0)
    assert math.isnan(g.slope(np.array([np.nan, np.nan, 3.0]), 3)[-1])


def test_ffill_and_shift_stay_inside_the_group() -> None:
    g = Groups.from_codes(np.array([0, 0, 1, 1]))
    x = np.array([1.0, np.nan, np.nan, 4.0])
    np.testing.assert_array_equal(g.ffill(x), [1.0, 1.0, np.nan, 4.0])
    np.testing.assert_array_equal(g.shift(x, 1), [np.nan, 1.0, np.nan, np.nan])


def test_windows_of_several_columns_equal_one_column_at_a_time() -> None:
    """``window`` of an (m, n) stack, and slopes / deviations / changes from it, are each
    column's own, bit for bit, across project boundaries and missing values."""
    from features.history import slope_of, std_of

    rng = np.random.default_rng(3)
    g = Groups.from_codes(np.repeat([0, 1, 2], [7, 1, 12]))
    columns = rng.normal(1.0, 0.3, size=(4, 20))
    columns[rng.random(columns.shape) < 0.3] = np.nan
    for k in (2, 3, 4):
        lags = g.window(columns, k)
        assert lags.shape == (k, 4, 20)
        for i, x in enumerate(columns):
            np.testing.assert_array_equal(lags[:, i], g.window(x, k))
            np.testing.assert_array_equal(slope_of(lags)[i], g.slope(x, k))
            np.testing.assert_array_equal(std_of(lags)[i], g.std(x, k))
            np.testing.assert_array_equal(columns[i] - lags[1, i], g.change(x))
