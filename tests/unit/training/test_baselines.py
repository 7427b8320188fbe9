"""The PMO's own forecasts as baselines, on hand-made rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.baselines import (
    AlarmRate,
    CategoryBaseRate,
    alarm_of,
    baseline_scores,
    evm_rule,
    fit_baselines,
    index_forecast,
    pm_forecast,
)


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project_id": ["a", "b", "c", "d"],
            "spi_t": [0.85, 0.95, np.nan, np.nan],
            "spi": [0.5, 0.5, 0.8, np.nan],
            "cpi": [0.95, 0.85, np.nan, 1.0],
            "ieac_t_share": [1.25, 1.05, np.nan, 1.0],
            "eac_bac_cpi": [1.05, 1.18, np.nan, 1.0],
            "eac_bac_composite": [1.3, 1.2, np.nan, 1.0],
            "forecast_slip": [0.2, 0.0, 0.05, np.nan],
            "forecast_cost_growth": [0.0, 0.15, np.nan, 0.0],
            "category": ["IT", "IT", "Bridges", None],
            "elapsed_share": [0.2, 0.5, 0.8, 0.1],
        }
    )


def _same(actual: pd.Series, expected: list[float]) -> None:
    np.testing.assert_array_equal(actual.to_numpy(), np.array(expected, dtype=float))


def test_evm_rule_flags_spi_t_0_85_not_0_95_and_falls_back_to_spi() -> None:
    """SPI(t) 0.85 alarms, 0.95 does not; with no SPI(t), SPI 0.8 alarms; none known is NaN."""
    _same(evm_rule(_rows(), "schedule"), [1.0, 0.0, 1.0, np.nan])


def test_evm_rule_for_cost_uses_cpi() -> None:
    """CPI 0.85 alarms, 0.95 and 1.0 do not, unknown CPI is NaN."""
    _same(evm_rule(_rows(), "cost"), [0.0, 1.0, np.nan, 0.0])


def test_index_and_pm_forecasts_are_predicted_overrun_shares() -> None:
    """IEAC(t)/PD 1.25 predicts a 25 % slip; EAC/BAC 1.18 an 18 % cost growth."""
    np.testing.assert_allclose(index_forecast(_rows(), "schedule"), [0.25, 0.05, np.nan, 0.0])
    np.testing.assert_allclose(index_forecast(_rows(), "cost"), [0.05, 0.18, np.nan, 0.0])
    _same(pm_forecast(_rows(), "schedule"), [0.2, 0.0, 0.05, np.nan])


def test_baseline_scores_has_composite_eac_only_for_cost() -> None:
    """Schedule has no composite EAC; cost does; the index follows the features."""
    rows = _rows().set_index(pd.Index([10, 11, 12, 13]))
    assert list(baseline_scores(rows, "schedule").columns) == [
        "evm_rule",
        "index_forecast",
        "pm_forecast",
    ]
    cost = baseline_scores(rows, "cost")
    assert list(cost.columns) == ["evm_rule", "index_forecast", "composite_eac", "pm_forecast"]
    assert list(cost.index) == [10, 11, 12, 13]
    assert cost["composite_eac"].iloc[0] == pytest.approx(0.3)


def test_missing_feature_columns_give_nan_scores() -> None:
    """A feature frame without EVM columns gets NaN scores rather than an error."""
    scores = baseline_scores(pd.DataFrame({"project_id": ["a"]}), "cost")
    assert scores.isna().all().all()


def test_alarm_of_rule_and_forecast() -> None:
    """A rule alarms when it fires; a forecast when it exceeds the threshold."""
    _same(alarm_of(pd.Series([1.0, 0.0, np.nan]), "evm_rule", 0.1), [1.0, 0.0, np.nan])
    _same(alarm_of(pd.Series([0.25, 0.1, np.nan]), "pm_forecast", 0.1), [1.0, 0.0, np.nan])


def test_alarm_rate_is_the_training_hit_rate_shrunk_toward_overall() -> None:
    """4 alarms with 3 overruns, 4 quiet with 1: rates (3+0.5)/5 and (1+0.5)/5 with s=1."""
    alarm = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=float)
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    m = AlarmRate().fit(alarm, y)
    assert m.overall_rate_ == 0.5
    np.testing.assert_allclose(m.predict(np.array([1.0, 0.0, np.nan])), [0.7, 0.3, 0.5])


def _training_projects() -> tuple[pd.DataFrame, pd.Series]:
    """20 IT projects (10 overran, two reports each), 18 Bridges (2 overran), 2 Tiny (2 overran)."""
    ids, cats, ys = [], [], []
    for i in range(20):
        ids += [f"it{i}", f"it{i}"]
        cats += ["IT", "IT"]
        ys += [int(i < 10)] * 2
    for i in range(18):
        ids.append(f"br{i}")
        cats.append("Bridges")
        ys.append(int(i < 2))
    for i in range(2):
        ids.append(f"tiny{i}")
        cats.append("Tiny")
        ys.append(1)
    return pd.DataFrame({"project_id": ids, "category": cats}), pd.Series(ys)


def test_base_rate_counts_projects_and_shrinks_small_categories() -> None:
    """Overall 14/40 projects; Tiny (2 of 2) is pulled far toward it; IT stays near 0.5."""
    X, y = _training_projects()
    m = CategoryBaseRate(prior_strength=10).fit(X, y)
    overall = 14 / 40
    assert m.overall_rate_ == pytest.approx(overall)
    assert m.rates_["Tiny"] == pytest.approx((2 + 10 * overall) / 12)
    assert m.rates_["IT"] == pytest.approx((10 + 10 * overall) / 30)
    assert overall < m.rates_["Tiny"] < 0.5  # raw rate is 1.0
    assert m.counts_ == {"Bridges": 18, "IT": 20, "Tiny": 2}


def test_unseen_or_missing_category_gets_the_overall_rate() -> None:
    """A category absent from training, or no category, predicts the overall rate."""
    X, y = _training_projects()
    m = CategoryBaseRate().fit(X, y)
    new = pd.DataFrame(
        {"project_id": ["n1", "n2", "n3"], "category": ["Ships", None, "IT"]}, index=[5, 6, 7]
    )
    p = m.predict_risk(new)
    assert list(p.index) == [5, 6, 7]
    assert p.loc[5] == pytest.approx(m.overall_rate_)
    assert p.loc[6] == pytest.approx(m.overall_rate_)
    assert p.loc[7] == pytest.approx(m.rates_["IT"])
    np.testing.assert_allclose(m.predict_proba(new).sum(axis=1), 1.0)


def _labelled_rows() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    n = 60
    rows = _rows().sample(n, replace=True, random_state=0).reset_index(drop=True)
    rows["project_id"] = [f"p{i % 30}" for i in range(n)]
    rows["category"] = ["IT" if i % 30 < 15 else "Bridges" for i in range(n)]
    y = pd.Series([int(i % 30 < 10) for i in range(n)])
    rows["spi_t"] = rng.uniform(0.7, 1.1, n)
    return rows, y


def test_fit_baselines_uses_only_training_projects() -> None:
    """Flipping every label outside the training projects changes no baseline probability."""
    rows, y = _labelled_rows()
    train_ids = {f"p{i}" for i in range(0, 30, 2)}
    fitted = fit_baselines(rows, y, train_ids=train_ids, target="schedule")
    flipped = y.where(rows["project_id"].isin(train_ids), 1 - y)
    refit = fit_baselines(rows, flipped, train_ids=train_ids, target="schedule")
    pd.testing.assert_frame_equal(fitted.transform(rows), refit.transform(rows))
    assert fitted.base_rate.n_projects_ == 15
    # Whereas flipping training labels does change it.
    other = fit_baselines(rows, 1 - y, train_ids=train_ids, target="schedule")
    assert not other.transform(rows)["base_rate"].equals(fitted.transform(rows)["base_rate"])


def test_fitted_baselines_transform_and_scorers_fit_evaluate() -> None:
    """Each score has a probability column in [0, 1]; scorers name existing columns."""
    rows, y = _labelled_rows()
    fitted = fit_baselines(rows, y, train_ids={f"p{i}" for i in range(20)}, target="cost")
    out = fitted.transform(rows)
    scorers = fitted.scorers()
    assert list(scorers) == [
        "evm_rule",
        "index_forecast",
        "composite_eac",
        "pm_forecast",
        "base_rate",
    ]
    for scorer in scorers.values():
        cols = [scorer] if isinstance(scorer, str) else list(scorer)
        assert all(c in out.columns for c in cols)
    probs = out[[c for c in out.columns if c.endswith("_p")] + ["base_rate"]]
    assert probs.notna().all().all()
    assert ((probs > 0) & (probs < 1)).all().all()
    unknown = out["evm_rule"].isna()
    assert unknown.any()
    rates = fitted.alarm_rates["evm_rule"].rates_
    assert (out.loc[unknown, "evm_rule_p"] == rates["unknown"]).all()
    assert (out.loc[out["evm_rule"] == 1, "evm_rule_p"] == rates["alarm"]).all()


def test_fit_baselines_needs_training_rows() -> None:
    """No training project among the rows is an error, not a silent overall rate."""
    rows, y = _labelled_rows()
    with pytest.raises(ValueError, match="training"):
        fit_baselines(rows, y, train_ids={"zzz"}, target="schedule")
