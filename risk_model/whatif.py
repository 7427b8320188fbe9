"""What-if scenarios: change a few inputs of a project's latest report and re-score it.

A *lever* is an actionable input of the latest status report (CPI, SPI, forecast delay,
forecast cost growth, open risks, open issues). Changing a lever edits the raw report (e.g.
CPI 1.0 means actual cost = earned value), then the features are rebuilt with the same
pipeline and scored with the same models, so derived signals (EAC, TCPI, trends) follow.

``bring_under`` searches, with the model itself, the smallest change that moves a target's
probability below a threshold: each lever alone, moved from its current value towards its
"good" value in equal steps, and all levers moved together by the same share of the way.
Like ``risk_model.portfolio`` it composes store frames, features and scoring; nothing in the
core of ``risk_model`` imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.pipeline import build_features
from risk_model.config import Settings
from risk_model.exceptions import InsufficientData, Problem, ValidationFailed
from risk_model.portfolio import score_features
from risk_model.risk_register import RegisterFrames

Row = dict[str, Any]


def _f(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None


def _cpi(s: Row, p: Row) -> float | None:
    ev, ac = _f(s.get("earned_value")), _f(s.get("actual_cost"))
    return ev / ac if ev is not None and ac else None


def _set_cpi(s: Row, p: Row, v: float) -> None:
    ev = _f(s.get("earned_value"))
    if ev is not None and v > 0:
        s["actual_cost"] = ev / v


def _spi(s: Row, p: Row) -> float | None:
    ev, pv = _f(s.get("earned_value")), _f(s.get("planned_value"))
    return ev / pv if ev is not None and pv else None


def _set_spi(s: Row, p: Row, v: float) -> None:
    """Earned value = SPI x PV, with actual cost moved so CPI stays as it was."""
    pv, cpi = _f(s.get("planned_value")), _cpi(s, p)
    if pv is None:
        return
    s["earned_value"] = pv * v
    if cpi:
        s["actual_cost"] = s["earned_value"] / cpi


def _delay(s: Row, p: Row) -> float | None:
    ff, bf = s.get("forecast_finish"), p.get("baseline_finish")
    if ff is None or bf is None or pd.isna(ff) or pd.isna(bf):
        return None
    return float((pd.Timestamp(ff) - pd.Timestamp(bf)).days)


def _set_delay(s: Row, p: Row, v: float) -> None:
    bf = p.get("baseline_finish")
    if bf is not None and not pd.isna(bf):
        s["forecast_finish"] = pd.Timestamp(bf) + pd.Timedelta(days=round(v))


def _bac(s: Row, p: Row) -> float | None:
    return _f(p.get("baseline_budget")) or _f(s.get("budget"))


def _growth(s: Row, p: Row) -> float | None:
    fc, bac = _f(s.get("forecast_cost")), _bac(s, p)
    return fc / bac - 1.0 if fc is not None and bac else None


def _set_growth(s: Row, p: Row, v: float) -> None:
    bac = _bac(s, p)
    if bac:
        s["forecast_cost"] = bac * (1.0 + v)


def _count(
    col: str,
) -> tuple[Callable[[Row, Row], float | None], Callable[[Row, Row, float], None]]:
    def get(s: Row, p: Row) -> float | None:
        return _f(s.get(col))

    def put(s: Row, p: Row, v: float) -> None:
        s[col] = float(max(0, round(v)))

    return get, put


@dataclass(frozen=True)
class Lever:
    """One actionable input of the latest report."""

    name: str
    label: str
    unit: str
    good: float
    """The value a recovered project would report (searched towards)."""
    low: float
    high: float
    get: Callable[[Row, Row], float | None]
    put: Callable[[Row, Row, float], None]

    higher_is_better: bool = False

    def target_value(self, current: float) -> float:
        """Where the search ends: ``good``, unless the project is already better than that."""
        return max(current, self.good) if self.higher_is_better else min(current, self.good)


_RISKS = _count("open_risks")
_ISSUES = _count("open_issues")
LEVERS: dict[str, Lever] = {
    lv.name: lv
    for lv in (
        Lever("cpi", "CPI", "ratio", 1.0, 0.05, 3.0, _cpi, _set_cpi, True),
        Lever("spi", "SPI", "ratio", 1.0, 0.05, 3.0, _spi, _set_spi, True),
        Lever(
            "forecast_delay_days",
            "Forecast finish after baseline",
            "days",
            0.0,
            -3650.0,
            3650.0,
            _delay,
            _set_delay,
        ),
        Lever(
            "forecast_cost_growth",
            "Forecast cost above budget",
            "share",
            0.0,
            -0.9,
            10.0,
            _growth,
            _set_growth,
        ),
        Lever("open_risks", "Open risks", "count", 0.0, 0.0, 1e6, *_RISKS),
        Lever("open_issues", "Open issues", "count", 0.0, 0.0, 1e6, *_ISSUES),
    )
}


@dataclass(frozen=True)
class ProjectFrames:
    """One project's stored rows: the project, its reports, its register entries."""

    project: pd.DataFrame
    snapshots: pd.DataFrame
    register: RegisterFrames | None = None

    def latest(self) -> tuple[Row, Row]:
        if self.snapshots.empty:
            raise InsufficientData("the project has no status report to change")
        s = self.snapshots.sort_values("as_of").iloc[-1].to_dict()
        p = self.project.iloc[0].to_dict()
        return {str(k): v for k, v in s.items()}, {str(k): v for k, v in p.items()}


