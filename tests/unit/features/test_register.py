"""Register features: point in time, NaN without a register, never reading the future."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.pipeline import build_features
from features.register import REGISTER_FEATURES
from risk_model.risk_register import RegisterFrames

Portfolio = tuple[pd.DataFrame, pd.DataFrame]


def _register() -> RegisterFrames:
    risks = pd.DataFrame(
        {
            "project_id": ["A", "A", "A"],
            "probability": [5, 2, 4],
            "impact": [4, 2, 4],
            "created_on": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-03-01"]),
            "closed_on": pd.to_datetime(["2024-02-10", None, None]),
        }
    )
    actions = pd.DataFrame(
        {
            "project_id": ["A", "A"],
            "due_date": pd.to_datetime(["2024-01-25", "2024-02-01"]),
            "created_on": pd.to_datetime(["2024-01-06", "2024-01-06"]),
            "done_on": pd.to_datetime(["2024-02-15", None]),
        }
    )
    return RegisterFrames(risks, actions)


def test_register_counts_are_point_in_time(tiny: Portfolio) -> None:
    projects, snapshots = tiny
    f = build_features(projects, snapshots, register=_register())
    a = f.loc[f["project_id"] == "A"].set_index("as_of")
    # reports of A: 2024-01-11, 01-31, 02-20, 03-11
    assert list(a["register_open_risks"]) == [1, 2, 1, 2]
    assert list(a["register_high_risks"]) == [1, 1, 0, 1]
    assert list(a["register_overdue_actions"]) == [0, 1, 1, 1]


def test_projects_without_register_entries_get_nan(tiny: Portfolio) -> None:
    projects, snapshots = tiny
    with_reg = build_features(projects, snapshots, register=_register())
    without = build_features(projects, snapshots)
    for name in REGISTER_FEATURES:
        assert with_reg.loc[with_reg["project_id"] != "A", name].isna().all()
        assert without[name].isna().all()
    others = [c for c in without.columns if c not in REGISTER_FEATURES]
    pd.testing.assert_frame_equal(with_reg[others], without[others])


def test_later_register_entries_do_not_change_earlier_rows(tiny: Portfolio) -> None:
    projects, snapshots = tiny
    reg = _register()
    later = RegisterFrames(
        pd.concat(
            [
                reg.risks,
                pd.DataFrame(
                    {
                        "project_id": ["A"],
                        "probability": [5],
                        "impact": [5],
                        "created_on": pd.to_datetime(["2024-03-05"]),
                        "closed_on": pd.to_datetime([None]),
                    }
                ),
            ],
            ignore_index=True,
        ),
        reg.actions,
    )
    before = build_features(projects, snapshots, register=reg)
    after = build_features(projects, snapshots, register=later)
    early = before["as_of"] < pd.Timestamp("2024-03-05")
    np.testing.assert_array_equal(
        before.loc[early, list(REGISTER_FEATURES)].to_numpy(),
        after.loc[early, list(REGISTER_FEATURES)].to_numpy(),
    )
    last_a = after.loc[after["project_id"] == "A"].iloc[-1]
    assert last_a["register_open_risks"] == 3
