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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from risk_model.estimator import BASE_VALUE

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from risk_model.estimator import RiskClassifier

MIN_MARGIN_SHIFT = 0.25

Describe = Callable[[str, Any, float, str], str]
"""``describe(name, value, contribution, target) -> text`` supplied by the caller. The text
may depend on the contribution's sign only (which way it moves the risk), not its size."""


@runtime_checkable
class DescribesMany(Protocol):
    """A ``Describe`` that also puts many values of one feature into words in one call."""

    def many(
        self, name: str, values: Sequence[Any], contributions: Sequence[float], target: str
    ) -> list[str]:
        """``describe`` of one feature at each (value, contribution) pair, in order."""
        ...


@dataclass(slots=True)
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
    points = 100.0 * c2 * _slopes(c2, p, p_base, min_shift)[:, None]
    return points[0] if single else points


def _slopes(c: np.ndarray, p: Any, p_base: Any, min_shift: float) -> np.ndarray:
    """Per row of ``c`` (n, f): probability per unit of log-odds, the secant from the base
    to the row's probability, or the local slope where that is meaningless."""
    p_arr = np.broadcast_to(np.asarray(p, dtype=np.float64), (c.shape[0],))
    pb_arr = np.broadcast_to(np.asarray(p_base, dtype=np.float64), (c.shape[0],))
    shift = c.sum(axis=1)
    # A monotone calibrator moves p the same way as the margin; if the inputs disagree
    # (inconsistent caller data), the secant is meaningless and the local slope is used.
    moved = (np.abs(shift) >= min_shift) & ((p_arr - pb_arr) * shift >= 0)
    safe = np.where(moved, shift, 1.0)
    return np.where(moved, (p_arr - pb_arr) / safe, p_arr * (1.0 - p_arr))


def probability_points_at(
    contributions: np.ndarray,
    chosen: np.ndarray,
    rows: np.ndarray,
    p: Any,
    p_base: Any,
    *,
    min_shift: float = MIN_MARGIN_SHIFT,
) -> np.ndarray:
    """``probability_points(contributions, p, p_base)`` of some cells only: ``chosen`` holds
    their contributions and ``rows`` their rows (each row's shift is its whole row's sum)."""
    slope = _slopes(np.asarray(contributions, dtype=np.float64), p, p_base, min_shift)
    return 100.0 * np.asarray(chosen, dtype=np.float64) * slope[rows]


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


def rank_drivers_rows(contributions: np.ndarray, k: int) -> list[list[int]]:
    """``rank_drivers`` of every row of an (n, f) matrix, vectorised (``ranked_cells``)."""
    c = np.asarray(contributions, dtype=np.float64)
    rows, cols = ranked_cells(c, k)
    out: list[list[int]] = [[] for _ in range(len(c))]
    for r, i in zip(rows.tolist(), cols.tolist(), strict=True):
        out[r].append(i)
    return out


