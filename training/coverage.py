"""How good the predicted overrun *size* is: interval coverage, MAE and MAPE beside baselines.

Everything is measured on the overrun ratio of ``training.targets`` (schedule slip share of
planned duration, cost growth share of budget). ``size_metrics`` returns the same shape as
``training.evaluate.evaluate_target`` (``{"overall": {label: metrics}, "by_stage": ...}``), so
``training.evaluate.flatten_metrics`` turns it into MLflow keys.

MAPE is taken on ``1 + ratio``, the outcome in units of the plan (actual duration / planned
duration, actual cost / baseline budget): ``mean(|pred - y| / (1 + y))``. On the ratio itself
it would divide by ~0 for every project that lands on plan. Rows where ``1 + y <= 0`` (not a
real outcome) are left out of MAPE only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from risk_model.ranges import RANGE_COLUMNS
from training.baselines import index_forecast, pm_forecast
from training.evaluate import OVERALL, STAGES, Metrics, Result, stage_of

MODEL = "model"
SIZE_BASELINES: tuple[str, ...] = ("index_forecast", "pm_forecast")


def _arr(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def interval_coverage(y: Any, lo: Any, hi: Any) -> float:
    """Share of rows with ``lo <= y <= hi``, over rows where all three are known; NaN if none."""
    y_a, lo_a, hi_a = _arr(y), _arr(lo), _arr(hi)
    if not len(y_a) == len(lo_a) == len(hi_a):
        raise ValueError(f"y, lo and hi differ in length: {len(y_a)}, {len(lo_a)}, {len(hi_a)}")
    ok = ~(np.isnan(y_a) | np.isnan(lo_a) | np.isnan(hi_a))
    if not ok.any():
        return math.nan
    inside = (lo_a[ok] <= y_a[ok]) & (y_a[ok] <= hi_a[ok])
    return float(inside.mean())


def size_errors(y: Any, pred: Any) -> Metrics:
    """``mae`` and ``mape`` (on 1 + ratio, see the module docstring) and ``n`` rows used.

    Rows where ``y`` or ``pred`` is NaN are left out; errors are NaN when no row is left.
    """
    y_a, p_a = _arr(y), _arr(pred)
    if len(y_a) != len(p_a):
        raise ValueError(f"y and pred differ in length: {len(y_a)} vs {len(p_a)}")
    ok = ~(np.isnan(y_a) | np.isnan(p_a))
    err = np.abs(p_a[ok] - y_a[ok])
    scale = 1.0 + y_a[ok]
    real = scale > 0
    return {
        "mae": float(err.mean()) if len(err) else math.nan,
        "mape": float((err[real] / scale[real]).mean()) if real.any() else math.nan,
        "n": float(ok.sum()),
    }


def size_baselines(features: pd.DataFrame, target: str) -> dict[str, pd.Series]:
    """Baseline predictions of the ratio a PMO already has, indexed like ``features``.

    ``index_forecast``: IEAC(t)/PD - 1 (schedule) or (BAC/CPI)/BAC - 1 (cost);
    ``pm_forecast``: the PM's current forecast slip share or cost growth share.
    """
    return {
        "index_forecast": index_forecast(features, target),
        "pm_forecast": pm_forecast(features, target),
    }


def _range_metrics(y: np.ndarray, ranges: np.ndarray) -> Metrics:
    """The model's metrics on rows: P50 errors, P10-P90 coverage, tail shares, band width."""
    p10, p50, p90 = ranges[:, 0], ranges[:, 1], ranges[:, 2]
    out = size_errors(y, p50)
    known = ~(np.isnan(y) | np.isnan(ranges).any(axis=1))
    out["p10_p90_coverage"] = interval_coverage(y, p10, p90)
    out["below_p10"] = float((y[known] < p10[known]).mean()) if known.any() else math.nan
    out["above_p90"] = float((y[known] > p90[known]).mean()) if known.any() else math.nan
    out["below_p50"] = float((y[known] <= p50[known]).mean()) if known.any() else math.nan
    out["band_width"] = float((p90[known] - p10[known]).mean()) if known.any() else math.nan
    return out


