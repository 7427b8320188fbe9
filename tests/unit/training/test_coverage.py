"""Interval coverage, MAE / MAPE on 1 + ratio, size metrics by stage beside baselines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from training.coverage import (
    interval_coverage,
    size_baselines,
    size_errors,
    size_metrics,
    size_table,
)
from training.evaluate import STAGES, flatten_metrics


def test_interval_coverage_counts_inclusive_bounds_on_known_rows() -> None:
    """Rows with any NaN are left out; bounds count as inside."""
    y = [0.0, 1.0, 2.0, 3.0, np.nan, -1.0]
    lo = [0.0, 1.5, 1.0, np.nan, 0.0, -2.0]
    hi = [1.0, 2.0, 2.0, 5.0, 1.0, -1.5]
    # known rows 0, 1, 2, 5: inside, below, inside (at hi), above
    assert interval_coverage(y, lo, hi) == 0.5
    assert interval_coverage([1.0], [1.0], [1.0]) == 1.0
    assert math.isnan(interval_coverage([np.nan], [0.0], [1.0]))
    with pytest.raises(ValueError, match="differ in length"):
        interval_coverage([1.0, 2.0], [0.0], [3.0])


def test_size_errors_mae_and_mape_on_one_plus_ratio() -> None:
    """MAE on the ratio; MAPE = |pred - y| / (1 + y); rows with NaN or 1 + y <= 0 left out."""
    y = np.array([0.0, 1.0, -0.5, np.nan, -1.0])
    pred = np.array([0.1, 0.5, -0.5, 0.3, -0.8])
    m = size_errors(y, pred)
    # known rows: errors 0.1, 0.5, 0.0, 0.2 -> MAE 0.2
    assert m["mae"] == pytest.approx(0.2)
    # MAPE leaves out y = -1 (1 + y = 0): 0.1 / 1, 0.5 / 2, 0 / 0.5
    assert m["mape"] == pytest.approx((0.1 + 0.25 + 0.0) / 3)
    assert m["n"] == 4
    empty = size_errors([np.nan], [1.0])
    assert math.isnan(empty["mae"]) and math.isnan(empty["mape"]) and empty["n"] == 0


def _hand_case() -> tuple[np.ndarray, pd.DataFrame, dict[str, np.ndarray], np.ndarray]:
    y = np.array([0.0, 0.2, 0.5, 1.0, np.nan])
    pred = pd.DataFrame(
        {
            "p10": [-0.1, 0.0, 0.6, 0.5, 0.0],
            "p50": [0.0, 0.1, 0.7, 0.8, 0.1],
            "p90": [0.2, 0.3, 0.9, 0.9, 0.2],
        }
    )
    baselines = {
        "index_forecast": np.array([0.1, np.nan, 0.5, 0.6, 0.0]),
        "pm_forecast": np.array([0.0, 0.0, 0.0, 0.0, 0.0]),
    }
    elapsed = np.array([0.1, 0.2, 0.5, 0.9, 0.5])
    return y, pred, baselines, elapsed


def test_size_metrics_overall_by_hand() -> None:
    """Model P50 errors, coverage, tail shares, width; baselines beside the model on their rows."""
    y, pred, baselines, elapsed = _hand_case()
    result = size_metrics(y, pred, baselines, elapsed)
    model = result["overall"]["model"]
    # known rows 0-3: P50 errors 0, 0.1, 0.2, 0.2
    assert model["mae"] == pytest.approx(0.125)
    assert model["mape"] == pytest.approx((0.0 + 0.1 / 1.2 + 0.2 / 1.5 + 0.2 / 2.0) / 4)
    assert model["n"] == 4
    # row 2 (0.5 < p10 0.6) below, row 3 (1.0 > p90 0.9) above
    assert model["p10_p90_coverage"] == 0.5
    assert model["below_p10"] == 0.25
    assert model["above_p90"] == 0.25
    assert model["below_p50"] == 0.5  # rows 0 (equal) and 2
    assert model["band_width"] == pytest.approx((0.3 + 0.3 + 0.3 + 0.4) / 4)
    index = result["overall"]["index_forecast"]
    # index forecast known on rows 0, 2, 3: errors 0.1, 0, 0.4
    assert index["n"] == 3
    assert index["mae"] == pytest.approx(0.5 / 3)
    assert index["model_mae"] == pytest.approx((0.0 + 0.2 + 0.2) / 3)
    pm = result["overall"]["pm_forecast"]
    assert pm["mae"] == pytest.approx((0.0 + 0.2 + 0.5 + 1.0) / 4)
    assert pm["model_mae"] == pytest.approx(model["mae"])


def test_size_metrics_by_stage() -> None:
    """Stages split rows like the classification metrics: <0.3, 0.3-0.7, >=0.7."""
    y, pred, baselines, elapsed = _hand_case()
    result = size_metrics(y, pred, baselines, elapsed)
    assert list(result["by_stage"]) == list(STAGES)
    early, mid, late = (result["by_stage"][s]["model"] for s in STAGES)
    assert early["n"] == 2 and early["p10_p90_coverage"] == 1.0
    assert early["mae"] == pytest.approx(0.05)
    assert mid["n"] == 1 and mid["p10_p90_coverage"] == 0.0  # the NaN-y row is left out
    assert late["n"] == 1 and late["above_p90"] == 1.0
    assert result["by_stage"][STAGES[0]]["index_forecast"]["n"] == 1


def test_size_metrics_without_stages_and_with_pandas_inputs() -> None:
    """Series inputs are aligned by position; without elapsed share there are no stages."""
    y, pred, baselines, _ = _hand_case()
    shuffled = pd.Series(y, index=[9, 3, 5, 1, 0])
    result = size_metrics(shuffled, pred, {k: pd.Series(v) for k, v in baselines.items()})
    assert result["by_stage"] == {}
    assert result["overall"]["model"]["mae"] == pytest.approx(0.125)


def test_size_metrics_flatten_to_mlflow_keys_and_a_table() -> None:
    """The result flattens like evaluate_target's and renders as a text table."""
    y, pred, baselines, elapsed = _hand_case()
    result = size_metrics(y, pred, baselines, elapsed)
    flat = flatten_metrics(result, "size")
    assert flat["size.overall.model.p10_p90_coverage"] == 0.5
    assert flat["size.early.index_forecast.n"] == 1.0
    table = size_table(result)
    assert "index_forecast" in table and "early (<30%)" in table
    assert "0.500" in table.splitlines()[2]


