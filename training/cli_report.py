"""``pmo-risk report`` (HTML / PDF / Excel for decision makers) and ``pmo-risk alerts``."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from risk_model.exceptions import PmoRiskError
from training.cli import _fail, _load_models, _settings, _steps, _store, console, out

FormatOpt = Annotated[str, typer.Option("--format", "-f", help="html, pdf or xlsx.")]


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


def report(
    ctx: typer.Context,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Report date YYYY-MM-DD (default: latest).")
    ] = None,
    fmt: FormatOpt = "html",
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output file (default: report-DATE.FMT).")
    ] = None,
    top: Annotated[int, typer.Option(min=1, max=100, help="Projects with their own page.")] = 10,
) -> None:
    """Write the portfolio report: executive summary, top projects, model accuracy.

    The accuracy statement comes from each target's latest backtest (`pmo-risk evaluate`)
    when one was logged, else from the champion's single held-out test split.
    """
    from model_registry.registry import ModelRegistry
    from risk_model.report import FORMATS, build_report, render

    if fmt not in FORMATS:
        raise typer.BadParameter(f"one of {', '.join(FORMATS)}", param_hint="--format")
    day = _date(as_of, "--as-of")
    settings = _settings(ctx)
    try:
        with _steps(3) as advance:
            advance("loading models")
            models = _load_models(settings)
            backtests = ModelRegistry.from_settings(settings).latest_backtests(models)
            advance("scoring the portfolio")
            data = build_report(
                _store(settings), models, settings, as_of=day, top=top, backtests=backtests
            )
            advance(f"writing {fmt}")
            body = render(data, fmt)
    except PmoRiskError as exc:
        _fail(exc)
    target = out_path or Path(f"report-{(data.as_of or date.today()).isoformat()}.{fmt}")
    target.write_bytes(body)
    console.print(f"wrote {target} ({len(body):,} bytes; {len(data.top)} projects in detail)")


def alerts(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help="Compare with the bands as of this date.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON for e-mail or chat hooks.")] = False,
) -> None:
    """List projects that crossed into a higher band since a date (text or JSON)."""
    from risk_model.board import alerts_since

    day = _date(since, "--since")
    assert day is not None
    settings = _settings(ctx)
    try:
        with console.status("scoring the portfolio then and now"):
            found = alerts_since(_store(settings), _load_models(settings), settings, day)
    except PmoRiskError as exc:
        _fail(exc)
    if as_json:
        payload = {
            "since": day.isoformat(),
            "count": len(found),
            "alerts": [
                {
                    "project_id": a.project_id,
                    "name": a.name,
                    "target": a.target,
                    "band_before": a.band_before,
                    "band_now": a.band_now,
                    "probability_before": a.probability_before,
                    "probability_now": a.probability_now,
                    "as_of": a.as_of.isoformat() if a.as_of else None,
                    "driver": a.driver,
                    "text": a.text(),
                }
                for a in found
            ],
        }
        print(json.dumps(payload, indent=2))
        return
    if not found:
        out.print(f"No project crossed into a higher band since {day}.")
        return
    out.print(f"{len(found)} project risk(s) crossed into a higher band since {day}:")
    for a in found:
        out.print(f"- {a.text()}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``report`` and ``alerts`` to the ``pmo-risk`` app."""
    app.command()(report)
    app.command()(alerts)
