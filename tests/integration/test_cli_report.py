"""``pmo-risk report`` and ``pmo-risk alerts`` against the shared trained home."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from risk_model.config import Settings
from risk_model.store import Store
from training.cli import app


def test_report_writes_each_format(trained_home: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    for fmt, magic in (("xlsx", b"PK"), ("pdf", b"%PDF"), ("html", b"<!doctype")):
        out = tmp_path / f"r.{fmt}"
        result = runner.invoke(
            app,
            [
                "--home",
                str(trained_home.home),
                "report",
                "--format",
                fmt,
                "--out",
                str(out),
                "--top",
                "2",
            ],
        )
        assert result.exit_code == 0, result.output
        assert out.read_bytes().startswith(magic)


def test_report_rejects_bad_dates_and_formats(trained_home: Settings) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["--home", str(trained_home.home), "report", "--as-of", "2024-13-01"])
    assert bad.exit_code != 0 and "not a date" in bad.output
    fmt = runner.invoke(app, ["--home", str(trained_home.home), "report", "--format", "doc"])
    assert fmt.exit_code != 0


def test_alerts_as_json_and_text(trained_home: Settings) -> None:
    since = Store(trained_home.store_url).snapshots()["as_of"].quantile(0.8).date().isoformat()
    runner = CliRunner()
    result = runner.invoke(
        app, ["--home", str(trained_home.home), "alerts", "--since", since, "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["since"] == since and payload["count"] == len(payload["alerts"])
    for a in payload["alerts"]:
        assert a["band_now"] != a["band_before"] and a["project_id"] in a["text"]
    text = runner.invoke(app, ["--home", str(trained_home.home), "alerts", "--since", since])
    assert text.exit_code == 0
    assert ("crossed into a higher band" in text.stdout) or ("No project crossed" in text.stdout)
