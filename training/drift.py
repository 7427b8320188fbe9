"""Feature drift: population stability index (PSI) between a model's training data and now.

The training side is kept as a *reference* (``drift_reference``): for each numeric feature the
interior cut points of its training deciles and the training share of each bin, plus the share
of missing values (their own bin); for each categorical feature the training share of each
level (unseen levels fall into an ``other`` bin; missing values into their own bin). It is a
small JSON document logged beside the model, so drift can be measured later without the
training data.

PSI of one feature = sum over bins of (a - e) * ln(a / e), where e is the training share and
a the current share of the bin; a share of 0 on either side is replaced by ``EPSILON`` (an
empty bin would otherwise make the index infinite). Common reading: < 0.1 stable, 0.1-0.25
moderate shift, > 0.25 (``Settings.psi_threshold``) a shift worth a look.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

EPSILON = 1e-4
DEFAULT_BINS = 10
OTHER = "__other__"
REFERENCE_VERSION = 1
DRIFT_COLUMNS = ("feature", "psi", "flagged")

Reference = dict[str, Any]


def _is_numeric(values: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(values)) and not pd.api.types.is_bool_dtype(values)


def _shares(counts: np.ndarray, total: int) -> list[float]:
    return [float(c) / total if total else 0.0 for c in counts]


def _numeric_reference(values: pd.Series, bins: int) -> dict[str, Any]:
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    known = x[~np.isnan(x)]
    if len(known):
        qs = np.quantile(known, np.arange(1, bins) / bins)
        edges = np.unique(qs)
    else:
        edges = np.array([], dtype="float64")
    counts = np.bincount(np.searchsorted(edges, known, side="right"), minlength=len(edges) + 1)
    return {
        "kind": "numeric",
        "edges": [float(e) for e in edges],
        "shares": _shares(counts, len(x)),
        "missing": float(np.isnan(x).sum()) / len(x) if len(x) else 0.0,
    }


def _categorical_reference(values: pd.Series) -> dict[str, Any]:
    missing = values.isna()
    counts = values[~missing].astype(str).value_counts(sort=False)
    n = len(values)
    return {
        "kind": "categorical",
        "levels": {str(k): float(v) / n for k, v in sorted(counts.items())},
        "missing": float(missing.sum()) / n if n else 0.0,
    }


def drift_reference(
    rows: pd.DataFrame, columns: Sequence[str] | None = None, *, bins: int = DEFAULT_BINS
) -> Reference:
    """The training distribution of each feature column of ``rows`` (JSON-serialisable)."""
    if bins < 2:
        raise ValueError("bins must be at least 2")
    names = list(columns) if columns is not None else list(rows.columns)
    features: dict[str, Any] = {}
    for name in names:
        values = rows[name]
        if _is_numeric(values):
            features[name] = _numeric_reference(values, bins)
        else:
            features[name] = _categorical_reference(values)
    return {"version": REFERENCE_VERSION, "bins": bins, "rows": len(rows), "features": features}


def _bin_shares(spec: Mapping[str, Any], values: pd.Series) -> tuple[list[float], list[float]]:
    """(training shares, current shares) over the same bins, the missing bin last."""
    n = len(values)
    if spec["kind"] == "numeric":
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
        known = x[~np.isnan(x)]
        edges = np.asarray(spec["edges"], dtype="float64")
        counts = np.bincount(np.searchsorted(edges, known, side="right"), minlength=len(edges) + 1)
        current = [*_shares(counts, n), float(np.isnan(x).sum()) / n if n else 0.0]
        expected = [*map(float, spec["shares"]), float(spec["missing"])]
        return expected, current
    levels: dict[str, float] = dict(spec["levels"])
    missing = values.isna()
    seen = values[~missing].astype(str)
    tally: dict[str, int] = {str(k): int(v) for k, v in seen.value_counts().items()}
    current = [tally.get(level, 0) / n if n else 0.0 for level in levels]
    other = sum(v for k, v in tally.items() if k not in levels) / n if n else 0.0
    current += [other, float(missing.sum()) / n if n else 0.0]
    expected = [*levels.values(), 0.0, float(spec["missing"])]
    return expected, current


def psi(expected: Sequence[float], actual: Sequence[float], *, eps: float = EPSILON) -> float:
    """Population stability index of two share vectors over the same bins."""
    if len(expected) != len(actual):
        raise ValueError(f"bins differ: {len(expected)} expected vs {len(actual)} actual")
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(float(e), eps), max(float(a), eps)
        total += (a - e) * math.log(a / e)
    return total


def drift_frame(reference: Reference, current: pd.DataFrame, *, threshold: float) -> pd.DataFrame:
    """PSI of every reference feature in ``current`` rows: [feature, psi, flagged], worst first.

    A feature absent from ``current`` gets NaN (not flagged); with no current rows every PSI is
    NaN. ``flagged`` is ``psi > threshold``.
    """
    records: list[dict[str, Any]] = []
    for name, spec in reference["features"].items():
        if name not in current.columns or current.empty:
            value = math.nan
        else:
            value = psi(*_bin_shares(spec, current[name]))
        records.append({"feature": name, "psi": value, "flagged": bool(value > threshold)})
    frame = pd.DataFrame.from_records(records, columns=list(DRIFT_COLUMNS))
    frame["psi"] = frame["psi"].astype("float64")
    frame["flagged"] = frame["flagged"].astype(bool)
    return frame.sort_values("psi", ascending=False, na_position="last", kind="stable").reset_index(
        drop=True
    )


def flagged_features(drift: pd.DataFrame) -> list[str]:
    """Names of the flagged features, worst first."""
    return [str(f) for f in drift.loc[drift["flagged"], "feature"]]


def drift_records(drift: pd.DataFrame) -> list[dict[str, Any]]:
    """The drift frame as JSON-safe records (NaN PSI as None)."""
    out: list[dict[str, Any]] = []
    columns = (drift["feature"], drift["psi"], drift["flagged"])
    for feature, value, flagged in zip(*columns, strict=True):
        number = float(value)
        out.append(
            {
                "feature": str(feature),
                "psi": None if math.isnan(number) else round(number, 6),
                "flagged": bool(flagged),
            }
        )
    return out


def current_rows(features: pd.DataFrame, projects: pd.DataFrame) -> pd.DataFrame:
    """The current portfolio: the latest report row of each active project."""
    status = projects["status"].astype("object").where(projects["status"].notna(), "active")
    active = set(projects.loc[(status == "active").to_numpy(), "project_id"].astype(str))
    rows = features.loc[features["project_id"].astype(str).isin(active)]
    ordered = rows.sort_values(["project_id", "as_of"], kind="stable")
    return ordered.drop_duplicates("project_id", keep="last").reset_index(drop=True)
