"""Schedule files (Primavera P6 XER / PMXML, Microsoft Project MSPDI / .mpp) as portfolio history.

Each file is a schedule update at its data date; each project in it becomes one snapshot row
(``signals.snapshot_row``: EVM figures, forecast finish, DCMA schedule-quality figures) and
the updates of one project, ordered by data date, become its snapshot history with one
project row (``signals.project_row``).

Contract (used by ``pmo-risk import``): ``SCHEDULE_SUFFIXES``, ``is_schedule_file(path)``,
``load_schedule_history(paths, skip_bad=False) -> ScheduleHistory``. A file that cannot be
read is a ``Problem`` naming the file and the reason; unless ``skip_bad`` is set, any such
problem rejects the whole load (``ValidationFailed``) so nothing of it is imported.

Readers: XER through ``xerparser`` (a core dependency); when it cannot read a file and MPXJ
is installed (``pip install 'pmo-risk[msproject]'`` and Java 17+), MPXJ tries; PMXML, MSPDI
and .mpp through MPXJ only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pandas as pd

from features.sources.schedules.errors import NotASchedule, ReaderUnavailable, ScheduleReadError
from features.sources.schedules.model import Schedule
from features.sources.schedules.signals import project_row, snapshot_row
from risk_model.exceptions import Problem, ValidationFailed
from risk_model.schemas import conform_projects, conform_snapshots

__all__ = [
    "SCHEDULE_SUFFIXES",
    "ScheduleHistory",
    "is_schedule_file",
    "load_schedule_history",
    "read_schedule",
    "schedule_format",
]

SCHEDULE_SUFFIXES: frozenset[str] = frozenset({".xer", ".xml", ".mpp"})
"""File name endings a schedule can have (``.xml`` only when ``is_schedule_file`` says so)."""

_SNIFF_BYTES = 4096


def schedule_format(path: Path) -> str | None:
    """``P6 XER``, ``P6 PMXML``, ``MSPDI``, ``MPP``, or None when the file is not a schedule.

    ``.xml`` is told apart by its root element: MSPDI ``<Project xmlns=...microsoft...>``,
    PMXML ``<APIBusinessObjects>``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xer":
        return "P6 XER"
    if suffix == ".mpp":
        return "MPP"
    if suffix != ".xml":
        return None
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return None
    text = head.decode("utf-8", errors="ignore")
    if "<APIBusinessObjects" in text:
        return "P6 PMXML"
    if "schemas.microsoft.com/project" in text:
        return "MSPDI"
    return None


def is_schedule_file(path: Path) -> bool:
    """Whether ``path`` is a schedule file this package reads (content sniffed for ``.xml``)."""
    return Path(path).is_file() and schedule_format(Path(path)) is not None


def read_schedule(path: Path) -> list[Schedule]:
    """Every project in one schedule file, or ``ScheduleReadError`` saying why not."""
    path = Path(path)
    fmt = schedule_format(path)
    if fmt is None:
        raise ScheduleReadError("not a schedule file (expected .xer, .mpp, or MSPDI / PMXML .xml)")
    if fmt == "P6 XER":
        from features.sources.schedules.xer import read_xer

        try:
            return read_xer(path)
        except NotASchedule:
            raise
        except ScheduleReadError as first:
            return _xer_fallback(path, first)
    from features.sources.schedules.mpxj_reader import read_with_mpxj

    return read_with_mpxj(path, fmt)


def _xer_fallback(path: Path, first: ScheduleReadError) -> list[Schedule]:
    """MPXJ's reading of an XER that xerparser rejected, when MPXJ is installed."""
    from features.sources.schedules.mpxj_reader import read_with_mpxj

    try:
        schedules = read_with_mpxj(path, "P6 XER")
    except ReaderUnavailable:
        raise ScheduleReadError(
            f"{first} (MPXJ reads more XER files: pip install 'pmo-risk[msproject]', "
            "with Java 17 or later)"
        ) from None
    except ScheduleReadError as second:
        reason = str(second)
        if not reason.startswith("MPXJ"):
            reason = f"MPXJ could not use it either: {reason}"
        raise ScheduleReadError(f"{first}; {reason}") from None
    for s in schedules:
        s.notes.insert(0, f"read with MPXJ ({first})")
    return schedules


