"""What the pages show, computed from the store and the loaded models (no HTML here).

``BoardCache`` holds the portfolio board (``risk_model.board.Board``): the API's portfolio
scores (stored scores: each active project at its latest report, and its probability at the
previous report) with each project's budget, phase, EAC and risk-register counts.
``portfolio_page`` filters, sorts and pages it for one request.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from api.services import PortfolioScores, num
from risk_model.board import Board, Row, escalated
from risk_model.config import TARGETS, Settings, band_of
from risk_model.risk_register import RiskRegister
from risk_model.store import Store

EAC_INPUTS = ("forecast_cost", "earned_value", "actual_cost")
"""The latest report's fields ``estimate_at_completion`` reads."""
SORTS: dict[str, str] = {
    "probability": "Probability",
    "change": "Change since the previous report",
    "budget": "Budget",
    "project": "Project",
}


def board_from_scores(scores: PortfolioScores, store: Store, settings: Settings) -> Board:
    """The board from the (stored) portfolio scores plus each project's budget, latest phase
    and estimate at completion, and its risk-register counts."""
    ids = [e.project_id for e in scores.entries]
    projects = store.projects(project_ids=ids) if ids else store.projects().iloc[0:0]
    info = {str(r["project_id"]): r for r in projects.to_dict("records")}
    latest: dict[str, Mapping[Any, Any]] = {}
    phases: dict[str, str] = {}
    if ids:  # one row per project, picked by the database (not every report of every project)
        last = store.latest_snapshots(EAC_INPUTS, project_ids=ids)
        latest = {str(r["project_id"]): r for r in last.to_dict("records")}
        phased = store.latest_snapshots(["phase"], project_ids=ids, present="phase")
        phases = {
            str(k): str(v) for k, v in zip(phased["project_id"], phased["phase"], strict=True)
        }
    summary = RiskRegister(store).summary()
    currencies: list[Any] = list(projects["currency"].dropna().unique()) if len(projects) else []
    rows: list[Row] = []
    for e in scores.entries:
        rec = info.get(e.project_id, {})
        bac = num(rec.get("baseline_budget"))
        snap = latest.get(e.project_id, {})
        reg = summary.get(e.project_id, {})
        previous = {t: num(p) for t, p in e.previous.items()}
        rows.append(
            Row(
                project_id=e.project_id,
                name=e.name,
                portfolio=e.portfolio,
                category=e.category,
                phase=phases.get(e.project_id),
                as_of=e.as_of,
                budget=bac,
                eac=estimate_at_completion(snap, bac),
                probability={t: s.probability for t, s in e.scores.items()},
                previous=previous,
                band={t: s.band for t, s in e.scores.items()},
                previous_band={
                    t: band_of(p, settings) if p is not None else None for t, p in previous.items()
                },
                driver={t: (s.drivers[0].text if s.drivers else None) for t, s in e.scores.items()},
                drivers={t: [d.text for d in s.drivers] for t, s in e.scores.items()},
                open_risks=int(reg.get("open_risks", 0)),
                overdue_actions=int(reg.get("overdue", 0)),
            )
        )
    dates = [r.as_of for r in rows if r.as_of is not None]
    return Board(
        scores.revision,
        scores.versions,
        tuple(rows),
        settings.band_names,
        str(currencies[0]) if len(currencies) == 1 else None,
        max(dates) if dates else None,
    )


def estimate_at_completion(snapshot: Mapping[Any, Any], bac: float | None) -> float | None:
    """The latest report's forecast cost, else BAC / CPI (None without either)."""
    forecast = num(snapshot.get("forecast_cost"))
    if forecast is not None:
        return forecast
    ev, ac = num(snapshot.get("earned_value")), num(snapshot.get("actual_cost"))
    if bac is None or ev is None or not ac or ev <= 0:
        return None
    return bac * ac / ev


