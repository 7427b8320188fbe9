"""``RiskClassifier``: a calibrated LightGBM binary classifier with exact TreeSHAP contributions.

The estimator follows scikit-learn's contract: ``__init__`` only stores hyper-parameters,
``fit`` returns ``self``, learned attributes end in ``_``, and ``clone`` / ``get_params`` work.

Inputs are DataFrames (the feature frame of ``features.pipeline``) or numeric arrays.
In a DataFrame the column ``category`` and every object / string / pandas-category column is
a LightGBM categorical: its categories are learned in ``fit`` (``categories_``) and values unseen
at fit time become missing (NaN) at predict time. Columns are selected by name at predict time,
so extra columns (``project_id``, ``as_of``, ...) are ignored and order does not matter.

Calibration (``calibration="isotonic" | "sigmoid" | "none"``) maps the LightGBM margin
(log-odds) to a probability; with ``calibration_prior > 0`` the sigmoid (Platt) fit is shrunk
toward the identity (``shrunk_platt``). It is fitted on ``(X_cal, y_cal)``, a validation set
later in time than the training set, supplied by the caller. Without ``X_cal`` the last
``cal_fraction`` (20%) of the rows of ``X`` *in the given order* are held out: the booster is
trained on the head and the calibrator on that tail, never on the booster's own training rows.
When the calibration set holds a single class, calibration is skipped (with a warning) and the
probability is the sigmoid of the margin.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from risk_model.anchor import IndexAnchor
from risk_model.treeshap import PatternShap

if TYPE_CHECKING:
    from risk_model.config import Settings

CALIBRATIONS = ("isotonic", "sigmoid", "none")
BASE_VALUE = "base_value"
ANCHOR_STAGE = "elapsed_share"  # the anchor's second input, when X has it


def is_categorical(name: str, column: pd.Series) -> bool:
    """Whether a frame column is treated as a LightGBM categorical."""
    dtype = column.dtype
    return (
        name == "category"
        or isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def category_codes(values: np.ndarray, categories: list[str]) -> np.ndarray:
    """Each value's position in ``categories`` as float (its text, ``str(value)``, is
    looked up), NaN for a missing value or one not among them: the codes of
    ``pd.Categorical(values.map(str, na_action="ignore"), categories)``, without pandas."""
    position = {c: float(i) for i, c in enumerate(categories)}
    nan = float("nan")
    missing = pd.isna(values)
    return np.array(
        [
            nan if gone else position.get(v if type(v) is str else str(v), nan)
            for v, gone in zip(values.tolist(), missing.tolist(), strict=True)
        ],
        dtype=np.float64,
    )


class FeatureColumns:
    """Column handling shared by our LightGBM estimators (see the module docstring).

    ``fit`` calls ``_learn_columns(X)``; predictions go through ``_matrix(_frame(X))``.
    Sets ``feature_names_in_`` (frames only), ``n_features_in_`` and ``categories_``;
    ``_monotone_list`` turns the ``monotone`` hyper-parameter into LightGBM constraints.
    """

    monotone: dict[str, int] | None
    gain_scale: dict[str, float] | None
    categories_: dict[str, list[str]]
    _features: list[str]

    def _learn_columns(self, X: Any) -> pd.DataFrame:
        """Learn feature names, categorical columns and their categories; return the frame."""
        for attr in ("feature_names_in_", "n_features_in_", "categories_"):
            if hasattr(self, attr):
                delattr(self, attr)
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            if len(X) == 0:
                raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
            if X.shape[1] == 0:
                raise ValueError("Found array with 0 feature(s) while a minimum of 1 is required.")
            frame = X
            self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
            self._features = [str(c) for c in X.columns]
            self.categories_ = {
                name: sorted({str(v) for v in frame[name].dropna()})
                for name in self._features
                if is_categorical(name, frame[name])
            }
        else:
            arr = check_array(X, dtype="numeric", ensure_all_finite="allow-nan")
            self._features = [f"x{i}" for i in range(arr.shape[1])]
            frame = pd.DataFrame(arr, columns=self._features)
            self.categories_ = {}
        self.n_features_in_ = len(self._features)
        return frame

    def _frame(self, X: Any) -> pd.DataFrame:
        """``X`` as a frame with the fitted columns in fitted order (validated)."""
        if isinstance(X, pd.DataFrame) and hasattr(self, "feature_names_in_"):
            missing = [c for c in self._features if c not in X.columns]
            if missing:
                raise ValueError(
                    f"X is missing {len(missing)} feature(s) seen at fit time: {missing[:10]}"
                )
            if len(X.columns) == len(self._features) and all(
                a == b for a, b in zip(X.columns, self._features, strict=True)
            ):
                return X  # already the fitted columns in order: no copy
            return X.loc[:, self._features]
        arr = check_array(
            X,
            dtype=None if self.categories_ else "numeric",
            ensure_all_finite="allow-nan" if not self.categories_ else False,
            ensure_min_samples=0,
        )
        if arr.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {arr.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(arr, columns=self._features, index=index)

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The float matrix LightGBM sees: numbers as float64, categories as codes (NaN unseen)."""
        out = np.empty((len(frame), len(self._features)), dtype=np.float64)
        numbers = [j for j, name in enumerate(self._features) if name not in self.categories_]
        block = frame[[self._features[j] for j in numbers]] if numbers else None
        if block is not None:
            dtypes = block.dtypes.tolist()
            if all(t == np.float64 for t in dtypes):
                # all float64 (the pipeline's output): NaN is already the missing value
                out[:, numbers] = block.to_numpy(dtype=np.float64)
                numbers = []
            elif all(pd.api.types.is_numeric_dtype(t) for t in dtypes):
                # every number column numeric: one conversion, not one per column
                out[:, numbers] = block.to_numpy(dtype=np.float64, na_value=np.nan)
                numbers = []
        for j in numbers:  # only columns not converted above (one frame lookup each)
            out[:, j] = pd.to_numeric(frame[self._features[j]], errors="raise").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
        for j, name in enumerate(self._features):
            if name in self.categories_:
                col = frame[name].to_numpy(dtype=object)
                out[:, j] = category_codes(col, self.categories_[name])
        return out

    def _gain_scale_list(self) -> list[float] | None:
        if not self.gain_scale:
            return None
        unknown = [k for k in self.gain_scale if k not in self._features]
        if unknown:
            raise ValueError(f"gain_scale names features not in X: {unknown}")
        scales = [float(self.gain_scale.get(name, 1.0)) for name in self._features]
        bad = [s for s in scales if not 0.0 <= s <= 1.0]
        if bad:
            raise ValueError(f"gain_scale values must be in [0, 1], got {bad[:3]}")
        return scales

    def _monotone_list(self) -> list[int] | None:
        if not self.monotone:
            return None
        unknown = [k for k in self.monotone if k not in self._features]
        if unknown:
            raise ValueError(f"monotone names features not in X: {unknown}")
        constraints = []
        for name in self._features:
            sign = int(self.monotone.get(name, 0))
            if sign not in (-1, 0, 1):
                raise ValueError(f"monotone[{name!r}] must be -1, 0 or +1, got {sign}")
            if sign and name in self.categories_:
                raise ValueError(f"monotone constraint on categorical feature {name!r}")
            constraints.append(sign)
        return constraints


