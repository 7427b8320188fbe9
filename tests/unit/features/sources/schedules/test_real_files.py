"""Every real schedule file in ../shared/data/schedules/: snapshots or a clear, specific error.

The files are public exports kept outside the repository (see that folder's README). MPXJ
(``pmo-risk[msproject]`` + Java) reads PMXML, MSPDI, .mpp, and the XER files ``xerparser``
rejects; CI installs it, so these tests skip only where MPXJ or the data folder is absent.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from features.sources.schedules import is_schedule_file, load_schedule_history, read_schedule
from features.sources.schedules.errors import ScheduleReadError
from features.sources.schedules.mpxj_reader import mpxj_unavailable_reason
from features.sources.schedules.xer import read_xer, xer_charset
from risk_model.exceptions import ValidationFailed
from risk_model.schemas import SNAPSHOT_FIELDS

DATA = Path(__file__).resolve().parents[6] / "shared" / "data" / "schedules"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/schedules")
FILES = sorted(p for p in DATA.rglob("*") if p.is_file() and p.suffix != ".md")
MPXJ_MISSING = mpxj_unavailable_reason() if DATA.is_dir() else None

pytestmark = [
    pytest.mark.skipif(not DATA.is_dir(), reason=f"schedule data folder absent: {DATA}"),
]
needs_mpxj = pytest.mark.skipif(MPXJ_MISSING is not None, reason=f"MPXJ: {MPXJ_MISSING}")

UNREADABLE = {
    # file: what the error must say (the README lists why these cannot be read)
    "aspose_ScheduleOptions.xer": "Missing Required Table TASK",
    "aspose_primavera.xml": "MPXJ could not read it",
    "mpxj_alias.xml": "no project with activities",
}
XERPARSER_REASONS = {
    "aspose_ScheduleOptions.xer": "missing required table task",
    "aspose_test.xer": "missing 1 resources",
    "mpxj_PredecessorCalendar.xer": "wbs code (test) does not match project",
    "aspose_encoding1251.xer": "no schedoptions record",
}


def test_the_data_folder_holds_every_kind_of_schedule() -> None:
    kinds = {p.suffix.lower() for p in FILES}
    assert kinds == {".xer", ".xml", ".mpp"}
    assert all(is_schedule_file(p) for p in FILES)


@needs_mpxj
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_file_gives_snapshots_or_a_specific_error(path: Path) -> None:
    if path.name in UNREADABLE:
        with pytest.raises(ValidationFailed) as exc:
            load_schedule_history([path])
        (problem,) = exc.value.problems
        assert problem.file == path.name
        assert UNREADABLE[path.name] in problem.message
        assert "Traceback" not in problem.message
        return
    h = load_schedule_history([path])
    assert list(h.snapshots.columns) == list(SNAPSHOT_FIELDS)
    assert len(h.snapshots) == len(h.projects) >= 1
    assert h.snapshots["as_of"].notna().all()
    assert h.snapshots["project_id"].map(bool).all()
    assert h.snapshots["percent_complete"].between(0, 100).all()
    assert h.snapshots["forecast_finish"].notna().all()
    assert h.snapshots["dcma_invalid_dates"].notna().all()
    assert any(line.startswith(path.name) for line in h.found)


@pytest.mark.parametrize("name", sorted(XERPARSER_REASONS))
def test_xerparser_failures_become_reasons_naming_what_is_missing(name: str) -> None:
    with pytest.raises(ScheduleReadError) as exc:
        read_xer(DATA / "xer" / name)
    message = str(exc.value).lower()
    assert message.startswith("xerparser could not read it")
    assert XERPARSER_REASONS[name] in message


def test_cp1251_text_is_recognised_and_read_as_cyrillic() -> None:
    assert xer_charset((DATA / "xer" / "aspose_encoding1251.xer").read_bytes()) == "windows-1251"
    assert xer_charset((DATA / "xer" / "aspose_test.xer").read_bytes()) != "windows-1251"


@needs_mpxj
def test_cp1251_activity_names_come_out_in_cyrillic() -> None:
    (schedule,) = read_schedule(DATA / "xer" / "aspose_encoding1251.xer")
    names = " ".join(a.name for a in schedule.activities)
    assert re.search("[\u0400-\u04ff]{3,}", names), names
    assert schedule.notes[0].startswith("read with MPXJ (xerparser could not read it")


@needs_mpxj
def test_mpp_figures_match_the_readme() -> None:
    """README: 87 tasks, baseline cost 139.6K, 74 in progress, actual cost 44.7K."""
    (schedule,) = read_schedule(DATA / "mpp" / "aspose_Software_Development.mpp")
    assert len(schedule.activities) == 87
    h = load_schedule_history([DATA / "mpp" / "aspose_Software_Development.mpp"])
    snap = h.snapshots.iloc[0]
    assert snap["budget"] == pytest.approx(139_600, rel=1e-3)
    assert snap["actual_cost"] == pytest.approx(44_700, rel=1e-3)


@needs_mpxj
def test_pmxml_data_date_matches_the_readme() -> None:
    h = load_schedule_history([DATA / "pmxml" / "aspose_BaselineProjects.xml"])
    assert list(h.snapshots["as_of"]) == [pd.Timestamp("2023-10-06")]
    assert h.snapshots["actual_cost"].iloc[0] > 0


@needs_mpxj
def test_two_projects_in_one_xer_are_two_histories() -> None:
    h = load_schedule_history([DATA / "xer" / "aspose_MultiprojectWithExternal.xer"])
    assert sorted(h.projects["project_id"]) == ["TestProject", "TestProject2"]


@needs_mpxj
def test_the_update_trio_has_two_updates_on_one_status_date() -> None:
    """updated.xml and rescheduled.xml share status date 2014-01-28: a specific problem."""
    with pytest.raises(ValidationFailed) as exc:
        load_schedule_history([DATA / "mspdi" / "update_trio"])
    (problem,) = exc.value.problems
    assert "two updates with data date 2014-01-28" in problem.message
    h = load_schedule_history(
        [DATA / "mspdi" / "update_trio" / n for n in ("not_updated.xml", "updated.xml")]
    )
    assert list(h.snapshots["percent_complete"]) == [0.0, 100.0]
    assert h.projects.loc[0, "status"] == "completed"


def _move(text: str, table: str, column: str, change: object) -> str:
    """Apply ``change`` to every value of ``table.column`` in XER text."""
    out, fields, current = [], [], None
    for line in text.splitlines():
        parts = line.split("\t")
        if parts[0] == "%T":
            current = parts[1]
        elif parts[0] == "%F":
            fields = parts[1:]
        elif parts[0] == "%R" and current == table and column in fields:
            i = fields.index(column) + 1
            parts[i] = change(parts[i])  # type: ignore[operator]
            line = "\t".join(parts)
        out.append(line)
    return "\r\n".join(out)


@needs_mpxj
def test_a_series_made_from_a_real_xer_becomes_an_ordered_history(tmp_path: Path) -> None:
    """The real file at its data date, then moved 30 and 60 days on with more progress."""
    source = (DATA / "xer" / "mpxj_percent-complete-8.4.xer").read_bytes().decode("cp1252")
    for step, name in ((2, "u3.xer"), (0, "u1.xer"), (1, "u2.xer")):

        def later(value: str, days: int = 30 * step) -> str:
            when = datetime.strptime(value, "%Y-%m-%d %H:%M") + pd.Timedelta(days=days)
            return when.strftime("%Y-%m-%d %H:%M")

        def more(value: str, step: int = step) -> str:
            return str(min(100.0, float(value or 0) + 20 * step))

        text = _move(source, "PROJECT", "last_recalc_date", later)
        text = _move(text, "TASK", "phys_complete_pct", more)
        (tmp_path / name).write_bytes(text.encode("cp1252"))
    h = load_schedule_history([tmp_path])
    assert [s.source for s in h.schedules] == ["u1.xer", "u2.xer", "u3.xer"]
    days = h.snapshots["as_of"].diff().dt.days.dropna().tolist()
    assert days == [30, 30]
    assert h.snapshots["percent_complete"].is_monotonic_increasing
    assert len(h.projects) == 1


def test_without_mpxj_the_message_says_what_to_install(tmp_path: Path) -> None:
    """In a process where the mpxj package cannot be imported."""
    code = (
        "import sys; sys.modules['mpxj'] = None\n"
        "from pathlib import Path\n"
        "from features.sources.schedules import load_schedule_history\n"
        "from risk_model.exceptions import ValidationFailed\n"
        "try:\n"
        f"    load_schedule_history([Path({str(DATA / 'mspdi' / 'mpxj_sample.xml')!r}),"
        f" Path({str(DATA / 'xer' / 'aspose_test.xer')!r})])\n"
        "except ValidationFailed as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "mpxj_sample.xml: MPXJ is not installed" in out
    assert "pip install 'pmo-risk[msproject]'" in out
    assert "aspose_test.xer: xerparser could not read it" in out
    assert "MPXJ reads more XER files" in out
