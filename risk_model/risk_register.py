"""The risk register: each project's risks and their mitigation actions, in the store's database.

Two tables on the store's own ``MetaData`` (so ``Store.init()`` creates them):

* ``risks``: statement, category, owner, probability and impact (1-5), response, status
  (``open`` / ``closed``), due date, and the dates it was raised (``created_on``) and closed
  (``closed_on``), which make the register point in time;
* ``actions``: mitigation actions of a risk: description, owner, due date, status
  (``open`` / ``done``), ``created_on`` and ``done_on``.

A risk counts as open at a date when it was raised on or before it and not closed by then; an
action is overdue at a date when it was created by then, its due date is before the date and it
was not done by then. ``RiskRegister.frames()`` gives both tables to the feature pipeline
(``features.register``). Every change bumps the store revision (the features change with it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from risk_model.exceptions import PmoRiskError, Problem, UnknownProject, ValidationFailed

if TYPE_CHECKING:
    from risk_model.store import Store

__all__ = [
    "ACTION_EDITABLE",
    "ACTION_STATUSES",
    "HIGH_SCORE",
    "RISK_EDITABLE",
    "RISK_STATUSES",
    "Action",
    "RegisterFrames",
    "RegisterTables",
    "Risk",
    "RiskRegister",
    "UnknownRegisterItem",
    "define_tables",
]

RISK_STATUSES: tuple[str, ...] = ("open", "closed")
ACTION_STATUSES: tuple[str, ...] = ("open", "done")
SCALE = (1, 5)
HIGH_SCORE = 15
"""A risk is "high" when probability x impact is at least this (on the 5 x 5 matrix)."""


class UnknownRegisterItem(PmoRiskError):
    """A risk or action id that is not in the register (HTTP 404)."""

    def __init__(self, kind: str, item_id: int) -> None:
        super().__init__(f"unknown {kind}: {item_id}")
        self.kind = kind
        self.item_id = item_id


@dataclass(frozen=True)
class RegisterTables:
    risks: sa.Table
    actions: sa.Table


def define_tables(md: sa.MetaData) -> RegisterTables:
    """The register's tables on ``md`` (the store's metadata: ``projects`` must be on it)."""
    risks = sa.Table(
        "risks",
        md,
        sa.Column("risk_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "project_id",
            sa.String(255),
            sa.ForeignKey("projects.project_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("category", sa.String(255)),
        sa.Column("owner", sa.String(255)),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_date", sa.Date()),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date()),
    )
    actions = sa.Table(
        "actions",
        md,
        sa.Column("action_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "risk_id",
            sa.Integer(),
            sa.ForeignKey("risks.risk_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("project_id", sa.String(255), nullable=False, index=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("due_date", sa.Date()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("done_on", sa.Date()),
    )
    return RegisterTables(risks, actions)


@dataclass(frozen=True)
class Action:
    action_id: int
    risk_id: int
    project_id: str
    description: str
    owner: str | None
    due_date: date | None
    status: str
    created_on: date
    done_on: date | None

    def overdue(self, on: date) -> bool:
        """Due before ``on`` and not done by then."""
        done = self.done_on is not None and self.done_on <= on
        return self.due_date is not None and self.due_date < on and not done


@dataclass(frozen=True)
class Risk:
    risk_id: int
    project_id: str
    statement: str
    category: str | None
    owner: str | None
    probability: int
    impact: int
    response: str | None
    status: str
    due_date: date | None
    created_on: date
    closed_on: date | None
    actions: tuple[Action, ...] = ()

    @property
    def score(self) -> int:
        """Probability x impact (1-25)."""
        return self.probability * self.impact


@dataclass(frozen=True)
class RegisterFrames:
    """Both tables as frames (dates ``datetime64[ns]``) for the feature pipeline."""

    risks: pd.DataFrame
    actions: pd.DataFrame

    @property
    def empty(self) -> bool:
        return self.risks.empty and self.actions.empty


RISK_EDITABLE = (
    "statement",
    "category",
    "owner",
    "probability",
    "impact",
    "response",
    "status",
    "due_date",
    "created_on",
    "closed_on",
)
ACTION_EDITABLE = ("description", "owner", "due_date", "status", "created_on", "done_on")


def _new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _names(query: sa.Select[Any]) -> list[str]:
    return list(query.selected_columns.keys())


def _problem(column: str, message: str, value: Any = None) -> Problem:
    return Problem("register", None, column, message, None if value is None else str(value))


def _check_risk(values: Mapping[str, Any]) -> None:
    problems: list[Problem] = []
    if not str(values.get("statement") or "").strip():
        problems.append(_problem("statement", "a risk needs a statement"))
    for col in ("probability", "impact"):
        v = values.get(col)
        if not isinstance(v, int) or isinstance(v, bool) or not SCALE[0] <= v <= SCALE[1]:
            problems.append(_problem(col, f"must be a whole number from {SCALE[0]} to 5", v))
    if values.get("status") not in RISK_STATUSES:
        problems.append(_problem("status", f"must be one of {', '.join(RISK_STATUSES)}", None))
    closed = values.get("closed_on")
    if closed is not None and closed < values["created_on"]:
        problems.append(_problem("closed_on", "closed before it was raised", closed))
    if problems:
        raise ValidationFailed(problems)


def _check_action(values: Mapping[str, Any]) -> None:
    problems: list[Problem] = []
    if not str(values.get("description") or "").strip():
        problems.append(_problem("description", "an action needs a description"))
    if values.get("status") not in ACTION_STATUSES:
        problems.append(_problem("status", f"must be one of {', '.join(ACTION_STATUSES)}"))
    done = values.get("done_on")
    if done is not None and done < values["created_on"]:
        problems.append(_problem("done_on", "done before it was created", done))
    if problems:
        raise ValidationFailed(problems)


def _settle_risk(values: dict[str, Any], today: date) -> dict[str, Any]:
    """Keep status and closed_on consistent: closing stamps today, reopening clears it."""
    if values["status"] == "closed" and values.get("closed_on") is None:
        values["closed_on"] = max(today, values["created_on"])
    if values["status"] == "open":
        values["closed_on"] = None
    return values


def _settle_action(values: dict[str, Any], today: date) -> dict[str, Any]:
    if values["status"] == "done" and values.get("done_on") is None:
        values["done_on"] = max(today, values["created_on"])
    if values["status"] == "open":
        values["done_on"] = None
    return values


class RiskRegister:
    """CRUD on the register of a ``Store`` (which must be ``init()``-ed)."""

    def __init__(self, store: Store, today: date | None = None) -> None:
        self.store = store
        self.tables: RegisterTables = store.register_tables
        self._today = today

    @property
    def today(self) -> date:
        return self._today or date.today()

    # -- read -----------------------------------------------------------------------------
    def risks(self, project_id: str, *, check: bool = True) -> list[Risk]:
        """A project's risks (with their actions), open first, then by score."""
        if check and project_id not in self.store.project_ids_of([project_id]):
            raise UnknownProject(project_id)
        r, a = self.tables.risks, self.tables.actions
        with self.store.engine.connect() as conn:
            risk_rows = conn.execute(sa.select(r).where(r.c.project_id == project_id)).mappings()
            risks = [dict(row) for row in risk_rows]
            action_rows = conn.execute(
                sa.select(a).where(a.c.project_id == project_id).order_by(a.c.action_id)
            ).mappings()
            actions = [Action(**dict(row)) for row in action_rows]
        by_risk: dict[int, list[Action]] = {}
        for act in actions:
            by_risk.setdefault(act.risk_id, []).append(act)
        out = [Risk(**row, actions=tuple(by_risk.get(row["risk_id"], []))) for row in risks]
        out.sort(key=lambda x: (x.status != "open", -x.score, x.risk_id))
        return out

    def risk(self, risk_id: int) -> Risk:
        r = self.tables.risks
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(r.c.project_id).where(r.c.risk_id == risk_id)).first()
        if row is None:
            raise UnknownRegisterItem("risk", risk_id)
        for risk in self.risks(str(row[0]), check=False):
            if risk.risk_id == risk_id:
                return risk
        raise UnknownRegisterItem("risk", risk_id)  # pragma: no cover - deleted meanwhile

    def action(self, action_id: int) -> Action:
        a = self.tables.actions
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(a).where(a.c.action_id == action_id)).mappings().first()
        if row is None:
            raise UnknownRegisterItem("action", action_id)
        return Action(**dict(row))

    def frames(self, project_ids: list[str] | None = None) -> RegisterFrames:
        """Both tables as frames (optionally for some projects only)."""
        r, a = self.tables.risks, self.tables.actions
        rq = sa.select(r.c.project_id, r.c.probability, r.c.impact, r.c.created_on, r.c.closed_on)
        aq = sa.select(a.c.project_id, a.c.due_date, a.c.created_on, a.c.done_on)
        with self.store.engine.connect() as conn:
            risks = pd.DataFrame(conn.execute(rq).fetchall(), columns=_names(rq))
            actions = pd.DataFrame(conn.execute(aq).fetchall(), columns=_names(aq))
        if project_ids is not None:  # registers are small: filter here, not in SQL
            keep = set(project_ids)
            risks = risks.loc[risks["project_id"].isin(keep)].reset_index(drop=True)
            actions = actions.loc[actions["project_id"].isin(keep)].reset_index(drop=True)
        for c in ("created_on", "closed_on"):
            risks[c] = pd.to_datetime(risks[c])
        for c in ("due_date", "created_on", "done_on"):
            actions[c] = pd.to_datetime(actions[c])
        return RegisterFrames(risks, actions)

    def summary(self, on: date | None = None) -> dict[str, dict[str, int]]:
        """Per project with register entries: open risks, high open risks, overdue actions."""
        on = on or self.today
        frames = self.frames()
        out: dict[str, dict[str, int]] = {}
        ts = pd.Timestamp(on)
        r = frames.risks
        if len(r):
            open_ = (r["created_on"] <= ts) & (r["closed_on"].isna() | (r["closed_on"] > ts))
            high = open_ & (r["probability"] * r["impact"] >= HIGH_SCORE)
            for pid, n, h in zip(r["project_id"], open_, high, strict=True):
                d = out.setdefault(str(pid), {"open_risks": 0, "high_risks": 0, "overdue": 0})
                d["open_risks"] += int(n)
                d["high_risks"] += int(h)
        a = frames.actions
        if len(a):
            over = (
                (a["created_on"] <= ts)
                & (a["due_date"] < ts)
                & (a["done_on"].isna() | (a["done_on"] > ts))
            )
            for pid, o in zip(a["project_id"], over, strict=True):
                d = out.setdefault(str(pid), {"open_risks": 0, "high_risks": 0, "overdue": 0})
                d["overdue"] += int(o)
        return out

    # -- write ----------------------------------------------------------------------------
    def add_risk(self, project_id: str, values: Mapping[str, Any]) -> Risk:
        """A new risk of a project; ``created_on`` defaults to today, ``status`` to open."""
        if project_id not in self.store.project_ids_of([project_id]):
            raise UnknownProject(project_id)
        row = {k: values.get(k) for k in RISK_EDITABLE}
        row["status"] = row["status"] or "open"
        row["created_on"] = row["created_on"] or self.today
        _check_risk(row)
        row = _settle_risk(row, self.today)
        with self.store.engine.begin() as conn:
            result = conn.execute(sa.insert(self.tables.risks).values(project_id=project_id, **row))
            risk_id = _new_id(result)
            self.store.bump_revision(conn, [project_id])
        return self.risk(risk_id)

    def update_risk(self, risk_id: int, changes: Mapping[str, Any]) -> Risk:
        """Change some fields of a risk (only those given)."""
        old = self.risk(risk_id)
        row = {k: getattr(old, k) for k in RISK_EDITABLE}
        row.update({k: v for k, v in changes.items() if k in RISK_EDITABLE})
        if "status" in changes and "closed_on" not in changes:
            row["closed_on"] = old.closed_on if changes["status"] == old.status else None
        _check_risk(row)
        row = _settle_risk(row, self.today)
        r = self.tables.risks
        with self.store.engine.begin() as conn:
            conn.execute(sa.update(r).where(r.c.risk_id == risk_id).values(**row))
            self.store.bump_revision(conn, [old.project_id])
        return self.risk(risk_id)

    def delete_risk(self, risk_id: int) -> None:
        """Remove a risk and its actions."""
        risk = self.risk(risk_id)
        r, a = self.tables.risks, self.tables.actions
        with self.store.engine.begin() as conn:
            conn.execute(sa.delete(a).where(a.c.risk_id == risk_id))
            conn.execute(sa.delete(r).where(r.c.risk_id == risk_id))
            self.store.bump_revision(conn, [risk.project_id])

    def add_action(self, risk_id: int, values: Mapping[str, Any]) -> Action:
        """A new mitigation action of a risk; ``created_on`` defaults to today."""
        risk = self.risk(risk_id)
        row = {k: values.get(k) for k in ACTION_EDITABLE}
        row["status"] = row["status"] or "open"
        row["created_on"] = row["created_on"] or self.today
        _check_action(row)
        row = _settle_action(row, self.today)
        with self.store.engine.begin() as conn:
            result = conn.execute(
                sa.insert(self.tables.actions).values(
                    risk_id=risk_id, project_id=risk.project_id, **row
                )
            )
            action_id = _new_id(result)
            self.store.bump_revision(conn, [risk.project_id])
        return self.action(action_id)

    def update_action(self, action_id: int, changes: Mapping[str, Any]) -> Action:
        old = self.action(action_id)
        row = {k: getattr(old, k) for k in ACTION_EDITABLE}
        row.update({k: v for k, v in changes.items() if k in ACTION_EDITABLE})
        if "status" in changes and "done_on" not in changes:
            row["done_on"] = old.done_on if changes["status"] == old.status else None
        _check_action(row)
        row = _settle_action(row, self.today)
        a = self.tables.actions
        with self.store.engine.begin() as conn:
            conn.execute(sa.update(a).where(a.c.action_id == action_id).values(**row))
            self.store.bump_revision(conn, [old.project_id])
        return self.action(action_id)

    def delete_action(self, action_id: int) -> None:
        action = self.action(action_id)
        a = self.tables.actions
        with self.store.engine.begin() as conn:
            conn.execute(sa.delete(a).where(a.c.action_id == action_id))
            self.store.bump_revision(conn, [action.project_id])
