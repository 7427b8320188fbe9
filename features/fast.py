"""The feature pipeline for one project without pandas: the fast path of small score calls.

``project_features(project, reports)`` gives exactly what ``build_features`` gives for one
project (every row, or only the latest): it builds the same history columns as
``features.pipeline._history`` from plain values, then runs the very same signal functions
on an ``ArrayFrame`` (numpy columns) instead of a DataFrame, so there is no second
implementation of any signal to drift. Inputs are canonical Python values (dates as
``date`` / ``datetime``, numbers as ``float`` / ``int`` or None, RAG lower-case); checking
them is the caller's job. A property test holds it equal to ``build_features``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np

from features.evm import evm_features
from features.forecast import forecast_features
from features.history import ArrayFrame
from features.pipeline import _SNAPSHOT_NUMBERS, RAG_SCORES
from features.register import REGISTER_FEATURES
from features.registry import ATTR_PREFIX, CATEGORICAL, FEATURES, TREND_WINDOW
from features.reports import report_features
from features.schedule import schedule_features, static_features
from features.schedule_quality import schedule_quality_features
from features.trends import trend_features

_EPOCH = date(1970, 1, 1)
# Typed Any: the signal functions are annotated for DataFrames and also take an ArrayFrame.
_FAMILIES: tuple[Any, ...] = (
    static_features,
    evm_features,
    schedule_features,
    report_features,
    forecast_features,
)


def day_number(value: Any) -> float:
    """A date as float days since the epoch (NaN when missing), as ``features.history.days``."""
    if value is None:
        return math.nan
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return float((value - _EPOCH).days)
    return math.nan


def _number(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        f = float(value)
    except (TypeError, ValueError):
        return math.nan
    return f


def _history(
    project: Mapping[str, Any],
    reports: Sequence[Mapping[str, Any]],
    attributes: Mapping[str, float],
) -> ArrayFrame:
    """``features.pipeline._history`` for one project, from plain values."""
    by_day: dict[float, Mapping[str, Any]] = {}
    for r in reports:
        d = day_number(r.get("as_of"))
        if not math.isnan(d):
            by_day[d] = r  # a duplicate date keeps the last report
    days = sorted(by_day)
    rows = [by_day[d] for d in days]
    start = day_number(project.get("start_date"))
    if rows:
        asof_day = np.array(days, dtype=np.float64)
        is_report = np.ones(len(rows), dtype=bool)
    else:  # "at approval": one row at the start date
        asof_day = np.array([start], dtype=np.float64)
        is_report = np.zeros(1, dtype=bool)
    n = len(asof_day)

    def snap(values: list[float]) -> np.ndarray:
        return np.array(values, dtype=np.float64) if rows else np.full(n, np.nan)

    category = project.get("category")
    h = ArrayFrame(
        code=np.zeros(n, dtype=np.int64),
        is_report=is_report,
        asof_day=asof_day,
        p_category=np.array([category] * n, dtype=object),
        p_start=np.full(n, start),
        p_finish=np.full(n, day_number(project.get("baseline_finish"))),
        p_budget=np.full(n, _number(project.get("baseline_budget"))),
    )
    for col in _SNAPSHOT_NUMBERS:
        h[f"s_{col}"] = snap([_number(r.get(col)) for r in rows])
    h["s_forecast_finish"] = snap([day_number(r.get("forecast_finish")) for r in rows])
    h["s_rag"] = snap([RAG_SCORES.get(r.get("rag") or "", math.nan) for r in rows])
    h["t"] = h["asof_day"] - h["p_start"]
    for name, value in attributes.items():
        h[f"{ATTR_PREFIX}{name}"] = np.full(n, _number(value))
    return h


def _signals(h: ArrayFrame, trend_window: int) -> None:
    """Every signal family on a history, in place (one project or several, by ``code``)."""
    for family in _FAMILIES:
        h.update(family(h))
    frame: Any = h
    trends: Any = trend_features(frame, trend_window)
    quality: Any = schedule_quality_features(frame)
    h.update(trends)
    h.update(quality)
    # issue 5: no risk register reaches this path (scores of sent data): its features are NaN,
    # as build_features gives without a register
    for name in REGISTER_FEATURES:
        h[name] = np.full(len(h["asof_day"]), np.nan)


def _rows(
    h: ArrayFrame, ids: Sequence[Any], positions: Sequence[int], attributes: Sequence[str]
) -> list[dict[str, Any]]:
    """Rows at ``positions`` as mappings (``ids``: the project id of each position)."""
    names = [*FEATURES, *(f"{ATTR_PREFIX}{a}" for a in attributes)]
    at = np.asarray(positions, dtype=np.int64)
    columns = {  # only the wanted rows, as Python values
        name: (
            h[name].to_numpy(dtype=object)[at].tolist()
            if name in CATEGORICAL
            else h[name].to_numpy(dtype=np.float64)[at].tolist()
        )
        for name in names
    }
    asof = h["asof_day"].to_numpy(dtype=np.float64)[at].tolist()
    out = []
    for k, pid in enumerate(ids):
        row: dict[str, Any] = {"project_id": pid, "as_of": float(asof[k])}
        for name, values in columns.items():
            v = values[k]
            if name in CATEGORICAL:
                row[name] = None if v is None or v != v else v
            else:  # an infinity is NaN, as build_features gives it
                row[name] = v if math.isfinite(v) else math.nan
        out.append(row)
    return out


def project_features(
    project: Mapping[str, Any],
    reports: Sequence[Mapping[str, Any]],
    *,
    attributes: Mapping[str, float] | None = None,
    trend_window: int = TREND_WINDOW,
    latest_only: bool = True,
) -> list[dict[str, Any]]:
    """Feature rows of one project (oldest first; only the latest with ``latest_only``).

    Each row maps ``project_id``, ``as_of`` (epoch days as float, NaN when unknown), every
    ``FEATURES`` name (float, NaN when missing; ``category`` a string or None) and
    ``attr_<name>`` per numeric attribute.
    """
    h = _history(project, reports, attributes or {})
    _signals(h, trend_window)
    n = len(h["asof_day"])
    positions = [n - 1] if latest_only else list(range(n))
    ids = [project.get("project_id")] * len(positions)
    return _rows(h, ids, positions, list(attributes or {}))


Item = tuple[Mapping[str, Any], Sequence[Mapping[str, Any]], Mapping[str, float]]
"""(project, reports, numeric attributes), as ``project_features`` takes them."""


def latest_features(
    items: Sequence[Item], *, trend_window: int = TREND_WINDOW
) -> list[dict[str, Any]]:
    """Each project's latest row, exactly ``project_features(*item)[0]`` (in ``items``' order),
    computed for all projects at once: one history of consecutive project blocks, so every
    numpy call covers every project (the signal functions group by ``code``, as they do for
    ``build_features``). Project ids must be distinct. An attribute a project lacks is NaN
    in its row."""
    if not items:
        return []
    parts = [_history(project, reports, {}) for project, reports, _ in items]
    sizes = [len(part["asof_day"]) for part in parts]
    h = (
        ArrayFrame(dict(parts[0]))
        if len(parts) == 1
        else ArrayFrame(
            {k: np.concatenate([dict.__getitem__(part, k) for part in parts]) for k in parts[0]}
        )
    )
    h["code"] = np.repeat(np.arange(len(parts), dtype=np.int64), sizes)
    names: list[str] = []
    for _, _, attributes in items:
        names += [a for a in attributes if a not in names]
    for name in names:
        values = [_number(attributes.get(name)) for _, _, attributes in items]
        h[f"{ATTR_PREFIX}{name}"] = np.repeat(np.array(values, dtype=np.float64), sizes)
    _signals(h, trend_window)
    ends = (np.cumsum(sizes) - 1).tolist()
    rows = _rows(h, [project.get("project_id") for project, _, _ in items], ends, names)
    for row, (_, _, attributes) in zip(rows, items, strict=True):
        for name in names:  # as project_features: only the project's own attributes
            if name not in attributes:
                del row[f"{ATTR_PREFIX}{name}"]
    return rows
