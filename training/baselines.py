"""The forecasts a PMO already has, scored on the same report rows as the model.

Each baseline is a score per feature row (higher = riskier), computed from the feature frame
only (no outcome column):

- ``evm_rule``: the classic alarm, 1.0 when SPI(t) < 0.9 (schedule; SPI when SPI(t) is
  unknown) or CPI < 0.9 (cost), either of them for ``forward``, else 0.0; NaN when the index
  is unknown.
- ``index_forecast``: the index-based forecast as a continuous score: IEAC(t)/PD - 1 (the
  predicted slip share) for schedule, EAC/BAC - 1 with EAC = BAC/CPI for cost; for
  ``forward``, how far the index forecasts lie beyond the PM's current forecast (the larger of
  IEAC(t)/PD - 1 - forecast slip and BAC/CPI/BAC - 1 - forecast cost growth): a forecast the
  indices contradict is a forecast about to move.
- ``composite_eac`` (cost only): EAC/BAC - 1 with the composite (CPI x SPI) EAC.
- ``pm_forecast``: the project manager's own current forecast: forecast slip share (schedule)
  or forecast cost growth (cost), "it will finish when and for what the PM says".
- ``recent_moves`` (forward only): the forecast has been moving, so it will move again: the
  larger of the last report's forecast-slip change and the forecast-cost-growth trend.
- ``base_rate``: the reference-class rate, P(overrun) of the row's category among training
  projects, shrunk toward the overall training rate (``CategoryBaseRate``).

Rules and index forecasts are not probabilities. For Brier, log loss and ECE they are mapped
to probabilities honestly, with rates learnt on the training rows only (``AlarmRate``): a
row is an *alarm* when the rule fires (score 1) or the forecast predicts an overrun beyond the
target's threshold (score > threshold); its probability is the training hit rate
P(overrun | alarm), otherwise P(overrun | no alarm), or P(overrun | no score) when the score
is unknown. Rates are shrunk slightly toward the overall training rate so that an empty or
pure bucket never gives 0 or 1. Ranking metrics (AUC) use the raw score, as the PMO sees it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator

from risk_model.config import TARGETS

EVM_ALARM_BELOW = 0.9
RULE_BASELINES: frozenset[str] = frozenset({"evm_rule"})


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {', '.join(TARGETS)}")


def _num(features: pd.DataFrame, name: str) -> pd.Series:
    """A float column of ``features``, or all-NaN when the column is absent."""
    if name not in features.columns:
        return pd.Series(np.nan, index=features.index, dtype="float64")
    return pd.to_numeric(features[name]).astype("float64")


def _below(values: pd.Series, cutoff: float) -> pd.Series:
    return (values < cutoff).astype("float64").where(values.notna())


def evm_rule(features: pd.DataFrame, target: str, cutoff: float = EVM_ALARM_BELOW) -> pd.Series:
    """1.0 when SPI(t) (else SPI) < cutoff for schedule, CPI < cutoff for cost; NaN if unknown."""
    _check_target(target)
    spi = _num(features, "spi_t").fillna(_num(features, "spi"))
    if target == "schedule":
        index = spi
    elif target == "cost":
        index = _num(features, "cpi")
    else:
        index = pd.concat([spi, _num(features, "cpi")], axis=1).min(axis=1, skipna=True)
    return _below(index, cutoff).rename("evm_rule")


def index_forecast(features: pd.DataFrame, target: str) -> pd.Series:
    """Predicted overrun share from the indices: IEAC(t)/PD - 1, or EAC(CPI)/BAC - 1."""
    _check_target(target)
    if target == "forward":
        slip_gap = _num(features, "ieac_t_share") - 1.0 - _num(features, "forecast_slip").fillna(0)
        cost_gap = (
            _num(features, "eac_bac_cpi") - 1.0 - _num(features, "forecast_cost_growth").fillna(0)
        )
        gap = pd.concat([slip_gap, cost_gap], axis=1).max(axis=1, skipna=True)
        return gap.rename("index_forecast")
    column = "ieac_t_share" if target == "schedule" else "eac_bac_cpi"
    return (_num(features, column) - 1.0).rename("index_forecast")


def composite_eac(features: pd.DataFrame) -> pd.Series:
    """Predicted cost growth from the composite (CPI x SPI) EAC: EAC/BAC - 1."""
    return (_num(features, "eac_bac_composite") - 1.0).rename("composite_eac")


def pm_forecast(features: pd.DataFrame, target: str) -> pd.Series:
    """The PM's current forecast: slip share of planned duration, or cost growth share."""
    _check_target(target)
    column = "forecast_slip" if target == "schedule" else "forecast_cost_growth"
    return _num(features, column).rename("pm_forecast")


