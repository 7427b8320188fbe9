"""``OverrunRange``: P10 / P50 / P90 of an overrun ratio, conformally calibrated on later data.

The ratio is the one ``training.targets.make_targets`` measures: schedule slip as a share of the
planned duration, or cost growth as a share of the baseline budget (0.2 = 20% over).

Method: conformalised quantile regression (CQR, Romano, Patterson & Candès 2019) in its
asymmetric form. Three LightGBM quantile models (alpha 0.1, 0.5, 0.9) learn on ``(X, y)``.
With ``offset`` they start, per row, from a forecast the inputs already hold (the first
non-missing of the named columns plus its constant, e.g. ``ieac_t_share - 1``, then 0) and
learn the correction to it: trees approximate "the outcome is about the index forecast" only
in coarse steps, and late in a project that forecast is close to the truth.
On the calibration set ``(X_cal, y_cal)`` (projects that finished *after* the training
projects, as for ``RiskClassifier``) each quantile ``q_a`` is shifted by the ``a``-quantile of
its residuals ``y_cal - q_a(X_cal)``, so that on the calibration rows a share ``a`` of outcomes
lies at or below it: P10 and P90 each miss ~10% of outcomes (the band holds ~80%) and P50 is a
median. The upper shift uses the conservative split-conformal rank ``ceil((n + 1) a)``, the
lower one ``floor((n + 1) a)``. Shifts are computed per stage (elapsed share of planned
duration < 0.3, 0.3-0.7, >= 0.7) when the stage column is an input and the stage holds at
least ``min_group_rows`` calibration rows (Mondrian CQR: early reports get wider bands than
late ones, and coverage holds per stage); otherwise from every calibration row. Finally the
three values are sorted per row, so the quantiles never cross.

Many reports of one project are correlated: the guarantee is only as good as the calibration
projects are like the projects scored, which is why the caller passes later, disjoint projects.
Inputs and categories are handled as in ``RiskClassifier``. There are no monotone constraints:
LightGBM refuses them with the quantile objective ("Cannot use monotone_constraints in
quantile objective").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, column_or_1d

from risk_model.estimator import FeatureColumns

if TYPE_CHECKING:
    from risk_model.config import Settings

QUANTILES: tuple[float, float, float] = (0.1, 0.5, 0.9)
RANGE_COLUMNS: tuple[str, str, str] = ("p10", "p50", "p90")
STAGE_COLUMN = "elapsed_share"
STAGE_CUTS: tuple[float, float] = (0.3, 0.7)


def conformal_shift(residuals: np.ndarray, alpha: float) -> float:
    """The shift that puts a share ``alpha`` of ``residuals`` (y - q) at or below zero.

    Split-conformal ranks: ``ceil((n + 1) alpha)`` above the median (never too narrow),
    ``floor((n + 1) alpha)`` below it, the plain median at 0.5; clipped to the sample.
    """
    r = np.sort(np.asarray(residuals, dtype=np.float64))
    n = len(r)
    if n == 0:
        raise ValueError("no calibration residuals")
    if alpha == 0.5:
        return float(np.median(r))
    rank = math.ceil((n + 1) * alpha) if alpha > 0.5 else math.floor((n + 1) * alpha)
    return float(r[min(max(rank, 1), n) - 1])


def stage_codes(share: Any, cuts: Sequence[float] = STAGE_CUTS) -> np.ndarray:
    """Stage index per row (0 early, 1 mid, 2 late) from elapsed share; -1 where unknown."""
    x = np.asarray(share, dtype=np.float64)
    codes = np.searchsorted(np.asarray(cuts, dtype=np.float64), x, side="right")
    return np.where(np.isnan(x), -1, codes).astype(np.int64)


class OverrunRange(FeatureColumns, BaseEstimator):
    """P10 / P50 / P90 of an overrun ratio: LightGBM quantile models, then CQR on later data.

    Parameters mirror ``RiskClassifier``'s (defaults are the ``Settings`` training defaults).
    ``offset`` maps feature columns to a constant added to them: the boosters start from the
    first of these values that is known on the row (0 when none is), see the module docstring.
    ``min_group_rows`` is the fewest calibration rows a stage needs for its own shifts (0
    disables stage shifts).
    """

    def __init__(
        self,
        n_estimators: int = 150,
        learning_rate: float = 0.03,
        num_leaves: int = 4,
        min_child_samples: int = 100,
        subsample: float = 0.8,
        colsample_bytree: float = 0.5,
        reg_lambda: float = 1.0,
        offset: dict[str, float] | None = None,
        min_group_rows: int = 100,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.offset = offset
        self.min_group_rows = min_group_rows
        self.n_jobs = n_jobs
        self.random_state = random_state

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> OverrunRange:
        """An unfitted estimator: every hyper-parameter ``settings`` defines, then overrides."""
        names = cls._get_param_names()
        params: dict[str, Any] = {n: getattr(settings, n) for n in names if hasattr(settings, n)}
        params.update(overrides)
        return cls(**params)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = True
        return tags

    # ------------------------------------------------------------------ fit

    def fit(self, X: Any, y: Any, X_cal: Any, y_cal: Any) -> Self:
        """Fit the three quantile boosters on ``(X, y)`` and the shifts on ``(X_cal, y_cal)``."""
        if y is None or X_cal is None or y_cal is None:
            raise ValueError(f"{type(self).__name__}.fit needs y, X_cal and y_cal")
        frame = self._learn_columns(X)
        y_arr = _ratios(y, "y", len(frame))
        cal = self._frame(X_cal)
        y_cal_arr = _ratios(y_cal, "y_cal", len(cal))
        if len(cal) == 0:
            raise ValueError("the calibration set is empty")
        unknown = [c for c in self.offset or {} if c not in self._features]
        if unknown:
            raise ValueError(f"offset names features not in X: {unknown}")
        matrix = self._matrix(frame)
        start = self._start(matrix)
        cat_idx = [i for i, name in enumerate(self._features) if name in self.categories_]
        self.boosters_: list[lgb.Booster] = []
        for alpha in QUANTILES:
            model = lgb.LGBMRegressor(
                objective="quantile",
                alpha=alpha,
                n_estimators=self.n_estimators,
                learning_rate=self.learning_rate,
                num_leaves=self.num_leaves,
                min_child_samples=self.min_child_samples,
                subsample=self.subsample,
                subsample_freq=1 if self.subsample < 1.0 else 0,
                colsample_bytree=self.colsample_bytree,
                reg_lambda=self.reg_lambda,
                n_jobs=self.n_jobs,
                random_state=self.random_state,
                verbose=-1,
            )
            model.fit(
                matrix,
                y_arr,
                init_score=start,
                feature_name=[f"f{i}" for i in range(len(self._features))],
                categorical_feature=cat_idx if cat_idx else "auto",
            )
            self.boosters_.append(model.booster_)
        raw = self._raw(self._matrix(cal))
        residuals = y_cal_arr[:, None] - raw
        self.shifts_ = np.array([conformal_shift(residuals[:, j], a) for j, a in _alphas()])
        self.stage_shifts_: dict[int, np.ndarray] = {}
        groups = self._groups(cal)
        if groups is not None and self.min_group_rows > 0:
            for code in range(len(STAGE_CUTS) + 1):
                rows = groups == code
                if rows.sum() >= self.min_group_rows:
                    self.stage_shifts_[code] = np.array(
                        [conformal_shift(residuals[rows, j], a) for j, a in _alphas()]
                    )
        self.n_cal_ = len(cal)
        return self

    def _start(self, matrix: np.ndarray) -> np.ndarray:
        """Per row, the first known ``offset`` column plus its constant; 0 when none is."""
        start = np.full(len(matrix), np.nan)
        for name, add in (self.offset or {}).items():
            j = self._features.index(name)
            start = np.where(np.isnan(start), matrix[:, j] + float(add), start)
        return np.where(np.isfinite(start), start, 0.0)

    def _raw(self, matrix: np.ndarray) -> np.ndarray:
        """Uncalibrated quantile predictions (offset included), shape (n, 3)."""
        start = self._start(matrix)
        return np.column_stack(
            [start + np.asarray(b.predict(matrix), dtype=np.float64) for b in self.boosters_]
        )

    def _groups(self, frame: pd.DataFrame) -> np.ndarray | None:
        if STAGE_COLUMN not in self._features or STAGE_COLUMN in self.categories_:
            return None
        return stage_codes(pd.to_numeric(frame[STAGE_COLUMN]).to_numpy(dtype=np.float64))

    # -------------------------------------------------------------- predict

    def predict_raw(self, X: Any) -> pd.DataFrame:
        """The quantile boosters' own P10 / P50 / P90 (before calibration and sorting)."""
        check_is_fitted(self, "boosters_")
        frame = self._frame(X)
        return pd.DataFrame(
            self._raw(self._matrix(frame)), columns=list(RANGE_COLUMNS), index=frame.index
        )

    def predict(self, X: Any) -> pd.DataFrame:
        """Calibrated, non-crossing ``p10 <= p50 <= p90`` per row (ratio units), X's index."""
        check_is_fitted(self, "boosters_")
        frame = self._frame(X)
        values = self._raw(self._matrix(frame))
        shifts = np.tile(self.shifts_, (len(frame), 1))
        groups = self._groups(frame)
        if groups is not None:
            for code, stage_shift in self.stage_shifts_.items():
                shifts[groups == code] = stage_shift
        values = np.sort(values + shifts, axis=1)
        return pd.DataFrame(values, columns=list(RANGE_COLUMNS), index=frame.index)

    def feature_names(self) -> list[str]:
        """The model's input columns, in order (``x0``, ``x1``, ... when fitted on an array)."""
        check_is_fitted(self, "boosters_")
        return list(self._features)


