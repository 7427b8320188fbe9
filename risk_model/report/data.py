"""What a portfolio report says: summary, top projects with their history, accuracy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from features.pipeline import build_features
from features.schedule_quality import ScheduleFindings, latest_schedule_findings
from risk_model.board import Board, Row, compute_board, improved, newly_top
from risk_model.config import Settings
from risk_model.portfolio import score_features
from risk_model.report import charts
from risk_model.report.accuracy import Accuracy, BacktestFigures, accuracy_statements
from risk_model.report.charts import Chart
from risk_model.risk_register import Risk, RiskRegister
from risk_model.store import Store


@dataclass
class TargetSummary:
    target: str
    per_band: dict[str, int]
    budget_at_risk: float
    newly_top: list[Row]
    improved: list[Row]
    scored: int


@dataclass
class ProjectSection:
    row: Row
    start_date: date | None
    baseline_finish: date | None
    charts: dict[str, Chart]
    """name -> chart (drawn as SVG for HTML, PNG for PDF)."""
    risks: list[Risk]
    schedule: ScheduleFindings | None = None
    """DCMA findings of the latest schedule update up to the report date (None: no schedule)."""


@dataclass
class ReportData:
    as_of: date | None
    generated_at: datetime
    band_names: tuple[str, ...]
    currency: str | None
    targets: list[str]
    summaries: list[TargetSummary]
    top: list[Row]
    sections: list[ProjectSection]
    accuracy: list[Accuracy]
    rows: list[Row] = field(default_factory=list)


def _summary(board: Board, target: str) -> TargetSummary:
    per_band = dict.fromkeys(board.band_names, 0)
    at_risk = 0.0
    scored = 0
    for r in board.rows:
        b, p = r.band.get(target), r.probability.get(target)
        if b is not None:
            per_band[b] += 1
        if p is not None:
            scored += 1
            if r.budget is not None:
                at_risk += p * r.budget
    return TargetSummary(
        target,
        per_band,
        at_risk,
        newly_top(board.rows, target, board.band_names),
        improved(board.rows, target, board.band_names),
        scored,
    )


def _section(
    store: Store,
    models: Mapping[str, Any],
    settings: Settings,
    row: Row,
    as_of: pd.Timestamp | None,
    register: RiskRegister,
) -> ProjectSection:
    projects = store.projects(project_ids=[row.project_id])
    snapshots = store.snapshots(project_ids=[row.project_id], until=as_of)
    frames = register.frames([row.project_id])
    features = build_features(projects, snapshots, register=frames).reset_index(drop=True)
    if as_of is not None:
        features = features.loc[features["as_of"].isna() | (features["as_of"] <= as_of)]
    history = score_features(features, models, settings, explain=False, latest_only=False)
    latest = score_features(features, models, settings, explain=True, full=True)
    rec = projects.iloc[0].to_dict()
    drawn: dict[str, Chart] = {
        "indices": charts.indices_chart(features),
        "risk": charts.risk_chart(history),
    }
    if latest:
        for t, s in latest[0].scores.items():
            if s.contributions:
                drawn[f"waterfall_{t}"] = charts.waterfall_chart(t, s.base_value, s.contributions)
    on = as_of.date() if as_of is not None else None
    risks = [
        r
        for r in register.risks(row.project_id, check=False)
        if on is None or (r.created_on <= on and (r.closed_on is None or r.closed_on > on))
    ]
    return ProjectSection(
        row,
        pd.Timestamp(rec["start_date"]).date() if pd.notna(rec.get("start_date")) else None,
        pd.Timestamp(rec["baseline_finish"]).date()
        if pd.notna(rec.get("baseline_finish"))
        else None,
        drawn,
        risks,
        latest_schedule_findings(snapshots, row.project_id),
    )


def build_report(
    store: Store,
    models: Mapping[str, Any],
    settings: Settings,
    *,
    as_of: date | None = None,
    top: int = 10,
    board: Board | None = None,
    backtests: Mapping[str, BacktestFigures | None] | None = None,
) -> ReportData:
    """The report of the portfolio as of ``as_of`` (default: every project's latest report).

    ``models`` maps target -> ``LoadedModel``; ``board`` may be passed when already computed
    for the same date (the web app's cache); ``backtests`` maps target -> its latest logged
    backtest (``ModelRegistry.latest_backtest``), the source of the accuracy statement.
    """
    ts = pd.Timestamp(as_of) if as_of is not None else None
    if board is None:
        board = compute_board(store, models, settings, as_of=ts)
    targets = [t for t in models if any(t in r.probability for r in board.rows)] or list(models)
    ranked = sorted(board.rows, key=lambda r: (-r.worst(), r.project_id))
    chosen = [r for r in ranked if r.worst() >= 0][:top]
    register = RiskRegister(store)
    sections = [_section(store, models, settings, r, ts, register) for r in chosen]
    return ReportData(
        as_of=board.as_of,
        generated_at=datetime.now(UTC).replace(microsecond=0),
        band_names=board.band_names,
        currency=board.currency,
        targets=targets,
        summaries=[_summary(board, t) for t in targets],
        top=chosen,
        sections=sections,
        accuracy=accuracy_statements(models, backtests),
        rows=ranked,
    )
