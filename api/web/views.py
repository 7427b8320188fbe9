"""What the pages show, computed from the store and the loaded models (no HTML here).

``PortfolioBoard`` holds, per (store revision, model versions), every active project scored at
its latest report (with drivers) and at its previous report (the "change since the previous
report"), with its budget, phase and estimate at completion. Pages filter, sort and page it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import numpy as np
import pandas as pd

from api.services import ModelState, day, num, text
from features.pipeline import build_features
from risk_model.config import TARGETS, Settings
from risk_model.portfolio import score_features
from risk_model.risk_register import RiskRegister
from risk_model.scoring import ProjectScore
from risk_model.store import Store

SORTS: dict[str, str] = {
    "probability": "Probability",
    "change": "Change since the previous report",
    "budget": "Budget",
    "project": "Project",
}


@dataclass(frozen=True)
class Row:
    """One active project on the portfolio page."""

    project_id: str
    name: str | None
    portfolio: str | None
    category: str | None
    phase: str | None
    as_of: date | None
    budget: float | None
    eac: float | None
    probability: dict[str, float | None]
    previous: dict[str, float | None]
    band: dict[str, str | None]
    previous_band: dict[str, str | None]
    driver: dict[str, str | None]
    open_risks: int = 0
    overdue_actions: int = 0

    def change(self, target: str) -> float | None:
        """Change of probability since the previous report, in percentage points."""
        p, q = self.probability.get(target), self.previous.get(target)
        return None if p is None or q is None else 100.0 * (p - q)


@dataclass(frozen=True)
class Board:
    revision: int
    versions: tuple[tuple[str, str], ...]
    rows: tuple[Row, ...]
    band_names: tuple[str, ...]
    currency: str | None = None

    def options(self, attr: str) -> list[str]:
        return sorted({v for r in self.rows if (v := getattr(r, attr)) is not None})


def _band_rank(band: str | None, names: Sequence[str]) -> int:
    return -1 if band is None else list(names).index(band)


def _previous_rows(features: pd.DataFrame) -> pd.DataFrame:
    """Each project's second-latest row (projects with one row have none)."""
    ordered = features.sort_values(["project_id", "as_of"], kind="stable")
    return cast(pd.DataFrame, ordered.groupby("project_id", sort=False).nth(-2))


def _eac_share(row: Mapping[Any, Any]) -> float | None:
    """EAC / BAC: the reported forecast when there is one, else BAC / CPI."""
    growth = num(row.get("forecast_cost_growth"))
    if growth is not None:
        return 1.0 + growth
    return num(row.get("eac_bac_cpi"))


def compute_board(store: Store, models: ModelState, settings: Settings, revision: int) -> Board:
    """Score every active project at its latest and previous report (see module doc)."""
    loaded = models.require()
    projects = store.projects()
    status = projects["status"].fillna("active")
    projects = projects.loc[(status == "active").to_numpy()].reset_index(drop=True)
    ids = list(projects["project_id"])
    snapshots = store.snapshots(project_ids=ids)
    register = RiskRegister(store)
    features = build_features(projects, snapshots, register=register.frames(ids))
    if features.empty:
        return Board(revision, models.cache_key(), (), settings.band_names)
    latest = features.sort_values(["project_id", "as_of"], kind="stable").drop_duplicates(
        "project_id", keep="last"
    )
    previous = _previous_rows(features)
    now = {str(s.project_id): s for s in score_features(latest, loaded, settings, explain=True)}
    before: dict[str, ProjectScore] = {}
    if len(previous):
        before = {
            str(s.project_id): s
            for s in score_features(previous, loaded, settings, explain=False, latest_only=False)
        }
    phase = (
        snapshots.dropna(subset=["phase"]).drop_duplicates("project_id", keep="last")
        if "phase" in snapshots
        else snapshots.iloc[0:0]
    )
    phases = dict(zip(phase["project_id"], phase["phase"], strict=True))
    latest_by_id: dict[str, Mapping[Any, Any]] = {
        str(r["project_id"]): r for r in latest.to_dict("records")
    }
    summary = register.summary()
    currencies = projects["currency"].dropna().unique()
    rows: list[Row] = []
    for rec in projects.to_dict("records"):
        pid = str(rec["project_id"])
        ps = now.get(pid)
        if ps is None:
            continue
        prev = before.get(pid)
        bac = num(rec.get("baseline_budget"))
        share = _eac_share(latest_by_id.get(pid, {}))
        reg = summary.get(pid, {})
        rows.append(
            Row(
                project_id=pid,
                name=text(rec.get("name")),
                portfolio=text(rec.get("portfolio")),
                category=text(rec.get("category")),
                phase=text(phases.get(pid)),
                as_of=day(ps.as_of),
                budget=bac,
                eac=None if bac is None or share is None else bac * share,
                probability={t: num(s.probability) for t, s in ps.scores.items()},
                previous={t: num(s.probability) for t, s in (prev.scores.items() if prev else ())},
                band={
                    t: s.band if num(s.probability) is not None else None
                    for t, s in ps.scores.items()
                },
                previous_band={
                    t: s.band if num(s.probability) is not None else None
                    for t, s in (prev.scores.items() if prev else ())
                },
                driver={
                    t: (s.drivers[0].text if s.drivers else None) for t, s in ps.scores.items()
                },
                open_risks=int(reg.get("open_risks", 0)),
                overdue_actions=int(reg.get("overdue", 0)),
            )
        )
    return Board(
        revision,
        models.cache_key(),
        tuple(rows),
        settings.band_names,
        str(currencies[0]) if len(currencies) == 1 else None,
    )


class BoardCache:
    """The board per (store revision, model versions); recomputed only when either changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: Board | None = None

    def get(self, store: Store, models: ModelState, settings: Settings) -> Board:
        models.require()
        revision = int(store.revision())
        key = models.cache_key()
        v = self._value
        if v is not None and v.revision == revision and v.versions == key:
            return v
        with self._lock:
            v = self._value
            if v is None or v.revision != revision or v.versions != key:
                v = compute_board(store, models, settings, revision)
                self._value = v
            return v


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


def escalated(rows: Sequence[Row], target: str, band_names: Sequence[str]) -> list[Row]:
    """Projects whose band is higher than at their previous report, biggest jump first."""
    out = [
        r
        for r in rows
        if r.previous_band.get(target) is not None
        and _band_rank(r.band.get(target), band_names)
        > _band_rank(r.previous_band.get(target), band_names)
    ]
    out.sort(key=lambda r: (-(r.change(target) or 0.0), r.project_id))
    return out


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
