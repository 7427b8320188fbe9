"""Stateless scoring of projects sent in the body."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ModelsDep, SettingsDep
from api.errors import responses
from api.schemas import ScoreIn, ScoreOut
from api.services import score_request

router = APIRouter(prefix="/v1", tags=["score"])


@router.post(
    "/score",
    summary="Score projects sent in the body (nothing is stored)",
    description=(
        "Each project is scored at its latest report (or the latest on or before `as_of`): "
        "per target the calibrated probability of overrun, its band and the top drivers in "
        "words, or the `reason` it cannot be scored. At most 1,000 projects per call and 500 "
        "reports per project. Domain problems come back as 422 with `problems`, each naming "
        "`file` = `body.projects[i].project` or `body.projects[i].snapshots` and `row` = the "
        "0-based index of the report in that list."
    ),
    responses=responses(422, 503),
)
def score(body: ScoreIn, models: ModelsDep, settings: SettingsDep) -> ScoreOut:
    return score_request(body, models, settings)
