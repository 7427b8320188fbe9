"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

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
    responses={
        503: {"model": ReadyOut, "description": "A model is missing; `missing` says which."}
    },
)
def ready(models: ModelsDep, response: Response) -> ReadyOut:
    out = readiness(models)
    if not out.ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return out
