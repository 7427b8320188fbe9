"""Population stability index: the training reference, PSI per feature, flags."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from training.drift import (
    EPSILON,
    current_rows,
    drift_frame,
    drift_reference,
    flagged_features,
    psi,
)


def _psi_by_hand(expected: list[float], actual: list[float]) -> float:
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, EPSILON), max(a, EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def test_psi_of_identical_shares_is_zero_and_grows_with_the_shift() -> None:
    """Same distribution: 0; a bigger shift gives a bigger index."""
    base = [0.25, 0.25, 0.25, 0.25]
    assert psi(base, base) == 0.0
    small = psi(base, [0.3, 0.2, 0.25, 0.25])
    large = psi(base, [0.7, 0.1, 0.1, 0.1])
    assert 0 < small < large


def test_psi_on_a_hand_example_numeric_with_missing_bin() -> None:
    """Two training bins of 4 values each split at the median; missing values are a bin."""
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]})
    reference = drift_reference(train, bins=2)
    spec = reference["features"]["x"]
    assert spec["edges"] == [float(np.quantile(train["x"], 0.5))]
    assert spec["shares"] == [0.5, 0.5] and spec["missing"] == 0.0
    # now: 1 value low, 2 high, 1 missing -> shares 1/4, 2/4, 1/4 (training 1/2, 1/2, 0)
    now = pd.DataFrame({"x": [1.5, 7.0, 8.5, np.nan]})
    drift = drift_frame(reference, now, threshold=0.25)
    expected = _psi_by_hand([0.5, 0.5, 0.0], [0.25, 0.5, 0.25])
    assert drift.loc[0, "feature"] == "x"
    assert drift.loc[0, "psi"] == pytest.approx(expected, rel=1e-12)
    assert bool(drift.loc[0, "flagged"]) is (expected > 0.25)


def test_psi_on_a_hand_example_categorical_with_unseen_level() -> None:
    """Levels by training share; a level never seen in training falls into 'other'."""
    train = pd.DataFrame({"category": ["a", "a", "a", "b"]})
    reference = drift_reference(train)
    assert reference["features"]["category"]["levels"] == {"a": 0.75, "b": 0.25}
    now = pd.DataFrame({"category": ["a", "b", "c", None]})
    drift = drift_frame(reference, now, threshold=0.25)
    expected = _psi_by_hand([0.75, 0.25, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25])
    assert drift.loc[0, "psi"] == pytest.approx(expected, rel=1e-12)


def test_a_shifted_feature_is_flagged_and_a_stable_one_is_not() -> None:
    """Fresh draws of the same distribution stay under the threshold; a 1-sd shift does not."""
    rng = np.random.default_rng(3)
    train = pd.DataFrame({"stable": rng.normal(0, 1, 4000), "moved": rng.normal(0, 1, 4000)})
    now = pd.DataFrame({"stable": rng.normal(0, 1, 4000), "moved": rng.normal(1, 1, 4000)})
    reference = drift_reference(train)
    drift = drift_frame(reference, now, threshold=0.25)
    by = drift.set_index("feature")
    assert by.loc["moved", "psi"] > 0.25 > by.loc["stable", "psi"]
    assert flagged_features(drift) == ["moved"]
    assert list(drift["feature"]) == ["moved", "stable"]  # worst first


def test_reference_is_json_and_survives_a_round_trip() -> None:
    """The reference is stored as a JSON artifact; drift from the parsed copy is the same."""
    rng = np.random.default_rng(1)
    train = pd.DataFrame({"x": rng.normal(size=200), "k": rng.choice(["p", "q"], 200), "n": np.nan})
    now = pd.DataFrame({"x": rng.normal(0.5, 1, 50), "k": ["p"] * 50, "n": np.arange(50.0)})
    reference = drift_reference(train)
    copy = json.loads(json.dumps(reference))
    pd.testing.assert_frame_equal(
        drift_frame(reference, now, threshold=0.25), drift_frame(copy, now, threshold=0.25)
    )


def test_absent_feature_or_no_rows_give_nan_never_a_flag() -> None:
    """A feature the current rows lack, or no current rows, cannot be measured."""
    reference = drift_reference(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    assert drift_frame(reference, pd.DataFrame({"y": [1.0]}), threshold=0.1)["psi"].isna().all()
    empty = drift_frame(reference, pd.DataFrame({"x": []}), threshold=0.1)
    assert empty["psi"].isna().all() and not empty["flagged"].any()


def test_current_rows_are_the_latest_report_of_each_active_project() -> None:
    """Completed and cancelled projects are left out; each active project counts once."""
    projects = pd.DataFrame(
        {"project_id": ["A", "B", "C"], "status": ["active", "completed", None]}
    )
    features = pd.DataFrame(
        {
            "project_id": ["A", "A", "B", "C"],
            "as_of": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-01", "2024-01-15"]),
            "x": [1.0, 2.0, 3.0, 4.0],
        }
    )
    rows = current_rows(features, projects)
    assert list(rows["project_id"]) == ["A", "C"]
    assert list(rows["x"]) == [2.0, 4.0]
