"""What-if: re-score a stored project with changed inputs of its latest report.

A key scoped to some portfolios gets 404 for another portfolio's project, as for a missing one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.auth import AnalystKey, ViewerKey
from api.deps import ModelsDep, SettingsDep, StoreDep
from api.errors import responses
from api.scenarios import (
    BringUnderIn,
    BringUnderOut,
    LeverOut,
    WhatIfIn,
    WhatIfOut,
    lever_table,
    project_frames,
    run_bring_under,
    run_what_if,
)
from api.visibility import check_project

router = APIRouter(prefix="/v1/projects", tags=["what-if"])
ProjectId = Annotated[str, Path(min_length=1, max_length=200)]


@router.get(
    "/{project_id}/levers",
    summary="The actionable inputs of the latest report and their current values",
    responses=responses(404),
)
def levers(key: ViewerKey, project_id: ProjectId, store: StoreDep) -> list[LeverOut]:
    check_project(store, project_id, key.scope)
    return lever_table(project_frames(store, project_id))


@router.post(
    "/{project_id}/what-if",
    summary="Probability now and with some inputs of the latest report changed",
    description=(
        "Each change edits the raw latest report (e.g. `cpi: 1.0` sets actual cost to earned "
        "value; `forecast_delay_days: 0` moves the forecast finish to the baseline), then the "
        "features are rebuilt and scored with the loaded models. Nothing is stored."
    ),
    responses=responses(404, 422, 503),
)
def post_what_if(
    key: AnalystKey,
    project_id: ProjectId,
    body: WhatIfIn,
    store: StoreDep,
    models: ModelsDep,
    settings: SettingsDep,
) -> WhatIfOut:
    check_project(store, project_id, key.scope)
    return run_what_if(store, models, settings, project_id, body)


@router.post(
    "/{project_id}/bring-under",
    summary="The smallest change of the levers that moves a probability below a threshold",
    description=(
        "Searched with the model itself: each lever alone moved towards its recovered value "
        "(CPI and SPI 1.0, no forecast delay or cost growth, no open risks or issues) in 20 "
        "steps, and all levers together by the same share. `best` is the smallest share that "
        "gets below the threshold, or null when no tried change does."
    ),
    responses=responses(404, 422, 503),
)
def post_bring_under(
    key: AnalystKey,
    project_id: ProjectId,
    body: BringUnderIn,
    store: StoreDep,
    models: ModelsDep,
    settings: SettingsDep,
) -> BringUnderOut:
    check_project(store, project_id, key.scope)
    return run_bring_under(store, models, settings, project_id, body)
