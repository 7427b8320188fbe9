"""Reading CSV/XLSX as text, and importing files into the store (all or nothing)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from features.sources.importer import import_files, validate_files
from features.sources.tabular import read_table
from risk_model.exceptions import ValidationFailed
from risk_model.store import ImportSummary, Store

TEMPLATES = Path(__file__).resolve().parents[3] / "risk_model" / "templates"

PROJECTS_CSV = """\
Project ID,Name,Portfolio,Category,Start Date,Baseline-Finish,Baseline Budget,Region
P1,Alpha,Infra,Bridges,2021-01-04,2022-06-30,"$1,200,000",North
P2,Bravo,Infra,Roads,03/01/2021,2022-12-31,800000,South
P3,Charlie,Digital,IT,2021-06-01,2022-03-31,"250,000.50",
"""

SNAPSHOTS_CSV = """\
project_id,as_of,percent_complete,earned_value,rag
P1,2021-03-31,10,100000,G
P1,2021-06-30,25%,"300,000",amber
P2,2021-06-30,5,,Red
P3,2021-09-30,40,90000,green
"""


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def problem_texts(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as conn:
        return {
            t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
            for t in ("projects", "snapshots", "meta")
        }


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'store.db'}").init()


# --- read_table --------------------------------------------------------------------------


def test_csv_cells_are_text_headers_normalised_index_is_row_minus_two(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path / "p.csv", PROJECTS_CSV))
    assert list(frame.columns) == [
        "project_id", "name", "portfolio", "category", "start_date", "baseline_finish",
        "baseline_budget", "region",
    ]  # fmt: skip
    assert list(frame.index) == [0, 1, 2]
    assert frame.loc[0, "baseline_budget"] == "$1,200,000"
    assert frame.loc[2, "region"] is None
    assert all(v is None or isinstance(v, str) for v in frame.to_numpy().ravel())
    assert frame["project_id"].dtype == object


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_csv_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    text = f"project_id{delimiter}baseline_budget\nP1{delimiter}1,234.5\n"
    frame = read_table(write(tmp_path / "p.csv", text))
    assert frame.to_dict("records") == [{"project_id": "P1", "baseline_budget": "1,234.5"}]


def test_csv_with_bom_and_latin1_encodings(tmp_path: Path) -> None:
    bom = read_table(write(tmp_path / "a.csv", "project_id,name\nP1,Café\n", "utf-8-sig"))
    assert list(bom.columns) == ["project_id", "name"] and bom.loc[0, "name"] == "Café"
    latin = read_table(write(tmp_path / "b.csv", "project_id;name\nP1;Café\n", "latin-1"))
    assert latin.loc[0, "name"] == "Café"


def test_trailing_blank_rows_are_dropped(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path / "p.csv", "project_id,name\nP1,a\n,\n\n"))
    assert len(frame) == 1


def test_short_rows_are_padded_and_every_cell_is_stripped(tmp_path: Path) -> None:
    text = 'project_id,name,region\n P1 , a ,"  "\nP2\n\n P3,,\t\n'
    frame = read_table(write(tmp_path / "p.csv", text))
    assert frame.to_dict("records") == [
        {"project_id": "P1", "name": "a", "region": None},
        {"project_id": "P2", "name": None, "region": None},
        {"project_id": None, "name": None, "region": None},  # the blank line keeps its row
        {"project_id": "P3", "name": None, "region": None},
    ]


def test_values_beyond_the_header_are_a_problem_naming_the_column(tmp_path: Path) -> None:
    text = "project_id,name\nP1,a\nP2,b,stray\nP3,c,,\n"
    with pytest.raises(ValidationFailed) as info:
        read_table(write(tmp_path / "p.csv", text))
    assert problem_texts(info) == ["p.csv: column 3 has values but no header name"]
    quiet = read_table(write(tmp_path / "q.csv", "project_id,name\nP1,a,,\nP2\n"))
    assert list(quiet.columns) == ["project_id", "name"] and len(quiet) == 2


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "", "empty.csv: the file is empty (no header row)"),
        ("p.json", "{}", "p.json: unknown file type '.json'; use .csv or .xlsx"),
        ("bad.xlsx", "not a zip", "bad.xlsx: cannot read the file as an Excel workbook"),
        ("dup.csv", "a,A\n1,2\n", "dup.csv column a: column a appears more than once"),
    ],
)
def test_unreadable_files_raise_with_the_file_named(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        read_table(write(tmp_path / name, content))
    assert problem_texts(info)[0].startswith(message)


def test_missing_file_is_a_problem_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as info:
        read_table(tmp_path / "nowhere.csv")
    assert problem_texts(info)[0].startswith("nowhere.csv: cannot read the file")


def test_xlsx_first_sheet_and_cells_shown_as_text(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "book.xlsx",
        {
            "Projects": [
                ["Project ID", "Start Date", "Baseline Budget", "Score", None],
                ["P1", datetime(2021, 1, 4), 1200000, 0.5, None],
                ["P2", datetime(2021, 3, 1, 14, 30), 800000.0, None, None],
                [None, None, None, None, None],
            ],
            "Other": [["x"], ["y"]],
        },
    )
    frame = read_table(path)
    assert list(frame.columns) == ["project_id", "start_date", "baseline_budget", "score"]
    assert frame.to_dict("records") == [
        {"project_id": "P1", "start_date": "2021-01-04", "baseline_budget": "1200000",
         "score": "0.5"},
        {"project_id": "P2", "start_date": "2021-03-01 14:30:00", "baseline_budget": "800000",
         "score": None},
    ]  # fmt: skip


def test_xlsx_named_sheet_and_unknown_sheet(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "book.xlsx", {"A": [["x"], ["1"]], "Snapshots": [["y"], ["2"]]})
    assert read_table(path, sheet="Snapshots").to_dict("records") == [{"y": "2"}]
    with pytest.raises(ValidationFailed) as info:
        read_table(path, sheet="Nope")
    assert problem_texts(info) == ["book.xlsx[Nope]: no sheet 'Nope'; sheets: A, Snapshots"]


# --- import_files / validate_files -------------------------------------------------------


def test_templates_import_and_reimport_changes_nothing(store: Store) -> None:
    first = import_files(store, TEMPLATES / "projects.csv", TEMPLATES / "snapshots.csv")
    assert first == ImportSummary(3, 0, 10, 0, 0, 1)
    second = import_files(store, TEMPLATES / "projects.csv", TEMPLATES / "snapshots.csv")
    assert second == ImportSummary(0, 0, 0, 0, 13, 1)
    assert store.project("BR-001")["sponsor"] == "Roads Agency"


def test_csv_import_end_to_end(store: Store, tmp_path: Path) -> None:
    summary = import_files(
        store, write(tmp_path / "p.csv", PROJECTS_CSV), write(tmp_path / "s.csv", SNAPSHOTS_CSV)
    )
    assert summary.projects_inserted == 3 and summary.snapshots_inserted == 4
    p2 = store.project("P2")
    assert str(p2["start_date"].date()) == "2021-03-01"
    assert store.project("P1")["baseline_budget"] == 1_200_000.0
    snaps = store.snapshots(project_ids=["P1"])
    assert snaps["percent_complete"].tolist() == [10.0, 25.0]
    assert snaps["rag"].tolist() == ["green", "amber"]


def test_later_snapshot_file_may_refer_to_stored_projects(store: Store, tmp_path: Path) -> None:
    import_files(store, write(tmp_path / "p.csv", PROJECTS_CSV))
    later = "project_id,as_of,percent_complete\nP1,2021-12-31,70\n"
    summary = import_files(store, snapshots_path=write(tmp_path / "s2.csv", later))
    assert summary.snapshots_inserted == 1 and summary.revision == 2


def test_rejected_import_changes_nothing(store: Store, tmp_path: Path) -> None:
    import_files(store, TEMPLATES / "projects.csv", TEMPLATES / "snapshots.csv")
    before = dump(tmp_path / "store.db")
    bad = SNAPSHOTS_CSV.replace("2021-06-30,25%", "2021-13-01,25%").replace(
        "P3,2021-09-30", "P9,2021-09-30"
    )
    with pytest.raises(ValidationFailed) as info:
        import_files(
            store, write(tmp_path / "p.csv", PROJECTS_CSV), write(tmp_path / "snapshots.csv", bad)
        )
    assert problem_texts(info) == [
        "snapshots.csv row 3, column as_of: '2021-13-01' is not a date",
        "snapshots.csv row 5, column project_id: project 'P9' is not in p.csv or the store",
    ]
    assert dump(tmp_path / "store.db") == before


def test_good_import_is_never_half_applied(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_files(store, TEMPLATES / "projects.csv")
    before = dump(tmp_path / "store.db")
    # Validation is told GHOST exists; the database's foreign key disagrees mid-transaction,
    # after the new projects were already written inside it.
    monkeypatch.setattr(store, "project_ids", lambda: {"BR-001", "GHOST"})
    snaps = "project_id,as_of\nP1,2021-03-31\nGHOST,2021-03-31\n"
    with pytest.raises(sa.exc.IntegrityError):
        import_files(
            store, write(tmp_path / "p.csv", PROJECTS_CSV), write(tmp_path / "s.csv", snaps)
        )
    assert dump(tmp_path / "store.db") == before
    assert store.revision() == 1


def test_xlsx_import_with_sheet_choice(store: Store, tmp_path: Path) -> None:
    book = write_xlsx(
        tmp_path / "portfolio.xlsx",
        {
            "Readme": [["Fill in the two sheets"]],
            "Projects": [["project_id", "start_date", "region"], ["X1", datetime(2022, 1, 3), "E"]],
            "Reports": [
                ["Project ID", "As Of", "Percent Complete", "RAG"],
                ["X1", datetime(2022, 3, 31), 12.5, "A"],
                ["X1", "04/30/2022", "20", "r"],
            ],
        },
    )
    summary = import_files(store, book, book, projects_sheet="Projects", snapshots_sheet="Reports")
    assert (summary.projects_inserted, summary.snapshots_inserted) == (1, 2)
    snaps = store.snapshots()
    assert snaps["as_of"].dt.strftime("%Y-%m-%d").tolist() == ["2022-03-31", "2022-04-30"]
    assert snaps["rag"].tolist() == ["amber", "red"]
    assert store.projects()["region"].tolist() == ["E"]


def test_xlsx_problems_name_the_sheet(tmp_path: Path) -> None:
    book = write_xlsx(
        tmp_path / "portfolio.xlsx",
        {"Projects": [["project_id", "baseline_budget"], ["X1", -5]]},
    )
    with pytest.raises(ValidationFailed) as info:
        validate_files(book, projects_sheet="Projects")
    assert problem_texts(info) == [
        "portfolio.xlsx[Projects] row 2, column baseline_budget: "
        "baseline_budget must not be negative"
    ]


def test_validate_files_is_a_dry_run(store: Store, tmp_path: Path) -> None:
    projects, snapshots = validate_files(
        write(tmp_path / "p.csv", PROJECTS_CSV),
        write(tmp_path / "s.csv", SNAPSHOTS_CSV),
        known_project_ids=frozenset(store.project_ids()),
    )
    assert projects is not None and len(projects) == 3
    assert snapshots is not None and len(snapshots) == 4
    assert store.counts() == {"projects": 0, "snapshots": 0}


def test_read_problems_of_every_file_are_reported_together(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_files(write(tmp_path / "p.txt", ""), tmp_path / "missing.csv")
    texts = problem_texts(info)
    assert len(texts) == 2
    assert texts[0].startswith("p.txt: the file is empty")
    assert texts[1].startswith("missing.csv: cannot read the file")


def test_utf16_tab_separated_export_is_read(tmp_path: Path) -> None:
    """Excel's "Unicode text" export: UTF-16 with BOM, tab separated."""
    frame = read_table(write(tmp_path / "p.txt", "Project ID\tName\nP1\tCafé\n", "utf-16"))
    assert frame.to_dict("records") == [{"project_id": "P1", "name": "Café"}]
