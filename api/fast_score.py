"""The fast path of ``POST /v1/score``: a few projects, no explanation, no pandas.

``fast_score`` handles a body only when it can answer exactly as the general path would
(``api.services.score_request``): every value is one the validation accepts unchanged (or
only normalises: RAG letters and case, surrounding spaces), no project id repeats, no report
date repeats within a project. Anything else — explanations, many projects, a value the
validation would reject or convert — returns None and the general path answers (with its
full list of problems when there are any).

Features come from ``features.fast.project_features`` (the same signal functions on numpy
columns), the model input is encoded as ``RiskClassifier._matrix`` does, the booster is called
once per target with ``num_threads = n_jobs``, and the calibration is the model's own.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, cast

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from api.schemas import ProjectScoreOut, ScoreIn, ScoreOut, TargetScoreOut
from api.services import ModelState
from features.fast import latest_features
from features.pipeline import row_reason
from risk_model.config import Settings, band_of
from risk_model.schemas import PROJECT_FIELDS
from risk_model.scoring import REASON_PREFIX

FAST_MAX_PROJECTS = 100
"""Up to this many projects (the most a page of a dashboard sends) the fast path beats the
vectorised pandas path; above it the general path answers."""

_STATUSES = {"active", "completed", "cancelled", "canceled", "complete"}
_RAG = {"r": "red", "a": "amber", "g": "green", "red": "red", "amber": "amber", "green": "green"}
_MONEY = ("planned_value", "earned_value", "actual_cost", "forecast_cost", "budget")
_COUNTS = ("open_risks", "open_issues", "change_requests")
_MONEY_AND_COUNTS = (*_MONEY, *_COUNTS)
_EPOCH = date(1970, 1, 1)


class _NotFast(Exception):
    """The body needs the general path."""


def _finite(value: Any, *, lo: float | None = 0.0, hi: float | None = None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _NotFast
    f = float(value)
    if not math.isfinite(f) or (lo is not None and f < lo) or (hi is not None and f > hi):
        raise _NotFast
    return f


def _amounts(snapshot: Any, names: Sequence[str], report: dict[str, Any]) -> None:
    """``report[name] = _finite(snapshot.name)`` for each name (a float in range at once)."""
    for name in names:
        value = getattr(snapshot, name)
        if type(value) is float and 0.0 <= value <= _MAX:  # NaN fails both comparisons
            report[name] = value
        else:
            report[name] = _finite(value)


_MAX = sys.float_info.max
"""The largest finite float (above it: infinity)."""


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def _maybe_number(text: str) -> bool:
    """Whether a text attribute could be read as a number by the validation or pandas."""
    cleaned = text.replace(",", "").replace("_", "").strip(" $€£¥₹%()+-").lower()
    if cleaned in ("nan", "inf", "infinity", "na", "n/a", "null", "none"):
        return True
    try:
        float(cleaned)
    except ValueError:
        return False
    return True


def _project(project: Any) -> tuple[dict[str, Any], dict[str, float | str]]:
    pid = project.project_id
    if pid != pid.strip() or not pid:
        raise _NotFast
    status = _text(project.status)
    if status is not None and status.lower() not in _STATUSES:
        raise _NotFast
    start, finish, actual = project.start_date, project.baseline_finish, project.actual_finish
    if start is not None and (
        (finish is not None and finish < start) or (actual is not None and actual < start)
    ):
        raise _NotFast
    _finite(project.actual_cost)
    attributes: dict[str, float | str] = {}
    for name, value in project.attributes.items():
        if name in PROJECT_FIELDS or name != name.strip():
            raise _NotFast  # clashes and renames are the general path's business
        if isinstance(value, str):
            value = value.strip()
            if not value:
                continue  # a blank cell
            if _maybe_number(value):
                raise _NotFast  # text that may read as a number: the validation decides
            attributes[name] = value
        elif value is not None:
            if isinstance(value, bool) or not math.isfinite(float(value)):
                raise _NotFast
            attributes[name] = float(value)
    return (
        {
            "project_id": pid,
            "category": _text(project.category),
            "start_date": start,
            "baseline_finish": finish,
            "baseline_budget": _finite(project.baseline_budget),
        },
        attributes,
    )


def _report(snapshot: Any, pid: str) -> dict[str, Any]:
    if snapshot.project_id not in (None, pid):
        raise _NotFast
    rag = _text(snapshot.rag)
    if rag is not None:
        rag = _RAG.get(rag.lower())
        if rag is None:
            raise _NotFast
    report: dict[str, Any] = {
        "as_of": snapshot.as_of,
        "forecast_finish": snapshot.forecast_finish,
        "rag": rag,
        "percent_complete": _finite(snapshot.percent_complete, hi=100.0),
    }
    _amounts(snapshot, _MONEY_AND_COUNTS, report)
    return report


def _prepare(body: ScoreIn) -> list[tuple[dict[str, Any], list[dict[str, Any]], dict[str, float]]]:
    out = []
    seen: set[str] = set()
    parsed = [_project(item.project) for item in body.projects]
    # An attribute is a feature when every project's present value is a number (a column of
    # a file: one text value makes the whole column text).
    text_columns = {k for _, attrs in parsed for k, v in attrs.items() if isinstance(v, str)}
    for item, (project, raw_attributes) in zip(body.projects, parsed, strict=True):
        attributes = {k: float(v) for k, v in raw_attributes.items() if k not in text_columns}
        if project["project_id"] in seen:
            raise _NotFast
        seen.add(project["project_id"])
        reports: list[dict[str, Any]] = []
        dates: set[date] = set()
        for snapshot in item.snapshots:
            report = _report(snapshot, project["project_id"])
            if report["as_of"] in dates:
                raise _NotFast
            dates.add(report["as_of"])
            if body.as_of is None or report["as_of"] <= body.as_of:
                reports.append(report)
        out.append((project, reports, attributes))
    return out


class _Encoder:
    """A model's input row from a feature mapping, as ``RiskClassifier._matrix`` encodes it."""

    def __init__(self, model: Any) -> None:
        self.names: list[str] = model.feature_names()
        categories: Mapping[str, list[str]] = getattr(model, "categories_", {})
        self.codes: dict[str, dict[str, int]] = {
            name: {c: i for i, c in enumerate(cats)} for name, cats in categories.items()
        }

    def matrix(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        out = np.empty((len(rows), len(self.names)), dtype=np.float64)
        for i, row in enumerate(rows):
            for j, name in enumerate(self.names):
                v = row.get(name)
                codes = self.codes.get(name)
                if codes is not None:
                    out[i, j] = math.nan if v is None else codes.get(str(v), math.nan)
                else:
                    out[i, j] = math.nan if v is None else v
        return out


_ENCODERS: dict[int, tuple[Any, _Encoder]] = {}


def _encoder(model: Any) -> _Encoder:
    cached = _ENCODERS.get(id(model))
    if cached is None or cached[0] is not model:
        cached = (model, _Encoder(model))
        if len(_ENCODERS) > 16:
            _ENCODERS.clear()
        _ENCODERS[id(model)] = cached
    return cached[1]


def _calibrate(model: Any, margin: np.ndarray) -> np.ndarray:
    """``model.calibrate_margin`` without sklearn's input checks for the Platt case."""
    cal = model.calibrator_
    if cal is None:
        return np.asarray(expit(margin))
    if isinstance(cal, LogisticRegression) and cal.coef_.shape == (1, 1):
        decision = margin.reshape(-1, 1) @ cal.coef_.T + cal.intercept_
        return np.asarray(expit(decision.ravel()), dtype=np.float64)
    return np.asarray(model.calibrate_margin(margin), dtype=np.float64)


def fast_score(body: ScoreIn, models: ModelState, settings: Settings) -> ScoreOut | None:
    """The answer of ``score_request`` for small bodies without explanations, else None."""
    if body.explain or len(body.projects) > FAST_MAX_PROJECTS:
        return None
    loaded = models.require()
    try:
        prepared = _prepare(body)
    except _NotFast:
        return None
    rows = latest_features(prepared)
    versions = models.versions()
    per_target: dict[str, list[TargetScoreOut]] = {}
    for target, lm in loaded.items():
        model = lm.model
        reasons = [row_reason(row, target) for row in rows]
        ok = [i for i, r in enumerate(reasons) if r is None]
        probs: dict[int, float] = {}
        if ok:
            X = _encoder(model).matrix([rows[i] for i in ok])
            margin = model.margin_array(X)
            probs = dict(zip(ok, _calibrate(model, margin).tolist(), strict=True))
        version = versions.get(target)
        per_target[target] = [
            TargetScoreOut(
                probability=probs[i],
                band=band_of(probs[i], settings),
                model_version=version,
            )
            if i in probs
            else TargetScoreOut(
                probability=None,
                band=None,
                reason=REASON_PREFIX + str(reasons[i]),
                model_version=version,
            )
            for i in range(len(rows))
        ]
    results = [
        ProjectScoreOut(
            project_id=str(row["project_id"]),
            as_of=_date(row["as_of"]),
            scores=cast(Any, {t: scores[i] for t, scores in per_target.items()}),
        )
        for i, row in enumerate(rows)
    ]
    return ScoreOut(results=results, model_versions=cast(Any, versions))


def _date(days: float) -> date | None:
    if days != days:
        return None
    return date.fromordinal(_EPOCH.toordinal() + int(days))
