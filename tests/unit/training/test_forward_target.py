"""The forward target: forecast moves inside a fully observed window, labelled point in time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_model.config import Settings
from training.labels import labelled_rows, split_labelled
from training.targets import forward_labels


def _projects(**extra: object) -> pd.DataFrame:
    row = {
        "project_id": "P",
        "start_date": pd.Timestamp("2020-01-01"),
        "baseline_finish": pd.Timestamp("2022-01-01"),
        "baseline_budget": 1000.0,
        "status": "active",
        "actual_finish": pd.NaT,
        "actual_cost": np.nan,
    }
    row.update(extra)
    return pd.DataFrame([row])


def _snaps(rows: list[tuple[str, str | None, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project_id": "P",
            "as_of": pd.to_datetime([r[0] for r in rows]),
            "forecast_finish": pd.to_datetime([r[1] for r in rows]),
            "forecast_cost": [np.nan if r[2] is None else r[2] for r in rows],
        }
    )


def _by_date(labels: pd.DataFrame) -> pd.DataFrame:
    return labels.set_index(labels["as_of"].dt.strftime("%Y-%m"))


def test_a_slip_inside_the_window_is_an_event_and_later_moves_are_not_seen() -> None:
    snaps = _snaps(
        [
            ("2020-01-31", "2022-01-01", 1000),
            ("2020-04-30", "2022-01-01", 1000),
            ("2020-07-31", "2022-02-15", 1000),  # +45 days: inside the Jan window (end Jul 31)
            ("2020-10-31", "2022-02-15", 1000),
            ("2021-01-31", "2022-02-15", 1000),
            ("2021-04-30", "2022-02-15", 1300),  # +30% cost: outside Oct's window (end Apr 30)?
        ]
    )
    out = _by_date(forward_labels(_projects(), snaps))
    assert out.loc["2020-01", "forward_event"] == 1.0
    assert out.loc["2020-01", "forward_slip_days"] == pytest.approx(45)
    assert out.loc["2020-04", "forward_event"] == 1.0
    # Jul: window (Jul 31, Jan 31] holds only unchanged forecasts.
    assert out.loc["2020-07", "forward_event"] == 0.0
    # Oct: window ends Apr 30 2021, the cost jump report is on Apr 30: inside.
    assert out.loc["2020-10", "forward_event"] == 1.0
    assert out.loc["2020-10", "forward_cost_growth"] == pytest.approx(0.3)
    # The last two reports: the window was not observed in full, so no label.
    assert np.isnan(out.loc["2021-01", "forward_event"])
    assert np.isnan(out.loc["2021-04", "forward_event"])


def test_small_moves_stay_below_the_thresholds() -> None:
    snaps = _snaps(
        [
            ("2020-01-31", "2022-01-01", 1000),
            ("2020-04-30", "2022-01-20", 1040),  # 19 days, 4%: under 30 days and 5%
            ("2020-08-15", "2022-01-20", 1040),
        ]
    )
    out = _by_date(forward_labels(_projects(), snaps))
    assert out.loc["2020-01", "forward_event"] == 0.0
    labelled = forward_labels(_projects(), snaps, slip_days=10, cost_growth=0.01)
    assert _by_date(labelled).loc["2020-01", "forward_event"] == 1.0


def test_blank_forecasts_carry_forward_and_fall_back_to_the_baseline() -> None:
    snaps = _snaps(
        [
            ("2020-01-31", None, None),
            ("2020-03-31", None, None),
            ("2020-08-31", "2022-03-01", None),
            ("2020-10-15", None, None),
        ]
    )
    out = _by_date(forward_labels(_projects(), snaps))
    # Baseline finish 2022-01-01 is the Jan forecast; Aug moves it by 59 days, outside the
    # Jan window (ends Jul 31) but inside March's (ends Sep 30).
    assert out.loc["2020-01", "forward_event"] == 0.0
    assert out.loc["2020-03", "forward_event"] == 1.0


def test_a_finish_inside_the_window_labels_it_from_the_actuals() -> None:
    projects = _projects(
        status="completed", actual_finish=pd.Timestamp("2020-05-15"), actual_cost=1200.0
    )
    snaps = _snaps([("2020-01-31", "2020-04-01", 1000), ("2020-03-31", "2020-04-01", 1000)])
    out = _by_date(forward_labels(projects, snaps))
    # Finished 44 days after the forecast finish, at 20% over: both reports see it.
    assert out.loc["2020-01", "forward_event"] == 1.0
    assert out.loc["2020-03", "forward_slip_days"] == pytest.approx(44)


def test_labels_from_data_cut_at_a_date_are_those_known_at_that_date() -> None:
    rng = np.random.default_rng(3)
    dates = pd.date_range("2020-01-31", periods=30, freq="ME")
    finish = pd.Timestamp("2022-06-01") + pd.to_timedelta(
        np.cumsum(rng.integers(0, 40, 30)), unit="D"
    )
    snaps = pd.DataFrame(
        {"project_id": "P", "as_of": dates, "forecast_finish": finish, "forecast_cost": 1000.0}
    )
    full = forward_labels(_projects(), snaps).set_index("as_of")
    cut = pd.Timestamp("2021-06-30")
    early = forward_labels(_projects(), snaps[snaps["as_of"] <= cut]).set_index("as_of")
    known = early["forward_event"].dropna()
    assert len(known) > 0
    assert (known == full.loc[known.index, "forward_event"]).all()
    assert (early["window_end"][known.index] <= cut + pd.Timedelta(days=15)).all()


def test_split_by_time_keeps_every_training_label_before_calibration_and_test_rows(
    tmp_path: object,
) -> None:
    from features.pipeline import build_features
    from training.simulate import simulate_portfolio

    sim = simulate_portfolio(150, seed=5)
    settings = Settings(home=tmp_path)  # type: ignore[arg-type]
    features = build_features(sim.projects, sim.snapshots)
    labelled = labelled_rows(features, sim.projects, sim.snapshots, "forward", settings)
    assert len(labelled) > 0 and set(labelled.y.unique()) == {0, 1}
    split = split_labelled(labelled, settings.split_fractions)
    as_of = pd.to_datetime(labelled.rows["as_of"])
    assert labelled.label_date[split.train].max() < as_of[split.cal].min()
    assert labelled.label_date[split.cal].max() < as_of[split.test].min()
    assert not (split.train & split.cal).any() and not (split.cal & split.test).any()
