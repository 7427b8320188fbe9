"""OverrunRange: honest P10-P90 coverage on later projects, non-crossing, offsets, conversions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from features.pipeline import build_features, feature_columns
from risk_model.ranges import (
    RANGE_COLUMNS,
    OverrunRange,
    conformal_shift,
    ranges_to_costs,
    ranges_to_dates,
    stage_codes,
)
from training.baselines import index_forecast, pm_forecast
from training.coverage import interval_coverage
from training.sizes import OFFSETS, size_targets
from training.splits import split_rows, time_split
from training.targets import make_targets, ratio_column, ratio_rows

Parts = dict[str, tuple[pd.DataFrame, pd.Series]]


@pytest.fixture(scope="module")
def portfolio_parts(simulated: Any) -> dict[str, Parts]:
    """Per target: (rows, ratios) of train, calibration and later test projects."""
    features = build_features(simulated.projects, simulated.snapshots)
    targets = make_targets(simulated.projects)
    out: dict[str, Parts] = {}
    for target in size_targets(targets):
        known = targets.dropna(subset=[ratio_column(target)])
        rows, y = ratio_rows(features, known, target)
        parts = split_rows(rows, time_split(known, target=target))
        out[target] = {
            name: (part, y.loc[part.index])
            for name, part in zip(("train", "cal", "test"), parts, strict=True)
        }
    return out


@pytest.fixture(scope="module")
def fitted(portfolio_parts: dict[str, Parts]) -> dict[str, OverrunRange]:
    out = {}
    for target, parts in portfolio_parts.items():
        (train, y), (cal, y_cal) = parts["train"], parts["cal"]
        columns = feature_columns(train)
        model = OverrunRange(offset={k: v for k, v in OFFSETS[target].items() if k in columns})
        out[target] = model.fit(train[columns], y, cal[columns], y_cal)
    return out


def test_both_ratio_targets_are_fitted(fitted: dict[str, OverrunRange]) -> None:
    """The simulated targets frame holds a ratio for schedule and cost."""
    assert sorted(fitted) == ["cost", "schedule"]


def test_p10_p90_holds_about_80_percent_of_later_outcomes(
    fitted: dict[str, OverrunRange], portfolio_parts: dict[str, Parts]
) -> None:
    """On held-out later projects the calibrated band covers 0.80 +/- 0.07 of outcomes."""
    for target, model in fitted.items():
        test, y = portfolio_parts[target]["test"]
        p = model.predict(test)
        coverage = interval_coverage(y, p["p10"], p["p90"])
        assert 0.73 <= coverage <= 0.87, (target, coverage)
        below_median = float((y.to_numpy() <= p["p50"].to_numpy()).mean())
        assert 0.35 <= below_median <= 0.65, (target, below_median)


def test_p50_is_as_good_as_the_index_forecast_and_beats_the_pm(
    fitted: dict[str, OverrunRange], portfolio_parts: dict[str, Parts]
) -> None:
    """P50 MAE: within 5% of the index forecast's (it does not reliably beat it on the
    simulator, whose pace is exactly what IEAC(t) reads), below the PM forecast's and far
    below a constant guess (the training median)."""
    for target, model in fitted.items():
        test, y = portfolio_parts[target]["test"]
        _, y_train = portfolio_parts[target]["train"]
        truth = y.to_numpy()
        model_mae = float(np.abs(model.predict(test)["p50"].to_numpy() - truth).mean())
        index = index_forecast(test, target).to_numpy()
        known = ~np.isnan(index)
        index_mae = float(np.abs(index[known] - truth[known]).mean())
        pm = pm_forecast(test, target).to_numpy()
        pm_mae = float(np.nanmean(np.abs(pm - truth)))
        constant_mae = float(np.abs(np.median(y_train) - truth).mean())
        assert known.mean() > 0.9
        assert model_mae <= 1.05 * index_mae, (target, model_mae, index_mae)
        assert model_mae < pm_mae, (target, model_mae, pm_mae)
        assert model_mae < 0.8 * constant_mae, (target, model_mae, constant_mae)


def test_quantiles_never_cross(
    fitted: dict[str, OverrunRange], portfolio_parts: dict[str, Parts]
) -> None:
    """p10 <= p50 <= p90 on every row, also on rows with missing and extreme inputs."""
    for target, model in fitted.items():
        test, _ = portfolio_parts[target]["test"]
        columns = model.feature_names()
        odd = test[columns].head(200).copy()
        numeric = [c for c in columns if c not in model.categories_]
        rng = np.random.default_rng(0)
        odd[numeric] = rng.normal(0.0, 5.0, (len(odd), len(numeric)))
        odd.iloc[::3, : len(numeric) // 2] = np.nan
        for frame in (test, odd):
            p = model.predict(frame)
            assert list(p.columns) == list(RANGE_COLUMNS)
            assert list(p.index) == list(frame.index)
            assert (p["p10"] <= p["p50"]).all() and (p["p50"] <= p["p90"]).all()
            assert np.isfinite(p.to_numpy()).all()


def test_early_reports_get_wider_bands_than_late_ones(
    fitted: dict[str, OverrunRange], portfolio_parts: dict[str, Parts]
) -> None:
    """Uncertainty shrinks as work is done: mean band width falls from early to late stage."""
    for target, model in fitted.items():
        test, _ = portfolio_parts[target]["test"]
        p = model.predict(test)
        stage = stage_codes(test["elapsed_share"])
        width = (p["p90"] - p["p10"]).to_numpy()
        assert width[stage == 0].mean() > width[stage == 2].mean(), target
        assert set(model.stage_shifts_) == {0, 1, 2}


def test_clone_gives_an_unfitted_copy_that_refits_identically(
    fitted: dict[str, OverrunRange], portfolio_parts: dict[str, Parts]
) -> None:
    """sklearn's clone keeps every parameter; the same data gives the same ranges."""
    model = fitted["schedule"]
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "boosters_")
    with pytest.raises(NotFittedError):
        copy.predict(portfolio_parts["schedule"]["test"][0])
    (train, y), (cal, y_cal) = (portfolio_parts["schedule"][k] for k in ("train", "cal"))
    test, _ = portfolio_parts["schedule"]["test"]
    columns = model.feature_names()
    copy.fit(train[columns], y, cal[columns], y_cal)
    pd.testing.assert_frame_equal(copy.predict(test), model.predict(test))


