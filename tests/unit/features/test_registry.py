"""The feature registry and the plain-language driver phrases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.pipeline import build_features
from features.registry import (
    FEATURES,
    FeatureSpec,
    describe_driver,
    describe_drivers,
    feature_glossary,
    feature_table_markdown,
)

FIXED = [
    "elapsed_share",
    "percent_complete",
    "spi",
    "cpi",
    "spi_t",
    "sv_t_share",
    "tcpi",
    "tcpi_minus_cpi",
    "eac_bac_cpi",
    "eac_bac_composite",
    "ieac_t_share",
    "forecast_slip",
    "forecast_cost_growth",
    "budget_growth",
    "cpi_change",
    "cpi_trend",
    "cpi_volatility",
    "spi_t_trend",
    "forecast_slip_trend",
    "n_reestimates",
    "n_reports",
    "rag_score",
    "rag_age_days",
    "open_risks",
    "open_issues",
    "change_requests",
    "category",
    "log_budget",
    "planned_duration_days",
]


def test_registry_covers_every_output_column(tiny) -> None:
    f = build_features(*tiny)
    for col in f.columns[2:]:
        assert col in FEATURES or col.startswith("attr_"), col
    assert set(FIXED) <= set(FEATURES)


def test_specs_are_complete_and_frozen() -> None:
    for name, spec in FEATURES.items():
        assert spec.name == name
        assert spec.unit and spec.meaning and spec.fmt
        assert spec.higher_is in ("worse", "better", "neutral")
    with pytest.raises(AttributeError):
        FEATURES["cpi"].name = "x"  # type: ignore[misc]
    assert isinstance(FEATURES["cpi"], FeatureSpec)


@pytest.mark.parametrize(
    ("name", "value", "contribution", "target", "text"),
    [
        (
            "forecast_slip",
            0.21,
            0.4,
            "schedule",
            "Forecast finish has slipped 21% of planned duration — raises schedule risk",
        ),
        ("cpi", 0.82, 0.3, "cost", "CPI is 0.82 (spending more than earned) — raises cost risk"),
        (
            "cpi_trend",
            -0.04,
            0.1,
            "cost",
            "CPI trend over the last 3 reports is −0.04 per report — raises cost risk",
        ),
        (
            "spi_t",
            1.1,
            -0.2,
            "schedule",
            "SPI(t) is 1.10 (ahead of schedule) — lowers schedule risk",
        ),
        ("rag_score", 2.0, 0.2, "cost", "RAG status is red — raises cost risk"),
        ("category", "Bridges", 0.1, "cost", "Category is Bridges — raises cost risk"),
        (
            "forecast_cost_growth",
            -0.05,
            -0.1,
            "cost",
            "Forecast cost is 5% under the baseline budget — lowers cost risk",
        ),
        ("log_budget", 6.5, 0.1, "cost", "Baseline budget is 3.2M — raises cost risk"),
        (
            "rag_age_days",
            42.0,
            0.0,
            "cost",
            "Days at the current RAG status is 42 days — does not move cost risk",
        ),
    ],
)
def test_describe_driver_phrases_value_and_direction(
    name: str, value: float | str, contribution: float, target: str, text: str
) -> None:
    assert describe_driver(name, value, contribution, target) == text


def test_describe_driver_missing_values_and_attributes() -> None:
    assert describe_driver("cpi", math.nan, 0.2, "cost") == (
        "No earned value reported — raises cost risk"
    )
    assert describe_driver("forecast_slip", None, -0.1, "schedule").startswith(
        "No forecast reported — lowers"
    )
    assert describe_driver("attr_complexity", 4.0, 0.1, "schedule") == (
        "Project attribute 'complexity' is 4 — raises schedule risk"
    )
    assert "raises" in describe_driver("unknown_feature", 1.5, 1.0, "cost")
    assert describe_driver("spi_t", pd.NA, 0.5, "schedule").startswith("No earned value")
    assert describe_driver("cpi", np.float64(1.2), -0.5, "cost") == (
        "CPI is 1.20 (earning more than spent) — lowers cost risk"
    )


def test_every_feature_has_a_phrase_for_values_and_missing() -> None:
    for name in FEATURES:
        value: float | str = "IT" if name == "category" else 1.25
        assert describe_driver(name, value, 1.0, "cost").endswith("raises cost risk")
        assert describe_driver(name, None, -1.0, "cost").endswith("lowers cost risk")


def test_feature_table_lists_every_feature() -> None:
    table = feature_table_markdown()
    for name in FEATURES:
        assert f"| `{name}` |" in table
    assert table.count("\n") == len(FEATURES) + 3


def test_feature_glossary_gives_title_unit_and_meaning() -> None:
    """Known features from the registry; project attributes and unknown names still get a row."""
    glossary = feature_glossary(["cpi", "attr_team_size", "mystery"])
    assert list(glossary.index) == ["cpi", "attr_team_size", "mystery"]
    assert list(glossary.columns) == ["title", "unit", "meaning"]
    assert glossary.loc["cpi", "title"] == FEATURES["cpi"].title
    assert glossary.loc["cpi", "meaning"] == FEATURES["cpi"].meaning
    assert glossary.loc["attr_team_size", "title"] == "team_size"
    assert glossary.loc["mystery", "meaning"] == ""


EDGE_VALUES = [
    0.0, -0.0, 1.0, -1.0, 0.995, 0.9951, 1.0049, 1.005, 0.004999, 0.5, 0.125, -0.125, 2.5, 3.0,
    -3.0, 1e-9, -1e-9, 12.345, -12.345, 0.0049, -0.0049, 0.005, 250.0, -250.0, 4.0, 9.5, 300.0,
    math.nan, None, "", "IT", 3, np.float64(0.82), np.int64(2), pd.NA, True,
]  # fmt: skip


@pytest.mark.parametrize("name", [*FEATURES, "attr_team_size", "not_a_feature"])
def test_describe_drivers_says_what_describe_driver_says(name: str) -> None:
    """Many values of one feature in one call: the very words of one call per value, at
    rounding edges, signs, missing values, text and integers, for every feature."""
    contributions = [0.3, -0.2, 0.0, math.nan]
    values = [v for v in EDGE_VALUES for _ in contributions]
    cs = contributions * len(EDGE_VALUES)
    for target in ("schedule", "cost"):
        assert describe_drivers(name, values, cs, target) == [
            describe_driver(name, v, c, target) for v, c in zip(values, cs, strict=True)
        ]
        assert describe_driver.many(name, values, cs, target) == describe_drivers(
            name, values, cs, target
        )


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(FEATURES)),
    values=st.lists(st.floats(-300.0, 300.0) | st.just(math.nan), max_size=20),
    sign=st.sampled_from([1.0, -1.0, 0.0]),
)
def test_describe_drivers_equals_describe_driver_on_any_float(
    name: str, values: list[float], sign: float
) -> None:
    cs = [sign * (i + 1) for i in range(len(values))]
    assert describe_drivers(name, values, cs, "cost") == [
        describe_driver(name, v, c, "cost") for v, c in zip(values, cs, strict=True)
    ]
