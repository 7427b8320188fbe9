"""How much each feature's split gain counts: project-level variation is worth fewer rows.

A portfolio's training rows are many reports of few projects. A split on a feature that only
varies *between* projects (category, budget, planned duration, schedule-quality checks, a
project attribute) is supported by as many independent observations as there are projects,
not reports: each project repeats its value (and, for outcome targets, its label) in every
report. LightGBM counts rows, so such splits look ``rows / projects`` times better supported
than they are and the booster memorises project identity; on a later portfolio it loses.

``gain_scales`` measures this on the training rows only: for a numeric feature the share ``w``
of its variance that lies *within* projects (0 for a project-constant value, near 1 for
elapsed share), and its gain is scaled by ``w + (1 - w) * projects / rows`` (LightGBM's
``feature_contri``): within-project variation keeps full weight, between-project variation is
weighted as one observation per project. A categorical column is scaled by how often its value
changes within a project in the same way. Nothing here looks at labels or at data outside the
rows given, so the same procedure runs in ``pmo-risk train``, ``retrain`` and every backtest
fold on the data that fold may use.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from risk_model.estimator import is_categorical


def within_share(values: pd.Series, groups: pd.Series, *, categorical: bool = False) -> float:
    """Share of the variance of ``values`` that lies within ``groups`` (0 when constant).

    Numeric values: within-group variance over total variance (missing values left out).
    Categorical values (``categorical``): the share of rows whose value differs from their
    group's most common value. 0.0 when the column is constant or empty.
    """
    codes, _ = pd.factorize(groups.to_numpy())
    return _within_share(values, codes, categorical)


def _within_share(values: pd.Series, codes: np.ndarray, categorical: bool) -> float:
    present = values.notna().to_numpy()
    if present.sum() < 2:
        return 0.0
    g = codes[present]
    if categorical:
        v, _ = pd.factorize(values.astype(str).to_numpy()[present])
        pairs = pd.Series(g * (int(v.max()) + 1) + v).value_counts()
        most = pairs.groupby(pairs.index // (int(v.max()) + 1)).max()
        return float(1.0 - most.sum() / len(g))
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)[present]
    total = float(v.var())
    if not np.isfinite(total) or total <= 0.0:
        return 0.0
    n = int(g.max()) + 1
    means = np.bincount(g, weights=v, minlength=n) / np.maximum(np.bincount(g, minlength=n), 1)
    within = float((v - means[g]).var())
    return float(min(1.0, max(0.0, within / total)))


def gain_scales(
    rows: pd.DataFrame, columns: Sequence[str], *, group: str = "project_id"
) -> dict[str, float]:
    """Gain scale in (0, 1] per feature of ``columns`` from the training ``rows`` (see module)."""
    if len(rows) == 0:
        return {}
    codes, uniques = pd.factorize(rows[group].astype(str).to_numpy())
    per_row = len(uniques) / len(rows)
    out: dict[str, float] = {}
    for name in columns:
        column = rows[name]
        w = _within_share(column, codes, is_categorical(name, column))
        out[str(name)] = float(w + (1.0 - w) * per_row)
    return out
