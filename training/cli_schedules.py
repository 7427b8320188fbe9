"""``pmo-risk schedule-check FILE``: the DCMA 14-point schedule-quality report of a schedule."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from risk_model.exceptions import Problem, ValidationFailed
from training.cli import _fail, console, out


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def schedule_report(path: Path) -> list[dict[str, Any]]:
    """One entry per project in the file: project-level signals and the 14 checks."""
    from features.sources.schedules import read_schedule
    from features.sources.schedules.dcma import assess
    from features.sources.schedules.errors import ScheduleReadError
    from features.sources.schedules.signals import update_signals

    try:
        schedules = read_schedule(path)
    except ScheduleReadError as exc:
        raise ValidationFailed([Problem(path.name, None, None, str(exc))]) from None
    report = []
    for s in schedules:
        dcma = assess(s)
        signals = update_signals(s)
        report.append(
            {
                "file": path.name,
                "format": s.file_format,
                "project_id": s.project_id,
                "name": s.name,
                "data_date": f"{s.data_date:%Y-%m-%d}",
                "activities": dcma.activities,
                "incomplete": dcma.incomplete,
                "relationships": dcma.relationships,
                "forecast_finish": f"{s.scheduled_finish:%Y-%m-%d}" if s.scheduled_finish else None,
                "baseline_finish": f"{s.baseline_finish:%Y-%m-%d}" if s.baseline_finish else None,
                "signals": {
                    k: _number(signals[k])
                    for k in (
                        "percent_complete",
                        "planned_value",
                        "earned_value",
                        "actual_cost",
                        "forecast_cost",
                        "budget",
                    )
                },
                "notes": list(s.notes),
                "checks": [
                    {
                        "number": c.spec.number,
                        "key": c.spec.key,
                        "title": c.spec.title,
                        "unit": c.spec.unit,
                        "value": c.value,
                        "threshold": c.spec.threshold,
                        "higher_is_better": c.spec.higher_is_better,
                        "passed": c.passed,
                        "flagged": c.flagged,
                        "population": c.population,
                        "note": c.note,
                    }
                    for c in dcma.checks
                ],
            }
        )
    return report


def _print(entry: dict[str, Any]) -> None:
    from features.sources.schedules.dcma import CHECKS, format_value, threshold_text

    specs = {s.key: s for s in CHECKS}
    title = (
        f"{entry['file']} — {entry['format']} project {entry['project_id']} ({entry['name']}), "
        f"data date {entry['data_date']}: {entry['activities']} activities "
        f"({entry['incomplete']} open), {entry['relationships']} relationships"
    )
    table = Table(title=title, title_justify="left")
    for col, justify in (
        ("#", "right"),
        ("Check", "left"),
        ("Value", "right"),
        ("Threshold", "right"),
        ("Result", "left"),
        ("Detail", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    passed = 0
    for c in entry["checks"]:
        spec = specs[c["key"]]
        result = {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: "n/a"}[c["passed"]]
        passed += c["passed"] is True
        detail = c["note"]
        if c["population"] and spec.unit == "share":
            detail = f"{c['flagged']} of {c['population']}" + (f"; {detail}" if detail else "")
        table.add_row(
            str(c["number"]), c["title"], format_value(c["value"], spec.unit), threshold_text(spec),
            result, detail,
        )  # fmt: skip
    out.print(table)
    s = entry["signals"]
    money = ", ".join(
        f"{label} {s[k]:,.0f}"
        for k, label in (
            ("budget", "BAC"),
            ("planned_value", "PV"),
            ("earned_value", "EV"),
            ("actual_cost", "AC"),
        )
        if s[k] is not None
    )
    pct = s["percent_complete"]
    out.print(
        f"{passed} of {len(entry['checks'])} checks pass. "
        + (f"{pct:.1f}% complete. " if pct is not None else "")
        + f"Forecast finish {entry['forecast_finish'] or 'n/a'}, "
        + f"baseline finish {entry['baseline_finish'] or 'n/a'}."
        + (f" {money}." if money else " No costs in the file.")
    )
    for note in entry["notes"]:
        out.print(f"[dim]note: {note}[/dim]")


def schedule_check(
    file: Annotated[Path, typer.Argument(help="A schedule: .xer, .xml (MSPDI/PMXML) or .mpp.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """DCMA 14-point schedule-quality report of a P6 or MS Project schedule file.

    One table per project in the file: each check's value, the guideline threshold, pass or
    fail, and how many activities or relationships it flagged; then the project's progress,
    forecast finish and earned value figures at the data date.
    """
    try:
        with console.status(f"reading {file.name}"):
            report = schedule_report(file)
    except ValidationFailed as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    for entry in report:
        _print(entry)


def register(app: typer.Typer) -> None:
    """Add ``schedule-check`` to the ``pmo-risk`` command line."""
    app.command("schedule-check")(schedule_check)
