"""Splits by project and by time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_model.exceptions import InsufficientData
from training.splits import Split, split_rows, time_split


def _targets(n: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    finish = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D")
    labels = (np.arange(n) % 3 == 0).astype(float)
    return pd.DataFrame(
        {
            "project_id": [f"P{i:03d}" for i in range(n)],
            "outcome_date": finish,
            "schedule_ratio": labels * 0.3,
            "cost_ratio": labels * 0.2,
            "schedule_overrun": labels,
            "cost_overrun": labels[::-1].copy(),
        }
    )


def _with_unlabelled(t: pd.DataFrame) -> pd.DataFrame:
    extra = pd.DataFrame(
        {
            "project_id": ["A1", "A2"],
            "outcome_date": pd.to_datetime([pd.NaT, pd.NaT]),
            "schedule_ratio": [np.nan] * 2,
            "cost_ratio": [np.nan] * 2,
            "schedule_overrun": [np.nan] * 2,
            "cost_overrun": [np.nan] * 2,
        }
    )
    return pd.concat([t, extra], ignore_index=True)


def test_split_is_by_project_and_covers_labelled_projects_only() -> None:
    """No project is in two parts; every labelled project is in one; unlabelled in none."""
    t = _with_unlabelled(_targets())
    s = time_split(t)
    assert not (s.train_ids & s.cal_ids or s.train_ids & s.test_ids or s.cal_ids & s.test_ids)
    assert s.train_ids | s.cal_ids | s.test_ids == {f"P{i:03d}" for i in range(50)}
    assert s.sizes() == {"train": 30, "calibration": 10, "test": 10}


def test_split_is_by_time() -> None:
    """Training projects finished no later than calibration ones, which finished before test."""
    t = _targets(80, seed=3)
    s = time_split(t)
    finish = t.set_index("project_id")["outcome_date"]
    assert finish[list(s.train_ids)].max() <= finish[list(s.cal_ids)].min()
    assert finish[list(s.cal_ids)].max() <= finish[list(s.test_ids)].min()


def test_ties_are_broken_by_project_id_deterministically() -> None:
    """Same outcome date everywhere: the split follows project ids, whatever the row order."""
    t = _targets(40)
    t["outcome_date"] = pd.Timestamp("2022-06-30")
    s1 = time_split(t)
    s2 = time_split(t.sample(frac=1.0, random_state=1))
    assert s1 == s2
    assert max(s1.train_ids) < min(s1.cal_ids) and max(s1.cal_ids) < min(s1.test_ids)


def test_fractions_set_the_part_sizes() -> None:
    """(0.5, 0.25, 0.25) of 40 projects is 20 / 10 / 10."""
    s = time_split(_targets(40), (0.5, 0.25, 0.25))
    assert s.sizes() == {"train": 20, "calibration": 10, "test": 10}


def test_bad_fractions_are_rejected() -> None:
    """Fractions must be three positive numbers summing to 1."""
    with pytest.raises(ValueError):
        time_split(_targets(), (0.7, 0.2, 0.2))
    with pytest.raises(ValueError):
        time_split(_targets(), (0.8, 0.2))


def test_too_few_projects_raise_insufficient_data_with_the_count() -> None:
    """Twelve labelled projects are too few; the message says how many there are."""
    with pytest.raises(InsufficientData, match="12 projects"):
        time_split(_with_unlabelled(_targets(12)))


def test_single_class_part_raises_insufficient_data() -> None:
    """If the latest projects all overran, the test part has one class: refuse."""
    t = _targets(40)
    t = t.sort_values("outcome_date").reset_index(drop=True)
    t["schedule_overrun"] = [0.0, 1.0] * 15 + [1.0] * 10
    with pytest.raises(InsufficientData, match="single class of schedule_overrun"):
        time_split(t, target="schedule")


def test_target_restricts_to_projects_with_that_label() -> None:
    """With target='cost', projects whose cost label is unknown are left out."""
    t = _targets(50)
    t.loc[:9, "cost_overrun"] = np.nan
    s = time_split(t, target="cost")
    assert len(s.train_ids | s.cal_ids | s.test_ids) == 40
    assert "P000" not in s.train_ids | s.cal_ids | s.test_ids


def test_split_rows_keeps_index_and_drops_unsplit_projects() -> None:
    """Rows follow their project; the index is kept so labels can follow too."""
    split = Split(frozenset({"a"}), frozenset({"b"}), frozenset({"c"}))
    frame = pd.DataFrame(
        {"project_id": ["a", "b", "c", "a", "z"], "v": range(5)}, index=[10, 11, 12, 13, 14]
    )
    train, cal, test = split_rows(frame, split)
    assert list(train.index) == [10, 13]
    assert list(cal["v"]) == [1]
    assert list(test["project_id"]) == ["c"]
