"""Schedule files (synthetic P6 XER read by xerparser) into an ordered, validated history."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.pipeline import build_features
from features.sources.schedules import (
    SCHEDULE_SUFFIXES,
    is_schedule_file,
    load_schedule_history,
    schedule_format,
)
from risk_model.exceptions import ValidationFailed
from risk_model.schemas import PROJECT_FIELDS, SCHEDULE_QUALITY_FIELDS, SNAPSHOT_FIELDS
from risk_model.store import Store
from training.synthetic_schedule import write_synthetic_xer

UPDATES = (  # file name, progress, delay: names sort against the data dates on purpose
    ("c-first.xer", 0.2, 0.0),
    ("a-second.xer", 0.4, 10.0),
    ("b-third.xer", 0.6, 25.0),
)


@pytest.fixture()
def updates(tmp_path: Path) -> tuple[Path, list[object]]:
    folder = tmp_path / "updates"
    folder.mkdir()
    made = [
        write_synthetic_xer(folder / name, n_activities=120, n_relationships=180, seed=3,
                            progress=progress, delay_days=delay, cost_overrun=0.1)
        for name, progress, delay in UPDATES
    ]  # fmt: skip
    return folder, made


def test_one_xer_gives_one_project_and_one_snapshot_with_evm(tmp_path: Path) -> None:
    made = write_synthetic_xer(tmp_path / "p.xer", n_activities=80, n_relationships=120,
                               progress=0.5, cost_overrun=0.25)  # fmt: skip
    h = load_schedule_history([tmp_path / "p.xer"])
    assert list(h.projects.columns[: len(PROJECT_FIELDS)]) == list(PROJECT_FIELDS)
    assert list(h.snapshots.columns) == list(SNAPSHOT_FIELDS)
    (snap,) = h.snapshots.to_dict("records")
    assert snap["as_of"] == pd.Timestamp(made.data_date.date())
    assert snap["budget"] == pytest.approx(made.budget)
    assert snap["earned_value"] == pytest.approx(made.earned_value, rel=1e-4)
    assert snap["actual_cost"] == pytest.approx(made.actual_cost, rel=1e-4)
    assert snap["actual_cost"] / snap["earned_value"] == pytest.approx(1.25, rel=1e-3)
    assert snap["percent_complete"] == pytest.approx(100 * made.earned_value / made.budget, 1e-3)
    assert snap["forecast_finish"] == pd.Timestamp(made.forecast_finish.date())
    assert 0 < snap["planned_value"] <= made.budget
    assert all(np.isfinite(snap[c]) for c in ("dcma_fs_relationships", "dcma_bei", "dcma_cpli"))
    (proj,) = h.projects.to_dict("records")
    assert proj["project_id"] == "SYN-1" and proj["status"] == "active"
    assert proj["baseline_budget"] == pytest.approx(made.budget)
    assert proj["baseline_finish"] == pd.Timestamp(made.planned_finish.date())
    assert proj["currency"] == "USD"
    assert any("p.xer" in line and "cost-loaded" in line for line in h.found)


def test_a_folder_of_updates_becomes_an_ordered_history(updates: tuple[Path, list]) -> None:
    folder, made = updates
    h = load_schedule_history([folder])
    assert len(h.projects) == 1
    s = h.snapshots
    assert list(s["as_of"]) == sorted(pd.Timestamp(m.data_date.date()) for m in made)
    assert s["as_of"].is_monotonic_increasing
    assert [x.source for x in h.schedules] == [name for name, _, _ in UPDATES]
    # The later the update, the more work done, spent, and the later the forecast finish.
    assert s["percent_complete"].is_monotonic_increasing
    assert s["actual_cost"].is_monotonic_increasing
    assert s["forecast_finish"].is_monotonic_increasing
    # The baseline is the earliest update's plan.
    assert h.projects.loc[0, "baseline_finish"] == pd.Timestamp(made[0].planned_finish.date())
    assert "3 update(s)" in h.found[-1]


def test_history_imports_into_the_store_and_reaches_the_features(
    updates: tuple[Path, list], tmp_path: Path
) -> None:
    folder, _ = updates
    h = load_schedule_history([folder])
    store = Store(f"sqlite:///{tmp_path / 'store.db'}").init()
    summary = store.import_frames(h.projects, h.snapshots)
    assert summary.snapshots_inserted == 3
    again = store.import_frames(h.projects, h.snapshots)
    assert again.unchanged == 4 and not again.changed
    stored = store.snapshots()
    for col in SCHEDULE_QUALITY_FIELDS:
        np.testing.assert_allclose(
            stored[col].to_numpy(dtype=float), h.snapshots[col].to_numpy(dtype=float)
        )
    f = build_features(store.projects(), stored)
    # Point in time: each row carries its own update's figures, never a later one's.
    np.testing.assert_allclose(
        f["dcma_missed_tasks"].to_numpy(dtype=float),
        h.snapshots["dcma_missed_tasks"].to_numpy(dtype=float),
    )
    store.dispose()


def test_a_bad_file_rejects_the_folder_unless_skipped(updates: tuple[Path, list]) -> None:
    folder, _ = updates
    (folder / "broken.xer").write_text("ERMHDR\t19.12\n%T\tPROJECT\n%F\tproj_id\n%E\n")
    with pytest.raises(ValidationFailed) as exc:
        load_schedule_history([folder])
    (problem,) = exc.value.problems
    assert problem.file == "broken.xer"
    assert "missing required table" in problem.message.lower()
    h = load_schedule_history([folder], skip_bad=True)
    assert len(h.snapshots) == 3
    assert [p.file for p in h.skipped] == ["broken.xer"]
    assert any(line.startswith("skipped broken.xer") for line in h.found)


def test_two_updates_on_one_data_date_are_a_problem(tmp_path: Path) -> None:
    for name in ("one.xer", "two.xer"):
        write_synthetic_xer(tmp_path / name, n_activities=30, n_relationships=40, progress=0.5)
    with pytest.raises(ValidationFailed) as exc:
        load_schedule_history([tmp_path / "one.xer", tmp_path / "two.xer"])
    assert "one.xer and two.xer" in str(exc.value)


def test_not_a_schedule_is_named_not_traced(tmp_path: Path) -> None:
    (tmp_path / "notes.xer").write_text("hello")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationFailed) as exc:
        load_schedule_history([tmp_path / "notes.xer", tmp_path / "empty", tmp_path / "nope.xer"])
    texts = [str(p) for p in exc.value.problems]
    assert texts == [
        "empty: no schedule files in folder",
        "nope.xer: no such file",
        "notes.xer: not an XER file (it does not start with ERMHDR)",
    ]


def test_xml_is_sniffed_by_its_root_element(tmp_path: Path) -> None:
    mspdi = tmp_path / "plan.xml"
    mspdi.write_text('<?xml version="1.0"?><Project xmlns="http://schemas.microsoft.com/project">')
    pmxml = tmp_path / "p6.xml"
    pmxml.write_text('<?xml version="1.0"?><APIBusinessObjects xmlns="http://xmlns.oracle.com">')
    other = tmp_path / "other.xml"
    other.write_text("<root/>")
    csv = tmp_path / "projects.csv"
    csv.write_text("project_id\nP1\n")
    assert schedule_format(mspdi) == "MSPDI" and schedule_format(pmxml) == "P6 PMXML"
    assert is_schedule_file(mspdi) and is_schedule_file(pmxml)
    assert not is_schedule_file(other) and not is_schedule_file(csv)
    assert not is_schedule_file(tmp_path / "missing.xer")
    assert {".xer", ".xml", ".mpp"} == set(SCHEDULE_SUFFIXES)