def ranked_cells(contributions: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``rank_drivers`` cells of every row of an (n, f) matrix, as flat (row, column)
    arrays: rows ascending, each row's drivers in rank order.

    A row with at least ``k`` risk-raising features and no tie at its ``k``-th largest
    contribution (nearly every row) takes its ``k`` largest from a partial sort, then orders
    them; any other row is ranked by ``rank_drivers`` itself, so the result is the same.
    """
    c = np.asarray(contributions, dtype=np.float64)
    n = len(c)
    if c.ndim != 2 or n == 0 or k <= 0 or k > c.shape[1]:
        return _flat([rank_drivers(row, k) for row in c])
    f = c.shape[1]
    top = np.argpartition(c, f - k, axis=1)[:, f - k :]  # each row's k largest, unordered
    values = np.take_along_axis(c, top, axis=1)
    kth = values.min(axis=1)  # each row's k-th largest contribution
    simple = (kth > 0) & ((c >= kth[:, None]).sum(axis=1) == k)
    # the k largest in rank order: larger first, ties (none in a simple row) by column
    tops = np.take_along_axis(top, _rank_order(top, values), axis=1).astype(np.int64)
    if simple.all():
        return np.repeat(np.arange(n), k), tops.reshape(-1)
    # the other rows sorted whole: risk-raising first (largest first), then risk-lowering
    # (largest |c| first), ties by column (a stable sort, as rank_drivers); zeros never
    others = np.flatnonzero(~simple)
    sub = c[others]
    kind = np.where(sub > 0, 0, np.where(sub < 0, 1, 2))
    order = np.lexsort((np.where(sub > 0, -sub, sub), kind), axis=-1)[:, :k]
    kept = np.take_along_axis(kind, order, axis=1) < 2
    tops[others] = np.where(kept, order, -1)
    present = tops >= 0
    return np.repeat(np.arange(n), present.sum(axis=1)), tops[present]


def _flat(ranked: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Per-row column lists as flat (row, column) arrays."""
    sizes = [len(r) for r in ranked]
    cols = np.fromiter(chain.from_iterable(ranked), dtype=np.int64, count=sum(sizes))
    return np.repeat(np.arange(len(ranked)), sizes), cols


def _rank_order(top: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row, the order of ``top``'s columns by value, larger first, ties by column."""
    by_column = np.argsort(top, axis=1, kind="stable")
    ranked = np.argsort(-np.take_along_axis(values, by_column, axis=1), axis=1, kind="stable")
    return np.take_along_axis(by_column, ranked, axis=1)


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
    return drivers_for_matrix(c, names, p, p_base, describe, k, target=target, values=values)


def drivers_for_matrix(
    contributions: np.ndarray,
    names: Sequence[str],
    p: np.ndarray,
    p_base: float,
    describe: Describe,
    k: int,
    *,
    target: str,
    values: pd.DataFrame,
    numbers: np.ndarray | None = None,
) -> list[list[Driver]]:
    """``top_drivers`` for every row of an (n, f) contributions matrix (columns ``names``).

    ``values`` holds the features' values (by name, rows aligned). ``numbers``, when given,
    is the model's (n, f) float input matrix of the same rows: a driver's value is read from
    it when its ``values`` column is float64 (the same number), from ``values`` otherwise.
    Only the top cells are read and put into words, feature by feature: in one call per
    feature when ``describe`` has ``many`` (``DescribesMany``), else once per feature, value
    and sign of the contribution (``describe``'s words depend on the sign only).
    """
    c = np.asarray(contributions, dtype=np.float64)
    n = len(c)
    rows, cols = ranked_cells(c, k)
    m = len(rows)
    top = c[rows, cols]
    points = probability_points_at(c, top, rows, p, p_base)
    drivers: list[Any] = [None] * m
    if m:
        # the cells grouped by feature: one slice of a stable sort per feature
        order = np.argsort(cols, kind="stable")
        features, starts = np.unique(cols[order], return_index=True)
        bounds = [*starts.tolist(), m]
        floats = {str(name) for name, t in values.dtypes.items() if t == np.float64}
        many = describe.many if isinstance(describe, DescribesMany) else None
        for j, i in enumerate(features.tolist()):
            at = order[bounds[j] : bounds[j + 1]]
            name = names[i]
            if numbers is not None and name in floats:
                got = [None if v != v else v for v in numbers[rows[at], i].tolist()]
            elif name in values.columns:
                column = values[name].to_numpy(dtype=object)
                got = [_plain(v) for v in column[rows[at]].tolist()]
            else:  # a feature the values do not hold
                got = [None] * len(at)
            xs = top[at].tolist()
            words = (
                many(name, got, xs, target)
                if many is not None
                else _column_words(describe, name, got, xs, target)
            )
            made = map(Driver, repeat(name), got, xs, points[at].tolist(), words)
            for a, driver in zip(at.tolist(), made, strict=True):
                drivers[a] = driver
    if m == n * k:  # every row has k drivers (nearly always)
        return [drivers[i : i + k] for i in range(0, m, k)]
    ends = np.searchsorted(rows, np.arange(n + 1)).tolist()
    return [drivers[ends[r] : ends[r + 1]] for r in range(n)]


def _column_words(
    describe: Describe,
    name: str,
    cells: list[Any],
    contribs: list[float],
    target: str,
) -> list[str]:
    """The words of one feature's cells, ``describe`` once per value and sign of the
    contribution (once per cell for an unhashable value)."""
    words: dict[tuple[type, Any, bool, bool], str] = {}
    texts: list[str] = []
    for value, contribution in zip(cells, contribs, strict=True):
        try:
            key = (type(value), value, contribution > 0, contribution < 0)
            text = words.get(key)
            if text is None:
                text = words[key] = describe(name, value, contribution, target)
        except TypeError:  # an unhashable value
            text = describe(name, value, contribution, target)
        texts.append(text)
    return texts


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


# ------------------------------------------------------ analyst views (issue 3, notebooks)


def contribution_points(model: RiskClassifier, X: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Every feature's contribution in probability points (X's index), and the calibrated p.

    Points follow ``probability_points`` with the model's calibrated base probability, so they
    are on the scale a PMO reads (+14 = adds 14 points of risk).
    """
    contrib = model.contributions(X)
    base = contrib[BASE_VALUE].to_numpy(dtype=np.float64)
    values = contrib.drop(columns=BASE_VALUE)
    p = model.calibrate_margin(contrib.sum(axis=1).to_numpy(dtype=np.float64))
    if len(values) == 0:
        return values.astype(np.float64), p
    p_base = float(model.calibrate_margin(base[:1])[0])
    points = probability_points(values.to_numpy(dtype=np.float64), p, p_base)
    return pd.DataFrame(points, index=values.index, columns=values.columns), p


def _figure(width: float, height: float, rows: int = 1) -> tuple[Figure, list[Any]]:
    """A Figure on its own Agg canvas (no pyplot state) and its axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(rows, 1, i + 1) for i in range(rows)]
    return fig, axes


def shap_dependence_figure(
    model: RiskClassifier,
    X: pd.DataFrame,
    feature: str,
    *,
    colour_by: str | None = None,
) -> Figure:
    """How one feature's value moves the risk: value (x) against its SHAP value (y, log-odds).

    ``colour_by`` colours each point by another feature's value (rank-scaled, low blue to high
    red), which shows interactions. A text feature is drawn as one jittered column per value.
    Missing values are left out of the plot (the title counts them).
    """
    columns = model.feature_names()
    for name in (feature, colour_by):
        if name is not None and name not in columns:
            raise KeyError(f"{name!r} is not an input of the model")
    contrib = model.contributions(X)
    shap_values = contrib[feature].to_numpy(dtype=np.float64)
    raw = X[feature].set_axis(contrib.index, axis=0)
    numeric = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    fig, (ax,) = _figure(7.5, 4.5)
    rng = np.random.default_rng(0)
    text_values = raw.notna() & np.isnan(numeric)
    if text_values.any():
        labels = sorted({str(v) for v in raw[raw.notna()]})
        codes = {label: i for i, label in enumerate(labels)}
        x = np.array(
            [codes[str(v)] if pd.notna(v) else np.nan for v in raw], dtype=np.float64
        ) + rng.uniform(-0.25, 0.25, size=len(raw))
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=30, ha="right")
    else:
        x = numeric
    missing = int(np.isnan(x).sum())
    if colour_by is None:
        ax.scatter(x, shap_values, s=8, alpha=0.6, color="tab:blue")
    else:
        colour = _colour_values(X[colour_by].set_axis(contrib.index, axis=0), len(shap_values))
        points = ax.scatter(
            x, shap_values, c=colour, cmap="coolwarm", vmin=0.0, vmax=1.0, s=8, alpha=0.7
        )
        bar = fig.colorbar(points, ax=ax, ticks=[0.0, 1.0])
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label(colour_by)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel(feature)
    ax.set_ylabel(f"SHAP value of {feature} (log-odds)")
    title = f"How {feature} moves the risk"
    ax.set_title(title + (f" ({missing} rows without a value not shown)" if missing else ""))
    fig.tight_layout()
    return fig