def current_levers(frames: ProjectFrames) -> dict[str, float]:
    """Each lever's value at the latest report (levers whose inputs are missing left out)."""
    s, p = frames.latest()
    out: dict[str, float] = {}
    for name, lever in LEVERS.items():
        v = lever.get(s, p)
        if v is not None:
            out[name] = v
    return out


def _check(changes: Mapping[str, float], current: Mapping[str, float]) -> None:
    problems: list[Problem] = []
    for name, value in changes.items():
        lever = LEVERS.get(name)
        if lever is None:
            problems.append(
                Problem("body", None, name, f"unknown lever; one of {', '.join(LEVERS)}")
            )
        elif name not in current:
            problems.append(
                Problem("body", None, name, "the latest report lacks the inputs of this lever")
            )
        elif not lever.low <= value <= lever.high:
            problems.append(
                Problem(
                    "body",
                    None,
                    name,
                    f"must be between {lever.low:g} and {lever.high:g}",
                    str(value),
                )
            )
    if problems:
        raise ValidationFailed(problems)


def _variants(frames: ProjectFrames, scenarios: list[Mapping[str, float]]) -> pd.DataFrame:
    """Features of the latest report under each scenario (row i = scenario i)."""
    pid = str(frames.project["project_id"].iloc[0])
    snaps = frames.snapshots.sort_values("as_of").reset_index(drop=True)
    last = len(snaps) - 1
    projects, snapshots, registers = [], [], []
    for i, changes in enumerate(scenarios):
        vid = f"{pid}\u241f{i:05d}"
        p = frames.project.copy()
        p["project_id"] = vid
        s = snaps.copy()
        s["project_id"] = vid
        row: Row = {str(k): v for k, v in s.iloc[last].to_dict().items()}
        prow: Row = {str(k): v for k, v in frames.project.iloc[0].to_dict().items()}
        for name, value in changes.items():
            LEVERS[name].put(row, prow, float(value))
        for col, value in row.items():
            s.at[last, col] = value
        projects.append(p)
        snapshots.append(s)
        if frames.register is not None:
            r = frames.register.risks.assign(project_id=vid)
            a = frames.register.actions.assign(project_id=vid)
            registers.append((r, a))
    register = None
    if registers:
        register = RegisterFrames(
            pd.concat([r for r, _ in registers], ignore_index=True),
            pd.concat([a for _, a in registers], ignore_index=True),
        )
    features = build_features(
        pd.concat(projects, ignore_index=True),
        pd.concat(snapshots, ignore_index=True),
        register=register,
    )
    latest = features.sort_values(["project_id", "as_of"]).drop_duplicates(
        "project_id", keep="last"
    )
    return latest.reset_index(drop=True)


