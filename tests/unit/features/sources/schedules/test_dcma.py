"""DCMA 14-point checks on small hand-built schedules whose right answers are counted by hand."""

from __future__ import annotations

from datetime import datetime

import pytest

from features.sources.schedules.dcma import CHECKS, assess, forward_finish
from features.sources.schedules.model import Activity, Link, Schedule
from risk_model.schemas import SCHEDULE_QUALITY_FIELDS

DD = datetime(2024, 3, 1)


def act(uid: str, **kw: object) -> Activity:
    fields: dict[str, object] = {"code": uid, "name": uid, "kind": "task", "status": "not_started"}
    fields.update(kw)
    return Activity(uid=uid, **fields)  # type: ignore[arg-type]


def hand_built() -> Schedule:
    """Six normal activities and one level-of-effort, at data date 1 March 2024.

    A1 done late, A2 done on time, A3 under way and due (baseline 20 Feb), A4 open with high
    float, high duration, a hard constraint and no resources, A5 open with negative float and
    a forecast start before the data date, A6 the finish milestone.
    """
    activities = [
        act("A1", status="completed", actual_start=datetime(2024, 1, 10),
            actual_finish=datetime(2024, 2, 5), baseline_finish=datetime(2024, 2, 1),
            original_duration=15, total_float=0, has_resources=True),
        act("A2", status="completed", actual_start=datetime(2024, 2, 5),
            actual_finish=datetime(2024, 2, 8), baseline_finish=datetime(2024, 2, 10),
            original_duration=3, total_float=0, has_resources=True),
        act("A3", status="in_progress", actual_start=datetime(2024, 2, 9),
            start=datetime(2024, 2, 9), finish=datetime(2024, 3, 10),
            baseline_finish=datetime(2024, 2, 20), original_duration=10,
            remaining_duration=7, total_float=0, has_resources=True),
        act("A4", start=datetime(2024, 3, 5), finish=datetime(2024, 4, 20),
            baseline_finish=datetime(2024, 4, 10), original_duration=60, remaining_duration=60,
            total_float=50, constraints=("must_finish_on",)),
        act("A5", start=datetime(2024, 2, 25), finish=datetime(2024, 3, 20),
            baseline_finish=datetime(2024, 3, 15), original_duration=5, remaining_duration=5,
            total_float=-2, has_resources=True),
        act("A6", kind="milestone", start=datetime(2024, 4, 30), finish=datetime(2024, 4, 30),
            baseline_finish=datetime(2024, 4, 20), original_duration=0, remaining_duration=0,
            total_float=0),
        act("L1", kind="level_of_effort", start=datetime(2024, 1, 1),
            finish=datetime(2024, 4, 30), total_float=-30, original_duration=120),
    ]  # fmt: skip
    links = [
        Link("A1", "A2"),
        Link("A2", "A3"),
        Link("A3", "A6", "FS", 2.0),
        Link("A4", "A6", "SS", 0.0),
        Link("A5", "A6", "FS", -1.0),
    ]
    return Schedule(
        project_id="P",
        name="Hand built",
        data_date=DD,
        source="hand.xer",
        file_format="P6 XER",
        scheduled_finish=datetime(2024, 4, 30),
        baseline_finish=datetime(2024, 4, 20),
        activities=activities,
        links=links,
    )


def test_each_check_counts_what_the_guideline_says() -> None:
    """Open normal activities: A3-A6 (4); their incoming links: 4; open tasks: A3-A5 (3)."""
    report = assess(hand_built())
    v = report.values()
    assert v["dcma_missing_logic"] == pytest.approx(3 / 4)  # A4, A5 no predecessor; A6 no succ.
    assert v["dcma_leads"] == pytest.approx(1 / 4)
    assert v["dcma_lags"] == pytest.approx(1 / 4)
    assert v["dcma_fs_relationships"] == pytest.approx(3 / 4)
    assert v["dcma_hard_constraints"] == pytest.approx(1 / 4)
    assert v["dcma_high_float"] == pytest.approx(1 / 4)
    assert v["dcma_negative_float"] == pytest.approx(1 / 4)
    assert v["dcma_high_duration"] == pytest.approx(1 / 3)
    assert v["dcma_invalid_dates"] == 1  # A5 forecast to start before the data date
    assert v["dcma_no_resources"] == pytest.approx(1 / 3)
    assert v["dcma_missed_tasks"] == pytest.approx(2 / 3)  # A1 late, A3 not finished
    assert v["dcma_bei"] == pytest.approx(2 / 3)
    assert v["dcma_cpli"] == pytest.approx((60 - 10) / 60)  # 60 days left, 10 days late
    assert v["dcma_critical_path_test"] == 1.0  # A5 (float -2) drives A6
    assert (report.activities, report.incomplete, report.relationships) == (6, 4, 5)


def test_pass_and_fail_follow_thresholds() -> None:
    checks = {c.spec.key: c for c in assess(hand_built()).checks}
    assert checks["missing_logic"].passed is False
    assert checks["fs_relationships"].passed is False  # 75% < 90%
    assert checks["cpli"].passed is False
    assert checks["critical_path_test"].passed is True


def test_critical_path_test_fails_when_the_critical_activity_drives_nothing() -> None:
    s = hand_built()
    s.links = [link for link in s.links if link.predecessor != "A5"]  # A5 now dangles
    check = {c.spec.key: c for c in assess(s).checks}["critical_path_test"]
    assert check.value == 0.0
    assert "A5" in check.note


def test_a_logic_loop_fails_the_critical_path_test() -> None:
    s = hand_built()
    s.links = [*s.links, Link("A6", "A5")]
    assert forward_finish(s.activities, s.links) is None
    assert assess(s).values()["dcma_critical_path_test"] == 0.0


def test_forward_pass_respects_link_types_and_lags() -> None:
    a = act("a", remaining_duration=5)
    b = act("b", remaining_duration=3)
    for kind, lag, finish in (("FS", 2.0, 10.0), ("SS", 1.0, 5.0), ("FF", 4.0, 9.0)):
        assert forward_finish([a, b], [Link("a", "b", kind, lag)]) == finish  # type: ignore[arg-type]


def test_checks_without_population_are_missing_not_zero() -> None:
    s = hand_built()
    s.links = []
    s.activities = [a for a in s.activities if a.status == "completed"]
    v = assess(s).values()
    assert v["dcma_leads"] is None and v["dcma_missing_logic"] is None
    assert v["dcma_missed_tasks"] == pytest.approx(1 / 2)


def test_check_keys_are_the_declared_snapshot_columns() -> None:
    assert [f"dcma_{c.key}" for c in CHECKS] == list(SCHEDULE_QUALITY_FIELDS)
    assert [c.number for c in CHECKS] == list(range(1, 15))


def test_schedule_quality_drivers_read_in_words() -> None:
    from features.registry import FEATURES, describe_driver

    assert all(name in FEATURES for name in SCHEDULE_QUALITY_FIELDS)
    assert describe_driver("dcma_critical_path_test", 0.0, 0.2, "schedule") == (
        "Critical path test (DCMA 12) failed — raises schedule risk"
    )
    text = describe_driver("dcma_missing_logic", 0.25, 0.1, "schedule")
    assert text.startswith("Activities without logic (DCMA 1) is 25%")
    assert describe_driver("dcma_bei", None, -0.1, "cost").startswith("No schedule file imported")