def cohort_contributions(
    model: RiskClassifier,
    X: pd.DataFrame,
    cohort: pd.Series | Sequence[Any],
    *,
    top: int = 8,
) -> pd.DataFrame:
    """Mean probability and mean contribution (points) of the ``top`` features per cohort.

    ``cohort`` gives one label per row of ``X``, in X's order (category, phase, band...);
    missing labels form the cohort ``"(none)"``. Features are the ``top`` ones by mean
    |points| over all rows; cohorts are sorted by mean probability, riskiest first. A cell says
    how many points that feature adds to (or takes from) the cohort's risk on average.
    """
    labels = np.asarray(cohort, dtype=object)
    if len(labels) != len(X):
        raise ValueError(f"cohort has {len(labels)} labels for {len(X)} rows")
    points, p = contribution_points(model, X)
    order = list(points.abs().mean().sort_values(ascending=False).index[:top])
    name = str(getattr(cohort, "name", None) or "cohort")
    keys = pd.Series(
        ["(none)" if _plain(v) is None else str(v) for v in labels], index=points.index, name=name
    )
    frame = points[order].assign(rows=1.0, mean_probability=p)
    grouped = frame.groupby(keys, sort=False)
    out = grouped[["mean_probability", *order]].mean()
    out.insert(0, "rows", grouped["rows"].sum().astype(int))
    return out.sort_values("mean_probability", ascending=False)