class RiskClassifier(FeatureColumns, ClassifierMixin, BaseEstimator):
    """Binary risk classifier: LightGBM gradient boosting, then calibration on later data.

    Parameters mirror LightGBM's (``subsample`` is bagging per iteration when below 1).
    ``monotone`` maps a numeric feature to +1 (risk never falls as it rises) or -1 (risk never
    rises as it rises); it is passed to LightGBM's ``monotone_constraints`` and, because the
    calibrators are non-decreasing, holds for the calibrated probability too.
    ``anchor`` names a feature holding an index forecast ratio (``ieac_t_share``,
    ``eac_bac_cpi``): the booster then starts from its logistic model (``IndexAnchor``, with
    ``elapsed_share`` when X has it) and learns corrections; margins, contributions and
    calibration include it.
    """

    def __init__(
        self,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 40,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        calibration: str = "isotonic",
        monotone: dict[str, int] | None = None,
        gain_scale: dict[str, float] | None = None,
        calibration_prior: float = 0.0,
        cal_fraction: float = 0.2,
        anchor: str | None = None,
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
        self.calibration = calibration
        self.monotone = monotone
        self.gain_scale = gain_scale
        self.calibration_prior = calibration_prior
        self.cal_fraction = cal_fraction
        self.anchor = anchor
        self.n_jobs = n_jobs
        self.random_state = random_state

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> RiskClassifier:
        """An unfitted classifier: every hyper-parameter ``settings`` defines, then overrides.

        A hyper-parameter is taken from ``settings`` when it has a field of the same name
        (``n_estimators``, ``learning_rate``, ``num_leaves``, ``colsample_bytree``, ...).
        """
        names = cls._get_param_names()
        params: dict[str, Any] = {n: getattr(settings, n) for n in names if hasattr(settings, n)}
        params.update(overrides)
        return cls(**params)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        # Defaults (min_child_samples=40, held-out calibration tail) are tuned for portfolios of
        # hundreds of projects, not for the tiny data sets of scikit-learn's checks.
        tags.classifier_tags.poor_score = True
        return tags

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        X: Any,
        y: Any,
        X_cal: Any | None = None,
        y_cal: Any | None = None,
        sample_weight: Any | None = None,
        cal_sample_weight: Any | None = None,
    ) -> Self:
        """Train the booster on ``X`` and the calibrator on ``(X_cal, y_cal)`` or X's tail.

        ``sample_weight`` weights the rows of ``X`` (booster; and the calibrator, when it
        calibrates on X's tail); ``cal_sample_weight`` those of ``X_cal``. Without weights
        every row counts once (the same fit as with weights of 1).
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {CALIBRATIONS}, got {self.calibration!r}")
        if (X_cal is None) != (y_cal is None):
            raise ValueError("X_cal and y_cal must be given together")
        if not 0.0 < self.cal_fraction < 1.0:
            raise ValueError(f"cal_fraction must be in (0, 1), got {self.cal_fraction!r}")

        frame = self._learn_columns(X)
        y_arr = column_or_1d(np.asarray(y), warn=True)
        if len(y_arr) != len(frame):
            raise ValueError(f"X has {len(frame)} rows but y has {len(y_arr)}")
        check_classification_targets(y_arr)
        self.classes_ = np.unique(y_arr)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data, but the "
                f"data contains only one class: {self.classes_[0]!r}"
            )
        y_type = type_of_target(y_arr, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(
                f"Only binary classification is supported. The type of the target is {y_type}."
            )
        codes = (y_arr == self.classes_[1]).astype(np.int64)
        matrix = self._matrix(frame)
        weight = _weights(sample_weight, len(matrix), "sample_weight")
        if cal_sample_weight is not None and X_cal is None:
            raise ValueError("cal_sample_weight needs X_cal")
        cal_w: np.ndarray | None = None

        if X_cal is not None:
            train_m, train_y, train_w = matrix, codes, weight
            cal_m = self._matrix(self._frame(X_cal))
            cal_y = self._encode_labels(y_cal)
            if len(cal_m) != len(cal_y):
                raise ValueError(f"X_cal has {len(cal_m)} rows but y_cal has {len(cal_y)}")
            cal_w = _weights(cal_sample_weight, len(cal_m), "cal_sample_weight")
        elif self.calibration == "none":
            train_m, train_y, train_w = matrix, codes, weight
            cal_m, cal_y = matrix[:0], codes[:0]
        else:
            n_cal = round(len(matrix) * self.cal_fraction)
            n_train = len(matrix) - n_cal
            if n_cal < 1 or n_train < 1:
                raise ValueError(
                    f"{len(matrix)} samples are too few to hold out a calibration tail; "
                    "pass X_cal/y_cal or calibration='none'"
                )
            train_m, train_y = matrix[:n_train], codes[:n_train]
            cal_m, cal_y = matrix[n_train:], codes[n_train:]
            train_w = None if weight is None else weight[:n_train]
            cal_w = None if weight is None else weight[n_train:]
        if len(np.unique(train_y)) < 2:
            raise ValueError(
                "the training rows (before the calibration tail) contain only one class; "
                "pass X_cal/y_cal or calibration='none'"
            )

        self.anchor_ = self._fit_anchor(train_m, train_y, train_w)
        self.booster_: lgb.Booster = self._fit_booster(train_m, train_y, train_w)
        self.calibrator_ = self._fit_calibrator(cal_m, cal_y, cal_w)
        self.shap_table_ = PatternShap.from_booster(self.booster_)
        return self

    def _fit_booster(
        self, matrix: np.ndarray, y: np.ndarray, weight: np.ndarray | None
    ) -> lgb.Booster:
        """LightGBM on these rows, started from ``anchor_``'s margin when there is one."""
        booster = lgb.LGBMClassifier(
            objective="binary",
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1 if self.subsample < 1.0 else 0,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            monotone_constraints=self._monotone_list(),
            feature_contri=self._gain_scale_list(),
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            verbose=-1,
        )
        cat_idx = [i for i, name in enumerate(self._features) if name in self.categories_]
        anchor = self._anchor()
        booster.fit(
            matrix,
            y,
            sample_weight=weight,
            init_score=None if anchor is None else anchor.margin(matrix),
            feature_name=[f"f{i}" for i in range(len(self._features))],
            categorical_feature=cat_idx if cat_idx else "auto",
        )
        return booster.booster_

    def _fit_anchor(
        self, matrix: np.ndarray, y: np.ndarray, weight: np.ndarray | None
    ) -> IndexAnchor | None:
        """The ``IndexAnchor`` of the ``anchor`` feature on the training rows (None without)."""
        if self.anchor is None:
            return None
        if self.anchor not in self._features or self.anchor in self.categories_:
            raise ValueError(f"anchor {self.anchor!r} is not a numeric feature of X")
        stage = None
        if ANCHOR_STAGE in self._features and ANCHOR_STAGE not in self.categories_:
            stage = self._features.index(ANCHOR_STAGE)
        return IndexAnchor.fit(matrix, y, self._features.index(self.anchor), stage, weight)

    def _encode_labels(self, y: Any) -> np.ndarray:
        y_arr = column_or_1d(np.asarray(y), warn=True)
        unknown = set(np.unique(y_arr)) - set(self.classes_)
        if unknown:
            raise ValueError(f"y_cal has labels not seen in y: {sorted(unknown)!r}")
        return (y_arr == self.classes_[1]).astype(np.int64)

    def _fit_calibrator(
        self, cal_m: np.ndarray, cal_y: np.ndarray, cal_w: np.ndarray | None = None
    ) -> IsotonicRegression | LogisticRegression | None:
        if self.calibration == "none":
            return None
        if len(np.unique(cal_y)) < 2:
            warnings.warn(
                f"calibration set of {len(cal_y)} rows holds a single class; "
                "calibration skipped (probability = sigmoid of the margin)",
                UserWarning,
                stacklevel=3,
            )
            return None
        margin = self.margin_array(cal_m)
        if self.calibration == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True)
            return iso.fit(margin, cal_y, sample_weight=cal_w)
        if self.calibration_prior > 0:
            platt = shrunk_platt(margin, cal_y, self.calibration_prior, cal_w)
        else:
            platt = LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), cal_y, sample_weight=cal_w)
        if platt.coef_[0, 0] <= 0:
            warnings.warn(
                "Platt calibration found a non-positive slope; calibration skipped",
                UserWarning,
                stacklevel=3,
            )
            return None
        return platt

    # -------------------------------------------------------------- predict

    def calibrate_margin(self, margin: Any) -> np.ndarray:
        """Calibrated probability of the positive class for LightGBM margins (log-odds)."""
        check_is_fitted(self, "booster_")
        m = np.asarray(margin, dtype=np.float64).reshape(-1)
        cal = self.calibrator_
        if cal is None:
            return np.asarray(expit(m))
        if isinstance(cal, IsotonicRegression):
            # predict's piecewise-linear interpolation, clipped at the ends (out_of_bounds="clip")
            return np.interp(m, cal.X_thresholds_, cal.y_thresholds_).astype(np.float64)
        # Platt: the logistic of a line in the margin (predict_proba's arithmetic, without
        # scikit-learn's per-call input validation)
        slope, intercept = float(cal.coef_[0, 0]), float(cal.intercept_[0])
        return np.asarray(expit(m * slope + intercept), dtype=np.float64)

    def predict_raw(self, X: Any) -> np.ndarray:
        """The margin (log-odds of the positive class, before calibration), shape (n,)."""
        return self.margin_array(self.input_matrix(X))

    def margin_array(self, matrix: np.ndarray) -> np.ndarray:
        """``predict_raw`` of an ``input_matrix``: the booster's raw score plus the anchor's."""
        raw = np.asarray(
            self.booster_.predict(matrix, raw_score=True, num_threads=self._threads()),
            dtype=np.float64,
        )
        anchor = self._anchor()
        return raw if anchor is None else raw + anchor.margin(matrix)

    def _anchor(self) -> IndexAnchor | None:
        """The fitted anchor (None without one, and for models fitted before anchors)."""
        return getattr(self, "anchor_", None)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated class probabilities, shape (n, 2), columns in ``classes_`` order."""
        p = self.calibrate_margin(self.predict_raw(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """The class whose calibrated probability is larger (ties go to ``classes_[0]``)."""
        p = self.predict_proba(X)[:, 1]
        return np.asarray(self.classes_[(p > 0.5).astype(np.int64)])

    def contributions(self, X: Any) -> pd.DataFrame:
        """Exact TreeSHAP contributions (log-odds): one column per feature plus ``base_value``.

        Row sums equal ``predict_raw(X)``. The index is X's index for a DataFrame.
        """
        check_is_fitted(self, "booster_")
        frame = self._frame(X)
        return pd.DataFrame(
            self.contribution_array(self._matrix(frame)),
            columns=[*self._features, BASE_VALUE],
            index=frame.index,
        )

    def input_matrix(self, X: Any) -> np.ndarray:
        """The (n, f) float matrix the booster reads for ``X`` (fitted columns, category codes;
        a frame may hold other columns too: only the fitted ones are read)."""
        check_is_fitted(self, "booster_")
        if isinstance(X, pd.DataFrame) and hasattr(self, "feature_names_in_"):
            columns = set(X.columns)
            if len(columns) == len(X.columns) and all(f in columns for f in self._features):
                return self._matrix(X)  # the fitted columns read by name: no reordered copy
        return self._matrix(self._frame(X))

    def contribution_array(self, matrix: np.ndarray) -> np.ndarray:
        """``contributions`` of an ``input_matrix`` as an (n, f + 1) array: one column per
        feature in fitted order, then the base value; row sums are the margins."""
        check_is_fitted(self, "booster_")
        table = self._shap_table()
        if table is not None:
            contrib = table.contributions(matrix)
        else:
            contrib = np.asarray(
                self.booster_.predict(matrix, pred_contrib=True, num_threads=self._threads()),
                dtype=np.float64,
            )
        anchor = self._anchor()
        return contrib if anchor is None else anchor.add_contributions(contrib, matrix)

    def _shap_table(self) -> PatternShap | None:
        """The model's ``PatternShap`` (built in ``fit``; on first use for a model fitted
        before it existed), or None: its trees are too large and ``pred_contrib`` explains."""
        try:
            return self.shap_table_
        except AttributeError:
            table = self.shap_table_ = PatternShap.from_booster(self.booster_)
            return table

    def _threads(self) -> int:
        """LightGBM threads for prediction: ``n_jobs`` (its default, 1, keeps one core busy;
        LightGBM's own default takes every core and busy-waits, which starves other workers)."""
        n = int(self.n_jobs or 1)
        return n if n > 0 else 0

    def feature_names(self) -> list[str]:
        """The model's input columns, in order (``x0``, ``x1``, ... when fitted on an array)."""
        check_is_fitted(self, "booster_")
        return list(self._features)

    def feature_importance(self, kind: str = "gain") -> pd.Series:
        """LightGBM importance per feature (``gain`` or ``split``), largest first."""
        check_is_fitted(self, "booster_")
        values = self.booster_.feature_importance(importance_type=kind)
        return pd.Series(values, index=self._features, name=kind).sort_values(ascending=False)


def shrunk_platt(
    margin: np.ndarray, y: np.ndarray, prior: float, weight: np.ndarray | None = None
) -> LogisticRegression:
    """Platt scaling ``p = sigmoid(a * margin + b)`` with a Gaussian prior at the identity.

    Maximises the log-likelihood of ``y`` minus ``prior / 2 * ((a - 1)^2 + b^2)``: LightGBM's
    margin is already a log-odds fitted by log loss, so the calibration set only corrects it,
    and a small calibration set (few projects, many correlated reports) corrects it less.
    ``weight`` weights each row's log-likelihood (the prior is not weighted). Returned as a
    fitted ``LogisticRegression`` (``coef_ = [[a]]``, ``intercept_ = [b]``).
    """
    m = np.asarray(margin, dtype=np.float64).reshape(-1)
    t = np.asarray(y, dtype=np.float64).reshape(-1)
    w = None if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1)

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = float(ab[0]), float(ab[1])
        z = a * m + b
        p = expit(z)
        terms = np.logaddexp(0.0, z) - t * z
        value = float(np.sum(terms if w is None else w * terms))
        value += 0.5 * prior * ((a - 1.0) ** 2 + b**2)
        r = p - t if w is None else w * (p - t)
        grad = np.array([np.dot(r, m) + prior * (a - 1.0), r.sum() + prior * b])
        return value, grad

    a, b = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B").x
    platt = LogisticRegression()
    platt.classes_ = np.array([0, 1])
    platt.coef_ = np.array([[float(a)]])
    platt.intercept_ = np.array([float(b)])
    platt.n_features_in_ = 1
    platt.n_iter_ = np.array([0])
    return platt


def _weights(weight: Any | None, n: int, name: str) -> np.ndarray | None:
    """Row weights as a float array of length ``n`` (None stays None); finite, >= 0."""
    if weight is None:
        return None
    w = np.asarray(weight, dtype=np.float64).reshape(-1)
    if len(w) != n:
        raise ValueError(f"{name} has {len(w)} values for {n} rows")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    return w


def monotone_for(features: Mapping[str, int], columns: list[str]) -> dict[str, int]:
    """The subset of a monotone mapping whose features are among ``columns``."""
    return {k: v for k, v in features.items() if k in columns}
