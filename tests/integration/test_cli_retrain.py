"""``pmo-risk retrain`` end to end: decisions printed as JSON, champions stored, scores kept."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from model_registry.registry import ModelRegistry
from risk_model.config import Settings
from risk_model.store import Store
from training.cli import app


def test_retrain_from_an_empty_registry_makes_a_champion_then_keeps_it(
    tmp_path: Path, simulated: Any, mlflow_db: Path
) -> None:
    """First run: no champion, the challenger becomes one. Second run on the same data: the
    new challenger is no better by the margin, so the champion stays; the champion's drift is
    reported."""
    home = tmp_path / "home"
    settings = Settings(home=home)
    settings.ensure_home()
    shutil.copyfile(mlflow_db, home / "mlflow.db")
    store = Store(settings.store_url).init()
    store.import_frames(simulated.projects, simulated.snapshots)
    store.dispose()
    runner = CliRunner()
    args = ["--home", str(home), "retrain", "--target", "schedule", "--json"]

    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    doc = json.loads(first.stdout[first.stdout.index("{") :])
    [d] = doc["decisions"]
    assert d["target"] == "schedule" and d["action"] == "first champion"
    assert ModelRegistry.from_settings(settings).version_for("schedule", "champion") == "1"

    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    [d2] = json.loads(second.stdout[second.stdout.index("{") :])["decisions"]
    assert d2["action"] == "kept" and d2["champion_after"] == "1"
    assert d2["challenger_version"] == "2" and d2["drift_measured"] is True
    assert any("not better by the margin" in r for r in d2["reasons"])

    bad = runner.invoke(app, ["--home", str(home), "retrain", "--target", "nope"])
    assert bad.exit_code == 2 and "unknown target" in bad.output
