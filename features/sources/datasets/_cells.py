"""Text cells of public data files as dates and numbers (unreadable cells become missing)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_model.validation import parse_date, parse_number


def dates(values: pd.Series) -> pd.Series:
    """``datetime64[ns]`` of text cells; blanks and non-dates (exemption notes) are NaT."""
    out = [parse_date(v) if isinstance(v, str) else None for v in values]
    days = np.array([np.datetime64("NaT") if d is None else d.to_datetime64() for d in out])
    return pd.Series(days, index=values.index, dtype="datetime64[ns]")


def numbers(values: pd.Series, scale: float = 1.0) -> pd.Series:
    """``float64`` of text cells times ``scale``; blanks and non-numbers are NaN."""
    out = [parse_number(v) if isinstance(v, str) else None for v in values]
    return pd.Series([np.nan if x is None else x * scale for x in out], index=values.index)
