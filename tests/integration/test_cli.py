"""The pmo-risk command line, end to end on a real store and MLflow registry in a temp dir."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from training.cli import app

runner = CliRunner()


def _run(home: Path, *args: str) -> str:
    result = runner.invoke(app, ["--home", str(home), *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """simulate -> import -> train (with oracle) in a fresh home."""
    home = tmp_path_factory.mktemp("cli_home")
    data = tmp_path_factory.mktemp("cli_data")
    _run(home, "simulate", "--out", str(data), "--projects", "300", "--seed", "5")
    _run(
        home,
        "import",
        "--projects",
        str(data / "projects.csv"),
        "--snapshots",
        str(data / "snapshots.csv"),
    )
    output = _run(home, "train", "--oracle", str(data / "oracle.csv"))
    assert "schedule model" in output and "forward model" in output and "oracle" in output
    return home, data


def test_train_registers_champions_then_promote_moves_them(cli_home: tuple[Path, Path]) -> None:
    """The first training makes champions; a retrain makes challengers; promote moves them."""
    home, _ = cli_home
    from model_registry.registry import ModelRegistry
    from risk_model.config import Settings
    from risk_model.score_store import ScoreStore
    from risk_model.store import Store

    store = Store(Settings(home=home).store_url)
    first = ScoreStore(store).state()  # import, then the first train, stored the scores
    assert first is not None and first.versions == {"schedule": "1", "cost": "1", "forward": "1"}
    assert first.revision == store.revision() and first.rows > 0
    listing = _run(home, "models")
    assert "pmo-risk-schedule" in listing and "champion" in listing
    _run(home, "train", "--schedule-threshold", "0.2")
    listing = _run(home, "models")
    assert "challenger" in listing
    assert ScoreStore(store).state() == first  # champions unchanged: scores left as they were
    _run(home, "promote", "--target", "schedule")

    reg = ModelRegistry.from_settings(Settings(home=home))
    assert reg.version_for("schedule", "champion") == "2"
    assert reg.version_for("cost", "champion") == "1"
    after = ScoreStore(store).state()
    assert after is not None and after.versions == {"schedule": "2", "cost": "1", "forward": "1"}
    latest = ScoreStore(store).latest()
    assert {s["schedule"].model_version for s in latest.values()} == {"2"}
    assert "stored" in _run(home, "rescore")


def test_score_ranks_active_projects_with_probabilities_bands_and_drivers(
    cli_home: tuple[Path, Path],
) -> None:
    home, data = cli_home
    text = _run(home, "score", "--format", "json")
    rows = json.loads(text[text.index("[") :])
    projects = pd.read_csv(data / "projects.csv")
    active = set(projects.loc[projects["status"] == "active", "project_id"])
    assert {r["project_id"] for r in rows} == active
    probs = [r["p_schedule"] for r in rows if r["p_schedule"] is not None]
    assert probs == sorted(probs, reverse=True)
    top = rows[0]
    assert top["band_schedule"] in ("low", "medium", "high", "critical")
    assert len(top["drivers_schedule"].split("; ")) == 3


def test_score_as_of_uses_only_reports_up_to_that_date(cli_home: tuple[Path, Path]) -> None:
    """--as-of scores the projects active then, at their last report before the date."""
    home, tmp = cli_home
    out_file = tmp / "ranked.csv"
    _run(home, "score", "--as-of", "2020-06-30", "--out", str(out_file))
    ranked = pd.read_csv(out_file, parse_dates=["as_of"])
    assert len(ranked) > 0
    assert (ranked["as_of"] <= pd.Timestamp("2020-06-30")).all()


def test_explain_prints_every_contribution(cli_home: tuple[Path, Path]) -> None:
    home, data = cli_home
    pid = pd.read_csv(data / "projects.csv").query("status == 'active'")["project_id"].iloc[0]
    text = _run(home, "explain", pid, "--json")
    payload = json.loads(text[text.index("{") :])
    schedule = payload["scores"]["schedule"]
    assert schedule["probability"] is not None
    assert len(schedule["contributions"]) > 20
    overrun = schedule["overrun"]  # P10 <= P50 <= P90 of the slip share (issue 3 section 4)
    assert overrun["p10"] <= overrun["p50"] <= overrun["p90"]
    words = _run(home, "explain", pid)
    assert "finish: P10 " in words and "cost at completion: P10 " in words


def test_bad_import_lists_problems_and_changes_nothing(
    cli_home: tuple[Path, Path], tmp_path: Path
) -> None:
    """A bad snapshots file exits non-zero naming file, row and column; the store is unchanged."""
    home, _ = cli_home
    from risk_model.config import Settings
    from risk_model.store import Store

    store = Store(Settings(home=home).store_url)
    before = (store.revision(), store.counts())
    bad = tmp_path / "snapshots.csv"
    bad.write_text(
        "project_id,as_of,percent_complete\nP00001,2023-13-01,50\nP00001,2023-01-01,140\n"
    )
    result = runner.invoke(app, ["--home", str(home), "import", "--snapshots", str(bad)])
    assert result.exit_code == 2
    assert "snapshots.csv row 2, column as_of" in result.output
    assert "row 3, column percent_complete" in result.output
    assert (store.revision(), store.counts()) == before


def test_every_command_has_help() -> None:
    for command in (
        "demo",
        "simulate",
        "import",
        "train",
        "promote",
        "score",
        "explain",
        "serve",
        "rescore",
    ):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Usage" in result.output and len(result.output) > 200


def test_dry_run_validates_without_writing(cli_home: tuple[Path, Path]) -> None:
    home, data = cli_home
    from risk_model.config import Settings
    from risk_model.store import Store

    store = Store(Settings(home=home).store_url)
    before = store.revision()
    output = _run(home, "import", "--dry-run", "--projects", str(data / "projects.csv"))
    assert "valid" in output
    assert store.revision() == before


# --------------------------------------------------------------- schedule-check (issue 4)
def test_schedule_check_reports_the_14_checks_as_json_and_table(tmp_path: Path) -> None:
    """It prints one entry per project with 14 numbered checks, and a table without --json."""
    from training.synthetic_schedule import write_synthetic_xer

    made = write_synthetic_xer(tmp_path / "plan.xer", n_activities=60, n_relationships=90)
    result = runner.invoke(app, ["schedule-check", str(tmp_path / "plan.xer"), "--json"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)
    assert entry["project_id"] == "SYN-1"
    assert entry["data_date"] == f"{made.data_date:%Y-%m-%d}"
    assert [c["number"] for c in entry["checks"]] == list(range(1, 15))
    assert entry["signals"]["budget"] == pytest.approx(made.budget)
    table = runner.invoke(app, ["schedule-check", str(tmp_path / "plan.xer")])
    assert table.exit_code == 0, table.output
    assert "Critical path test" in table.output and "checks pass" in table.output


def test_schedule_check_names_an_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xer"
    bad.write_text("not a schedule")
    result = runner.invoke(app, ["schedule-check", str(bad)])
    assert result.exit_code == 2
    assert "bad.xer: not an XER file" in result.output
    assert "Traceback" not in result.output


def test_import_of_a_folder_of_xer_updates_stores_an_ordered_history(tmp_path: Path) -> None:
    """`pmo-risk import FOLDER` (issue 4a's entry point) stores one project with 3 reports."""
    from risk_model.schemas import SCHEDULE_QUALITY_FIELDS
    from risk_model.store import Store
    from training.synthetic_schedule import write_synthetic_xer

    folder = tmp_path / "updates"
    folder.mkdir()
    for name, progress, delay in (("b.xer", 0.5, 20.0), ("a.xer", 0.25, 0.0), ("c.xer", 0.7, 30.0)):
        write_synthetic_xer(folder / name, n_activities=50, n_relationships=75, seed=1,
                            progress=progress, delay_days=delay)  # fmt: skip
    home = tmp_path / "home"
    _run(home, "import", str(folder))
    store = Store(f"sqlite:///{home / 'pmo_risk.db'}")
    snaps = store.snapshots()
    assert list(snaps["project_id"].unique()) == ["SYN-1"]
    assert snaps["as_of"].is_monotonic_increasing and len(snaps) == 3
    assert snaps["forecast_finish"].is_monotonic_increasing
    assert snaps[list(SCHEDULE_QUALITY_FIELDS)].notna().any().any()
    store.dispose()


def test_a_bad_update_blocks_the_folder_unless_skipped_and_the_skip_is_reported(
    tmp_path: Path,
) -> None:
    from risk_model.store import Store
    from training.synthetic_schedule import write_synthetic_xer

    folder = tmp_path / "updates"
    folder.mkdir()
    for name, progress in (("a.xer", 0.25), ("b.xer", 0.5)):
        write_synthetic_xer(folder / name, n_activities=30, n_relationships=40, seed=2,
                            progress=progress)  # fmt: skip
    (folder / "broken.xer").write_text("not a schedule")
    home = tmp_path / "home"
    refused = runner.invoke(app, ["--home", str(home), "import", str(folder)])
    assert refused.exit_code == 2 and "broken.xer" in refused.output
    assert "nothing was imported" in refused.output
    store = Store(f"sqlite:///{home / 'pmo_risk.db'}").init()
    assert store.counts()["snapshots"] == 0
    output = _run(home, "import", str(folder), "--skip-bad")
    assert "skipped broken.xer" in output
    assert "project 'SYN-1': 2 update(s)" in output
    assert store.counts()["snapshots"] == 2
    store.dispose()
