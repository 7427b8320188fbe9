"""A reader-neutral schedule: what every schedule reader (P6 XER, PMXML, MSPDI, .mpp) yields.

Readers translate their library's objects into these plain dataclasses once; the signals
(``signals``) and the DCMA checks (``dcma``) read only these, so they are the same whatever
the file format and can be tested on small hand-built schedules.

Durations, float and lags are in working days (hours / hours per day of the activity's
calendar). Costs are in the project's currency. Dates are naive ``datetime``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

ActivityKind = Literal["task", "milestone", "level_of_effort", "summary"]
ActivityStatus = Literal["not_started", "in_progress", "completed"]
LinkType = Literal["FS", "SS", "FF", "SF"]

HARD_CONSTRAINTS: frozenset[str] = frozenset(
    {"must_start_on", "must_finish_on", "start_no_later_than", "finish_no_later_than"}
)
"""Constraints that fix a date against the logic (DCMA check 5 counts these)."""


@dataclass(frozen=True)
class Activity:
    """One schedule activity as of the file's data date."""

    uid: str
    code: str
    name: str
    kind: ActivityKind
    status: ActivityStatus
    percent_complete: float | None = None
    """Performance percent complete, 0-100 (None when the file does not say)."""
    start: datetime | None = None
    """Actual start when started, else the current (early) start."""
    finish: datetime | None = None
    """Actual finish when completed, else the current (early) finish."""
    actual_start: datetime | None = None
    actual_finish: datetime | None = None
    baseline_start: datetime | None = None
    baseline_finish: datetime | None = None
    original_duration: float | None = None
    remaining_duration: float | None = None
    total_float: float | None = None
    constraints: tuple[str, ...] = ()
    """Constraint types in our words (``must_finish_on``...; see ``HARD_CONSTRAINTS``)."""
    budget_cost: float | None = None
    """Budgeted (baseline/planned) cost at completion of the activity's assignments."""
    actual_cost: float | None = None
    remaining_cost: float | None = None
    has_resources: bool = False
    critical: bool | None = None

    @property
    def is_normal(self) -> bool:
        """A task or milestone: what the DCMA checks count (not LOE, not summary)."""
        return self.kind in ("task", "milestone")

    @property
    def is_complete(self) -> bool:
        return self.status == "completed"


@dataclass(frozen=True)
class Link:
    """A relationship: ``successor`` depends on ``predecessor`` with a lag in working days."""

    predecessor: str
    successor: str
    type: LinkType = "FS"
    lag: float = 0.0


@dataclass
class Schedule:
    """One project in one schedule file (one update) at its data date."""

    project_id: str
    name: str
    data_date: datetime
    source: str
    """Where it came from, e.g. ``update-3.xer`` (the file name)."""
    file_format: str
    """``P6 XER``, ``P6 PMXML``, ``MSPDI``, ``MPP``."""
    planned_start: datetime | None = None
    scheduled_finish: datetime | None = None
    """The project's current forecast finish (latest activity finish)."""
    baseline_finish: datetime | None = None
    """Baseline finish when the file carries a baseline, else the planned (target) finish."""
    must_finish_by: datetime | None = None
    currency: str | None = None
    activities: list[Activity] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    planned_value: float | None = None
    """Planned value the file itself reports (MS Project BCWS), when it does."""
    earned_value: float | None = None
    """Earned value the file itself reports (MS Project BCWP), when it does."""
    notes: list[str] = field(default_factory=list)
    """What the reader had to assume (e.g. "no status date; used the current date")."""