def recent_moves(features: pd.DataFrame) -> pd.Series:
    """Forward target: how much the forecast moved lately (slip change, cost-growth trend)."""
    moves = pd.concat(
        [_num(features, "forecast_slip_change"), _num(features, "forecast_cost_growth_trend")],
        axis=1,
    )
    return moves.max(axis=1, skipna=True).rename("recent_moves")


def baseline_scores(features: pd.DataFrame, target: str) -> pd.DataFrame:
    """Every score baseline of ``target`` as columns, indexed like ``features`` (NaN kept)."""
    columns = [evm_rule(features, target), index_forecast(features, target)]
    if target == "cost":
        columns.append(composite_eac(features))
    if target == "forward":
        columns.append(recent_moves(features))
    else:
        columns.append(pm_forecast(features, target))
    return pd.concat(columns, axis=1)


def alarm_of(score: pd.Series, name: str, threshold: float) -> pd.Series:
    """1.0 where a baseline predicts an overrun, 0.0 where not, NaN where it has no score.

    A rule (``evm_rule``) alarms when it fires; a forecast when it exceeds ``threshold``.
    """
    values = pd.to_numeric(score).astype("float64")
    fired = values >= 0.5 if name in RULE_BASELINES else values > threshold
    return fired.astype("float64").where(values.notna())


def _shrunk(positives: float, n: float, prior: float, strength: float) -> float:
    return float((positives + strength * prior) / (n + strength))


class AlarmRate(BaseEstimator):
    """P(overrun | alarm), P(overrun | no alarm), P(overrun | no score), learnt on training rows.

    Each rate is shrunk toward the overall training rate with ``prior_strength`` pseudo-rows.
    """

    def __init__(self, prior_strength: float = 1.0) -> None:
        self.prior_strength = prior_strength

    def fit(
        self, alarm: pd.Series | NDArray[np.float64], y: pd.Series | NDArray[np.int64]
    ) -> AlarmRate:
        """Learn the three hit rates from 0/1/NaN alarms and 0/1 outcomes; returns self."""
        a = np.asarray(alarm, dtype="float64")
        t = np.asarray(y, dtype="float64")
        if len(t) == 0:
            raise ValueError("cannot fit hit rates on no rows")
        self.overall_rate_ = float(t.mean())
        rates: dict[str, float] = {}
        counts: dict[str, int] = {}
        for key, mask in (("alarm", a == 1), ("quiet", a == 0), ("unknown", np.isnan(a))):
            counts[key] = int(mask.sum())
            rates[key] = _shrunk(t[mask].sum(), mask.sum(), self.overall_rate_, self.prior_strength)
        self.rates_ = rates
        self.counts_ = counts
        return self

    def predict(self, alarm: pd.Series | NDArray[np.float64]) -> NDArray[np.float64]:
        """The training hit rate of each row's bucket (alarm / no alarm / no score)."""
        a = np.asarray(alarm, dtype="float64")
        return np.where(
            np.isnan(a),
            self.rates_["unknown"],
            np.where(a == 1, self.rates_["alarm"], self.rates_["quiet"]),
        ).astype("float64")


