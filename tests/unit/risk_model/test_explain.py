"""Drivers from contributions: raising features first, points on the calibrated scale, text."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy.special import expit

from risk_model.estimator import RiskClassifier
from risk_model.explain import (
    Driver,
    cohort_contributions,
    contribution_history,
    contribution_points,
    driver_history_figure,
    drivers_for_matrix,
    drivers_for_rows,
    format_points,
    probability_points,
    rank_drivers,
    rank_drivers_rows,
    shap_dependence_figure,
    shap_importance,
    shap_summary_figure,
    top_drivers,
)


def describe(name: str, value: Any, contribution: float, target: str) -> str:
    direction = "raises" if contribution > 0 else "lowers"
    return f"{name}={value} {direction} {target} risk"


def test_raising_drivers_come_first() -> None:
    """The k largest risk-raising contributions are picked before any lowering one."""
    contrib = {"cpi": -1.0, "forecast_slip": 0.5, "spi_t": 0.9, "category": 0.1, "base_value": -1}
    values = {"cpi": 1.3, "forecast_slip": 0.2, "spi_t": 0.8, "category": "it"}
    drivers = top_drivers(contrib, values, 0.4, 0.2, describe, k=2, target="cost")
    assert [d.feature for d in drivers] == ["spi_t", "forecast_slip"]
    assert all(isinstance(d, Driver) for d in drivers)
    assert drivers[0].text == "spi_t=0.8 raises cost risk"
    assert drivers[0].value == 0.8
    assert drivers[0].contribution == pytest.approx(0.9)
    assert drivers[0].points > drivers[1].points > 0


def test_falls_back_to_largest_absolute_when_few_raise() -> None:
    """With one raising feature, the rest are the largest lowering ones; zeros never appear."""
    contrib = pd.Series({"a": 0.3, "b": -0.1, "c": -1.5, "d": 0.0})
    values = pd.Series({"a": 1.0, "b": 2.0, "c": np.nan, "d": 4.0})
    drivers = top_drivers(contrib, values, 0.1, 0.3, describe, k=4, target="schedule")
    assert [d.feature for d in drivers] == ["a", "c", "b"]
    assert drivers[1].value is None
    assert drivers[1].points < 0


def test_points_distribute_the_probability_move() -> None:
    """When the margin moved enough, points add up to the move in calibrated probability."""
    c = np.array([1.0, 0.5, -0.5])
    points = probability_points(c, 0.45, 0.25)
    assert points.sum() == pytest.approx(20.0)
    assert points[0] == pytest.approx(20.0)
    assert points[1] == pytest.approx(10.0)


def test_points_use_local_slope_when_contributions_cancel() -> None:
    """A tiny net margin shift scales contributions by p(1-p) rather than exploding."""
    c = np.array([[1.0, -0.95]])
    points = probability_points(c, np.array([0.5]), np.array([0.2]))
    assert points[0, 0] == pytest.approx(25.0)
    assert points[0, 1] == pytest.approx(-23.75)


def test_points_keep_the_sign_of_contributions_on_inconsistent_input() -> None:
    """If p moved against the margin, points still follow the contributions' signs."""
    points = probability_points(np.array([1.0, -2.0]), 0.6, 0.3)
    assert points[0] > 0 > points[1]
    points = probability_points(np.array([2.0, -1.0]), 0.2, 0.3)
    assert points[0] > 0 > points[1]


def test_rank_drivers_k_limits() -> None:
    assert rank_drivers(np.array([0.1, 0.2, 0.3]), 2) == [2, 1]
    assert rank_drivers(np.zeros(3), 3) == []


def test_format_points() -> None:
    assert format_points(14.2) == "+14 points"
    assert format_points(-3.0) == "-3 points"
    assert format_points(0.2) == "<1 point"


@pytest.fixture(scope="module")
def model_and_data() -> tuple[RiskClassifier, pd.DataFrame]:
    rng = np.random.default_rng(3)
    n = 600
    X = pd.DataFrame(
        {
            "cpi": rng.normal(1.0, 0.15, n),
            "forecast_slip": rng.exponential(0.1, n),
            "category": pd.Series(rng.choice(["it", "bridges"], n), dtype=object),
        }
    )
    y = (rng.uniform(size=n) < expit(-1 - 6 * (X["cpi"] - 1) + 4 * X["forecast_slip"])).astype(int)
    return RiskClassifier(n_estimators=40, min_child_samples=20, n_jobs=1).fit(X, y), X


