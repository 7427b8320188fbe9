"""Trend signals: last-period change, OLS slope and volatility over the last reports.

Slopes are per report (against the report index) over ``window`` reports; volatility is the
sample standard deviation over ``window + 1`` reports. Both use only the row and earlier
rows of the same project.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.history import Groups, frame_of, slope_of, std_of
from features.registry import TREND_WINDOW

TRIO_SOURCES: tuple[str, ...] = ("cpi", "spi_t", "forecast_slip")
SLOPE_SOURCES: tuple[str, ...] = (
    "forecast_cost_growth",
    "open_risks",
    "open_issues",
    "change_requests",
)


def trend_features(h: pd.DataFrame, window: int = TREND_WINDOW) -> pd.DataFrame:
    """``<x>_change``, ``<x>_trend``, ``<x>_volatility`` for CPI, SPI(t), forecast slip, and
    ``<x>_trend`` for forecast cost growth and the register counts."""
    if window < 2:
        raise ValueError("trend window must be at least 2 reports")
    g = Groups.of(h)
    # all columns at once: one window stack per window length, the same values per column
    trio = np.stack([h[col].to_numpy(dtype=np.float64) for col in TRIO_SOURCES])
    lags = g.window(trio, window + 1)  # lag 0 .. window
    change = trio - lags[1]
    trend = slope_of(lags[:window])
    volatility = std_of(lags)
    out: dict[str, np.ndarray] = {}
    for i, col in enumerate(TRIO_SOURCES):
        out[f"{col}_change"] = change[i]
        out[f"{col}_trend"] = trend[i]
        out[f"{col}_volatility"] = volatility[i]
    others = np.stack([h[col].to_numpy(dtype=np.float64) for col in SLOPE_SOURCES])
    slopes = slope_of(g.window(others, window))
    for i, col in enumerate(SLOPE_SOURCES):
        out[f"{col}_trend"] = slopes[i]
    return frame_of(out, h)