class CategoryBaseRate(BaseEstimator):
    """Reference-class forecast: the overrun rate of the row's category among training projects.

    Fitted per project (a project with many reports counts once). The rate of a category
    with ``n`` projects and ``k`` overruns is ``(k + s * overall) / (n + s)`` with
    ``s = prior_strength``: small categories are pulled toward the overall rate. Rows whose
    category is missing or was not seen in training get the overall rate.
    """

    def __init__(self, prior_strength: float = 10.0) -> None:
        self.prior_strength = prior_strength

    def fit(self, X: pd.DataFrame, y: pd.Series | NDArray[np.int64]) -> CategoryBaseRate:
        """Learn rates from rows with ``project_id`` and ``category`` and their 0/1 labels."""
        rows = pd.DataFrame(
            {
                "project_id": X["project_id"].astype("object").to_numpy(),
                "category": _categories(X),
                "y": np.asarray(y, dtype="float64"),
            }
        ).dropna(subset=["y"])
        if rows.empty:
            raise ValueError("cannot fit a base rate on no labelled rows")
        projects = rows.drop_duplicates("project_id")
        self.overall_rate_ = float(projects["y"].mean())
        known = projects.dropna(subset=["category"])
        grouped = known.groupby("category", sort=True)["y"].agg(["sum", "count"])
        self.counts_ = {str(c): int(n) for c, n in grouped["count"].items()}
        self.rates_ = {
            str(c): _shrunk(r["sum"], r["count"], self.overall_rate_, self.prior_strength)
            for c, r in grouped.iterrows()
        }
        self.n_projects_ = len(projects)
        return self

    def predict_risk(self, X: pd.DataFrame) -> pd.Series:
        """P(overrun) per row of ``X`` from its category, indexed like ``X``."""
        cats = _categories(X)
        p = [
            self.rates_.get(c, self.overall_rate_) if c is not None else self.overall_rate_
            for c in cats
        ]
        return pd.Series(p, index=X.index, dtype="float64", name="base_rate")

    def predict_proba(self, X: pd.DataFrame) -> NDArray[np.float64]:
        """scikit-learn shape: columns P(no overrun), P(overrun)."""
        p = self.predict_risk(X).to_numpy()
        return np.column_stack([1.0 - p, p])


def _categories(X: pd.DataFrame) -> list[str | None]:
    if "category" not in X.columns:
        return [None] * len(X)
    return [
        str(c) if isinstance(c, str) and c.strip() else None for c in X["category"].astype("object")
    ]


@dataclass(frozen=True)
class FittedBaselines:
    """Baselines of one target with their training-set probability maps; see ``transform``."""

    target: str
    threshold: float
    alarm_rates: dict[str, AlarmRate] = field(repr=False)
    base_rate: CategoryBaseRate = field(repr=False)

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        """Score columns ``<name>`` and probability columns ``<name>_p``, plus ``base_rate``.

        Indexed like ``features``; ready to join beside ``y`` and ``p_model`` for evaluation.
        """
        scores = baseline_scores(features, self.target)
        out = {}
        for name in scores.columns:
            out[name] = scores[name]
            alarm = alarm_of(scores[name], name, self.threshold)
            out[f"{name}_p"] = pd.Series(
                self.alarm_rates[name].predict(alarm), index=features.index
            )
        out["base_rate"] = self.base_rate.predict_risk(features)
        return pd.DataFrame(out, index=features.index)

    def scorers(self) -> dict[str, str | tuple[str, str]]:
        """``evaluate_target`` scorers: (rank column, probability column) or one column."""
        names = list(self.alarm_rates)
        scorers: dict[str, str | tuple[str, str]] = {n: (n, f"{n}_p") for n in names}
        scorers["base_rate"] = "base_rate"
        return scorers


def fit_baselines(
    rows: pd.DataFrame,
    y: pd.Series,
    *,
    train_ids: Collection[str] | None = None,
    train_mask: NDArray[np.bool_] | None = None,
    target: str,
    threshold: float = 0.10,
    prior_strength: float = 10.0,
) -> FittedBaselines:
    """Fit the baselines' probability maps and the category base rate on training rows only.

    ``rows`` are labelled feature rows (from ``label_rows``) of any split, ``y`` their labels
    (same index); only training rows are used (``train_mask``, or rows whose ``project_id`` is
    in ``train_ids``), so labels of calibration and test rows cannot leak into a baseline.
    """
    _check_target(target)
    if train_mask is not None:
        train = np.asarray(train_mask, dtype=bool)
    elif train_ids is not None:
        train = rows["project_id"].astype(str).isin({str(p) for p in train_ids}).to_numpy()
    else:
        raise ValueError("fit_baselines needs train_ids or train_mask")
    if not train.any():
        raise ValueError("no row belongs to a training project")
    X_train = rows.loc[train]
    y_train = pd.Series(np.asarray(y)[train], index=X_train.index)
    scores = baseline_scores(X_train, target)
    alarm_rates = {
        name: AlarmRate().fit(alarm_of(scores[name], name, threshold), y_train)
        for name in scores.columns
    }
    base = CategoryBaseRate(prior_strength=prior_strength).fit(X_train, y_train)
    return FittedBaselines(target, threshold, alarm_rates, base)
