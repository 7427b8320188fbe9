"""The risk register on a real SQLite store: CRUD, validation, point-in-time counts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from risk_model.exceptions import UnknownProject, ValidationFailed
from risk_model.risk_register import RiskRegister, UnknownRegisterItem
from risk_model.store import Store

TODAY = date(2024, 6, 30)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(f"sqlite:///{tmp_path / 'r.db'}").init()
    projects = pd.DataFrame(
        {"project_id": ["A", "B"], "start_date": ["2024-01-01"] * 2, "baseline_budget": [1e6] * 2}
    )
    s.import_frames(projects, None)
    return s


def _risk(**kw: object) -> dict[str, object]:
    return {"statement": "Supplier may deliver late", "probability": 4, "impact": 4, **kw}


def test_init_creates_the_register_tables(store: Store) -> None:
    names = set(store.register_tables.risks.metadata.tables)
    assert {"risks", "actions"} <= names
    assert RiskRegister(store, TODAY).risks("A") == []


def test_add_update_close_and_delete_a_risk_bumps_the_revision(store: Store) -> None:
    reg = RiskRegister(store, TODAY)
    rev = store.revision()
    risk = reg.add_risk("A", _risk(owner="Kim"))
    assert risk.status == "open" and risk.created_on == TODAY and risk.score == 16
    assert store.revision() == rev + 1
    closed = reg.update_risk(risk.risk_id, {"status": "closed"})
    assert closed.closed_on == TODAY and closed.owner == "Kim"
    reopened = reg.update_risk(risk.risk_id, {"status": "open"})
    assert reopened.closed_on is None
    reg.delete_risk(risk.risk_id)
    assert reg.risks("A") == []
    with pytest.raises(UnknownRegisterItem):
        reg.risk(risk.risk_id)


def test_actions_belong_to_a_risk_and_go_with_it(store: Store) -> None:
    reg = RiskRegister(store, TODAY)
    risk = reg.add_risk("A", _risk())
    act = reg.add_action(risk.risk_id, {"description": "Second supplier", "due_date": TODAY})
    assert act.project_id == "A" and act.status == "open"
    done = reg.update_action(act.action_id, {"status": "done"})
    assert done.done_on == TODAY
    assert [a.action_id for a in reg.risk(risk.risk_id).actions] == [act.action_id]
    reg.delete_risk(risk.risk_id)
    with pytest.raises(UnknownRegisterItem):
        reg.action(act.action_id)


def test_bad_values_are_rejected_naming_each_column(store: Store) -> None:
    reg = RiskRegister(store, TODAY)
    with pytest.raises(ValidationFailed) as err:
        reg.add_risk("A", {"statement": " ", "probability": 6, "impact": 0, "status": "maybe"})
    columns = {p.column for p in err.value.problems}
    assert columns == {"statement", "probability", "impact", "status"}
    with pytest.raises(UnknownProject):
        reg.add_risk("nope", _risk())
    assert reg.risks("A") == []


def test_summary_counts_only_what_was_open_or_overdue_on_the_day(store: Store) -> None:
    reg = RiskRegister(store, TODAY)
    old = reg.add_risk(
        "A", _risk(created_on=date(2024, 1, 10), closed_on=date(2024, 3, 1), status="closed")
    )
    live = reg.add_risk("A", _risk(created_on=date(2024, 2, 1), probability=1))
    reg.add_action(
        live.risk_id,
        {"description": "x", "due_date": date(2024, 2, 15), "created_on": date(2024, 2, 1)},
    )
    feb = reg.summary(date(2024, 2, 20))["A"]
    assert feb == {"open_risks": 2, "high_risks": 1, "overdue": 1}
    jun = reg.summary(TODAY)["A"]
    assert jun == {"open_risks": 1, "high_risks": 0, "overdue": 1}
    assert "B" not in reg.summary(TODAY)
    assert old.risk_id != live.risk_id