def test_shap_summary_figure(model_and_data: tuple[RiskClassifier, pd.DataFrame]) -> None:
    """The summary is a matplotlib Figure with one labelled row per feature (max_display)."""
    model, X = model_and_data
    fig = shap_summary_figure(model, X, max_display=2)
    assert isinstance(fig, Figure)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 2
    assert "cpi" in labels


def test_shap_importance(model_and_data: tuple[RiskClassifier, pd.DataFrame]) -> None:
    model, X = model_and_data
    imp = shap_importance(model, X)
    assert list(imp.columns) == ["mean_abs_shap", "mean_shap", "gain"]
    assert set(imp.index) == {"cpi", "forecast_slip", "category"}
    assert imp["mean_abs_shap"].is_monotonic_decreasing


# ------------------------------------------------------------- analyst views (notebooks)


def test_contribution_points_add_up_to_the_probability_move(
    model_and_data: tuple[RiskClassifier, pd.DataFrame],
) -> None:
    """Points per feature sum to the move from the base probability where the margin moved."""
    model, X = model_and_data
    points, p = contribution_points(model, X)
    assert list(points.columns) == model.feature_names()
    assert points.index.equals(X.index)
    np.testing.assert_allclose(p, model.predict_proba(X)[:, 1])
    contrib = model.contributions(X)
    p_base = model.calibrate_margin(contrib["base_value"].to_numpy()[:1])[0]
    shift = contrib.drop(columns="base_value").sum(axis=1).to_numpy()
    moved = (np.abs(shift) >= 0.25) & ((p - p_base) * shift >= 0)
    assert moved.any()
    np.testing.assert_allclose(points.sum(axis=1)[moved], 100 * (p - p_base)[moved])


def test_dependence_figure_plots_value_against_shap(
    model_and_data: tuple[RiskClassifier, pd.DataFrame],
) -> None:
    """One point per row at (value, SHAP value); colour_by adds a labelled colour bar."""
    model, X = model_and_data
    fig = shap_dependence_figure(model, X, "cpi", colour_by="forecast_slip")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "cpi"
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 0], X["cpi"])
    np.testing.assert_allclose(offsets[:, 1], model.contributions(X)["cpi"])
    assert fig.axes[1].get_ylabel() == "forecast_slip"


def test_dependence_figure_of_a_text_feature_has_one_column_per_value(
    model_and_data: tuple[RiskClassifier, pd.DataFrame],
) -> None:
    model, X = model_and_data
    fig = shap_dependence_figure(model, X, "category")
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == sorted(X["category"].unique())
    assert len(fig.axes) == 1


def test_dependence_figure_rejects_a_feature_the_model_does_not_use(
    model_and_data: tuple[RiskClassifier, pd.DataFrame],
) -> None:
    model, X = model_and_data
    with pytest.raises(KeyError, match="spi_t"):
        shap_dependence_figure(model, X, "spi_t")
    with pytest.raises(KeyError, match="phase"):
        shap_dependence_figure(model, X, "cpi", colour_by="phase")


def test_cohort_contributions_summarise_each_cohort(
    model_and_data: tuple[RiskClassifier, pd.DataFrame],
) -> None:
    """Rows, mean probability and mean points per cohort; riskiest cohort first."""
    model, X = model_and_data
    cohort = X["category"].where(X.index % 10 != 0)  # some rows without a label
    table = cohort_contributions(model, X, cohort, top=2)
    assert table.index.name == "category"
    assert set(table.index) == {*X["category"].unique(), "(none)"}
    assert table["rows"].sum() == len(X)
    assert table["mean_probability"].is_monotonic_decreasing
    points, p = contribution_points(model, X)
    top = list(points.abs().mean().sort_values(ascending=False).index[:2])
    assert list(table.columns) == ["rows", "mean_probability", *top]
    it = (cohort == "it").to_numpy()
    assert table.loc["it", "mean_probability"] == pytest.approx(p[it].mean())
    assert table.loc["it", top[0]] == pytest.approx(points.loc[it, top[0]].mean())


def test_cohort_contributions_need_one_label_per_row(
    model_and_data: tuple[RiskClassifier, pd.DataFrame],
) -> None:
    model, X = model_and_data
    with pytest.raises(ValueError, match="labels"):
        cohort_contributions(model, X, ["it"] * 3)


