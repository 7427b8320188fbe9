"""The rolling-origin backtest: never trains on the future; early warning; the offline report."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.pipeline import build_features
from tests.conftest import small_settings
from training.backtest import Backtest, early_warning, history_at, run_backtest
from training.backtest_report import render_html, write_report
from training.labels import labelled_rows
from training.simulate import simulate_portfolio

LEAK = "dcma_missing_logic"  # empty in simulated data: only the planted signal fills it


@pytest.fixture(scope="module")
def portfolio() -> Any:
    return simulate_portfolio(500, seed=21)


@pytest.fixture(scope="module")
def backtest(portfolio: Any, tmp_path_factory: pytest.TempPathFactory) -> Backtest:
    settings = small_settings(tmp_path_factory.mktemp("bt"))
    return run_backtest(
        portfolio.projects,
        portfolio.snapshots,
        settings,
        target="schedule",
        folds=3,
        oracle=portfolio.oracle,
    )


def test_history_at_hides_what_was_not_known_yet(portfolio: Any) -> None:
    cut = pd.Timestamp("2021-06-30")
    projects, snapshots = history_at(portfolio.projects, portfolio.snapshots, cut)
    assert (pd.to_datetime(snapshots["as_of"]) <= cut).all()
    finished_later = pd.to_datetime(portfolio.projects["actual_finish"]) > cut
    later_ids = set(portfolio.projects.loc[finished_later, "project_id"])
    seen = projects[projects["project_id"].isin(later_ids)]
    assert len(seen) > 0
    assert seen["actual_finish"].isna().all() and seen["actual_cost"].isna().all()
    assert not (seen["status"] == "completed").any()
    assert (pd.to_datetime(projects["actual_finish"]).dropna() <= cut).all()


def test_a_signal_planted_after_the_cut_off_is_never_learnt(portfolio: Any, tmp_path: Path) -> None:
    """Reports after the cut-off carry the answer; a fold trained at the cut-off cannot use it."""
    settings = small_settings(tmp_path)
    # The label each project ends with in the full history (finished, or certainly late).
    truth = labelled_rows(
        build_features(portfolio.projects, portfolio.snapshots),
        portfolio.projects,
        portfolio.snapshots,
        "schedule",
        settings,
    )
    targets = pd.Series(truth.y.to_numpy(), index=truth.rows["project_id"]).groupby(level=0).max()
    snaps = portfolio.snapshots.copy()
    cut = pd.to_datetime(snaps["as_of"]).quantile(0.6).normalize()
    after = pd.to_datetime(snaps["as_of"]) > cut
    answer = snaps["project_id"].map(targets).fillna(0.0)
    snaps.loc[after, LEAK] = 100.0 * answer[after]
    result = run_backtest(portfolio.projects, snaps, settings, target="schedule", cutoffs=[cut])
    scored = result.scored
    leak_auc = roc_auc_score(scored["y"], scored["p_model"])
    # The planted column is a perfect answer on every scored row ...
    planted = scored.merge(snaps[["project_id", "as_of", LEAK]], on=["project_id", "as_of"])
    assert roc_auc_score(planted["y"], planted[LEAK]) == pytest.approx(1.0)
    # ... yet the model scores them as it would without it: far from a perfect ranking, and the
    # same as a backtest of the history without the plant.
    clean = run_backtest(
        portfolio.projects, portfolio.snapshots, settings, target="schedule", cutoffs=[cut]
    )
    clean_auc = roc_auc_score(clean.scored["y"], clean.scored["p_model"])
    assert leak_auc < 0.97
    assert leak_auc == pytest.approx(clean_auc, abs=1e-9)


def test_each_fold_trains_on_labels_known_at_its_cut_off(backtest: Backtest) -> None:
    folds = [f for f in backtest.folds if f.skipped is None]
    assert len(folds) >= 2
    assert [f.train_projects for f in folds] == sorted(f.train_projects for f in folds)
    scored = backtest.scored
    for k, fold in enumerate(backtest.folds):
        rows = scored[scored["fold"] == k]
        assert (pd.to_datetime(rows["as_of"]) > fold.cutoff).all()
        assert (pd.to_datetime(rows["as_of"]) <= fold.until).all()


def test_metrics_sit_beside_every_baseline_by_stage(backtest: Backtest) -> None:
    overall = backtest.evaluation["overall"]
    assert {"model", "evm_rule", "index_forecast", "pm_forecast", "base_rate", "oracle"} <= set(
        overall
    )
    for stage in backtest.evaluation["by_stage"].values():
        assert stage["model"]["n"] > 0
    assert 0.5 < overall["model"]["roc_auc"] <= overall["oracle"]["roc_auc"] + 0.02
    data = backtest.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False))["target"] == "schedule"
    assert data["size"]["overall"]["model"]["p10_p90_coverage"] > 0.5


def test_early_warning_lead_and_false_alarms_on_a_hand_example() -> None:
    d = pd.to_datetime
    scored = pd.DataFrame(
        {
            "project_id": ["A"] * 4 + ["B"] * 3 + ["C"] * 2,
            "as_of": d(
                ["2020-01-31", "2020-02-29", "2020-03-31", "2020-04-30"] * 1
                + ["2020-01-31", "2020-02-29", "2020-03-31"]
                + ["2020-01-31", "2020-02-29"]
            ),
            "y": [1] * 4 + [0] * 3 + [1] * 2,
            # A: on, off, on, on -> sustained from March; B: one false alarm; C: off at the end.
            "p_model": [0.9, 0.2, 0.7, 0.8, 0.1, 0.6, 0.3, 0.9, 0.1],
            "evm_rule": [1, 1, 1, 1, 0, 0, 0, np.nan, np.nan],
        }
    )
    finish = pd.Series(d(["2020-09-30", "2021-01-01", "2020-06-30"]), index=["A", "B", "C"])
    out = early_warning(scored, finish, {"model": "p_model", "evm_rule": "evm_rule"}, 0.5)
    model, rule = out["model"], out["evm_rule"]
    assert model["warned"] == 1 and model["overran_projects"] == 2
    assert model["lead_months"] == [
        pytest.approx((d("2020-09-30") - d("2020-03-31")).days / 30.4375, abs=0.01)
    ]
    assert model["false_alarm_rate"] == 1.0 and model["false_alarm_rate_sustained"] == 0.0
    assert rule["warned"] == 1 and rule["lead_months"][0] == pytest.approx(8.0, abs=0.05)
    assert rule["false_alarm_rate"] == 0.0


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.refs += [v or "" for k, v in attrs if k in ("src", "href")]


def test_the_html_report_is_self_contained(backtest: Backtest, tmp_path: Path) -> None:
    json_path, html_path = write_report(
        {"schedule": backtest}, tmp_path / "out", title="test", meta={"projects": 500}
    )
    text = html_path.read_text(encoding="utf-8")
    parser = _Refs()
    parser.feed(text)
    assert "script" not in parser.tags and "link" not in parser.tags
    assert parser.refs and all(r.startswith("data:image/png;base64,") for r in parser.refs)
    assert not re.search(r"https?://", text)
    assert "Early-warning" in text or "Early warning" in text
    figures = json.loads(json_path.read_text(encoding="utf-8"))
    assert figures["targets"]["schedule"]["metrics"]["overall"]["model"]["n"] > 0
    assert render_html({"schedule": backtest}, title="t", meta={}).startswith("<!doctype html>")


def test_a_folds_training_and_calibration_rows_were_all_known_by_its_cut_off(
    portfolio: Any, tmp_path: Path
) -> None:
    """Every row a fold's booster or calibrator learns from was made, and its label known, by
    the cut-off; the calibration projects are the training history's last to finish."""
    from training.backtest import _fit_fold

    settings = small_settings(tmp_path)
    cut = pd.to_datetime(portfolio.snapshots["as_of"]).quantile(0.5).normalize()
    _, _, known, (train, cal), _ = _fit_fold(
        portfolio.projects, portfolio.snapshots, "schedule", cut, settings
    )
    assert train.any() and cal.any() and not (train & cal).any()
    for mask in (train, cal):
        assert (pd.to_datetime(known.rows.loc[mask, "as_of"]) <= cut).all()
        assert (known.label_date[mask] <= cut).all()
    assert known.label_date[cal].min() >= known.label_date[train].max()
