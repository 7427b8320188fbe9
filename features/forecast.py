"""Forecast drift signals: reported finish slip, cost growth, budget growth, re-estimates.

Also the gaps between what earned value implies and what the project manager forecasts
(optimism in the reported forecast).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.history import BoolArray, FloatArray, Groups, frame_of, safe_div
from features.schedule import planned_duration


def _changed(g: Groups, latest: FloatArray) -> BoolArray:
    prev = g.shift(latest, 1)
    return ~np.isnan(latest) & ~np.isnan(prev) & (latest != prev)


def forecast_features(h: pd.DataFrame) -> pd.DataFrame:
    """Forecast slip / cost growth, budget growth, re-estimate count and forecast gaps.

    Needs ``cpi``, ``ieac_t_share`` and ``_bac`` in ``h``.
    """
    g = Groups.of(h)
    pd_days = planned_duration(h)
    finish = h["p_finish"].to_numpy(dtype=np.float64)
    baseline = h["p_budget"].to_numpy(dtype=np.float64)
    baseline = np.where(baseline > 0, baseline, np.nan)
    ff = g.ffill(h["s_forecast_finish"])
    fc = g.ffill(h["s_forecast_cost"])
    budget = g.ffill(h["s_budget"])
    slip = safe_div(ff - finish, pd_days)
    cost_growth = safe_div(fc, baseline) - 1.0
    reest = g.cumsum(_changed(g, ff) | _changed(g, fc))
    reest = np.where(np.isnan(ff) & np.isnan(fc), np.nan, reest)
    bac = h["_bac"].to_numpy(dtype=np.float64)
    eac_cpi = safe_div(bac, h["cpi"].to_numpy(dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_current = np.where(budget > 0, np.log10(np.where(budget > 0, budget, 1.0)), np.nan)
    return frame_of(
        {
            "log_current_budget": log_current,
            "forecast_slip": slip,
            "forecast_cost_growth": cost_growth,
            "budget_growth": safe_div(budget, baseline) - 1.0,
            "n_reestimates": reest,
            "forecast_slip_gap": (h["ieac_t_share"].to_numpy(dtype=np.float64) - 1.0) - slip,
            "forecast_cost_gap": safe_div(eac_cpi - fc, bac),
        },
        h,
    )
