"""One stored project: history, signals, risk history and full explanation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.auth import ViewerKey
from api.deps import ModelsDep, SettingsDep, StoreDep
from api.errors import responses
from api.schemas import ProjectDetailOut
from api.services import project_detail

router = APIRouter(prefix="/v1/projects", tags=["projects"])


@router.get(
    "/{project_id}",
    summary="A project with its reports, signals, risk history and explanation",
    description=(
        "Project fields; every status report; key signals per report (spi, cpi, spi_t, "
        "forecast_slip, forecast_cost_growth); the model's probability at each past report "
        "(using only what was known then); and the latest scores with every feature's "
        "contribution, the base value and the top drivers."
    ),
    responses=responses(404, 503),
)
def get_project(
    project_id: Annotated[str, Path(min_length=1, max_length=200)],
    key: ViewerKey,
    store: StoreDep,
    models: ModelsDep,
    settings: SettingsDep,
) -> ProjectDetailOut:
    return project_detail(store, models, settings, project_id, scope=key.scope)
