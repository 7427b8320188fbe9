"""Earned value signals: SPI, CPI, TCPI, EAC forms, percent complete.

Inputs are the history frame of ``features.pipeline`` (one row per project and date, raw
snapshot fields prefixed ``s_``); each field's latest reported value as of the row is used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.history import FloatArray, Groups, frame_of, safe_div


def budget_at_completion(h: pd.DataFrame) -> FloatArray:
    """BAC per row: the baseline budget, else the first budget reported up to the row.

    Non-positive amounts count as unknown (NaN).
    """
    g = Groups.of(h)
    baseline = h["p_budget"].to_numpy(dtype=np.float64)
    reported = h["s_budget"].to_numpy(dtype=np.float64)
    seen = g.cumsum(~np.isnan(reported))
    first = np.where(~np.isnan(reported) & (seen == 1), reported, np.nan)
    bac = np.where(np.isnan(baseline), g.ffill(first), baseline)
    return np.where(bac > 0, bac, np.nan)


def evm_features(h: pd.DataFrame) -> pd.DataFrame:
    """EVM indices per row; helper columns ``_pv``, ``_ev``, ``_ac``, ``_bac`` are private."""
    g = Groups.of(h)
    bac = budget_at_completion(h)
    pv = g.ffill(h["s_planned_value"])
    ev = g.ffill(h["s_earned_value"])
    ac = g.ffill(h["s_actual_cost"])
    raw_pc = h["s_percent_complete"].to_numpy(dtype=np.float64)
    ev_row = h["s_earned_value"].to_numpy(dtype=np.float64)
    pc = g.ffill(np.where(np.isnan(raw_pc), safe_div(ev_row, bac) * 100.0, raw_pc))
    spi = safe_div(ev, pv)
    cpi = safe_div(ev, ac)
    # Once actual cost reaches the budget no efficiency can finish within it: TCPI's sign
    # flips and it stops meaning anything, so it is missing rather than misleading.
    tcpi = np.where(ac < bac, safe_div(bac - ev, bac - ac), np.nan)
    eac_cpi = safe_div(bac, cpi)
    eac_comp = ac + safe_div(bac - ev, cpi * spi)
    return frame_of(
        {
            "_pv": pv,
            "_ev": ev,
            "_ac": ac,
            "_bac": bac,
            "percent_complete": pc,
            "spi": spi,
            "cpi": cpi,
            "tcpi": tcpi,
            "tcpi_minus_cpi": tcpi - cpi,
            "eac_bac_cpi": safe_div(eac_cpi, bac),
            "eac_bac_composite": safe_div(eac_comp, bac),
            "ac_share": safe_div(ac, bac),
        },
        h,
    )
