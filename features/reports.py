"""Status-report signals: report count and cadence, RAG status and its age, register counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.history import Groups, frame_of


def report_features(h: pd.DataFrame) -> pd.DataFrame:
    """n_reports, gap since the previous report, RAG (latest, worst, age) and register counts."""
    g = Groups.of(h)
    is_report = h["is_report"].to_numpy(dtype=bool)
    day = h["asof_day"].to_numpy(dtype=np.float64)
    rag = g.ffill(h["s_rag"])
    worst = g.cummax(g.ffill(h["s_rag"]))
    run_start = ~np.isnan(rag) & (rag != g.shift(rag, 1))
    since = g.ffill(np.where(run_start, day, np.nan))
    out = {
        "n_reports": g.cumsum(is_report),
        "report_gap_days": np.where(is_report, day - g.shift(day, 1), np.nan),
        "rag_score": rag,
        "rag_worst": worst,
        "rag_age_days": day - since,
    }
    for col in ("open_risks", "open_issues", "change_requests"):
        out[col] = g.ffill(h[f"s_{col}"])
    return frame_of(out, h)
