"""NYC capital projects (NYC Open Data ``n7gv-k5yt``) as portfolio history.

The city's Capital Projects Dashboard publishes one row per project per report date: the
current phase, design start, budget forecast and forecast completion, and the budget and
schedule changes since the previous report (``Latest ...``) and in total (``Total ...``).
``load_nyc`` reads a local copy of the CSV export, or downloads it once into a cache, and
returns the canonical ``(projects, snapshots)`` frames, checked by
``risk_model.validation.validate_tables``.

Mapping
-------
* One snapshot per report date per project: ``as_of`` = ``Date Reported As Of``,
  ``phase`` = ``Current Phase``, ``forecast_cost`` = ``Budget Forecast``,
  ``forecast_finish`` = ``Forecast Completion``. A row whose phase, design start, budget
  forecast and forecast completion are all blank carries no report and is skipped (the 2019
  copy lists 105 such rows, 94 of them in its last report).
* ``project_id`` = ``PID``; ``name``, ``category`` and ``portfolio`` (= ``Managing Agency``)
  and the attributes ``borough``, ``client_agency`` and ``description`` are the first
  non-blank values of the project (they describe the project, not its progress; all are
  text, so none becomes a numeric model feature). ``currency`` is USD.
* Baseline, from the project's FIRST report only: ``baseline_budget`` = ``Budget Forecast``
  − ``Latest Budget Changes`` and ``baseline_finish`` = ``Forecast Completion`` −
  ``Latest Schedule Changes`` (days), a blank change counting as none. ``Total ... Changes``
  in the export hold the cumulative change as of the export date on EVERY row (the same value
  on each of a project's rows), so they are not point in time; the cumulative change as of
  the first report is that report's latest change, which is what is subtracted. This equals
  the dashboard's own original figures (last forecast − total change) for 310 of the 314
  projects with a known total budget change and 305 of 309 for the schedule, and the first
  report's forecast reproduces exactly from the baseline plus its latest change. No
  ``Total ... Changes`` value is read at all. When the first report has no budget forecast
  (or no forecast completion), the first report that has one is used.
* ``start_date`` = ``Design Start`` of the first report (a plan that may move later; later
  values are not used), else the date of the first report.
* A ``Budget Forecast`` of zero or less is not a budget (placeholders of 0 for some IT
  projects, one negative entry): it is read as missing, as is a baseline of zero or less.

Outcome
-------
A project is ``completed`` only when the data says so: the phase of its last report is a
completion phase (``Close-Out``, ``Closed``, ``Complete``, ``Completed``); then
``actual_finish`` / ``actual_cost`` are that report's forecast completion and budget
forecast. Every other project is ``active``, with no outcome, and so carries no label for the
outcome targets (schedule, cost). In the 2019 copy no project is completed: all 378 appear
in the last report (September 2019), the one close-out phase (PID 730, May 2019) is back in
construction in the next report, and the two projects whose forecast completion had passed
at their last report are still in construction (a stale date, not a finish). Filling in the
latest forecast as a "provisional" outcome would label projects with figures that are
themselves forecasts, observed for different lengths of time (a project observed for one
report looks on time), so models trained on it would learn the observation window. The
forward target (labels from forecast moves within a fully observed window) needs no
finished projects and is the honest target for this data set.

Reading rules: money may carry ``$`` and thousands separators; dates are the export's
``MM/DD/YYYY`` (with or without ``12:00:00 AM``) or any form ``risk_model.validation.parse_date``
reads; blank cells are missing. Text that is not a date or a number, a missing PID or report
date, a fractional number of days, or a missing column raises ``ValidationFailed`` naming
the file, row (spreadsheet row: header = 1) and the export's column name.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import urllib.request
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from features.sources.tabular import normalise_header, read_table
from risk_model.exceptions import Problem, SourceUnavailable, ValidationFailed
from risk_model.validation import parse_date, parse_number, validate_tables

__all__ = [
    "CACHE_NAME",
    "NYC_CSV_URL",
    "NYC_DATASET_ID",
    "cached_csv",
    "load_nyc",
    "nyc_frames",
]

NYC_DATASET_ID = "n7gv-k5yt"
NYC_CSV_URL = (
    f"https://data.cityofnewyork.us/api/views/{NYC_DATASET_ID}/rows.csv?accessType=DOWNLOAD"
)
CACHE_NAME = f"nyc_capital_projects_{NYC_DATASET_ID}.csv"
DOWNLOAD_TIMEOUT_SECONDS = 60.0
COMPLETION_PHASES = frozenset({"close-out", "closeout", "closed", "complete", "completed"})

# The export's column names (as a spreadsheet shows them), keyed by their normalised form.
REPORT_DATE = "Date Reported As Of"
PID = "PID"
PROJECT_NAME = "Project Name"
DESCRIPTION = "Description"
CATEGORY = "Category"
BOROUGH = "Borough"
MANAGING_AGENCY = "Managing Agency"
CLIENT_AGENCY = "Client Agency"
PHASE = "Current Phase"
DESIGN_START = "Design Start"
BUDGET_FORECAST = "Budget Forecast"
LATEST_BUDGET_CHANGE = "Latest Budget Changes"
FORECAST_COMPLETION = "Forecast Completion"
LATEST_SCHEDULE_CHANGE = "Latest Schedule Changes"

REQUIRED_COLUMNS: tuple[str, ...] = (
    REPORT_DATE,
    PID,
    BUDGET_FORECAST,
    LATEST_BUDGET_CHANGE,
    FORECAST_COMPLETION,
    LATEST_SCHEDULE_CHANGE,
)
OPTIONAL_COLUMNS: tuple[str, ...] = (
    PROJECT_NAME,
    DESCRIPTION,
    CATEGORY,
    BOROUGH,
    MANAGING_AGENCY,
    CLIENT_AGENCY,
    PHASE,
    DESIGN_START,
)
_DATES = (REPORT_DATE, DESIGN_START, FORECAST_COMPLETION)
_NUMBERS = (BUDGET_FORECAST, LATEST_BUDGET_CHANGE, LATEST_SCHEDULE_CHANGE)
_REPORT_FIELDS = (PHASE, DESIGN_START, BUDGET_FORECAST, FORECAST_COMPLETION)

# Canonical column -> the export column a validation problem in it points at.
_SOURCE_OF: dict[str, str] = {
    "project_id": PID,
    "name": PROJECT_NAME,
    "category": CATEGORY,
    "portfolio": MANAGING_AGENCY,
    "start_date": DESIGN_START,
    "baseline_budget": BUDGET_FORECAST,
    "baseline_finish": FORECAST_COMPLETION,
    "actual_finish": FORECAST_COMPLETION,
    "actual_cost": BUDGET_FORECAST,
    "borough": BOROUGH,
    "client_agency": CLIENT_AGENCY,
    "description": DESCRIPTION,
    "as_of": REPORT_DATE,
    "phase": PHASE,
    "forecast_cost": BUDGET_FORECAST,
    "forecast_finish": FORECAST_COMPLETION,
}

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


def load_nyc(
    path: Path | None = None,
    *,
    cache_dir: Path | None = None,
    url: str = NYC_CSV_URL,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical (projects, snapshots) of the NYC capital projects data (mapping: module doc).

    Reads ``path`` when given; otherwise the cached export in ``cache_dir``, downloading it
    from ``url`` first when there is none (``SourceUnavailable`` when that fails). Raises
    ``ValidationFailed`` naming file, row and column when the file holds bad values.
    ``progress`` receives one-line messages about what is being done.
    """
    say = progress or _quiet
    if path is None:
        if cache_dir is None:
            raise ValueError("load_nyc needs a file path or a cache directory")
        source = cached_csv(Path(cache_dir), url=url, progress=say)
    else:
        source = Path(path)
    say(f"reading {source.name}")
    raw = read_table(source)
    return nyc_frames(raw, name=source.name, progress=say)


