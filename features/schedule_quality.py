"""Schedule-quality signals: the DCMA 14-point figures of the latest schedule update.

Each figure is the value of the latest report at or before the row that came with one (a
report imported from a schedule file, see ``features.sources.schedules``); NaN until then.
"""

from __future__ import annotations

import pandas as pd

from features.history import Groups, frame_of
from risk_model.schemas import SCHEDULE_QUALITY_FIELDS


def schedule_quality_features(h: pd.DataFrame) -> pd.DataFrame:
    """``dcma_*`` per row: the latest reported figure so far within the project."""
    g = Groups.of(h)
    return frame_of({name: g.ffill(h[f"s_{name}"]) for name in SCHEDULE_QUALITY_FIELDS}, h)
