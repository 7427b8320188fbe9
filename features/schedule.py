"""Schedule signals: static size and duration, elapsed time, earned schedule (ES, SPI(t)).

Earned schedule interpolates the project's cumulative planned value curve: the points
(start, 0), PV at each report date up to the row, and (baseline finish, BAC), all known
from the plan. The search for the segment holding EV is vectorised over every project at
once (one lexsort), using that the curve is non-decreasing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.history import FloatArray, Groups, frame_of, safe_div


def static_features(h: pd.DataFrame) -> pd.DataFrame:
    """Category, log10 baseline budget and planned duration (from the projects table only)."""
    budget = h["p_budget"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_budget = np.where(budget > 0, np.log10(np.where(budget > 0, budget, 1.0)), np.nan)
    return frame_of(
        {
            "category": h["p_category"].to_numpy(dtype=object),
            "log_budget": log_budget,
            "planned_duration_days": planned_duration(h),
        },
        h,
    )


def planned_duration(h: pd.DataFrame) -> FloatArray:
    """Baseline finish minus start in days; NaN when unknown or not positive."""
    pd_days = h["p_finish"].to_numpy(dtype=np.float64) - h["p_start"].to_numpy(dtype=np.float64)
    return np.where(pd_days > 0, pd_days, np.nan)


def earned_schedule(h: pd.DataFrame, ev: FloatArray, pv: FloatArray, bac: FloatArray) -> FloatArray:
    """ES in days since start per row, by linear interpolation of the PV curve up to the row.

    ``pv`` is the PV reported at each row (NaN when not reported); ``ev`` the latest EV.
    ES = planned duration once EV reaches BAC, 0 when EV <= 0, NaN when start is unknown or
    EV lies beyond the known curve (no baseline finish or BAC).
    """
    g = Groups.of(h)
    n = len(h)
    t = h["t"].to_numpy(dtype=np.float64)
    pd_days = planned_duration(h)
    is_report = h["is_report"].to_numpy(dtype=bool)
    pv = np.asarray(pv, dtype=np.float64)
    ev = np.asarray(ev, dtype=np.float64)

    eligible = is_report & ~np.isnan(pv) & (t > 0) & (np.isnan(pd_days) | (t < pd_days))
    clipped = np.clip(pv, 0.0, np.where(np.isnan(bac), np.inf, bac))
    curve = g.cummax(np.where(eligible, clipped, np.nan))
    pts = np.flatnonzero(eligible)
    p_code, p_t, p_pv = g.code[pts], t[pts], curve[pts]
    # points of earlier groups, and points of the row's own group at or before the row
    p_start = np.searchsorted(p_code, np.arange(g.n_groups), side="left")
    row_p_start = p_start[g.code] if n else np.zeros(0, dtype=np.int64)
    m = np.cumsum(eligible) - row_p_start

    q = np.flatnonzero(~np.isnan(ev) & ~np.isnan(t))
    vals = np.concatenate([p_pv, ev[q]])
    codes = np.concatenate([p_code, g.code[q]])
    kind = np.concatenate([np.zeros(len(pts), np.int8), np.ones(len(q), np.int8)])
    order = np.lexsort((kind, vals, codes))
    n_points_before = np.cumsum(kind[order] == 0)
    count_le = np.empty(len(vals), dtype=np.int64)
    count_le[order] = n_points_before
    k = np.zeros(n, dtype=np.int64)
    k[q] = np.minimum(count_le[len(pts) :] - row_p_start[q], m[q])

    lo_idx = row_p_start + k - 1
    has_lo = k > 0
    safe_lo = np.clip(lo_idx, 0, max(len(pts) - 1, 0))
    lo_t = np.where(has_lo, p_t[safe_lo] if len(pts) else 0.0, 0.0)
    lo_pv = np.where(has_lo, p_pv[safe_lo] if len(pts) else 0.0, 0.0)
    has_hi_pt = k < m
    safe_hi = np.clip(row_p_start + k, 0, max(len(pts) - 1, 0))
    hi_t = np.where(has_hi_pt, p_t[safe_hi] if len(pts) else np.nan, pd_days)
    hi_pv = np.where(has_hi_pt, p_pv[safe_hi] if len(pts) else np.nan, bac)

    es = lo_t + safe_div(ev - lo_pv, hi_pv - lo_pv) * (hi_t - lo_t)
    done = ~np.isnan(bac) & ~np.isnan(pd_days) & (ev >= bac)
    es = np.where(done, pd_days, es)
    es = np.where(ev <= 0, 0.0, es)
    return np.where(np.isnan(t) | np.isnan(ev), np.nan, es)


def schedule_features(h: pd.DataFrame) -> pd.DataFrame:
    """Elapsed share, progress lag and the earned-schedule indices SPI(t), SV(t), IEAC(t).

    Needs the EVM helper columns (``_ev``, ``_bac``) and ``percent_complete`` in ``h``.
    """
    t = h["t"].to_numpy(dtype=np.float64)
    pd_days = planned_duration(h)
    elapsed = safe_div(t, pd_days)
    pc = h["percent_complete"].to_numpy(dtype=np.float64)
    es = earned_schedule(
        h,
        h["_ev"].to_numpy(dtype=np.float64),
        h["s_planned_value"].to_numpy(dtype=np.float64),
        h["_bac"].to_numpy(dtype=np.float64),
    )
    at = np.where(t > 0, t, np.nan)
    spi_t = safe_div(es, at)
    return frame_of(
        {
            "elapsed_share": elapsed,
            "progress_lag": elapsed - pc / 100.0,
            "spi_t": spi_t,
            "sv_t_share": safe_div(es - at, pd_days),
            "ieac_t_share": safe_div(safe_div(pd_days, spi_t), pd_days),
        },
        h,
    )