def test_contribution_history_follows_one_project_oldest_first(
    model_and_data: tuple[RiskClassifier, pd.DataFrame],
) -> None:
    """Reports sorted by date; top drivers by largest |points|; ``other`` holds the rest."""
    model, X = model_and_data
    rows = X.iloc[[5, 3, 9, 1]]
    dates = pd.to_datetime(["2024-03-31", "2024-01-31", "2024-04-30", "2024-02-29"])
    history = contribution_history(model, rows, dates, top=1)
    assert history.index.is_monotonic_increasing
    assert list(history.index) == sorted(dates)
    points, p = contribution_points(model, rows)
    strongest = points.abs().max().idxmax()
    assert list(history.columns) == ["probability", strongest, "other"]
    by_date = pd.Series(p, index=dates).sort_index()
    np.testing.assert_allclose(history["probability"], by_date)
    totals = pd.Series(points.sum(axis=1).to_numpy(), index=dates).sort_index()
    np.testing.assert_allclose(history[[strongest, "other"]].sum(axis=1), totals)
    with pytest.raises(ValueError, match="dates"):
        contribution_history(model, rows, dates[:2])


def test_driver_history_figure_draws_risk_and_each_driver(
    model_and_data: tuple[RiskClassifier, pd.DataFrame],
) -> None:
    model, X = model_and_data
    dates = pd.date_range("2024-01-31", periods=6, freq="ME")
    history = contribution_history(model, X.head(6), dates, top=2)
    fig = driver_history_figure(history, title="P001")
    risk_ax, points_ax = fig.axes
    assert risk_ax.get_title() == "P001"
    np.testing.assert_allclose(risk_ax.lines[0].get_ydata(), 100 * history["probability"])
    labels = [t.get_text() for t in points_ax.get_legend().get_texts()]
    assert labels == [c for c in history.columns if c != "probability"]


def test_rank_drivers_rows_equals_rank_drivers_row_by_row() -> None:
    """Ranking every row at once gives each row's own ranking (ties, zeros, few raising)."""
    rng = np.random.default_rng(4)
    c = rng.normal(size=(400, 9)).round(1)  # rounding makes ties
    c[rng.random(c.shape) < 0.3] = 0.0
    c[:50] = -np.abs(c[:50])  # rows with no risk-raising feature
    c[50:60] = 0.0
    for k in (1, 3, 9, 12):
        assert rank_drivers_rows(c, k) == [rank_drivers(row, k) for row in c]
    assert rank_drivers_rows(np.zeros((0, 4)), 3) == []


def test_drivers_for_matrix_equal_top_drivers_row_by_row() -> None:
    """The vectorised drivers (values read from the float matrix where the column is float64,
    one text per feature, value and sign) are each row's own ``top_drivers``, words and all."""
    from features.registry import describe_driver

    rng = np.random.default_rng(7)
    n = 300
    values = pd.DataFrame(
        {
            "cpi": rng.choice([0.8, 1.0, np.nan, 1.234], n),  # repeated values and missing
            "forecast_slip": rng.normal(0.1, 0.1, n),
            "open_risks": rng.integers(0, 4, n),  # an integer column keeps its ints
            "category": pd.Series(rng.choice(["it", "bridges", None], n), dtype=object),
        }
    )
    names = [*values.columns, "not_in_values"]
    c = rng.normal(size=(n, len(names))).round(1)
    c[rng.random(c.shape) < 0.2] = 0.0
    numbers = np.column_stack(
        [values[n_].to_numpy(dtype=np.float64, na_value=np.nan) for n_ in names[:3]]
        + [np.full(n, np.nan), np.full(n, np.nan)]
    )
    p = expit(c.sum(axis=1) - 0.5)
    p_base = float(expit(-0.5))
    got = drivers_for_matrix(
        c, names, p, p_base, describe_driver, 3, target="cost", values=values, numbers=numbers
    )
    plain = drivers_for_rows(
        pd.DataFrame(c, columns=names), values, p, p_base, describe_driver, 3, target="cost"
    )
    for r in range(n):
        want = top_drivers(
            dict(zip(names, c[r], strict=True)),
            values.iloc[r].to_dict(),
            float(p[r]),
            p_base,
            describe_driver,
            3,
            target="cost",
        )
        assert got[r] == plain[r]
        assert [(d.feature, d.value, d.text) for d in got[r]] == [
            (d.feature, d.value, d.text) for d in want
        ]
        assert [type(d.value) for d in got[r]] == [type(d.value) for d in want]
        assert np.allclose([d.points for d in got[r]], [d.points for d in want])
