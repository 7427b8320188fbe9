"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ModelsDep
from api.schemas import HealthOut, ReadyOut
from api.services import api_version, readiness

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: 200 whenever the process is up")
def health() -> HealthOut:
    return HealthOut(version=api_version())


@router.get(
    "/ready",
    summary="Readiness: 200 only with both champion models loaded",
    responses={503: {"model": ReadyOut, "description": "A model is missing; see `missing`."}},
)
def ready(models: ModelsDep) -> ReadyOut | JSONResponse:
    out = readiness(models)
    if not out.ready:
        return JSONResponse(status_code=503, content=out.model_dump(mode="json"))
    return out
