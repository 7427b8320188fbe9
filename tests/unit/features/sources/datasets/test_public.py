"""Public data set loaders on the real files: counts and overrun shares as their README says."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from features.sources.datasets import (
    DATASETS,
    DatasetUnavailable,
    get_dataset,
    load_dataset,
    resolve_files,
)
from features.sources.datasets.gmpp import load_gmpp, report_year
from features.sources.summary import overrun_shares
from risk_model.exceptions import ValidationFailed
from risk_model.schemas import conform_projects, conform_snapshots


def readme(shared_data: Path) -> str:
    return (shared_data / "README.md").read_text(encoding="utf-8")


def readme_row(shared_data: Path, folder: str) -> str:
    """The README table row describing a folder."""
    [row] = [line for line in readme(shared_data).splitlines() if line.startswith(f"| `{folder}/`")]
    return row


def as_int(text: str) -> int:
    return int(text.replace(",", ""))


def test_gmpp_counts_match_the_readme(shared_data: Path) -> None:
    """Projects per report year and projects in both 2022 and 2023 are the README's."""
    row = readme_row(shared_data, "uk_gmpp")
    m = re.search(r"([\d,]+) \(2022\), ([\d,]+) \(2023\) projects; ([\d,]+) in both", row)
    assert m is not None
    per_2022, per_2023, both = (as_int(g) for g in m.groups())

    projects, snapshots = load_dataset("gmpp", [shared_data / "uk_gmpp"])

    per_year = snapshots.groupby(snapshots["as_of"].dt.year)["project_id"].nunique()
    assert per_year[2022] == per_2022
    assert per_year[2023] == per_2023
    years = snapshots.groupby("project_id")["as_of"].apply(lambda s: set(s.dt.year))
    assert sum({2022, 2023} <= y for y in years) == both
    assert set(snapshots["project_id"]) == set(projects["project_id"])
    assert not snapshots.duplicated(["project_id", "as_of"]).any()


def test_gmpp_end_dates_moved_later_as_the_readme_says(shared_data: Path) -> None:
    """The share of projects in both years whose end date moved later is the README's."""
    m = re.search(r"\((\d+)% of end dates moved later\)", readme(shared_data))
    assert m is not None
    expected = int(m.group(1)) / 100

    _, snapshots = load_dataset("gmpp", [shared_data / "uk_gmpp"])

    wide = snapshots.pivot(index="project_id", columns="as_of", values="forecast_finish")
    both = wide.loc[
        wide.index.isin(snapshots.loc[snapshots["as_of"].dt.year == 2022, "project_id"])
        & wide.index.isin(snapshots.loc[snapshots["as_of"].dt.year == 2023, "project_id"])
    ]
    later = both[pd.Timestamp("2023-03-31")] > both[pd.Timestamp("2022-03-31")]
    assert later.mean() == pytest.approx(expected, abs=0.01)


def test_gmpp_fields_follow_the_documented_meaning(shared_data: Path) -> None:
    """Baseline = earliest report; rag from the ratings; exemption sentences are missing."""
    projects, snapshots = load_dataset("gmpp", [shared_data / "uk_gmpp"])
    assert projects.equals(conform_projects(projects))
    assert snapshots.equals(conform_snapshots(snapshots))
    first = snapshots.sort_values("as_of").groupby("project_id").first()
    by_id = projects.set_index("project_id")
    with_first = first["forecast_finish"].notna()
    assert (
        by_id.loc[with_first.index[with_first], "baseline_finish"]
        == first.loc[with_first, "forecast_finish"]
    ).all()
    assert set(snapshots["rag"].dropna()) <= {"red", "amber", "green"}
    assert snapshots["rag"].notna().mean() > 0.8
    assert (projects["currency"] == "GBP").all()
    assert (snapshots["forecast_cost"].dropna() >= 1e6).mean() > 0.9  # pounds, not £m
    assert set(snapshots["as_of"].dt.strftime("%m-%d")) == {"03-31"}


