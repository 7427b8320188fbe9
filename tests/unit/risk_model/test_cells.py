"""risk_model.cells: column-at-a-time cell helpers give what the per-cell function gives."""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_model.cells import strip_cells, strip_column, take_parsed


def per_cell(value: object) -> str | None:
    """The per-cell rule the helpers must reproduce (blank-like and NaN cells are missing)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return str(value).strip() or None


TEXT_CELLS: list[object] = [" a ", "b", "", "   ", None, "\tc\n", "naïve ", "0", "None"]
MIXED_CELLS: list[object] = [*TEXT_CELLS, 5, 2.5, float("nan"), pd.NA, np.str_(" s "), -0.0]


def test_strip_cells_of_text_and_none_is_the_per_cell_rule() -> None:
    assert strip_cells(TEXT_CELLS, per_cell) == [per_cell(v) for v in TEXT_CELLS]
    as_array = np.array(TEXT_CELLS, dtype=object)
    assert strip_cells(as_array, per_cell) == [per_cell(v) for v in TEXT_CELLS]


def test_strip_cells_with_other_kinds_uses_the_per_cell_rule_for_all() -> None:
    out = strip_cells(np.array(MIXED_CELLS, dtype=object), per_cell)
    assert out == [per_cell(v) for v in MIXED_CELLS]
    assert all(v is None or type(v) is str for v in out)


def test_strip_column_pads_short_rows_and_handles_any_cell() -> None:
    rows: list[list[object]] = [[" a ", "1"], ["b"], [], [None, " "], [3, 4.5, "extra"]]
    for j in range(3):
        expected = [per_cell(r[j]) if j < len(r) else None for r in rows]
        assert strip_column(rows, j, per_cell) == expected
    text_rows = [[" x ", "y"], ["", " z"]]
    assert strip_column(text_rows, 1, per_cell) == ["y", "z"]


def test_take_parsed_parses_each_distinct_cell_once_and_fills_missing() -> None:
    cells = ["1", None, "2", "1", None, "2", "3"]
    text = pd.Series(np.array(cells, dtype=object), index=range(10, 17), dtype=object)
    seen: list[list[str]] = []

    def parse(unique: np.ndarray) -> np.ndarray:
        seen.append(list(unique))
        return np.array([float(u) * 10 for u in unique])

    values, present = take_parsed(text, parse, np.nan, "float64")
    assert len(seen) == 1 and sorted(seen[0]) == ["1", "2", "3"]
    expected = [np.nan if v is None else float(v) * 10 for v in cells]
    np.testing.assert_array_equal(values, np.array(expected))
    assert present.tolist() == [v is not None for v in cells]


def test_take_parsed_of_an_all_missing_column_parses_nothing() -> None:
    text = pd.Series([None, None], dtype=object)
    calls: list[int] = []

    def parse(unique: np.ndarray) -> np.ndarray:
        calls.append(len(unique))
        return unique

    values, present = take_parsed(text, parse, np.datetime64("NaT"), "datetime64[ns]")
    assert calls == [] and not present.any() and np.isnat(values).all()