def test_size_metrics_reject_misaligned_inputs() -> None:
    """Lengths must agree; pred needs p10, p50, p90; no baseline may be called 'model'."""
    y, pred, baselines, elapsed = _hand_case()
    with pytest.raises(ValueError, match="index_forecast has 3 rows"):
        size_metrics(y, pred, {"index_forecast": np.zeros(3)})
    with pytest.raises(KeyError, match="p90"):
        size_metrics(y, pred.drop(columns=["p90"]), baselines)
    with pytest.raises(ValueError, match="may not be called"):
        size_metrics(y, pred, {"model": np.zeros(5)})
    with pytest.raises(ValueError, match="elapsed_share has 2 rows"):
        size_metrics(y, pred, baselines, elapsed[:2])


def test_size_baselines_are_the_index_and_pm_forecasts() -> None:
    """IEAC(t)/PD - 1 and forecast slip for schedule; EAC(CPI)/BAC - 1 and growth for cost."""
    features = pd.DataFrame(
        {
            "ieac_t_share": [1.25, np.nan],
            "forecast_slip": [0.1, 0.2],
            "eac_bac_cpi": [1.1, 0.9],
            "forecast_cost_growth": [0.05, np.nan],
        },
        index=[4, 6],
    )
    sched = size_baselines(features, "schedule")
    assert list(sched) == ["index_forecast", "pm_forecast"]
    assert sched["index_forecast"].loc[4] == pytest.approx(0.25)
    assert math.isnan(sched["index_forecast"].loc[6])
    assert list(sched["pm_forecast"]) == [0.1, 0.2]
    cost = size_baselines(features, "cost")
    assert list(cost["index_forecast"]) == pytest.approx([0.1, -0.1])
    assert list(cost["index_forecast"].index) == [4, 6]