def _line(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Outcome = x - 1 plus small noise; x is a forecast of 1 + ratio (like ieac_t_share)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 3.0, n)
    X = pd.DataFrame({"x": x, "noise": rng.normal(size=n)})
    return X, x - 1.0 + rng.normal(0.0, 0.02, n)


def test_offset_starts_from_a_known_forecast() -> None:
    """With offset {x: -1} the P50 follows y = x - 1 closely; trees alone only in steps."""
    X, y = _line(2000, 1)
    X_cal, y_cal = _line(500, 2)
    X_test, y_test = _line(500, 3)
    params: dict[str, Any] = {"n_estimators": 60, "min_child_samples": 20}
    with_offset = OverrunRange(offset={"x": -1.0}, **params).fit(X, y, X_cal, y_cal)
    without = OverrunRange(**params).fit(X, y, X_cal, y_cal)
    err_offset = np.abs(with_offset.predict(X_test)["p50"].to_numpy() - y_test).mean()
    err_plain = np.abs(without.predict(X_test)["p50"].to_numpy() - y_test).mean()
    assert err_offset < 0.03
    assert err_offset < err_plain / 3
    # a row whose offset column is missing starts from 0, not NaN
    p = with_offset.predict(pd.DataFrame({"x": [np.nan], "noise": [0.0]}))
    assert np.isfinite(p.to_numpy()).all()


def test_offset_and_targets_are_checked() -> None:
    """Unknown offset columns, missing ratios and mismatched lengths are refused."""
    X, y = _line(300, 1)
    with pytest.raises(ValueError, match="offset names features not in X"):
        OverrunRange(offset={"ieac_t_share": -1.0}).fit(X, y, X, y)
    y_nan = y.copy()
    y_nan[3] = np.nan
    with pytest.raises(ValueError, match="missing or infinite"):
        OverrunRange().fit(X, y_nan, X, y)
    with pytest.raises(ValueError, match="y_cal has 299 values"):
        OverrunRange().fit(X, y, X, y[:-1])


