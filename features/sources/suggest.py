"""Propose a column mapping from a file's headers (and a look at its values).

Each header is compared with common PMO names of every canonical field ("Data Date",
"Status Date", "BCWP", "ACWP", "EAC", "Baseline Finish", "Forecast Completion", ...): an
exact name, a name whose words all appear in the header, or a close spelling (difflib
ratio). Each column is given to the best-scoring field of each table, once. Formats are
guessed from the values: day-first dates (a first number above 12), "1.234,56" numbers,
percent as 0-1, currency symbols, and money in millions or thousands from the headers
("£m", "($ M)", "k"). The result is a ``ColumnMapping`` for the user to check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

import pandas as pd

from features.sources.mapping import TABLE_COLUMNS, ColumnMapping, Table

__all__ = ["SYNONYMS", "Suggestion", "suggest_mapping"]

_COMMON_ID = (
    "project id",
    "project code",
    "project number",
    "project no",
    "project ref",
    "project reference",
    "id",
    "gmpp id number",
    "proj id",
    "code",
)
SYNONYMS: dict[Table, dict[str, tuple[str, ...]]] = {
    "projects": {
        "project_id": _COMMON_ID,
        "name": ("project name", "name", "title", "project title", "project"),
        "portfolio": (
            "portfolio",
            "programme",
            "program",
            "department",
            "investment title",
            "investment",
            "business unit",
            "division",
        ),
        "category": (
            "category",
            "project type",
            "type",
            "annual report category",
            "sector",
            "agency name",
            "agency",
            "class",
            "reference class",
        ),
        "start_date": (
            "start date",
            "start",
            "project start date",
            "baseline start",
            "planned start",
            "approved start date",
            "latest approved start date",
        ),
        "baseline_finish": (
            "baseline finish",
            "baseline end",
            "baseline completion",
            "planned finish",
            "planned completion",
            "planned end",
            "planned project completion date",
            "original finish",
            "target finish",
            "completion date",
            "end date",
            "finish date",
            "latest approved end date",
            "project end date",
        ),
        "baseline_budget": (
            "baseline budget",
            "bac",
            "budget at completion",
            "planned cost",
            "approved budget",
            "original budget",
            "total budget",
            "budget",
            "baseline whole life cost",
            "total baseline whole life costs",
            "whole life cost",
            "baseline cost",
        ),
        "currency": ("currency", "currency code"),
        "actual_finish": (
            "actual finish",
            "actual completion",
            "actual end date",
            "actual completion date",
            "date completed",
        ),
        "actual_cost": ("final cost", "outturn cost", "cost at completion", "final actual cost"),
        "status": ("status", "project status", "state"),
    },
    "snapshots": {
        "project_id": _COMMON_ID,
        "as_of": (
            "as of",
            "as of date",
            "data date",
            "status date",
            "report date",
            "reporting date",
            "reporting period",
            "period end",
            "period ending",
            "snapshot date",
            "updated date",
            "update date",
            "as at",
            "date",
        ),
        "phase": ("phase", "stage", "current phase", "project phase"),
        "percent_complete": (
            "percent complete",
            "% complete",
            "pct complete",
            "progress",
            "physical % complete",
            "physical percent complete",
            "complete %",
            "completion %",
            "% done",
        ),
        "planned_value": ("planned value", "pv", "bcws", "budgeted cost of work scheduled"),
        "earned_value": ("earned value", "ev", "bcwp", "budgeted cost of work performed"),
        "actual_cost": (
            "actual cost",
            "ac",
            "acwp",
            "actual cost of work performed",
            "cost to date",
            "actuals",
            "actual cost to date",
            "spend to date",
        ),
        "forecast_finish": (
            "forecast finish",
            "forecast completion",
            "forecast end",
            "forecast completion date",
            "projected finish",
            "projected completion",
            "projected actual completion",
            "projected actual project completion date",
            "estimated finish",
            "estimated completion",
            "expected finish",
            "current finish",
            "latest approved end date",
            "end date",
            "finish",
        ),
        "forecast_cost": (
            "forecast cost",
            "eac",
            "estimate at completion",
            "forecast at completion",
            "fac",
            "projected cost",
            "projected actual cost",
            "forecast",
            "estimated cost",
            "whole life cost forecast",
        ),
        "budget": (
            "current budget",
            "approved budget",
            "revised budget",
            "budget",
            "total baseline whole life costs",
            "whole life cost",
        ),
        "rag": (
            "rag",
            "rag status",
            "delivery confidence",
            "delivery confidence assessment",
            "ipa delivery confidence assessment",
            "dca",
            "overall status",
            "health",
            "status colour",
            "traffic light",
        ),
        "open_risks": ("open risks", "risks", "risk count", "number of risks"),
        "open_issues": ("open issues", "issues", "issue count", "number of issues"),
        "change_requests": ("change requests", "changes", "crs", "change request count"),
    },
}
_THRESHOLD = 0.8
_WORD = re.compile(r"[a-z0-9%]+")
_PAREN = re.compile(r"\([^)]*\)")
_MILLIONS = re.compile(r"(£|\$|€)\s*m\b|\(\s*m\s*\)|\bmillions?\b|\bmn\b|\bm(£|\$|€)", re.I)
_THOUSANDS = re.compile(r"(£|\$|€)\s*k\b|\(\s*k\s*\)|\bthousands?\b|\bk(£|\$|€)", re.I)
_CURRENCY_SIGNS = {"£": "GBP", "$": "USD", "€": "EUR"}


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("_", " "))


def _score(header: str, synonym: str) -> float:
    """How well a header matches a name: 1 exact, ~0.9 all words present, else similarity."""
    full = " ".join(_words(header))
    outer = " ".join(_words(_PAREN.sub(" ", header)))
    inner = [" ".join(_words(m)) for m in re.findall(r"\(([^)]*)\)", header)]
    syn = " ".join(_words(synonym))
    if not syn:
        return 0.0
    if syn in (full, outer) or syn in inner:
        return 1.0
    syn_words = syn.split()
    best = 0.0
    for form in (outer, *inner):
        words = form.split()
        if not words:
            continue
        if len(syn_words) > 1 and all(w in words for w in syn_words):
            best = max(best, 0.85 + 0.1 * len(syn_words) / len(words))
        best = max(best, SequenceMatcher(None, form, syn).ratio() * 0.9)
    return best


@dataclass
class Suggestion:
    """A proposed mapping with, per table, the score of each mapped field and unused columns."""

    mapping: ColumnMapping
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)


def _assign(headers: Sequence[str], table: Table) -> tuple[dict[str, str], dict[str, float]]:
    candidates: list[tuple[float, int, str, str]] = []
    order = {name: i for i, name in enumerate(SYNONYMS[table])}
    for header in headers:
        for canonical, names in SYNONYMS[table].items():
            score = max(_score(header, canonical), *(_score(header, n) for n in names))
            if score >= _THRESHOLD:
                candidates.append((score, -order[canonical], canonical, header))
    candidates.sort(reverse=True)
    out: dict[str, str] = {}
    scores: dict[str, float] = {}
    used: set[str] = set()
    for score, _, canonical, header in candidates:
        if canonical in out or header in used:
            continue
        out[canonical] = header
        scores[canonical] = round(score, 2)
        used.add(header)
    declared = [c.name for c in TABLE_COLUMNS[table]]
    ordered = {c: out[c] for c in declared if c in out}
    return ordered, scores


def _values(frame: pd.DataFrame | None, column: str) -> list[str]:
    if frame is None or column not in frame.columns:
        return []
    return [str(v) for v in frame[column].dropna().head(500)]


def _date_format(samples: Iterable[str]) -> str | None:
    """``DD/MM/YYYY``-style format when some value can only be read day first."""
    pattern = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})(?:[ T].*)?$")
    day_first = sep = year = None
    for s in samples:
        m = pattern.match(s.strip())
        if not m:
            continue
        sep, year = m.group(2), "YYYY" if len(m.group(4)) == 4 else "YY"
        if int(m.group(1)) > 12:
            day_first = True
        elif int(m.group(3)) > 12:
            day_first = False
    if sep is None:
        return None
    if day_first or (day_first is None and sep == "."):
        return f"DD{sep}MM{sep}{year}"
    return None


_EU = re.compile(r"\d,\d{1,2}(?!\d)|\d{1,3}(\.\d{3})+,\d|\d{1,3}(\.\d{3}){2,}(?![\d,])")
_US = re.compile(r"\d\.(\d{1,2}|\d{4,})(?!\d)|\d{1,3}(,\d{3})+\.\d|\d{1,3}(,\d{3})+(?![\d.,])")


def _number_format(samples: Iterable[str]) -> str:
    """``1.234,56`` when some value needs a decimal comma and none a decimal point."""
    values = list(samples)
    european = any(_EU.search(v) for v in values)
    english = any(_US.search(v) for v in values)
    return "1.234,56" if european and not english else "1,234.56"


def suggest_mapping(
    headers: Sequence[str], sample: pd.DataFrame | None = None, source: str = "suggested"
) -> Suggestion:
    """A mapping for a table with these headers (original spelling), from names and values.

    ``sample`` is the table as read (text cells; columns named by the original headers) to
    guess formats from. Both the projects and the snapshots sections are proposed; a table
    holding only project fields gets an empty snapshots section and vice versa.
    """
    projects, p_scores = _assign(headers, "projects")
    snapshots, s_scores = _assign(headers, "snapshots")
    if "as_of" not in snapshots:
        snapshots, s_scores = {}, {}
    for field_name, column in list(projects.items()):
        # the report date is never a project date
        if column == snapshots.get("as_of"):
            del projects[field_name]
            p_scores.pop(field_name, None)
    for outcome in ("actual_finish", "actual_cost"):
        # a column that is a report's forecast is not the project's outcome
        if projects.get(outcome) in snapshots.values():
            del projects[outcome]
            p_scores.pop(outcome, None)
    if snapshots and set(projects) <= {"project_id"}:
        projects, p_scores = {}, {}
    date_cols = [c.name for cols in TABLE_COLUMNS.values() for c in cols if c.kind == "date"]
    money_cols = [c.name for cols in TABLE_COLUMNS.values() for c in cols if c.kind == "money"]
    number_cols = [*money_cols, "percent_complete", "open_risks", "open_issues"]
    mapped = {**projects, **snapshots}
    all_mapped = list(projects.items()) + list(snapshots.items())
    date_samples = [v for k, h in all_mapped if k in date_cols for v in _values(sample, h)]
    number_samples = [v for k, h in all_mapped if k in number_cols for v in _values(sample, h)]
    money_headers = [h for k, h in all_mapped if k in money_cols]
    money_samples = [v for k, h in all_mapped if k in money_cols for v in _values(sample, h)]
    number_format = _number_format(number_samples)
    percent = "0-100"
    pct = mapped.get("percent_complete")
    if pct is not None and sample is not None:
        from features.sources.mapping import number_parser

        parse = number_parser(number_format, 1.0)
        values = [parse(v) for v in _values(sample, pct)]
        numbers = [float(v) for v in values if v is not None]
        if numbers and max(numbers) <= 1.0 and not any("%" in v for v in _values(sample, pct)):
            percent = "0-1"
    money_unit = 1.0
    if money_headers and all(_MILLIONS.search(h) for h in money_headers):
        money_unit = 1e6
    elif money_headers and all(_THOUSANDS.search(h) for h in money_headers):
        money_unit = 1e3
    currency = None
    for sign, code in _CURRENCY_SIGNS.items():
        if any(sign in h for h in money_headers) or any(sign in v for v in money_samples):
            currency = code
            break
    unmapped = [h for h in headers if h not in set(projects.values()) | set(snapshots.values())]
    notes = {
        "header": [
            f"columns not mapped (kept as project attributes when in a projects table): "
            f"{', '.join(repr(h.splitlines()[0]) for h in unmapped) or 'none'}"
        ],
        "projects": [f"{k}: match {v:.2f}" for k, v in p_scores.items() if v < 1.0],
        "snapshots": [f"{k}: match {v:.2f}" for k, v in s_scores.items() if v < 1.0],
    }
    if "as_of" not in snapshots:
        notes["snapshots"] = ["no report-date column found: map as_of to import status reports"]
    mapping = ColumnMapping(
        projects=projects,
        snapshots=snapshots,
        date_format=_date_format(date_samples),
        number_format=number_format,
        currency=currency,
        percent=percent,
        money_unit=money_unit,
        source=source,
    )
    return Suggestion(mapping, {"projects": p_scores, "snapshots": s_scores}, unmapped, notes)
