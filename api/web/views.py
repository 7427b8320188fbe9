"""What the pages show, computed from the store and the loaded models (no HTML here).

``BoardCache`` holds the portfolio board (``risk_model.board.Board``) read from the stored
scores (``ScoreStore.latest_active``: each active project at its latest report, with its
probability at the previous report) plus each project's budget, phase, EAC and risk-register
counts. ``portfolio_page`` filters, sorts and pages it for one request.

The board reads scalars only: the drivers stay the stored JSON until a page shows the row
(``StoredDrivers``), so a 10,000-project store's board is built in well under a second.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from api.services import ModelState, num, stored_state
from risk_model.board import Board, Row, escalated
from risk_model.config import TARGETS, Settings, band_of
from risk_model.risk_register import RiskRegister
from risk_model.score_store import ActiveScore, ScoreState, ScoreStore, drivers_of
from risk_model.store import Store

EAC_INPUTS = ("forecast_cost", "earned_value", "actual_cost")
"""The latest report's fields ``estimate_at_completion`` reads."""
PHASE_LOOKUP_BY_ID = 500
"""Up to this many projects without a phase on their latest report are looked up by id;
more, and one query reads every project's latest report with a phase."""
SORTS: dict[str, str] = {
    "probability": "Probability",
    "change": "Change since the previous report",
    "budget": "Budget",
    "project": "Project",
}


class StoredDrivers(Mapping[str, list[str]]):
    """Target -> the drivers' texts, decoded from the stored JSON on first read."""

    __slots__ = ("_raw", "_texts")

    def __init__(self, raw: Mapping[str, str | None]) -> None:
        self._raw = dict(raw)
        self._texts: dict[str, list[str]] = {}

    def __getitem__(self, target: str) -> list[str]:
        texts = self._texts.get(target)
        if texts is None:
            texts = [d.text for d in drivers_of(self._raw[target])]
            self._texts[target] = texts
        return texts

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


class TopDriver(Mapping[str, str | None]):
    """Target -> the first driver's text (None without drivers), read through ``drivers``."""

    __slots__ = ("_drivers",)

    def __init__(self, drivers: Mapping[str, list[str]]) -> None:
        self._drivers = drivers

    def __getitem__(self, target: str) -> str | None:
        texts = self._drivers[target]
        return texts[0] if texts else None

    def __iter__(self) -> Iterator[str]:
        return iter(self._drivers)

    def __len__(self) -> int:
        return len(self._drivers)


def board_from_store(store: Store, state: ScoreState, settings: Settings) -> Board:
    """The board from the stored latest scores of active projects (one query) plus each
    project's latest phase and estimate at completion, and its risk-register counts."""
    scores = ScoreStore(store).latest_active()
    by_project: dict[str, list[ActiveScore]] = {}
    for a in scores:
        by_project.setdefault(a.project_id, []).append(a)
    latest: dict[str, Mapping[Any, Any]] = {}
    phases: dict[str, str] = {}
    if by_project:  # one row per project, picked by the database
        last = store.latest_snapshots([*EAC_INPUTS, "phase"])
        latest = {str(r["project_id"]): r for r in last.to_dict("records")}
        phases = {
            str(k): str(v)
            for k, v in zip(last["project_id"], last["phase"], strict=True)
            if isinstance(v, str) and v
        }
        # a phase is shown from the latest report that has one: look further back only for
        # the projects whose latest report has none (all of them, in one query, when many)
        unphased = [pid for pid in by_project if pid not in phases]
        if unphased:
            wanted = None if len(unphased) > PHASE_LOOKUP_BY_ID else unphased
            phased = store.latest_snapshots(["phase"], wanted, present="phase")
            phases.update(
                (str(k), str(v))
                for k, v in zip(phased["project_id"], phased["phase"], strict=True)
                if str(k) not in phases
            )
    summary = RiskRegister(store).summary()
    currencies: set[str] = set()
    rows: list[Row] = []
    for pid, own in by_project.items():
        first = own[0]
        if first.currency is not None:
            currencies.add(str(first.currency))
        bac = first.baseline_budget
        reg = summary.get(pid, {})
        previous = {a.target: a.previous_probability for a in own}
        drivers = StoredDrivers({a.target: a.drivers for a in own})
        rows.append(
            Row(
                project_id=pid,
                name=first.name,
                portfolio=first.portfolio,
                category=first.category,
                phase=phases.get(pid),
                as_of=first.as_of,
                budget=bac,
                eac=estimate_at_completion(latest.get(pid, {}), bac),
                probability={a.target: a.probability for a in own},
                previous=previous,
                band={a.target: a.band if a.probability is not None else None for a in own},
                previous_band={
                    t: band_of(p, settings) if p is not None else None for t, p in previous.items()
                },
                driver=TopDriver(drivers),
                drivers=drivers,
                open_risks=int(reg.get("open_risks", 0)),
                overdue_actions=int(reg.get("overdue", 0)),
            )
        )
    dates = [r.as_of for r in rows if r.as_of is not None]
    return Board(
        state.revision,
        tuple(sorted(state.versions.items())),
        tuple(rows),
        settings.band_names,
        next(iter(currencies)) if len(currencies) == 1 else None,
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
    """The board of the stored scores; rebuilt only when they are rewritten (a new store
    revision or model version rescores them: ``ScoreState`` changes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._value: Board | None = None
        self.builds = 0

    def get(self, store: Store, models: ModelState, settings: Settings) -> Board:
        """The current board: the stored scores are recomputed first when they do not
        describe the store's data (as the JSON ranking does)."""
        models.require()
        state = stored_state(store, models, settings)
        key = (state.revision, state.computed_at, tuple(sorted(state.versions.items())))
        with self._lock:
            if self._value is None or self._key != key:
                self._value = board_from_store(store, state, settings)
                self._key = key
                self.builds += 1
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
