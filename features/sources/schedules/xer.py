"""Primavera P6 XER files through the PyPI package ``xerparser``.

``read_xer(path)`` returns one ``Schedule`` per exported project in the file, or raises
``ScheduleReadError`` with a reason a planner can act on (a missing table, a record that
refers to an id not in the file, an unreadable encoding) instead of the library's traceback.
The text is decoded here (UTF-8, else Windows-1252, or Windows-1251 when the high bytes read
as Cyrillic words), not by the library, which would silently drop undecodable bytes.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path
from typing import Any

from features.sources.schedules.errors import NotASchedule, ScheduleReadError
from features.sources.schedules.model import Activity, ActivityKind, ActivityStatus, Link, Schedule

__all__ = ["decode_xer", "read_xer", "schedules_from_xer", "xer_charset"]

_KINDS: dict[str, ActivityKind] = {
    "TT_Task": "task",
    "TT_Rsrc": "task",
    "TT_Mile": "milestone",
    "TT_FinMile": "milestone",
    "TT_LOE": "level_of_effort",
    "TT_WBS": "summary",
}
_STATUS: dict[str, ActivityStatus] = {
    "TK_NotStart": "not_started",
    "TK_Active": "in_progress",
    "TK_Complete": "completed",
}
CONSTRAINTS: dict[str, str] = {
    "CS_MSO": "must_start_on",
    "CS_MEO": "must_finish_on",
    "CS_MSOB": "start_no_later_than",
    "CS_MEOB": "finish_no_later_than",
    "CS_MSOA": "start_no_earlier_than",
    "CS_MEOA": "finish_no_earlier_than",
    "CS_MANDSTART": "mandatory_start",
    "CS_MANDFIN": "mandatory_finish",
    "CS_ALAP": "as_late_as_possible",
}
"""P6 constraint codes in our words (``model.HARD_CONSTRAINTS`` names the hard ones)."""
_LINKS = {"PR_FS": "FS", "PR_SS": "SS", "PR_FF": "FF", "PR_SF": "SF"}
_CYRILLIC_RUN = re.compile(r"[\u00c0-\u00ff]{3,}")
_LATIN_HIGH = re.compile(r"[\u00c0-\u00ff]")


def xer_charset(data: bytes) -> str:
    """The code page of XER bytes: ``UTF-8``, ``windows-1251`` or ``windows-1252``.

    P6 writes XER in the database's Windows code page without saying which; text whose
    accented letters mostly come in runs (``Ïðîåêò``) is Cyrillic read with the wrong page.
    """
    try:
        data.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        pass
    latin = data.decode("cp1252", errors="replace")
    high = len(_LATIN_HIGH.findall(latin))
    in_runs = sum(len(m) for m in _CYRILLIC_RUN.findall(latin))
    if high and in_runs / high > 0.5:
        return "windows-1251"
    return "windows-1252"


def decode_xer(data: bytes) -> str:
    """XER bytes as text in the code page ``xer_charset`` finds (a UTF-8 BOM dropped)."""
    charset = xer_charset(data)
    if charset == "UTF-8":
        return data.decode("utf-8-sig")
    return data.decode(charset, errors="replace")


def _reason(exc: Exception) -> str:
    """What a xerparser failure means, in a planner's words."""
    from xerparser import CorruptXerFile

    if isinstance(exc, CorruptXerFile):
        return "the XER file is incomplete: " + "; ".join(e.strip().rstrip(".") for e in exc.errors)
    if isinstance(exc, KeyError):
        where = {f.name for f in traceback.extract_tb(exc.__traceback__)}
        key = exc.args[0] if exc.args else "?"
        for func, what in (
            ("_get_projects", f"project {key} has no SCHEDOPTIONS record"),
            ("_set_task", f"an activity refers to a calendar or WBS element ({key}) not in it"),
            ("_set_taskpred", f"a relationship refers to an activity ({key}) not in it"),
            ("_set_taskrsrc", f"a resource assignment refers to an id ({key}) not in it"),
            ("_set_rsrc_rates", f"a resource rate refers to a resource ({key}) not in it"),
            ("_set_proj_wbs", f"a WBS element refers to a project ({key}) not exported"),
        ):
            if func in where:
                return f"the file refers to records it does not contain: {what}"
        return f"the file refers to a record it does not contain (id {key})"
    if isinstance(exc, ValueError) and "invalid XER" in str(exc):
        return "not an XER file (it does not start with ERMHDR)"
    return f"{type(exc).__name__}: {exc}"


