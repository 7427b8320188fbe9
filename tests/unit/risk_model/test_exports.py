"""Formula injection in CSV/XLSX exports is defused; numbers and plain text are untouched."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_model.exports import FORMULA_PREFIXES, neutralise_cell, neutralise_frame


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=cmd|' /C calc'!A0"],
)
def test_formula_text_gets_a_leading_quote(text: str) -> None:
    assert neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Bridge A", "", "5 = five", None, 3.5, -2.0, 7, np.nan])
def test_other_values_are_unchanged(value: object) -> None:
    out = neutralise_cell(value)
    assert out is value or (isinstance(value, float) and np.isnan(value) and np.isnan(out))


def test_frames_are_neutralised_cell_by_cell_and_the_input_is_untouched() -> None:
    frame = pd.DataFrame(
        {"name": ["=1+1", "ok", None], "p": [-0.5, 0.2, np.nan], "=evil": ["@x", "-y", "z"]}
    )
    before = frame.copy()
    out = neutralise_frame(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert list(out.columns) == ["name", "p", "'=evil"]
    assert out["name"].tolist()[:2] == ["'=1+1", "ok"] and pd.isna(out["name"].iloc[2])
    assert out["p"].tolist()[:2] == [-0.5, 0.2]  # numbers stay numbers
    assert out["'=evil"].tolist() == ["'@x", "'-y", "z"]
    text_cells = [c for col in ("name", "'=evil") for c in out[col] if isinstance(c, str)]
    assert not any(c.startswith(FORMULA_PREFIXES) for c in text_cells)
