"""Static size, elapsed time and earned schedule (ES by interpolation of the PV curve)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from features.pipeline import build_features


def test_static_fields_and_elapsed_share(tiny_features: pd.DataFrame, row) -> None:
    r = row(tiny_features, "A", "2024-01-31")
    assert r["category"] == "IT"
    assert r["planned_duration_days"] == 100.0
    assert r["log_budget"] == pytest.approx(3.0)
    assert r["elapsed_share"] == pytest.approx(0.3)
    assert r["progress_lag"] == pytest.approx(0.3 - 0.2)


@pytest.mark.parametrize(
    ("as_of", "es", "at"),
    [
        ("2024-01-11", 5.0, 10.0),  # (0,0)-(10,100), EV 50
        ("2024-01-31", 20.0, 30.0),  # (10,100)-(30,300), EV 200
        ("2024-02-20", 40.0, 50.0),  # (30,300)-(50,500), EV 400
        ("2024-03-11", 50.0, 70.0),  # EV 500 equals PV at t=50
    ],
)
def test_earned_schedule_interpolates_the_pv_curve(
    tiny_features: pd.DataFrame, row, as_of: str, es: float, at: float
) -> None:
    r = row(tiny_features, "A", as_of)
    assert r["spi_t"] == pytest.approx(es / at)
    assert r["sv_t_share"] == pytest.approx((es - at) / 100.0)
    assert r["ieac_t_share"] == pytest.approx(at / es)


def test_earned_schedule_uses_the_segment_to_baseline_finish_and_bac(
    tiny_features: pd.DataFrame, row
) -> None:
    # B: one report at t=10 with PV 100 but EV 150 -> segment (10,100)-(100,1000)
    r = row(tiny_features, "B", "2024-01-11")
    es = 10 + (150 - 100) / (1000 - 100) * (100 - 10)
    assert es == pytest.approx(15.0)
    assert r["spi_t"] == pytest.approx(1.5)


def test_earned_schedule_caps_at_planned_duration_when_ev_reaches_bac(tiny) -> None:
    projects, snapshots = tiny
    snapshots = snapshots.assign(earned_value=[50.0, 200.0, 400.0, 1200.0, 150.0])
    f = build_features(projects, snapshots)
    last = f[f["project_id"] == "A"].iloc[-1]
    assert last["spi_t"] == pytest.approx(100 / 70)


def test_earned_schedule_ignores_later_pv_points(tiny) -> None:
    """The PV at t=30 (300) is not known at t=10, so ES there uses the end segment."""
    projects, snapshots = tiny
    snapshots = snapshots.assign(earned_value=[150.0, 200.0, 400.0, 500.0, 150.0])
    f = build_features(projects, snapshots)
    first = f[f["project_id"] == "A"].iloc[0]
    assert first["spi_t"] == pytest.approx(1.5)  # same curve as project B


def test_without_start_or_finish_schedule_features_are_nan(tiny) -> None:
    projects, snapshots = tiny
    projects = projects.assign(baseline_finish=None)
    f = build_features(projects, snapshots)
    a = f[f["project_id"] == "A"]
    cols = ["planned_duration_days", "elapsed_share", "sv_t_share", "ieac_t_share"]
    assert a[cols].isna().all().all()
    # spi_t is still defined where EV lies inside the reported PV curve
    assert a["spi_t"].iloc[1] == pytest.approx(20 / 30)


def test_non_positive_planned_duration_is_nan(tiny) -> None:
    projects, snapshots = tiny
    projects = projects.assign(baseline_finish=projects["start_date"])
    f = build_features(projects, snapshots)
    assert f["planned_duration_days"].isna().all()
    assert f["elapsed_share"].isna().all()
    assert not f.select_dtypes("float64").map(math.isinf).any().any()