def score_scenarios(
    frames: ProjectFrames,
    scenarios: list[Mapping[str, float]],
    models: Mapping[str, Any],
    settings: Settings,
) -> list[dict[str, float | None]]:
    """Each scenario's probability per target (None when the row cannot be scored)."""
    rows = _variants(frames, scenarios)
    scores = score_features(rows, models, settings, explain=False, latest_only=False)
    by_id = {str(s.project_id): s for s in scores}
    out: list[dict[str, float | None]] = []
    for vid in rows["project_id"]:
        ps = by_id[str(vid)]
        out.append({t: _f(s.probability) for t, s in ps.scores.items()})
    return out


@dataclass(frozen=True)
class WhatIf:
    before: dict[str, float | None]
    after: dict[str, float | None]
    levers: dict[str, tuple[float, float]]
    """lever -> (current value, value tried)."""


def what_if(
    frames: ProjectFrames,
    changes: Mapping[str, float],
    models: Mapping[str, Any],
    settings: Settings,
) -> WhatIf:
    """Every target's probability now and with ``changes`` applied to the latest report."""
    current = current_levers(frames)
    _check(changes, current)
    before, after = score_scenarios(frames, [{}, dict(changes)], models, settings)
    levers = {k: (current[k], float(v)) for k, v in changes.items()}
    return WhatIf(before=before, after=after, levers=levers)


@dataclass(frozen=True)
class Step:
    """A scenario found by the search: the changes and the probability they give."""

    changes: dict[str, tuple[float, float]]
    """lever -> (current value, new value)."""
    probability: float | None
    share: float
    """How far along the way to the good values (0 = as is, 1 = fully recovered)."""
    below: bool


@dataclass(frozen=True)
class BringUnder:
    target: str
    threshold: float
    current: float | None
    best: Step | None
    """The smallest change that gets below (None when nothing tried does)."""
    single: list[Step]
    """Per lever: the smallest move that gets below, or its full move when none does."""
    combined: Step | None
    """All levers together by the smallest common share that gets below (or fully)."""


def bring_under(
    frames: ProjectFrames,
    target: str,
    threshold: float,
    models: Mapping[str, Any],
    settings: Settings,
    *,
    steps: int = 20,
) -> BringUnder:
    """Search the smallest lever change that moves ``target`` below ``threshold``."""
    if target not in models:
        raise ValidationFailed([Problem("body", None, "target", "no model for this target")])
    if not 0.0 < threshold < 1.0:
        raise ValidationFailed(
            [Problem("body", None, "threshold", "must be between 0 and 1", str(threshold))]
        )
    current = current_levers(frames)
    ends = {k: LEVERS[k].target_value(v) for k, v in current.items()}
    movable = [k for k in current if abs(ends[k] - current[k]) > 1e-9]
    shares = np.linspace(0.0, 1.0, steps + 1)[1:]

    def at(names: list[str], share: float) -> dict[str, float]:
        return {k: current[k] + share * (ends[k] - current[k]) for k in names}

    scenarios: list[Mapping[str, float]] = [{}]
    keys: list[tuple[str, float]] = []
    for name in [*movable, "*"]:
        if name == "*" and len(movable) < 2:
            continue
        names = movable if name == "*" else [name]
        for share in shares:
            scenarios.append(at(names, float(share)))
            keys.append((name, float(share)))
    probs = score_scenarios(frames, scenarios, models, settings)
    now = probs[0].get(target)
    found: dict[str, Step] = {}
    for (name, share), p in zip(keys, probs[1:], strict=True):
        prob = p.get(target)
        names = movable if name == "*" else [name]
        below = prob is not None and prob < threshold
        if name in found and found[name].below:
            continue
        if below or share == 1.0:
            changes = {k: (current[k], v) for k, v in at(names, share).items()}
            found[name] = Step(changes, prob, share, below)
    single = [found[k] for k in movable if k in found]
    combined = found.get("*")
    winners = [s for s in single if s.below]
    best = min(winners, key=lambda s: s.share) if winners else None
    if best is None and combined is not None and combined.below:
        best = combined
    return BringUnder(target, threshold, now, best, single, combined)