def test_conformal_shift_uses_split_conformal_ranks() -> None:
    """Residuals 1..9: the 0.9 shift is the ceil(10 * 0.9) = 9th, 0.1 the floor(1.0) = 1st."""
    residuals = np.arange(9, 0, -1, dtype=float)
    assert conformal_shift(residuals, 0.9) == 9.0
    assert conformal_shift(residuals, 0.1) == 1.0
    assert conformal_shift(residuals, 0.5) == 5.0
    # 19 residuals: ceil(20 * 0.9) = 18th, floor(20 * 0.1) = 2nd
    r = np.arange(1, 20, dtype=float)
    assert conformal_shift(r, 0.9) == 18.0
    assert conformal_shift(r, 0.1) == 2.0
    with pytest.raises(ValueError):
        conformal_shift(np.array([]), 0.5)


def test_stage_codes_follow_the_evaluation_stages() -> None:
    """< 0.3 early (0), 0.3 to < 0.7 mid (1), >= 0.7 late (2), unknown -1."""
    codes = stage_codes([0.0, 0.29, 0.3, 0.69, 0.7, 1.2, np.nan])
    assert list(codes) == [0, 0, 1, 1, 2, 2, -1]


def test_ranges_to_dates_and_costs_on_a_hand_example() -> None:
    """A 200-day plan ending 2024-12-31 with budget 1000: -10% / +10% / +50%."""
    p = pd.DataFrame({"p10": [-0.1, 0.0], "p50": [0.1, 0.0], "p90": [0.5, 0.0]}, index=[7, 8])
    dates = ranges_to_dates(
        p, planned_days=[200.0, 100.0], baseline_finish=pd.to_datetime(["2024-12-31", None])
    )
    assert list(dates.index) == [7, 8]
    assert list(dates.loc[7]) == [
        pd.Timestamp("2024-12-11"),
        pd.Timestamp("2025-01-20"),
        pd.Timestamp("2025-04-10"),
    ]
    assert dates.loc[8].isna().all()
    costs = ranges_to_costs(p, baseline_budget=1000.0)
    assert list(costs.loc[7]) == pytest.approx([900.0, 1100.0, 1500.0])
    assert list(costs.loc[8]) == pytest.approx([1000.0, 1000.0, 1000.0])
    # a third of a day rounds to the nearest day
    third = pd.DataFrame({"p10": [0.01], "p50": [0.0167], "p90": [0.02]})
    d = ranges_to_dates(third, 100.0, pd.Timestamp("2025-01-01"))
    # 1.0 day, 1.67 days, 2.0 days
    assert list(d.loc[0]) == list(pd.to_datetime(["2025-01-02", "2025-01-03", "2025-01-03"]))
    with pytest.raises(ValueError, match="expected 2 values"):
        ranges_to_costs(p, [1.0, 2.0, 3.0])


def test_project_overrun_gives_dates_and_costs_from_the_baseline() -> None:
    from datetime import date

    from risk_model.ranges import project_overrun

    project = {
        "start_date": "2024-01-01",
        "baseline_finish": "2024-04-10",  # 100 planned days
        "baseline_budget": 1000.0,
    }
    ratios = (0.0, 0.1, 0.25)
    assert project_overrun(ratios, "schedule", project) == {
        "finish_p10": date(2024, 4, 10),
        "finish_p50": date(2024, 4, 20),
        "finish_p90": date(2024, 5, 5),
    }
    assert project_overrun(ratios, "cost", project) == {
        "cost_p10": 1000.0,
        "cost_p50": 1100.0,
        "cost_p90": 1250.0,
    }
    # No usable baseline: no dates or costs, never a wrong one.
    assert project_overrun(ratios, "schedule", {**project, "baseline_finish": "2023-12-01"}) == {}
    assert project_overrun(ratios, "cost", {**project, "baseline_budget": None}) == {}
    assert project_overrun(ratios, "forward", project) == {}
