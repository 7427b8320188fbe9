"""PatternShap: TreeSHAP from per-tree pattern tables equals LightGBM's pred_contrib."""

from __future__ import annotations

import pickle
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from risk_model.estimator import RiskClassifier
from risk_model.treeshap import PatternShap


def _data(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Numbers with NaN and exact zeros, and a categorical column (4) with NaN."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 7))
    X[: n // 10, 1] = np.nan
    X[rng.random(n) < 0.15, 2] = 0.0
    X[:, 4] = rng.integers(0, 8, n).astype(np.float64)
    X[: n // 20, 4] = np.nan
    signal = X[:, 0] + np.nan_to_num(X[:, 1]) + (X[:, 4] == 2) + X[:, 2] * X[:, 3]
    y = (signal + rng.normal(size=n) > 0.5).astype(np.int64)
    return X, y


def _awkward(X: np.ndarray) -> np.ndarray:
    """Rows LightGBM treats specially: NaN everywhere, tiny values read as 0, categories that
    are negative, fractional or never seen."""
    out = X[:400].copy()
    out[:20, 4] = -3.0
    out[20:40, 4] = 2.7
    out[40:60, 4] = 99.0
    out[60:80, :] = np.nan
    out[80:100, 2] = 1e-40
    out[100:120, 0] = -0.0
    return out


@pytest.mark.parametrize("leaves", [2, 3, 4, 7])
@pytest.mark.parametrize(
    "params",
    [{}, {"zero_as_missing": True}, {"use_missing": False}, {"objective": "regression"}],
    ids=["nan-missing", "zero-missing", "no-missing", "regression"],
)
def test_table_equals_pred_contrib(leaves: int, params: dict[str, Any]) -> None:
    X, y = _data()
    booster = lgb.train(
        {"objective": "binary", "num_leaves": leaves, "min_data_in_leaf": 5, "verbose": -1}
        | params,
        lgb.Dataset(X, y.astype(np.float64), categorical_feature=[4]),
        num_boost_round=40,
    )
    table = PatternShap.from_booster(booster)
    assert table is not None
    rows = _awkward(X)
    native = booster.predict(rows, pred_contrib=True)
    ours = table.contributions(rows)
    assert ours.shape == native.shape
    np.testing.assert_allclose(ours, native, rtol=0, atol=1e-12)
    # contributions add up to the margin
    np.testing.assert_allclose(ours.sum(axis=1), booster.predict(rows, raw_score=True), atol=1e-12)


def test_probe_rows_take_both_sides_of_every_split() -> None:
    """A table is checked against pred_contrib on probe rows; path-dependent TreeSHAP reads
    every split's decision (reached or not), so the probe sends rows both ways at every split,
    and holds missing values for each feature."""
    X, y = _data()
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 5, "verbose": -1},
        lgb.Dataset(X, y, categorical_feature=[4]),
        num_boost_round=30,
    )
    table = PatternShap.from_booster(booster)
    assert table is not None
    probe = table.probe_matrix()
    assert np.isnan(probe).any(axis=0).all()

    def check(node: dict[str, Any]) -> None:
        if "leaf_value" in node:
            return
        left = _goes_left(node, probe)
        assert left.any() and (~left).any(), node["split_index"]
        check(node["left_child"])
        check(node["right_child"])

    for info in booster.dump_model()["tree_info"]:
        check(info["tree_structure"])


def _goes_left(node: dict[str, Any], rows: np.ndarray) -> np.ndarray:
    """LightGBM's decision for a split of a dumped tree (the rules its docs describe)."""
    v = rows[:, int(node["split_feature"])]
    if node["decision_type"] == "==":
        cats = {float(c) for c in str(node["threshold"]).split("||")}
        whole = np.trunc(np.nan_to_num(v, nan=-1.0))
        return np.array([w >= 0 and w in cats for w in whole])
    nan = np.isnan(v)
    if node["missing_type"] == "NaN":
        return np.where(nan, bool(node["default_left"]), v <= node["threshold"])
    return np.where(nan, node["threshold"] >= 0.0, v <= node["threshold"])


def test_large_trees_and_multiclass_get_no_table() -> None:
    X, y = _data()
    big = lgb.train({"objective": "binary", "num_leaves": 15, "verbose": -1}, lgb.Dataset(X, y), 10)
    assert PatternShap.from_booster(big) is None
    three = lgb.train(
        {"objective": "multiclass", "num_class": 3, "num_leaves": 4, "verbose": -1},
        lgb.Dataset(X, (X[:, 0] > 0).astype(int) + (X[:, 3] > 1)),
        10,
    )
    assert PatternShap.from_booster(three) is None


def _frame(X: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(X[:, [0, 1, 2, 3, 5, 6]], columns=["a", "b", "c", "d", "e", "f"])
    frame["category"] = pd.Series(np.where(np.isnan(X[:, 4]), None, X[:, 4].astype(str)))
    return frame


@pytest.mark.parametrize("leaves", [4, 15])
def test_classifier_contributions_equal_native_with_or_without_table(leaves: int) -> None:
    """Small trees are explained from the table, large ones by LightGBM: the same numbers."""
    X, y = _data()
    frame = _frame(X)
    model = RiskClassifier(n_estimators=60, num_leaves=leaves, min_child_samples=10).fit(frame, y)
    assert (model.shap_table_ is not None) == (leaves == 4)
    matrix = model.input_matrix(frame)
    native = model.booster_.predict(matrix, pred_contrib=True)
    np.testing.assert_allclose(model.contribution_array(matrix), native, atol=1e-12)
    np.testing.assert_allclose(model.contributions(frame).to_numpy(), native, atol=1e-12)


def test_model_pickled_without_a_table_builds_it_on_first_use() -> None:
    """A model fitted before tables existed (no ``shap_table_``) builds one when it explains."""
    X, y = _data()
    frame = _frame(X)
    model = RiskClassifier(n_estimators=40, num_leaves=4, min_child_samples=10).fit(frame, y)
    expected = model.contributions(frame)
    del model.shap_table_
    old = pickle.loads(pickle.dumps(model))
    assert not hasattr(old, "shap_table_")
    pd.testing.assert_frame_equal(old.contributions(frame), expected)
    assert isinstance(old.shap_table_, PatternShap)
