"""Mapping suggestions from real headers (UK GMPP, US IT Dashboard) and common PMO names."""

from __future__ import annotations

from pathlib import Path

import yaml

from features.sources.intake import read_survey, survey
from features.sources.mapping import mapping_to_yaml, parse_mapping
from features.sources.suggest import suggest_mapping
from features.sources.tabular import read_headers
from risk_model.exceptions import ValidationFailed

GMPP_2023 = "uk_gmpp/GMPP_Government_Major_Projects_Portofolio_AR_Data_March_2023.csv"
ITD = "us_it_dashboard_2012/projects.csv"


def test_common_pmo_names_map_to_their_fields() -> None:
    headers = [
        "Project Code",
        "Status Date",
        "BCWS",
        "BCWP",
        "ACWP",
        "EAC",
        "Baseline Finish",
        "Forecast Completion",
        "Physical % Complete",
        "RAG Status",
        "Comments",
    ]
    s = suggest_mapping(headers)
    assert s.mapping.snapshots == {
        "project_id": "Project Code",
        "as_of": "Status Date",
        "percent_complete": "Physical % Complete",
        "planned_value": "BCWS",
        "earned_value": "BCWP",
        "actual_cost": "ACWP",
        "forecast_finish": "Forecast Completion",
        "forecast_cost": "EAC",
        "rag": "RAG Status",
    }
    assert s.mapping.projects == {
        "project_id": "Project Code",
        "baseline_finish": "Baseline Finish",
    }
    assert s.unmapped == ["Comments"]
    assert suggest_mapping(["Data Date", "Project ID"]).mapping.snapshots["as_of"] == "Data Date"


def test_formats_are_guessed_from_values() -> None:
    import pandas as pd

    headers = ["Project ID", "Report Date", "EV (€k)", "% Complete"]
    sample = pd.DataFrame(
        {
            "Project ID": ["A", "A"],
            "Report Date": ["31.01.2023", "28.02.2023"],
            "EV (€k)": ["1.234,5", "2.000,0"],
            "% Complete": ["0,1", "0,25"],
        }
    )
    m = suggest_mapping(headers, sample).mapping
    assert (m.date_format, m.number_format, m.percent, m.currency, m.money_unit) == (
        "DD.MM.YYYY",
        "1.234,56",
        "0-1",
        "EUR",
        1000.0,
    )


def test_gmpp_headers(shared_data: Path) -> None:
    """GMPP's long headers map; money is £m; no report-date column, so projects only."""
    headers, frame = read_headers(shared_data / GMPP_2023)
    m = suggest_mapping(headers, frame).mapping
    assert m.projects["project_id"] == "GMPP ID Number"
    assert m.projects["name"] == "Project Name"
    assert m.projects["category"] == "Annual Report Category"
    assert m.projects["start_date"].startswith("Project - Start Date")
    assert m.projects["baseline_finish"].startswith("Project - End Date")
    assert m.projects["baseline_budget"].startswith("TOTAL Baseline Whole Life Costs")
    assert (m.money_unit, m.currency) == (1e6, "GBP")
    assert m.snapshots == {}


def test_it_dashboard_headers_and_the_suggested_mapping_on_the_real_file(
    shared_data: Path,
) -> None:
    """The suggestion maps planned vs projected fields; importing with it names bad rows."""
    path = shared_data / ITD
    headers, frame = read_headers(path)
    s = suggest_mapping(headers, frame)
    m = parse_mapping(yaml.safe_load(mapping_to_yaml(s.mapping, s.notes)), "itd.yaml")
    assert m.projects["project_id"] == m.snapshots["project_id"] == "Project ID"
    assert m.snapshots["as_of"] == "Updated Date"
    assert m.projects["baseline_finish"] == "Planned Project Completion Date (B2)"
    assert m.snapshots["forecast_finish"] == "Projected/Actual Project Completion Date (B2)"
    assert m.projects["baseline_budget"] == "Planned Cost ($ M)"
    assert m.snapshots["forecast_cost"] == "Projected/Actual Cost ($ M)"
    assert (m.money_unit, m.currency, m.number_format) == (1e6, "USD", "1,234.56")

    found = survey([path], m)
    assert [t.role for t in found.tables] == ["flat"]
    # rows whose planned completion is before their start, read straight from the file
    start, planned = frame["Start Date"], frame["Planned Project Completion Date (B2)"]
    both = start.notna() & planned.notna()
    bad_rows = sorted(int(i) + 2 for i in frame.index[both] if planned[i][:10] < start[i][:10])
    try:
        read_survey(found)
    except ValidationFailed as exc:
        problems = exc.problems
    else:
        problems = []
    assert bad_rows
    assert [p.row for p in problems] == bad_rows
    assert {p.column for p in problems} == {
        "Planned Project Completion Date (B2) (baseline_finish)"
    }
    assert all("finish before start" in p.message for p in problems)