def test_gmpp_rejects_a_file_that_is_not_gmpp(tmp_path: Path) -> None:
    bad = tmp_path / "Other_March_2022.csv"
    bad.write_text("a,b\n1,2\n")
    nameless = tmp_path / "portfolio.csv"
    nameless.write_text("a,b\n1,2\n")
    with pytest.raises(ValidationFailed) as exc:
        load_gmpp([bad, nameless])
    text = "\n".join(str(p) for p in exc.value.problems)
    assert "Other_March_2022.csv column gmpp_id: not a GMPP file" in text
    assert "portfolio.csv: cannot tell the report year" in text
    assert report_year(Path("X_AR_Data_March_2024.csv")) == 2024


def _raw_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _day(text: str) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def test_it_dashboard_counts_match_the_readme(shared_data: Path) -> None:
    row = readme_row(shared_data, "us_it_dashboard_2012")
    m = re.search(r"([\d,]+) projects, (\d+) agencies", row)
    assert m is not None
    n_projects, n_agencies = as_int(m.group(1)), int(m.group(2))

    projects, snapshots = load_dataset("it-dashboard", [shared_data / "us_it_dashboard_2012"])

    assert len(projects) == n_projects
    assert projects["category"].nunique() == n_agencies
    assert len(snapshots) == projects["project_id"].isin(snapshots["project_id"]).sum()


def test_it_dashboard_overrun_shares_match_the_raw_columns(shared_data: Path) -> None:
    """Shares computed by the loader equal those read straight from the file's columns."""
    path = shared_data / "us_it_dashboard_2012" / "projects.csv"
    late = dated = over = costed = 0
    for r in _raw_rows(path):
        start = _day(r["Start Date"])
        planned = _day(r["Planned Project Completion Date (B2)"])
        b1 = _day(r["Completion Date (B1)"])
        baseline = planned if planned and start and planned >= start else None
        baseline = baseline or (b1 if b1 and start and b1 >= start else None)
        projected = _day(r["Projected/Actual Project Completion Date (B2)"])
        if baseline and projected:
            dated += 1
            late += projected > baseline
        pc, ac = r["Planned Cost ($ M)"], r["Projected/Actual Cost ($ M)"]
        if pc and ac:
            costed += 1
            over += float(ac) > float(pc)

    projects, snapshots = load_dataset("it-dashboard", [path])
    shares = overrun_shares(projects, snapshots)

    assert shares["schedule"] == pytest.approx(late / dated)
    assert shares["cost"] == pytest.approx(over / costed)
    finished = projects["status"] == "completed"
    assert (projects.loc[finished, "actual_finish"].notna()).all()
    assert projects.loc[~finished, "actual_finish"].isna().all()
    assert (
        projects["baseline_finish"].dropna()
        >= projects.loc[projects["baseline_finish"].notna(), "start_date"]
    ).all()


def test_registry_lists_each_data_set_with_sources() -> None:
    assert {"gmpp", "it-dashboard", "nyc"} <= set(DATASETS)
    for d in DATASETS.values():
        assert d.description and d.licence
        assert all(s.url.startswith("https://") and len(s.sha256) == 64 for s in d.sources)
        assert d.sources or d.cached_loader
    with pytest.raises(DatasetUnavailable, match="unknown data set 'nope'; known: "):
        get_dataset("nope")


def test_cached_files_are_used_without_downloading(shared_data: Path, tmp_path: Path) -> None:
    """A cache folder holding the source files is read; a missing one is not downloaded."""
    dataset = get_dataset("it-dashboard")
    cache = tmp_path / "cache"
    (cache / "it-dashboard").mkdir(parents=True)
    source = dataset.sources[0]
    (cache / "it-dashboard" / source.name).write_bytes(
        (shared_data / "us_it_dashboard_2012" / "projects.csv").read_bytes()
    )
    [path] = resolve_files(dataset, cache_dir=cache, download=False)
    assert path.parent == cache / "it-dashboard"
    with pytest.raises(DatasetUnavailable, match="not cached"):
        resolve_files(get_dataset("gmpp"), cache_dir=cache, download=False)
    with pytest.raises(DatasetUnavailable, match="no such file"):
        resolve_files(dataset, [tmp_path / "missing.csv"])


def test_nyc_is_registered_through_issue_3s_loader(shared_data: Path) -> None:
    folder = shared_data / "nyc_capital_projects"
    projects, snapshots = load_dataset("nyc", [folder])
    assert len(projects) > 0 and len(snapshots) >= len(projects)
    assert set(snapshots["project_id"]) <= set(projects["project_id"])
