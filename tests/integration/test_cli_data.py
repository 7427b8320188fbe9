"""`pmo-risk import` (one entry point), `template` and `datasets` through the real CLI."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from risk_model.config import Settings
from risk_model.store import Store
from training.cli import app

runner = CliRunner()


def run(home: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--home", str(home), *args])
    assert result.exit_code == code, result.output
    return result.output


def counts(home: Path) -> dict[str, int]:
    return Store(Settings(home=home).store_url).init().counts()


def test_template_then_import_reports_what_it_found(tmp_path: Path) -> None:
    """The CSV pair is recognised in any order; a dry run writes nothing; re-import is a no-op."""
    home = tmp_path / "home"
    out = run(home, "template", "--out", str(tmp_path / "t"), "--format", "csv")
    assert "projects.csv" in out and "snapshots.csv" in out
    projects = tmp_path / "t" / "projects.csv"
    snapshots = tmp_path / "t" / "snapshots.csv"
    with projects.open("a") as f:
        f.write("P1,Alpha,,,2023-01-02,2024-06-30,1000000,,,,\n")
    with snapshots.open("a") as f:
        f.write("P1,2023-06-30,,20,,,,,,,G,,,\n")
    out = run(home, "import", "--dry-run", str(snapshots), str(projects))
    assert "snapshots.csv: status reports (snapshots), 1 rows" in out
    assert "projects.csv: projects, 1 rows" in out
    assert counts(home) == {"projects": 0, "snapshots": 0}
    run(home, "import", str(snapshots), str(projects))
    assert counts(home) == {"projects": 1, "snapshots": 1}
    assert "nothing changed" in run(home, "import", str(projects), str(snapshots))
    run(home, "template", "--out", str(tmp_path / "t"), "--format", "csv", code=2)


def test_suggest_mapping_then_import_with_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    export = tmp_path / "export.csv"
    export.write_text(
        "Project Code;Project Name;Baseline Finish;Status Date;BCWP;ACWP;Forecast Completion\n"
        'A-1;Bridge;30/06/2024;31/01/2023;"1.500,00";"1.600,00";15/07/2024\n'
        'A-1;Bridge;30/06/2024;28/02/2023;"2.500,00";"2.900,50";31/08/2024\n'
    )
    mapping = tmp_path / "export.mapping.yaml"
    out = run(home, "import", "--suggest-mapping", str(export))
    assert mapping.exists() and "snapshots.as_of <- 'Status Date'" in out
    text = mapping.read_text()
    assert "date_format: DD/MM/YYYY" in text and "number_format: 1.234,56" in text
    out = run(home, "import", "--mapping", str(mapping), str(export))
    assert "export.csv: projects and status reports in one table, 2 rows" in out
    snaps = Store(Settings(home=home).store_url).snapshots()
    assert snaps["actual_cost"].tolist() == [1600.0, 2900.5]
    run(home, "import", "--suggest-mapping", str(export), code=2)  # never overwrites


def test_bad_rows_are_listed_and_nothing_is_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    book = tmp_path / "book.xlsx"
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Status"
    ws.append(["project_id", "as_of", "percent_complete"])
    ws.append(["P9", "2023-13-01", "150"])
    wb.save(book)
    out = run(home, "import", str(book), code=2)
    assert "book.xlsx[Status] row 2, column as_of: '2023-13-01' is not a date" in out
    assert "book.xlsx[Status] row 2, column percent_complete: percent_complete must be" in out
    assert "book.xlsx[Status] row 2, column project_id: project 'P9' is not in the store" in out
    assert counts(home) == {"projects": 0, "snapshots": 0}


def test_old_projects_and_snapshots_options_still_work(tmp_path: Path) -> None:
    home = tmp_path / "home"
    templates = Path(__file__).resolve().parents[2] / "risk_model" / "templates"
    out = run(
        home,
        "import",
        "--projects",
        str(templates / "projects.csv"),
        "--snapshots",
        str(templates / "snapshots.csv"),
    )
    assert "imported" in out
    assert counts(home)["projects"] > 0


def test_datasets_list_and_load_from_a_local_file(shared_data: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = run(home, "datasets", "list")
    assert "gmpp" in out and "it-dashboard" in out and "nyc" in out
    folder = str(shared_data / "uk_gmpp")
    out = run(home, "datasets", "load", "gmpp", "--file", folder, "--dry-run")
    assert "status reports from 2022-03-31 to 2024-03-31" in out
    assert counts(home) == {"projects": 0, "snapshots": 0}
    run(home, "datasets", "load", "gmpp", "--file", folder)
    loaded = counts(home)
    assert loaded["projects"] > 0 and loaded["snapshots"] > loaded["projects"]
    assert "nothing changed" in run(home, "datasets", "load", "gmpp", "--file", folder)
    out = run(home, "datasets", "load", "it-dashboard", "--no-download", code=2)
    assert "not cached" in out
