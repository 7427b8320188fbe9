"""File import: read (``tabular``), validate (``risk_model.validation``), store.

The store write is one transaction: a rejected import writes nothing and a store error rolls
the whole import back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from features.sources.intake import Survey, read_survey
from features.sources.tabular import read_table, table_name
from risk_model.exceptions import Problem, ValidationFailed
from risk_model.store import ImportSummary, Store
from risk_model.validation import validate_tables

__all__ = ["import_files", "import_paths", "validate_files"]


def validate_files(
    projects_path: Path | None = None,
    snapshots_path: Path | None = None,
    *,
    projects_sheet: str | None = None,
    snapshots_sheet: str | None = None,
    known_project_ids: frozenset[str] = frozenset(),
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Read and validate the files (a dry run); the canonical frames or ``ValidationFailed``.

    Snapshots may belong to projects in the projects file or in ``known_project_ids``. When a
    file cannot be read at all, the read problems of every file are raised together (the
    contents are not checked, since a missing projects table would make every snapshot look
    orphaned).
    """
    if projects_path is None and snapshots_path is None:
        raise ValidationFailed([Problem("(none)", None, None, "no file was given to import")])
    raw: list[pd.DataFrame | None] = []
    names: list[str] = []
    problems: list[Problem] = []
    for path, sheet, default in (
        (projects_path, projects_sheet, "projects.csv"),
        (snapshots_path, snapshots_sheet, "snapshots.csv"),
    ):
        names.append(table_name(Path(path), sheet) if path is not None else default)
        if path is None:
            raw.append(None)
            continue
        try:
            raw.append(read_table(Path(path), sheet))
        except ValidationFailed as exc:
            problems += exc.problems
            raw.append(None)
    if problems:
        raise ValidationFailed(problems)
    return validate_tables(
        raw[0],
        raw[1],
        projects_name=names[0],
        snapshots_name=names[1],
        known_project_ids=known_project_ids,
    )


def import_files(
    store: Store,
    projects_path: Path | None = None,
    snapshots_path: Path | None = None,
    *,
    projects_sheet: str | None = None,
    snapshots_sheet: str | None = None,
) -> ImportSummary:
    """Read, validate against the stored project ids, and upsert in one transaction.

    Creates the store's tables when missing. Raises ``ValidationFailed`` (nothing written)
    when any file has a problem.
    """
    store.init()
    projects, snapshots = validate_files(
        projects_path,
        snapshots_path,
        projects_sheet=projects_sheet,
        snapshots_sheet=snapshots_sheet,
        known_project_ids=frozenset(store.project_ids()),
    )
    return store.import_frames(projects, snapshots)


def import_paths(
    store: Store,
    found: Survey,
    *,
    skip_bad: bool = False,
    dry_run: bool = False,
    notify: Callable[[str], None] | None = None,
) -> ImportSummary | None:
    """Validate everything ``survey`` found against the stored ids, then upsert it at once.

    Returns None on a dry run. Raises ``ValidationFailed`` (nothing written) on any problem.
    """
    store.init()
    projects, snapshots = read_survey(
        found, known_project_ids=frozenset(store.project_ids()), skip_bad=skip_bad, notify=notify
    )
    if dry_run:
        return None
    return store.import_frames(projects, snapshots)