def _alphas() -> list[tuple[int, float]]:
    return list(enumerate(QUANTILES))


def _ratios(y: Any, name: str, n: int) -> np.ndarray:
    arr = column_or_1d(np.asarray(y, dtype=np.float64), warn=True)
    if len(arr) != n:
        raise ValueError(f"{name} has {len(arr)} values but its X has {n} rows")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds missing or infinite ratios; drop unknown outcomes first")
    return arr


def ranges_to_dates(p: pd.DataFrame, planned_days: Any, baseline_finish: Any) -> pd.DataFrame:
    """P10 / P50 / P90 finish dates: ``baseline_finish + ratio * planned_days``, whole days.

    ``planned_days`` is baseline finish minus start in days and ``baseline_finish`` a date, each
    a scalar or one value per row of ``p``. Rounded to the nearest day; NaT where unknown.
    """
    days = _per_row(planned_days, p.index)
    finish = pd.Series(pd.to_datetime(_per_row(baseline_finish, p.index)), index=p.index)
    out = {}
    for col in RANGE_COLUMNS:
        slip = pd.to_numeric(p[col]).astype("float64") * days.astype("float64")
        out[col] = finish + pd.to_timedelta(slip.round(), unit="D")
    return pd.DataFrame(out, index=p.index)


def ranges_to_costs(p: pd.DataFrame, baseline_budget: Any) -> pd.DataFrame:
    """P10 / P50 / P90 costs at completion: ``baseline_budget * (1 + ratio)``."""
    budget = _per_row(baseline_budget, p.index).astype("float64")
    return pd.DataFrame(
        {col: budget * (1.0 + pd.to_numeric(p[col]).astype("float64")) for col in RANGE_COLUMNS},
        index=p.index,
    )


