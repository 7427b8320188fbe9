"""Schedule-quality signals: the DCMA 14-point figures of the latest schedule update.

``schedule_quality_features`` gives the model's ``dcma_*`` features: each figure is the value
of the latest report at or before the row that came with one (a report imported from a
schedule file, see ``features.sources.schedules``); NaN until then.
``latest_schedule_findings`` gives the same figures as findings people read (pages, reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from features.history import Groups, frame_of
from risk_model.schemas import SCHEDULE_QUALITY_FIELDS


def schedule_quality_features(h: pd.DataFrame) -> pd.DataFrame:
    """``dcma_*`` per row: the latest reported figure so far within the project."""
    g = Groups.of(h)
    return frame_of({name: g.ffill(h[f"s_{name}"]) for name in SCHEDULE_QUALITY_FIELDS}, h)


@dataclass(frozen=True)
class ScheduleFinding:
    """One DCMA check of a schedule update, in words (the value, the guideline, the verdict)."""

    number: int
    title: str
    meaning: str
    value: float | None
    value_text: str
    threshold_text: str
    passed: bool | None

    @property
    def result(self) -> str:
        """``pass``, ``fail`` or ``not computed`` (never a colour alone)."""
        return {True: "pass", False: "fail", None: "not computed"}[self.passed]


@dataclass(frozen=True)
class ScheduleFindings:
    """The DCMA 14-point findings of a project's latest schedule update up to a date."""

    project_id: str
    as_of: date
    checks: tuple[ScheduleFinding, ...]

    @property
    def failed(self) -> list[ScheduleFinding]:
        return [c for c in self.checks if c.passed is False]

    @property
    def passed(self) -> int:
        return sum(c.passed is True for c in self.checks)

    @property
    def computed(self) -> int:
        return sum(c.passed is not None for c in self.checks)


def latest_schedule_findings(snapshots: pd.DataFrame, project_id: str) -> ScheduleFindings | None:
    """The findings of ``project_id``'s latest report that came from a schedule file.

    A report came from a schedule when any of its ``dcma_*`` figures is known; None when no
    report of the project did (its history came from spreadsheets only). ``snapshots`` are
    canonical (``risk_model.schemas``); pass them cut at a date for a report as of that date.
    """
    from features.sources.schedules.dcma import CHECKS, format_value, threshold_text, verdict

    columns = [f"dcma_{spec.key}" for spec in CHECKS]
    if snapshots.empty or not set(columns) <= set(snapshots.columns):
        return None
    mine = snapshots.loc[snapshots["project_id"] == project_id]
    mine = mine.loc[mine[columns].notna().any(axis=1)]
    if mine.empty:
        return None
    latest = mine.sort_values("as_of").iloc[-1]
    checks = []
    for spec, column in zip(CHECKS, columns, strict=True):
        raw = latest[column]
        value = None if pd.isna(raw) else float(raw)
        checks.append(
            ScheduleFinding(
                number=spec.number,
                title=spec.title,
                meaning=spec.meaning,
                value=value,
                value_text=format_value(value, spec.unit),
                threshold_text=threshold_text(spec),
                passed=verdict(spec, value),
            )
        )
    return ScheduleFindings(project_id, pd.Timestamp(latest["as_of"]).date(), tuple(checks))
