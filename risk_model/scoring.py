"""Score feature rows with fitted models: probability, band and drivers in words, per target.

One booster call per target for all rows (TreeSHAP contributions, whose row sums are the
margin, then calibration); only the choice of each row's top drivers loops over rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from risk_model.config import TARGETS, Settings
from risk_model.estimator import RiskClassifier
from risk_model.explain import Describe, Driver, drivers_for_matrix

REASON_PREFIX = "too little data to score: "
ID_COLUMNS = ("project_id", "as_of")


@dataclass(frozen=True)
class OverrunRangeScore:
    """P10 / P50 / P90 of the overrun ratio (slip share of planned duration, or cost growth
    share of the baseline budget): ``risk_model.ranges.OverrunRange``."""

    p10: float
    p50: float
    p90: float


@dataclass(slots=True)
class TargetScore:
    """The risk of one target (``schedule`` / ``cost``) for one row.

    When ``reason`` is set the row could not be scored: ``probability`` and ``band`` are None.
    ``base_value`` is the model's base margin (log-odds); ``contributions`` maps every feature
    to its log-odds contribution, only when scoring with ``full=True``.
    """

    target: str
    probability: float | None
    band: str | None
    drivers: list[Driver] = field(default_factory=list)
    reason: str | None = None
    model_version: str | None = None
    base_value: float | None = None
    contributions: dict[str, float] | None = None
    overrun: OverrunRangeScore | None = None


@dataclass(slots=True)
class ProjectScore:
    """Every target's score of one project at one report date."""

    project_id: str
    as_of: datetime | None
    scores: dict[str, TargetScore]


def latest_rows(features: pd.DataFrame) -> pd.DataFrame:
    """Each project's latest ``as_of`` row (original index kept, so reasons still align)."""
    ordered = features.sort_values(list(ID_COLUMNS), kind="stable")
    return ordered.drop_duplicates("project_id", keep="last")


def _reason_text(reason: Any) -> str | None:
    if reason is None or (not isinstance(reason, str) and pd.isna(reason)):
        return None
    text = str(reason)
    return text if text.startswith(REASON_PREFIX) else REASON_PREFIX + text


def _as_of(value: Any) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def _dates(column: pd.Series) -> list[datetime | None]:
    """``_as_of`` of every value (one conversion for a datetime column)."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind == "M":
        # numpy turns datetime64[us] into datetime.datetime objects, NaT into None
        return column.to_numpy(dtype="datetime64[us]").astype(object).tolist()  # type: ignore[no-any-return]
    return [_as_of(v) for v in column.tolist()]


def score_rows(
    models: Mapping[str, RiskClassifier],
    features: pd.DataFrame,
    *,
    describe: Describe,
    settings: Settings,
    reasons: Mapping[str, pd.Series] | None = None,
    explain: bool = True,
    full: bool = False,
    versions: Mapping[str, str] | None = None,
    ranges: Mapping[str, Any] | None = None,
) -> list[ProjectScore]:
    """Score every row of a feature frame with each target's model, in row order.

    ``features`` holds ``project_id``, ``as_of`` and model columns; each model gets its own
    ``feature_names_in_`` (missing columns as NaN). ``reasons[target]`` (aligned on the frame's
    index) marks rows that cannot be scored: they get no probability, only the reason.
    ``explain`` adds the top ``settings.top_drivers`` drivers; ``full`` adds every feature's
    contribution; ``ranges[target]`` (an ``OverrunRange``) adds the overrun's P10/P50/P90.
    """
    n = len(features)
    per_target: dict[str, list[TargetScore]] = {}
    for target, model in models.items():
        reason_texts = _reasons_for(reasons, target, features.index)
        scorable = np.array([r is None for r in reason_texts], dtype=bool)
        usable = features if scorable.all() else features.loc[scorable]
        rows = _score_target(
            target,
            model,
            usable,
            describe=describe,
            settings=settings,
            explain=explain or full,
            drivers=explain,
            full=full,
            version=(versions or {}).get(target),
        )
        size_model = (ranges or {}).get(target)
        if size_model is not None and rows:
            rows = _with_overrun(rows, size_model, usable)
        if scorable.all():
            per_target[target] = rows
            continue
        it = iter(rows)
        per_target[target] = [
            next(it)
            if ok
            else TargetScore(
                target=target,
                probability=None,
                band=None,
                reason=reason,
                model_version=(versions or {}).get(target),
            )
            for ok, reason in zip(scorable, reason_texts, strict=True)
        ]

    ids = features["project_id"].tolist() if "project_id" in features else [None] * n
    dates = _dates(features["as_of"]) if "as_of" in features else [None] * n
    keys = ["" if i is None else i if type(i) is str else str(i) for i in ids]
    if len(per_target) == 1:
        ((target, only),) = per_target.items()
        return [
            ProjectScore(pid, when, {target: score})
            for pid, when, score in zip(keys, dates, only, strict=True)
        ]
    return [
        ProjectScore(
            keys[i],
            dates[i],
            {target: scores[i] for target, scores in per_target.items()},
        )
        for i in range(n)
    ]


def bands_of(p: np.ndarray, settings: Settings) -> list[str]:
    """``band_of`` of every probability of an array, at once."""
    names = settings.band_names
    index = np.searchsorted(np.asarray(settings.band_cuts, dtype=np.float64), p, side="right")
    return [names[i] for i in np.minimum(index, len(names) - 1).tolist()]


def _reasons_for(
    reasons: Mapping[str, pd.Series] | None, target: str, index: pd.Index
) -> list[str | None]:
    if not reasons or target not in reasons or reasons[target] is None:
        return [None] * len(index)
    aligned = reasons[target].reindex(index)
    return [_reason_text(r) for r in aligned.tolist()]


def _with_overrun(
    rows: list[TargetScore], size_model: Any, features: pd.DataFrame
) -> list[TargetScore]:
    """Each score with its overrun range (P10/P50/P90 ratios) from ``size_model``."""
    pred = size_model.predict(features.reindex(columns=size_model.feature_names()))
    values = pred.to_numpy(dtype=np.float64)
    return [
        replace(score, overrun=OverrunRangeScore(*map(float, values[i])))
        if np.isfinite(values[i]).all()
        else score
        for i, score in enumerate(rows)
    ]


def _model_input(model: RiskClassifier, features: pd.DataFrame) -> pd.DataFrame:
    """``features`` itself when it holds every model column (the model reads its own columns
    by name), else the model's columns in fitted order, absent ones filled with NaN."""
    names = model.feature_names()
    columns = set(features.columns)
    if len(columns) == len(features.columns) and all(n in columns for n in names):
        return features
    return features.reindex(columns=names)


