"""Censoring weights: finished projects weighted to stand for every project started."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_model.config import Settings
from training.censoring import censoring_weights, duration_ratios
from training.labels import Labelled, split_weights

CUTOFF = pd.Timestamp("2024-01-01")
THRESHOLD = 0.10


def planted(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Projects started evenly over 2.5 years before the cut-off, one year planned, taking
    ``R`` times their plan (independent of the start). Returns the projects as known at the
    cut-off (later finishes unknown) and every project's true overrun (R > 1.1)."""
    rng = np.random.default_rng(seed)
    start = CUTOFF - pd.to_timedelta(rng.uniform(0, 2.5 * 365, n), unit="D")
    planned = pd.to_timedelta(365, unit="D")
    ratio = 0.8 + rng.exponential(0.35, n)
    finish = start + planned * ratio
    done = finish <= CUTOFF
    projects = pd.DataFrame(
        {
            "project_id": [f"P{i}" for i in range(n)],
            "start_date": start,
            "baseline_finish": start + planned,
            "actual_finish": pd.Series(finish).where(done),
            "status": np.where(done, "completed", "active"),
        }
    )
    overran = pd.Series(ratio > 1 + THRESHOLD, index=projects["project_id"])
    return projects, overran


def test_weighted_overrun_rate_of_finished_projects_recovers_the_true_rate() -> None:
    """Short projects finish first, so the finished ones under-state overruns; weighted by
    1 / G(R) they give the overrun rate of every project started."""
    projects, overran = planted()
    weights = censoring_weights(projects, CUTOFF)
    known = overran.loc[weights.index]
    true_rate = overran.mean()
    unweighted = known.mean()
    weighted = np.average(known, weights=weights)
    assert true_rate - unweighted > 0.05
    assert abs(weighted - true_rate) < (true_rate - unweighted) / 3


def test_weights_read_nothing_after_the_cut_off() -> None:
    """Finishes after the cut-off (or their status) and projects started after it change
    nothing; a finish before it does."""
    projects, _ = planted(500)
    before = censoring_weights(projects, CUTOFF)
    later = projects.copy()
    running = later["actual_finish"].isna()
    later.loc[running, "actual_finish"] = CUTOFF + pd.Timedelta(days=30)
    later.loc[running, "status"] = "completed"
    newcomer = pd.DataFrame(
        {
            "project_id": ["NEW"],
            "start_date": [CUTOFF + pd.Timedelta(days=1)],
            "baseline_finish": [CUTOFF + pd.Timedelta(days=200)],
            "actual_finish": [CUTOFF + pd.Timedelta(days=150)],
            "status": ["completed"],
        }
    )
    later = pd.concat([later, newcomer], ignore_index=True)
    pd.testing.assert_series_equal(censoring_weights(later, CUTOFF), before)
    earlier = projects.copy()
    first_running = earlier.index[earlier["actual_finish"].isna()][0]
    earlier.loc[first_running, "actual_finish"] = CUTOFF - pd.Timedelta(days=1)
    earlier.loc[first_running, "status"] = "completed"
    assert not censoring_weights(earlier, CUTOFF).equals(before)


def test_weights_grow_with_duration_and_are_clipped() -> None:
    """A longer actual duration was less likely to be known: a larger weight, within
    [1, max_weight]."""
    projects, _ = planted(2000)
    weights = censoring_weights(projects, CUTOFF, max_weight=3.0)
    ratio = duration_ratios(projects, CUTOFF)["ratio"].loc[weights.index]
    order = np.argsort(ratio.to_numpy())
    assert np.all(np.diff(weights.to_numpy()[order]) >= 0)
    assert weights.min() >= 1.0
    assert weights.max() == pytest.approx(3.0)


def test_an_overrun_certain_before_the_finish_counts_as_known() -> None:
    """Past ``certain_after`` of its plan a running project is known (an overrun): it gets a
    weight, and longer projects are weighted as if they took ``certain_after``."""
    projects, _ = planted(1000)
    plain = censoring_weights(projects, CUTOFF)
    certain = censoring_weights(projects, CUTOFF, certain_after=1 + THRESHOLD)
    frame = duration_ratios(projects, CUTOFF)
    running_late = frame.index[frame["ratio"].isna() & (frame["elapsed"] > 1 + THRESHOLD)]
    assert len(running_late) > 0
    assert set(running_late) <= set(certain.index)
    assert not set(running_late) & set(plain.index)
    assert certain.max() <= plain.max()


def test_a_later_part_is_weighted_by_the_chance_of_being_known_in_its_window() -> None:
    """Projects known after ``since`` and by the cut-off: the share of projects that reached
    their duration within that window is smaller than by the cut-off, so weights are larger."""
    projects, _ = planted(1500)
    since = CUTOFF - pd.Timedelta(days=180)
    by_cutoff = censoring_weights(projects, CUTOFF)
    window = censoring_weights(projects, CUTOFF, since=since)
    assert (window >= by_cutoff).all()
    assert (window > by_cutoff).mean() > 0.5


def test_split_weights_per_row_with_unit_mean_and_none_when_not_applicable() -> None:
    """Each row gets its project's weight; each part's weights average 1; the forward target,
    unknown projects or weights switched off give None."""
    projects, overran = planted(400)
    known = duration_ratios(projects, CUTOFF)
    known = known.loc[known["ratio"].notna()]
    finish = projects.set_index("project_id")["actual_finish"]
    pids = np.repeat(known.index.to_numpy(), 3)
    rows = pd.DataFrame({"project_id": pids, "elapsed_share": 0.5})
    label_date = pd.Series(pd.to_datetime(finish.loc[pids].to_numpy()), name="label_date")
    y = pd.Series(overran.loc[pids].to_numpy().astype("int64"), name="y")
    ratio = pd.Series(np.nan, index=rows.index, name="ratio")
    labelled = Labelled("schedule", rows, y, label_date, ratio, projects)
    t1 = label_date.quantile(0.75)
    train = (label_date <= t1).to_numpy()
    cal = ~train
    settings = Settings()
    w_train, w_cal = split_weights(labelled, train, cal, settings)
    assert w_train is not None and w_cal is not None
    assert w_train.mean() == pytest.approx(1.0)
    assert w_cal.mean() == pytest.approx(1.0)
    same_project = pd.Series(w_train).groupby(rows.loc[train, "project_id"].to_numpy()).nunique()
    assert (same_project == 1).all()
    assert w_train.std() > 0
    forward = Labelled("forward", rows, y, label_date, ratio, projects)
    assert split_weights(forward, train, cal, settings) == (None, None)
    unknown = Labelled("schedule", rows, y, label_date, ratio)
    assert split_weights(unknown, train, cal, settings) == (None, None)
    off = settings.model_copy(update={"censoring_weights": False})
    assert split_weights(labelled, train, cal, off) == (None, None)