def cached_csv(
    cache_dir: Path, *, url: str = NYC_CSV_URL, progress: Progress | None = None
) -> Path:
    """The cached export ``cache_dir / CACHE_NAME``, downloaded from ``url`` when absent.

    An existing cached file is used as is (``url`` is not contacted). A download is written
    to a temporary file and moved into place only when it looks like the export (its header
    names the required columns), so a failed or partial download leaves no cache behind.
    """
    say = progress or _quiet
    target = cache_dir / CACHE_NAME
    if target.is_file():
        say(f"using the cached copy {target}")
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    say(f"downloading NYC capital projects ({NYC_DATASET_ID}) from {url}")
    fd, tmp_name = tempfile.mkstemp(prefix=CACHE_NAME, suffix=".part", dir=cache_dir)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            size = _download(url, out, say)
        _check_header(tmp, url)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    say(f"saved {size / 1e6:.1f} MB to {target}")
    return target


def _download(url: str, out: BinaryIO, say: Progress) -> int:
    """Copy the body at ``url`` into ``out``; the byte count. ``SourceUnavailable`` on failure."""
    size = 0
    next_note = 5_000_000
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
            while chunk := response.read(1 << 16):
                out.write(chunk)
                size += len(chunk)
                if size >= next_note:
                    say(f"downloaded {size / 1e6:.0f} MB")
                    next_note += 5_000_000
    except (OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise SourceUnavailable(
            f"cannot download the NYC capital projects data from {url}: {reason}. "
            "There is no cached copy; download the CSV export by hand and pass its path "
            "(pmo-risk ... --file PATH)."
        ) from exc
    return size


def _check_header(path: Path, url: str) -> None:
    """``SourceUnavailable`` unless the file's first line names every required column."""
    with path.open("rb") as f:
        first = f.readline(1 << 16).decode("utf-8-sig", errors="replace")
    present = {normalise_header(h.strip('"')) for h in first.rstrip("\r\n").split(",")}
    missing = [c for c in REQUIRED_COLUMNS if normalise_header(c) not in present]
    if missing:
        raise SourceUnavailable(
            f"{url} did not return the NYC capital projects CSV export "
            f"(its first line lacks {', '.join(missing)}); nothing was cached."
        )


# --- the mapping (pure) ------------------------------------------------------------------


def nyc_frames(
    raw: pd.DataFrame, *, name: str = "nyc_capital_projects.csv", progress: Progress | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical (projects, snapshots) from the export read as text (``tabular.read_table``).

    ``raw`` has normalised headers and index = spreadsheet row − 2; ``name`` names the file
    in problems. The input is not mutated. Mapping and rules: the module docstring.
    """
    say = progress or _quiet
    typed = _typed(raw, name)
    has_report = typed[list(_REPORT_FIELDS)].notna().any(axis=1) | typed["bf_text"]
    reports = typed.loc[has_report].sort_values([PID, REPORT_DATE], kind="mergesort")
    skipped = int((~has_report).sum())
    if skipped:
        say(f"{skipped} rows carry no report (phase, budget and dates all blank): skipped")
    dropped = int((typed["bf_text"] & typed[BUDGET_FORECAST].isna()).sum())
    if dropped:
        say(f"{dropped} budget forecasts of zero or less read as missing")

    projects = _projects(typed, reports)
    snapshots = pd.DataFrame(
        {
            "project_id": reports[PID],
            "as_of": reports[REPORT_DATE],
            "phase": reports[PHASE],
            "forecast_cost": reports[BUDGET_FORECAST],
            "forecast_finish": reports[FORECAST_COMPLETION],
        },
        index=reports.index,
    )
    say(f"{len(projects)} projects, {len(snapshots)} reports: validating")
    try:
        out_projects, out_snapshots = validate_tables(
            _as_text(projects), _as_text(snapshots), projects_name=name, snapshots_name=name
        )
    except ValidationFailed as exc:
        raise ValidationFailed([_in_source_terms(p) for p in exc.problems]) from None
    assert out_projects is not None and out_snapshots is not None
    return out_projects, out_snapshots


def _typed(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    """Every used export column parsed (dates, numbers, stripped text); problems raised."""
    by_key = {normalise_header(c): c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)}
    missing = [c for c in REQUIRED_COLUMNS if normalise_header(c) not in raw.columns]
    if missing:
        raise ValidationFailed(
            [Problem(name, None, c, f"required column {c} is missing") for c in missing]
        )
    problems: list[Problem] = []
    out = pd.DataFrame(index=raw.index)
    for key, column in by_key.items():
        text = _text(raw[key]) if key in raw.columns else pd.Series(None, raw.index, object)
        if column in _DATES:
            out[column] = _parsed(text, parse_date, "a date", name, column, problems)
        elif column in _NUMBERS:
            out[column] = _parsed(text, parse_number, "a number", name, column, problems)
        else:
            out[column] = text
    for column in (PID, REPORT_DATE):
        for i in out.index[out[column].isna() & _text(raw[normalise_header(column)]).isna()]:
            problems.append(Problem(name, _row(i), column, f"{column} is missing"))
    days = out[LATEST_SCHEDULE_CHANGE]
    for i in days.index[days.notna() & (days % 1 != 0)]:
        problems.append(
            Problem(
                name,
                _row(i),
                LATEST_SCHEDULE_CHANGE,
                f"{LATEST_SCHEDULE_CHANGE} must be a whole number of days",
                str(raw.at[i, normalise_header(LATEST_SCHEDULE_CHANGE)]),
            )
        )
    if problems:
        raise ValidationFailed(sorted(problems, key=lambda p: p.row or 0))
    out["bf_text"] = out[BUDGET_FORECAST].notna()
    out[BUDGET_FORECAST] = out[BUDGET_FORECAST].where(out[BUDGET_FORECAST] > 0)
    return out


def _text(values: pd.Series) -> pd.Series:
    """Stripped text as ``object`` with None for blanks."""
    cleaned = [
        (str(v).strip() or None) if isinstance(v, str) else None
        for v in values.to_numpy(dtype=object)
    ]
    return pd.Series(np.array(cleaned, dtype=object), index=values.index, dtype="object")


def _parsed(
    text: pd.Series,
    parse: Callable[[str], object],
    what: str,
    name: str,
    column: str,
    problems: list[Problem],
) -> pd.Series:
    """``parse`` applied to each distinct present value; a problem per unparseable cell."""
    present = text.dropna()
    cache = {v: parse(v) for v in present.unique()}
    for i in present.index[[cache[v] is None for v in present]]:
        problems.append(Problem(name, _row(i), column, f"{text[i]!r} is not {what}", text[i]))
    values = present.map(cache)
    if what == "a date":
        out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
        good = values.dropna()
        out.loc[good.index] = pd.to_datetime(good.astype("object")).astype("datetime64[ns]")
        return out
    return pd.to_numeric(values, errors="coerce").reindex(text.index).astype("float64")


def _row(index: Hashable) -> int:
    return int(index) + 2  # type: ignore[call-overload]


def _first_with(reports: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per project, the first report (in date order) where ``column`` is present."""
    return reports.loc[reports[column].notna()].groupby(PID, sort=False).head(1).set_index(PID)


def _projects(typed: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    """One row per PID (order of first appearance), index = the row of its first report."""
    ordered = typed.sort_values([PID, REPORT_DATE], kind="mergesort")
    first_row = ordered.groupby(PID, sort=False).head(1).set_index(PID)
    ids = pd.Index(typed[PID].drop_duplicates(), name=PID)
    first_report = reports.groupby(PID, sort=False).head(1).set_index(PID).reindex(ids)
    last_report = reports.groupby(PID, sort=False).tail(1).set_index(PID).reindex(ids)

    budget_row = _first_with(reports, BUDGET_FORECAST).reindex(ids)
    budget = budget_row[BUDGET_FORECAST] - budget_row[LATEST_BUDGET_CHANGE].fillna(0.0)
    finish_row = _first_with(reports, FORECAST_COMPLETION).reindex(ids)
    shift = pd.to_timedelta(finish_row[LATEST_SCHEDULE_CHANGE].fillna(0.0), unit="D")
    baseline_finish = finish_row[FORECAST_COMPLETION] - shift

    start = first_report[DESIGN_START].fillna(first_report[REPORT_DATE])
    start = start.fillna(first_row[REPORT_DATE].reindex(ids))
    last_phase = last_report[PHASE].map(lambda p: p.lower() if isinstance(p, str) else None)
    done = last_phase.isin(COMPLETION_PHASES)

    def first_text(column: str) -> pd.Series:
        present = ordered.loc[ordered[column].notna(), [PID, column]]
        return present.groupby(PID, sort=False)[column].first().reindex(ids)

    # Problems in a project point at its first report (else its first row).
    first_row_index = ordered.reset_index().groupby(PID, sort=False)["index"].first()
    report_row_index = reports.reset_index().groupby(PID, sort=False)["index"].first()
    rows = report_row_index.reindex(ids).fillna(first_row_index.reindex(ids))
    return pd.DataFrame(
        {
            "project_id": ids,
            "name": first_text(PROJECT_NAME).to_numpy(),
            "portfolio": first_text(MANAGING_AGENCY).to_numpy(),
            "category": first_text(CATEGORY).to_numpy(),
            "start_date": start.to_numpy(),
            "baseline_finish": baseline_finish.to_numpy(),
            "baseline_budget": budget.where(budget > 0).to_numpy(),
            "currency": "USD",
            "actual_finish": last_report[FORECAST_COMPLETION].where(done).to_numpy(),
            "actual_cost": last_report[BUDGET_FORECAST].where(done).to_numpy(),
            "status": np.where(done, "completed", "active"),
            "borough": first_text(BOROUGH).to_numpy(),
            "client_agency": first_text(CLIENT_AGENCY).to_numpy(),
            "description": first_text(DESCRIPTION).to_numpy(),
        },
        index=rows.astype("int64").to_numpy(),
    )


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed values as the text ``validate_tables`` reads: ISO dates, plain numbers, None."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            text = values.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(values):
            text = values.map(repr)
        else:
            text = values
        out[column] = text.astype("object").where(values.notna(), None)
    return out


def _in_source_terms(problem: Problem) -> Problem:
    """A validation problem naming the export's column instead of the canonical one."""
    column = _SOURCE_OF.get(problem.column or "", problem.column)
    return Problem(problem.file, problem.row, column, problem.message, problem.value)