def _score_target(
    target: str,
    model: RiskClassifier,
    features: pd.DataFrame,
    *,
    describe: Describe,
    settings: Settings,
    explain: bool,
    drivers: bool,
    full: bool,
    version: str | None,
) -> list[TargetScore]:
    if len(features) == 0:
        return []
    X = _model_input(model, features)
    if not explain:
        p = model.predict_proba(X)[:, 1]
        return [
            TargetScore(target=target, probability=pi, band=band, model_version=version)
            for pi, band in zip(p.tolist(), bands_of(p, settings), strict=True)
        ]
    matrix = model.input_matrix(X)
    contrib = model.contribution_array(matrix)
    margin = contrib.sum(axis=1)
    p = model.calibrate_margin(margin)
    base = contrib[:, -1]
    p_base = float(model.calibrate_margin(base[:1])[0])
    feature_cols = model.feature_names()
    c = contrib[:, :-1]
    row_drivers = (
        drivers_for_matrix(
            c,
            feature_cols,
            p,
            p_base,
            describe,
            settings.top_drivers,
            target=target,
            values=X,
            numbers=matrix,
        )
        if drivers
        else [[] for _ in range(len(X))]
    )
    bands = bands_of(p, settings)
    if full:
        return [
            TargetScore(
                target=target,
                probability=pi,
                band=band,
                drivers=row_drivers[i],
                model_version=version,
                base_value=bi,
                contributions=dict(zip(feature_cols, c[i].tolist(), strict=True)),
            )
            for i, (pi, band, bi) in enumerate(zip(p.tolist(), bands, base.tolist(), strict=True))
        ]
    # positional: target, probability, band, drivers, reason, model_version, base_value
    return list(
        map(
            TargetScore,
            repeat(target),
            p.tolist(),
            bands,
            row_drivers,
            repeat(None),
            repeat(version),
            base.tolist(),
        )
    )


def scores_to_frame(scores: Sequence[ProjectScore]) -> pd.DataFrame:
    """One flat row per score for CSV / JSON: ``p_<target>``, ``band_<target>``,
    ``drivers_<target>`` (driver texts joined by "; ") per target, and ``reasons``."""
    present = {t for s in scores for t in s.scores}
    targets = [t for t in TARGETS if t in present] + sorted(present - set(TARGETS))
    columns = ["project_id", "as_of"]
    for t in targets:
        columns += [f"p_{t}", f"band_{t}", f"drivers_{t}"]
    columns.append("reasons")
    records: list[dict[str, Any]] = []
    for s in scores:
        rec: dict[str, Any] = {"project_id": s.project_id, "as_of": s.as_of}
        reasons: dict[str, str] = {}
        for t in targets:
            ts = s.scores.get(t)
            rec[f"p_{t}"] = ts.probability if ts else None
            rec[f"band_{t}"] = ts.band if ts else None
            rec[f"drivers_{t}"] = "; ".join(d.text for d in ts.drivers) if ts else ""
            if ts and ts.reason:
                reasons[t] = ts.reason
        if len(reasons) == len(s.scores) and len(set(reasons.values())) == 1:
            rec["reasons"] = next(iter(reasons.values()))
        elif reasons:
            rec["reasons"] = "; ".join(f"{t}: {r}" for t, r in reasons.items())
        else:
            rec["reasons"] = None
        records.append(rec)
    frame = pd.DataFrame.from_records(records, columns=columns)
    for t in targets:
        frame[f"p_{t}"] = frame[f"p_{t}"].astype("float64")
    return frame
