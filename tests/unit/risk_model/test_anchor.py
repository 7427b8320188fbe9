"""The index anchor: a logistic start the booster corrects, with exact contributions."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from risk_model.anchor import IndexAnchor
from risk_model.estimator import RiskClassifier


def _reports(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Reports whose overrun odds follow the log of an index ratio, more so late in a project,
    with a noise feature and some unknown ratios and stages."""
    rng = np.random.default_rng(seed)
    elapsed = rng.uniform(0.0, 1.2, n)
    ratio = np.exp(rng.normal(0.1, 0.25, n))
    logit = -0.5 + 6.0 * np.log(ratio) * (0.5 + elapsed)
    y = (rng.random(n) < expit(logit)).astype(np.int64)
    ratio[rng.random(n) < 0.05] = np.nan
    elapsed[rng.random(n) < 0.03] = np.nan
    frame = pd.DataFrame(
        {"ieac_t_share": ratio, "elapsed_share": elapsed, "noise": rng.normal(size=n)}
    )
    return frame, y


def test_contributions_sum_to_the_margin_and_split_the_product_term_fairly() -> None:
    X, y = _reports(3000)
    matrix = X.to_numpy(dtype=np.float64)
    anchor = IndexAnchor.fit(matrix, y, 0, 1)
    assert anchor is not None
    assert anchor.w_index > 0 and anchor.w_product > 0  # the odds rise with the ratio
    contrib = anchor.add_contributions(np.zeros((len(matrix), 4)), matrix)
    np.testing.assert_allclose(contrib.sum(axis=1), anchor.margin(matrix), atol=1e-12)
    assert np.all(contrib[:, 2] == 0.0)  # the noise column is not the anchor's
    np.testing.assert_allclose(contrib[:, 3], anchor.base_value())
    # a known ratio at the reference means gets only "the ratio is known" (m - m̄ = -m̄);
    # a row with only its ratio moved gets the whole change on the ratio
    at_mean = np.array([[np.exp(anchor.mean_index), anchor.mean_stage, 0.0]])
    np.testing.assert_allclose(
        anchor.add_contributions(np.zeros((1, 4)), at_mean)[0, :3],
        [-anchor.w_missing * anchor.mean_missing, 0.0, 0.0],
        atol=1e-12,
    )
    moved = at_mean.copy()
    moved[0, 0] *= 1.5
    c = anchor.add_contributions(np.zeros((1, 4)), moved)[0]
    change = anchor.margin(moved)[0] - anchor.margin(at_mean)[0]
    assert change > 0 and c[1] == pytest.approx(0.0, abs=1e-12)
    assert c[0] + anchor.w_missing * anchor.mean_missing == pytest.approx(change)


def test_unknown_ratio_or_stage_read_as_the_training_mean_plus_the_missing_weight() -> None:
    X, y = _reports(2000, seed=1)
    matrix = X.to_numpy(dtype=np.float64)
    anchor = IndexAnchor.fit(matrix, y, 0, 1)
    assert anchor is not None
    unknown = np.array([[np.nan, 0.5, 0.0], [-1.0, 0.5, 0.0]])  # NaN and a non-positive ratio
    known = np.array([[np.exp(anchor.mean_index), 0.5, 0.0]])
    np.testing.assert_allclose(
        anchor.margin(unknown), anchor.margin(known)[0] + anchor.w_missing, atol=1e-12
    )
    no_stage = np.array([[1.2, np.nan, 0.0]])
    at_mean_stage = np.array([[1.2, anchor.mean_stage, 0.0]])
    assert anchor.margin(no_stage)[0] == pytest.approx(anchor.margin(at_mean_stage)[0])
    never_known = matrix.copy()
    never_known[:, 0] = np.nan
    assert IndexAnchor.fit(never_known, y, 0, 1) is None


def _model(anchor: str | None) -> RiskClassifier:
    return RiskClassifier(
        n_estimators=60,
        num_leaves=4,
        min_child_samples=40,
        calibration="sigmoid",
        anchor=anchor,
        random_state=0,
    )


def test_classifier_starts_from_the_anchor_and_explains_it_exactly() -> None:
    X, y = _reports(3000)
    X_cal, y_cal = _reports(1000, seed=2)
    model = _model("ieac_t_share").fit(X, y, X_cal, y_cal)
    assert model.anchor_ is not None
    matrix = model.input_matrix(X_cal)
    raw = model.booster_.predict(matrix, raw_score=True)
    np.testing.assert_allclose(
        model.predict_raw(X_cal), raw + model.anchor_.margin(matrix), atol=1e-12
    )
    contrib = model.contributions(X_cal)
    np.testing.assert_allclose(contrib.sum(axis=1), model.predict_raw(X_cal), atol=1e-9)
    np.testing.assert_allclose(
        model.calibrate_margin(contrib.sum(axis=1).to_numpy()),
        model.predict_proba(X_cal)[:, 1],
        atol=1e-9,
    )
    # a pickled model (the registry's form) scores the same
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(again.predict_proba(X_cal), model.predict_proba(X_cal))
    # the explanation goes to the ratio, not to the noise column
    mean_abs = contrib.drop(columns="base_value").abs().mean()
    assert mean_abs["ieac_t_share"] > 5 * mean_abs["noise"]


def test_with_few_rows_the_anchored_model_ranks_better_than_the_trees_alone() -> None:
    X_test, y_test = _reports(5000, seed=99)
    gains = []
    for seed in (10, 11, 12):
        X, y = _reports(200, seed=seed)
        anchored = _model("ieac_t_share").fit(X, y)
        plain = _model(None).fit(X, y)
        assert plain._anchor() is None
        gains.append(
            roc_auc_score(y_test, anchored.predict_proba(X_test)[:, 1])
            - roc_auc_score(y_test, plain.predict_proba(X_test)[:, 1])
        )
    assert np.mean(gains) > 0.008, gains


def test_anchor_must_be_a_numeric_feature() -> None:
    X, y = _reports(500)
    with pytest.raises(ValueError, match="anchor 'eac_bac_cpi'"):
        _model("eac_bac_cpi").fit(X, y)
    X = X.assign(category=np.where(y == 1, "IT", "Roads"))
    with pytest.raises(ValueError, match="anchor 'category'"):
        _model("category").fit(X, y)


def test_model_fitted_before_anchors_predicts_without_one() -> None:
    X, y = _reports(1500)
    model = _model(None).fit(X, y)
    p = model.predict_proba(X)
    del model.__dict__["anchor_"]  # as unpickled from a version without the attribute
    np.testing.assert_allclose(model.predict_proba(X), p)
    np.testing.assert_allclose(model.contributions(X).sum(axis=1), model.predict_raw(X))
