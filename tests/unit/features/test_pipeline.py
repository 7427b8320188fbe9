"""build_features: row set and order, columns, purity, point-in-time, insufficient reasons."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from features.pipeline import build_features, feature_columns, insufficient_reason
from features.registry import FEATURES
from risk_model.schemas import empty_snapshots


def test_one_row_per_snapshot_plus_approval_rows_sorted(tiny) -> None:
    f = build_features(*tiny)
    keys = list(zip(f["project_id"], f["as_of"].dt.strftime("%Y-%m-%d"), strict=True))
    assert keys == [
        ("A", "2024-01-11"),
        ("A", "2024-01-31"),
        ("A", "2024-02-20"),
        ("A", "2024-03-11"),
        ("B", "2024-01-11"),
        ("E", "2024-03-01"),  # no snapshots: one row at the start date
    ]


def test_columns_are_ids_registry_then_attributes(tiny) -> None:
    f = build_features(*tiny)
    assert list(f.columns) == ["project_id", "as_of", *FEATURES, "attr_complexity"]
    assert f["category"].dtype == object
    assert f["project_id"].dtype == object
    assert f["as_of"].dtype == "datetime64[ns]"
    numeric = [c for c in f.columns if c not in ("project_id", "as_of", "category")]
    assert (f[numeric].dtypes == "float64").all()
    assert feature_columns(f) == [*FEATURES, "attr_complexity"]


def test_at_approval_row_has_static_features_only(tiny_features: pd.DataFrame, row) -> None:
    e = row(tiny_features, "E", "2024-03-01")
    assert e["n_reports"] == 0.0
    assert e["elapsed_share"] == 0.0
    assert e["planned_duration_days"] == 275.0
    assert e["log_budget"] == pytest.approx(math.log10(250_000))
    assert e["attr_complexity"] == 2.0
    assert math.isnan(e["cpi"]) and math.isnan(e["forecast_slip"]) and math.isnan(e["rag_score"])


def test_no_snapshots_at_all_and_missing_start(tiny) -> None:
    projects, _ = tiny
    projects = projects.assign(start_date=[None, "2024-01-01", "2024-03-01"])
    f = build_features(projects, empty_snapshots())
    assert f["project_id"].tolist() == ["A", "B", "E"]
    assert pd.isna(f["as_of"].iloc[0])
    assert (f["n_reports"] == 0).all()
    assert f["spi"].isna().all()


def test_empty_inputs_give_an_empty_frame_with_every_column() -> None:
    f = build_features(pd.DataFrame({"project_id": []}), empty_snapshots())
    assert len(f) == 0
    assert list(f.columns) == ["project_id", "as_of", *FEATURES]


def test_inputs_are_not_mutated(tiny) -> None:
    projects, snapshots = tiny
    before = (projects.copy(deep=True), snapshots.copy(deep=True))
    build_features(projects, snapshots)
    pd.testing.assert_frame_equal(projects, before[0])
    pd.testing.assert_frame_equal(snapshots, before[1])


def test_outcome_columns_are_never_read(tiny) -> None:
    projects, snapshots = tiny
    base = build_features(projects, snapshots)
    other = projects.assign(actual_finish="2030-01-01", actual_cost=9e9, status="cancelled")
    pd.testing.assert_frame_equal(build_features(other, snapshots), base)


def test_unsorted_input_and_duplicate_dates(tiny) -> None:
    projects, snapshots = tiny
    shuffled = snapshots.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(build_features(projects, shuffled), build_features(*tiny))
    dup = pd.concat([snapshots, snapshots.iloc[[0]]], ignore_index=True)
    assert len(build_features(projects, dup)) == len(build_features(*tiny))


def _perturb_after(
    snapshots: pd.DataFrame, cut: pd.Series, rng: np.random.Generator
) -> pd.DataFrame:
    """Change every snapshot after its project's cut date, drop some, add later ones."""
    later = snapshots["as_of"] > snapshots["project_id"].map(cut)
    out = snapshots.copy()
    for col in out.columns[2:]:
        if col == "rag":
            new = rng.choice(["red", "amber", "green"], later.sum())
        elif col == "forecast_finish":
            new = pd.Timestamp("2031-01-01") - pd.to_timedelta(
                rng.integers(0, 3000, later.sum()), "D"
            )
        else:
            new = rng.uniform(0, 1e7, later.sum())
        out[col] = out[col].astype(object)
        out.loc[later, col] = list(new)
    out = out.loc[~(later & (rng.random(len(out)) < 0.3))]
    extra = (
        out.groupby("project_id")
        .tail(1)
        .assign(as_of=lambda d: d["as_of"] + pd.Timedelta(days=400), earned_value=1.0, rag="red")
    )
    return pd.concat([out, extra], ignore_index=True)


@pytest.mark.parametrize("seed", range(6))
def test_no_leakage_rows_up_to_a_cut_ignore_later_data_and_outcomes(
    random_portfolio, seed: int
) -> None:
    """Changing later snapshots and the outcome columns leaves every earlier row unchanged."""
    projects, snapshots = random_portfolio(seed)
    snapshots["as_of"] = pd.to_datetime(snapshots["as_of"])
    rng = np.random.default_rng(100 + seed)
    base = build_features(projects, snapshots)
    # random cut per project: one of its report dates (or before the first one)
    dates = snapshots.groupby("project_id")["as_of"]
    cut = dates.min() + (dates.max() - dates.min()) * rng.random(dates.ngroups)
    changed_snaps = _perturb_after(snapshots, cut, rng)
    changed_projects = projects.assign(
        actual_finish=pd.Timestamp("2035-01-01"),
        actual_cost=rng.uniform(0, 1e9, len(projects)),
        status="cancelled",
    )
    after = build_features(changed_projects, changed_snaps)

    def kept(f: pd.DataFrame) -> pd.DataFrame:
        limit = f["project_id"].map(cut)
        mask = limit.isna() | (f["as_of"] <= limit)
        return f.loc[mask].reset_index(drop=True)

    before_rows, after_rows = kept(base), kept(after)
    assert len(before_rows) > 0.3 * len(base)
    # NaN-aware, exact equality of every feature of every earlier row
    pd.testing.assert_frame_equal(before_rows, after_rows, check_exact=True)
    # and the later rows did change somewhere (the perturbation is real)
    assert not base.equals(after)


def test_insufficient_reason_per_target(tiny) -> None:
    projects, snapshots = tiny
    projects = projects.assign(
        baseline_finish=[None, "2024-04-10", "2024-12-01"],
        baseline_budget=[None, None, 1.0],
    )
    f = build_features(projects, snapshots)
    sched = insufficient_reason(f, "schedule")
    cost = insufficient_reason(f, "cost")
    assert sched.tolist() == [sched.iloc[0]] * 4 + [None, None]
    assert "planned duration unknown" in sched.iloc[0]
    # A has no baseline budget but reports a budget; B has neither
    assert cost.tolist() == [None] * 4 + ["no baseline_budget and no budget", None]
    with pytest.raises(ValueError):
        insufficient_reason(f, "quality")
