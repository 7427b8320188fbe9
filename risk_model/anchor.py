"""``IndexAnchor``: the start a risk booster corrects, an index forecast read as log-odds.

An index forecast (IEAC(t)/PD for schedule, EAC/BAC = 1/CPI for cost) ranks projects with no
training at all, and smoothly; a small tree ensemble learns coarse steps. Early in a
portfolio's history (a few dozen finished projects) the steps rank worse than the forecast they
are built from. So the booster starts from a small logistic model of the forecast, and its
trees learn corrections (LightGBM's ``init_score``), as a linear model with boosted residuals.

The logistic model reads three numbers of a report:

- ``z``: the log of the index forecast ratio (clipped to ``[1/20, 20]``); where the forecast is
  unknown, the training mean, and ``m = 1``;
- ``e``: the elapsed share of planned duration (clipped to ``[0, 1.5]``; unknown: the training
  mean), so that the same forecast can count for more late in a project than early;

and its log-odds are ``w0 + wz z + wze z e + we e + wm m``, fitted by L2-regularised logistic
regression on the booster's training rows.

Explanations stay exact. With the training means ``z̄, ē, m̄`` as the reference, the linear
part's Shapley values are ``wz (z - z̄) + wm (m - m̄)`` for the forecast's feature and
``we (e - ē)`` for elapsed share; the product term ``wze z e`` gives each of its two
features half of its change from ``z̄ ē`` (``wze (z - z̄)(e + ē) / 2`` and
``wze (e - ē)(z + z̄) / 2``). The remainder, ``w0 + wz z̄ + wm m̄ + we ē + wze z̄ ē``, joins
the base value, so a row's contributions still sum to its margin.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from sklearn.linear_model import LogisticRegression

RATIO_CLIP = (0.05, 20.0)
STAGE_CLIP = (0.0, 1.5)


@dataclass(frozen=True)
class IndexAnchor:
    """A fitted anchor: which matrix columns it reads, its weights and reference means."""

    index_column: int
    stage_column: int | None
    intercept: float
    w_index: float
    w_missing: float
    w_stage: float
    w_product: float
    mean_index: float
    mean_missing: float
    mean_stage: float

    @classmethod
    def fit(
        cls,
        matrix: np.ndarray,
        y: np.ndarray,
        index_column: int,
        stage_column: int | None,
        sample_weight: np.ndarray | None = None,
        C: float = 1.0,
    ) -> IndexAnchor | None:
        """The anchor of ``y`` on these rows, or None when the forecast is never known."""
        z, missing = _log_ratio(matrix[:, index_column])
        if missing.all():
            return None
        mean_stage = 0.0
        if stage_column is not None:
            e, known = _stage(matrix[:, stage_column])
            mean_stage = float(np.mean(e[known])) if known.any() else 0.0
        # the reference means first: the rows' inputs are read as ``margin`` reads them
        reference = cls(
            index_column=index_column,
            stage_column=stage_column,
            intercept=0.0,
            w_index=0.0,
            w_missing=0.0,
            w_stage=0.0,
            w_product=0.0,
            mean_index=float(np.mean(z[~missing])),
            mean_missing=float(np.mean(missing)),
            mean_stage=mean_stage,
        )
        z, m, e = reference._inputs(matrix)
        design = np.column_stack([z, m, e, z * e])
        fit = LogisticRegression(C=C).fit(design, y, sample_weight=sample_weight)
        w_index, w_missing, w_stage, w_product = (float(v) for v in fit.coef_[0])
        return replace(
            reference,
            intercept=float(fit.intercept_[0]),
            w_index=w_index,
            w_missing=w_missing,
            w_stage=w_stage,
            w_product=w_product,
        )

    def _inputs(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(z, m, e) of each row: unknown ratios and stages read as the reference means."""
        z, missing = _log_ratio(matrix[:, self.index_column])
        z = np.where(missing, self.mean_index, z)
        if self.stage_column is None:
            e = np.zeros(len(matrix))
        else:
            e, known = _stage(matrix[:, self.stage_column])
            e = np.where(known, e, self.mean_stage)
        return z, missing.astype(np.float64), e

    def margin(self, matrix: np.ndarray) -> np.ndarray:
        """The anchor's log-odds of each row of the booster's input matrix, shape (n,)."""
        z, m, e = self._inputs(matrix)
        return (
            self.intercept
            + self.w_index * z
            + self.w_missing * m
            + self.w_stage * e
            + self.w_product * z * e
        )

    def base_value(self) -> float:
        """The anchor's log-odds at the reference means (its share of the base value)."""
        return (
            self.intercept
            + self.w_index * self.mean_index
            + self.w_missing * self.mean_missing
            + self.w_stage * self.mean_stage
            + self.w_product * self.mean_index * self.mean_stage
        )

    def add_contributions(self, contrib: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """``contrib`` (n, f + 1: features, then the base value) with the anchor's Shapley
        values added in place to its two features and its base to the last column."""
        z, m, e = self._inputs(matrix)
        dz, de = z - self.mean_index, e - self.mean_stage
        contrib[:, self.index_column] += (
            self.w_index * dz
            + self.w_missing * (m - self.mean_missing)
            + self.w_product * dz * (e + self.mean_stage) / 2.0
        )
        if self.stage_column is not None:
            contrib[:, self.stage_column] += (
                self.w_stage * de + self.w_product * de * (z + self.mean_index) / 2.0
            )
        contrib[:, -1] += self.base_value()
        return contrib


def _log_ratio(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log of a forecast ratio (clipped) and where it is unknown (NaN, or not positive)."""
    v = np.asarray(values, dtype=np.float64)
    missing = ~(np.isfinite(v) & (v > 0))
    z = np.log(np.clip(np.where(missing, 1.0, v), *RATIO_CLIP))
    return z, missing


def _stage(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elapsed share (clipped) and where it is known."""
    v = np.asarray(values, dtype=np.float64)
    known = np.isfinite(v)
    return np.clip(np.where(known, v, 0.0), *STAGE_CLIP), known
