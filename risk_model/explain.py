"""From TreeSHAP contributions to drivers a PMO can read, and SHAP summaries for MLflow.

Contributions are in log-odds (LightGBM margin). A ``Driver`` carries both the raw
contribution and ``points``: its signed share of the move in *calibrated* probability, in
percentage points, from ``p_base`` (the calibrated probability at the base value) to ``p``.

Rule (``probability_points``), with ``shift = sum of contributions = margin - base_value``:

* when ``|shift| >= MIN_MARGIN_SHIFT`` (0.25 log-odds), ``p - p_base`` is distributed over the
  features in proportion to their contributions: ``points_i = 100 (p - p_base) c_i / shift``.
  The points then add up exactly to ``100 (p - p_base)``.
* otherwise the contributions nearly cancel, the ratio is unstable, and each contribution is
  scaled by the local slope of a logistic curve at ``p``: ``points_i = 100 p (1 - p) c_i``
  (also used if ``p - p_base`` and ``shift`` disagree in sign, which a monotone calibrator
  never produces). Points keep the sign of their contribution.

This module never imports ``features``; the caller supplies ``describe`` (in production
``features.registry.describe_driver``) to put a driver into words.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from risk_model.estimator import BASE_VALUE

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from risk_model.estimator import RiskClassifier

MIN_MARGIN_SHIFT = 0.25

Describe = Callable[[str, Any, float, str], str]
"""``describe(name, value, contribution, target) -> text`` supplied by the caller."""


@dataclass(frozen=True)
class Driver:
    """One reason for a score: a feature, its value, and how much it moved the risk.

    ``contribution`` is the TreeSHAP value in log-odds; ``points`` its signed share in
    probability points on the calibrated scale (+14 means "adds 14 points of risk").
    """

    feature: str
    value: Any
    contribution: float
    points: float
    text: str


def probability_points(
    contributions: Any,
    p: Any,
    p_base: Any,
    *,
    min_shift: float = MIN_MARGIN_SHIFT,
) -> np.ndarray:
    """Contributions (log-odds, shape (n, f) or (f,)) as signed probability points.

    ``p`` and ``p_base`` are calibrated probabilities per row (or scalars). See the module
    docstring for the rule.
    """
    c = np.asarray(contributions, dtype=np.float64)
    single = c.ndim == 1
    c2 = c.reshape(1, -1) if single else c
    p_arr = np.broadcast_to(np.asarray(p, dtype=np.float64), (c2.shape[0],))
    pb_arr = np.broadcast_to(np.asarray(p_base, dtype=np.float64), (c2.shape[0],))
    shift = c2.sum(axis=1)
    # A monotone calibrator moves p the same way as the margin; if the inputs disagree
    # (inconsistent caller data), the secant is meaningless and the local slope is used.
    moved = (np.abs(shift) >= min_shift) & ((p_arr - pb_arr) * shift >= 0)
    safe = np.where(moved, shift, 1.0)
    slope = np.where(moved, (p_arr - pb_arr) / safe, p_arr * (1.0 - p_arr))
    points = 100.0 * c2 * slope[:, None]
    return points[0] if single else points


def rank_drivers(contributions: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` drivers: risk-raising ones by size first, then largest |c|.

    Features with a zero contribution are never drivers.
    """
    c = np.asarray(contributions, dtype=np.float64)
    raising = [int(i) for i in np.argsort(-c, kind="stable") if c[i] > 0]
    if len(raising) >= k:
        return raising[:k]
    rest = [int(i) for i in np.argsort(-np.abs(c), kind="stable") if c[i] < 0]
    return (raising + rest)[:k]


