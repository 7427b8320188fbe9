"""What-if glue for the API: a stored project's frames, its levers, scenario responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.services import ModelState
from risk_model.config import Settings
from risk_model.exceptions import UnknownProject
from risk_model.risk_register import RiskRegister
from risk_model.store import Store
from risk_model.whatif import LEVERS, BringUnder, ProjectFrames, Step, bring_under, what_if
from risk_model.whatif import current_levers as _current


class WhatIfIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"examples": [{"changes": {"cpi": 1.0, "forecast_delay_days": 0}}]},
    )

    changes: dict[str, float] = Field(
        default_factory=dict,
        description=f"Lever -> new value at the latest report. Levers: {', '.join(LEVERS)}.",
    )


class LeverOut(BaseModel):
    name: str
    label: str
    unit: str
    current: float
    good: float


class WhatIfOut(BaseModel):
    project_id: str
    before: dict[str, float | None]
    after: dict[str, float | None]
    levers: dict[str, tuple[float, float]] = Field(description="lever -> [current, tried]")


class BringUnderIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"examples": [{"target": "cost", "threshold": 0.4}]},
    )

    target: str
    threshold: float = Field(gt=0, lt=1, description="Probability to get below.")


class StepOut(BaseModel):
    changes: dict[str, tuple[float, float]] = Field(description="lever -> [current, new]")
    probability: float | None
    share: float = Field(description="Share of the way to the recovered values (0-1).")
    below: bool


class BringUnderOut(BaseModel):
    project_id: str
    target: str
    threshold: float
    current: float | None
    best: StepOut | None
    single: list[StepOut]
    combined: StepOut | None


def project_frames(store: Store, project_id: str) -> ProjectFrames:
    """A stored project's rows (``UnknownProject`` when absent)."""
    project = store.projects(project_ids=[project_id])
    if project.empty:
        raise UnknownProject(project_id)
    return ProjectFrames(
        project,
        store.snapshots(project_ids=[project_id]),
        RiskRegister(store).frames([project_id]),
    )


def lever_table(frames: ProjectFrames) -> list[LeverOut]:
    """The project's levers with their current values (none without a report)."""
    if frames.snapshots.empty:
        return []
    return [
        LeverOut(
            name=k,
            label=LEVERS[k].label,
            unit=LEVERS[k].unit,
            current=v,
            good=LEVERS[k].target_value(v),
        )
        for k, v in _current(frames).items()
    ]


def _step(step: Step | None) -> StepOut | None:
    if step is None:
        return None
    return StepOut(
        changes=step.changes, probability=step.probability, share=step.share, below=step.below
    )


def run_what_if(
    store: Store, models: ModelState, settings: Settings, project_id: str, body: WhatIfIn
) -> WhatIfOut:
    frames = project_frames(store, project_id)
    result = what_if(frames, body.changes, models.require(), settings)
    return WhatIfOut(
        project_id=project_id, before=result.before, after=result.after, levers=result.levers
    )


def run_bring_under(
    store: Store, models: ModelState, settings: Settings, project_id: str, body: BringUnderIn
) -> BringUnderOut:
    frames = project_frames(store, project_id)
    found: BringUnder = bring_under(frames, body.target, body.threshold, models.require(), settings)
    single: list[Any] = [_step(s) for s in found.single]
    return BringUnderOut(
        project_id=project_id,
        target=found.target,
        threshold=found.threshold,
        current=found.current,
        best=_step(found.best),
        single=single,
        combined=_step(found.combined),
    )
