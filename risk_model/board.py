"""The portfolio board: every active project scored at its latest and previous report.

Shared by the web app (portfolio page) and the reports (``risk_model.report``) so both show
the same numbers: per project its probability, band and top driver per target now and at the
previous report (the change since then), budget, estimate at completion, phase, and the risk
register's open risks and overdue actions. Like ``risk_model.portfolio`` it composes store,
features and scoring; nothing in the core of ``risk_model`` imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, cast

import numpy as np
import pandas as pd

from risk_model.config import Settings
from risk_model.portfolio import portfolio_features, score_features
from risk_model.risk_register import RiskRegister
from risk_model.scoring import ProjectScore
from risk_model.store import Store


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return str(value)


def _day(value: Any) -> date | None:
    if value is None or pd.isna(value):
        return None
    return cast(date, pd.Timestamp(value).date())


@dataclass(frozen=True)
class Row:
    """One active project on the board."""

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
    driver: Mapping[str, str | None]
    drivers: Mapping[str, list[str]]
    open_risks: int = 0
    overdue_actions: int = 0

    def change(self, target: str) -> float | None:
        """Change of probability since the previous report, in percentage points."""
        p, q = self.probability.get(target), self.previous.get(target)
        return None if p is None or q is None else 100.0 * (p - q)

    def worst(self) -> float:
        """The highest probability over targets (-1 when none is scored)."""
        values = [p for p in self.probability.values() if p is not None]
        return max(values) if values else -1.0


@dataclass(frozen=True)
class Board:
    revision: int
    versions: tuple[tuple[str, str], ...]
    rows: tuple[Row, ...]
    band_names: tuple[str, ...]
    currency: str | None = None
    as_of: date | None = None

    def options(self, attr: str) -> list[str]:
        return sorted({v for r in self.rows if (v := getattr(r, attr)) is not None})

    def filtered(self, keep: Callable[[Row], bool]) -> Board:
        """The same board with only the rows ``keep`` admits (e.g. a key's portfolios)."""
        return replace(self, rows=tuple(r for r in self.rows if keep(r)))

    @property
    def targets(self) -> list[str]:
        seen: list[str] = []
        for r in self.rows:
            seen += [t for t in r.probability if t not in seen]
        return seen


def band_rank(band: str | None, names: Sequence[str]) -> int:
    return -1 if band is None else list(names).index(band)


def _previous_rows(features: pd.DataFrame) -> pd.DataFrame:
    """Each project's second-latest row (projects with one row have none)."""
    ordered = features.sort_values(["project_id", "as_of"], kind="stable")
    return cast(pd.DataFrame, ordered.groupby("project_id", sort=False).nth(-2))


def _eac_share(row: Mapping[Any, Any]) -> float | None:
    """EAC / BAC: the reported forecast when there is one, else BAC / CPI."""
    growth = _num(row.get("forecast_cost_growth"))
    if growth is not None:
        return 1.0 + growth
    return _num(row.get("eac_bac_cpi"))


def _probabilities(ps: ProjectScore | None) -> dict[str, float | None]:
    return {t: _num(s.probability) for t, s in (ps.scores.items() if ps else ())}


def _bands(ps: ProjectScore | None) -> dict[str, str | None]:
    return {
        t: s.band if _num(s.probability) is not None else None
        for t, s in (ps.scores.items() if ps else ())
    }


def compute_board(
    store: Store,
    models: Mapping[str, Any],
    settings: Settings,
    *,
    as_of: pd.Timestamp | None = None,
    revision: int = 0,
    versions: tuple[tuple[str, str], ...] = (),
) -> Board:
    """Score every project active at ``as_of`` (default: now) at its latest and previous
    report up to that date; ``models`` maps target -> ``LoadedModel``."""
    projects, features = portfolio_features(store, as_of=as_of)
    if features.empty:
        return Board(revision, versions, (), settings.band_names, None, _day(as_of))
    ids = list(projects["project_id"])
    latest = features.sort_values(["project_id", "as_of"], kind="stable").drop_duplicates(
        "project_id", keep="last"
    )
    previous = _previous_rows(features)
    now = {str(s.project_id): s for s in score_features(latest, models, settings, explain=True)}
    before: dict[str, ProjectScore] = {}
    if len(previous):
        scored = score_features(previous, models, settings, explain=False, latest_only=False)
        before = {str(s.project_id): s for s in scored}
    snapshots = store.snapshots(project_ids=ids, until=as_of)
    phase = snapshots.dropna(subset=["phase"]).drop_duplicates("project_id", keep="last")
    phases = dict(zip(phase["project_id"], phase["phase"], strict=True))
    latest_by_id: dict[str, Mapping[Any, Any]] = {
        str(r["project_id"]): r for r in latest.to_dict("records")
    }
    on = as_of.date() if as_of is not None else None
    summary = RiskRegister(store).summary(on)
    currencies = projects["currency"].dropna().unique()
    rows: list[Row] = []
    for rec in projects.to_dict("records"):
        pid = str(rec["project_id"])
        ps = now.get(pid)
        if ps is None:
            continue
        prev = before.get(pid)
        bac = _num(rec.get("baseline_budget"))
        share = _eac_share(latest_by_id.get(pid, {}))
        reg = summary.get(pid, {})
        rows.append(
            Row(
                project_id=pid,
                name=_text(rec.get("name")),
                portfolio=_text(rec.get("portfolio")),
                category=_text(rec.get("category")),
                phase=_text(phases.get(pid)),
                as_of=_day(ps.as_of),
                budget=bac,
                eac=None if bac is None or share is None else bac * share,
                probability=_probabilities(ps),
                previous=_probabilities(prev),
                band=_bands(ps),
                previous_band=_bands(prev),
                driver={
                    t: (s.drivers[0].text if s.drivers else None) for t, s in ps.scores.items()
                },
                drivers={t: [d.text for d in s.drivers] for t, s in ps.scores.items()},
                open_risks=int(reg.get("open_risks", 0)),
                overdue_actions=int(reg.get("overdue", 0)),
            )
        )
    dates = [r.as_of for r in rows if r.as_of is not None]
    return Board(
        revision,
        versions,
        tuple(rows),
        settings.band_names,
        str(currencies[0]) if len(currencies) == 1 else None,
        _day(as_of) if as_of is not None else (max(dates) if dates else None),
    )


def escalated(rows: Sequence[Row], target: str, band_names: Sequence[str]) -> list[Row]:
    """Projects whose band is higher than at their previous report, biggest jump first."""
    out = [
        r
        for r in rows
        if r.previous_band.get(target) is not None
        and band_rank(r.band.get(target), band_names)
        > band_rank(r.previous_band.get(target), band_names)
    ]
    out.sort(key=lambda r: (-(r.change(target) or 0.0), r.project_id))
    return out


def improved(rows: Sequence[Row], target: str, band_names: Sequence[str]) -> list[Row]:
    """Projects whose band is lower than at their previous report."""
    out = [
        r
        for r in rows
        if r.previous_band.get(target) is not None
        and r.band.get(target) is not None
        and band_rank(r.band.get(target), band_names)
        < band_rank(r.previous_band.get(target), band_names)
    ]
    out.sort(key=lambda r: ((r.change(target) or 0.0), r.project_id))
    return out


def newly_top(rows: Sequence[Row], target: str, band_names: Sequence[str]) -> list[Row]:
    """Projects in the highest band now that were not at their previous report."""
    top = band_names[-1]
    return [
        r
        for r in escalated(rows, target, band_names)
        if r.band.get(target) == top and r.previous_band.get(target) != top
    ]


@dataclass(frozen=True)
class Alert:
    """A project that moved into a higher band of a target since a date."""

    project_id: str
    name: str | None
    target: str
    band_before: str
    band_now: str
    probability_before: float | None
    probability_now: float | None
    as_of: date | None
    driver: str | None

    def text(self) -> str:
        def pct(p: float | None) -> str:
            return "?" if p is None else f"{100 * p:.0f}%"

        label = f"{self.project_id}" + (f" ({self.name})" if self.name else "")
        because = f": {self.driver}" if self.driver else ""
        return (
            f"{label} {self.target} risk {self.band_before} -> {self.band_now} "
            f"({pct(self.probability_before)} -> {pct(self.probability_now)}){because}"
        )


def band_changes(before: Board, now: Board) -> list[Alert]:
    """Projects of ``now`` in a higher band of any target than in ``before``, worst first."""
    earlier = {r.project_id: r for r in before.rows}
    names = now.band_names
    out: list[Alert] = []
    for r in now.rows:
        old = earlier.get(r.project_id)
        if old is None:
            continue
        for t, band in r.band.items():
            was = old.band.get(t)
            if band is None or was is None or band_rank(band, names) <= band_rank(was, names):
                continue
            out.append(
                Alert(
                    r.project_id,
                    r.name,
                    t,
                    was,
                    band,
                    old.probability.get(t),
                    r.probability.get(t),
                    r.as_of,
                    r.driver.get(t),
                )
            )
    out.sort(key=lambda a: (-band_rank(a.band_now, names), -(a.probability_now or 0), a.project_id))
    return out


def alerts_since(
    store: Store, models: Mapping[str, Any], settings: Settings, since: date
) -> list[Alert]:
    """Projects that crossed into a higher band between ``since`` and their latest report."""
    before = compute_board(store, models, settings, as_of=pd.Timestamp(since))
    now = compute_board(store, models, settings)
    return band_changes(before, now)