class BoardCache:
    """The board of the current portfolio scores; rebuilt only when those are recomputed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._source: PortfolioScores | None = None
        self._value: Board | None = None

    def get(self, scores: PortfolioScores, store: Store, settings: Settings) -> Board:
        with self._lock:
            if self._value is None or self._source is not scores:
                self._value = board_from_scores(scores, store, settings)
                self._source = scores
            return self._value


# -- the portfolio page ----------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    target: str = TARGETS[0]
    portfolio: str | None = None
    category: str | None = None
    band: str | None = None
    phase: str | None = None
    sort: str = "probability"
    descending: bool = True
    page: int = 1
    per_page: int = 50

    def keep(self, r: Row) -> bool:
        return (
            (self.portfolio is None or r.portfolio == self.portfolio)
            and (self.category is None or r.category == self.category)
            and (self.band is None or r.band.get(self.target) == self.band)
            and (self.phase is None or r.phase == self.phase)
        )

    def query(self, **changes: Any) -> dict[str, Any]:
        """The query string parameters of these filters with some changed (for links)."""
        base = {
            "target": self.target,
            "portfolio": self.portfolio,
            "category": self.category,
            "band": self.band,
            "phase": self.phase,
            "sort": self.sort,
            "order": "desc" if self.descending else "asc",
            "page": self.page,
        }
        base.update(changes)
        return {k: v for k, v in base.items() if v not in (None, "")}


@dataclass
class Tiles:
    per_band: dict[str, int]
    budget_at_risk: float
    expected_overrun: float
    escalated: int
    projects: int
    scored: int


@dataclass
class PortfolioPage:
    filters: Filters
    rows: list[Row]
    total: int
    pages: int
    tiles: Tiles
    escalated: list[Row]
    scatter: dict[str, list[Any]]
    options: dict[str, list[str]]
    band_names: tuple[str, ...]
    currency: str | None
    as_of: date | None
    extra: dict[str, Any] = field(default_factory=dict)


def _sort_key(f: Filters) -> Any:
    t = f.target

    def missing_last(v: float | None) -> tuple[bool, float]:
        if v is None:
            return (True, 0.0)
        return (False, -v if f.descending else v)

    if f.sort == "project":
        return lambda r: r.project_id
    if f.sort == "budget":
        return lambda r: (missing_last(r.budget), r.project_id)
    if f.sort == "change":
        return lambda r: (missing_last(r.change(t)), r.project_id)
    return lambda r: (missing_last(r.probability.get(t)), r.project_id)


def portfolio_page(board: Board, f: Filters) -> PortfolioPage:
    """Filter, summarise, sort and cut the board for one page view."""
    t = f.target
    chosen = [r for r in board.rows if f.keep(r)]
    per_band = dict.fromkeys(board.band_names, 0)
    budget_at_risk = expected = 0.0
    scored = 0
    for r in chosen:
        p = r.probability.get(t)
        b = r.band.get(t)
        if b is not None:
            per_band[b] += 1
        if p is None:
            continue
        scored += 1
        if r.budget is not None:
            budget_at_risk += p * r.budget
            if r.eac is not None:
                expected += p * max(r.eac - r.budget, 0.0)
    esc = escalated(chosen, t, board.band_names)
    if f.sort == "project":
        ordered = sorted(chosen, key=_sort_key(f), reverse=not f.descending)
    else:
        ordered = sorted(chosen, key=_sort_key(f))
    pages = max(1, math.ceil(len(ordered) / f.per_page))
    page = min(max(1, f.page), pages)
    start = (page - 1) * f.per_page
    points = [r for r in chosen if r.probability.get(t) is not None and r.budget is not None]
    scatter: dict[str, list[Any]] = {
        "x": [r.budget for r in points],
        "y": [round(100.0 * (r.probability[t] or 0.0), 2) for r in points],
        "band": [r.band.get(t) for r in points],
        "id": [r.project_id for r in points],
    }
    dates = [r.as_of for r in chosen if r.as_of is not None]
    return PortfolioPage(
        filters=Filters(**{**f.__dict__, "page": page}),
        rows=ordered[start : start + f.per_page],
        total=len(ordered),
        pages=pages,
        tiles=Tiles(per_band, budget_at_risk, expected, len(esc), len(chosen), scored),
        escalated=esc[:20],
        scatter=scatter,
        options={
            "portfolio": board.options("portfolio"),
            "category": board.options("category"),
            "phase": board.options("phase"),
        },
        band_names=board.band_names,
        currency=board.currency,
        as_of=max(dates) if dates else None,
    )


def money(value: float | None, currency: str | None = None) -> str:
    """1234567 -> '1.23 M' (with the currency when known); '—' when missing."""
    if value is None or not np.isfinite(value):
        return "\u2014"
    unit = ""
    v = float(value)
    for div, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if abs(v) >= div:
            v, unit = v / div, suffix
            break
    out = f"{v:,.2f}{unit}" if unit else f"{v:,.0f}"
    return f"{out} {currency}" if currency else out