def project_overrun(
    ratios: Sequence[float], target: str, project: Mapping[str, Any]
) -> dict[str, Any]:
    """One project's P10 / P50 / P90 ratios in its own units, from its baseline.

    ``schedule``: ``finish_p10`` / ``finish_p50`` / ``finish_p90`` (``datetime.date``) from
    ``start_date`` and ``baseline_finish``; ``cost``: ``cost_p10`` / ``cost_p50`` / ``cost_p90``
    from ``baseline_budget``. Empty when the baseline needed is missing or not positive.
    """
    p = pd.DataFrame([list(ratios)], columns=list(RANGE_COLUMNS))
    if target == "schedule":
        start, finish = pd.to_datetime(
            pd.Series([project.get("start_date"), project.get("baseline_finish")]),
            errors="coerce",
        )
        if pd.isna(start) or pd.isna(finish) or finish <= start:
            return {}
        dates = ranges_to_dates(p, (finish - start).days, finish).iloc[0]
        return {f"finish_{c}": pd.Timestamp(dates[c]).date() for c in RANGE_COLUMNS}
    if target == "cost":
        budget = pd.to_numeric(pd.Series([project.get("baseline_budget")]), errors="coerce")[0]
        if pd.isna(budget) or budget <= 0:
            return {}
        costs = ranges_to_costs(p, float(budget)).iloc[0]
        return {f"cost_{c}": float(costs[c]) for c in RANGE_COLUMNS}
    return {}


def _per_row(values: Any, index: pd.Index) -> pd.Series:
    """A scalar broadcast to ``index``, or a sequence of the same length re-indexed onto it."""
    if isinstance(values, pd.Series | pd.Index | np.ndarray | list | tuple):
        arr = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else np.asarray(values)
        if len(arr) != len(index):
            raise ValueError(f"expected {len(index)} values, got {len(arr)}")
        return pd.Series(arr, index=index)
    return pd.Series([values] * len(index), index=index)
