"""Stateless scoring of projects sent in the body.

The body is parsed from its bytes by pydantic (``model_validate_json``, no intermediate
Python objects); bodies without explanations of up to ``FAST_MAX_PROJECTS`` take
``api.fast_score`` (on the event loop up to ``INLINE_PROJECTS``, else in the thread pool), the
rest the general path in the thread pool; the answer is written with orjson.
"""

from __future__ import annotations

from typing import Any, cast

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.auth import AnalystKey
from api.deps import models_of
from api.errors import responses
from api.fast_score import fast_score
from api.schemas import ScoreIn, ScoreOut
from api.services import ModelState, check_limits, observe_scores, score_request
from risk_model.config import Settings

router = APIRouter(prefix="/v1", tags=["score"])

REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScoreIn"}}},
    }
}


INLINE_PROJECTS = 10
"""Bodies up to this many projects are scored on the event loop (a millisecond or two, no
thread hop); larger ones in the thread pool, so they never hold up other requests."""


def _score(body: ScoreIn, models: ModelState, settings: Settings) -> ScoreOut:
    return fast_score(body, models, settings) or score_request(body, models, settings)


class ORJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def parse_body(raw: bytes) -> ScoreIn:
    """The request body validated from its bytes; FastAPI's 422 on any problem."""
    try:
        return ScoreIn.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors, body=raw) from None


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
    response_model=ScoreOut,
    responses=responses(413, 422, 503),
    openapi_extra=REQUEST_BODY,
)
async def score(request: Request, _: AnalystKey) -> Response:
    # the models and settings read here, not as dependencies: each dependency FastAPI solves
    # costs more than the read on this, the most frequent call
    models, settings = models_of(request), cast(Settings, request.app.state.settings)
    body = parse_body(await request.body())
    check_limits(body, settings)
    out = fast_score(body, models, settings) if len(body.projects) <= INLINE_PROJECTS else None
    if out is None:
        out = await run_in_threadpool(_score, body, models, settings)
    observe_scores(request.app.state.metrics, out)
    return ORJSONResponse(out.model_dump())
