"""Risk-register signals, point in time: open risks, high open risks and overdue actions.

Read from the register's dated entries (``risk_model.risk_register.RegisterFrames``), not from
the counts a report carries: at a row dated ``as_of`` a risk counts when it was raised on or
before ``as_of`` and not closed by then; an action is overdue when it was created by then, due
before ``as_of`` and not done by then. A project with no register entries gets NaN (the
register is not in use for it), never zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.history import days
from risk_model.risk_register import HIGH_SCORE, RegisterFrames

REGISTER_FEATURES: tuple[str, ...] = (
    "register_open_risks",
    "register_high_risks",
    "register_overdue_actions",
)


def _active_count(
    h: pd.DataFrame, pid: np.ndarray, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Per row of ``h``: how many intervals [start, end) of the row's project contain as_of.

    ``start``/``end`` are float days (NaN end = still active); intervals with NaN start or
    end <= start never count.
    """
    at = h["asof_day"].to_numpy(dtype=np.float64)
    out = np.zeros(len(h), dtype=np.float64)
    ok = ~np.isnan(start) & (np.isnan(end) | (end > start))
    if not ok.any() or len(h) == 0:
        return out
    pid, start, end = pid[ok], start[ok], np.where(np.isnan(end[ok]), np.inf, end[ok])
    rows = pd.Series(np.arange(len(h)), index=h["project_id"].to_numpy(dtype=object))
    for p in np.unique(pid):
        if p not in rows.index:
            continue
        idx = np.asarray(rows.loc[[p]].to_numpy(), dtype=np.int64)
        s = np.sort(start[pid == p])
        e = np.sort(end[pid == p])
        t = at[idx]
        out[idx] = np.searchsorted(s, t, side="right") - np.searchsorted(e, t, side="right")
    return out


def register_features(h: pd.DataFrame, register: RegisterFrames | None) -> pd.DataFrame:
    """``register_open_risks``, ``register_high_risks``, ``register_overdue_actions``."""
    nan = np.full(len(h), np.nan)
    if register is None or register.empty or len(h) == 0:
        return pd.DataFrame(dict.fromkeys(REGISTER_FEATURES, nan), index=h.index)
    r, a = register.risks, register.actions
    r_pid = r["project_id"].to_numpy(dtype=object)
    a_pid = a["project_id"].to_numpy(dtype=object)
    r_start, r_end = days(r["created_on"]), days(r["closed_on"])
    high = (r["probability"] * r["impact"]).to_numpy(dtype=np.float64) >= HIGH_SCORE
    # overdue from the day after the due date (or from creation if later) until done
    a_start = np.fmax(days(a["due_date"]) + 1.0, days(a["created_on"]))
    a_start = np.where(np.isnan(days(a["due_date"])), np.nan, a_start)
    a_end = days(a["done_on"])
    open_risks = _active_count(h, r_pid, r_start, r_end)
    high_risks = _active_count(h, r_pid[high], r_start[high], r_end[high])
    overdue = _active_count(h, a_pid, a_start, a_end)
    in_use = h["project_id"].isin(set(r_pid) | set(a_pid)).to_numpy()
    at_known = ~np.isnan(h["asof_day"].to_numpy(dtype=np.float64))
    keep = in_use & at_known
    return pd.DataFrame(
        {
            "register_open_risks": np.where(keep, open_risks, np.nan),
            "register_high_risks": np.where(keep, high_risks, np.nan),
            "register_overdue_actions": np.where(keep, overdue, np.nan),
        },
        index=h.index,
    )