@dataclass
class ScheduleHistory:
    """What a set of schedule files holds, as canonical frames (``risk_model.schemas``)."""

    projects: pd.DataFrame
    snapshots: pd.DataFrame
    found: list[str] = field(default_factory=list)
    """Human-readable lines: one per file read, one per project history, one per skip."""
    schedules: list[Schedule] = field(default_factory=list)
    """Every update read, ordered by (project, data date)."""
    skipped: list[Problem] = field(default_factory=list)
    """Files left out with ``skip_bad=True``."""


def _expand(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.suffix.lower() in SCHEDULE_SUFFIXES)
            found = [p for p in inside if is_schedule_file(p)]
            if not found:
                problems.append(Problem(path.name, None, None, "no schedule files in folder"))
            files += found
        elif not path.exists():
            problems.append(Problem(path.name, None, None, "no such file"))
        else:
            files.append(path)
    return files, problems


def _found_line(s: Schedule) -> str:
    n = sum(1 for a in s.activities if a.kind != "summary")
    costs = "cost-loaded" if any((a.budget_cost or 0) > 0 for a in s.activities) else "no costs"
    return (
        f"{s.source}: {s.file_format}, project {s.project_id!r} ({s.name}), data date "
        f"{s.data_date:%Y-%m-%d}, {n} activities, {len(s.links)} relationships, {costs}"
    )


def load_schedule_history(paths: Sequence[Path], *, skip_bad: bool = False) -> ScheduleHistory:
    """Read schedule files and folders of them into projects and snapshots frames.

    Every project found becomes one project row; each of its updates (files) one snapshot
    at the update's data date, ordered by data date. Raises ``ValidationFailed`` with one
    ``Problem`` per unreadable file (and per project with two updates on the same data
    date), unless ``skip_bad`` is true, in which case unreadable files are left out and
    listed in ``skipped`` and ``found``.
    """
    files, problems = _expand(paths)
    read: list[Schedule] = []
    found: list[str] = []
    skipped: list[Problem] = []
    for path in files:
        try:
            schedules = read_schedule(path)
        except ScheduleReadError as exc:
            problem = Problem(path.name, None, None, str(exc))
            if skip_bad:
                skipped.append(problem)
                found.append(f"skipped {problem}")
            else:
                problems.append(problem)
            continue
        if not schedules:
            problems.append(Problem(path.name, None, None, "the file holds no project"))
        for s in schedules:
            found.append(_found_line(s))
        read += schedules
    by_project: dict[str, list[Schedule]] = defaultdict(list)
    for s in read:
        by_project[s.project_id].append(s)
    for pid, updates in by_project.items():
        updates.sort(key=lambda s: s.data_date)
        for a, b in pairwise(updates):
            if a.data_date.date() == b.data_date.date():
                problems.append(
                    Problem(
                        b.source,
                        None,
                        None,
                        f"project {pid!r} has two updates with data date "
                        f"{b.data_date:%Y-%m-%d} ({a.source} and {b.source})",
                    )
                )
    if problems:
        raise ValidationFailed(problems)
    if not read:
        raise ValidationFailed(
            [*skipped] or [Problem("(none)", None, None, "no schedule file was given")]
        )
    project_rows = []
    snapshot_rows = []
    ordered: list[Schedule] = []
    for pid in sorted(by_project):
        updates = by_project[pid]
        ordered += updates
        project_rows.append(project_row(updates))
        snapshot_rows += [snapshot_row(s) for s in updates]
        span = (
            f"{updates[0].data_date:%Y-%m-%d} to {updates[-1].data_date:%Y-%m-%d}"
            if len(updates) > 1
            else f"{updates[0].data_date:%Y-%m-%d}"
        )
        found.append(f"project {pid!r}: {len(updates)} update(s), {span}")
    return ScheduleHistory(
        projects=conform_projects(pd.DataFrame(project_rows)),
        snapshots=conform_snapshots(pd.DataFrame(snapshot_rows)),
        found=found,
        schedules=ordered,
        skipped=skipped,
    )