def _group(y: np.ndarray, ranges: np.ndarray, base: Mapping[str, np.ndarray]) -> dict[str, Metrics]:
    metrics = {MODEL: _range_metrics(y, ranges)}
    for name, values in base.items():
        m = size_errors(y, values)
        same = ~np.isnan(values)
        model_same = size_errors(y[same], ranges[same, 1])
        m["model_mae"] = model_same["mae"]
        m["model_mape"] = model_same["mape"]
        metrics[name] = m
    return metrics


def size_metrics(
    y: Any,
    pred: pd.DataFrame,
    baselines: Mapping[str, Any],
    elapsed_share: Any | None = None,
) -> Result:
    """Size metrics of the model's range beside each baseline, overall and per stage.

    ``y`` (true ratios), the rows of ``pred`` (columns ``p10``, ``p50``, ``p90``), each
    baseline and ``elapsed_share`` are aligned by position. Rows with unknown ``y`` are left
    out. The model gets ``mae`` / ``mape`` of its P50, ``p10_p90_coverage`` (share of outcomes
    inside the band; ~0.8 is honest), ``below_p10``, ``above_p90``, ``below_p50`` and the mean
    ``band_width``; each baseline gets its ``mae`` / ``mape`` on the rows where it has a value
    (``n``) and the model's on those same rows (``model_mae``, ``model_mape``). Stages are those
    of ``training.evaluate`` (empty ``by_stage`` without ``elapsed_share``).
    """
    y_a = _arr(y)
    missing = [c for c in RANGE_COLUMNS if c not in pred.columns]
    if missing:
        raise KeyError(f"pred lacks columns: {', '.join(missing)}")
    ranges = pred.loc[:, list(RANGE_COLUMNS)].to_numpy(dtype=np.float64)
    base = {name: _arr(values) for name, values in baselines.items()}
    if MODEL in base:
        raise ValueError(f"a baseline may not be called {MODEL!r}")
    for name, values in [("pred", ranges), *base.items()]:
        if len(values) != len(y_a):
            raise ValueError(f"{name} has {len(values)} rows but y has {len(y_a)}")
    known = ~np.isnan(y_a)

    def pick(rows: np.ndarray) -> dict[str, Metrics]:
        return _group(y_a[rows], ranges[rows], {k: v[rows] for k, v in base.items()})

    result: Result = {"overall": pick(known), "by_stage": {}}
    if elapsed_share is not None:
        share = _arr(elapsed_share)
        if len(share) != len(y_a):
            raise ValueError(f"elapsed_share has {len(share)} rows but y has {len(y_a)}")
        stage = stage_of(share).to_numpy()
        result["by_stage"] = {name: pick(known & (stage == name)) for name in STAGES}
    return result


def size_table(result: Result) -> str:
    """Fixed-width text: per stage, the model's MAE, MAPE, P10-P90 coverage and band width,
    then each baseline's MAE and MAPE beside the model's on the same rows."""
    head = (
        f"{'Stage':<14}  {'Predictor':<15}{'MAE':>8}{'MAPE':>8}{'model MAE':>11}"
        f"{'cover':>8}{'width':>8}{'n':>7}"
    )
    lines = [head, "-" * len(head)]
    groups = [(OVERALL, result["overall"]), *result["by_stage"].items()]
    for stage, metrics in groups:
        for i, (label, m) in enumerate(metrics.items()):
            cells = [
                _fmt(m.get("mae"), 8),
                _fmt(m.get("mape"), 8),
                _fmt(m.get("model_mae"), 11),
                _fmt(m.get("p10_p90_coverage"), 8),
                _fmt(m.get("band_width"), 8),
            ]
            n = m.get("n", math.nan)
            name = stage if i == 0 else ""
            lines.append(
                f"{name:<14}  {label:<15}{''.join(cells)}{'-' if math.isnan(n) else int(n):>7}"
            )
    return "\n".join(lines)


def _fmt(value: float | None, width: int) -> str:
    if value is None or math.isnan(value):
        return f"{'-':>{width}}"
    return f"{value:>{width}.3f}"
