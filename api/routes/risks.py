"""The risk register: each project's risks and their mitigation actions (create, edit, delete).

A key scoped to some portfolios sees (and edits) only their projects' registers: anything
else is 404, exactly like a missing project, risk or action. Every change bumps the store
revision: open risks and overdue actions are features of the next scoring (``register_*``),
so rankings are recomputed.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from api.auth import AnalystKey, ViewerKey
from api.deps import RegisterDep
from api.errors import responses
from api.register_schemas import (
    ActionIn,
    ActionOut,
    ActionUpdate,
    RiskIn,
    RiskOut,
    RisksOut,
    RiskUpdate,
)
from api.visibility import check_action, check_project, check_risk
from risk_model.risk_register import Action, Risk

router = APIRouter(prefix="/v1", tags=["risks"])
ProjectId = Annotated[str, Path(min_length=1, max_length=200)]
ItemId = Annotated[int, Path(ge=1)]


def action_out(a: Action, today: date) -> ActionOut:
    return ActionOut(
        action_id=a.action_id,
        risk_id=a.risk_id,
        project_id=a.project_id,
        description=a.description,
        owner=a.owner,
        due_date=a.due_date,
        status=a.status,
        created_on=a.created_on,
        done_on=a.done_on,
        overdue=a.overdue(today),
    )


def risk_out(r: Risk, today: date) -> RiskOut:
    return RiskOut(
        risk_id=r.risk_id,
        project_id=r.project_id,
        statement=r.statement,
        category=r.category,
        owner=r.owner,
        probability=r.probability,
        impact=r.impact,
        score=r.score,
        response=r.response,
        status=r.status,
        due_date=r.due_date,
        created_on=r.created_on,
        closed_on=r.closed_on,
        actions=[action_out(a, today) for a in r.actions],
    )


def risks_out(project_id: str, risks: list[Risk], today: date) -> RisksOut:
    out = [risk_out(r, today) for r in risks]
    return RisksOut(
        project_id=project_id,
        open_risks=sum(r.status == "open" for r in out),
        overdue_actions=sum(a.overdue for r in out for a in r.actions),
        risks=out,
    )


@router.get(
    "/projects/{project_id}/risks",
    summary="A project's risk register: risks (open first, by score) with their actions",
    responses=responses(404),
)
def list_risks(key: ViewerKey, project_id: ProjectId, register: RegisterDep) -> RisksOut:
    check_project(register.store, project_id, key.scope)
    return risks_out(project_id, register.risks(project_id), register.today)


@router.post(
    "/projects/{project_id}/risks",
    status_code=status.HTTP_201_CREATED,
    summary="Add a risk to a project's register",
    responses=responses(404, 422),
)
def create_risk(
    key: AnalystKey, project_id: ProjectId, body: RiskIn, register: RegisterDep
) -> RiskOut:
    check_project(register.store, project_id, key.scope)
    return risk_out(register.add_risk(project_id, body.model_dump()), register.today)


@router.get("/risks/{risk_id}", summary="One risk with its actions", responses=responses(404))
def get_risk(key: ViewerKey, risk_id: ItemId, register: RegisterDep) -> RiskOut:
    check_risk(register, risk_id, key.scope)
    return risk_out(register.risk(risk_id), register.today)


@router.patch(
    "/risks/{risk_id}",
    summary="Change a risk (closing it stamps closed_on)",
    responses=responses(404, 422),
)
def update_risk(
    key: AnalystKey, risk_id: ItemId, body: RiskUpdate, register: RegisterDep
) -> RiskOut:
    check_risk(register, risk_id, key.scope)
    changes = body.model_dump(exclude_unset=True)
    return risk_out(register.update_risk(risk_id, changes), register.today)


@router.delete(
    "/risks/{risk_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a risk and its actions",
    responses=responses(404),
)
def delete_risk(key: AnalystKey, risk_id: ItemId, register: RegisterDep) -> Response:
    check_risk(register, risk_id, key.scope)
    register.delete_risk(risk_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/risks/{risk_id}/actions",
    status_code=status.HTTP_201_CREATED,
    summary="Add a mitigation action to a risk",
    responses=responses(404, 422),
)
def create_action(
    key: AnalystKey, risk_id: ItemId, body: ActionIn, register: RegisterDep
) -> ActionOut:
    check_risk(register, risk_id, key.scope)
    return action_out(register.add_action(risk_id, body.model_dump()), register.today)


@router.patch(
    "/actions/{action_id}",
    summary="Change a mitigation action (marking it done stamps done_on)",
    responses=responses(404, 422),
)
def update_action(
    key: AnalystKey, action_id: ItemId, body: ActionUpdate, register: RegisterDep
) -> ActionOut:
    check_action(register, action_id, key.scope)
    changes = body.model_dump(exclude_unset=True)
    return action_out(register.update_action(action_id, changes), register.today)


@router.delete(
    "/actions/{action_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a mitigation action",
    responses=responses(404),
)
def delete_action(key: AnalystKey, action_id: ItemId, register: RegisterDep) -> Response:
    check_action(register, action_id, key.scope)
    register.delete_action(action_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
