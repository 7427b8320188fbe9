"""Schedule quality after the DCMA 14-point assessment, on a reader-neutral ``Schedule``.

Population: "normal" activities (tasks and milestones; not level-of-effort, not summaries).
Checks 1, 5-8 and 10 count incomplete activities; 2-4 count relationships whose successor is
an incomplete normal activity; 9, 11 and 14 look at every normal activity against the data
date. Durations and float are in working days. Shares are 0-1; the threshold of each check is
the DCMA guideline (shares below it pass, except relationship types, CPLI and BEI where
higher passes).

Check 12 (critical path test) runs a forward pass over the remaining work from the data date
(durations, FS/SS/FF/SF links with lags; constraints and calendars ignored), delays the
file's most critical incomplete activity (lowest total float) by 600 working days and passes
when the project's finish activity (the open activity finishing last in the file) moves by
at least 90% of that: the critical path is driven by logic, not by a constraint or a
dangling activity.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from features.sources.schedules.model import HARD_CONSTRAINTS, Activity, Link, Schedule

__all__ = [
    "CHECKS",
    "DcmaCheck",
    "DcmaReport",
    "assess",
    "format_value",
    "forward_finish",
    "forward_pass",
    "threshold_text",
    "verdict",
]

HIGH_FLOAT_DAYS = 44.0
HIGH_DURATION_DAYS = 44.0
CPT_DELAY_DAYS = 600.0
CPT_PASS_SHARE = 0.9
_EPS = 1e-6
T = TypeVar("T")


@dataclass(frozen=True)
class CheckSpec:
    number: int
    key: str
    """Snapshot column name (``dcma_<key>``)."""
    title: str
    unit: str
    """``share`` (0-1), ``count``, ``ratio`` or ``pass`` (1 pass / 0 fail)."""
    threshold: float
    higher_is_better: bool
    meaning: str


CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(1, "missing_logic", "Logic", "share", 0.05, False,
              "Share of incomplete activities without a predecessor or a successor."),
    CheckSpec(2, "leads", "Leads", "share", 0.0, False,
              "Share of relationships with a negative lag (lead)."),
    CheckSpec(3, "lags", "Lags", "share", 0.05, False,
              "Share of relationships with a positive lag."),
    CheckSpec(4, "fs_relationships", "Relationship types", "share", 0.90, True,
              "Share of relationships that are finish-to-start."),
    CheckSpec(5, "hard_constraints", "Hard constraints", "share", 0.05, False,
              "Share of incomplete activities with a hard date constraint."),
    CheckSpec(6, "high_float", "High float", "share", 0.05, False,
              f"Share of incomplete activities with total float over {HIGH_FLOAT_DAYS:.0f} days."),
    CheckSpec(7, "negative_float", "Negative float", "share", 0.0, False,
              "Share of incomplete activities with negative total float."),
    CheckSpec(8, "high_duration", "High duration", "share", 0.05, False,
              f"Share of incomplete tasks planned longer than {HIGH_DURATION_DAYS:.0f} days."),
    CheckSpec(9, "invalid_dates", "Invalid dates", "count", 0.0, False,
              "Activities with forecast dates before the data date or actual dates after it."),
    CheckSpec(10, "no_resources", "Resources", "share", 0.0, False,
              "Share of incomplete tasks with duration but no resource or cost assigned."),
    CheckSpec(11, "missed_tasks", "Missed tasks", "share", 0.05, False,
              "Share of activities due by the data date (baseline) that finished late or not."),
    CheckSpec(12, "critical_path_test", "Critical path test", "pass", 1.0, True,
              "1 when delaying the most critical activity delays the project finish as much."),
    CheckSpec(13, "cpli", "CPLI", "ratio", 0.95, True,
              "Critical path length index: (remaining duration + project float) / remaining."),
    CheckSpec(14, "bei", "BEI", "ratio", 0.95, True,
              "Baseline execution index: activities completed / activities due by now."),
)  # fmt: skip


def format_value(value: float | None, unit: str) -> str:
    """A check's value as people read it: ``12.5%``, ``3``, ``pass`` / ``fail``, ``0.97``;
    ``n/a`` when it could not be computed."""
    if value is None or value != value:  # None or NaN
        return "n/a"
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit == "count":
        return f"{value:.0f}"
    if unit == "pass":
        return "pass" if value >= 0.5 else "fail"
    return f"{value:.2f}"


def threshold_text(spec: CheckSpec) -> str:
    """The DCMA guideline in words: ``≤ 5.0%``, ``≥ 0.95``, ``must pass``."""
    if spec.unit == "pass":
        return "must pass"
    sign = "≥" if spec.higher_is_better else "≤"
    return f"{sign} {format_value(spec.threshold, spec.unit)}"


def verdict(spec: CheckSpec, value: float | None) -> bool | None:
    """True when ``value`` meets the guideline, False when not, None when there is no value."""
    if value is None or value != value:
        return None
    if spec.higher_is_better:
        return value >= spec.threshold - _EPS
    return value <= spec.threshold + _EPS


@dataclass(frozen=True)
class DcmaCheck:
    spec: CheckSpec
    value: float | None
    flagged: int | None = None
    population: int | None = None
    note: str = ""

    @property
    def passed(self) -> bool | None:
        return verdict(self.spec, self.value)


@dataclass(frozen=True)
class DcmaReport:
    project_id: str
    data_date: datetime
    checks: tuple[DcmaCheck, ...]
    activities: int
    incomplete: int
    relationships: int

    def values(self) -> dict[str, float | None]:
        """``{"dcma_<key>": value}`` for every check (None when it cannot be computed)."""
        return {f"dcma_{c.spec.key}": c.value for c in self.checks}


def _share(flagged: int, population: int) -> float | None:
    return flagged / population if population else None


def _count(
    spec: CheckSpec, items: Sequence[T], test: Callable[[T], bool], note: str = ""
) -> DcmaCheck:
    flagged = sum(1 for x in items if test(x))
    return DcmaCheck(spec, _share(flagged, len(items)), flagged, len(items), note)


def forward_pass(
    activities: Sequence[Activity], links: Sequence[Link], extra: dict[str, float] | None = None
) -> dict[str, float] | None:
    """Early finish (days after the data date) of every activity; None when logic loops.

    Completed activities finish at 0; others last their remaining duration (plus ``extra``
    days for the given uids).
    """
    extra = extra or {}
    dur: dict[str, float] = {}
    for a in activities:
        d = 0.0 if a.is_complete else float(a.remaining_duration or 0.0)
        dur[a.uid] = max(d, 0.0) + extra.get(a.uid, 0.0)
    preds: dict[str, list[Link]] = defaultdict(list)
    succs: dict[str, list[str]] = defaultdict(list)
    indeg = dict.fromkeys(dur, 0)
    for link in links:
        if link.predecessor in dur and link.successor in dur:
            preds[link.successor].append(link)
            succs[link.predecessor].append(link.successor)
            indeg[link.successor] += 1
    queue = deque(u for u, n in indeg.items() if n == 0)
    es: dict[str, float] = {}
    ef: dict[str, float] = {}
    while queue:
        u = queue.popleft()
        d = dur[u]
        start = 0.0
        for link in preds[u]:
            p = link.predecessor
            if link.type == "FS":
                start = max(start, ef[p] + link.lag)
            elif link.type == "SS":
                start = max(start, es[p] + link.lag)
            elif link.type == "FF":
                start = max(start, ef[p] + link.lag - d)
            else:  # SF
                start = max(start, es[p] + link.lag - d)
        es[u], ef[u] = start, start + d
        for s in succs[u]:
            indeg[s] -= 1
            if indeg[s] == 0:
                queue.append(s)
    return ef if len(ef) == len(dur) else None


def forward_finish(
    activities: Sequence[Activity], links: Sequence[Link], extra: dict[str, float] | None = None
) -> float | None:
    """Latest early finish of the remaining work (days after the data date); None on a loop."""
    ef = forward_pass(activities, links, extra)
    return None if ef is None else max(ef.values(), default=0.0)


def _critical_path_test(schedule: Schedule, spec: CheckSpec) -> DcmaCheck:
    work = [a for a in schedule.activities if a.kind != "summary"]
    open_normal = [a for a in work if a.is_normal and not a.is_complete]
    candidates = [a for a in open_normal if a.total_float is not None]
    if not candidates:
        return DcmaCheck(spec, None, note="no incomplete activity with total float")
    far = datetime.max
    near = datetime.min
    target = min(candidates, key=lambda a: (a.total_float, a.start or far, a.finish or far, a.uid))
    end = max(open_normal, key=lambda a: (a.finish or near, a.uid))
    base = forward_pass(work, schedule.links)
    delayed = forward_pass(work, schedule.links, {target.uid: CPT_DELAY_DAYS})
    if base is None or delayed is None:
        return DcmaCheck(spec, 0.0, note="the logic has a loop")
    moved = delayed[end.uid] - base[end.uid]
    ok = moved >= CPT_PASS_SHARE * CPT_DELAY_DAYS
    note = (
        f"delayed {target.code or target.uid} by {CPT_DELAY_DAYS:.0f} days; "
        f"{end.code or end.uid} (the finish) moved {moved:.0f}"
    )
    return DcmaCheck(spec, 1.0 if ok else 0.0, note=note)


def assess(schedule: Schedule) -> DcmaReport:
    """The 14 DCMA checks of one schedule update (values None when they do not apply)."""
    spec = {s.key: s for s in CHECKS}
    dd = schedule.data_date
    normal = [a for a in schedule.activities if a.is_normal]
    open_ = [a for a in normal if not a.is_complete]
    open_tasks = [a for a in open_ if a.kind == "task"]
    has_pred = {link.successor for link in schedule.links}
    has_succ = {link.predecessor for link in schedule.links}
    open_uids = {a.uid for a in open_}
    rels = [link for link in schedule.links if link.successor in open_uids]

    checks: list[DcmaCheck] = []
    checks.append(
        _count(
            spec["missing_logic"],
            open_,
            lambda a: a.uid not in has_pred or a.uid not in has_succ,
        )
    )
    checks.append(_count(spec["leads"], rels, lambda r: r.lag < -_EPS))
    checks.append(_count(spec["lags"], rels, lambda r: r.lag > _EPS))
    checks.append(_count(spec["fs_relationships"], rels, lambda r: r.type == "FS"))
    checks.append(
        _count(
            spec["hard_constraints"],
            open_,
            lambda a: any(c in HARD_CONSTRAINTS for c in a.constraints),
        )
    )
    with_float = [a for a in open_ if a.total_float is not None]
    checks.append(
        _count(spec["high_float"], with_float, lambda a: (a.total_float or 0.0) > HIGH_FLOAT_DAYS)
    )
    checks.append(
        _count(spec["negative_float"], with_float, lambda a: (a.total_float or 0.0) < -_EPS)
    )
    with_duration = [a for a in open_tasks if a.original_duration is not None]
    checks.append(
        _count(
            spec["high_duration"],
            with_duration,
            lambda a: (a.original_duration or 0.0) > HIGH_DURATION_DAYS,
        )
    )
    invalid = [a for a in normal if _invalid_dates(a, dd)]
    checks.append(
        DcmaCheck(
            spec["invalid_dates"],
            float(len(invalid)),
            len(invalid),
            len(normal),
            ", ".join(a.code or a.uid for a in invalid[:5]),
        )
    )
    sized = [a for a in open_tasks if (a.original_duration or 0.0) > 0]
    checks.append(
        _count(
            spec["no_resources"],
            sized,
            lambda a: not a.has_resources and not (a.budget_cost or 0.0) > 0,
        )
    )
    due = [a for a in normal if a.baseline_finish is not None and a.baseline_finish <= dd]
    checks.append(_count(spec["missed_tasks"], due, _missed))
    checks.append(_critical_path_test(schedule, spec["critical_path_test"]))
    checks.append(_cpli(schedule, spec["cpli"]))
    done = sum(1 for a in normal if a.is_complete)
    checks.append(DcmaCheck(spec["bei"], done / len(due) if due else None, done, len(due)))
    return DcmaReport(
        project_id=schedule.project_id,
        data_date=dd,
        checks=tuple(checks),
        activities=len(normal),
        incomplete=len(open_),
        relationships=len(schedule.links),
    )


def _invalid_dates(a: Activity, dd: datetime) -> bool:
    if a.actual_start is not None and a.actual_start > dd:
        return True
    if a.actual_finish is not None and a.actual_finish > dd:
        return True
    if a.actual_start is None and a.start is not None and a.start < dd:
        return True
    return a.actual_finish is None and a.finish is not None and a.finish < dd


def _missed(a: Activity) -> bool:
    assert a.baseline_finish is not None
    return a.actual_finish is None or a.actual_finish > a.baseline_finish


def _cpli(schedule: Schedule, spec: CheckSpec) -> DcmaCheck:
    finish = schedule.scheduled_finish
    target = schedule.must_finish_by or schedule.baseline_finish
    if finish is None or target is None:
        return DcmaCheck(spec, None, note="no forecast or baseline finish")
    length = float((finish.date() - schedule.data_date.date()).days)
    if length < 1:
        return DcmaCheck(spec, None, note="no remaining critical path")
    total_float = float((target.date() - finish.date()).days)
    return DcmaCheck(spec, (length + total_float) / length)