def _plain(value: Any) -> Any:
    """Python scalar for a cell: numpy scalars unwrapped, NaN/NaT/NA as None."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def top_drivers(
    contrib_row: Mapping[str, float] | pd.Series,
    value_row: Mapping[str, Any] | pd.Series,
    p: float,
    p_base: float,
    describe: Describe,
    k: int = 3,
    *,
    target: str,
) -> list[Driver]:
    """The ``k`` features that explain a score, the ones that raise the risk first.

    ``contrib_row`` maps feature -> log-odds contribution (a ``base_value`` entry is ignored);
    ``value_row`` maps feature -> the feature's value. When fewer than ``k`` features raise the
    risk, the rest are the largest (absolute) lowering ones.
    """
    # keys(), not iteration: iterating a Series yields its values.
    names = [str(n) for n in contrib_row.keys() if n != BASE_VALUE]  # noqa: SIM118
    c = np.array([float(contrib_row[n]) for n in names], dtype=np.float64)
    points = probability_points(c, p, p_base)
    return [
        _driver(names[i], value_row.get(names[i]), c[i], points[i], describe, target)
        for i in rank_drivers(c, k)
    ]


def _driver(
    name: str, value: Any, contribution: float, points: float, describe: Describe, target: str
) -> Driver:
    value = _plain(value)
    contribution = float(contribution)
    return Driver(
        feature=name,
        value=value,
        contribution=contribution,
        points=float(points),
        text=describe(name, value, contribution, target),
    )


def drivers_for_rows(
    contributions: pd.DataFrame,
    values: pd.DataFrame,
    p: np.ndarray,
    p_base: float,
    describe: Describe,
    k: int,
    *,
    target: str,
) -> list[list[Driver]]:
    """``top_drivers`` for every row of a contributions frame (points computed vectorised)."""
    names = [str(n) for n in contributions.columns if n != BASE_VALUE]
    c = contributions[names].to_numpy(dtype=np.float64)
    points = probability_points(c, p, p_base)
    vals = values.reindex(columns=names).to_numpy(dtype=object)
    return [
        [
            _driver(names[i], vals[r, i], c[r, i], points[r, i], describe, target)
            for i in rank_drivers(c[r], k)
        ]
        for r in range(len(c))
    ]


# ---------------------------------------------------------------- summaries for MLflow


def shap_importance(model: RiskClassifier, X: pd.DataFrame) -> pd.DataFrame:
    """Per feature: mean |SHAP| (log-odds), mean SHAP and LightGBM gain, largest first."""
    contrib = model.contributions(X).drop(columns=BASE_VALUE)
    gain = model.feature_importance("gain")
    frame = pd.DataFrame(
        {
            "mean_abs_shap": contrib.abs().mean(),
            "mean_shap": contrib.mean(),
            "gain": gain.reindex(contrib.columns),
        }
    )
    frame.index.name = "feature"
    return frame.sort_values("mean_abs_shap", ascending=False)


def shap_summary_figure(model: RiskClassifier, X: pd.DataFrame, max_display: int = 15) -> Figure:
    """A beeswarm of TreeSHAP values (colour = feature value, low blue to high red).

    Drawn on an Agg canvas created here (no pyplot global state, nothing at import); log it
    with ``mlflow.log_figure(fig, "shap_summary.png")``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    contrib = model.contributions(X).drop(columns=BASE_VALUE)
    order = contrib.abs().mean().sort_values(ascending=False).index[:max_display]
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X, columns=contrib.columns)
    frame = frame.set_axis(contrib.index, axis=0)
    rng = np.random.default_rng(0)

    n = len(order)
    fig = Figure(figsize=(8.0, 0.45 * n + 1.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    scatter = None
    for pos, name in enumerate(reversed(order)):
        shap_values = contrib[name].to_numpy(dtype=np.float64)
        colour = _colour_values(frame[name] if name in frame.columns else None, len(shap_values))
        y = pos + rng.uniform(-0.3, 0.3, size=len(shap_values))
        scatter = ax.scatter(
            shap_values, y, c=colour, cmap="coolwarm", vmin=0.0, vmax=1.0, s=8, alpha=0.7
        )
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set_yticks(range(n))
    ax.set_yticklabels(list(reversed(order)))
    ax.set_xlabel("SHAP value (log-odds of overrun)")
    ax.set_title("Feature contributions")
    if scatter is not None:
        bar = fig.colorbar(scatter, ax=ax, ticks=[0.0, 1.0])
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("feature value")
    fig.tight_layout()
    return fig


def _colour_values(column: pd.Series | None, n: int) -> np.ndarray:
    """Feature values scaled to [0, 1] by rank for colouring; grey-middle for non-numeric."""
    if column is None:
        return np.full(n, 0.5)
    numeric = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if np.all(np.isnan(numeric)):
        return np.full(n, 0.5)
    ranks = pd.Series(numeric).rank(pct=True).to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isnan(ranks), 0.5, ranks)


def format_points(points: float) -> str:
    """``+14 points`` / ``-3 points`` / ``<1 point``."""
    if math.isnan(points) or abs(points) < 0.5:
        return "<1 point"
    return f"{points:+.0f} points"
