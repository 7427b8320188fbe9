"""One import entry point: tables recognised by headers, mappings, formats, all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from features.sources.importer import import_paths
from features.sources.intake import read_survey, survey
from features.sources.mapping import load_mapping, parse_mapping
from features.sources.templates import WORKBOOK, write_templates
from risk_model.exceptions import ValidationFailed
from risk_model.schemas import PROJECT_FIELDS, SNAPSHOT_FIELDS
from risk_model.store import Store

PROJECTS = """\
Project Code,Title,Baseline Finish,Start,Budget (EUR)
P1,Alpha,30/06/2022,04/01/2021,"1.200.000,50"
P2,Bravo,31/12/2022,15/03/2021,"800.000"
"""
STATUS = """\
Project Code;Data Date;% Complete;BCWP;ACWP;Forecast Completion
P1;31/03/2021;0,1;"100.000";"120.000,75";15/07/2022
P1;30/06/2021;0,25;"300.000";"310.000";31/08/2022
P2;30/06/2021;0,05;;;31/12/2022
"""
MAPPING_YAML = """\
projects:
  project_id: Project Code
  name: Title
  baseline_finish: Baseline Finish
  start_date: Start
  baseline_budget: Budget (EUR)
snapshots:
  project_id: Project Code
  as_of: Data Date
  percent_complete: "% Complete"
  earned_value: BCWP
  actual_cost: ACWP
  forecast_finish: Forecast Completion
date_format: DD/MM/YYYY
number_format: "1.234,56"
currency: EUR
percent: 0-1
"""


@pytest.fixture
def european(tmp_path: Path) -> tuple[Path, Path, Path]:
    status = tmp_path / "status.csv"
    status.write_text(STATUS, encoding="utf-8")
    projects = tmp_path / "register.csv"
    projects.write_text(PROJECTS, encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING_YAML, encoding="utf-8")
    return status, projects, mapping


def test_european_numbers_and_day_first_dates_through_a_mapping(
    european: tuple[Path, Path, Path],
) -> None:
    """Files given in any order are told apart; "1.234,56", DD/MM/YYYY and 0-1 percent read."""
    status, projects_path, mapping_path = european
    found = survey([status, projects_path], load_mapping(mapping_path))
    assert [(t.path.name, t.role) for t in found.tables] == [
        ("status.csv", "snapshots"),
        ("register.csv", "projects"),
    ]
    projects, snapshots = read_survey(found)
    assert projects is not None and snapshots is not None
    p1 = projects.set_index("project_id").loc["P1"]
    assert p1["baseline_budget"] == 1_200_000.5
    assert p1["baseline_finish"].strftime("%Y-%m-%d") == "2022-06-30"
    assert p1["start_date"].strftime("%Y-%m-%d") == "2021-01-04"
    assert p1["currency"] == "EUR"
    first = snapshots.iloc[0]
    assert first["as_of"].strftime("%Y-%m-%d") == "2021-03-31"
    assert first["percent_complete"] == pytest.approx(10.0)
    assert first["actual_cost"] == 120_000.75
    assert first["forecast_finish"].strftime("%Y-%m-%d") == "2022-07-15"


def test_toml_mapping_reads_the_same(european: tuple[Path, Path, Path], tmp_path: Path) -> None:
    import yaml

    _, _, mapping_path = european
    data = yaml.safe_load(mapping_path.read_text())
    lines = []
    for key in ("date_format", "number_format", "currency", "percent"):
        lines.append(f'{key} = "{data[key]}"')
    for table in ("projects", "snapshots"):
        lines.append(f"[{table}]")
        lines += [f'{k} = "{v}"' for k, v in data[table].items()]
    toml = tmp_path / "mapping.toml"
    toml.write_text("\n".join(lines) + "\n")
    a = load_mapping(mapping_path)
    b = load_mapping(toml)
    assert (a.projects, a.snapshots, a.date_format, a.number_format, a.percent) == (
        b.projects,
        b.snapshots,
        b.date_format,
        b.number_format,
        b.percent,
    )


def test_cells_not_in_the_declared_format_name_file_row_and_user_column(
    european: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    status, projects_path, mapping_path = european
    status.write_text(
        STATUS.replace("30/06/2021;0,25", "2021-06-30;0,25").replace('"310.000"', "310,000.00")
    )
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}").init()
    found = survey([projects_path, status], load_mapping(mapping_path))
    with pytest.raises(ValidationFailed) as exc:
        import_paths(store, found)
    texts = [str(p) for p in exc.value.problems]
    assert texts == [
        "status.csv row 3, column Data Date (as_of): '2021-06-30' is not a date in the format "
        "DD/MM/YYYY",
        "status.csv row 3, column ACWP (actual_cost): '310,000.00' is not a number like 1.234,56",
    ]
    assert store.counts() == {"projects": 0, "snapshots": 0}


def test_a_mapped_column_missing_from_the_file_is_named(
    european: tuple[Path, Path, Path],
) -> None:
    status, projects_path, mapping_path = european
    mapping_path.write_text(MAPPING_YAML.replace("earned_value: BCWP", "earned_value: EV"))
    with pytest.raises(ValidationFailed) as exc:
        read_survey(survey([status, projects_path], load_mapping(mapping_path)))
    assert [str(p) for p in exc.value.problems] == [
        "status.csv column EV: column 'EV' (mapped to earned_value) is not in the file"
    ]


def test_bad_mapping_files_are_reported_by_key(tmp_path: Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text(
        "projects:\n  budget: X\n  project_id: A\nsnapshots:\n  as_of: A\n  phase: A\n"
        "number_format: 1;234\npercent: 0-10\ncolour: red\n"
    )
    with pytest.raises(ValidationFailed) as exc:
        load_mapping(bad)
    texts = "\n".join(str(p) for p in exc.value.problems)
    assert "m.yaml column colour: unknown key" in texts
    assert "m.yaml column projects.budget: 'budget' is not a projects field" in texts
    assert "m.yaml column snapshots.phase: column 'A' is already mapped to as_of" in texts
    assert "m.yaml column number_format: use one of" in texts
    assert "m.yaml column percent: use 0-100 or 0-1" in texts
    broken = tmp_path / "b.toml"
    broken.write_text("[projects\n")
    with pytest.raises(ValidationFailed, match=r"b\.toml: not valid YAML/TOML"):
        load_mapping(broken)


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_workbook_sheets_are_recognised_and_chosen_by_name(tmp_path: Path) -> None:
    book = _workbook(
        tmp_path / "pmo.xlsx",
        {
            "Read me": [["This workbook holds our portfolio"]],
            "Reports": [["project_id", "as_of", "rag"], ["P1", "2023-01-31", "G"]],
            "Register": [["project_id", "name"], ["P1", "Alpha"]],
            "Old reports": [["project_id", "as_of"], ["P1", "2020-01-31"]],
        },
    )
    with pytest.raises(ValidationFailed, match="more than one snapshots table"):
        survey([book])
    found = survey([book], sheets=["Register", "Reports"])
    assert [(t.name, t.role) for t in found.tables] == [
        ("pmo.xlsx[Reports]", "snapshots"),
        ("pmo.xlsx[Register]", "projects"),
    ]
    with pytest.raises(ValidationFailed) as exc:
        survey([book], sheets=["Status"])
    assert "Status: no workbook given has a sheet of this name" in str(exc.value)


def test_a_flat_table_yields_projects_and_reports(tmp_path: Path) -> None:
    """One row per project per report; project fields come from the project's first row."""
    flat = tmp_path / "export.csv"
    flat.write_text(
        "project_id,name,baseline_finish,as_of,forecast_finish\n"
        "P1,Alpha,2024-06-30,2023-01-31,2024-06-30\n"
        "P1,,2024-06-30,2023-02-28,2024-08-31\n"
        "P2,Bravo,2025-01-31,2023-02-28,2025-01-31\n"
    )
    found = survey([flat])
    assert [t.role for t in found.tables] == ["flat"]
    projects, snapshots = read_survey(found)
    assert projects is not None and snapshots is not None
    assert list(projects["name"]) == ["Alpha", "Bravo"]
    assert len(snapshots) == 3


