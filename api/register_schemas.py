"""Request and response models of the risk register routes (``api/routes/risks.py``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from api.schemas import Day

_IN = ConfigDict(extra="forbid", str_strip_whitespace=True)
Scale = Annotated[int, Field(ge=1, le=5, description="1 (very low) to 5 (very high).")]
Short = Annotated[str, Field(max_length=255)]
Long = Annotated[str, Field(max_length=2000)]
RiskStatus = Literal["open", "closed"]
ActionStatus = Literal["open", "done"]

RISK_EXAMPLE: dict[str, Any] = {
    "statement": "Steel supplier may deliver the girders late",
    "category": "Supply chain",
    "owner": "J. Rivera",
    "probability": 4,
    "impact": 4,
    "response": "mitigate: qualify a second supplier",
    "due_date": "2024-09-30",
}


class RiskIn(BaseModel):
    """A new risk (``created_on`` defaults to today, ``status`` to open)."""

    model_config = ConfigDict(**_IN, json_schema_extra=cast(JsonDict, {"examples": [RISK_EXAMPLE]}))

    statement: Annotated[str, Field(min_length=1, max_length=2000)]
    category: Short | None = None
    owner: Short | None = None
    probability: Scale
    impact: Scale
    response: Long | None = None
    status: RiskStatus = "open"
    due_date: Day | None = None
    created_on: Day | None = None
    closed_on: Day | None = None


class RiskUpdate(BaseModel):
    """The fields to change (others are kept)."""

    model_config = ConfigDict(**_IN, json_schema_extra={"examples": [{"status": "closed"}]})

    statement: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    category: Short | None = None
    owner: Short | None = None
    probability: Scale | None = None
    impact: Scale | None = None
    response: Long | None = None
    status: RiskStatus | None = None
    due_date: Day | None = None
    created_on: Day | None = None
    closed_on: Day | None = None


class ActionIn(BaseModel):
    """A new mitigation action of a risk."""

    model_config = ConfigDict(
        **_IN,
        json_schema_extra={
            "examples": [
                {
                    "description": "Qualify a second supplier",
                    "owner": "J. Rivera",
                    "due_date": "2024-08-15",
                }
            ]
        },
    )

    description: Annotated[str, Field(min_length=1, max_length=2000)]
    owner: Short | None = None
    due_date: Day | None = None
    status: ActionStatus = "open"
    created_on: Day | None = None
    done_on: Day | None = None


class ActionUpdate(BaseModel):
    model_config = ConfigDict(**_IN, json_schema_extra={"examples": [{"status": "done"}]})

    description: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    owner: Short | None = None
    due_date: Day | None = None
    status: ActionStatus | None = None
    created_on: Day | None = None
    done_on: Day | None = None


class ActionOut(BaseModel):
    action_id: int
    risk_id: int
    project_id: str
    description: str
    owner: str | None
    due_date: date | None
    status: str
    created_on: date
    done_on: date | None
    overdue: bool = Field(description="Due before today and not done.")


class RiskOut(BaseModel):
    risk_id: int
    project_id: str
    statement: str
    category: str | None
    owner: str | None
    probability: int
    impact: int
    score: int = Field(description="probability x impact (1-25)")
    response: str | None
    status: str
    due_date: date | None
    created_on: date
    closed_on: date | None
    actions: list[ActionOut]


class RisksOut(BaseModel):
    project_id: str
    open_risks: int
    overdue_actions: int
    risks: list[RiskOut]
