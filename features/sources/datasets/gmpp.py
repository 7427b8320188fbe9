"""UK Government Major Projects Portfolio (GMPP) annual-report data into the history format.

What the files are: the Infrastructure and Projects Authority publishes, with each annual
report, one row per major project as at 31 March of the report year (the 2022 and 2023 files
cover the whole portfolio; departmental files such as BEIS 2022 or CO / DESNZ 2024 cover one
department). Projects keep their ``GMPP ID Number`` across years, so the files together are
a yearly snapshot history.

How they map (one snapshot per project per report year, ``as_of`` = 31 March of that year):

* ``rag`` — the IPA Delivery Confidence Assessment, or the SRO's when the IPA cell holds no
  colour. Cells holding an exemption sentence ("Exempt under Section 43 ...", "Early planning
  GMPP project") are missing, never errors.
* ``forecast_finish`` — "Project - End Date (Latest Approved End Date)" of that year.
* ``forecast_cost`` — "TOTAL Baseline Whole Life Costs (£m)" of that year, in pounds.
* projects: ``start_date``, ``baseline_finish`` and ``baseline_budget`` are the start date,
  end date and whole-life cost of the *earliest* report giving them (the baseline is the
  first approved figure we see); ``name`` and ``category`` (Annual Report Category) and
  ``portfolio`` (Department) are the latest; ``currency`` GBP. The reports do not say when a
  project finished, so every project is ``active`` and outcomes are unknown: the data set
  suits forecast-drift features and RAG, not outcome labels.

The report year is read from the file name (``..._March_2023.csv``). A project appearing in
two files of one year (a departmental file and the portfolio file) keeps the first non-missing
value of each field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from features.sources.datasets._cells import dates, numbers
from features.sources.tabular import read_table
from risk_model.exceptions import Problem, ValidationFailed
from risk_model.schemas import conform_projects, conform_snapshots

__all__ = ["GMPP_COLUMNS", "load_gmpp", "report_year"]

# canonical name -> prefix of the normalised header (``features.sources.tabular``)
GMPP_COLUMNS: dict[str, str] = {
    "id": "gmpp_id",
    "name": "project_name",
    "department": "department",
    "category": "annual_report_category",
    "ipa_rating": "ipa_delivery_confidence",
    "sro_rating": "sro_delivery_confidence",
    "start": "project_start_date",
    "end": "project_end_date",
    "whole_life_cost": "total_baseline_whole_life_costs",
}
_REQUIRED = ("id", "end", "whole_life_cost")
_YEAR = re.compile(r"(?:March|Mar)[_\- ]?(\d{4})", re.IGNORECASE)
_ANY_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
_MILLION = 1_000_000.0
_RAG = {"red": "red", "amber": "amber", "green": "green"}


def report_year(path: Path) -> int | None:
    """The report year in a GMPP file name (``..._March_2023.csv`` -> 2023), or None."""
    m = _YEAR.search(path.name) or _ANY_YEAR.search(path.name)
    return int(m.group(1)) if m else None


def _files(paths: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out += sorted(p.glob("*.csv")) if p.is_dir() else [p]
    return out


def _column(frame: pd.DataFrame, prefix: str) -> str | None:
    return next((c for c in frame.columns if str(c).startswith(prefix)), None)


def _rating(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return _RAG.get(value.strip().lower())


def _read_report(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    """One file as a frame of (project_id, year, fields...), or None with problems added."""
    year = report_year(path)
    if year is None:
        problems.append(
            Problem(path.name, None, None, "cannot tell the report year from the file name")
        )
        return None
    try:
        raw = read_table(path)
    except ValidationFailed as exc:
        problems += exc.problems
        return None
    cols = {key: _column(raw, prefix) for key, prefix in GMPP_COLUMNS.items()}
    missing = [GMPP_COLUMNS[k] for k in _REQUIRED if cols[k] is None]
    if missing:
        problems += [
            Problem(path.name, None, m, f"not a GMPP file: no column starting {m!r}")
            for m in missing
        ]
        return None

    def get(key: str) -> pd.Series:
        name = cols[key]
        if name is None:
            return pd.Series([None] * len(raw), index=raw.index, dtype=object)
        return raw[name]

    ipa = get("ipa_rating").map(_rating)
    sro = get("sro_rating").map(_rating)
    frame = pd.DataFrame(
        {
            "project_id": get("id"),
            "year": year,
            "name": get("name"),
            "portfolio": get("department"),
            "category": get("category"),
            "rag": ipa.where(ipa.notna(), sro),
            "start_date": dates(get("start")),
            "forecast_finish": dates(get("end")),
            "forecast_cost": numbers(get("whole_life_cost"), _MILLION),
        }
    )
    return frame.loc[frame["project_id"].notna()]


def load_gmpp(paths: Sequence[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Projects and yearly snapshots from GMPP annual-report CSV files (or folders of them).

    Raises ``ValidationFailed`` naming each file that is not a readable GMPP file.
    """
    files = _files(paths)
    problems: list[Problem] = []
    if not files:
        problems.append(Problem(", ".join(map(str, paths)) or "(none)", None, None, "no CSV file"))
    reports = [r for r in (_read_report(f, problems) for f in files) if r is not None]
    if problems:
        raise ValidationFailed(problems)
    rows = pd.concat(reports, ignore_index=True)
    # one row per project and year: first non-missing value of each field across files
    yearly = rows.groupby(["project_id", "year"], sort=True).first().reset_index()
    yearly = yearly.sort_values(["project_id", "year"], kind="mergesort")
    by_project = yearly.groupby("project_id", sort=True)
    earliest = by_project[["start_date", "forecast_finish", "forecast_cost"]].first()
    latest = by_project[["name", "portfolio", "category"]].last()
    projects = pd.DataFrame(
        {
            "project_id": earliest.index.astype(object),
            "name": latest["name"].to_numpy(dtype=object),
            "portfolio": latest["portfolio"].to_numpy(dtype=object),
            "category": latest["category"].to_numpy(dtype=object),
            "start_date": earliest["start_date"].to_numpy(),
            "baseline_finish": earliest["forecast_finish"].to_numpy(),
            "baseline_budget": earliest["forecast_cost"].to_numpy(dtype=float),
            "currency": "GBP",
            "status": "active",
        }
    )
    snapshots = pd.DataFrame(
        {
            "project_id": yearly["project_id"].astype(object),
            "as_of": pd.to_datetime(yearly["year"].astype(str) + "-03-31"),
            "rag": yearly["rag"].astype(object),
            "forecast_finish": yearly["forecast_finish"],
            "forecast_cost": yearly["forecast_cost"].astype(float),
        }
    )
    return conform_projects(projects), conform_snapshots(snapshots)