def test_schedule_files_need_the_schedule_readers(tmp_path: Path) -> None:
    xer = tmp_path / "update.xer"
    xer.write_text("ERMHDR\t19.12\n")
    found = survey([xer])
    assert found.found == ["update.xer: schedule"]
    with pytest.raises(ValidationFailed, match=r"update\.xer"):
        read_survey(found)


def test_unusable_paths_are_all_named(tmp_path: Path) -> None:
    notes = tmp_path / "notes.csv"
    notes.write_text("what,why\na,b\n")
    doc = tmp_path / "plan.docx"
    doc.write_text("x")
    with pytest.raises(ValidationFailed) as exc:
        survey([tmp_path / "missing.csv", doc])
    texts = [str(p) for p in exc.value.problems]
    assert texts[0].endswith("missing.csv: no such file or folder")
    assert texts[1].startswith("plan.docx: unknown file type '.docx'")
    with pytest.raises(ValidationFailed, match="found nothing to import"):
        survey([notes])


def test_a_filled_template_imports_and_reimport_changes_nothing(tmp_path: Path) -> None:
    paths = write_templates(tmp_path)
    assert {p.name for p in paths} == {"projects.csv", "snapshots.csv", WORKBOOK}
    book = load_workbook(tmp_path / WORKBOOK)
    assert book.sheetnames == ["projects", "snapshots", "notes"]
    assert [c.value for c in book["projects"][1]] == list(PROJECT_FIELDS)
    assert [c.value for c in book["snapshots"][1]] == list(SNAPSHOT_FIELDS)
    notes = {(r[0], r[1]): r[4] for r in book["notes"].iter_rows(min_row=2, values_only=True)}
    assert all(notes.get(("projects", f)) for f in PROJECT_FIELDS)
    assert all(notes.get(("snapshots", f)) for f in SNAPSHOT_FIELDS)

    book["projects"].append(["P1", "Alpha", "Infra", "Bridges", "2023-01-02", "2024-06-30", 1e6])
    book["snapshots"].append(["P1", "2023-06-30", "design", 20, 2e5, 1.8e5, 2.1e5])
    book.save(tmp_path / WORKBOOK)
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}").init()
    found = survey([tmp_path / WORKBOOK])
    assert found.skipped == [f"{WORKBOOK}[notes]: no project_id or as_of column"]
    first = import_paths(store, found)
    assert first is not None
    assert (first.projects_inserted, first.snapshots_inserted) == (1, 1)
    again = import_paths(store, survey([tmp_path / WORKBOOK]))
    assert again is not None and not again.changed
    assert store.snapshots()["earned_value"].tolist() == [1.8e5]


def test_mapping_round_trips_through_yaml() -> None:
    import yaml

    from features.sources.mapping import mapping_to_yaml

    mapping = parse_mapping(yaml.safe_load(MAPPING_YAML), "mapping.yaml")
    again = parse_mapping(yaml.safe_load(mapping_to_yaml(mapping)), "mapping.yaml")
    assert again == mapping