def read_xer(path: Path) -> list[Schedule]:
    """Every exported project of an XER file, at the file's data date."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ScheduleReadError(f"cannot read the file: {exc.strerror or exc}") from None
    text = decode_xer(data)
    if not text.startswith("ERMHDR"):
        raise NotASchedule("not an XER file (it does not start with ERMHDR)")
    from xerparser import Xer

    try:
        xer = Xer(text)
        return schedules_from_xer(xer, Path(path).name)
    except ScheduleReadError:
        raise
    except Exception as exc:  # the library raises many kinds; each becomes a reason
        raise ScheduleReadError(f"xerparser could not read it: {_reason(exc)}") from None


def _days(hours: float | None, per_day: float) -> float | None:
    return None if hours is None else hours / per_day


def _hours_per_day(task: Any) -> float:
    cal = getattr(task, "calendar", None)
    value = getattr(cal, "day_hr_cnt", None)
    return float(value) if value else 8.0


def _activity(task: Any) -> Activity:
    per_day = _hours_per_day(task)
    resources = list(task.resources.values())
    constraints = tuple(
        CONSTRAINTS.get(c, c) for c in (task.cstr_type, task.cstr_type2) if c is not None
    )
    tf = _days(task.total_float_hr_cnt, per_day)
    status = _STATUS[task.status.name]
    try:
        pct: float | None = float(task.percent_complete) * 100.0
    except (ValueError, ZeroDivisionError, TypeError):
        pct = None
    if status == "completed":
        pct = 100.0
    return Activity(
        uid=str(task.uid),
        code=str(task.task_code),
        name=str(task.name),
        kind=_KINDS.get(task.type.name, "task"),
        status=status,
        percent_complete=pct,
        start=task.act_start_date or task.restart_date or task.early_start_date,
        finish=task.act_end_date or task.reend_date or task.early_end_date,
        actual_start=task.act_start_date,
        actual_finish=task.act_end_date,
        baseline_start=task.target_start_date,
        baseline_finish=task.target_end_date,
        original_duration=_days(task.target_drtn_hr_cnt, per_day),
        remaining_duration=0.0
        if status == "completed"
        else _days(task.remain_drtn_hr_cnt, per_day),
        total_float=tf,
        constraints=constraints,
        budget_cost=sum(r.target_cost for r in resources) if resources else None,
        actual_cost=sum(r.act_reg_cost + r.act_ot_cost for r in resources) if resources else None,
        remaining_cost=sum(r.remain_cost for r in resources) if resources else None,
        has_resources=bool(resources),
        critical=None if tf is None else tf <= 0,
    )


def schedules_from_xer(xer: Any, source: str) -> list[Schedule]:
    """Schedules from a parsed ``xerparser.Xer`` (one per exported project)."""
    currency = getattr(xer.export_info, "currency", None) or None
    out: list[Schedule] = []
    for proj in xer.projects.values():
        activities = [_activity(t) for t in proj.tasks]
        by_uid = {a.uid: a for a in activities}
        per_day = {str(t.uid): _hours_per_day(t) for t in proj.tasks}
        links = [
            Link(
                predecessor=str(r.pred_task_id),
                successor=str(r.task_id),
                type=_LINKS.get(r.pred_type, "FS"),  # type: ignore[arg-type]
                lag=r.lag_hr_cnt / per_day.get(str(r.task_id), 8.0),
            )
            for r in proj.relationships
            if str(r.pred_task_id) in by_uid and str(r.task_id) in by_uid
        ]
        finishes = [a.finish for a in activities if a.finish is not None]
        planned = [a.baseline_finish for a in activities if a.baseline_finish is not None]
        try:
            name = proj.name
        except (UnboundLocalError, ValueError):
            name = ""
        out.append(
            Schedule(
                project_id=str(proj.short_name),
                name=str(name or proj.short_name),
                data_date=proj.data_date,
                source=source,
                file_format="P6 XER",
                planned_start=proj.plan_start_date,
                scheduled_finish=max(finishes) if finishes else proj.finish_date,
                baseline_finish=max(planned) if planned else None,
                must_finish_by=proj.must_finish_date,
                currency=currency,
                activities=activities,
                links=links,
                notes=["baseline: P6 planned dates and budgeted costs"],
            )
        )
    return out
