"""RiskClassifier: sklearn contract, calibration, exact contributions, categories, monotone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import brier_score_loss
from sklearn.utils.estimator_checks import parametrize_with_checks

from risk_model.estimator import BASE_VALUE, RiskClassifier

CATEGORIES = ("it", "bridges", "research")


def portfolio(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Synthetic rows named like the real features; cost risk falls with cpi, rises with slip."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "cpi": rng.normal(1.0, 0.15, n),
            "spi_t": rng.normal(1.0, 0.15, n),
            "forecast_slip": rng.exponential(0.1, n),
            "elapsed_share": rng.uniform(0.0, 1.0, n),
            "category": pd.Series(rng.choice(CATEGORIES, n), dtype=object),
        }
    )
    X.loc[rng.uniform(size=n) < 0.05, "spi_t"] = np.nan
    logit = (
        -1.0
        - 6.0 * (X["cpi"] - 1.0)
        + 5.0 * X["forecast_slip"]
        + 0.8 * (X["category"] == "it")
        + 0.5 * (X["elapsed_share"] - 0.5)
    )
    y = (rng.uniform(size=n) < expit(logit)).astype(np.int64)
    return X, y


def small(**kw: object) -> RiskClassifier:
    params: dict[str, object] = {"n_estimators": 60, "n_jobs": 1, "random_state": 0}
    params.update(kw)
    return RiskClassifier(**params)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    return portfolio(1500)


@pytest.fixture(scope="module")
def fitted(data: tuple[pd.DataFrame, np.ndarray]) -> RiskClassifier:
    X, y = data
    return small().fit(X, y)


def _expected_failed_checks(estimator: object) -> dict[str, str]:
    # A weight of 2 is not two copies of a row: LightGBM counts rows (min_child_samples,
    # bagging) and the calibration tail is cut by row count (LightGBM's own estimator fails
    # this check too).
    return {
        "check_sample_weight_equivalence_on_dense_data": "a weight is not a row copy in LightGBM"
    }


@parametrize_with_checks(
    [RiskClassifier(n_estimators=10, min_child_samples=5, n_jobs=1)],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator: RiskClassifier, check: object) -> None:
    """It passes scikit-learn's own estimator checks (on numeric arrays)."""
    check(estimator)  # type: ignore[operator]


def test_fit_predict_shapes(fitted: RiskClassifier, data: tuple[pd.DataFrame, np.ndarray]) -> None:
    """Fit returns learned attributes; predictions have one row per input row."""
    X, _ = data
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert fitted.predict(X).shape == (len(X),)
    assert set(fitted.predict(X)) <= {0, 1}
    assert fitted.predict_raw(X).shape == (len(X),)
    assert list(fitted.feature_names_in_) == list(X.columns)
    assert fitted.n_features_in_ == 5
    assert fitted.categories_ == {"category": sorted(CATEGORIES)}
    assert list(fitted.classes_) == [0, 1]


def test_unfitted_raises() -> None:
    """Predicting before fit raises NotFittedError."""
    X, _ = portfolio(10)
    with pytest.raises(NotFittedError):
        small().predict_proba(X)