def contribution_history(
    model: RiskClassifier,
    X: pd.DataFrame,
    as_of: pd.Series | Sequence[Any],
    *,
    top: int = 5,
) -> pd.DataFrame:
    """One project's risk and drivers report by report, in probability points.

    ``X`` holds the project's feature rows and ``as_of`` their report dates (same order).
    Returns one row per report, oldest first, indexed by ``as_of``: ``probability``, then the
    ``top`` features by largest |points| at any report, then ``other`` (all remaining features).
    """
    dates = pd.to_datetime(pd.Series(np.asarray(as_of), name="as_of"))
    if len(dates) != len(X):
        raise ValueError(f"as_of has {len(dates)} dates for {len(X)} rows")
    points, p = contribution_points(model, X)
    order = list(points.abs().max().sort_values(ascending=False).index[:top])
    rest = [c for c in points.columns if c not in order]
    history = points[order].reset_index(drop=True)
    history.insert(0, "probability", p)
    history["other"] = points[rest].sum(axis=1).to_numpy(dtype=np.float64)
    history.index = pd.DatetimeIndex(dates, name="as_of")
    return history.sort_index(kind="stable")


def driver_history_figure(history: pd.DataFrame, *, title: str = "") -> Figure:
    """``contribution_history`` drawn: the risk (top) and each driver's points (bottom)."""
    fig, (risk_ax, points_ax) = _figure(8.5, 6.0, rows=2)
    dates = history.index
    risk_ax.plot(dates, 100.0 * history["probability"], marker="o", color="black")
    risk_ax.set_ylim(0, 100)
    risk_ax.set_ylabel("risk (%)")
    risk_ax.set_title(title or "Risk and its drivers, report by report")
    for column in history.columns:
        if column == "probability":
            continue
        style = "--" if column == "other" else "-"
        points_ax.plot(dates, history[column], style, marker=".", label=column)
    points_ax.axhline(0.0, color="grey", linewidth=0.8)
    points_ax.set_ylabel("points of risk")
    points_ax.legend(loc="upper left", fontsize="small", ncol=2)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
