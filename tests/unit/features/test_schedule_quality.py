"""Schedule-quality findings (DCMA 14) of a project's latest schedule update, in words."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.schedule_quality import ScheduleFindings, latest_schedule_findings
from features.sources.schedules import load_schedule_history, read_schedule
from features.sources.schedules.dcma import CHECKS, DcmaReport, assess
from training.synthetic_schedule import write_synthetic_xer


def _updates(folder: Path) -> list[Path]:
    folder.mkdir()
    paths = []
    for name, progress, delay in (("u1.xer", 0.2, 0.0), ("u2.xer", 0.5, 30.0)):
        write_synthetic_xer(folder / name, n_activities=80, n_relationships=110, seed=5,
                            progress=progress, delay_days=delay)  # fmt: skip
        paths.append(folder / name)
    return paths


def _assessed(path: Path) -> dict[str, DcmaReport]:
    """What ``pmo-risk schedule-check`` reports of a file: the assessment of each project."""
    return {s.project_id: assess(s) for s in read_schedule(path)}


def _same_as_assessment(findings: ScheduleFindings, report: DcmaReport) -> None:
    got = findings.checks
    assert [c.number for c in got] == [c.spec.number for c in report.checks] == list(range(1, 15))
    for mine, theirs in zip(got, report.checks, strict=True):
        assert mine.title == theirs.spec.title
        assert mine.passed is theirs.passed
        if theirs.value is None:
            assert mine.value is None and mine.value_text == "n/a"
        else:
            assert mine.value == pytest.approx(theirs.value)
        assert mine.result == {True: "pass", False: "fail", None: "not computed"}[mine.passed]


def test_findings_come_from_the_latest_update(tmp_path: Path) -> None:
    paths = _updates(tmp_path / "updates")
    h = load_schedule_history(paths)
    f = latest_schedule_findings(h.snapshots, "SYN-1")
    assert f is not None
    assert f.as_of == h.snapshots["as_of"].max().date()
    latest = _assessed(paths[-1])["SYN-1"]
    _same_as_assessment(f, latest)
    assert f.passed == sum(c.passed is True for c in latest.checks)
    assert [c.title for c in f.failed] == [c.spec.title for c in latest.checks if c.passed is False]


def test_findings_as_of_an_earlier_date_use_only_updates_up_to_it(tmp_path: Path) -> None:
    paths = _updates(tmp_path / "updates")
    h = load_schedule_history(paths)
    first = h.snapshots["as_of"].min()
    f = latest_schedule_findings(h.snapshots.loc[h.snapshots["as_of"] <= first], "SYN-1")
    assert f is not None and f.as_of == first.date()
    _same_as_assessment(f, _assessed(paths[0])["SYN-1"])


def test_a_history_without_schedule_files_has_no_findings(
    tiny: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    from risk_model.schemas import conform_snapshots

    _, snapshots = tiny
    assert latest_schedule_findings(conform_snapshots(snapshots), "A") is None
    assert latest_schedule_findings(conform_snapshots(snapshots).iloc[0:0], "A") is None


def test_thresholds_are_written_as_the_guideline() -> None:
    from features.sources.schedules.dcma import threshold_text

    texts = {spec.key: threshold_text(spec) for spec in CHECKS}
    assert texts["missing_logic"] == "≤ 5.0%"
    assert texts["fs_relationships"] == "≥ 90.0%"
    assert texts["critical_path_test"] == "must pass"
    assert texts["bei"] == "≥ 0.95"
    assert texts["invalid_dates"] == "≤ 0"


def test_a_real_p6_export_gives_the_schedule_checks_findings(shared_data: Path) -> None:
    path = shared_data / "schedules" / "xer" / "aspose_MultiprojectWithExternal.xer"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    h = load_schedule_history([path])
    report = _assessed(path)
    assert set(h.projects["project_id"]) == set(report)
    for pid, assessed in report.items():
        f = latest_schedule_findings(h.snapshots, pid)
        assert f is not None and f.as_of == assessed.data_date.date()
        _same_as_assessment(f, assessed)
