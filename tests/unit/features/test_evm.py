"""EVM indices on the tiny project A (BAC 1000) with hand-computed values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from features.pipeline import build_features

A = [("2024-01-11", 0), ("2024-01-31", 1), ("2024-02-20", 2), ("2024-03-11", 3)]


@pytest.mark.parametrize(
    ("as_of", "spi", "cpi", "tcpi"),
    [
        ("2024-01-11", 0.5, 0.5, 950 / 900),
        ("2024-01-31", 200 / 300, 0.8, 800 / 750),
        ("2024-02-20", 0.8, 0.8, 600 / 500),
        ("2024-03-11", 5 / 7, 5 / 7, 500 / 300),
    ],
)
def test_spi_cpi_tcpi_are_ratios_of_the_reported_values(
    tiny_features: pd.DataFrame, row, as_of: str, spi: float, cpi: float, tcpi: float
) -> None:
    r = row(tiny_features, "A", as_of)
    assert r["spi"] == pytest.approx(spi)
    assert r["cpi"] == pytest.approx(cpi)
    assert r["tcpi"] == pytest.approx(tcpi)
    assert r["tcpi_minus_cpi"] == pytest.approx(tcpi - cpi)


def test_eac_forms_over_bac(tiny_features: pd.DataFrame, row) -> None:
    r = row(tiny_features, "A", "2024-01-31")  # EV 200, AC 250, PV 300
    assert r["eac_bac_cpi"] == pytest.approx(1.25)  # (1000 / 0.8) / 1000
    # (AC + (BAC - EV) / (CPI * SPI)) / BAC = (250 + 800 / (0.8 * 2/3)) / 1000
    assert r["eac_bac_composite"] == pytest.approx(1.75)
    assert r["ac_share"] == pytest.approx(0.25)


def test_percent_complete_is_given_value_else_ev_over_bac(tiny_features: pd.DataFrame, row) -> None:
    got = [row(tiny_features, "A", d)["percent_complete"] for d, _ in A]
    assert got == pytest.approx([5.0, 20.0, 42.0, 50.0])


def test_no_earned_value_gives_nan_not_zero() -> None:
    projects = pd.DataFrame(
        {"project_id": ["X"], "start_date": ["2024-01-01"], "baseline_finish": ["2024-12-31"]}
    )
    snapshots = pd.DataFrame(
        {"project_id": ["X", "X"], "as_of": ["2024-02-01", "2024-03-01"], "rag": ["green"] * 2}
    )
    f = build_features(projects, snapshots)
    evm = ["percent_complete", "spi", "cpi", "tcpi", "eac_bac_cpi", "eac_bac_composite"]
    assert f[evm].isna().all().all()
    assert f["rag_score"].tolist() == [0.0, 0.0]


def test_zero_actual_cost_gives_nan_cpi_not_inf(tiny) -> None:
    projects, snapshots = tiny
    snapshots = snapshots.assign(actual_cost=0.0, planned_value=0.0)
    f = build_features(projects, snapshots)
    assert f["cpi"].isna().all()
    assert f["spi"].isna().all()
    numeric = f.select_dtypes("float64")
    assert not numeric.isin([math.inf, -math.inf]).any().any()


def test_bac_falls_back_to_first_reported_budget(tiny) -> None:
    projects, snapshots = tiny
    projects = projects.assign(baseline_budget=[None, 1000.0, 250_000.0])
    f = build_features(projects, snapshots).set_index(["project_id", "as_of"])
    a = f.loc["A"]
    assert a["log_budget"].isna().all()
    # first reported budget is 1000, even after it grows to 1100
    assert a["eac_bac_cpi"].iloc[3] == pytest.approx(7 / 5)
    assert a["ac_share"].iloc[3] == pytest.approx(0.7)
    assert a["budget_growth"].isna().all()  # growth needs the baseline


def test_tcpi_is_missing_once_actual_cost_reaches_the_budget() -> None:
    """Past the budget TCPI would flip sign; it is NaN instead of a misleading number."""

    projects = pd.DataFrame(
        {
            "project_id": ["A"],
            "start_date": [pd.Timestamp("2020-01-01")],
            "baseline_finish": [pd.Timestamp("2021-01-01")],
            "baseline_budget": [100.0],
        }
    )
    snapshots = pd.DataFrame(
        {
            "project_id": ["A", "A"],
            "as_of": pd.to_datetime(["2020-06-01", "2020-09-01"]),
            "planned_value": [50.0, 75.0],
            "earned_value": [40.0, 60.0],
            "actual_cost": [80.0, 120.0],
        }
    )
    f = build_features(projects, snapshots)
    assert f["tcpi"].iloc[0] == pytest.approx((100 - 40) / (100 - 80))
    assert math.isnan(f["tcpi"].iloc[1])
