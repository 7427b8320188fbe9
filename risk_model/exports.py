"""Safe spreadsheet exports: text cells that a spreadsheet would run as a formula are defused.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula (or
a DDE payload) to Excel, LibreOffice and Google Sheets. Every CSV / XLSX export of text the
users supplied (project names, drivers, attributes) goes through ``neutralise_frame`` (or
``neutralise_cell``), which prefixes such text with a single quote, as OWASP advises. Numbers
stay numbers: only strings are changed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "neutralise_cell", "neutralise_frame"]

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) are neutralised."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            values = [neutralise_cell(v) for v in series.to_numpy(dtype=object)]
            out[column] = pd.Series(values, index=out.index, dtype=series.dtype)
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out
