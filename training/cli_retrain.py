"""``pmo-risk retrain`` (issue 3, section 5): gated retraining for cron (``training.retrain``)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from risk_model.exceptions import PmoRiskError


def _print(report: Any, threshold: float) -> None:
    from rich.table import Table

    from training.cli import out

    table = Table("target", "decision", "champion", "challenger", "why", show_lines=True)
    for d in report.decisions:
        before, after = d.champion_before or "-", d.champion_after or "-"
        table.add_row(
            d.target,
            d.action,
            before if before == after else f"{before} -> {after}",
            d.challenger_version or "-",
            "\n".join(d.reasons),
        )
    out.print(table)
    for d in report.decisions:
        if d.drift_flagged:
            shown = ", ".join(f"{f['feature']} ({f['psi']:.2f})" for f in d.drift if f["flagged"])
            out.print(
                f"[yellow]drift[/yellow] {d.target} champion v{d.champion_before}: "
                f"PSI over {threshold} for {shown}"
            )
        elif d.drift_measured:
            out.print(f"{d.target} champion v{d.champion_before}: no feature drifted")


def register(app: typer.Typer) -> None:
    """Add ``retrain`` to the CLI."""

    @app.command()
    def retrain(
        ctx: typer.Context,
        target: Annotated[
            list[str] | None,
            typer.Option(help="Target(s) to retrain: schedule, cost, forward (default: all)."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print decisions as JSON.")] = False,
    ) -> None:
        """Train challengers on all data to date; promote each only if it beats the champion.

        Challenger and champion are scored on the same latest held-out period; a challenger is
        promoted when it is better on the primary metric (PMO_RISK_PROMOTE_METRIC, ROC-AUC) by
        PMO_RISK_PROMOTE_MARGIN and its calibration error is not worse than the champion's by
        more than PMO_RISK_PROMOTE_CALIBRATION_SLACK. Every decision is logged in MLflow; the
        champion's drift (PSI) against the current portfolio is reported. Safe to run from
        cron: concurrent runs never both promote and a crash changes nothing.
        """
        from training.cli import _fail, _settings, _steps, _targets, console
        from training.cli_scores import refresh_stored_scores
        from training.retrain import retrain as run

        settings = _settings(ctx)
        try:
            targets = _targets(target)
            with _steps(6 * len(targets) + 2) as advance:
                report = run(settings, targets=targets, progress=advance)
            if report.moved:
                refresh_stored_scores(settings, quiet=True)
        except PmoRiskError as exc:
            _fail(exc)
        if as_json:
            doc = {
                "started_at": report.started_at,
                "decisions": [d.to_json() for d in report.decisions],
            }
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        else:
            _print(report, settings.psi_threshold)
        console.print("retrain: " + "; ".join(f"{d.target} {d.action}" for d in report.decisions))
