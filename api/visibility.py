"""What a key's portfolio scope lets it see of stored projects and their risk registers.

A project outside the caller's portfolios is reported exactly like a missing one
(``UnknownProject``, 404), and so are its risks and actions (``UnknownRegisterItem``), so a
scoped key cannot even learn that they exist. ``api.services.in_scope`` is the predicate.
"""

from __future__ import annotations

from api.services import in_scope, text
from risk_model.exceptions import UnknownProject
from risk_model.risk_register import RiskRegister, UnknownRegisterItem
from risk_model.store import Store


def project_portfolio(store: Store, project_id: str) -> str | None:
    """The stored project's portfolio; ``UnknownProject`` when there is no such project."""
    found = store.projects(project_ids=[project_id])
    if found.empty:
        raise UnknownProject(project_id)
    return text(found.iloc[0].get("portfolio"))


def check_project(store: Store, project_id: str, scope: frozenset[str] | None) -> None:
    """``UnknownProject`` unless the project exists and is in ``scope``."""
    if not in_scope(project_portfolio(store, project_id), scope):
        raise UnknownProject(project_id)


def check_risk(register: RiskRegister, risk_id: int, scope: frozenset[str] | None) -> None:
    """``UnknownRegisterItem`` unless the risk exists and its project is in ``scope``."""
    risk = register.risk(risk_id)
    if scope is not None and not in_scope(
        project_portfolio(register.store, risk.project_id), scope
    ):
        raise UnknownRegisterItem("risk", risk_id)


def check_action(register: RiskRegister, action_id: int, scope: frozenset[str] | None) -> None:
    """``UnknownRegisterItem`` unless the action exists and its project is in ``scope``."""
    action = register.action(action_id)
    if scope is not None and not in_scope(
        project_portfolio(register.store, action.project_id), scope
    ):
        raise UnknownRegisterItem("action", action_id)
