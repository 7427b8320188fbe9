"""Why a schedule file could not be read (turned into a ``Problem`` naming the file)."""

from __future__ import annotations

from risk_model.exceptions import PmoRiskError


class ScheduleReadError(PmoRiskError):
    """A schedule file cannot be read; the message says why, without a traceback."""


class ReaderUnavailable(ScheduleReadError):
    """The library this file needs (MPXJ, Java) is not installed."""


class NotASchedule(ScheduleReadError):
    """The file is not in the format its name says (no reader is tried further)."""
