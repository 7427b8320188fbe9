"""Report count and cadence, RAG ordinal and age, register counts."""

from __future__ import annotations

import math

import pandas as pd
import pytest

DATES = ["2024-01-11", "2024-01-31", "2024-02-20", "2024-03-11"]


def _a(frame: pd.DataFrame, row) -> pd.DataFrame:
    return pd.DataFrame([row(frame, "A", d) for d in DATES])


def test_reports_are_counted_and_spaced(tiny_features: pd.DataFrame, row) -> None:
    a = _a(tiny_features, row)
    assert a["n_reports"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert math.isnan(a["report_gap_days"].iloc[0])
    assert a["report_gap_days"].iloc[1:].tolist() == [20.0, 20.0, 20.0]


def test_rag_is_ordinal_with_worst_and_age_since_change(tiny_features: pd.DataFrame, row) -> None:
    a = _a(tiny_features, row)
    assert a["rag_score"].tolist() == [0.0, 1.0, 1.0, 2.0]
    assert a["rag_worst"].tolist() == [0.0, 1.0, 1.0, 2.0]
    assert a["rag_age_days"].tolist() == [0.0, 0.0, 20.0, 0.0]


def test_register_counts_and_their_trends(tiny_features: pd.DataFrame, row) -> None:
    last = row(tiny_features, "A", DATES[-1])
    assert last["open_risks"] == 6.0
    assert last["open_risks_trend"] == pytest.approx(1.0)  # 4, 5, 6
    assert last["change_requests_trend"] == pytest.approx(1.5)  # 1, 2, 4
    assert last["open_issues_trend"] == pytest.approx(0.5)  # 1, 2, 2


def test_no_rag_or_registers_reported_gives_nan(tiny_features: pd.DataFrame, row) -> None:
    b = row(tiny_features, "B", "2024-01-11")
    for name in ("rag_score", "rag_age_days", "open_risks", "open_issues_trend"):
        assert math.isnan(b[name]), name
