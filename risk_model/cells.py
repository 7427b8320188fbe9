"""Column-at-a-time helpers for table cells, used on the import path.

Each gives exactly what a per-cell Python function mapped over the column gives, with the
common case (``str`` cells and None) done in one tight pass and distinct values parsed once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = ["strip_cells", "strip_column", "take_parsed"]

CellText = Callable[[object], str | None]


def strip_cells(values: Sequence[object] | np.ndarray, other: CellText) -> list[str | None]:
    """Each cell as stripped text, None for a blank or None cell.

    When any cell is neither ``str`` nor None, every cell is ``other(cell)`` instead;
    ``other`` must give the same as this for ``str`` and None cells.
    """
    strip = str.strip
    try:
        return [None if v is None else strip(v) or None for v in values]  # type: ignore[arg-type]
    except TypeError:
        return [other(v) for v in values]


def strip_column(rows: Sequence[Sequence[object]], j: int, other: CellText) -> list[str | None]:
    """Column ``j`` of ``rows`` as by ``strip_cells``; None where a row is too short."""
    strip = str.strip
    try:
        return [
            None if (v := r[j]) is None else strip(v) or None  # type: ignore[arg-type]
            for r in rows
        ]
    except (TypeError, IndexError):
        return [other(r[j]) if j < len(r) else None for r in rows]


def take_parsed(
    text: pd.Series, parse_unique: Callable[[np.ndarray], np.ndarray], fill: object, dtype: str
) -> tuple[np.ndarray, np.ndarray]:
    """Parse each distinct present cell once and spread the results over the column.

    ``text`` holds str or None; ``parse_unique`` maps an object array of distinct strings to
    an array of their results. Returns (values, present): ``values`` (of ``dtype``) holds the
    result for each row, ``fill`` where the cell is None; ``present`` marks non-None cells.
    """
    codes, uniques = pd.factorize(text.to_numpy(dtype=object))
    present = codes >= 0
    values = np.full(len(codes), fill, dtype=dtype)
    if present.any():
        parsed = np.asarray(parse_unique(np.asarray(uniques, dtype=object)), dtype=dtype)
        values[present] = parsed[codes[present]]
    return values, present
