"""Model cards: data period and size, target definition, metrics vs baselines, limitations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from features.pipeline import build_features
from risk_model.config import Settings
from training.drift import current_rows, drift_frame, flagged_features
from training.evaluate import STAGE_KEYS
from training.labels import labelled_rows, split_labelled
from training.model_card import SMALL_CATEGORY_PROJECTS, build_card, card_markdown
from training.train import TargetFit, card_for, fit_target


@pytest.fixture(scope="module")
def fitted(simulated: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = Settings(home=Path(tmp_path_factory.mktemp("card")), n_estimators=80)
    features = build_features(simulated.projects, simulated.snapshots)
    labelled = labelled_rows(
        features, simulated.projects, simulated.snapshots, "schedule", settings
    )
    fit = fit_target(labelled, settings)
    return {
        "settings": settings,
        "labelled": labelled,
        "fit": fit,
        "current": current_rows(features, simulated.projects),
    }


def test_card_reports_data_period_and_sizes_per_split(fitted: dict[str, Any]) -> None:
    """Projects and reports per split are those of the time split the model was trained on."""
    fit: TargetFit = fitted["fit"]
    labelled = fitted["labelled"]
    split = split_labelled(labelled, fitted["settings"].split_fractions)
    card = build_card(fit)
    data = card["data"]
    assert data["projects"] == labelled.rows["project_id"].nunique()
    assert data["reports"] == len(labelled)
    for name, mask in (("train", split.train), ("cal", split.cal), ("test", split.test)):
        assert data["splits"][name]["reports"] == int(mask.sum())
        assert data["splits"][name]["projects"] == labelled.rows.loc[mask, "project_id"].nunique()
        assert data["splits"][name]["positives"] == int(labelled.y[mask].sum())
    as_of = pd.to_datetime(labelled.rows["as_of"])
    assert data["period"] == {
        "first_report": str(as_of.min().date()),
        "last_report": str(as_of.max().date()),
    }
    seen = split.train | split.cal
    assert data["seen_until"] == str(labelled.label_date[seen].max().date())
    assert fit.params["seen_until"] == data["seen_until"]


def test_card_has_target_definition_and_metrics_beside_baselines(fitted: dict[str, Any]) -> None:
    """Thresholds from the settings; every scorer's metrics overall and by stage."""
    fit: TargetFit = fitted["fit"]
    card = build_card(fit)
    assert card["target"] == "schedule" and card["kind"] == "outcome"
    assert card["definition"]["overrun_threshold"] == fitted["settings"].schedule_threshold
    overall = card["metrics"]["overall"]
    assert set(overall) == set(fit.evaluation["overall"])
    assert overall["model"]["roc_auc"] == pytest.approx(
        fit.evaluation["overall"]["model"]["roc_auc"], abs=1e-4
    )
    for stage, block in fit.evaluation["by_stage"].items():
        key = STAGE_KEYS[stage]
        for label, m in block.items():
            assert card["metrics"][key][label]["n"] == m["n"]
    json.dumps(card)  # JSON-safe


def test_limitations_are_written_from_the_data(fitted: dict[str, Any]) -> None:
    """Small categories are named with their training project counts."""
    fit: TargetFit = fitted["fit"]
    labelled = fitted["labelled"]
    split = split_labelled(labelled, fitted["settings"].split_fractions)
    train = labelled.rows.loc[split.train]
    counts = train.groupby(train["category"].astype(str))["project_id"].nunique()
    small = counts[counts < SMALL_CATEGORY_PROJECTS]
    card = build_card(fit)
    text = " ".join(card["limitations"])
    assert card["data"]["small_categories"] == {str(k): int(v) for k, v in small.items()}
    for name, n in small.items():
        assert f"{name} ({n})" in text
    assert "finished projects" in text  # outcome target


def test_card_with_current_portfolio_reports_drift_flags(fitted: dict[str, Any]) -> None:
    """Drift at training time: the same PSI as the drift module, flags by the threshold."""
    fit: TargetFit = fitted["fit"]
    current = fitted["current"]
    card = card_for(fit, current=current, psi_threshold=0.25)
    expected = drift_frame(fit.reference, current, threshold=0.25)
    assert card["drift"]["measured"] is True
    assert card["drift"]["flagged"] == flagged_features(expected)
    assert card["drift"]["current_projects"] == current["project_id"].nunique()
    assert {f["feature"] for f in card["drift"]["features"]} == set(fit.reference["features"])
    unmeasured = build_card(fit)
    assert unmeasured["drift"]["measured"] is False and unmeasured["drift"]["flagged"] == []


def test_markdown_card_has_every_section(fitted: dict[str, Any]) -> None:
    """The Markdown card shows the target, data table, metrics, limitations and drift."""
    card = card_for(fitted["fit"], current=fitted["current"], psi_threshold=0.25)
    text = card_markdown(card, version="4")
    assert text.startswith("# Model card: schedule (version 4)")
    for heading in ("## Data", "## Metrics", "## Known limitations", "## Drift at training time"):
        assert heading in text
    for limitation in card["limitations"]:
        assert limitation in text
    for feature in card["drift"]["flagged"]:
        assert feature in text