def test_columns_selected_by_name(
    fitted: RiskClassifier, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    """Extra columns and another order give the same result; a missing column is an error."""
    X, _ = data
    shuffled = X[list(reversed(X.columns))].assign(project_id="P1")
    assert np.array_equal(fitted.predict_proba(shuffled), fitted.predict_proba(X))
    with pytest.raises(ValueError, match="missing"):
        fitted.predict_proba(X.drop(columns="cpi"))


def test_calibration_keeps_or_improves_brier_on_later_rows() -> None:
    """An over-fitted booster's raw probabilities are beaten by calibration on later rows."""
    X, y = portfolio(4000, seed=1)
    train, cal, test = slice(0, 2400), slice(2400, 3200), slice(3200, 4000)
    model = small(n_estimators=200, learning_rate=0.3, num_leaves=31, min_child_samples=5).fit(
        X.iloc[train], y[train], X.iloc[cal], y[cal]
    )
    raw = expit(model.predict_raw(X.iloc[test]))
    calibrated = model.predict_proba(X.iloc[test])[:, 1]
    assert brier_score_loss(y[test], calibrated) <= brier_score_loss(y[test], raw) + 1e-3


@pytest.mark.parametrize("calibration", ["isotonic", "sigmoid", "none"])
def test_calibration_methods(calibration: str, data: tuple[pd.DataFrame, np.ndarray]) -> None:
    """Each calibration method yields probabilities; 'none' is the sigmoid of the margin."""
    X, y = data
    model = small(calibration=calibration).fit(X, y)
    p = model.predict_proba(X)[:, 1]
    assert ((p >= 0) & (p <= 1)).all()
    if calibration == "none":
        assert model.calibrator_ is None
        assert np.allclose(p, expit(model.predict_raw(X)))
    else:
        assert model.calibrator_ is not None


@pytest.mark.parametrize("calibration", ["isotonic", "sigmoid"])
def test_calibration_equals_the_fitted_calibrators_own_predict(
    calibration: str, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    """calibrate_margin (numpy arithmetic) gives what the scikit-learn calibrator predicts,
    also for margins beyond the calibration set's range (clipped for isotonic)."""
    X, y = data
    model = small(calibration=calibration).fit(X, y)
    margin = model.predict_raw(X)
    wide = np.concatenate([margin, [margin.min() - 5.0, margin.max() + 5.0]])
    cal = model.calibrator_
    expected = (
        cal.predict(wide) if calibration == "isotonic" else cal.predict_proba(wide[:, None])[:, 1]
    )
    assert np.allclose(model.calibrate_margin(wide), expected, rtol=0, atol=1e-12)


def test_column_order_and_extra_columns_give_the_same_probabilities(
    fitted: RiskClassifier, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    """The fitted order as given, shuffled, or with extra columns: the same matrix."""
    X, _ = data
    shuffled = X[list(reversed(X.columns))].assign(project_id="P1")
    assert np.array_equal(fitted.predict_proba(X), fitted.predict_proba(shuffled))
    as_given = fitted._matrix(fitted._frame(X))
    assert np.array_equal(as_given, fitted._matrix(fitted._frame(shuffled)), equal_nan=True)


def test_internal_tail_is_not_used_for_training(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    """Without X_cal the booster trains on the first 80% only: same booster as an explicit split."""
    X, y = data
    n_train = len(X) - round(len(X) * 0.2)
    implicit = small().fit(X, y)
    explicit = small().fit(X.iloc[:n_train], y[:n_train], X.iloc[n_train:], y[n_train:])
    assert np.allclose(implicit.predict_raw(X), explicit.predict_raw(X))
    assert np.allclose(implicit.predict_proba(X), explicit.predict_proba(X))


def test_bad_calibration_name_is_rejected(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    X, y = data
    with pytest.raises(ValueError, match="calibration"):
        small(calibration="beta").fit(X, y)


def test_contributions_sum_to_margin(
    fitted: RiskClassifier, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    """TreeSHAP contributions plus the base value add up to the raw margin, row by row."""
    X, _ = data
    contrib = fitted.contributions(X)
    assert list(contrib.columns) == [*X.columns, BASE_VALUE]
    assert contrib.index.equals(X.index)
    assert np.allclose(contrib.sum(axis=1), fitted.predict_raw(X))
    assert contrib[BASE_VALUE].nunique() == 1


def test_unseen_and_missing_category(
    fitted: RiskClassifier, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    """An unseen category is scored like a missing one, without error."""
    X, _ = data
    row = X.iloc[:1].copy()
    unseen = row.assign(category="tunnels")
    missing = row.assign(category=None)
    p_unseen = fitted.predict_proba(unseen)
    assert np.array_equal(p_unseen, fitted.predict_proba(missing))
    assert np.isfinite(p_unseen).all()


def test_string_dtype_category_matches_object(
    fitted: RiskClassifier, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    """pandas' str dtype and object strings give the same scores."""
    X, _ = data
    as_str = X.astype({"category": "str"})
    assert np.array_equal(fitted.predict_proba(as_str), fitted.predict_proba(X))


def test_numpy_input(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    """Numeric arrays work; no feature names are recorded for them."""
    X, y = data
    arr = X.drop(columns="category").to_numpy()
    model = small().fit(arr, y)
    assert not hasattr(model, "feature_names_in_")
    assert model.feature_names() == ["x0", "x1", "x2", "x3"]
    assert model.predict_proba(arr).shape == (len(arr), 2)


def test_get_params_and_clone() -> None:
    """Hyper-parameters round-trip through get_params/set_params/clone."""
    model = small(monotone={"cpi": -1}, calibration="sigmoid")
    params = model.get_params()
    assert params["monotone"] == {"cpi": -1}
    assert params["calibration"] == "sigmoid"
    twin = clone(model)
    assert twin.get_params() == params
    assert twin is not model
    twin.set_params(num_leaves=7)
    assert twin.num_leaves == 7 and model.num_leaves == 15


def test_fit_does_not_mutate_inputs(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    X, y = data
    before = X.copy()
    monotone = {"cpi": -1}
    small(monotone=monotone).fit(X, y)
    pd.testing.assert_frame_equal(X, before)
    assert monotone == {"cpi": -1}


def test_monotone_cpi_never_raises_risk(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    """With cpi constrained to -1, raising cpi never raises the calibrated probability."""
    X, y = data
    model = small(monotone={"cpi": -1, "forecast_slip": 1}).fit(X, y)
    grid = np.linspace(0.5, 1.5, 41)
    rows = X.iloc[:25]
    for _, row in rows.iterrows():
        probe = pd.DataFrame([row] * len(grid)).assign(cpi=grid)
        probe["category"] = probe["category"].astype(object)
        p = model.predict_proba(probe)[:, 1]
        raw = model.predict_raw(probe)
        assert (np.diff(raw) <= 1e-12).all()
        assert (np.diff(p) <= 1e-12).all()


def test_monotone_rejects_unknown_and_categorical(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    X, y = data
    with pytest.raises(ValueError, match="not in X"):
        small(monotone={"cpii": -1}).fit(X, y)
    with pytest.raises(ValueError, match="categorical"):
        small(monotone={"category": 1}).fit(X, y)


def test_single_class_calibration_set_warns_and_skips(
    data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, y = data
    with pytest.warns(UserWarning, match="single class"):
        model = small().fit(X, y, X.iloc[:10], np.zeros(10, dtype=np.int64))
    assert model.calibrator_ is None


def test_from_settings() -> None:
    """Hyper-parameters come from Settings fields of the same name, then overrides."""
    from risk_model.config import Settings

    settings = Settings(num_leaves=9, calibration="sigmoid")
    model = RiskClassifier.from_settings(settings, n_jobs=1)
    assert model.num_leaves == 9 and model.n_jobs == 1
    assert model.calibration == "sigmoid"
    assert model.n_estimators == settings.n_estimators
    assert model.learning_rate == settings.learning_rate
    if hasattr(settings, "colsample_bytree"):
        assert model.colsample_bytree == settings.colsample_bytree


def test_category_codes_equal_pandas_categorical_codes() -> None:
    """Codes of texts, numbers, unseen values and every kind of missing value are those of
    ``pd.Categorical`` over the values as text (missing and unseen: NaN)."""
    from risk_model.estimator import category_codes

    categories = ["1", "Bridges", "IT", "nan"]
    values = np.array(
        ["IT", None, np.nan, pd.NA, pd.NaT, "Roads", "Bridges", 1, 1.0, "it", "IT ", "nan"],
        dtype=object,
    )
    expected = pd.Categorical(
        pd.Series(values).map(str, na_action="ignore"), categories=categories
    ).codes.astype(np.float64)
    expected[expected < 0] = np.nan
    np.testing.assert_array_equal(category_codes(values, categories), expected)
    assert category_codes(np.array([], dtype=object), categories).shape == (0,)


def test_gain_scale_zero_keeps_a_feature_out_and_one_changes_nothing(
    data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    """``gain_scale`` multiplies a feature's split gain: 0 never splits on it, 1 is the default."""
    X, y = data
    plain = small().fit(X, y)
    ones = small(gain_scale={"cpi": 1.0, "forecast_slip": 1.0}).fit(X, y)
    np.testing.assert_allclose(plain.predict_raw(X), ones.predict_raw(X))
    assert plain.feature_importance("split")["cpi"] > 0
    muted = small(gain_scale={"cpi": 0.0}).fit(X, y)
    assert muted.feature_importance("split")["cpi"] == 0
    assert muted.feature_importance("split")["forecast_slip"] > 0
    assert clone(muted).get_params()["gain_scale"] == {"cpi": 0.0}


def test_gain_scale_rejects_unknown_names_and_values_outside_0_1(
    data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, y = data
    with pytest.raises(ValueError, match="not in X"):
        small(gain_scale={"cpii": 0.5}).fit(X, y)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        small(gain_scale={"cpi": 1.5}).fit(X, y)


def test_shrunk_platt_without_prior_is_plain_platt_and_a_strong_prior_is_the_identity() -> None:
    from sklearn.linear_model import LogisticRegression

    from risk_model.estimator import shrunk_platt

    rng = np.random.default_rng(3)
    margin = rng.normal(0.0, 2.0, 400)
    y = (rng.uniform(size=400) < expit(0.5 * margin + 0.7)).astype(np.int64)
    plain = LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), y)
    free = shrunk_platt(margin, y, 1e-9)
    assert free.coef_[0, 0] == pytest.approx(plain.coef_[0, 0], abs=1e-3)
    assert free.intercept_[0] == pytest.approx(plain.intercept_[0], abs=1e-3)
    firm = shrunk_platt(margin, y, 1e7)
    assert firm.coef_[0, 0] == pytest.approx(1.0, abs=1e-3)
    assert firm.intercept_[0] == pytest.approx(0.0, abs=1e-3)
    some = shrunk_platt(margin, y, 100.0)
    assert free.coef_[0, 0] < some.coef_[0, 0] < 1.0
    assert 0.0 < some.intercept_[0] < free.intercept_[0]


def test_calibration_prior_is_a_platt_model_the_fast_path_can_read(
    data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    """With a prior the calibrator is still a one-feature LogisticRegression, so
    ``calibrate_margin`` (and the API's fast path reading coef_/intercept_) agree."""
    from sklearn.linear_model import LogisticRegression

    X, y = data
    model = small(calibration="sigmoid", calibration_prior=100.0).fit(X, y)
    cal = model.calibrator_
    assert isinstance(cal, LogisticRegression) and cal.coef_.shape == (1, 1)
    margin = model.predict_raw(X.head(50))
    by_hand = expit(cal.coef_[0, 0] * margin + cal.intercept_[0])
    np.testing.assert_allclose(model.predict_proba(X.head(50))[:, 1], by_hand)
    np.testing.assert_allclose(model.calibrate_margin(margin), by_hand)


@pytest.mark.parametrize("calibration", ["isotonic", "sigmoid"])
def test_unit_sample_weights_give_the_unweighted_fit(
    calibration: str, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    """Weights of 1 on the training and the calibration rows change nothing."""
    X, y = data
    head, tail = slice(0, 1000), slice(1000, None)
    plain = small(calibration=calibration, calibration_prior=30.0)
    plain.fit(X.iloc[head], y[head], X.iloc[tail], y[tail])
    weighted = small(calibration=calibration, calibration_prior=30.0).fit(
        X.iloc[head],
        y[head],
        X.iloc[tail],
        y[tail],
        sample_weight=np.ones(1000),
        cal_sample_weight=np.ones(len(y) - 1000),
    )
    assert np.array_equal(plain.predict_proba(X), weighted.predict_proba(X))
    assert np.array_equal(
        plain.contribution_array(plain.input_matrix(X)),
        weighted.contribution_array(weighted.input_matrix(X)),
    )


def test_calibration_weights_move_the_calibrated_rate() -> None:
    """Weighting up the calibration rows that overran raises the mean probability; the
    booster (trained without weights) is the same."""
    X, y = portfolio(3000, seed=2)
    head, tail = slice(0, 2000), slice(2000, None)
    plain = small(calibration="sigmoid").fit(X.iloc[head], y[head], X.iloc[tail], y[tail])
    heavy = np.where(y[tail] == 1, 3.0, 1.0)
    weighted = small(calibration="sigmoid").fit(
        X.iloc[head], y[head], X.iloc[tail], y[tail], cal_sample_weight=heavy
    )
    assert np.array_equal(plain.predict_raw(X), weighted.predict_raw(X))
    assert weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean() + 0.05


def test_bad_sample_weights_are_rejected(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    """Weights of the wrong length, negative ones, and calibration weights without X_cal."""
    X, y = data
    with pytest.raises(ValueError, match="sample_weight"):
        small().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        small().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="cal_sample_weight needs X_cal"):
        small().fit(X, y, cal_sample_weight=np.ones(len(y)))
