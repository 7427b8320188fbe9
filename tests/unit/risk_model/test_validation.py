"""validate_tables: every problem reported by file, row and column; canonical frames out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from risk_model.exceptions import Problem, ValidationFailed
from risk_model.schemas import PROJECT_FIELDS, SNAPSHOT_FIELDS
from risk_model.validation import parse_date, parse_number, validate_tables


def raw(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A raw text frame as read_table gives it (object dtype, None for blank)."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    data = {c: np.array([r.get(c) for r in rows], dtype=object) for c in columns}
    return pd.DataFrame(data, columns=columns, dtype=object)


def good_projects() -> pd.DataFrame:
    return raw(
        [
            {"project_id": "P1", "start_date": "2022-01-10", "baseline_finish": "2023-01-10",
             "baseline_budget": "1000", "region": "North", "headcount": "12"},
            {"project_id": "P2", "start_date": "2022-02-01", "baseline_finish": "2022-12-31",
             "baseline_budget": "2,500.50", "actual_finish": "2023-02-01", "region": "South",
             "headcount": "7"},
        ]
    )  # fmt: skip


def good_snapshots() -> pd.DataFrame:
    return raw(
        [
            {"project_id": "P1", "as_of": "2022-03-31", "percent_complete": "20",
             "rag": "G", "open_risks": "3"},
            {"project_id": "P1", "as_of": "2022-06-30", "percent_complete": "45%",
             "rag": "Amber", "open_risks": "4"},
            {"project_id": "P2", "as_of": "2022-05-31", "percent_complete": "50",
             "rag": "red", "open_risks": None},
        ]
    )  # fmt: skip


def problems_of(
    projects: pd.DataFrame | None, snapshots: pd.DataFrame | None, **kwargs: Any
) -> list[Problem]:
    with pytest.raises(ValidationFailed) as info:
        validate_tables(projects, snapshots, **kwargs)
    return info.value.problems


def texts(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems]


def test_good_tables_come_back_conformed_with_attributes_and_defaults() -> None:
    projects, snapshots = validate_tables(good_projects(), good_snapshots())
    assert projects is not None and snapshots is not None
    assert list(projects.columns[: len(PROJECT_FIELDS)]) == list(PROJECT_FIELDS)
    assert list(projects.columns[len(PROJECT_FIELDS) :]) == ["region", "headcount"]
    assert projects["headcount"].dtype == "float64"
    assert projects["region"].tolist() == ["North", "South"]
    assert projects["baseline_budget"].tolist() == [1000.0, 2500.5]
    assert projects["start_date"].dtype == "datetime64[ns]"
    # status defaults: completed when actual_finish is present, else active
    assert projects["status"].tolist() == ["active", "completed"]
    assert list(snapshots.columns) == list(SNAPSHOT_FIELDS)
    assert snapshots["rag"].tolist() == ["green", "amber", "red"]
    assert snapshots["percent_complete"].tolist() == [20.0, 45.0, 50.0]
    assert snapshots["open_risks"].isna().tolist() == [False, False, True]


def test_missing_required_columns_are_named_with_their_file() -> None:
    projects = raw([{"name": "x"}])
    snapshots = raw([{"project_id": "P1", "percent_complete": "10"}])
    found = texts(problems_of(projects, snapshots))
    # no spurious "unknown project" problems when the projects table has no id column
    assert found == [
        "projects.csv column project_id: required column project_id is missing",
        "snapshots.csv column as_of: required column as_of is missing",
    ]


def test_missing_key_values_are_reported_by_row() -> None:
    snapshots = raw(
        [
            {"project_id": "P1", "as_of": "2022-03-31"},
            {"project_id": None, "as_of": "2022-04-30"},
            {"project_id": "P1", "as_of": None, "phase": "Build"},
        ]
    )
    found = texts(problems_of(good_projects(), snapshots))
    assert found == [
        "snapshots.csv row 3, column project_id: project_id is missing",
        "snapshots.csv row 4, column as_of: as_of is missing",
    ]


def test_unparseable_date_is_reported_once_with_its_value() -> None:
    snapshots = good_snapshots()
    snapshots.loc[1, "as_of"] = "2023-13-01"
    problems = problems_of(good_projects(), snapshots, snapshots_name="snapshots.csv")
    assert texts(problems) == ["snapshots.csv row 3, column as_of: '2023-13-01' is not a date"]
    assert problems[0].row == 3 and problems[0].column == "as_of"
    assert problems[0].value == "2023-13-01"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014-05-01", "2014-05-01"),
        ("05/01/2014", "2014-05-01"),  # month first
        ("5/1/14", "2014-05-01"),
        ("2014-05-01 13:45:00", "2014-05-01"),
        ("2014-05-01T13:45", "2014-05-01"),
        ("05/01/2014 09:30", "2014-05-01"),
        ("1 May 2014", "2014-05-01"),
        ("May 1, 2014", "2014-05-01"),
        ("2014/05/01", "2014-05-01"),
    ],
)
def test_accepted_date_forms(text: str, expected: str) -> None:
    assert parse_date(text) == pd.Timestamp(expected)


@pytest.mark.parametrize("text", ["2023-13-01", "31/12/2023", "soon", "2023-02-30", "12"])
def test_rejected_date_forms(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.5", 1234.5),
        ("$1,200", 1200.0),
        ("€ 300", 300.0),
        ("(1,200)", -1200.0),
        ("45%", 45.0),
        (" 12 ", 12.0),
        ("1e3", 1000.0),
    ],
)
def test_accepted_number_forms(text: str, expected: float) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["1,2", "abc", "nan", "inf", "12..5", "1,23,456"])
def test_rejected_number_forms(text: str) -> None:
    assert parse_number(text) is None


def test_bad_numbers_negative_amounts_and_ranges_are_all_reported() -> None:
    projects = good_projects()
    projects.loc[0, "baseline_budget"] = "lots"
    projects.loc[1, "baseline_budget"] = "-5"
    snapshots = good_snapshots()
    snapshots.loc[0, "percent_complete"] = "101"
    snapshots.loc[1, "open_risks"] = "-1"
    snapshots.loc[2, "open_risks"] = "2.5"
    found = texts(problems_of(projects, snapshots))
    assert found == [
        "projects.csv row 2, column baseline_budget: 'lots' is not a number",
        "projects.csv row 3, column baseline_budget: baseline_budget must not be negative",
        "snapshots.csv row 2, column percent_complete: percent_complete must be between 0 and 100",
        "snapshots.csv row 3, column open_risks: open_risks must not be negative",
        "snapshots.csv row 4, column open_risks: open_risks must be a whole number",
    ]


def test_percent_below_zero_is_out_of_range() -> None:
    snapshots = good_snapshots()
    snapshots.loc[2, "percent_complete"] = "-3"
    (problem,) = problems_of(good_projects(), snapshots)
    assert str(problem) == (
        "snapshots.csv row 4, column percent_complete: percent_complete must be between 0 and 100"
    )


def test_blank_numbers_are_missing_not_errors() -> None:
    snapshots = good_snapshots()
    snapshots["earned_value"] = np.array([None, "  ", "$1,000"], dtype=object)
    _, out = validate_tables(good_projects(), snapshots)
    assert out is not None
    assert out["earned_value"].isna().tolist() == [True, True, False]


def test_rag_and_status_choices() -> None:
    projects = good_projects()
    projects["status"] = np.array(["ACTIVE", "done"], dtype=object)
    snapshots = good_snapshots()
    snapshots.loc[2, "rag"] = "blue"
    found = texts(problems_of(projects, snapshots))
    assert found == [
        "projects.csv row 3, column status: status must be one of active, completed, cancelled",
        "snapshots.csv row 4, column rag: rag must be one of red, amber, green",
    ]


def test_status_is_case_insensitive_and_blank_defaults_from_actual_finish() -> None:
    projects = good_projects()
    projects["status"] = np.array(["Cancelled", None], dtype=object)
    out, _ = validate_tables(projects, None)
    assert out is not None
    assert out["status"].tolist() == ["cancelled", "completed"]


def test_active_project_with_actuals_is_accepted() -> None:
    projects = good_projects()
    projects["status"] = np.array(["active", "active"], dtype=object)
    projects["actual_cost"] = np.array(["900", None], dtype=object)
    out, _ = validate_tables(projects, None)
    assert out is not None
    assert out["status"].tolist() == ["active", "active"]
    assert out.loc[0, "actual_cost"] == 900.0


def test_duplicate_project_ids_name_both_rows() -> None:
    projects = good_projects()
    projects.loc[1, "project_id"] = "P1"
    (problem,) = problems_of(projects, None)
    assert (
        str(problem)
        == "projects.csv row 3, column project_id: duplicate project_id 'P1' (also row 2)"
    )


def test_duplicate_reports_name_both_rows_even_with_different_date_forms() -> None:
    snapshots = good_snapshots()
    snapshots.loc[1, "as_of"] = "03/31/2022 10:00"
    (problem,) = problems_of(good_projects(), snapshots)
    assert str(problem) == (
        "snapshots.csv row 3, column as_of: duplicate report for project 'P1' as_of 2022-03-31"
        " (also row 2)"
    )


def test_overlong_project_id_is_reported() -> None:
    projects = good_projects()
    projects.loc[1, "project_id"] = "X" * 256
    (problem,) = problems_of(projects, None)
    assert str(problem) == (
        "projects.csv row 3, column project_id: project_id is longer than 255 characters"
    )


def test_snapshot_of_unknown_project_is_reported() -> None:
    snapshots = good_snapshots()
    snapshots.loc[2, "project_id"] = "P9"
    (problem,) = problems_of(good_projects(), snapshots)
    assert str(problem) == (
        "snapshots.csv row 4, column project_id: project 'P9' is not in projects.csv or the store"
    )


def test_snapshots_alone_may_refer_to_known_projects() -> None:
    _, out = validate_tables(None, good_snapshots(), known_project_ids=frozenset({"P1", "P2"}))
    assert out is not None and len(out) == 3
    (problem,) = problems_of(None, good_snapshots(), known_project_ids=frozenset({"P1"}))
    assert str(problem) == (
        "snapshots.csv row 4, column project_id: project 'P2' is not in the store"
    )


def test_finish_before_start_is_reported_for_baseline_and_actual() -> None:
    projects = good_projects()
    projects.loc[0, "baseline_finish"] = "2021-12-31"
    projects.loc[1, "actual_finish"] = "2022-01-15"
    found = texts(problems_of(projects, None))
    assert found == [
        "projects.csv row 2, column baseline_finish: finish before start: baseline_finish "
        "2021-12-31 is before start_date 2022-01-10",
        "projects.csv row 3, column actual_finish: finish before start: actual_finish "
        "2022-01-15 is before start_date 2022-02-01",
    ]


def test_every_problem_is_collected_and_files_are_named() -> None:
    projects = good_projects()
    projects.loc[0, "start_date"] = "yesterday"
    projects.loc[1, "baseline_budget"] = "-1"
    snapshots = good_snapshots()
    snapshots.loc[0, "rag"] = "purple"
    snapshots.loc[1, "percent_complete"] = "many"
    snapshots.loc[2, "as_of"] = "2022-02-30"
    problems = problems_of(
        projects, snapshots, projects_name="book.xlsx[Projects]", snapshots_name="s.csv"
    )
    assert [(p.file, p.row, p.column) for p in problems] == [
        ("book.xlsx[Projects]", 2, "start_date"),
        ("book.xlsx[Projects]", 3, "baseline_budget"),
        ("s.csv", 2, "rag"),
        ("s.csv", 3, "percent_complete"),
        ("s.csv", 4, "as_of"),
    ]


def test_signal_groups_and_snapshot_file_may_be_absent() -> None:
    projects = raw([{"project_id": "P1"}, {"project_id": "P2"}])
    out, snaps = validate_tables(projects, None)
    assert snaps is None
    assert out is not None and out["project_id"].tolist() == ["P1", "P2"]
    assert out["baseline_budget"].isna().all() and out["status"].tolist() == ["active"] * 2
    _, only_keys = validate_tables(projects, raw([{"project_id": "P1", "as_of": "2022-01-31"}]))
    assert only_keys is not None and only_keys["earned_value"].isna().all()


def test_fully_blank_rows_are_ignored() -> None:
    snapshots = good_snapshots()
    blank = pd.DataFrame([[None] * len(snapshots.columns)], columns=snapshots.columns)
    with_blank = pd.concat([snapshots.iloc[:1], blank, snapshots.iloc[1:]], ignore_index=True)
    with_blank.loc[3, "rag"] = "violet"
    problems = problems_of(good_projects(), with_blank.astype(object))
    assert texts(problems) == [
        "snapshots.csv row 5, column rag: rag must be one of red, amber, green"
    ]


def test_mixed_text_attribute_stays_text() -> None:
    projects = good_projects()
    projects["code"] = np.array(["007", "A12"], dtype=object)
    out, _ = validate_tables(projects, None)
    assert out is not None
    assert out["code"].tolist() == ["007", "A12"]


# --- column-at-a-time parsing gives what the per-cell rules give ----------------------------

NUMBER_CELLS = [
    "12", " 12 ", "1,234.5", "$1,200", "€ 300", "12%", "(1,200)", "1,5", "abc", "1_000", "inf",
    "nan", "-5", "3.5", "1e400", "1e3", ".5", "5.", "+7", "\u00a042", "USD 10", "10 usd", "1.USD",
    "0x10", "--1", "1 000", "12,34,567", "(5)", "1,000,000.25", "1e-3", "-0", "£5", "\t5",
    "12 %", "(12%)", "$(12)", "1,23", "12,345.", "e5", "Infinity", "1.2.3", "12", "3.5",
]  # fmt: skip
DATE_CELLS = [
    "2023-01-05", "2023-1-5", "2023/01/05", "05/01/2014", "5/1/14", "05-01-2014", "5 Jan 2014",
    "Jan 5, 2014", "January 5 2014", "2023-01-05 14:30", "2023-01-05T14:30:00Z",
    "2023-01-05T14:30:00+02:00", "2023-02-30", "13/13/2020", "notadate", "05/01/2014 2:30 PM",
    "20230105", "5-Jan-14", "2014-13-01", "Feb 29, 2021", "29 Feb 2020", "2023-01-05", "5/1/14",
]  # fmt: skip


def _one_column_snapshots(column: str, cells: list[str | None]) -> pd.DataFrame:
    """Snapshots of project P1, one report a day, ``column`` holding ``cells``."""
    days = pd.date_range("2022-01-01", periods=len(cells), freq="D").strftime("%Y-%m-%d")
    return raw(
        [{"project_id": "P1", "as_of": day, column: c} for day, c in zip(days, cells, strict=True)]
    )


def _p1() -> pd.DataFrame:
    return raw([{"project_id": "P1"}])


def test_number_column_values_are_parse_number_of_each_cell() -> None:
    accepted = [c for c in NUMBER_CELLS if (v := parse_number(c)) is not None and v >= 0]
    cells = [*accepted, None, "  "]
    _, snaps = validate_tables(_p1(), _one_column_snapshots("budget", cells))
    assert snaps is not None
    expected = [np.nan if (v := parse_number(c or "")) is None else v for c in cells]
    np.testing.assert_array_equal(snaps["budget"].to_numpy(), np.array(expected, dtype=float))


def test_number_problems_are_exactly_the_cells_parse_number_rejects() -> None:
    cells: list[str | None] = [*NUMBER_CELLS, None, " "]
    problems = problems_of(_p1(), _one_column_snapshots("open_risks", cells))
    not_numbers = [p for p in problems if p.message.endswith("is not a number")]
    expected = [
        Problem("snapshots.csv", i + 2, "open_risks", f"{c.strip()!r} is not a number", c.strip())
        for i, c in enumerate(cells)
        if c is not None and c.strip() and parse_number(c.strip()) is None
    ]
    assert not_numbers == expected and expected
    negative = [p.row for p in problems if p.message == "open_risks must not be negative"]
    assert negative == [
        i + 2 for i, c in enumerate(cells) if c is not None and (parse_number(c) or 0) < 0
    ]


def test_date_column_values_and_problems_follow_parse_date_cell_by_cell() -> None:
    good = [c for c in DATE_CELLS if parse_date(c) is not None] + [None]
    _, snaps = validate_tables(_p1(), _one_column_snapshots("forecast_finish", good))
    assert snaps is not None
    expected = [pd.NaT if c is None else parse_date(c) for c in good]
    assert snaps["forecast_finish"].tolist() == expected
    problems = problems_of(_p1(), _one_column_snapshots("forecast_finish", DATE_CELLS))
    assert problems == [
        Problem("snapshots.csv", i + 2, "forecast_finish", f"{c!r} is not a date", c)
        for i, c in enumerate(DATE_CELLS)
        if parse_date(c) is None
    ]


def test_rows_are_named_right_around_blank_rows_and_text_cells_of_any_kind() -> None:
    """Blank rows leave gaps in the index; problems still name the spreadsheet row, and
    non-text cells (as a caller's own frame may hold) are read as their text."""
    frame = pd.DataFrame(
        {
            "project_id": ["P1", None, "P1", "P1", None, "P1"],
            "as_of": ["2022-01-31", None, "2022-02-28", "soon", None, "2022-04-30"],
            "phase": [" Design ", None, 5, np.nan, None, pd.NA],
            "budget": ["1,000", None, 2.5, "lots", None, np.nan],
        },
        dtype=object,
    )
    problems = problems_of(_p1(), frame)
    assert texts(problems) == [
        "snapshots.csv row 5, column as_of: 'soon' is not a date",
        "snapshots.csv row 5, column budget: 'lots' is not a number",
    ]
    frame.loc[3, ["as_of", "budget"]] = ["2022-03-31", "7"]
    _, snaps = validate_tables(_p1(), frame)
    assert snaps is not None
    assert snaps["phase"].tolist() == ["Design", "5", None, None]
    assert snaps["budget"].tolist()[:3] == [1000.0, 2.5, 7.0] and np.isnan(snaps["budget"][3])


@pytest.mark.parametrize("text", ["1600-01-01", "9999-12-31", "01/01/1200"])
def test_dates_outside_the_supported_range_are_problems_not_crashes(text: str) -> None:
    assert parse_date(text) is not None  # a real date, just not one a frame can hold
    problems = problems_of(_p1(), _one_column_snapshots("forecast_finish", ["2022-01-01", text]))
    assert [(p.row, p.column, p.value) for p in problems] == [(3, "forecast_finish", text)]
    assert problems[0].message.startswith(f"{text!r} is outside the dates supported")
