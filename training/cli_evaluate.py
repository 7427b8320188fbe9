"""``pmo-risk evaluate``: the rolling-origin backtest of every target, as JSON and an HTML page."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from risk_model.exceptions import InsufficientData, PmoRiskError


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to the ``pmo-risk`` app."""
    app.command("evaluate")(evaluate)


def evaluate(
    ctx: typer.Context,
    target: Annotated[
        list[str] | None,
        typer.Option(help="Target(s) to backtest: schedule, cost, forward (default: all)."),
    ] = None,
    folds: Annotated[
        int | None, typer.Option(help="Number of cut-offs (default: settings, 4).")
    ] = None,
    cutoff: Annotated[
        list[str] | None, typer.Option(help="Explicit cut-off date(s), instead of --folds.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for backtest.json and backtest.html (default: under home)."),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Early-warning alarm threshold (default 0.5).")
    ] = None,
    oracle: Annotated[
        Path | None, typer.Option(help="oracle.csv from `simulate`, to show the best achievable.")
    ] = None,
    log: Annotated[bool, typer.Option("--log/--no-log", help="Log to MLflow.")] = True,
) -> None:
    """Backtest the models on the stored history, as a PMO would have lived it.

    At each cut-off the model is trained only on what was known then and scores the reports
    made until the next cut-off; scores are compared with what happened, beside the EVM rule,
    the index forecasts, the PM's own forecast and the category base rate, overall and by
    stage, with early-warning lead times and overrun-size ranges. Writes backtest.json (every
    figure) and backtest.html (opens offline), and logs both to MLflow.
    """
    from training.backtest import run_backtest
    from training.backtest_report import log_report, write_report
    from training.cli import _fail, _settings, _steps, _store, _targets, console

    settings = _settings(ctx)
    if threshold is not None:
        settings = settings.model_copy(update={"alarm_threshold": threshold})
    try:
        targets = _targets(target)
        cuts = [pd.Timestamp(c) for c in cutoff] if cutoff else None
    except (PmoRiskError, ValueError) as exc:
        _fail(exc if isinstance(exc, PmoRiskError) else PmoRiskError(f"--cutoff: {exc}"))
    oracle_frame = None
    if oracle is not None:
        oracle_frame = pd.read_csv(oracle, parse_dates=["as_of"])
        oracle_frame["project_id"] = oracle_frame["project_id"].astype(str)
    try:
        store = _store(settings)
        projects, snapshots = store.projects(), store.snapshots()
        if projects.empty:
            raise PmoRiskError("the store is empty: run `pmo-risk import` first")
        results: dict[str, Any] = {}
        skipped: dict[str, str] = {}
        n_folds = folds or settings.backtest_folds
        with _steps(len(targets) * (n_folds + 1)) as advance:
            for t in targets:
                try:
                    results[t] = run_backtest(
                        projects,
                        snapshots,
                        settings,
                        target=t,
                        folds=n_folds,
                        cutoffs=cuts,
                        oracle=oracle_frame,
                        progress=advance,
                    )
                except InsufficientData as exc:
                    skipped[t] = str(exc)
        for t, reason in skipped.items():
            console.print(f"[yellow]{t}: not backtested[/yellow]: {reason}")
        if not results:
            raise InsufficientData("no target could be backtested")
        folder = out or settings.home / "reports" / f"backtest-{date.today().isoformat()}"
        meta = {
            "projects": int(projects["project_id"].nunique()),
            "reports": len(snapshots),
            "history": f"{pd.to_datetime(snapshots['as_of']).min().date()} to "
            f"{pd.to_datetime(snapshots['as_of']).max().date()}",
            "not backtested": "; ".join(f"{k}: {v}" for k, v in skipped.items()) or "none",
        }
        paths = write_report(results, folder, title="pmo-risk backtest", meta=meta)
        for t, bt in results.items():
            _print_summary(console, t, bt)
        console.print(f"\nreport: {paths[1]}\nfigures: {paths[0]}")
        if log:
            run_id = log_report(
                results,
                paths,
                tracking_uri=settings.mlflow_uri,
                artifact_root=settings.artifact_root,
                params={"targets": ",".join(results), "folds": n_folds, **meta},
            )
            console.print(f"logged to MLflow run {run_id} (experiment pmo-risk-backtest)")
    except PmoRiskError as exc:
        _fail(exc)


def _print_summary(console: Any, target: str, bt: Any) -> None:
    from rich.table import Table

    table = Table(title=f"{target}: backtest, all stages", show_lines=False)
    for col in ("forecast", "ROC-AUC", "Brier", "ECE", "reports"):
        table.add_column(col)
    for label, m in bt.evaluation["overall"].items():
        table.add_row(
            label,
            _f(m.get("roc_auc")),
            _f(m.get("brier")),
            _f(m.get("ece")),
            str(int(m.get("n", 0))),
        )
    console.print(table)
    if bt.early_warning:
        for label in ("model", "evm_rule"):
            e = bt.early_warning[label]
            console.print(
                f"  early warning, {label}: {e['warned']}/{e['overran_projects']} overruns warned, "
                f"median lead {_f(e['median_lead_months'], 1)} months, "
                f"false alarms {_f(100 * e['false_alarm_rate'], 0)}%"
            )


def _f(value: Any, digits: int = 3) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if v != v else f"{v:.{digits}f}"
