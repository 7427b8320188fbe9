"""Schedules through MPXJ (Java, via JPype): MSPDI XML, .mpp, PMXML, and XER as a fallback.

Optional: ``pip install 'pmo-risk[msproject]'`` (the ``mpxj`` and ``JPype1`` packages) and a
Java 17+ runtime. When either is missing, ``ReaderUnavailable`` says what to install. The
Java virtual machine starts once per process, on the first file that needs it.

Field choices: P6 percent complete follows the activity's percent-complete type (physical,
duration or units); MS Project's is the task's % complete. Baseline dates and cost are the
file's baseline when it has one, else P6 planned dates and costs (MS Project: the current
cost). The data date is the file's status date; when there is none, the latest actual date
in the file, else the project start (noted in ``Schedule.notes``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from features.sources.schedules.errors import ReaderUnavailable, ScheduleReadError
from features.sources.schedules.model import Activity, ActivityKind, ActivityStatus, Link, Schedule

__all__ = ["mpxj_unavailable_reason", "read_with_mpxj"]

INSTALL_HINT = "pip install 'pmo-risk[msproject]' and a Java 17+ runtime"
_state: dict[str, Any] = {}


def mpxj_unavailable_reason() -> str | None:
    """Why MPXJ cannot be used here (None when it can)."""
    try:
        _jvm()
    except ReaderUnavailable as exc:
        return str(exc)
    return None


def _jvm() -> Any:
    """Start the JVM with MPXJ on the class path once; the ``org.mpxj`` package."""
    if "org" in _state:
        return _state["org"]
    try:
        import jpype
        import mpxj  # noqa: F401  (puts the MPXJ jars on JPype's class path)
    except ImportError as exc:
        raise ReaderUnavailable(
            f"MPXJ is not installed ({exc.name} missing): {INSTALL_HINT}"
        ) from None
    if not jpype.isJVMStarted():
        try:
            jvm = jpype.getDefaultJVMPath()
        except Exception as exc:
            raise ReaderUnavailable(
                f"Java was not found ({exc}); MPXJ needs {INSTALL_HINT}"
            ) from None
        try:
            jpype.startJVM(jvm, "-Dlog4j2.statusLoggerLevel=OFF", "-Xss4m")
        except Exception as exc:  # pragma: no cover - depends on the local Java
            raise ReaderUnavailable(f"Java could not start: {exc}") from None
    import jpype.imports
    import org  # type: ignore[import-not-found]

    _state["org"] = org
    return org


def _dt(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime(
        int(value.getYear()),
        int(value.getMonthValue()),
        int(value.getDayOfMonth()),
        int(value.getHour()),
        int(value.getMinute()),
    )


def _num(value: Any) -> float | None:
    return None if value is None else float(value.doubleValue())


def _days(duration: Any, props: Any, org: Any) -> float | None:
    if duration is None:
        return None
    units = str(duration.getUnits().name())
    if "PERCENT" in units:
        return None
    try:
        return float(duration.convertUnits(org.mpxj.TimeUnit.DAYS, props).getDuration())
    except Exception:
        return None


_P6_KINDS: dict[str, ActivityKind] = {
    "LEVEL_OF_EFFORT": "level_of_effort",
    "WBS_SUMMARY": "summary",
    "START_MILESTONE": "milestone",
    "FINISH_MILESTONE": "milestone",
}


def _kind(task: Any) -> ActivityKind:
    if bool(task.getSummary()):
        return "summary"
    activity_type = task.getActivityType()
    if activity_type is not None and str(activity_type.name()) in _P6_KINDS:
        return _P6_KINDS[str(activity_type.name())]
    if bool(task.getMilestone()):
        return "milestone"
    return "task"


def _percent(task: Any, p6: bool) -> float | None:
    if p6:
        kind = task.getPercentCompleteType()
        name = str(kind.name()) if kind is not None else "DURATION"
        value = {
            "PHYSICAL": task.getPhysicalPercentComplete(),
            "UNITS": task.getPercentageWorkComplete(),
        }.get(name, task.getPercentageComplete())
    else:
        value = task.getPercentageComplete()
    return _num(value)


def _activity(task: Any, props: Any, org: Any, p6: bool) -> Activity:
    pct = _percent(task, p6)
    actual_start, actual_finish = _dt(task.getActualStart()), _dt(task.getActualFinish())
    status: ActivityStatus = "not_started"
    if actual_finish is not None or (pct is not None and pct >= 100.0):
        status = "completed"
    elif actual_start is not None or (pct or 0.0) > 0:
        status = "in_progress"
    baseline_start = _dt(task.getBaselineStart())
    baseline_finish = _dt(task.getBaselineFinish())
    budget = _num(task.getBaselineCost())
    if p6:
        baseline_start = baseline_start or _dt(task.getPlannedStart())
        baseline_finish = baseline_finish or _dt(task.getPlannedFinish())
        budget = budget if budget else _num(task.getPlannedCost())
    elif not budget:
        budget = _num(task.getCost())
    constraints = []
    for c in (task.getConstraintType(), task.getSecondaryConstraintType()):
        if c is not None and str(c.name()) != "AS_SOON_AS_POSSIBLE":
            constraints.append(str(c.name()).lower())
    tf = _days(task.getTotalSlack(), props, org)
    duration = (
        task.getBaselineDuration()
        or (task.getPlannedDuration() if p6 else None)
        or task.getDuration()
    )
    return Activity(
        uid=str(task.getUniqueID()),
        code=str(task.getActivityID() or task.getID() or task.getUniqueID()),
        name=str(task.getName() or ""),
        kind=_kind(task),
        status=status,
        percent_complete=100.0 if status == "completed" else pct,
        start=_dt(task.getStart()),
        finish=_dt(task.getFinish()),
        actual_start=actual_start,
        actual_finish=actual_finish,
        baseline_start=baseline_start,
        baseline_finish=baseline_finish,
        original_duration=_days(duration, props, org),
        remaining_duration=0.0
        if status == "completed"
        else _days(task.getRemainingDuration(), props, org),
        total_float=tf,
        constraints=tuple(constraints),
        budget_cost=budget,
        actual_cost=_num(task.getActualCost()),
        remaining_cost=_num(task.getRemainingCost()),
        has_resources=task.getResourceAssignments().size() > 0,
        critical=None if tf is None else tf <= 0,
    )


def _links(tasks: list[Any], props: Any, org: Any, uids: set[str]) -> list[Link]:
    links: list[Link] = []
    for task in tasks:
        for rel in task.getPredecessors():
            pred, succ = rel.getPredecessorTask(), rel.getSuccessorTask()
            if pred is None or succ is None:
                continue
            p, s = str(pred.getUniqueID()), str(succ.getUniqueID())
            if p not in uids or s not in uids:
                continue
            kind = str(rel.getType().name()) if rel.getType() is not None else "FS"
            lag = _days(rel.getLag(), props, org) or 0.0
            links.append(Link(p, s, kind if kind in ("FS", "SS", "FF", "SF") else "FS", lag))  # type: ignore[arg-type]
    return links


def _data_date(props: Any, activities: list[Activity]) -> tuple[datetime | None, str | None]:
    status = _dt(props.getStatusDate())
    if status is not None:
        return status, None
    actuals = [d for a in activities for d in (a.actual_start, a.actual_finish) if d]
    if actuals:
        return max(actuals), "no status date in the file: used its latest actual date"
    starts = [a.start for a in activities if a.start is not None]
    start = _dt(props.getStartDate()) or (min(starts) if starts else None)
    return start, "no status date and no progress in the file: used the project start"


def _schedule(project: Any, path: Path, fmt: str, org: Any) -> Schedule | None:
    props = project.getProjectProperties()
    p6 = fmt.startswith("P6")
    tasks = list(project.getTasks())
    activities = [_activity(t, props, org, p6) for t in tasks]
    work = [a for a in activities if a.kind != "summary"]
    if not work:
        return None
    uids = {a.uid for a in activities}
    data_date, note = _data_date(props, work)
    if data_date is None:
        return None
    title = props.getProjectTitle()
    name = props.getName()
    if p6:
        pid = str(props.getProjectID() or name or path.stem)
        label = str(name or pid)
    else:
        label = str(title or name or path.stem)
        if label.lower().endswith(".xml") or label.lower().endswith(".mpp"):
            label = label[:-4]
        pid = label
    finishes = [a.finish for a in work if a.finish is not None]
    baselines = [a.baseline_finish for a in work if a.baseline_finish is not None]
    starts = [d for a in work if (d := a.baseline_start or a.start) is not None]
    summary = next((t for t in tasks if int(t.getUniqueID()) == 0), None)
    ev = _num(summary.getBCWP()) if summary is not None and not p6 else None
    pv = _num(summary.getBCWS()) if summary is not None and not p6 else None
    notes = [] if note is None else [note]
    if not any(a.baseline_finish for a in work if a.baseline_finish) and not p6:
        notes.append("no baseline in the file")
    currency = props.getCurrencyCode()
    return Schedule(
        project_id=pid,
        name=label,
        data_date=data_date,
        source=path.name,
        file_format=fmt,
        planned_start=_dt(props.getPlannedStart())
        if p6
        else None or (min(starts) if starts else _dt(props.getStartDate())),
        scheduled_finish=max(finishes) if finishes else _dt(props.getFinishDate()),
        baseline_finish=max(baselines) if baselines else _dt(props.getBaselineFinish()),
        must_finish_by=_dt(props.getMustFinishBy()),
        currency=str(currency) if currency else None,
        activities=activities,
        links=_links(tasks, props, org, uids),
        planned_value=pv if pv else None,
        earned_value=ev if ev else None,
        notes=notes,
    )


def read_with_mpxj(path: Path, fmt: str) -> list[Schedule]:
    """Every project with activities in ``path`` (format ``fmt`` from ``schedule_format``)."""
    org = _jvm()
    path = Path(path)
    try:
        if fmt == "P6 XER":
            from java.nio.charset import Charset  # type: ignore[import-not-found]

            from features.sources.schedules.xer import xer_charset

            reader = org.mpxj.primavera.PrimaveraXERFileReader()
            reader.setCharset(Charset.forName(xer_charset(path.read_bytes())))
            projects = list(reader.readAll(str(path)))
        else:
            projects = list(org.mpxj.reader.UniversalProjectReader().readAll(str(path)))
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ScheduleReadError(f"MPXJ could not read it: {message}") from None
    if not projects:
        raise ScheduleReadError("MPXJ does not recognise the file format")
    out = [s for p in projects if (s := _schedule(p, path, fmt, org)) is not None]
    if not out:
        raise ScheduleReadError("the file holds no project with activities")
    return out
